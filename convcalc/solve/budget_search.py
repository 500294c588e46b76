"""`convcalc solve budget`: the largest `out` whose MACs and params stay within a limit.

Takes a kind, an input, fixed fields and the limits; gives a `Solved` with the largest multiple
that fits and the first that does not, each counted by `analyze_layer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import lcm
from typing import Any

from convcalc.engine import analyze_layer
from convcalc.errors import Location, SpecError
from convcalc.layers import KINDS
from convcalc.report import LayerReport
from convcalc.shapes import Shape, coerce_shape
from convcalc.solve.request import (
    axis_fixed,
    check_channels,
    check_fixed,
    given,
    kind_fields,
    known_kind,
    parse_count,
)
from convcalc.solve.results import Solution, Solved, target_dict
from convcalc.solve.size_rules import KIND_FAMILY, loss_warnings
from convcalc.spec import validate_layer


def budget(kind: str, input: str | Shape | Mapping[str, Any],
           fixed: Mapping[str, Any] | None = None, *, max_macs: int | str | None = None,
           max_params: int | str | None = None, divisor: int = 1,
           channels_first: bool = False) -> Solved:
    """The largest `out` (a multiple of groups and `divisor`) whose MACs and params, as
    `analyze_layer` counts them, stay within `max_macs` / `max_params`. Counts only grow with
    `out`, so a doubling then a bisection over multiples finds it exactly. `count`: how many
    multiples fit; `nearest`: the first one over the budget."""
    kind = known_kind(kind)
    if "out" not in KINDS[kind].model_fields:
        raise SpecError(f"{kind} has no out channels to size; a budget is for "
                        f"{', '.join(k for k in KIND_FAMILY if 'out' in KINDS[k].model_fields)}")
    fixed = given(fixed)
    if "out" in fixed:
        raise SpecError("not used with a budget: out is what it finds", Location(field="out"))
    macs_limit = None if max_macs is None else parse_count(max_macs, "--max-macs")
    params_limit = None if max_params is None else parse_count(max_params, "--max-params")
    if macs_limit is None and params_limit is None:
        raise SpecError("a budget needs --max-macs or --max-params")
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise SpecError(f"option --divisor: {divisor!r} is not allowed; give a whole number ≥ 1")
    shape = coerce_shape(input, channels_first=channels_first)
    fixed = check_fixed(kind, fixed)
    groups = int(fixed.get("groups", 1))
    check_channels(kind, shape, fixed, None)
    step = lcm(groups, divisor)

    def analyse(multiple: int) -> LayerReport:
        return analyze_layer({"kind": kind, **fixed, "out": multiple * step}, shape)

    def fits(r: LayerReport) -> bool:
        return ((macs_limit is None or r.macs <= macs_limit)
                and (params_limit is None or r.params <= params_limit))

    first = analyse(1)  # an unfit geometry fails here, with the layer's own message
    fields = kind_fields(kind)
    layer = validate_layer({"kind": kind, **fixed, "out": step})
    geometry = {f: getattr(layer, f) for f in fields}
    target = target_dict(None, macs_limit, params_limit, divisor)
    bounds = {"out_multiple_of": step}
    if not fits(first):
        return Solved("budget", kind, shape, shape.spatial, target, bounds, (*fields, "out"), 0,
                      (), (_budget_solution(kind, geometry, first),))
    low, high = 1, 2  # analyse(low) fits, analyse(high) does not, once the doubling ends
    while fits(analyse(high)):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(analyse(mid)) else (low, mid)
    return Solved("budget", kind, shape, shape.spatial, target, bounds, (*fields, "out"), low,
                  (_budget_solution(kind, geometry, analyse(low)),),
                  (_budget_solution(kind, geometry, analyse(low + 1)),))


def _budget_solution(kind: str, geometry: Mapping[str, Any], report: LayerReport) -> Solution:
    formulas = tuple(f for f in report.formulas if f.metric in ("weights", "bias", "MACs"))
    shape = report.input
    axes = axis_fixed(kind_fields(kind), geometry, shape.rank)
    return Solution({**geometry, "out": report.output.channels}, report.output,
                    report.output.spatial, formulas,
                    tuple(loss_warnings(kind, shape.spatial, axes, False)),
                    params=report.params, macs=report.macs)

"""`convcalc solve size`: every valid completion of a layer's unknown size fields.

Takes a kind, an input, the output wanted (sizes per axis, `same` or `valid`) and the fields
given; gives a `Solved` whose answers are built as layers (`analyze_layer`), or the nearest
sizes reached and why the target is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import product
from typing import Any

from convcalc.engine import analyze_layer
from convcalc.errors import Location, ShapeError, SpecError
from convcalc.layers import KINDS
from convcalc.layers.base import axis_names
from convcalc.shapes import Shape, coerce_shape
from convcalc.solve.axis_search import AxisFit, axis_table, closest_sizes, combine_axes
from convcalc.solve.request import (
    axis_fixed,
    check_channels,
    check_fixed,
    check_limit,
    given,
    kind_fields,
    known_kind,
    parse_size,
)
from convcalc.solve.results import Solution, Solved, spec_value, target_dict
from convcalc.solve.same_valid import WORDS, same_warnings, word_fits, word_target
from convcalc.solve.size_rules import (
    DEFAULT_LIMIT,
    FAMILIES,
    KIND_FAMILY,
    NEAREST_PER_SIZE,
    NEAREST_SIZES,
    SIZE_FIELDS,
    Bounds,
    Family,
    loss_warnings,
)


def _size_solution(kind: str, shape: Shape, fields: Sequence[str], combo: Sequence[AxisFit],
                   passthrough: Mapping[str, Any], ceil_mode: bool) -> Solution:
    """Build one completion as a layer (the project's own check) and explain it."""
    values = {name: spec_value([f.values[i] for f in combo]) for i, name in enumerate(fields)}
    report = analyze_layer({"kind": kind, **passthrough, **values}, shape)
    formulas = tuple(f for f in report.formulas if f.metric.endswith("_out"))
    axes = [{**_defaults(fields), **dict(zip(fields, f.values, strict=True))} for f in combo]
    warnings = loss_warnings(kind, shape.spatial, axes, ceil_mode)
    return Solution(values, report.output, report.output.spatial, formulas, tuple(warnings))


def _defaults(fields: Sequence[str]) -> dict[str, int]:
    return {f: v for f, v in (("dilation", 1), ("output_padding", 0)) if f not in fields}


def _impossible(kind: str, shape: Shape, spec: Mapping[str, Any], bounds: Bounds,
                family: Family, axis: str | None) -> ShapeError:
    """No value of the unknown fields makes a valid layer: say why, in the layer's own words
    when every size field is given."""
    if all(f in spec for f in kind_fields(kind)):
        try:
            analyze_layer({"kind": kind, **spec}, shape)
        except (ShapeError, SpecError) as e:
            return ShapeError(f"no {kind} on {shape.channels_last()} with these fields: "
                              f"{e.message}", e.location)
    where = f" on axis {axis}" if axis else ""
    return ShapeError(f"no {kind} on {shape.channels_last()} with these fields is valid{where} "
                      f"within the search bounds (kernel ≤ {bounds.kernel}, stride ≤ "
                      f"{bounds.stride}, dilation ≤ {bounds.dilation}, padding ≤ "
                      f"{family.padding_bound}; PyTorch refuses the rest)")


def _reason(kind: str, fixed: Mapping[str, Any], spatial: Sequence[int],
            target: Sequence[int], tables: Sequence[Mapping[int, Any]]) -> str | None:
    """`stride 2 gives at most 113 from 224`: where the target is beyond every size the given
    fields reach, which of them bound it."""
    given = [f"{f} {_text(fixed[f])}" for f in SIZE_FIELDS if f in fixed]
    by = (f"{kind} within the search bounds gives" if not given else
          f"{given[0]} gives" if len(given) == 1 else
          f"{', '.join(given[:-1])} and {given[-1]} give")
    for n, want, table in zip(spatial, target, tables, strict=True):
        if not table:
            continue
        high, low = max(table), min(table)
        if want > high:
            return f"{by} at most {high} from {n}"
        if want < low:
            return f"{by} at least {low} from {n}"
    return None


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def solve(kind: str, input: str | Shape | Mapping[str, Any], output: str | int | Sequence[int],
          fixed: Mapping[str, Any] | None = None, *, bounds: Bounds | None = None,
          limit: int = DEFAULT_LIMIT, channels_first: bool = False,
          per_axis: bool | None = None) -> Solved:
    """Every valid completion of the unknown size fields of `kind` on `input` that gives
    `output`: sizes per axis, or TensorFlow's "same" (⌈in/stride⌉; stride 1 unless given) or
    "valid" (no padding). `fixed`: layer-spec fields that are given (kernel, stride, padding,
    dilation, output_padding, out, groups, bias, ceil_mode). Dilation is 1 unless given;
    `"dilation": "any"` searches it (the dilated kind always searches 2 and up). Answers with
    different values per axis only with `per_axis`, by default when the input's or target's
    sizes or a fixed field differ between axes."""
    kind = known_kind(kind)
    bounds = bounds or Bounds()
    bounds.check()
    check_limit(limit)
    shape = coerce_shape(input, channels_first=channels_first)
    if shape.rank == 0:
        raise ShapeError(f"solve needs a spatial input (L×C, H×W×C or D×H×W×C), got a vector "
                         f"of {shape.channels}", Location(field="input"))
    word = output.strip().lower() if isinstance(output, str) else None
    word = word if word in WORDS else None
    target = (None if word is not None else
              parse_size(output, "--output", shape.rank, shape.spatial))
    fixed = dict(given(fixed))
    any_dilation = fixed.get("dilation") == "any"
    if any_dilation:
        del fixed["dilation"]
    fixed = check_fixed(kind, fixed)
    fields = kind_fields(kind)
    notes: list[str] = []
    search = dict(fixed)
    if "dilation" in fields and "dilation" not in fixed and not any_dilation \
            and kind != "dilated":
        search["dilation"] = 1
        notes.append(f"dilation 1 unless given (--dilation any searches up to "
                     f"{bounds.dilation})")
    if word == "same" and "stride" in fields and "stride" not in fixed:
        search["stride"] = 1
        notes.append("same: TensorFlow's SAME, ⌈in/stride⌉ (stride 1 unless given)")
    elif word == "same":
        notes.append("same: TensorFlow's SAME, " + ("in·stride" if KIND_FAMILY[kind] ==
                                                     "transposed" else "⌈in/stride⌉"))
    elif word == "valid":
        notes.append("valid: TensorFlow's VALID, no padding")
    family_name = KIND_FAMILY[kind]
    family = FAMILIES[family_name]
    passthrough = {k: v for k, v in fixed.items() if k not in fields}
    if "out" in KINDS[kind].model_fields:
        passthrough.setdefault("out", shape.channels)
    check_channels(kind, shape, fixed, passthrough.get("out"))
    ceil_mode = bool(fixed.get("ceil_mode", False))
    covers = kind == "avgpool" and shape.rank == 3  # PyTorch's AvgPool3d: input ≥ kernel
    axes = axis_fixed(fields, search, shape.rank)
    tables = [axis_table(family_name, fields, n, tuple(sorted(a.items())), bounds, ceil_mode,
                          covers, kind == "dilated")
              for n, a in zip(shape.spatial, axes, strict=True)]
    names = axis_names(shape.rank)
    searched = replace(bounds, dilation=1) if search.get("dilation") == 1 else bounds
    for ax, table in zip(names, tables, strict=True):
        if not table:
            raise _impossible(kind, shape, {**passthrough, **search}, searched, family,
                              ax if shape.rank > 1 else None)
    dilation = fields.index("dilation") if kind == "dilated" else None
    if dilation is not None and not any(f.values[dilation] >= 2 for t in tables
                                        for fits in t.values() for f in fits):
        raise _impossible(kind, shape, {**passthrough, **search}, bounds, family, None)
    if per_axis is None:
        per_axis = (len(set(shape.spatial)) > 1 or (target is not None and len(set(target)) > 1)
                    or any(isinstance(v, list) and len(set(v)) > 1 for v in fixed.values()))

    def build(combos: Sequence[Sequence[AxisFit]]) -> list[Solution]:
        out = [_size_solution(kind, shape, fields, c, passthrough, ceil_mode) for c in combos]
        if word != "same":
            return out
        return [replace(s, warnings=(*s.warnings, *same_warnings(fields, c, shape.spatial,
                                                                  family_name)))
                for s, c in zip(out, combos, strict=True)]

    if word is not None:
        lists = [word_fits(word, family_name, fields, n, t)
                 for n, t in zip(shape.spatial, tables, strict=True)]
    else:
        assert target is not None
        lists = [t.get(n, ()) for t, n in zip(tables, target, strict=True)]
    count, combos = combine_axes(lists, dilation, limit, per_axis)
    nearest: list[Solution] = []
    reason = None
    if count == 0 and target is not None:
        reason = _reason(kind, fixed, shape.spatial, target, tables)
        # the closest sizes reached: on each axis the three nearest it reaches, combined
        options = [[n for (n,) in closest_sizes([(n,) for n in t], (want,), keep=True)[:3]]
                   for t, want in zip(tables, target, strict=True)]
        candidates = closest_sizes(list(product(*options)), target)
        sizes_shown = 0
        for sizes in candidates:
            if len(nearest) >= limit or sizes_shown == NEAREST_SIZES:
                break
            _, found = combine_axes([t[s] for t, s in zip(tables, sizes, strict=True)], dilation,
                                min(NEAREST_PER_SIZE, limit - len(nearest)), per_axis)
            nearest += build(found)
            sizes_shown += bool(found)
    shown_bounds = _bounds(bounds, family, fields)
    if "dilation" in shown_bounds and "dilation" in search and "dilation" not in fixed:
        shown_bounds["dilation"] = 1
    if "stride" in shown_bounds and "stride" in search and "stride" not in fixed:
        shown_bounds["stride"] = 1
    goal = target_dict(target if target is not None else word_target(
        word or "", family_name, shape.spatial, axes))
    if word is not None:
        goal["word"] = word
    return Solved("size", kind, shape, shape.spatial, goal, shown_bounds, fields, count,
                  tuple(build(combos)), tuple(nearest), reason, tuple(notes))


def _bounds(bounds: Bounds, family: Family, fields: Sequence[str]) -> dict[str, Any]:
    """The search bounds of the kind's size fields: numbers, or the rule that bounds them."""
    every = {"kernel": bounds.kernel, "stride": bounds.stride, "dilation": bounds.dilation,
             "padding": family.padding_bound, "output_padding": "max(S, D) − 1"}
    return {f: every[f] for f in fields}

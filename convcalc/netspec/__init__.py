"""The network spec language, one concern per module:

- `expr`: expressions inside `${…}` (exact rational arithmetic, functions, conditions);
- `compiler`: the YAML's content → checked nodes (`nodes`), every block included;
- `bound`: the layer count from the structure, refused before anything is built;
- `walk`: expansion for one set of parameters and one input, with shapes and receptive fields;
- `names`: hierarchical, unique layer names.

`resolve` turns a compiled network, `--set` overrides and an input into the parameters and the
input shape the walk uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcalc.errors import ConvcalcError, Location, SpecError
from convcalc.netspec.compiler import param_value
from convcalc.netspec.expr import ExprError, Value, compile_value, default_value, evaluate
from convcalc.netspec.nodes import Network
from convcalc.numbers import NumberError, parse_number, shown
from convcalc.shapes import Shape, coerce_shape, parse_input
from convcalc.spec import suggest

INPUT = "input"
"""`--set input=160x160x3` sets the network's input rather than a parameter."""


def set_value(text: str) -> Value:
    """A `--set name=value` value: a number (exact), true/false, or text."""
    raw = text.strip()
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return parse_number(raw)
    except NumberError:
        return raw


def resolve(net: Network, overrides: Mapping[str, Any] | None = None,
            input: str | Shape | Mapping[str, Any] | None = None, *,
            channels_first: bool | None = None) -> tuple[dict[str, Value], Shape, int | None]:
    """The parameters (defaults, then overrides), the input shape for one analysis, and the
    batch when the input has a batch axis (PyTorch's N×C×H×W, channels first)."""
    params = dict(net.params)
    where = Location(file=net.file)
    for key, value in (overrides or {}).items():
        if key == INPUT:
            input = value
            continue
        if key not in params:
            known = ", ".join(params) or "none"
            raise SpecError(f"--set: the spec has no parameter {shown(key)}"
                            f"{suggest(key, [*params, INPUT])}; parameters: {known} (and "
                            f"{INPUT})", where)
        try:
            params[key] = param_value(value)
        except NumberError as e:
            raise SpecError(f"--set {key}: {e}", where) from None
    missing = [k for k, v in params.items() if v is None]
    if missing:
        raise SpecError(f"parameter '{missing[0]}' has no default: give --set {missing[0]}=…",
                        where)
    given = set(overrides or ())
    earlier: dict[str, Value] = {}
    for key, value in params.items():
        if key not in given:  # a default may compute from the parameters before it
            try:
                params[key] = default_value(value, earlier)
            except (ExprError, NumberError) as e:
                raise SpecError(f"params.{key}: {e} (a default may use the parameters "
                                "written before it)", where) from None
        earlier[key] = params[key]
    cf = net.channels_first if channels_first is None else channels_first
    raw = net.input if input is None else input
    if raw is None:
        raise SpecError("no input shape: give 'input: 224x224x3' in the spec or --input", where)
    if isinstance(raw, str) and "$" in raw:
        try:
            raw = evaluate(compile_value(raw), params)
        except (ExprError, NumberError) as e:
            raise SpecError(f"input: {e}", net.input_at) from None
    try:
        if isinstance(raw, str):
            shape, batch = parse_input(raw, channels_first=cf, rank=_spec_rank(net)
                                       if raw is not net.input else None)
        else:
            shape, batch = coerce_shape(raw, channels_first=cf), None
    except ConvcalcError as e:
        raise SpecError(e.message, where if input is not None else net.input_at) from None
    return params, shape, batch


def _spec_rank(net: Network) -> int | None:
    """The spatial axes of the spec's own input, when it is written out (what decides how
    four numbers given channels first are read: N×C×H×W or C×D×H×W)."""
    if not isinstance(net.input, str) or "$" in net.input:
        return None
    try:
        shape, _ = parse_input(net.input, channels_first=bool(net.channels_first))
    except ConvcalcError:
        return None
    return shape.rank


__all__ = ["INPUT", "Network", "resolve", "set_value"]

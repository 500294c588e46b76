"""Turning user mappings into layer models, with errors that name the field, value and rule."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from convcalc.errors import Location, SpecError
from convcalc.layers import KIND_ALIASES, KINDS, LayerSpec, canonical_kind

AXES = "a whole number ≥ 1, or a list with one per spatial axis"
FIELD_HELP = {
    "out": "a whole number ≥ 1 (output channels)",
    "kernel": AXES,
    "stride": AXES,
    "dilation": AXES,
    "scale": AXES,
    "output_size": AXES,
    "padding": "a whole number ≥ 0, a list with one per spatial axis, 'same' or 'valid'",
    "output_padding": "a whole number ≥ 0, or a list with one per spatial axis",
    "groups": "a whole number that divides the input and output channels",
    "multiplier": "a whole number ≥ 1",
    "mid": "a whole number ≥ 1",
    "bias": "true or false",
    "ceil_mode": "true or false",
    "affine": "true or false",
    "alpha_in": "a number in [0, 1), e.g. 0.5",
    "alpha_out": "a number in [0, 1), e.g. 0.5",
    "mode": "nearest, linear, bilinear or trilinear",
    "name": "text",
    "squeeze": "a whole number ≥ 1 (squeezed channels)",
    "ratio": "a number > 0 (squeeze = max(1, ⌊ratio·C⌋))",
    "activation": "relu, relu6, silu, hardswish or gelu",
    "gate": "sigmoid or hardsigmoid",
    "p": "a probability in [0, 1], e.g. 0.2",
    "init": "a number > 0, e.g. 1e-6",
    "cosine": "true or false",
    "position_bias": "true or false",
    "proj_bias": "true or false",
    "bias_mlp": "a whole number ≥ 1 (the position-bias MLP's hidden width)",
    "heads": "a whole number ≥ 1",
    "head_dim": "a whole number ≥ 1 (channels per head)",
    "hidden": "a whole number ≥ 1 (hidden channels)",
    "window": "a whole number ≥ 1, or a list with one per spatial axis",
    "shift": "a whole number ≥ 0, or a list with one per spatial axis",
    "size": "a whole number ≥ 1, or a list with one per spatial axis (upsample also takes "
            "text such as 520x520)",
    "output": "a quoted shape such as '14x14x256', '196x768' or '1000' (H×W×C, L×C or C)",
    "operator": "the operator's name: 1 to 200 characters, none of them a control character",
}


def field_help(model: type[LayerSpec], field: str, default: str) -> str:
    """What `field` of this kind takes: the words of FIELD_HELP that this kind's annotation
    allows (a transposed conv's padding takes no 'same' or 'valid', so none is listed)."""
    text = FIELD_HELP.get(field, default)
    info = model.model_fields.get(field)
    if field == "padding" and info is not None and not _literals(info.annotation):
        text = "a whole number ≥ 0, or a list with one per spatial axis"
    return text


def _literals(annotation: Any) -> set[Any]:
    """The Literal values anywhere in a type annotation."""
    from typing import Literal, get_args, get_origin

    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return {v for arg in get_args(annotation) for v in _literals(arg)}


def suggest(word: str, choices: list[str]) -> str:
    """` — did you mean 'kernel'?` when something close exists, else ''."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator} (not a whole number)"
    if isinstance(value, int):
        from convcalc.numbers import int_text

        return int_text(value).replace(",", "")
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _field_error(kind: str, model: type[LayerSpec], err: Any, location: Location) -> SpecError:
    loc = [str(p) for p in err["loc"]]
    if loc and loc[0] == kind:
        loc = loc[1:]
    field = loc[0] if loc else None
    etype = err["type"]
    if etype == "extra_forbidden" and field is not None:
        allowed = [f for f in model.model_fields if f != "kind"]
        return SpecError(f"unknown field '{field}'{suggest(field, allowed)}; fields of {kind}: "
                         f"{', '.join(allowed)}", Location(**{**_loc_dict(location),
                                                              "field": field}))
    if etype == "missing" and field is not None:
        return SpecError(f"missing; {kind} needs it: {field_help(model, field, 'required')}",
                         location.__class__(**{**_loc_dict(location), "field": field}))
    message = str(err["msg"]).removeprefix("Value error, ")
    if field is None:
        named = re.match(r"(\w+)=", message)
        if named and named.group(1) in model.model_fields:
            return SpecError(message, Location(**{**_loc_dict(location),
                                                  "field": named.group(1)}))
        return SpecError(f"{kind}: {message}", location)
    help_text = field_help(model, field, message)
    value = err.get("input")
    where = Location(**{**_loc_dict(location), "field": field})
    if err["type"] == "value_error":
        return SpecError(f"{message}; expected {help_text}", where)
    if err["type"] == "less_than_equal":
        return SpecError(f"{_short(value)} is not allowed; {kind} needs {field} ≤ 2^63 − 1 "
                         "(PyTorch sizes are int64)", where)
    if err["type"] == "greater_than_equal":
        bound = err.get("ctx", {}).get("ge")
        return SpecError(f"{_short(value)} is not allowed; {kind} needs {field} ≥ {bound} "
                         f"({help_text})", where)
    if err["type"] == "literal_error" and all(p.isdigit() or p in ("int", "str") for p in loc[1:]):
        expected = str(err.get("ctx", {}).get("expected", help_text))
        return SpecError(f"{_short(value)} is not allowed; expected {expected}", where)
    return SpecError(f"{_short(value)} is not allowed; expected {help_text}", where)


def _loc_dict(location: Location) -> dict[str, Any]:
    return {k: getattr(location, k) for k in Location.__slots__}


def validate_layer(data: Mapping[str, Any], location: Location | None = None) -> LayerSpec:
    """A layer model from a mapping with a `kind` (aliases accepted). Raises SpecError."""
    location = location or Location()
    if "kind" not in data:
        raise SpecError(f"missing 'kind'; one of: {', '.join(sorted(KINDS))}", location)
    kind = data["kind"]
    if not isinstance(kind, str):
        raise SpecError(f"'kind' must be text, got {_short(kind)}", location)
    kind = canonical_kind(kind)
    if kind not in KINDS:
        choices = sorted({*KINDS, *KIND_ALIASES})
        raise SpecError(f"unknown kind '{data['kind']}'{suggest(kind, choices)}; one of: "
                        f"{', '.join(sorted(KINDS))}", location)
    try:
        # the kind picks the model, as the discriminated union would, without building the union
        spec: LayerSpec = KINDS[kind].model_validate({**data, "kind": kind})
    except ValidationError as exc:
        if location.name is None and isinstance(data.get("name"), str):
            location = Location(**{**_loc_dict(location), "name": data["name"]})
        # unknown fields first; a misspelt field ('kernal') also shows up as a missing one
        # ('kernel'), which says nothing new
        raw = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        unknown = [str(e["loc"][-1]) for e in raw if e["type"] == "extra_forbidden"]
        meant = {m for u in unknown for m in difflib.get_close_matches(
            u, list(KINDS[kind].model_fields), n=1, cutoff=0.6)}
        raw = [e for e in raw if not (e["type"] == "missing" and str(e["loc"][-1]) in meant)]
        errors = [_field_error(kind, KINDS[kind], e, location) for e in raw]
        unique: dict[str, SpecError] = {}
        for e in errors:
            unique.setdefault(e.location.field or e.message, e)
        first, *rest = unique.values()
        if rest:
            raise SpecError(first.message, first.location, tuple(unique.values())) from None
        raise first from None
    return spec

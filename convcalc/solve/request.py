"""The request of `convcalc solve`, parsed and checked before any search.

Takes the CLI's or the library caller's kind, sizes (`28x28`, `same`), counts (`300M`) and fixed
fields; gives them as numbers, each fixed field checked by the kind's own model, or a
`SpecError` naming the option or the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from convcalc.errors import Location, SpecError
from convcalc.layers import KINDS, canonical_kind
from convcalc.layers.base import check_divides, per_axis
from convcalc.shapes import Shape
from convcalc.solve.results import spec_value
from convcalc.solve.size_rules import KIND_FAMILY, SIZE_FIELDS
from convcalc.spec import suggest, validate_layer

# --- parsing and checking the request ------------------------------------------------------------


def parse_size(text: str | int | Sequence[int], option: str, rank: int | None = None,
               same: Sequence[int] | None = None) -> tuple[int, ...]:
    """`28` or `28x28` (one per axis; one number is every axis), `same` = `same`'s size."""
    if isinstance(text, str):
        raw = text.strip()
        if raw == "same":
            if same is None:
                raise SpecError(f"option {option}: 'same' needs an input to copy")
            return tuple(same)
        parts = [p for p in re.split(r"\s*[,x×]\s*", raw) if p]
        if not parts or not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
            raise SpecError(f"option {option}: {text!r} is not a size; write 28, 28x28, same or "
                            "valid")
        values = [int(p) for p in parts]
    else:
        items: Sequence[object] = [text] if isinstance(text, int) else text
        values = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        if not values or len(values) != len(items):
            raise SpecError(f"option {option}: {text!r} is not a size; write 28, 28x28 or same")
    if any(v < 1 for v in values):
        raise SpecError(f"option {option}: {spec_value(values)} is not allowed; sizes are ≥ 1")
    if rank is not None and len(values) == 1:
        values = values * rank
    if rank is not None and len(values) != rank:
        raise SpecError(f"option {option}: {len(values)} sizes for an input with {rank} spatial "
                        f"axes (shapes are H×W×C: a 28×28 map with 1 channel is 28x28x1)")
    return tuple(values)


_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_count(text: str | int, option: str) -> int:
    """`300M` → 300000000, `1.5G`, `25k`, `4096`: exact (decimal, 1 k = 1000), rounded down."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = Fraction(text)
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kKmMgGtT]?)\s*", str(text))
        if match is None:
            raise SpecError(f"option {option}: {text!r} is not a count; write 300M, 1.5G, 25k "
                            "or a whole number")
        value = Fraction(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if value < 1:
        raise SpecError(f"option {option}: {text} is not allowed; a budget is ≥ 1")
    return int(value)


def known_kind(kind: str) -> str:
    name = canonical_kind(kind)
    if name not in KIND_FAMILY:
        choices = list(KIND_FAMILY)
        raise SpecError(f"solve: unknown kind '{kind}'{suggest(name, choices)}; one of: "
                        f"{', '.join(choices)}")
    return name


def kind_fields(kind: str) -> tuple[str, ...]:
    """The size fields a kind has (avgpool has no dilation, only transposed output_padding)."""
    return tuple(f for f in SIZE_FIELDS if f in KINDS[kind].model_fields)


def given(fixed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields given: a value of None means not given."""
    return {k: v for k, v in (fixed or {}).items() if v is not None}


def check_fixed(kind: str, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Each fixed field through the kind's own model (unknown fields, types and ranges are
    refused as `convcalc layer` refuses them), one field at a time so that a rule between
    fields can still be met by the unknown ones."""
    model = KINDS[kind].model_fields
    fixed = given(fixed)
    if "kind" in fixed:
        raise SpecError("the kind is solve's first argument, not a fixed field")
    for name in SIZE_FIELDS:
        if isinstance(fixed.get(name), str):
            raise SpecError(f"solve takes whole numbers for {name}, got {fixed[name]!r} (for "
                            "'same' ask for --output same)", Location(field=name))
    filler: dict[str, Any] = {"kind": kind, "kernel": 1}
    if "out" in model:
        filler["out"] = 1
    if kind == "grouped":
        filler["groups"] = 2
    for name, value in fixed.items():
        probe = {**filler, name: value}
        if name == "output_padding" and isinstance(value, int | list):
            # its rule against stride and dilation is the search's to meet, or to refuse
            values = value if isinstance(value, list) else [value]
            probe["stride"] = max((v for v in values if isinstance(v, int)), default=0) + 1
        validate_layer(probe)
    if kind == "grouped" and "groups" not in fixed:
        raise SpecError("missing; grouped needs it: a whole number ≥ 2",
                        Location(field="groups"))
    return dict(fixed)


def axis_fixed(fields: Sequence[str], fixed: Mapping[str, Any],
                rank: int) -> list[dict[str, int]]:
    """Per axis: the fixed size fields (dilation 1 where the kind has none)."""
    axes: list[dict[str, int]] = [{} for _ in range(rank)]
    for name in fields:
        if name in fixed:
            for i, v in enumerate(per_axis(fixed[name], rank, name)):
                axes[i][name] = v
    if "dilation" not in fields:
        for axis in axes:
            axis["dilation"] = 1
    if "output_padding" not in fields:
        for axis in axes:
            axis["output_padding"] = 0
    return axes


def check_channels(kind: str, shape: Shape, fixed: Mapping[str, Any], out: int | None) -> None:
    groups = fixed.get("groups", 1)
    check_divides(groups, shape.channels, "groups", "input channels")
    if out is not None:
        check_divides(groups, out, "groups", "output channels")


def check_limit(limit: int) -> None:
    if limit < 1:
        raise SpecError(f"option --limit: {limit} is not allowed; give 1 or more")

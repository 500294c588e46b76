"""Option values read into what the library takes: per-axis numbers, `--set name=value`,
`--columns`, `--units`, the device; and the warnings an input shape deserves."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from convcalc.errors import ConvcalcError, SpecError


@dataclass(frozen=True)
class View:
    """How tables are fitted: --width, --units, --columns."""

    width: int | None = None
    units: str = "auto"
    columns: tuple[str, ...] | None = None


COLUMN_ALIASES = {"rf": "rf_size", "jump": "rf_jump", "start": "rf_start", "mem": "activations",
                  "access": "access_cost", "share": "macs_share", "weights": "weight_params",
                  "bias": "bias_params", "in": "input_elements", "out": "output_elements",
                  "name": "path", "layer": "path", "ratio": "macs_ratio", "note": "error"}
BYTE_COLUMNS = ("activation_bytes", "param_bytes")
DEVICE_COLUMNS = ("bound", "intensity", "time")


def make_view(width: int | None, units: str, columns: str | None) -> View:
    from convcalc.render.formats import UNITS

    if units not in UNITS:
        raise SpecError(f"option --units: {units!r} is not one of {', '.join(UNITS)}")
    return View(width, units, parse_columns(columns))


def parse_columns(text: str | None) -> tuple[str, ...] | None:
    """`params,macs,rf` → the registry's keys, aliases resolved; unknown names refused."""
    if text is None:
        return None
    from convcalc.render.columns import COLUMNS

    keys: list[str] = []
    for item in (s.strip() for s in text.split(",")):
        key = COLUMN_ALIASES.get(item, item)
        if key not in COLUMNS:
            choices = sorted({*COLUMNS, *COLUMN_ALIASES})
            from convcalc.spec import suggest

            raise SpecError(f"option --columns: unknown column {item!r}{suggest(item, choices)}; "
                            f"columns: {', '.join(sorted(COLUMNS))} (also "
                            f"{', '.join(sorted(COLUMN_ALIASES))})")
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def cost_dtype(view: View, dtype: str | None, device: object) -> str | None:
    """The dtype to cost in: --dtype, or fp32 when --columns asks for bytes without one (a
    roofline column without a device is refused by RULES)."""
    if dtype is None and device is None and any(c in BYTE_COLUMNS for c in view.columns or ()):
        return "fp32"
    return dtype


def text_settings(view: View) -> Any:
    """--columns and --units for the text formats (Markdown, LaTeX, CSV)."""
    from convcalc.render.layout import Settings

    return Settings(units=view.units, columns=view.columns)


def make_device(device: str | None, peak: str | None, bandwidth: str | None) -> Any:
    """The device for the roofline, or None."""
    if device is None and peak is None and bandwidth is None:
        return None
    from convcalc.hardware.devices import resolve_device

    return resolve_device(device, peak, bandwidth)


def batch_of(input: str, channels_first: bool, batch: int | None) -> int:
    """The batch analysed: --batch, or the N of an N×C×H×W input (1 without either)."""
    from convcalc.engine import input_shape

    return input_shape(input, channels_first, batch)[1]


def parse_axes(option: str, text: str, *, words: tuple[str, ...] = ()) -> int | list[int] | str:
    """`3` → 3, `3,5` or `3x5` → [3, 5]; `words` (e.g. same, valid) pass through. Exactly
    that grammar: no empty items (`3,`, `3,,3`), no spaces inside, no leading zeros."""
    from convcalc.numbers import NumberError, parse_whole, shown

    value = text.strip()
    if value in words:
        return value
    allowed = "a whole number or one per axis like 3,5" + (
        f", or {' / '.join(words)}" if words else "")
    if not re.fullmatch(r"-?[0-9]+(?:[,x×]-?[0-9]+)*", value):
        raise SpecError(f"option {option}: {shown(text)} is not {allowed}")
    try:
        numbers = [parse_whole(p, signed=True) for p in re.split(r"[,x×]", value)]
    except NumberError as e:
        raise SpecError(f"option {option}: {e}; {allowed}") from None
    return numbers[0] if len(numbers) == 1 else numbers


AXES = ("kernel", "stride", "padding", "dilation", "output_padding", "scale", "output_size",
        "window", "shift", "size")
"""The fields given per axis: 3, or 3,5."""


def layer_fields(given: dict[str, str | int | bool | None],
                 words: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """A layer's fields from its options ({field: value as typed}; None or false: not given):
    axes parsed (`words`: the words a field also takes, e.g. padding: same, valid), --no-bias
    and --ceil-mode as the fields bias: false and ceil_mode: true, the others as given."""
    fields: dict[str, Any] = {}
    for field, value in given.items():
        if value is None or value is False:
            continue
        if field == "no_bias":
            fields["bias"] = False
        elif field in AXES and isinstance(value, str):
            fields[field] = parse_axes("--" + field.replace("_", "-"), value,
                                       words=(words or {}).get(field, ()))
        else:
            fields[field] = value
    return fields


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`--set width=0.75 --set input=160x160x3` → {"width": 3/4, "input": "160x160x3"}."""
    from convcalc.netspec import INPUT, set_value

    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not value.strip():
            raise SpecError(f"option --set: write name=value (e.g. --set width=0.75), got "
                            f"{item!r}")
        if key in out:
            raise SpecError(f"option --set: {key} is set twice")
        out[key] = value.strip() if key == INPUT else set_value(value)
    return out


def warn_layout(text: str, channels_first: bool) -> None:
    """A warning on stderr when an H×W×C input looks like C×H×W (3x224x224)."""
    from convcalc.shapes import looks_channels_first, parse_shape

    if channels_first:
        return
    try:
        shape = parse_shape(text)
    except ConvcalcError:
        return  # the analysis reports it
    if looks_channels_first(shape):
        sizes = "x".join(map(str, (*shape.spatial[1:], shape.channels, shape.spatial[0])))
        sys.stderr.write(f"convcalc: warning: input {text} reads as H×W×C: "
                         f"{'×'.join(map(str, shape.spatial))} pixels with {shape.channels} "
                         f"channels; for {shape.spatial[0]} channels of "
                         f"{'×'.join(map(str, (*shape.spatial[1:], shape.channels)))} write "
                         f"{sizes} or add --channels-first\n")

"""The column registry: key, header, how to read a raw value from a row, how to show it.

Rows are plain dicts of raw values (ints, exact fractions as "p/q" strings, lists). Human
formatting (thousands separators, 1.23 M) happens only here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from convcalc.numbers import decimal_text

Row = Mapping[str, Any]


def thousands(value: Any) -> str:
    """1228800 → 1,228,800; None → ''."""
    return "" if value is None else f"{value:,}"


def si(value: int) -> str:
    """1228800 → 1.23 M (display only)."""
    for div, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(value) >= div:
            return f"{decimal_text(Fraction(value, div))} {unit}"
    return str(value)


def shape_text(shape: Mapping[str, Any] | None) -> str:
    """{"channels": 3, "spatial": [12, 12]} → 12×12×3 (the documents' H×W×C)."""
    if not shape:
        return ""
    return "×".join(str(n) for n in (*shape["spatial"], shape["channels"]))


def axes_text(values: Sequence[Any]) -> str:
    """Per-axis values: [5, 5] → 5×5; ["1/2", "1/2"] → 1/2×1/2; [] → '–'."""
    return "×".join(str(v) for v in values) if values else "–"


def percent_text(value: Fraction | int | None) -> str:
    """An exact percentage, rounded to 2 places on integers (never through a float)."""
    if value is None:
        return ""
    return f"{decimal_text(value)} %"


def seconds_text(value: Any) -> str:
    """An exact time in seconds ("1/3000" or an int) shown in µs, ms or s."""
    if value is None:
        return ""
    t = Fraction(value)
    for unit, scale in (("s", 1), ("ms", 10**3), ("µs", 10**6)):
        if t * scale >= 1 or unit == "µs":
            return f"{decimal_text(t * scale, 3 if unit == 'µs' else 2)} {unit}"
    return ""


def ratio_percent(value: Fraction | int | None) -> str:
    """A ratio (1/25) shown as a percentage (4.00 %)."""
    return "" if value is None else percent_text(100 * value)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key in CSV, its header, the raw value of a row, and its display."""

    key: str
    header: str
    raw: Callable[[Row], Any]
    show: Callable[[Any], str] = str
    justify: Literal["left", "right"] = "right"
    unit: bool = False
    """A count that `--units` may write as 4.09 G."""
    wrap: Literal["none", "words"] = "none"
    """Prose that may wrap at spaces to fit."""


def _rf(field: str) -> Callable[[Row], Any]:
    return lambda r: r["receptive_field"][field] if r.get("receptive_field") else []


def _mem(field: str) -> Callable[[Row], Any]:
    return lambda r: r["memory"][field] if r.get("memory") else None


COLUMNS: dict[str, Column] = {c.key: c for c in [
    Column("path", "layer", lambda r: r.get("path") or r.get("name") or r["kind"],
           justify="left"),
    Column("variant", "variant", lambda r: r.get("variant"), justify="left"),
    Column("kind", "kind", lambda r: r["kind"], justify="left"),
    Column("input", "input", lambda r: r.get("input"), shape_text),
    Column("output", "output", lambda r: r.get("output"), shape_text),
    Column("params", "params", lambda r: r.get("params"), thousands, unit=True),
    Column("weight_params", "weights", lambda r: r.get("weight_params"), thousands, unit=True),
    Column("bias_params", "bias", lambda r: r.get("bias_params"), thousands, unit=True),
    Column("macs", "MACs", lambda r: r.get("macs"), thousands, unit=True),
    Column("flops", "FLOPs", lambda r: r.get("flops"), thousands, unit=True),
    Column("rf_size", "RF", _rf("size"), axes_text),
    Column("rf_jump", "jump", _rf("jump"), axes_text),
    Column("rf_start", "start", _rf("start"), axes_text),
    Column("activations", "act. elems", _mem("activation_elements"), thousands, unit=True),
    Column("input_elements", "in elems", _mem("input_elements"), thousands, unit=True),
    Column("output_elements", "out elems", _mem("output_elements"), thousands, unit=True),
    Column("access_cost", "mem access", _mem("access_cost"), thousands, unit=True),
    Column("macs_share", "MACs %", lambda r: r.get("macs_share"), percent_text),
    Column("params_ratio", "params %", lambda r: r.get("params_ratio"), ratio_percent),
    Column("macs_ratio", "MACs %", lambda r: r.get("macs_ratio"), ratio_percent),
    Column("error", "note", lambda r: r.get("error"), lambda v: v or "", "left"),
    Column("layers", "layers", lambda r: r.get("layers"), lambda v: "" if v is None else str(v)),
    Column("activation_bytes", "act. bytes", lambda r: r.get("activation_bytes"), thousands,
           unit=True),
    Column("param_bytes", "param bytes", lambda r: r.get("param_bytes"), thousands, unit=True),
    Column("bound", "bound", lambda r: (r.get("roofline") or {}).get("bound"),
           lambda v: v or "", "left"),
    Column("intensity", "MAC/B", lambda r: (r.get("roofline") or {}).get("intensity"),
           lambda v: "" if v is None else decimal_text(Fraction(v), 2)),
    Column("time", "time ≥", lambda r: (r.get("roofline") or {}).get("time_s"), seconds_text),
    Column("other_ops", "other ops", lambda r: r.get("other_ops"), thousands, unit=True),
]}


def pick(keys: Sequence[str]) -> list[Column]:
    return [COLUMNS[k] for k in keys]


LAYER_ROWS = ["path", "kind", "input", "output", "params", "macs", "rf_size", "rf_jump",
              "activations", "access_cost"]

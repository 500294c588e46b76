"""Plain-text formats: JSON (the contract), CSV (raw ints), Markdown (human numbers)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from convcalc.render.columns import Column


def to_json(data: Mapping[str, Any], *, compact: bool = False) -> str:
    """Indented JSON, or one line when `compact` (the C encoder: ~10× faster on huge outputs)."""
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, indent=2, ensure_ascii=False)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict) and "channels" in value:
        return "x".join(str(n) for n in (*value["spatial"], value["channels"]))
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else \
            value.numerator
    return value


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """One header line of column keys, then raw values (shapes and axes joined with x)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([_csv_value(c.raw(row)) for c in columns])
    return buffer.getvalue()


def to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
                title: str | None = None, notes: Sequence[str] = ()) -> str:
    """A GitHub table with human-formatted numbers, right-aligned where numbers are."""
    lines: list[str] = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(c.header for c in columns) + " |")
    lines.append("|" + "|".join("---:" if c.justify == "right" else ":---" for c in columns) + "|")
    for row in rows:
        cells = []
        for c in columns:
            text = c.show(c.raw(row))
            if c.key == "path":
                text = "  " * int(row.get("depth", 0)) + text
            cells.append(text.replace("|", "\\|").replace("\n", "<br>"))
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"

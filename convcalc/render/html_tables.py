"""The HTML report's tables and figure frames: rows through the column registry, sortable.

Takes rows and `Column`s (convcalc.render.columns) and the `View` of --columns / --units;
gives escaped HTML (Markup, through the templates' macros): the data table with sort keys, a
chart's numbers as a plain table (its text alternative) and the figure that holds both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcalc.render.columns import Column
from convcalc.render.html_page import macro_html
from convcalc.report import LayerReport

if TYPE_CHECKING:
    from markupsafe import Markup


# --- pieces -----------------------------------------------------------------------------------

def _sort_value(value: Any) -> str:
    """What a cell sorts by: numbers as numbers, shapes by elements, fields by their largest
    axis, fractions as decimals; text as itself."""
    if type(value) is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return repr(float(value))
    if isinstance(value, Mapping) and "channels" in value:
        n = value["channels"]
        for s in value["spatial"]:
            n *= s
        return str(n)
    if isinstance(value, list | tuple):
        numbers = [float(Fraction(v)) if isinstance(v, str) else float(v) for v in value]
        return repr(max(numbers)) if numbers else ""
    return str(value)


def _numeric(column: Column, rows: Sequence[Mapping[str, Any]]) -> bool:
    for row in rows:
        v = column.raw(row)
        if v is not None:
            return not isinstance(v, str)
    return column.justify == "right"


def data_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, caption: str,
               total: Mapping[str, Any] | None = None, sortable: bool = True,
               table_id: str | None = None) -> Markup:
    """A table of rows through the column registry: shown values from each column's formatter,
    the raw value in data-v for sorting (the layer column sorts by position)."""
    kinds = [_numeric(c, rows) or c.key == "path" for c in columns]
    head = [(c.header, "num" if numeric else "text", c.justify)
            for c, numeric in zip(columns, kinds, strict=True)]
    plan = [(c.raw, c.show, c.justify, c.key in ("path", "variant")) for c in columns]
    body = []
    for i, row in enumerate(rows):
        cells: list[tuple[str, object, str | None, list[str]]] = []
        for raw, show, justify, is_name in plan:
            value = raw(row)
            lines = show(value).split("\n")
            if is_name:
                indent = int(row.get("depth", 0))
                cells.append((justify, i, f"{0.4 + indent}" if indent else None, lines))
            else:
                cells.append((justify, _sort_value(value), None, lines))
        body.append(cells)
    foot = None if total is None else [(c.justify, c.show(c.raw(total))) for c in columns]
    return macro_html("data_table", head, body, foot, caption, table_id, sortable)


def numbers_table(caption: str, headers: Sequence[str],
                  rows: Iterable[Sequence[object]]) -> Markup:
    """A chart's numbers as a plain table (its text alternative), folded under the chart."""
    return macro_html("numbers_table", caption, headers, rows)


def figure(chart_id: str, caption: str, numbers: Markup, description: str) -> Markup:
    return macro_html("figure", chart_id, caption, numbers, description)


def viewed(columns: Sequence[Column], view: Any) -> list[Column]:
    """The table's columns as `view` asks (the `View` every renderer gets: its `columns`, the
    registry's keys in order, after the name column; its `units`, k/M/G/T for the counts).
    No view, or `units` auto or none: every digit, as the report always wrote them."""
    from dataclasses import replace

    from convcalc.render.columns import COLUMNS
    from convcalc.render.layout import scaled

    chosen = list(columns)
    keys = getattr(view, "columns", None)
    if keys is not None:
        names = [c for c in chosen if c.key in ("path", "variant")]
        chosen = names + [COLUMNS[k] for k in keys
                          if k in COLUMNS and k not in ("path", "variant")]
    units: str = getattr(view, "units", "auto")
    if units in ("auto", "none"):
        return chosen

    def in_units(value: Any) -> str:
        return scaled(value, units)

    return [replace(c, show=in_units) if c.unit else c for c in chosen]


def batch_text(batch: int) -> str:
    """`, batch 32` for a title when the batch is not 1."""
    return f", batch {batch}" if batch != 1 else ""


def layer_batch(report: LayerReport) -> int:
    return report.input_elements // report.input.elements if report.input.elements else 1

"""The `convcalc solve` output: the answers (or the nearest ones) as a table, JSON, CSV or
Markdown, with each answer's formula and the warnings about pixels never read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc.render.columns import Column, shape_text, thousands
from convcalc.render.formats import Format
from convcalc.render.text import text_table, to_csv, to_json
from convcalc.solve import Solution, Solved, formula_text


def field_text(value: Any) -> str:
    """A field as the command line takes it: 3, or 3,5 per axis."""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _size_text(values: Sequence[int] | None) -> str:
    return "×".join(str(v) for v in values) if values else "–"


def _rows(solutions: Sequence[Solution], *, raw: bool = False) -> list[dict[str, Any]]:
    """Each answer's JSON fields, numbered, with its formulas in human numbers (1,228,800)
    unless `raw` (CSV)."""
    show = str if raw else thousands
    return [{**s.to_dict(), "#": i, "formulas": [formula_text(f, show) for f in s.formulas]}
            for i, s in enumerate(solutions, start=1)]


def _field_column(name: str) -> Column:
    return Column(name, name.replace("_", " "), lambda r: r.get(name), field_text)


def _columns(result: Solved, *, csv: bool = False, table: bool = False) -> list[Column]:
    """The answer's fields; the formulas too, except in a table (they go under it, where a
    narrow console cannot cut them)."""
    join = "; " if csv else "\n"
    columns = [Column("#", "#", lambda r: r["#"])]
    if result.mode == "chain":
        times, arrow, by = (",", ",", "x") if csv else ("·", " → ", "×")
        columns += [
            Column("layers", "layers", lambda r: len(r["strides"])),
            Column("strides", "strides", lambda r: times.join(map(str, r["strides"])),
                   justify="left"),
            Column("sizes", "sizes", lambda r: arrow.join(
                by.join(map(str, s)) if isinstance(s, list) else str(s) for s in r["sizes"]),
                justify="left"),
        ]
    else:
        columns += [_field_column(f) for f in result.fields]
        columns.append(Column("output", "output", lambda r: r["output"], shape_text))
    if result.mode == "budget":
        columns += [Column("params", "params", lambda r: r["params"], thousands),
                    Column("macs", "MACs", lambda r: r["macs"], thousands)]
    if result.mode == "size" and not table:
        columns.append(Column("formulas", "formula", lambda r: join.join(r["formulas"]),
                              justify="left"))
    if csv:
        columns.append(Column("warnings", "warnings", lambda r: "; ".join(r["warnings"]),
                              justify="left"))
    return columns


def _title(result: Solved) -> str:
    t = result.target
    if result.mode == "chain":
        return (f"{result.kind} chains from {_size_text(result.input_spatial)} to "
                f"{_size_text(t['spatial'])} in ≤ {result.bounds['max_layers']} layers: "
                f"{result.count:,}")
    shape = result.input.channels_last() if result.input else ""
    if result.mode == "budget":
        limits = [f"{thousands(t[k])} {name}" for k, name in (("max_macs", "MACs"),
                                                               ("max_params", "params"))
                  if t[k] is not None]
        return (f"largest out of {result.kind} on {shape} within {' and '.join(limits)}"
                + (f", a multiple of {result.bounds['out_multiple_of']}"
                   if result.bounds["out_multiple_of"] > 1 else ""))
    plural = "" if result.count == 1 else "s"
    goal = _size_text(t["spatial"])
    if t.get("word"):
        goal = t["word"].upper() + (f" ({goal})" if t["spatial"] else "")
    return f"{result.kind} on {shape} → {goal}: {result.count:,} solution{plural}"


def formula_notes(rows: Sequence[dict[str, Any]]) -> list[str]:
    """`[1] H_out = W_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28`: axes with the same numbers once."""
    notes: list[str] = []
    for r in rows:
        axes: dict[str, list[str]] = {}
        for text in r.get("formulas", []):
            metric, _, rest = text.partition(" = ")
            axes.setdefault(rest, []).append(metric)
        notes += [f"[{r['#']}] {' = '.join(metrics)} = {rest}" for rest, metrics in axes.items()]
    return notes


def _notes(result: Solved, rows: Sequence[dict[str, Any]]) -> list[str]:
    b = result.bounds
    notes: list[str] = []
    if result.mode == "size":
        notes.append("searched: " + ", ".join(f"{f} ≤ {v}" for f, v in b.items())
                     + " (fixed fields as given)")
        notes += result.notes
    elif result.mode == "chain":
        notes.append(f"strides from {', '.join(map(str, b['strides']))}; at most "
                     f"{b['max_layers']} layers; layers that keep the size are not used")
    shown = len(result.solutions)
    if result.mode == "budget" and shown:
        notes += [f"out = {r['out']:,} would need {r['macs']:,} MACs and {r['params']:,} params"
                  for r in _rows(result.nearest)]
    elif result.count > shown and shown:
        notes.append(f"showing the first {shown} of {result.count:,} (--limit)")
    notes += [f"[{r['#']}] warning: {w}" for r in rows for w in r["warnings"]]
    return notes


def solve_view(result: Solved, fmt: Format) -> str | list[Any]:
    """The answers as text (JSON, CSV, Markdown) or rich renderables (table)."""
    if fmt is Format.json:
        return to_json(result.to_dict()) + "\n"
    exact = bool(result.solutions)
    rows = _rows(result.solutions if exact else result.nearest, raw=fmt is Format.csv)
    if fmt is Format.csv:
        columns = [Column("match", "match", lambda r: "exact" if exact else "nearest"),
                   *_columns(result, csv=True)]
        return to_csv(rows, columns)
    title = _title(result)
    none = {"size": "none: no completion within the bounds gives this size",
            "budget": "none: even the smallest out is over the budget",
            "chain": "none: no chain within the bounds reaches this size"}[result.mode]
    if result.reason:
        none = f"none: {result.reason}"
    none += "; the nearest:" if rows else ""
    notes = _notes(result, rows)
    columns = _columns(result, csv=False)
    if fmt in (Format.markdown, Format.latex):
        heading = title if exact else f"{title}. {none}"
        counts = formula_notes(rows) if result.mode == "budget" else []  # size: a column
        return text_table(fmt, rows, columns, title=heading, notes=[*counts, *notes])
    from convcalc.render import layout as table

    columns = _columns(result, table=True)
    items: list[Any] = []
    if exact and rows:
        items.append(table.rows_table(rows, columns, title=title))
    else:
        items.append(table.lines([title, none]))
        if rows:
            items.append(table.rows_table(rows, columns))
    items += [table.lines(formula_notes(rows)), table.lines(notes, style="dim")]
    return items

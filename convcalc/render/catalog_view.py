"""`convcalc kinds`: the layer kinds' catalog (convcalc.catalog) as a table, JSON, CSV..."""

from __future__ import annotations

from typing import Any

from convcalc.render.formats import Format


def _fields_text(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}" if v == "required" else f"{k}={v}" for k, v in fields.items())


def kinds_view(entries: list[dict[str, Any]], fmt: Format) -> str | list[Any]:
    """`convcalc kinds`: `entries` from convcalc.catalog's kind_catalog."""
    from convcalc.render.columns import Column
    from convcalc.render.text import text_table, to_csv, to_json

    if fmt is Format.json:
        return to_json({"kinds": entries}) + "\n"
    rows = [{**e, "fields_text": _fields_text(e["fields"]),
             "aliases_text": ", ".join(e["aliases"])} for e in entries]
    columns = [
        Column("kind", "kind", lambda r: r["kind"], justify="left"),
        Column("fields", "fields (required ones bare)", lambda r: r["fields_text"],
               justify="left", wrap="words"),
        Column("meaning", "meaning", lambda r: r["meaning"], justify="left", wrap="words"),
    ]
    if fmt is Format.csv:
        return to_csv(rows, columns)
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, rows, columns)
    from convcalc.render.layout import rows_table

    return [rows_table(rows, columns)]

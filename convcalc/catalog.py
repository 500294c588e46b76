"""`convcalc kinds`: every kind, its fields with defaults, and its one-line meaning."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticUndefined

from convcalc.layers import KIND_ALIASES, KINDS
from convcalc.render.formats import Format


def kind_catalog() -> list[dict[str, Any]]:
    """One entry per kind: kind, aliases, meaning, fields (name → default or "required")."""
    entries: list[dict[str, Any]] = []
    for kind, model in sorted(KINDS.items()):
        fields: dict[str, Any] = {}
        for fname, info in model.model_fields.items():
            if fname in ("kind", "name"):
                continue
            if info.default is PydanticUndefined and info.default_factory is None:
                fields[fname] = "required"
            elif info.default_factory is not None:
                fields[fname] = str(info.default_factory())  # type: ignore[call-arg]
            else:
                fields[fname] = info.default
        doc = (model.__doc__ or "").strip().splitlines()[0]
        aliases = sorted(a for a, k in KIND_ALIASES.items() if k == kind)
        entries.append({"kind": kind, "aliases": aliases, "meaning": doc, "fields": fields})
    return entries


def _fields_text(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}" if v == "required" else f"{k}={v}" for k, v in fields.items())


def kinds_view(fmt: Format) -> str | list[Any]:
    from convcalc.render.columns import Column
    from convcalc.render.text import text_table, to_csv, to_json

    entries = kind_catalog()
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

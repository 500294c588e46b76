"""Flatten reports into rows (dicts of raw values) that every renderer shares."""

from __future__ import annotations

from typing import Any

from convcalc.levels import collapse, net_rows
from convcalc.report import LayerReport

__all__ = ["collapse", "layer_rows", "net_rows", "top"]


def layer_rows(report: LayerReport, *, parts: bool = True) -> list[dict[str, Any]]:
    """The layer, then its parts (recursively), each with a dotted `path` and a `depth`."""
    rows: list[dict[str, Any]] = []

    def walk(r: LayerReport, path: str, depth: int) -> None:
        row = r.to_dict()
        row.pop("parts")
        row.update(path=path, depth=depth)
        rows.append(row)
        if parts:
            for p in r.parts:
                walk(p, f"{path}.{p.name or p.kind}", depth + 1)

    walk(report, report.name or report.kind, 0)
    return rows


def top(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The k rows with the most MACs, most first (file order among equals)."""
    return sorted(rows, key=lambda r: -r["macs"])[:k]

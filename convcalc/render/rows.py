"""Flatten reports into rows (dicts of raw values) that every renderer shares."""

from __future__ import annotations

from typing import Any

from convcalc import formulas as F
from convcalc.report import LayerReport, NetworkReport


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


def net_rows(report: NetworkReport) -> list[dict[str, Any]]:
    """Every layer row with its share of the network's MACs (an exact fraction, percent)."""
    total = report.totals()["macs"]
    rows = []
    for row in report.rows:
        data = row.to_dict()
        data["macs_share"] = F.percent(data["macs"], total)
        data["depth"] = 0
        rows.append(data)
    return rows


def collapse(rows: list[dict[str, Any]], depth: int, total_macs: int) -> list[dict[str, Any]]:
    """Merge consecutive rows that share their first `depth` path components into subtotals."""
    out: list[dict[str, Any]] = []
    for row in rows:
        parts = row["path"].split(".")
        key = ".".join(parts[:depth])
        if len(parts) <= depth or not out or out[-1].get("_group") != key:
            group = dict(row)
            if len(parts) > depth:
                group.update(path=key, kind="block", _group=key, parts=[],
                             memory=dict(row["memory"]), layers=1)
            out.append(group)
            continue
        group = out[-1]
        for k in ("params", "weight_params", "bias_params", "macs", "flops"):
            group[k] += row[k]
        for k in ("activation_elements", "access_cost", "weight_elements"):
            group["memory"][k] += row["memory"][k]
        group["memory"]["output_elements"] = row["memory"]["output_elements"]
        group.update(output=row["output"], receptive_field=row["receptive_field"],
                     layers=group["layers"] + 1)
    for group in out:
        group["macs_share"] = F.percent(group["macs"], total_macs)
        group.pop("_group", None)
    return out


def top(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The k rows with the most MACs, most first (file order among equals)."""
    return sorted(rows, key=lambda r: -r["macs"])[:k]

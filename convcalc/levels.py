"""A network's rows as plain dicts, and folded into levels: what `convcalc diff`, `--depth`
and the HTML report's stages are made of.

Each row is the layer's JSON with its share of the network's MACs (an exact percent) and its
path as a tuple (`_parts`); `collapse` merges the rows of a level into one subtotal with the
level's own output and receptive field, and with `--dtype`/`--device` its bytes and roofline
bound (times add; the level is as bound as most of its time). Raw values only: the renderers
format them.
"""

from __future__ import annotations

from typing import Any

from convcalc import formulas as F
from convcalc.report import NetworkReport, rf_to_dict


def net_rows(report: NetworkReport) -> list[dict[str, Any]]:
    """Every layer row with its share of the network's MACs (an exact fraction, percent)."""
    total = report.totals()["macs"]
    rows = []
    for row in report.rows:
        data = row.to_dict()
        data["macs_share"] = F.percent(data["macs"], total)
        data["depth"] = 0
        data["_parts"] = row.parts
        rows.append(data)
    return rows


def collapse(rows: list[dict[str, Any]], depth: int, report: NetworkReport) -> list[dict[str, Any]]:
    """Merge the rows of each level `depth` deep into one subtotal row that shows the level's
    own output and receptive field (a concat's, a residual's sum), not its last layer's.
    Depth 0 is the whole network as one row."""
    total_macs = report.totals()["macs"]
    if depth == 0:
        whole = {"path": report.name, "kind": "network", "input": report.input.to_dict(),
                 "output": report.output.to_dict(), "layers": len(rows),
                 "receptive_field": rf_to_dict(report.receptive_field), "parts": [],
                 **{k: sum(r[k] for r in rows) for k in SUMMED},
                 "memory": {k: sum(r["memory"][k] for r in rows) for k in MEMORY_SUMMED}}
        whole["memory"]["output_elements"] = report.output.elements
        whole["macs_share"] = F.percent(whole["macs"], total_macs)
        for k in OPTIONAL_SUMMED:
            if rows and k in rows[0]:
                values = [r[k] for r in rows]
                whole[k] = None if None in values else sum(values)
        if rows and "activation_bytes" in rows[0]:
            whole["activation_bytes"] = sum(r["activation_bytes"] for r in rows)
        if rows and "roofline" in rows[0]:
            roof = rows[0]["roofline"]
            for r in rows[1:]:
                roof = _add_rooflines(roof, r["roofline"])
            whole["roofline"] = roof
        return [whole]
    out: list[dict[str, Any]] = []
    current: tuple[str, ...] | None = None
    for row in rows:
        parts = row["_parts"]
        if len(parts) <= depth:
            out.append(row)
            current = None
            continue
        key = parts[:depth]
        if key != current:
            level = report.levels.get(key)
            group = dict(row)
            group.update(path=".".join(key), kind=level.label if level else "block",
                         parts=[], memory=dict(row["memory"]), layers=1)
            if level is not None:
                group.update(output=level.output.to_dict(),
                             receptive_field=rf_to_dict(level.receptive_field))
                group["memory"]["output_elements"] = level.output.elements
            out.append(group)
            current = key
            continue
        group = out[-1]
        for k in SUMMED:
            group[k] += row[k]
        if "activation_bytes" in row:
            group["activation_bytes"] += row["activation_bytes"]
        if "roofline" in row:
            group["roofline"] = _add_rooflines(group["roofline"], row["roofline"])
        for k in OPTIONAL_SUMMED:
            if k in row:
                group[k] = None if group[k] is None or row[k] is None else group[k] + row[k]
        for k in MEMORY_SUMMED:
            group["memory"][k] += row["memory"][k]
        group["layers"] += 1
    for group in out:
        group["macs_share"] = F.percent(group["macs"], total_macs)
    return out


SUMMED = ("params", "weight_params", "bias_params", "macs", "flops")


def _add_rooflines(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two rows' bounds as one level's: times add; the level is bound as most of its time."""
    from fractions import Fraction

    from convcalc.report import exact

    ta, tb = Fraction(a["time_s"]), Fraction(b["time_s"])
    memory = a.get("_memory_s", ta if a.get("bound") == "memory" else 0) + (
        tb if b.get("bound") == "memory" else 0)
    total = ta + tb
    return {"time_s": exact(total), "bound": "memory" if 2 * memory >= total else "compute",
            "_memory_s": memory, "intensity": None}


OPTIONAL_SUMMED = ("convention", "other_ops")
"""Added to a level's subtotal when the rows have them (a peer tool's count, other ops); None
(a tool that cannot count the network) stays None."""
MEMORY_SUMMED = ("activation_elements", "access_cost", "weight_elements")

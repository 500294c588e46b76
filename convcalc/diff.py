"""Two networks side by side (`convcalc diff`): totals, and the levels they share, with deltas.

Typical use: the same spec at two width multipliers or resolutions, or two designs of a stage.
Levels are matched by their path at a depth (`layer2`, `b5`); a level in one network only is
listed with nothing on the other side. Everything is exact; percentages are of the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcalc.report import NetworkReport, exact, rf_to_dict

COMPARED = ("params", "macs", "flops", "activation_elements")


@dataclass(frozen=True, slots=True)
class Diff:
    a: NetworkReport
    b: NetworkReport
    depth: int
    rows: tuple[dict[str, Any], ...]
    """One per level: path, kind, and for each side its output and counts (None if absent)."""

    def totals(self) -> dict[str, Any]:
        ta, tb = self.a.totals(), self.b.totals()
        return {k: {"a": ta[k], "b": tb[k], "delta": tb[k] - ta[k],
                    "ratio": exact(_ratio(tb[k], ta[k]))}
                for k in (*COMPARED, "layers")}

    def to_dict(self) -> dict[str, Any]:
        return {"a": {"name": self.a.name, "input": self.a.input.to_dict(),
                      "output": self.a.output.to_dict(),
                      "receptive_field": rf_to_dict(self.a.receptive_field)},
                "b": {"name": self.b.name, "input": self.b.input.to_dict(),
                      "output": self.b.output.to_dict(),
                      "receptive_field": rf_to_dict(self.b.receptive_field)},
                "depth": self.depth, "totals": self.totals(),
                "levels": [{k: exact(v) if k.startswith("ratio_") else v
                            for k, v in r.items() if not k.startswith("_")}
                           for r in self.rows]}


def _ratio(b: int, a: int) -> Any:
    from fractions import Fraction

    return Fraction(b, a) if a else None


def diff_networks(a: NetworkReport, b: NetworkReport, depth: int = 1) -> Diff:
    """Match the two networks' levels `depth` deep by path and compare their counts."""
    from convcalc.levels import collapse, net_rows

    def levels(report: NetworkReport) -> dict[str, dict[str, Any]]:
        return {r["path"]: r for r in collapse(net_rows(report), depth, report)}

    la, lb = levels(a), levels(b)
    order = list(la) + [p for p in lb if p not in la]
    rows = []
    for path in order:
        ra, rb = la.get(path), lb.get(path)
        row: dict[str, Any] = {"path": path, "kind": (ra or rb or {}).get("kind"),
                               "depth": 0, "a_output": ra and ra["output"],
                               "b_output": rb and rb["output"]}
        for key in ("params", "macs", "flops"):
            va = ra[key] if ra else None
            vb = rb[key] if rb else None
            row[f"a_{key}"], row[f"b_{key}"] = va, vb
            row[f"delta_{key}"] = (vb or 0) - (va or 0)
            row[f"ratio_{key}"] = _ratio(vb, va) if va is not None and vb is not None else None
        rows.append(row)
    return Diff(a, b, depth, tuple(rows))


def by_kind(report: NetworkReport, costing: Any = None) -> list[dict[str, Any]]:
    """The network's cost grouped by layer kind (composite layers by their parts: a dwsep's
    depthwise and pointwise count as such), most MACs first. With a `costing`
    (convcalc.hardware.costing) each kind also has its activation bytes and, with a device,
    the roofline bound of its layers: a composite's parts bounded as the separate kernels they
    are here (their intermediate written and read back), so the kinds can add up to more than
    the network's bound, which treats each composite as fused."""
    from convcalc import formulas as F
    from convcalc.hardware.roofline import RooflineTotal, layer_roofline
    from convcalc.report import exact

    device = costing.device if costing is not None else None
    groups: dict[str, dict[str, Any]] = {}
    times: dict[str, list[Any]] = {}
    total = report.totals()["macs"]
    for row in report.rows:
        for leaf in row.report.leaves():
            g = groups.setdefault(leaf.kind, {"kind": leaf.kind, "layers": 0, "params": 0,
                                              "macs": 0, "activation_elements": 0})
            g["layers"] += 1
            g["params"] += leaf.params
            g["macs"] += leaf.macs
            g["activation_elements"] += leaf.activation_elements
            if device is not None:
                times.setdefault(leaf.kind, []).append(layer_roofline(leaf, device,
                                                                      costing.dtype))
    out = sorted(groups.values(), key=lambda g: (-g["macs"], -g["params"], g["kind"]))
    for g in out:
        g["macs_share"] = F.percent(g["macs"], total)
        g["flops"] = 2 * g["macs"]
        if costing is not None:
            g["activation_bytes"] = g["activation_elements"] * costing.size
        if device is not None:
            kind = RooflineTotal(tuple(times[g["kind"]]))
            time = kind.time_s
            g["roofline"] = {"time_s": exact(time), "bound": "memory" if 2 * kind.time_by_bound()[
                "memory"] >= time else "compute"}
    return out

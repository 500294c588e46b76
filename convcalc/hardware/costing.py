"""Bytes and time for a report: what `--dtype` and `--device` add to every view.

`Costing` holds, for a network (or one layer), the dtype and its element size, parameter bytes,
activation bytes per row, the peak activation memory of inference (convcalc.graph's liveness:
each tensor alive until its last consumer), torchinfo's size lines, and with a device the
roofline bound per row and in total. The views read it; nothing here formats anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcalc.hardware.roofline import Roofline, RooflineTotal, dtype_bytes, layer_roofline
from convcalc.report import LayerReport, NetworkReport, exact

if TYPE_CHECKING:
    from collections.abc import Sequence

    from convcalc.conventions.torchinfo import Sizes
    from convcalc.graph import Node
    from convcalc.hardware.devices import Device


@dataclass(frozen=True, slots=True)
class Peak:
    """The peak activation memory of inference, in bytes at the report's batch: where it
    occurs (the row path, or a level's path and its merge: `layer1.0 (add)`) and the tensors
    alive there, largest first (what wrote each, and its bytes)."""

    bytes: int
    at: str
    alive: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"peak_activation_bytes": self.bytes, "peak_at": self.at,
                "peak_alive": [{"at": at, "bytes": n} for at, n in self.alive]}


@dataclass(frozen=True, slots=True)
class Costing:
    dtype: str
    size: int
    """Bytes per element."""
    device: Device | None
    rooflines: tuple[Roofline, ...]
    """One per row (empty without a device)."""
    peak: Peak | None = None
    """For a network or a layer (not for compare's variants)."""
    torchinfo: Sizes | None = None

    def row(self, index: int, report: LayerReport) -> dict[str, Any]:
        """The JSON fields a row gains: activation bytes, and the roofline with a device."""
        out: dict[str, Any] = {"activation_bytes": report.activation_elements * self.size,
                               "param_bytes": report.params * self.size}
        if self.rooflines:
            r = self.rooflines[index]
            out["roofline"] = {"intensity": exact(r.intensity), "bound": r.bound,
                               "time_s": exact(r.time_s), "bytes": r.traffic}
        return out

    def bound(self) -> RooflineTotal:
        """The rows' bounds together: their sum, split by which roof binds."""
        return RooflineTotal(self.rooflines)

    def totals(self, params: int) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "param_bytes": params * self.size}
        if self.peak is not None:
            out.update(self.peak.to_dict())
        if self.torchinfo is not None:
            out["torchinfo"] = self.torchinfo.to_dict()
        if self.device is not None:
            total = self.bound()
            out.update(device=self.device.key, roofline_time_s=exact(total.time_s),
                       roofline_memory_bound_s=exact(total.time_by_bound()["memory"]))
        return out


def costing(reports: list[LayerReport], dtype: str | None, device: Device | None) -> Costing | None:
    """The costing of these rows in `dtype` (fp32 when only a device is given) on `device`."""
    if dtype is None and device is None:
        return None
    chosen = "fp32" if dtype is None else dtype
    size = dtype_bytes(chosen)
    if device is not None:
        device.peak(chosen)  # a device without this dtype says so now, once
    lines = tuple(layer_roofline(r, device, chosen) for r in reports) if device else ()
    return Costing(chosen, size, device, lines)


def network_costing(report: NetworkReport, dtype: str | None,
                    device: Device | None) -> Costing | None:
    """The costing of a network: its rows', its peak activation memory and torchinfo's sizes."""
    from dataclasses import replace

    from convcalc.conventions.ops import has_rules, network_ops, unplaced_ops
    from convcalc.conventions.torchinfo import sizes
    from convcalc.graph import liveness, network_graph

    cost = costing([row.report for row in report.rows], dtype, device)
    if cost is None:
        return None
    scale = report.batch * cost.size
    live = liveness(network_graph(report))
    peak = Peak(live.peak * scale, _where(live.nodes, live.peak_index),
                tuple((a.node.name, a.elements * scale) for a in live.alive))
    params = sum(row.report.params for row in report.rows)
    if not has_rules(report):  # no torch calls known for a kind: no torchinfo sizes
        return replace(cost, peak=peak)
    ops = [*network_ops(report), unplaced_ops(report)]
    info = sizes(ops, report.input.elements, params, report.batch, cost.size)
    return replace(cost, peak=peak, torchinfo=info)


def _where(nodes: Sequence[Node], index: int) -> str:
    """A node's name; a merge of the top level (which has no path) also names the layer that
    ran just before it: `concat after up1.conv`."""
    node = nodes[index]
    if node.path or node.role == "layer":
        return node.name
    before = next((n.path for n in reversed(nodes[:index]) if n.role == "layer" and n.path),
                  None)
    return f"{node.kind} after {before}" if before else node.name


def layer_costing(spec: Any, report: LayerReport, dtype: str | None,
                  device: Device | None) -> Costing | None:
    """One layer's costing: as a network of one (its input and output alive together)."""
    if dtype is None and device is None:
        return None
    from dataclasses import replace

    from convcalc.conventions import layer_network

    net = layer_network(spec, report)
    batch = report.input_elements // report.input.elements if report.input.elements else 1
    return network_costing(replace(net, batch=max(batch, 1)), dtype, device)

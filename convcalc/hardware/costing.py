"""Bytes and time for a report: what `--dtype` and `--device` add to every view.

`Costing` holds, for a network (or one layer), the dtype and its element size, parameter bytes,
activation bytes per row, and with a device the roofline bound per row and in total. The
views read it; nothing here formats anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcalc.hardware.roofline import Roofline, dtype_bytes, layer_roofline
from convcalc.report import LayerReport, NetworkReport, exact

if TYPE_CHECKING:
    from convcalc.hardware.devices import Device


@dataclass(frozen=True, slots=True)
class Costing:
    dtype: str
    size: int
    """Bytes per element."""
    device: Device | None
    rooflines: tuple[Roofline, ...]
    """One per row (empty without a device)."""

    def row(self, index: int, report: LayerReport) -> dict[str, Any]:
        """The JSON fields a row gains: activation bytes, and the roofline with a device."""
        out: dict[str, Any] = {"activation_bytes": report.activation_elements * self.size,
                               "param_bytes": report.params * self.size}
        if self.rooflines:
            r = self.rooflines[index]
            out["roofline"] = {"intensity": exact(r.intensity), "bound": r.bound,
                               "time_s": exact(r.time_s), "bytes": r.traffic}
        return out

    def totals(self, params: int) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "param_bytes": params * self.size}
        if self.device is not None:
            total = sum((r.time_s for r in self.rooflines), Fraction(0))
            memory = sum((r.time_s for r in self.rooflines if r.bound == "memory"), Fraction(0))
            out.update(device=self.device.key, roofline_time_s=exact(total),
                       roofline_memory_bound_s=exact(memory))
        return out


def costing(reports: list[LayerReport], dtype: str | None, device: Device | None) -> Costing | None:
    """The costing of these rows in `dtype` (fp32 when only a device is given) on `device`."""
    if dtype is None and device is None:
        return None
    chosen = dtype or "fp32"
    size = dtype_bytes(chosen)
    if device is not None:
        device.peak(chosen)  # a device without this dtype says so now, once
    lines = tuple(layer_roofline(r, device, chosen) for r in reports) if device else ()
    return Costing(chosen, size, device, lines)


def network_costing(report: NetworkReport, dtype: str | None,
                    device: Device | None) -> Costing | None:
    return costing([row.report for row in report.rows], dtype, device)

"""The roofline time bound: pure functions over exact numbers.

A kernel that performs M multiply-accumulates and must move B bytes between memory and the chip
cannot finish before either roof allows (Williams, Waterman & Patterson, "Roofline: An
Insightful Visual Performance Model for Multicore Architectures", CACM 52(4), 2009):

    time ≥ max(2·M / peak_FLOPS, B / bandwidth) = max(M / peak_MACs, B / bandwidth)

B is the *minimal* traffic: every input activation read once, every weight read once, every
output activation written once (the "memory access cost" of ShuffleNet V2, Ma et al. 2018,
§2), times the dtype's size. The arithmetic intensity is M / B (MAC per byte); the layer is
memory-bound iff its intensity is below the device's ridge point peak_MACs / bandwidth.

This is a **lower bound, not a prediction**: real kernels lose time to launch overhead, cache
misses beyond the minimal traffic (an intermediate written and read back, write-allocate,
im2col), imperfect vectorisation and synchronisation. A network's bound is the sum of its
layers' bounds (layers run one after another); it stays a lower bound of the sum of the layer
times, and says nothing of fusion beyond each layer. Everything here is an exact int or
Fraction; nothing is measured, fitted or guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from convcalc.errors import SpecError
from convcalc.report import LayerReport, NetworkReport, exact
from convcalc.spec import suggest

if TYPE_CHECKING:
    from convcalc.hardware.devices import Device

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
"""Bytes per element: IEEE binary32 4, binary16 2, bfloat16 2, int8 1."""

Bound = Literal["compute", "memory"]


def dtype_bytes(dtype: str) -> int:
    """The size of one element of `dtype` in bytes (fp32 4, fp16 2, bf16 2, int8 1)."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise SpecError(f"--dtype: unknown dtype '{dtype}'{suggest(dtype, list(DTYPE_BYTES))}; "
                        f"one of: {', '.join(DTYPE_BYTES)}") from None


def traffic_bytes(input_elements: int, output_elements: int, weight_elements: int,
                  dtype: str) -> int:
    """Minimal bytes moved: (input + weights + output elements) × dtype size."""
    return (input_elements + output_elements + weight_elements) * dtype_bytes(dtype)


@dataclass(frozen=True, slots=True)
class Roofline:
    """One kernel's bound: MACs, bytes moved, the roofs, and which of them binds."""

    macs: int
    traffic: int
    """Bytes moved (minimal traffic)."""
    peak_macs_per_s: Fraction
    bandwidth: Fraction
    """Bytes per second."""

    @property
    def compute_s(self) -> Fraction:
        """2·MACs / peak FLOPS = MACs / peak MAC/s."""
        return self.macs / self.peak_macs_per_s

    @property
    def memory_s(self) -> Fraction:
        """bytes / bandwidth."""
        return self.traffic / self.bandwidth

    @property
    def time_s(self) -> Fraction:
        """The bound: max(compute_s, memory_s), exact."""
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> Bound:
        """"memory" when the memory roof is the higher one (intensity < ridge), else "compute"."""
        return "memory" if self.memory_s > self.compute_s else "compute"

    @property
    def intensity(self) -> Fraction | None:
        """Arithmetic intensity in MAC per byte (None when nothing is moved)."""
        return Fraction(self.macs, self.traffic) if self.traffic else None

    @property
    def ridge(self) -> Fraction:
        """The device's ridge point in MAC per byte: peak MAC/s / bandwidth."""
        return self.peak_macs_per_s / self.bandwidth

    def to_dict(self) -> dict[str, Any]:
        """Exact numbers as ints or "p/q" strings (as the rest of convcalc's JSON)."""
        return {
            "macs": self.macs, "bytes": self.traffic, "intensity": exact(self.intensity),
            "ridge": exact(self.ridge), "compute_s": exact(self.compute_s),
            "memory_s": exact(self.memory_s), "time_s": exact(self.time_s), "bound": self.bound,
        }


def roofline(macs: int, traffic: int, peak_macs_per_s: Fraction | int,
             bandwidth: Fraction | int) -> Roofline:
    """The bound of one kernel doing `macs` MACs and moving `traffic` bytes on the given roofs."""
    if macs < 0 or traffic < 0:
        raise ValueError(f"MACs and bytes are counts ≥ 0, got {macs} and {traffic}")
    if peak_macs_per_s <= 0 or bandwidth <= 0:
        raise ValueError(f"peak and bandwidth must be > 0, got {peak_macs_per_s} and {bandwidth}")
    return Roofline(macs, traffic, Fraction(peak_macs_per_s), Fraction(bandwidth))


def layer_roofline(report: LayerReport, device: Device, dtype: str, *,
                   batch: int = 1) -> Roofline:
    """A layer's bound on `device` in `dtype`: its MACs and its minimal traffic.

    Traffic = batch·(input + output elements) + weights (read once per batch), × dtype size.
    A composite layer (dwsep, spatial_sep, shuffle unit, octave) counts its outer input and
    output only, as if its parts were fused: the bound for any schedule of its parts.
    """
    if batch < 1:
        raise ValueError(f"batch must be ≥ 1, got {batch}")
    traffic = traffic_bytes(batch * report.input_elements, batch * report.output_elements,
                            report.weight_params + report.bias_params, dtype)
    return roofline(batch * report.macs, traffic, device.peak(dtype).macs_per_s,
                    device.bandwidth)


@dataclass(frozen=True, slots=True)
class RooflineTotal:
    """The bounds of layers run one after another; the total is their sum (a lower bound)."""

    layers: tuple[Roofline, ...]

    @property
    def time_s(self) -> Fraction:
        return sum((r.time_s for r in self.layers), Fraction(0))

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def traffic(self) -> int:
        return sum(r.traffic for r in self.layers)

    def time_by_bound(self) -> dict[Bound, Fraction]:
        """How much of the total comes from compute-bound and from memory-bound layers."""
        split: dict[Bound, Fraction] = {"compute": Fraction(0), "memory": Fraction(0)}
        for r in self.layers:
            split[r.bound] += r.time_s
        return split

    def to_dict(self) -> dict[str, Any]:
        split = self.time_by_bound()
        return {"macs": self.macs, "bytes": self.traffic, "time_s": exact(self.time_s),
                "compute_bound_s": exact(split["compute"]),
                "memory_bound_s": exact(split["memory"])}


def network_roofline(source: NetworkReport | Iterable[LayerReport], device: Device, dtype: str,
                     *, batch: int = 1) -> RooflineTotal:
    """The sum of per-layer bounds over a network's rows (or any sequence of layer reports)."""
    reports = ([row.report for row in source.rows] if isinstance(source, NetworkReport)
               else list(source))
    return RooflineTotal(tuple(layer_roofline(r, device, dtype, batch=batch) for r in reports))

"""Pooling: max, average, global and adaptive average. No parameters, no MACs."""

from __future__ import annotations

from typing import Literal

from convcalc import formulas as F
from convcalc.layers.base import (
    LayerSpec,
    NonNegAxes,
    PosAxes,
    axis_names,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import TapMap, check_phases
from convcalc.shapes import Shape


def pool_report(kind: str, name: str | None, shape: Shape, *, kernel: int | list[int],
                stride: int | list[int] | None, padding: int | list[int],
                dilation: int | list[int], ceil_mode: bool,
                input_covers_kernel: bool = False) -> LayerReport:
    """Output size by PyTorch's pooling rule; padding at most half the kernel (K//2).

    `input_covers_kernel`: also refuse an input smaller than the kernel before padding, as
    PyTorch's AvgPool3d does.
    """
    need_spatial(shape, kind)
    rank = shape.rank
    k = per_axis(kernel, rank, "kernel")
    s = per_axis(stride, rank, "stride") if stride is not None else k
    p = per_axis(padding, rank, "padding")
    d = per_axis(dilation, rank, "dilation")
    spatial: list[int] = []
    formulas: list[Formula] = []
    for ax, n_in, kk, ss, pp, dd in zip(axis_names(rank), shape.spatial, k, s, p, d, strict=True):
        keff = F.effective_kernel(kk, dd)
        if pp > kk // 2:
            raise fit_error("padding", f"padding={pp} is more than half the kernel ({kk}); "
                                       f"PyTorch allows at most {kk // 2}")
        if input_covers_kernel and n_in < kk:
            raise fit_error("kernel", f"input {ax} = {n_in} is smaller than the kernel ({kk}); "
                                      "PyTorch's 3-D average pooling needs input ≥ kernel")
        n = F.pool_output_length(n_in, kk, ss, pp, pp, dd, ceil_mode)
        if n < 1:
            raise fit_error("kernel", f"output {ax} would be {n}: padded input {n_in + 2 * pp} "
                                      f"is smaller than the effective kernel {keff}")
        rounding = "⌈" if ceil_mode else "⌊"
        closing = "⌉" if ceil_mode else "⌋"
        formulas.append(Formula(
            f"{ax}_out", f"{rounding}({ax}_in − K_eff + 2P)/S{closing} + 1",
            f"{rounding}({n_in} − {keff} + 2·{pp})/{ss}{closing} + 1", n))
        formulas.append(Formula(f"RF_{ax}", "r_in + (K_eff − 1)·j_in", f"1 + ({keff} − 1)·1",
                                keff))
        formulas.append(Formula(f"jump_{ax}", "j_in·S", f"1·{ss}", ss))
        spatial.append(n)
    taps = tuple(TapMap.forward(kk, ss, pp, dd) for kk, ss, pp, dd in zip(k, s, p, d, strict=True))
    from convcalc.layers.conv import floor_loss_warnings

    lost = floor_loss_warnings(axis_names(rank), shape.spatial, k, s, [(pp, pp) for pp in p], d,
                               ceil_mode)
    return leaf(kind, name, shape, Shape(shape.channels, tuple(spatial)), paths=((taps,),),
                formulas=formulas, warnings=lost)


class MaxPool(LayerSpec):
    """Max pooling (MaxPoolNd): stride defaults to the kernel; PyTorch's ceil_mode rule."""

    kind: Literal["maxpool"] = "maxpool"
    kernel: PosAxes
    stride: PosAxes | None = None
    padding: NonNegAxes = 0
    dilation: PosAxes = 1
    ceil_mode: bool = False

    def apply(self, shape: Shape) -> LayerReport:
        return pool_report(self.kind, self.name, shape, kernel=self.kernel, stride=self.stride,
                           padding=self.padding, dilation=self.dilation, ceil_mode=self.ceil_mode)


class AvgPool(LayerSpec):
    """Average pooling (AvgPoolNd): stride defaults to the kernel; PyTorch's ceil_mode rule."""

    kind: Literal["avgpool"] = "avgpool"
    kernel: PosAxes
    stride: PosAxes | None = None
    padding: NonNegAxes = 0
    ceil_mode: bool = False

    def apply(self, shape: Shape) -> LayerReport:
        return pool_report(self.kind, self.name, shape, kernel=self.kernel, stride=self.stride,
                           padding=self.padding, dilation=1, ceil_mode=self.ceil_mode,
                           input_covers_kernel=shape.rank == 3)


def adaptive_report(kind: str, name: str | None, shape: Shape,
                    size: int | list[int]) -> LayerReport:
    need_spatial(shape, kind)
    out = per_axis(size, shape.rank, "output_size")
    for o in out:
        check_phases(o, "an adaptive output size", "output_size")
    taps = tuple(TapMap.bins(n, F.adaptive_bins(n, o))
                 for n, o in zip(shape.spatial, out, strict=True))
    return leaf(kind, name, shape, Shape(shape.channels, out), paths=((taps,),))


class GlobalAvgPool(LayerSpec):
    """Global average pooling: every spatial axis to 1 (AdaptiveAvgPool to 1)."""

    kind: Literal["global_avgpool"] = "global_avgpool"

    def apply(self, shape: Shape) -> LayerReport:
        return adaptive_report(self.kind, self.name, shape, 1)


class AdaptiveAvgPool(LayerSpec):
    """Adaptive average pooling to `output_size`, with PyTorch's bins ⌊i·L/O⌋..⌈(i+1)·L/O⌉."""

    kind: Literal["adaptive_avgpool"] = "adaptive_avgpool"
    output_size: PosAxes = 1

    def apply(self, shape: Shape) -> LayerReport:
        return adaptive_report(self.kind, self.name, shape, self.output_size)

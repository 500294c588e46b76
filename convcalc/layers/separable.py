"""Depthwise-separable (depthwise K×K then pointwise 1×1) and spatially separable (K×1 then 1×K)."""

from __future__ import annotations

from typing import Literal

from convcalc import formulas as F
from convcalc.errors import ConvcalcError
from convcalc.layers.base import (
    Bias,
    LayerSpec,
    Padding,
    PosAxes,
    PosInt,
    axis_names,
    need_spatial,
    per_axis,
)
from convcalc.layers.composite import in_part, sequential_path
from convcalc.layers.conv import conv_report
from convcalc.report import Formula, LayerReport, composite
from convcalc.shapes import Shape


class DWSep(LayerSpec):
    """Depthwise-separable conv (MobileNet, Xception): depthwise K×K, then pointwise 1×1."""

    kind: Literal["dwsep"] = "dwsep"
    out: PosInt
    kernel: PosAxes
    stride: PosAxes = 1
    padding: Padding = 0
    dilation: PosAxes = 1
    multiplier: PosInt = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        try:
            dw = conv_report("depthwise", "depthwise", shape, out=shape.channels * self.multiplier,
                             kernel=self.kernel, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, groups=shape.channels, bias=self.bias)
        except ConvcalcError as e:
            raise in_part(e, "depthwise") from None
        pw = conv_report("pointwise", "pointwise", dw.output, out=self.out, kernel=1,
                         bias=self.bias)
        plain = conv_report("conv", "standard", shape, out=self.out, kernel=self.kernel,
                            stride=self.stride, padding=self.padding, dilation=self.dilation,
                            bias=self.bias)
        macs = dw.macs + pw.macs
        formulas = [
            Formula("standard conv MACs", "same out, kernel, stride, padding", next(
                f.substituted for f in plain.formulas if f.metric == "MACs"), plain.macs),
            Formula("MACs vs standard (%)", "100·(dw + pw)/standard = 100·(1/N + 1/K²) at "
                    "stride 1", f"100·{macs}/{plain.macs}", F.percent(macs, plain.macs)),
        ]
        return composite(self.kind, self.name, shape, pw.output, [dw, pw],
                         paths=(sequential_path([dw, pw]),), formulas=formulas)


class SpatialSep(LayerSpec):
    """Spatially separable conv: K×1 then 1×K (one 1-D conv per axis), `mid` channels between."""

    kind: Literal["spatial_sep"] = "spatial_sep"
    out: PosInt
    kernel: PosAxes
    mid: PosInt | None = None
    stride: PosAxes = 1
    padding: Padding = 0
    dilation: PosAxes = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        rank = shape.rank
        k = per_axis(self.kernel, rank, "kernel")
        s = per_axis(self.stride, rank, "stride")
        d = per_axis(self.dilation, rank, "dilation")
        pad = self.padding if isinstance(self.padding, str) else per_axis(self.padding, rank,
                                                                           "padding")
        mid = self.mid if self.mid is not None else self.out
        parts: list[LayerReport] = []
        current = shape
        names = axis_names(rank)
        for axis in range(rank):
            one = [1] * rank
            kernel = [k[axis] if i == axis else 1 for i in range(rank)]
            stride = [s[axis] if i == axis else 1 for i in range(rank)]
            dilation = [d[axis] if i == axis else 1 for i in range(rank)]
            padding: str | list[int] = pad if isinstance(pad, str) else [
                pad[axis] if i == axis else 0 for i in range(rank)]
            out = self.out if axis == rank - 1 else mid
            label = f"{'×'.join(str(v) for v in kernel)} ({names[axis]})"
            try:
                part = conv_report("conv", label, current, out=out, kernel=kernel,
                                   stride=stride, padding=padding, dilation=dilation or one,
                                   bias=self.bias)
            except ConvcalcError as e:
                raise in_part(e, label) from None
            parts.append(part)
            current = part.output
        return composite(self.kind, self.name, shape, current, parts,
                         paths=(sequential_path(parts),))

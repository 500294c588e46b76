"""Depthwise-separable (depthwise K×K then pointwise 1×1) and spatially separable (K×1 then 1×K)."""

from __future__ import annotations

from typing import Literal

from convcalc import formulas as F
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
from convcalc.layers.composite import Step, run_parts, sequential_path
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
        dw, pw = run_parts(shape, [
            ("depthwise", lambda s: conv_report(
                "depthwise", "depthwise", s, out=s.channels * self.multiplier,
                kernel=self.kernel, stride=self.stride, padding=self.padding,
                dilation=self.dilation, groups=s.channels, bias=self.bias)),
            ("pointwise", lambda s: conv_report("pointwise", "pointwise", s, out=self.out,
                                                kernel=1, bias=self.bias)),
        ])
        plain = conv_report("conv", "standard", shape, out=self.out, kernel=self.kernel,
                            stride=self.stride, padding=self.padding, dilation=self.dilation,
                            bias=self.bias)
        macs = dw.macs + pw.macs
        ks = per_axis(self.kernel, shape.rank, "kernel") if shape.rank else (1,)
        k_text = f"{ks[0]}²" if len(set(ks)) == 1 and len(ks) == 2 else "·".join(map(str, ks))
        formulas = [
            Formula("standard conv MACs", "same out, kernel, stride, padding", next(
                f.substituted for f in plain.formulas if f.metric == "MACs"), plain.macs),
            Formula("MACs vs standard (%)", "100·(dw + pw)/standard",
                    f"100·{macs:,}/{plain.macs:,}", F.percent(macs, plain.macs)),
            Formula("closed form (%)", "100·(1/N + 1/K²) (MobileNet §3.1; exact at stride 1 "
                    "with size-keeping padding)", f"100·(1/{self.out} + 1/{k_text})",
                    100 * F.dwsep_macs_ratio(self.out, ks) if self.multiplier == 1
                    else F.percent(macs, plain.macs)),
        ]
        return composite(self.kind, self.name, shape, pw.output, [dw, pw],
                         paths=(sequential_path([dw, pw]),), formulas=formulas)


class SpatialSep(LayerSpec):
    """Spatially separable conv: K×1 then 1×K (one 1-D conv per axis), `mid` channels between.

    `mid` defaults to min(C_in, out): then the pair always costs less than the K×K conv it
    factorises (the documents' single-channel case has mid = C_in = 1)."""

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
        mid = self.mid if self.mid is not None else min(shape.channels, self.out)
        steps: list[Step] = []
        for axis in range(rank):
            steps.append(self._one_axis(axis, rank, k, s, d, pad, mid))
        parts = run_parts(shape, steps)
        current = parts[-1].output
        return composite(self.kind, self.name, shape, current, parts,
                         paths=(sequential_path(parts),))

    def _one_axis(self, axis: int, rank: int, k: tuple[int, ...], s: tuple[int, ...],
                  d: tuple[int, ...], pad: str | tuple[int, ...], mid: int) -> Step:
        """The 1-D conv along `axis` (K×1 for H, 1×K for W): kernel, stride and dilation there."""

        def along(v: tuple[int, ...]) -> list[int]:
            return [v[axis] if i == axis else 1 for i in range(rank)]

        padding: str | list[int] = pad if isinstance(pad, str) else [
            pad[axis] if i == axis else 0 for i in range(rank)]
        label = f"{'×'.join(map(str, along(k)))} ({axis_names(rank)[axis]})"

        def step(current: Shape) -> LayerReport:
            return conv_report("conv", label, current, out=self.out if axis == rank - 1 else mid,
                               kernel=along(k), stride=along(s), padding=padding,
                               dilation=along(d), bias=self.bias)

        return label, step

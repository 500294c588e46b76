"""ShuffleNet unit: pointwise group conv, channel shuffle, depthwise K×K, pointwise group conv."""

from __future__ import annotations

from typing import Literal

from convcalc.layers.base import Bias, LayerSpec, PosAxes, PosInt, check_divides, fit_error
from convcalc.layers.composite import Step, run_parts, sequential_path
from convcalc.layers.conv import conv_report
from convcalc.layers.simple import Shuffle
from convcalc.report import LayerReport, composite
from convcalc.shapes import Shape


class ShuffleUnit(LayerSpec):
    """ShuffleNet V1 unit: 1×1 GConv → shuffle → K×K depthwise → 1×1 GConv (Zhang et al. 2018).

    `mid` defaults to out/4 rounded down to a multiple of `groups`, as in the paper's bottleneck.
    """

    kind: Literal["shuffle_unit"] = "shuffle_unit"
    out: PosInt
    groups: PosInt = 3
    kernel: PosAxes = 3
    stride: PosAxes = 1
    mid: PosInt | None = None
    bias: Bias = False

    def apply(self, shape: Shape) -> LayerReport:
        g = self.groups
        mid = self.mid if self.mid is not None else max(g, self.out // 4 // g * g)
        check_divides(g, shape.channels, "groups", "input channels")
        check_divides(g, mid, "mid", "bottleneck channels")
        check_divides(g, self.out, "groups", "output channels")
        ks = [self.kernel] if isinstance(self.kernel, int) else self.kernel
        if any(k % 2 == 0 for k in ks):
            raise fit_error("kernel", f"kernel={self.kernel}: the depthwise step pads K//2 and "
                                      "needs an odd kernel")
        padding: int | list[int] = (self.kernel // 2 if isinstance(self.kernel, int)
                                    else [k // 2 for k in self.kernel])
        steps: list[Step] = [
            ("gconv1", lambda s: conv_report("pointwise_group", "gconv1", s, out=mid, kernel=1,
                                             groups=g, bias=self.bias)),
            ("shuffle", lambda s: Shuffle(groups=g, name="shuffle").apply(s)),
            ("depthwise", lambda s: conv_report("depthwise", "depthwise", s, out=mid,
                                                kernel=self.kernel, stride=self.stride,
                                                padding=padding, groups=mid, bias=self.bias)),
            ("gconv2", lambda s: conv_report("pointwise_group", "gconv2", s, out=self.out,
                                             kernel=1, groups=g, bias=self.bias)),
        ]
        parts = run_parts(shape, steps)
        return composite(self.kind, self.name, shape, parts[-1].output, parts,
                         paths=(sequential_path(parts),))

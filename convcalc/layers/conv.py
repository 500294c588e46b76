"""Standard convolution and the named kinds that are thin over it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import model_validator

from convcalc import formulas as F
from convcalc.layers.base import (
    Bias,
    GroupCount,
    LayerSpec,
    Padding,
    PosAxes,
    PosInt,
    axis_names,
    check_divides,
    dot,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import TapMap
from convcalc.shapes import Shape


def conv_report(kind: str, name: str | None, shape: Shape, *, out: int,
                kernel: int | list[int], stride: int | list[int] = 1,
                padding: int | list[int] | str = 0, dilation: int | list[int] = 1,
                groups: int = 1, bias: bool = True) -> LayerReport:
    """Analyse a (grouped, dilated, strided) convolution exactly as PyTorch's ConvNd does."""
    need_spatial(shape, kind)
    rank = shape.rank
    k = per_axis(kernel, rank, "kernel")
    s = per_axis(stride, rank, "stride")
    d = per_axis(dilation, rank, "dilation")
    check_divides(groups, shape.channels, "groups", "input channels")
    check_divides(groups, out, "groups", "output channels")
    if padding == "same":
        if any(v != 1 for v in s):
            raise fit_error("padding", "padding='same' needs stride 1 (PyTorch refuses "
                                       f"strided 'same'), got stride={list(s)}")
        pads = [F.same_padding(kk, dd) for kk, dd in zip(k, d, strict=True)]
    elif padding == "valid":
        pads = [(0, 0)] * rank
    else:
        assert not isinstance(padding, str)
        pads = [(p, p) for p in per_axis(padding, rank, "padding")]
    names = axis_names(rank)
    spatial: list[int] = []
    for ax, length, kk, ss, (pl, pr), dd in zip(names, shape.spatial, k, s, pads, d, strict=True):
        n = F.conv_output_length(length, kk, ss, pl, pr, dd)
        if n < 1:
            keff = F.effective_kernel(kk, dd)
            raise fit_error("kernel", f"output {ax} would be {n}: padded input {length}+{pl}+{pr}"
                                      f" = {length + pl + pr} is smaller than the effective "
                                      f"kernel {keff} (D·(K−1)+1); need padded input ≥ kernel")
        spatial.append(n)
    output = Shape(out, tuple(spatial))
    cin_g = shape.channels // groups
    weights = F.conv_weight_params(shape.channels, out, groups, k)
    macs = F.conv_macs(shape.channels, out, groups, k, spatial)

    def explain() -> list[Formula]:
        formulas: list[Formula] = []
        for ax, length, kk, ss, (pl, pr), dd, n in zip(names, shape.spatial, k, s, pads, d,
                                                       spatial, strict=True):
            keff = F.effective_kernel(kk, dd)
            pad_text = f"2·{pl}" if pl == pr else f"{pl} + {pr}"
            formulas.append(Formula(
                f"{ax}_out", f"⌊({ax}_in − K_eff + 2P)/S⌋ + 1"
                + (", K_eff = D·(K−1)+1" if dd > 1 else ""),
                f"⌊({length} − {keff} + {pad_text})/{ss}⌋ + 1", n))
        ksym = "·".join(f"K_{a.lower()}" for a in names)
        osym = "·".join(f"{a}_out" for a in names)
        return [
            *formulas,
            Formula("weights", f"{ksym}·(C_in/G)·C_out", dot([*k, cin_g, out]), weights),
            Formula("bias", "C_out" if bias else "0 (no bias)", str(out if bias else 0),
                    out if bias else 0),
            Formula("MACs", f"{ksym}·(C_in/G)·C_out·{osym}", dot([*k, cin_g, out, *spatial]),
                    macs),
            Formula("FLOPs", "2·MACs", f"2·{macs}", 2 * macs),
            *rf_formulas(names, k, s, d),
        ]

    taps = tuple(TapMap.forward(kk, ss, pl, dd)
                 for kk, ss, (pl, _), dd in zip(k, s, pads, d, strict=True))
    lost = floor_loss_warnings(names, shape.spatial, k, s, pads, d, False)
    return leaf(kind, name, shape, output, weight_params=weights,
                bias_params=out if bias else 0, macs=macs, paths=((taps,),), formulas=explain,
                warnings=lost)


def rf_formulas(names: Sequence[str], k: Sequence[int], s: Sequence[int],
                d: Sequence[int]) -> list[Formula]:
    """Distill's recurrence for one layer on its own (r_in = j_in = 1), per axis."""
    out = []
    for ax, kk, ss, dd in zip(names, k, s, d, strict=True):
        keff = F.effective_kernel(kk, dd)
        if dd > 1:
            out.append(Formula(f"K_eff_{ax}", "D·(K − 1) + 1", f"{dd}·({kk} − 1) + 1", keff))
        out.append(Formula(f"RF_{ax}", "r_in + (K_eff − 1)·j_in", f"1 + ({keff} − 1)·1", keff))
        out.append(Formula(f"jump_{ax}", "j_in·S", f"1·{ss}", ss))
    return out


def floor_loss_warnings(names: Sequence[str], spatial: Sequence[int], k: Sequence[int],
                        s: Sequence[int], pads: Sequence[tuple[int, int]], d: Sequence[int],
                        ceil_mode: bool) -> list[str]:
    """One line per axis whose last input pixels no window reads (⌊·⌋ drops the remainder)."""
    if all(ss == 1 for ss in s):
        return []  # at stride 1 every window position is taken: nothing is past the last one
    found: dict[tuple[int, int, int, int, int, int], list[str]] = {}
    for ax, length, kk, ss, (pl, pr), dd in zip(names, spatial, k, s, pads, d, strict=True):
        n = F.floor_loss(length, kk, ss, pl, pr, dd, ceil_mode)
        if n:
            found.setdefault((n, length, kk, ss, pl, pr), []).append(ax)
    out = []
    for (n, length, kk, ss, pl, pr), axes in found.items():
        out.append(f"⌊·⌋ leaves the last {n} input {'pixel' if n == 1 else 'pixels'} of "
                   f"{' and '.join(axes)} ({length}) unread (kernel {kk}, stride {ss}, padding "
                   f"{pl}{'' if pl == pr else f'+{pr}'}); padding or a size that fits keeps them")
    return out


class Conv(LayerSpec):
    """Standard convolution (ConvNd): out channels, kernel, stride, padding, dilation, groups."""

    kind: Literal["conv"] = "conv"
    out: PosInt
    kernel: PosAxes
    stride: PosAxes = 1
    padding: Padding = 0
    dilation: PosAxes = 1
    groups: PosInt = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=self.out, kernel=self.kernel,
                           stride=self.stride, padding=self.padding, dilation=self.dilation,
                           groups=self.groups, bias=self.bias)


class Pointwise(LayerSpec):
    """Pointwise 1×1 convolution: mixes channels, sees one pixel."""

    kind: Literal["pointwise"] = "pointwise"
    out: PosInt
    stride: PosAxes = 1
    groups: PosInt = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=self.out, kernel=1,
                           stride=self.stride, groups=self.groups, bias=self.bias)


class Grouped(LayerSpec):
    """Grouped convolution (AlexNet, ResNeXt): params and MACs divided by groups (> 1)."""

    kind: Literal["grouped"] = "grouped"
    out: PosInt
    kernel: PosAxes
    groups: GroupCount
    stride: PosAxes = 1
    padding: Padding = 0
    dilation: PosAxes = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=self.out, kernel=self.kernel,
                           stride=self.stride, padding=self.padding, dilation=self.dilation,
                           groups=self.groups, bias=self.bias)


class Depthwise(LayerSpec):
    """Depthwise convolution: groups = C_in, `multiplier` filters per input channel."""

    kind: Literal["depthwise"] = "depthwise"
    kernel: PosAxes
    multiplier: PosInt = 1
    stride: PosAxes = 1
    padding: Padding = 0
    dilation: PosAxes = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=shape.channels * self.multiplier,
                           kernel=self.kernel, stride=self.stride, padding=self.padding,
                           dilation=self.dilation, groups=shape.channels, bias=self.bias)


class Dilated(LayerSpec):
    """Dilated (atrous) convolution: D−1 holes between taps, field D·(K−1)+1 with K weights."""

    kind: Literal["dilated"] = "dilated"
    out: PosInt
    kernel: PosAxes
    dilation: PosAxes = 2
    stride: PosAxes = 1
    padding: Padding = 0
    groups: PosInt = 1
    bias: Bias = True

    @model_validator(mode="after")
    def _dilation_above_one(self) -> Dilated:
        values = [self.dilation] if isinstance(self.dilation, int) else self.dilation
        if all(v == 1 for v in values):
            raise ValueError(f"dilation={self.dilation}: dilated needs dilation ≥ 2 on some "
                             "axis (use conv for dilation 1)")
        return self

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=self.out, kernel=self.kernel,
                           stride=self.stride, padding=self.padding, dilation=self.dilation,
                           groups=self.groups, bias=self.bias)


class PointwiseGroup(LayerSpec):
    """Pointwise group convolution (ShuffleNet): 1×1 split into groups to cut its cost."""

    kind: Literal["pointwise_group"] = "pointwise_group"
    out: PosInt
    groups: GroupCount
    stride: PosAxes = 1
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        return conv_report(self.kind, self.name, shape, out=self.out, kernel=1,
                           stride=self.stride, groups=self.groups, bias=self.bias)

"""Layers that are not convolutions: linear, flatten, batch norm, activations, upsample, shuffle."""

from __future__ import annotations

from typing import Literal

from convcalc import formulas as F
from convcalc.layers.base import (
    Bias,
    LayerSpec,
    PosAxes,
    PosInt,
    check_divides,
    dot,
    need_spatial,
    per_axis,
)
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import Path, TapMap, check_phases
from convcalc.shapes import Shape


def _whole_input(shape: Shape) -> tuple[Path, ...]:
    """Every output sees the whole input along every axis."""
    return (((tuple(TapMap.bins(n, [(0, n)]) for n in shape.spatial)),),)


class Linear(LayerSpec):
    """Fully connected layer over all C·∏spatial input features (flattens implicitly)."""

    kind: Literal["linear"] = "linear"
    out: PosInt
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        features = shape.elements
        weights = F.linear_macs(features, self.out)
        bias = self.out if self.bias else 0
        formulas = [
            Formula("weights", "in·out", dot([features, self.out]), weights),
            Formula("bias", "out" if self.bias else "0 (no bias)", str(bias), bias),
            Formula("MACs", "in·out", dot([features, self.out]), weights),
            Formula("FLOPs", "2·MACs", f"2·{weights}", 2 * weights),
        ]
        return leaf(self.kind, self.name, shape, Shape(self.out, ()), weight_params=weights,
                    bias_params=bias, macs=weights, paths=_whole_input(shape), formulas=formulas)


class Flatten(LayerSpec):
    """Flatten to a vector of C·∏spatial features."""

    kind: Literal["flatten"] = "flatten"

    def apply(self, shape: Shape) -> LayerReport:
        return leaf(self.kind, self.name, shape, Shape(shape.elements, ()),
                    paths=_whole_input(shape))


class BatchNorm(LayerSpec):
    """Batch normalisation: 2·C learnable parameters (γ, β); running stats are buffers."""

    kind: Literal["batchnorm"] = "batchnorm"
    affine: bool = True

    def apply(self, shape: Shape) -> LayerReport:
        c = shape.channels if self.affine else 0
        return leaf(self.kind, self.name, shape, shape, weight_params=c, bias_params=c,
                    paths=(), formulas=[Formula("params", "2·C (γ and β)", f"2·{c}", 2 * c)])


class Activation(LayerSpec):
    """Elementwise activation: no parameters, no MACs, shape unchanged."""

    kind: Literal["relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
                  "leaky_relu", "softmax", "identity"]  # = layers.ACTIVATIONS

    def apply(self, shape: Shape) -> LayerReport:
        return leaf(self.kind, self.name, shape, shape, paths=())


class Upsample(LayerSpec):
    """Upsample by an integer `scale` per axis; `mode` nearest or (bi/tri)linear."""

    kind: Literal["upsample"] = "upsample"
    scale: PosAxes = 2
    mode: Literal["nearest", "linear", "bilinear", "trilinear"] = "nearest"

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        scales = per_axis(self.scale, shape.rank, "scale")
        output = Shape(shape.channels, tuple(n * s for n, s in zip(shape.spatial, scales,
                                                                    strict=True)))
        for s in scales:
            check_phases(s, "an upsampling scale", "scale")
        return leaf(self.kind, self.name, shape, output,
                    paths=((resample_taps(self.mode, shape.spatial, scales),),))


def resample_taps(mode: str, sizes: tuple[int, ...], scales: tuple[int, ...]
                  ) -> tuple[TapMap, ...]:
    """Each axis' tap map of an upsampling by an integer scale. An axis of length 1 (a pooled
    map, ASPP's image branch) is read by every output position: a broadcast, whatever the mode
    (interpolation clamps at the border, so no neighbour beyond the one pixel is read)."""
    out: list[TapMap] = []
    for n, s in zip(sizes, scales, strict=True):
        if n == 1 and s > 1:
            out.append(TapMap.whole(1))
        elif mode == "nearest":
            out.append(TapMap.nearest(s))
        else:
            out.append(TapMap.bilinear(s, [F.bilinear_taps(s, r) for r in range(s)]))
    return tuple(out)


class Shuffle(LayerSpec):
    """Channel shuffle (ShuffleNet): reshape to G×(C/G), transpose, flatten; free."""

    kind: Literal["shuffle"] = "shuffle"
    groups: PosInt

    def apply(self, shape: Shape) -> LayerReport:
        check_divides(self.groups, shape.channels, "groups", "channels")
        g, c = self.groups, shape.channels
        return leaf(self.kind, self.name, shape, shape, paths=(), formulas=[
            Formula("shuffle", "reshape C to G×(C/G), transpose to (C/G)×G, flatten",
                    f"{c} → {g}×{c // g} → {c // g}×{g} → {c}", c),
            Formula("params", "0 (a permutation of the channels)", "0", 0),
            Formula("MACs", "0 (it moves values, multiplies none)", "0", 0)])

"""Layers that are not convolutions: linear, flatten, batch norm, activations, upsample, shuffle."""

from __future__ import annotations

from fractions import Fraction
from math import floor, gcd
from typing import Literal

from pydantic import model_validator

from convcalc import formulas as F
from convcalc.layers.base import (
    Bias,
    LayerSpec,
    PosAxes,
    PosInt,
    check_divides,
    dot,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import Path, Progression, TapMap, check_phases
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
    """Resample by an integer `scale` per axis, or to a `size` (`520x520`, a number per axis):
    `mode` nearest or (bi/tri)linear, as F.interpolate (align_corners=False). No parameters and
    no MACs (FlopCounterMode counts none)."""

    kind: Literal["upsample"] = "upsample"
    scale: PosAxes = 2
    size: PosAxes | str | None = None
    """The output's spatial size: `520x520` (text), 520 (every axis) or [520, 520]."""
    mode: Literal["nearest", "linear", "bilinear", "trilinear"] = "nearest"

    @model_validator(mode="after")
    def _one_target(self) -> Upsample:
        if "scale" in self.model_fields_set and self.size is not None:
            raise ValueError("size=…: give scale or size, not both")
        if isinstance(self.size, str):
            parse_size(self.size)
        return self

    def target(self, shape: Shape) -> tuple[int, ...]:
        """The output's spatial size on an input of `shape`."""
        if self.size is None:
            scales = per_axis(self.scale, shape.rank, "scale")
            return tuple(n * s for n, s in zip(shape.spatial, scales, strict=True))
        size = parse_size(self.size) if isinstance(self.size, str) else self.size
        if isinstance(size, tuple) and len(size) != shape.rank:
            raise fit_error("size", f"size {self.size} has {len(size)} axes but the input has "
                                    f"{shape.rank} spatial axes")
        return per_axis(size if isinstance(size, int) else list(size), shape.rank, "size")

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        sizes = self.target(shape)
        output = Shape(shape.channels, sizes)
        taps = tuple(resize_taps(self.mode, n, m) for n, m in zip(shape.spatial, sizes,
                                                                  strict=True))
        formulas = [Formula("output", "size, or input·scale per axis",
                            "×".join(map(str, sizes)), output.elements),
                    Formula("MACs", "0 (FlopCounterMode counts no interpolation)", "0", 0)]
        return leaf(self.kind, self.name, shape, output, paths=((taps,),), formulas=formulas)


def parse_size(text: str) -> tuple[int, ...]:
    """`520x520` → (520, 520): the spatial sizes of a resize target."""
    parts = text.strip().replace("×", "x").split("x")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and p.isascii() and int(p) >= 1
                                           and len(p) <= 18 for p in parts):
        raise ValueError(f"size {text!r}: write one whole number per spatial axis, such as "
                         "520x520")
    return tuple(int(p) for p in parts)


def resize_taps(mode: str, n_in: int, n_out: int) -> TapMap:
    """One axis' tap map of a resize from n_in to n_out positions (F.interpolate,
    align_corners=False; borders ignored as everywhere). With p/q = n_out/n_in in lowest terms,
    output q'·p + r reads inputs q'·q + c: nearest ⌊r·q/p⌋; linear the floor of
    (r + ½)·q/p − ½ and, unless that is whole, the next one. A 1-long axis is a broadcast."""
    if n_in == 1 and n_out > 1:
        return TapMap.whole(1)
    g = gcd(n_in, n_out)
    p, q = n_out // g, n_in // g
    check_phases(p, "a resize's period (output size / gcd of the sizes)", "size")
    if q == 1:
        return resample_taps(mode, (n_in,), (p,))[0]
    phases: list[tuple[Progression, ...]] = []
    for r in range(p):
        if mode == "nearest":
            phases.append((Progression(r * q // p, 1, 1),))
        else:
            source = Fraction((2 * r + 1) * q - p, 2 * p)
            low = floor(source)
            phases.append((Progression(low, 1, 1 if source == low else 2),))
    return TapMap(q, p, tuple(phases))


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

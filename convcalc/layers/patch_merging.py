"""Swin's patch merging: each 2×2 block of positions to one of 4·C channels (space to depth),
LayerNorm, then a linear 4C → 2C without bias (Swin V2: the linear, then LayerNorm(2C))."""

from __future__ import annotations

from typing import Literal

from convcalc.layers.base import Bias, LayerSpec, PosInt, fit_error
from convcalc.layers.mlp import token_linear
from convcalc.report import Formula, LayerReport, composite, leaf
from convcalc.rf import TapMap
from convcalc.shapes import Shape


class PatchMerging(LayerSpec):
    """Space to depth by 2 on each axis (the map padded to even sizes first, as torchvision
    does: ⌈H/2⌉×⌈W/2⌉×4C), LayerNorm over the 4C channels, linear 4C → `out` (default 2C).

    Params 2·4C (norm) + 4C·out (+ out with `bias`); MACs ⌈H/2⌉·⌈W/2⌉·4C·out. Each output sees a
    2×2 block (a 2×2 stride-2 window). `norm: after` is Swin V2's PatchMergingV2: the linear
    first, then LayerNorm over its `out` channels (2·out params)."""

    kind: Literal["patch_merging"] = "patch_merging"
    out: PosInt | None = None
    bias: Bias = False
    norm: Literal["before", "after"] = "before"

    def apply(self, shape: Shape) -> LayerReport:
        if shape.rank != 2:
            raise fit_error("input", f"patch_merging needs a map H×W×C, got "
                                     f"{shape.channels_last()}")
        c = shape.channels
        half = tuple(-(-n // 2) for n in shape.spatial)
        stacked = Shape(4 * c, half)
        s2d = leaf("space_to_depth", "space_to_depth", shape, stacked,
                   paths=(((TapMap.forward(2, 2, 0, 1),) * 2,),), formulas=[
                       Formula("output", "⌈H/2⌉×⌈W/2⌉×4C",
                               f"{half[0]}×{half[1]}×4·{c}", stacked.elements)])
        out = self.out if self.out is not None else 2 * c
        if self.norm == "after":
            reduction = token_linear("reduction", stacked, out, self.bias)
            norm = _norm(reduction.output, "out")
            return composite(self.kind, self.name, shape, norm.output, [s2d, reduction, norm],
                             paths=s2d.rf_paths)
        norm = _norm(stacked, "4C")
        reduction = token_linear("reduction", stacked, out, self.bias)
        return composite(self.kind, self.name, shape, reduction.output, [s2d, norm, reduction],
                         paths=s2d.rf_paths)


def _norm(shape: Shape, symbol: str) -> LayerReport:
    """LayerNorm over the channels at each position: γ and β, one per channel."""
    c = shape.channels
    return leaf("layernorm", "norm", shape, shape, weight_params=c, bias_params=c, formulas=[
        Formula("params", f"{symbol} (γ) + {symbol} (β)", f"{c} + {c}", 2 * c)])

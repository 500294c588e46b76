"""Swin's patch merging: each 2×2 block of positions to one of 4·C channels (space to depth),
LayerNorm, then a linear 4C → 2C without bias."""

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

    Params 2·4C (norm; 2·out with `norm: after`) + 4C·out (+ out with `bias`); MACs
    ⌈H/2⌉·⌈W/2⌉·4C·out. Each output sees a 2×2 block (a 2×2 stride-2 window)."""

    kind: Literal["patch_merging"] = "patch_merging"
    out: PosInt | None = None
    bias: Bias = False
    norm: Literal["before", "after"] = "before"
    """LayerNorm over the 4C channels before the reduction, or over its output after it
    (Swin V2's PatchMergingV2)."""

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
        reduction = token_linear("reduction", stacked, out, self.bias)
        normed = stacked if self.norm == "before" else reduction.output
        width = normed.channels
        norm = leaf("layernorm", "norm", normed, normed, weight_params=width,
                    bias_params=width, formulas=[
                        Formula("params", "N (γ) + N (β), N = 4C before, out after",
                                f"{width} + {width}", 2 * width)])
        parts = [s2d, norm, reduction] if self.norm == "before" else [s2d, reduction, norm]
        return composite(self.kind, self.name, shape, reduction.output, parts,
                         paths=s2d.rf_paths)

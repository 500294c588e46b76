"""Learned token parameters: the class token and the learned positional embedding (ViT)."""

from __future__ import annotations

from typing import Literal

from convcalc.layers.base import LayerSpec, PosInt, fit_error
from convcalc.report import Formula, LayerReport, leaf
from convcalc.shapes import Shape


class ClassToken(LayerSpec):
    """Prepend `count` learned tokens to a sequence: L×C → (L + count)×C; count·C parameters,
    no MACs (ViT's `class_token`, concatenated before the patches)."""

    kind: Literal["class_token"] = "class_token"
    count: PosInt = 1

    def apply(self, shape: Shape) -> LayerReport:
        if shape.rank != 1:
            raise fit_error("input", f"class_token needs a token sequence (L×C; write "
                                     f"to_tokens first), got {shape.channels_last()}")
        c, n = shape.channels, self.count
        out = Shape(c, (shape.spatial[0] + n,))
        return leaf(self.kind, self.name, shape, out, weight_params=n * c, formulas=[
            Formula("tokens", "L + count", f"{shape.spatial[0]} + {n}", out.spatial[0]),
            Formula("params", "count·C", f"{n}·{c}", n * c),
            Formula("MACs", "0 (a concatenation)", "0", 0)])


class PosEmbedding(LayerSpec):
    """Add a learned positional table, one C-vector per position: ∏spatial·C parameters, no
    MACs (ViT's `pos_embedding` over L tokens; the add is element-wise)."""

    kind: Literal["pos_embedding"] = "pos_embedding"

    def apply(self, shape: Shape) -> LayerReport:
        if shape.rank == 0:
            raise fit_error("input", f"pos_embedding needs positions (L×C or a map), got a "
                                     f"vector of {shape.channels}")
        positions = shape.elements // shape.channels
        table = shape.elements
        return leaf(self.kind, self.name, shape, shape, weight_params=table,
                    input_elements=shape.elements + table, formulas=[
                        Formula("params", "positions·C", f"{positions}·{shape.channels}", table),
                        Formula("MACs", "0 (an element-wise add)", "0", 0)])

"""Shape steps between feature maps and token sequences: explicit layers that cost nothing.

A sequence of L tokens of C features is the 1-D shape L×C (channels = features): token-wise
layers (layernorm, mlp, self_attention) then read it as they read any map.
"""

from __future__ import annotations

from math import prod
from typing import Literal

from convcalc.layers.base import LayerSpec, NonNegInt, PosAxes, fit_error, need_spatial
from convcalc.limits import MAX_PERIOD
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import Progression, TapMap
from convcalc.shapes import Shape


def _tokens_path(shape: Shape) -> tuple[tuple[tuple[TapMap, ...], ...], ...]:
    """Each token sees what its position saw. The state keeps the map's axes with one phase
    per position (a period as long as the axis), so a later global step over the sequence
    (self-attention) knows every position it reads (see rf.advance_state). An axis longer than
    the phases the field can track is stated whole (what the first attention makes it)."""
    return (((tuple(TapMap(n, n, tuple((Progression(r, 1, 1),) for r in range(n)))
                    if n <= MAX_PERIOD else TapMap.whole(n) for n in shape.spatial)),),)


class ToTokens(LayerSpec):
    """Flatten a map to a token sequence: H×W×C → (H·W)×C, in row-major order (torch's
    `x.flatten(2).transpose(1, 2)`, ViT's patches). No parameters, no MACs."""

    kind: Literal["to_tokens"] = "to_tokens"

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        length = prod(shape.spatial)
        out = Shape(shape.channels, (length,))
        dims = "·".join(str(n) for n in shape.spatial)
        return leaf(self.kind, self.name, shape, out, paths=_tokens_path(shape), formulas=[
            Formula("tokens", "L = ∏ spatial", dims, length),
            Formula("params", "0 (a reshape)", "0", 0),
            Formula("MACs", "0 (it moves values, multiplies none)", "0", 0)])


class ToMap(LayerSpec):
    """Fold a token sequence back to a map: L×C → H×W×C with H·W = L (`size: 14x14`). No
    parameters, no MACs."""

    kind: Literal["to_map"] = "to_map"
    size: PosAxes
    """The map's spatial size, one value per axis (a scalar is a 1-D map)."""

    def apply(self, shape: Shape) -> LayerReport:
        if shape.rank != 1:
            raise fit_error("input", f"to_map needs a token sequence (L×C), got "
                                     f"{shape.channels_last()}")
        size = (self.size,) if isinstance(self.size, int) else tuple(self.size)
        if prod(size) != shape.spatial[0]:
            raise fit_error("size", f"size {'×'.join(map(str, size))} holds {prod(size)} "
                                    f"tokens, the sequence has {shape.spatial[0]}")
        out = Shape(shape.channels, size)
        return leaf(self.kind, self.name, shape, out, formulas=[
            Formula("params", "0 (a reshape)", "0", 0),
            Formula("MACs", "0 (it moves values, multiplies none)", "0", 0)])


class TakeToken(LayerSpec):
    """Take one token of a sequence as a vector: L×C → C (ViT's class token, `index` 0). No
    parameters, no MACs."""

    kind: Literal["take_token"] = "take_token"
    index: NonNegInt = 0

    def apply(self, shape: Shape) -> LayerReport:
        if shape.rank != 1:
            raise fit_error("input", f"take_token needs a token sequence (L×C), got "
                                     f"{shape.channels_last()}")
        length = shape.spatial[0]
        if self.index >= length:
            raise fit_error("index", f"index {self.index} is past the last of {length} tokens")
        out = Shape(shape.channels, ())
        # the output is that one token: it reads one position of the sequence
        path = ((TapMap.bins(length, [(self.index, self.index + 1)]),),)
        return leaf(self.kind, self.name, shape, out, paths=(path,), formulas=[
            Formula("params", "0 (an index)", "0", 0),
            Formula("MACs", "0", "0", 0)])


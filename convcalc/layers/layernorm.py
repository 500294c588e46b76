"""Layer normalisation over the channels (ConvNeXt's LayerNorm2d; nn.LayerNorm channels-last)."""

from __future__ import annotations

from typing import Literal

from convcalc.layers.base import LayerSpec
from convcalc.report import Formula, LayerReport, leaf
from convcalc.shapes import Shape


class LayerNorm(LayerSpec):
    """Layer norm over the C channels at each position: C weights and C biases (2·C params)."""

    kind: Literal["layernorm"] = "layernorm"
    affine: bool = True
    """nn.LayerNorm's `elementwise_affine`."""
    bias: bool = True

    def apply(self, shape: Shape) -> LayerReport:
        c = shape.channels
        weights = c if self.affine else 0
        bias = c if self.affine and self.bias else 0
        return leaf(self.kind, self.name, shape, shape, weight_params=weights, bias_params=bias,
                    formulas=[Formula("params", "C (γ) + C (β)", f"{weights} + {bias}",
                                      weights + bias)])

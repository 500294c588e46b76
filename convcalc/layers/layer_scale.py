"""Layer scale (Touvron et al. 2021; ConvNeXt): a learnt per-channel factor."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from convcalc.layers.base import LayerSpec, Positive
from convcalc.report import Formula, LayerReport, leaf
from convcalc.shapes import Shape


class LayerScale(LayerSpec):
    """Layer scale: multiply each channel by a learnt γ (C parameters, no MACs)."""

    kind: Literal["layer_scale"] = "layer_scale"
    init: Positive = Field(default_factory=lambda: Fraction(1, 10**6))
    """The initial γ (ConvNeXt uses 1e-6); it does not change any count."""

    def apply(self, shape: Shape) -> LayerReport:
        c = shape.channels
        return leaf(self.kind, self.name, shape, shape, weight_params=c,
                    formulas=[Formula("params", "C (γ)", str(c), c)])

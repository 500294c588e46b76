"""Stochastic depth / drop path (Huang et al. 2016; torchvision's ops.StochasticDepth)."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from convcalc.layers.base import LayerSpec, Probability
from convcalc.report import LayerReport, leaf
from convcalc.shapes import Shape


class StochasticDepth(LayerSpec):
    """Stochastic depth: drops the residual branch with probability p in training; the identity
    at inference (no parameters, no MACs)."""

    kind: Literal["stochastic_depth"] = "stochastic_depth"
    p: Probability = Field(default_factory=lambda: Fraction(0))
    mode: Literal["row", "batch"] = "row"

    def apply(self, shape: Shape) -> LayerReport:
        return leaf(self.kind, self.name, shape, shape)

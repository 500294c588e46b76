"""Dropout (nn.Dropout): the identity at inference."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from convcalc.layers.base import LayerSpec, Probability
from convcalc.report import LayerReport, leaf
from convcalc.shapes import Shape


class Dropout(LayerSpec):
    """Dropout with probability p in training; the identity at inference (no params, no MACs)."""

    kind: Literal["dropout"] = "dropout"
    p: Probability = Field(default_factory=lambda: Fraction(1, 2))

    def apply(self, shape: Shape) -> LayerReport:
        return leaf(self.kind, self.name, shape, shape)

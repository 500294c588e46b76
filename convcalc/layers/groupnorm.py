"""Group normalisation (Wu & He 2018; nn.GroupNorm)."""

from __future__ import annotations

from typing import Literal

from convcalc.layers.base import LayerSpec, PosInt, check_divides
from convcalc.report import Formula, LayerReport, leaf
from convcalc.shapes import Shape


class GroupNorm(LayerSpec):
    """Group norm: channels normalised in `groups` groups; 2·C parameters (γ, β per channel)."""

    kind: Literal["groupnorm"] = "groupnorm"
    groups: PosInt
    affine: bool = True

    def apply(self, shape: Shape) -> LayerReport:
        check_divides(self.groups, shape.channels, "groups", "channels")
        c = shape.channels if self.affine else 0
        return leaf(self.kind, self.name, shape, shape, weight_params=c, bias_params=c,
                    formulas=[Formula("params", "2·C (γ and β)", f"2·{c}", 2 * c)])

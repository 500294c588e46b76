"""Squeeze-and-excitation (Hu et al. 2018), as torchvision's `ops.SqueezeExcitation` builds it."""

from __future__ import annotations

from math import floor
from typing import Literal

from pydantic import model_validator

from convcalc.layers.base import LayerSpec, PosInt, Positive, need_spatial
from convcalc.layers.composite import run_parts
from convcalc.layers.conv import conv_report
from convcalc.layers.pool import adaptive_report
from convcalc.report import Formula, LayerReport, composite, leaf
from convcalc.rf import TapMap
from convcalc.shapes import Shape


class SqueezeExcitation(LayerSpec):
    """Squeeze-and-excitation: global pool → 1×1 conv → activation → 1×1 conv → gate → multiply.

    `squeeze` channels, or `ratio` of the input channels (squeeze = max(1, ⌊ratio·C⌋)). Params
    C·s + s + s·C + C (both 1×1 convs have a bias); MACs 2·C·s. The gate is multiplied into every
    position, so every position of the output sees the whole input of the layer.
    """

    kind: Literal["se"] = "se"
    squeeze: PosInt | None = None
    ratio: Positive | None = None
    activation: Literal["relu", "relu6", "silu", "hardswish", "gelu"] = "relu"
    gate: Literal["sigmoid", "hardsigmoid"] = "sigmoid"

    @model_validator(mode="after")
    def _one_size(self) -> SqueezeExcitation:
        if (self.squeeze is None) == (self.ratio is None):
            raise ValueError("squeeze=…: give squeeze (channels) or ratio (of the input "
                             "channels), one of them")
        return self

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        c = shape.channels
        s = self.squeeze if self.squeeze is not None else max(1, floor((self.ratio or 0) * c))
        pooled = Shape(c, (1,) * shape.rank)
        parts = [adaptive_report("global_avgpool", "avgpool", shape, 1), *run_parts(pooled, [
            ("fc1", lambda x: conv_report("pointwise", "fc1", x, out=s, kernel=1)),
            ("activation", lambda x: leaf(self.activation, "activation", x, x)),
            ("fc2", lambda x: conv_report("pointwise", "fc2", x, out=c, kernel=1)),
            ("scale_activation", lambda x: leaf(self.gate, "scale_activation", x, x)),
        ])]
        # the multiply reads the input and the gate and writes the output
        parts.append(leaf("mul", "scale", shape, shape, input_elements=shape.elements + c))
        formulas = [Formula("squeeze", "s = squeeze or max(1, ⌊ratio·C⌋)", str(s), s),
                    Formula("params", "C·s + s + s·C + C", f"{c}·{s} + {s} + {s}·{c} + {c}",
                            2 * c * s + s + c),
                    Formula("MACs", "C·s + s·C (two 1×1 convs on 1×…×1)", f"2·{c}·{s}",
                            2 * c * s)]
        whole = tuple(TapMap.whole(n) for n in shape.spatial)
        return composite(self.kind, self.name, shape, shape, parts, paths=((), (whole,)),
                         formulas=formulas)

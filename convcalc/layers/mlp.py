"""A token-wise MLP: linear, activation, linear at every position (a transformer block's MLP)."""

from __future__ import annotations

from math import floor, prod
from typing import Literal

from pydantic import model_validator

from convcalc.layers.base import Bias, LayerSpec, PosInt, Positive, dot, need_spatial
from convcalc.report import Formula, LayerReport, composite, leaf
from convcalc.shapes import Shape


def token_linear(name: str, shape: Shape, out: int, bias: bool) -> LayerReport:
    """nn.Linear(C, out) applied at each of the ∏spatial positions (tokens): C·out weights,
    out biases, ∏spatial·C·out MACs (FlopCounterMode counts addmm/mm as 2·rows·in·out)."""
    tokens = prod(shape.spatial)
    c = shape.channels
    weights, biases, macs = c * out, out if bias else 0, tokens * c * out
    return leaf("linear", name, shape, Shape(out, shape.spatial), weight_params=weights,
                bias_params=biases, macs=macs, formulas=[
                    Formula("weights", "C·out", dot([c, out]), weights),
                    Formula("bias", "out" if bias else "0 (no bias)", str(biases), biases),
                    Formula("MACs", "tokens·C·out", dot([tokens, c, out]), macs)])


class TokenMLP(LayerSpec):
    """Linear C → hidden, activation, linear hidden → out (default C) at every position (token).

    `hidden` channels, or `ratio` of the input's (hidden = ⌊ratio·C⌋; ViT-B's 3072 = 4·768).
    Params C·h + h + h·out + out; MACs tokens·(C·h + h·out). Each position sees itself only."""

    kind: Literal["mlp"] = "mlp"
    hidden: PosInt | None = None
    ratio: Positive | None = None
    out: PosInt | None = None
    activation: Literal["gelu", "relu", "silu", "hardswish", "tanh"] = "gelu"
    bias: Bias = True

    @model_validator(mode="after")
    def _one_size(self) -> TokenMLP:
        if (self.hidden is None) == (self.ratio is None):
            raise ValueError("hidden=…: give hidden (channels) or ratio (of the input channels), "
                             "one of them")
        return self

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        c = shape.channels
        h = self.hidden if self.hidden is not None else max(1, floor((self.ratio or 0) * c))
        out = self.out if self.out is not None else c
        fc1 = token_linear("fc1", shape, h, self.bias)
        act = leaf(self.activation, "activation", fc1.output, fc1.output)
        fc2 = token_linear("fc2", act.output, out, self.bias)
        tokens = prod(shape.spatial)
        return composite(self.kind, self.name, shape, fc2.output, [fc1, act, fc2], paths=(),
                         formulas=[Formula("hidden", "hidden or ⌊ratio·C⌋", str(h), h),
                                   Formula("MACs", "tokens·(C·h + h·out)",
                                           f"{tokens}·({c}·{h} + {h}·{out})",
                                           tokens * (c * h + h * out))])

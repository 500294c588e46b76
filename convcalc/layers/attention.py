"""Multi-head self-attention over every position, or within windows (Swin, shifted too) or a
grid (MaxViT), with an optional relative-position bias table, as torchvision builds them."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import model_validator

from convcalc.layers.base import (
    Bias,
    LayerSpec,
    NonNegAxes,
    PosAxes,
    PosInt,
    check_divides,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.layers.mlp import token_linear
from convcalc.report import Formula, LayerReport, composite, leaf
from convcalc.rf import Path, Progression, TapMap, check_phases
from convcalc.shapes import Shape


def _window_tap(window: int, shift: int) -> TapMap:
    """Windows of `window` positions, shifted by `shift` (Swin rolls the map by −shift before
    partitioning): position q·w + r attends to the window starting at q·w + shift (r ≥ shift)
    or q·w + shift − w (r < shift)."""
    check_phases(window, "a window", "window")
    return TapMap(window, window, tuple(
        (Progression(shift if r >= shift else shift - window, 1, window),)
        for r in range(window)), reduces=True)


def _grid_tap(length: int, tokens: int) -> TapMap:
    """A grid of `tokens` positions per axis, `length // tokens` apart (MaxViT): position y
    attends to y mod g, y mod g + g, … (one phase per position of the axis)."""
    check_phases(length, "a grid attention's map", "window")
    g = length // tokens
    return TapMap(length, length, tuple((Progression(y % g, g, tokens),)
                                        for y in range(length)), reduces=True)


class SelfAttention(LayerSpec):
    """Multi-head self-attention: q, k, v projections, softmax(q·kᵀ/√d + bias)·v, output
    projection, at every position of a map or a token sequence (channels = features).

    Without `window` every position attends to all T positions; with `window` (per axis, Swin's
    window attention) to the w positions of its window, the map padded to a multiple of the
    window first (torchvision pads, and its projections run on the padded map), `shift` rolling
    the windows (Swin's shifted windows; 0 where the window covers the padded map); with
    `partition: grid` (MaxViT) to `window` positions per axis spaced evenly over the map.

    Params 3·C² + 3·C (qkv) + C² + C (proj) + the bias table ∏(2w−1)·heads; MACs, counting every
    matmul as torchvision's GFLOPS do: T·C·3C (qkv) + T·n·C (q·kᵀ) + T·n·C (attention·v) + T·C·C
    (proj), with n the positions each one attends to (T, or ∏window). Softmax and the bias add
    count no MACs (FlopCounterMode counts matmuls only). Heads split C: the MACs do not depend
    on them."""

    kind: Literal["self_attention"] = "self_attention"
    heads: PosInt | None = None
    head_dim: PosInt | None = None
    """C / heads (MaxViT gives 32 and derives the heads); give heads or head_dim."""
    window: PosAxes | None = None
    shift: NonNegAxes = 0
    partition: Literal["window", "grid"] = "window"
    position_bias: bool = False
    """A learnt relative-position bias table, ∏(2w−1) rows of one value per head (Swin,
    MaxViT); needs a window."""
    cosine: bool = False
    """Scaled cosine attention (Swin V2): a learnt logit scale per head (`heads` params)."""
    bias_mlp: PosInt | None = None
    """Hidden width of Swin V2's continuous position-bias MLP (512 in torchvision):
    Linear(2, h) + ReLU + Linear(h, heads, no bias), run on the ∏(2w−1) coordinate table."""
    bias: Bias = True
    """Biases of the q, k, v projections."""
    proj_bias: Bias = True

    @model_validator(mode="after")
    def _check(self) -> SelfAttention:
        if (self.heads is None) == (self.head_dim is None):
            raise ValueError("heads=…: give heads or head_dim, one of them")
        if self.window is None and (self.shift != 0 or self.position_bias
                                    or self.partition != "window" or self.bias_mlp):
            raise ValueError("window=…: shift, position_bias, bias_mlp and partition need a "
                             "window")
        if self.partition == "grid" and self.shift != 0:
            raise ValueError("shift=…: a grid partition has no shift")
        return self

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        c, rank = shape.channels, shape.rank
        if self.heads is not None:
            heads = self.heads
            check_divides(heads, c, "heads", "channels")
        else:
            d = self.head_dim or 1
            if c % d:
                raise fit_error("head_dim", f"head_dim={d} must divide the channels ({c})")
            heads = c // d
        taps: tuple[TapMap, ...]
        if self.window is None:
            padded, attends = shape.spatial, prod(shape.spatial)
            taps = tuple(TapMap.whole(n) for n in shape.spatial)
            windows: tuple[int, ...] = ()
        else:
            windows = per_axis(self.window, rank, "window")
            if self.partition == "grid":
                for n, w in zip(shape.spatial, windows, strict=True):
                    if n % w:
                        raise fit_error("window", f"a grid of {w} per axis needs the map's size "
                                                  f"to be a multiple of {w}, got {n}")
                padded = shape.spatial
                taps = tuple(_grid_tap(n, w) for n, w in zip(padded, windows, strict=True))
            else:
                padded = tuple(-(-n // w) * w for n, w in zip(shape.spatial, windows,
                                                              strict=True))
                shifts = per_axis(self.shift, rank, "shift")
                for s, w in zip(shifts, windows, strict=True):
                    if s >= w:
                        raise fit_error("shift", f"shift {s} must be less than the window {w}")
                # torchvision: no shift where the window covers the padded map
                shifts = tuple(0 if w >= n else s
                               for s, w, n in zip(shifts, windows, padded, strict=True))
                taps = tuple(_window_tap(w, s) for w, s in zip(windows, shifts, strict=True))
            attends = prod(windows)
        inner = Shape(c, padded)
        tokens = prod(padded)
        qkv = token_linear("qkv", inner, 3 * c, self.bias)
        scores_shape = Shape(heads * attends, padded)
        scores = leaf("matmul", "scores", qkv.output, scores_shape, macs=tokens * attends * c,
                      input_elements=2 * tokens * c, formulas=[
                          Formula("MACs", "T·n·C (q·kᵀ: heads·T·n·d)",
                                  f"{tokens}·{attends}·{c}", tokens * attends * c)])
        parts = [qkv, scores]
        if self.position_bias:
            table = prod(2 * w - 1 for w in windows) * heads
            rows = "·".join(f"(2·{w}−1)" for w in windows)
            parts.append(leaf("position_bias", "position_bias", scores_shape, scores_shape,
                              weight_params=table, formulas=[
                                  Formula("params", "∏(2w−1)·heads", f"{rows}·{heads}", table)]))
        if self.cosine:
            parts.append(leaf("logit_scale", "logit_scale", scores_shape, scores_shape,
                              weight_params=heads, formulas=[
                                  Formula("params", "heads", str(heads), heads)]))
        if self.bias_mlp is not None:
            parts.append(_bias_mlp(self.bias_mlp, windows, heads, scores_shape))
        parts.append(leaf("softmax", "softmax", scores_shape, scores_shape))
        context = leaf("matmul", "context", scores_shape, inner, macs=tokens * attends * c,
                       input_elements=scores_shape.elements + tokens * c, formulas=[
                           Formula("MACs", "T·n·C (attention·v: heads·T·n·d)",
                                   f"{tokens}·{attends}·{c}", tokens * attends * c)])
        proj = token_linear("proj", inner, c, self.proj_bias)
        parts += [context, proj]
        path: Path = (taps,)
        macs = tokens * (4 * c * c + 2 * attends * c)
        return composite(self.kind, self.name, shape, shape, parts, paths=(path,), formulas=[
            Formula("heads", "heads or C / head_dim", str(heads), heads),
            Formula("attended", "n = T, or ∏window", str(attends), attends),
            Formula("MACs", "T·(3C² + C²) + 2·T·n·C", f"{tokens}·(4·{c}² + 2·{attends}·{c})",
                    macs)])


def _bias_mlp(hidden: int, windows: tuple[int, ...], heads: int, scores: Shape) -> LayerReport:
    """Swin V2's continuous position bias: Linear(2, h) + ReLU + Linear(h, heads, no bias) on
    the ∏(2w−1) relative coordinates. Params 2h + h + h·heads; MACs ∏(2w−1)·(2h + h·heads)."""
    rows = prod(2 * w - 1 for w in windows)
    weights, macs = 2 * hidden + hidden * heads, rows * (2 * hidden + hidden * heads)
    return leaf("bias_mlp", "bias_mlp", scores, scores, weight_params=weights,
                bias_params=hidden, macs=macs, formulas=[
                    Formula("weights", "2h + h·heads", f"2·{hidden} + {hidden}·{heads}", weights),
                    Formula("bias", "h", str(hidden), hidden),
                    Formula("MACs", "∏(2w−1)·(2h + h·heads)",
                            f"{rows}·(2·{hidden} + {hidden}·{heads})", macs)])

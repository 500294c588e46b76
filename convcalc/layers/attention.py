"""Multi-head self-attention over every position, or within windows (Swin, shifted too) or a
grid (MaxViT), with an optional relative-position bias (a table, or Swin V2's MLP) and Swin V2's
scaled cosine attention, as torchvision builds them."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import model_validator

from convcalc.layers.attention_bias import bias_mlp, bias_table, logit_scale
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
    on them.

    Swin V2 (`cosine`, `bias_mlp`): scaled cosine attention adds a logit scale per head (heads
    params; the L2 norms of q and k count no MACs), and `bias_mlp: h` makes the position bias
    with an MLP on the ∏(2w−1) relative coordinates instead of the table (2h + h + h·heads
    params for 2-D windows, ∏(2w−1)·(2h + h·heads) MACs once per forward pass). torchvision's V2
    zeroes the k third of the qkv bias in its forward: the 3C biases stay parameters."""

    kind: Literal["self_attention"] = "self_attention"
    heads: PosInt | None = None
    head_dim: PosInt | None = None
    """C / heads (MaxViT gives 32 and derives the heads); give heads or head_dim."""
    window: PosAxes | None = None
    shift: NonNegAxes = 0
    partition: Literal["window", "grid"] = "window"
    position_bias: bool = False
    """A learnt relative-position bias table, ∏(2w−1) rows of one value per head (Swin,
    MaxViT); needs a window. With `bias_mlp` the bias is the MLP's: true or left out."""
    bias_mlp: PosInt | None = None
    """Swin V2's continuous position bias: the hidden width of the MLP (torchvision: 512) that
    makes the relative-position bias from the offsets' coordinates, in place of the table."""
    cosine: bool = False
    """Swin V2's scaled cosine attention: q and k L2-normalised, a learnt logit scale per head."""
    bias: Bias = True
    """Biases of the q, k, v projections."""
    proj_bias: Bias = True

    @model_validator(mode="after")
    def _check(self) -> SelfAttention:
        if (self.heads is None) == (self.head_dim is None):
            raise ValueError("heads=…: give heads or head_dim, one of them")
        if self.window is None and (self.shift != 0 or self.position_bias
                                    or self.partition != "window"):
            raise ValueError("window=…: shift, position_bias and partition need a window")
        if self.partition == "grid" and self.shift != 0:
            raise ValueError("shift=…: a grid partition has no shift")
        if self.bias_mlp is not None:
            if self.window is None:
                raise ValueError("bias_mlp=…: a relative-position bias needs a window")
            if not self.position_bias and "position_bias" in self.model_fields_set:
                raise ValueError("position_bias=…: false contradicts bias_mlp (the MLP makes the "
                                 "position bias); write true or leave it out")
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
        if self.cosine:
            parts.append(logit_scale(heads, scores_shape))
        extra = 0  # the bias MLP's MACs
        if self.bias_mlp is not None:
            parts.append(bias_mlp(windows, heads, self.bias_mlp))
            extra = parts[-1].macs
        elif self.position_bias:
            parts.append(bias_table(windows, heads, scores_shape))
        parts.append(leaf("softmax", "softmax", scores_shape, scores_shape))
        context = leaf("matmul", "context", scores_shape, inner, macs=tokens * attends * c,
                       input_elements=scores_shape.elements + tokens * c, formulas=[
                           Formula("MACs", "T·n·C (attention·v: heads·T·n·d)",
                                   f"{tokens}·{attends}·{c}", tokens * attends * c)])
        proj = token_linear("proj", inner, c, self.proj_bias)
        parts += [context, proj]
        path: Path = (taps,)
        macs = tokens * (4 * c * c + 2 * attends * c)
        formulas = [Formula("heads", "heads or C / head_dim", str(heads), heads),
                    Formula("attended", "n = T, or ∏window", str(attends), attends),
                    Formula("MACs", "T·(3C² + C²) + 2·T·n·C",
                            f"{tokens}·(4·{c}² + 2·{attends}·{c})", macs)]
        if extra:
            formulas[-1] = Formula("MACs", "T·(3C² + C²) + 2·T·n·C + the bias MLP's",
                                   f"{tokens}·(4·{c}² + 2·{attends}·{c}) + {extra}", macs + extra)
        return composite(self.kind, self.name, shape, shape, parts, paths=(path,),
                         formulas=formulas)

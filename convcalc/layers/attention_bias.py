"""The parts of self-attention that shape its scores: a relative-position bias (Swin V1's and
MaxViT's learnt table, or Swin V2's continuous-position-bias MLP) and Swin V2's scaled cosine
attention (a learnt logit scale per head), as torchvision builds them."""

from __future__ import annotations

from math import prod

from convcalc.layers.mlp import token_linear
from convcalc.report import Formula, LayerReport, composite, leaf
from convcalc.shapes import Shape


def bias_table(windows: tuple[int, ...], heads: int, scores: Shape) -> LayerReport:
    """A learnt table of ∏(2w−1) relative offsets × heads, gathered by a buffer index and
    added to the scores (Swin V1, MaxViT): ∏(2w−1)·heads params, no MACs."""
    table = prod(2 * w - 1 for w in windows) * heads
    rows = "·".join(f"(2·{w}−1)" for w in windows)
    return leaf("position_bias", "position_bias", scores, scores, weight_params=table,
                formulas=[Formula("params", "∏(2w−1)·heads", f"{rows}·{heads}", table)])


def bias_mlp(windows: tuple[int, ...], heads: int, hidden: int) -> LayerReport:
    """Swin V2's continuous position bias (torchvision's `cpb_mlp`): Linear(rank, hidden) with
    bias, ReLU, Linear(hidden, heads) without, run once on the ∏(2w−1) relative coordinates
    (a buffer), then gathered for the window's pairs and squashed, 16·sigmoid, and added.

    Params rank·h + h + h·heads; MACs ∏(2w−1)·(rank·h + h·heads), counted once per forward
    pass whatever the batch (FlopCounterMode counts the two linears on the (1, 2w−1, 2w−1, 2)
    table). The table it replaces has no parameters left."""
    rank = len(windows)
    offsets = tuple(2 * w - 1 for w in windows)
    coords = Shape(rank, offsets)
    fc1 = _once(token_linear("fc1", coords, hidden, True))
    relu = leaf("relu", "relu", fc1.output, fc1.output, once=True)
    fc2 = _once(token_linear("fc2", fc1.output, heads, False))
    n = prod(windows)
    pairs = Shape(heads * n, windows)  # one bias per head and pair of the window's positions
    gather = leaf("sigmoid", "position_bias", fc2.output, pairs, once=True, formulas=[
        Formula("bias", "16·sigmoid(table[index]): heads·n² values", f"{heads}·{n}²",
                heads * n * n)])
    points = prod(offsets)
    macs = points * (rank * hidden + hidden * heads)
    return _once(composite("bias_mlp", "cpb_mlp", coords, pairs, [fc1, relu, fc2, gather],
                           paths=(), formulas=[
                               Formula("MACs", "∏(2w−1)·(rank·h + h·heads), once per pass",
                                       f"{points}·({rank}·{hidden} + {hidden}·{heads})",
                                       macs)]))


def _once(report: LayerReport) -> LayerReport:
    from dataclasses import replace

    return replace(report, once=True)


def logit_scale(heads: int, scores: Shape) -> LayerReport:
    """Swin V2's scaled cosine attention: q and k L2-normalised per head (no MACs: norms and
    divisions), their product × exp(min(τ, log 100)), τ a learnt scale per head: heads params."""
    return leaf("logit_scale", "logit_scale", scores, scores, weight_params=heads, formulas=[
        Formula("params", "heads (τ, one per head)", str(heads), heads)])

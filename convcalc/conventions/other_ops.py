"""convcalc's own count of the work that is not multiply-accumulates ("other ops").

PyTorch's FlopCounterMode, and convcalc's MACs, count convolutions and linear layers only; the
peer tools disagree on everything else (docs/peer-tools.md). convcalc's own definitions, one
operation per arithmetic step on one element, at inference (batch statistics folded):

- normalization: batchnorm 2 per element (y = a·x + b: statistics and affine folded into a and
  b); layernorm and groupnorm 4 per element for the statistics and the normalisation (mean: 1
  add; variance: a subtract and a multiply-add; normalise: 1 multiply by 1/σ), + 1 for γ, + 1
  for β;
- activation: 1 per element for every activation but identity (the function evaluated once);
- pooling: maxpool ∏K − 1 comparisons per output element; avgpool ∏K per output element (∏K −
  1 adds and a divide; every window taken whole); adaptive and global avgpool, per output
  element the size of its bin (its adds and a divide): C · ∏axes Σbins size;
- upsample: nearest 0 (a copy); linear, bilinear, trilinear 2^(r+1) − 1 per output element (2^r
  weighted taps, r the spatial rank);
- add: 1 per output element per add (residual adds, `merge: add`, the octave's path sums);
- multiply: 1 per output element per product (`merge: mul` gates, broadcast; se's scale;
  layer_scale).

Bias adds are not other ops (they belong to the layer's MACs budget and are reported as bias
parameters); concatenation, splits, channel shuffle, flatten, dropout and stochastic depth move
data and compute nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

from convcalc import formulas as F
from convcalc.conventions import attention_ops
from convcalc.conventions.ops import Op

CATEGORIES = ("normalization", "activation", "pooling", "add", "multiply", "upsample")

OtherRule = Callable[[Op], int]


def batchnorm(op: Op) -> int:
    """2 per element."""
    return 2 * op.n_in


def norm(op: Op) -> int:
    """4 per element, + 1 for γ, + 1 for β."""
    return op.n_in * (4 + (1 if op.affine else 0) + (1 if op.bias else 0))


def per_element(op: Op) -> int:
    return op.n_out


def maxpool(op: Op) -> int:
    """∏K − 1 comparisons per output element."""
    return (prod(op.kernel) - 1) * op.n_out


def avgpool(op: Op) -> int:
    """∏K per output element."""
    return prod(op.kernel) * op.n_out


def adaptive_avgpool(op: Op) -> int:
    """C · ∏axes Σbins (bin size): each output element adds its bin and divides once."""
    total: int = op.input.channels
    for n_in, n_out in zip(op.input.spatial, op.output.spatial, strict=True):
        total *= sum(hi - lo for lo, hi in F.adaptive_bins(n_in, n_out))
    return total


def upsample(op: Op) -> int:
    """nearest: 0; (bi/tri)linear: 2^(r+1) − 1 per output element."""
    if op.mode == "nearest":
        return 0
    return ((1 << (op.input.rank + 1)) - 1) * op.n_out


def _none(op: Op) -> int:
    return 0


OTHER_OPS: dict[str, tuple[str, OtherRule]] = {
    "batchnorm": ("normalization", batchnorm),
    "layernorm2d": ("normalization", norm), "groupnorm": ("normalization", norm),
    **dict.fromkeys(("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu",
                     "tanh", "leaky_relu", "softmax"), ("activation", per_element)),
    "identity": ("activation", _none),
    "maxpool": ("pooling", maxpool), "avgpool": ("pooling", avgpool),
    "adaptive_avgpool": ("pooling", adaptive_avgpool),
    "upsample": ("upsample", upsample),
    "add": ("add", per_element),
    "mul": ("multiply", per_element), "layer_scale": ("multiply", per_element),
    **dict.fromkeys(("conv", "conv_bias", "conv_transpose", "conv_transpose_bias", "linear",
                     "linear_bias", "cat", "split", "flatten", "channel_shuffle", "dropout",
                     "stochastic_depth"), ("", _none)),
    **attention_ops.OTHER_OPS,
}
"""torch call → (category, operations); "" for calls that are not other ops."""


@dataclass(frozen=True, slots=True)
class OtherOps:
    """Other ops per row, and by category over the network."""

    rows: tuple[int, ...]
    by_category: dict[str, int]

    @property
    def total(self) -> int:
        """Every row's, and the merges of a network without layers."""
        return sum(self.by_category.values())


def other_ops(per_row: Sequence[Sequence[Op]], unplaced: Sequence[Op] = (),
              batch: int = 1) -> OtherOps:
    """Other ops of every row (its layer's calls and the merges after it) on `batch` samples
    (the calls are one sample's); `unplaced` calls (a network without layers) count in the
    categories only."""
    by = dict.fromkeys(CATEGORIES, 0)
    rows: list[int] = []
    memo: dict[int, tuple[int, list[tuple[str, int]]]] = {}  # shared lists counted once
    for ops in per_row:
        found = memo.get(id(ops))
        if found is None:
            value = 0
            parts: list[tuple[str, int]] = []
            for op in ops:
                category, rule = OTHER_OPS[op.op]
                if category and not op.once:  # once: on parameters or buffers, not the data
                    n = batch * rule(op)
                    parts.append((category, n))
                    value += n
            found = memo[id(ops)] = (value, parts)
        rows.append(found[0])
        for category, n in found[1]:
            by[category] += n
    for op in unplaced:
        category, rule = OTHER_OPS[op.op]
        if category:
            by[category] += batch * rule(op)
    return OtherOps(tuple(rows), by)

"""The size rules `convcalc solve` enumerates, one family of kinds per formula, and its bounds.

Gives, per family (conv, transposed, pool), the output length of one axis for given fields (0
where PyTorch refuses the layer), the padding searched and the input pixels a layer never reads
(`loss_warnings` says them); `Bounds`, the search's upper bounds, and the search's limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from convcalc import formulas as F
from convcalc.errors import SpecError
from convcalc.layers.base import axis_names

SIZE_FIELDS = ("kernel", "stride", "dilation", "padding", "output_padding")
"""The fields that decide the output size, in the order answers are sorted by."""

DEFAULT_LIMIT = 20
NEAREST_PER_SIZE = 3
NEAREST_SIZES = 2
"""When nothing reaches the target: the closest sizes reached (at most NEAREST_SIZES, nearest
first), with up to NEAREST_PER_SIZE completions each."""
MAX_CANDIDATES = 1_000_000
"""Largest search space per axis; beyond it the request asks for fixed fields or lower bounds."""
MAX_BOUND = 64
MAX_LAYERS = 32

Geometry = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Bounds:
    """Upper bounds of the unknown fields' search (inclusive); fixed fields are not bounded."""

    kernel: int = 11
    stride: int = 8
    dilation: int = 4

    def check(self) -> None:
        for name in ("kernel", "stride", "dilation"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_BOUND:
                raise SpecError(f"option --max-{name}: {value} is not allowed; give 1 to {MAX_BOUND}")


# --- the size rules, one family per formula ------------------------------------------------------


def _conv_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    return F.conv_output_length(length, v["kernel"], v["stride"], v["padding"], v["padding"],
                                v["dilation"])


def _transposed_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    if v["output_padding"] >= max(v["stride"], v["dilation"]):
        return 0  # PyTorch: output_padding must be smaller than stride or dilation
    return F.transposed_output_length(length, v["kernel"], v["stride"], v["padding"],
                                      v["dilation"], v["output_padding"])


def _pool_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    k, p = v["kernel"], v["padding"]
    if p > k // 2 or (covers and length < k):
        return 0  # PyTorch: padding at most half the kernel; AvgPool3d: input ≥ kernel
    return F.pool_output_length(length, k, v["stride"], p, p, v["dilation"], ceil_mode)


def _conv_loss(length: int, v: Geometry, ceil_mode: bool) -> int:
    return F.floor_loss(length, v["kernel"], v["stride"], v["padding"], v["padding"],
                        v["dilation"], ceil_mode)


@dataclass(frozen=True, slots=True)
class Family:
    """Kinds that share one size rule: the output length (0 where PyTorch refuses the layer), the
    padding searched, and the input pixels a layer never reads (None: not applicable)."""

    output: Callable[[int, Geometry, bool, bool], int]
    max_padding: Callable[[int, int], int]
    padding_bound: str
    loss: Callable[[int, Geometry, bool], int] | None


FAMILIES = {
    "conv": Family(_conv_output, lambda k, d: d * (k - 1), "D·(K−1)", _conv_loss),
    "transposed": Family(_transposed_output, lambda k, d: d * (k - 1), "D·(K−1)", None),
    "pool": Family(_pool_output, lambda k, d: k // 2, "K//2", _conv_loss),
}
KIND_FAMILY = {"conv": "conv", "dilated": "conv", "depthwise": "conv", "grouped": "conv",
               "transposed": "transposed", "maxpool": "pool", "avgpool": "pool"}
CHAIN_DEFAULTS = {"conv": {"kernel": 3, "padding": 1}, "pool": {"kernel": 3, "padding": 1},
                  "transposed": {"kernel": 4, "padding": 1}}
"""A chain's kernel and padding unless given: 3×3 pad 1, and the DCGAN 4×4 pad 1 up-sampler."""


def _unread_warnings(names: Sequence[str], unread: Sequence[int], prefix: str = "") -> list[str]:
    """`the last 2 input pixels of H and W are never read (⌊·⌋ drops them)`, one line per
    count; the axes are named in 2-D and 3-D."""
    axes: dict[int, list[str]] = {}
    for ax, n in zip(names, unread, strict=True):
        if n:
            axes.setdefault(n, []).append(ax)
    return [f"{prefix}the last {'input pixel' if n == 1 else f'{n} input pixels'}"
            f"{' of ' + ' and '.join(where) if len(names) > 1 else ''} "
            f"{'is' if n == 1 else 'are'} never read (⌊·⌋ drops {'it' if n == 1 else 'them'})"
            for n, where in axes.items()]


def loss_warnings(kind: str, lengths: Sequence[int], axes: Sequence[Geometry],
                   ceil_mode: bool, prefix: str = "") -> list[str]:
    """The warnings about input pixels a layer never reads (`formulas.floor_loss`), per axis."""
    loss = FAMILIES[KIND_FAMILY[kind]].loss
    if loss is None:
        return []
    unread = [loss(n, a, ceil_mode) for n, a in zip(lengths, axes, strict=True)]
    return _unread_warnings(axis_names(len(lengths)), unread, prefix)

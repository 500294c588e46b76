"""`--output same` and `--output valid`: TensorFlow's padding modes as `convcalc solve` reads them.

Takes a family, the input size and an axis's fields; gives the size TensorFlow's SAME or
VALID gives, which completions of an axis table reach it, and the warnings where TensorFlow's
uneven SAME padding differs from PyTorch's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from convcalc.layers.base import axis_names
from convcalc.solve.axis_search import AxisFit
from convcalc.solve.size_rules import Geometry

WORDS = ("same", "valid")
"""`--output same` and `--output valid`: TensorFlow's padding modes, as sizes per stride."""


def _word_size(word: str, family: str, n: int, v: Geometry) -> int:
    """The size TensorFlow's SAME or VALID gives from `n` with these fields: conv and pooling
    SAME ⌈n/S⌉, VALID ⌈(n − K_eff + 1)/S⌉; transposed SAME n·S, VALID n·S + max(K_eff − S, 0)
    (tf.keras `conv_output_length` / `deconv_output_length`). 0: none."""
    s, k_eff = v["stride"], v["dilation"] * (v["kernel"] - 1) + 1
    if family == "transposed":
        return n * s if word == "same" else n * s + max(k_eff - s, 0)
    if word == "same":
        return -(-n // s)
    return max(0, -(-(n - k_eff + 1) // s))


def word_fits(word: str, family: str, fields: Sequence[str], n: int,
               table: Mapping[int, Sequence[AxisFit]]) -> tuple[AxisFit, ...]:
    """The completions on one axis that give TensorFlow's size for their own fields (VALID:
    also no padding), in answer order."""
    fits = []
    for out, found in table.items():
        for f in found:
            v = {"dilation": 1, "output_padding": 0, **dict(zip(fields, f.values, strict=True))}
            if out == _word_size(word, family, n, v) and (word == "same" or v["padding"] == 0):
                fits.append(f)
    return tuple(sorted(fits, key=lambda f: f.key))


def same_warnings(fields: Sequence[str], combo: Sequence[AxisFit], spatial: Sequence[int],
                   family: str) -> list[str]:
    """Where TensorFlow's SAME pads unevenly (its total P = (⌈n/S⌉ − 1)·S + K_eff − n is odd,
    the extra pixel after), PyTorch's padding, the same on both sides, differs: say so."""
    if family == "transposed":
        return []
    axes: dict[tuple[int, int], list[str]] = {}
    for ax, n, f in zip(axis_names(len(spatial)), spatial, combo, strict=True):
        v = {"dilation": 1, **dict(zip(fields, f.values, strict=True))}
        k_eff = v["dilation"] * (v["kernel"] - 1) + 1
        total = max((-(-n // v["stride"]) - 1) * v["stride"] + k_eff - n, 0)
        if total != 2 * v["padding"]:
            axes.setdefault((total, v["padding"]), []).append(ax)
    def where(names: list[str]) -> str:
        return " " + " and ".join(names) if len(spatial) > 1 else ""

    return [f"TensorFlow's SAME pads{where(names)} by {total} in total ({total // 2} before, "
            f"{total - total // 2} after); PyTorch pads both sides alike: padding {p} "
            f"({2 * p} in total) gives the same size, its windows shifted"
            for (total, p), names in axes.items()]


def word_target(word: str, family: str, spatial: Sequence[int],
                 axes: Sequence[Mapping[str, int]]) -> tuple[int, ...] | None:
    """SAME's or VALID's size where the fields it depends on are given, else None."""
    need = ("stride",) if word == "same" and family != "transposed" else (
        "stride", "kernel", "dilation")
    if word == "same" and family == "transposed":
        need = ("stride",)
    if not all(f in a for a in axes for f in need):
        return None
    sizes = tuple(_word_size(word, family, n, {"kernel": 1, "dilation": 1, **a})
                  for n, a in zip(spatial, axes, strict=True))
    return sizes if min(sizes) >= 1 else None

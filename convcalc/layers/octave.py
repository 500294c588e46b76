"""Octave convolution (Chen et al. 2019): high/low-frequency channel groups, four paths."""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import Literal

from pydantic import Field

from convcalc import formulas as F
from convcalc.errors import ConvcalcError
from convcalc.layers.base import (
    Alpha,
    Bias,
    LayerSpec,
    NonNegAxes,
    PosAxes,
    PosInt,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.layers.composite import in_part
from convcalc.layers.conv import conv_report
from convcalc.report import Formula, LayerReport, composite
from convcalc.rf import Path, TapMap
from convcalc.shapes import Shape


def _half(shape: Shape, channels: int, what: str) -> Shape:
    """The 2×2 average-pooled map of `channels` channels; octave needs even sizes."""
    if any(n % 2 for n in shape.spatial):
        raise fit_error("input", f"octave needs even spatial sizes to halve the {what}, got "
                                 f"{'×'.join(map(str, shape.spatial))}")
    return Shape(channels, tuple(n // 2 for n in shape.spatial))


class Octave(LayerSpec):
    """Octave conv: a fraction α of channels at half resolution; paths H→H, H→L, L→H, L→L.

    Low-frequency input is the 2×2 average pool of the high one; L→H is upsampled by nearest ×2.
    Stride 2 average-pools both inputs first, as the reference implementation does. Bias sits on
    H→H and on L→L (or H→L), so the parameter count equals the plain conv's.
    """

    kind: Literal["octave"] = "octave"
    out: PosInt
    kernel: PosAxes
    alpha_in: Alpha = Field(default_factory=lambda: Fraction(1, 2))
    alpha_out: Alpha = Field(default_factory=lambda: Fraction(1, 2))
    stride: Literal[1, 2] = 1
    padding: NonNegAxes = 0
    bias: Bias = True

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        rank = shape.rank
        k = per_axis(self.kernel, rank, "kernel")
        p = per_axis(self.padding, rank, "padding")
        h_in, l_in = F.octave_split(shape.channels, self.alpha_in)
        h_out, l_out = F.octave_split(self.out, self.alpha_out)
        x_h = Shape(h_in, shape.spatial)
        x_l = _half(shape, l_in, "low-frequency input") if l_in else None
        if self.stride == 2:
            x_h = _half(x_h, h_in, "input for stride 2")
            x_l = _half(x_l, l_in, "low-frequency input for stride 2") if x_l else None
        plans: list[tuple[str, Shape | None, int, bool]] = [
            ("high→high", x_h if h_in else None, h_out, True),
            ("high→low", _half(x_h, h_in, "high-frequency input") if h_in and l_out else None,
             l_out, not l_in),
            ("low→high", x_l, h_out, False),
            ("low→low", x_l, l_out, True),
        ]
        parts: list[LayerReport] = []
        for label, src, out, bias in plans:
            if src is None or src.channels == 0 or out == 0:
                continue
            try:
                parts.append(conv_report("conv", label, src, out=out, kernel=list(k),
                                         padding=list(p), bias=self.bias and bias))
            except ConvcalcError as e:
                raise in_part(e, label) from None
        by_name = {part.name: part for part in parts}
        high = by_name.get("high→high")
        high_size = high.output.spatial if high else tuple(
            2 * n for n in by_name["low→high"].output.spatial)
        low_size = tuple(n // 2 for n in high_size)
        for part in parts:
            lands_low = part.name in ("high→low", "low→low")
            got = part.output.spatial if lands_low else (
                tuple(2 * n for n in part.output.spatial) if part.name == "low→high"
                else part.output.spatial)
            want = low_size if lands_low else high_size
            if got != want or (lands_low and any(n % 2 for n in high_size)):
                raise fit_error("padding", f"octave paths disagree: {part.name} gives "
                                           f"{'×'.join(map(str, got))} where "
                                           f"{'×'.join(map(str, want))} is needed; use padding "
                                           "that keeps the size (K//2 for odd K)")
        output = Shape(self.out, high_size)
        out_elements = h_out * prod(high_size) + l_out * prod(low_size)
        in_elements = h_in * prod(shape.spatial) + l_in * prod(n // 2 for n in shape.spatial)
        plain = F.conv_macs(shape.channels, self.out, 1, k, high_size)
        total = sum(part.macs for part in parts)
        a_in, a_out = self.alpha_in, self.alpha_out
        formulas = [
            Formula("input channels", "(C − ⌊α_in·C⌋) high + ⌊α_in·C⌋ low",
                    f"{h_in} + {l_in}", shape.channels),
            Formula("output channels", "(C − ⌊α_out·C⌋) high + ⌊α_out·C⌋ low",
                    f"{h_out} + {l_out}", self.out),
            Formula("plain conv MACs", "K·K·C_in·C_out·H_out·W_out",
                    "·".join(map(str, [*k, shape.channels, self.out, *high_size])), plain),
            Formula("MACs vs plain conv (%)", "100·octave/plain",
                    f"100·{total:,}/{plain:,}", F.percent(total, plain)),
        ]
        if a_in == a_out:
            shown = f"{a_in.numerator}/{a_in.denominator}" if a_in.denominator > 1 \
                else str(a_in.numerator)
            formulas.append(Formula(
                "closed form (%)", "100·(1 − ¾·α·(2 − α)) (Chen et al. 2019, α_in = α_out = α)",
                f"100·(1 − ¾·{shown}·(2 − {shown}))", 100 * F.octave_macs_ratio(a_in)))
        return composite(self.kind, self.name, shape, output, parts,
                         paths=self._paths(rank, k, p), formulas=formulas,
                         input_elements=in_elements, output_elements=out_elements)

    def _paths(self, rank: int, k: tuple[int, ...], p: tuple[int, ...]) -> tuple[Path, ...]:
        """Fields in full-resolution coordinates: low maps are pool ×2 … upsample ×2 there."""
        pool = tuple(TapMap.forward(2, 2, 0, 1) for _ in range(rank))
        up = tuple(TapMap.nearest(2) for _ in range(rank))
        conv = tuple(TapMap.forward(kk, 1, pp, 1) for kk, pp in zip(k, p, strict=True))
        pre: tuple[tuple[TapMap, ...], ...] = (pool,) if self.stride == 2 else ()
        return ((*pre, conv), (*pre, pool, conv, up))

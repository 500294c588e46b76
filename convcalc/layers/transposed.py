"""Transposed convolution (deconvolution, fractionally strided convolution)."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import model_validator

from convcalc import formulas as F
from convcalc.layers.base import (
    Bias,
    LayerSpec,
    NonNegAxes,
    PosAxes,
    PosInt,
    axis_names,
    check_divides,
    dot,
    fit_error,
    need_spatial,
    per_axis,
)
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import TapMap
from convcalc.shapes import Shape


def _axes(value: int | list[int]) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


class Transposed(LayerSpec):
    """Transposed convolution (ConvTransposeNd): upsamples; MACs counted from the input side."""

    kind: Literal["transposed"] = "transposed"
    out: PosInt
    kernel: PosAxes
    stride: PosAxes = 1
    padding: NonNegAxes = 0
    output_padding: NonNegAxes = 0
    dilation: PosAxes = 1
    groups: PosInt = 1
    bias: Bias = True

    @model_validator(mode="after")
    def _output_padding_small(self) -> Transposed:
        s, d, op = _axes(self.stride), _axes(self.dilation), _axes(self.output_padding)
        n = max(len(s), len(d), len(op))
        if all(len(v) in (1, n) for v in (s, d, op)):
            for i in range(n):
                si, di, oi = (v[i if len(v) > 1 else 0] for v in (s, d, op))
                if oi >= max(si, di):
                    raise ValueError(
                        f"output_padding={oi} must be smaller than stride ({si}) or dilation "
                        f"({di}) on every axis")
        return self

    def apply(self, shape: Shape) -> LayerReport:
        need_spatial(shape, self.kind)
        rank = shape.rank
        k = per_axis(self.kernel, rank, "kernel")
        s = per_axis(self.stride, rank, "stride")
        p = per_axis(self.padding, rank, "padding")
        op = per_axis(self.output_padding, rank, "output_padding")
        d = per_axis(self.dilation, rank, "dilation")
        for si, di, oi in zip(s, d, op, strict=True):
            if oi >= max(si, di):
                raise fit_error("output_padding", f"output_padding={oi} must be smaller than "
                                                  f"stride ({si}) or dilation ({di})")
        check_divides(self.groups, shape.channels, "groups", "input channels")
        check_divides(self.groups, self.out, "groups", "output channels")
        names = axis_names(rank)
        spatial: list[int] = []
        formulas: list[Formula] = []
        for ax, n_in, kk, ss, pp, oo, dd in zip(names, shape.spatial, k, s, p, op, d, strict=True):
            n = F.transposed_output_length(n_in, kk, ss, pp, dd, oo)
            if n < 1:
                raise fit_error("padding", f"output {ax} would be {n}: padding {pp} removes more "
                                           f"than the {n - 1 + 2 * pp + 1} positions the layer "
                                           "makes; need (in−1)·S − 2P + D·(K−1) + output_padding "
                                           "+ 1 ≥ 1")
            formulas.append(Formula(
                f"{ax}_out", f"({ax}_in − 1)·S − 2P + D·(K − 1) + output_padding + 1",
                f"({n_in} − 1)·{ss} − 2·{pp} + {dd}·({kk} − 1) + {oo} + 1", n))
            spatial.append(n)
        output = Shape(self.out, tuple(spatial))
        cout_g = self.out // self.groups
        weights = F.transposed_weight_params(shape.channels, self.out, self.groups, k)
        macs = F.transposed_macs(shape.channels, self.out, self.groups, k, shape.spatial)
        ksym = "·".join(f"K_{a.lower()}" for a in names)
        isym = "·".join(f"{a}_in" for a in names)
        formulas += [
            Formula("weights", f"C_in·(C_out/G)·{ksym}", dot([shape.channels, cout_g, *k]),
                    weights),
            Formula("bias", "C_out" if self.bias else "0 (no bias)",
                    str(self.out if self.bias else 0), self.out if self.bias else 0),
            Formula("MACs", f"C_in·(C_out/G)·{ksym}·{isym} (input side)",
                    dot([shape.channels, cout_g, *k, *shape.spatial]), macs),
            Formula("FLOPs", "2·MACs", f"2·{macs}", 2 * macs),
        ]
        for ax, ss in zip(names, s, strict=True):
            formulas.append(Formula(f"jump_{ax}", "j_in/S (a fractional jump: what a unit sees "
                                    "depends on its phase, position mod S)", f"1/{ss}",
                                    Fraction(1, ss)))
        taps = tuple(TapMap.transposed(kk, ss, pp, dd)
                     for kk, ss, pp, dd in zip(k, s, p, d, strict=True))
        return leaf(self.kind, self.name, shape, output, weight_params=weights,
                    bias_params=self.out if self.bias else 0, macs=macs, paths=((taps,),),
                    formulas=formulas)

"""The source documents' worked examples (../shared/SEEDS.md), each reproduced exactly."""

from __future__ import annotations

from typing import Any

import pytest

import convcalc
from convcalc import formulas as F
from convcalc.shapes import Shape, parse_shape

NO_BIAS = {"bias": False}


def layer(spec: dict[str, Any], inp: str, **kw: Any) -> convcalc.LayerReport:
    return convcalc.analyze_layer(spec, inp, **kw)


# (id, spec, input, output H×W×C, params, MACs)
WORKED = [
    ("seed1-one-kernel", {"kind": "conv", "out": 1, "kernel": 5, **NO_BIAS}, "12x12x3",
     (8, 8, 1), 75, 4_800),
    ("seed1-256-kernels", {"kind": "conv", "out": 256, "kernel": 5, **NO_BIAS}, "12x12x3",
     (8, 8, 256), 19_200, 1_228_800),
    ("seed1-depthwise", {"kind": "depthwise", "kernel": 5, **NO_BIAS}, "12x12x3",
     (8, 8, 3), 75, 4_800),
    ("seed1-pointwise", {"kind": "pointwise", "out": 256, **NO_BIAS}, "8x8x3",
     (8, 8, 256), 768, 49_152),
    ("seed1-dwsep", {"kind": "dwsep", "out": 256, "kernel": 5, **NO_BIAS}, "12x12x3",
     (8, 8, 256), 843, 53_952),
    ("seed3-transposed-k2", {"kind": "transposed", "out": 1, "kernel": 2, **NO_BIAS}, "5x5x1",
     (6, 6, 1), 4, 1 * 1 * 2 * 2 * 5 * 5),
    ("seed3-dilated", {"kind": "conv", "out": 1, "kernel": 2, "stride": 2, "padding": 2,
                       "dilation": 2, **NO_BIAS}, "5x5x1", (4, 4, 1), 4, 4 * 16),
    ("seed3-grouped", {"kind": "conv", "out": 2, "kernel": 2, "stride": 2, "padding": 2,
                       "groups": 2, **NO_BIAS}, "5x5x4", (4, 4, 2), 16, 16 * 16),
    ("seed3-depthwise", {"kind": "depthwise", "kernel": 2, "stride": 2, "padding": 2, **NO_BIAS},
     "5x5x4", (4, 4, 4), 16, 16 * 16),
    ("seed3-then-pointwise", {"kind": "pointwise", "out": 1, **NO_BIAS}, "4x4x4", (4, 4, 1), 4,
     4 * 16),
    ("seed4-1d-valid", {"kind": "conv", "out": 1, "kernel": 3, **NO_BIAS}, "5x1", (3, 1), 3, 9),
    ("seed4-1d-full", {"kind": "conv", "out": 1, "kernel": 3, "padding": 2, **NO_BIAS}, "5x1",
     (7, 1), 3, 21),
    ("acceptance-transposed-48", {"kind": "transposed", "out": 1, "kernel": 2, "stride": 2},
     "2x2x3", (4, 4, 1), 13, 48),
    ("mobilenet-table3-conv", {"kind": "conv", "out": 512, "kernel": 3, "padding": 1, **NO_BIAS},
     "14x14x512", (14, 14, 512), 2_359_296, 462_422_016),
    ("mobilenet-table3-dwsep", {"kind": "dwsep", "out": 512, "kernel": 3, "padding": 1,
                                **NO_BIAS}, "14x14x512", (14, 14, 512), 266_752, 52_283_392),
]


@pytest.mark.parametrize(("spec", "inp", "out", "params", "macs"),
                         [w[1:] for w in WORKED], ids=[w[0] for w in WORKED])
def test_worked_examples(spec: dict[str, Any], inp: str, out: tuple[int, ...], params: int,
                         macs: int) -> None:
    r = layer(spec, inp)
    assert (*r.output.spatial, r.output.channels) == out
    assert r.params == params
    assert r.macs == macs
    assert r.flops == 2 * macs


def test_dwsep_is_4_39_percent_of_standard() -> None:
    conv = layer({"kind": "conv", "out": 256, "kernel": 5, **NO_BIAS}, "12x12x3")
    dwsep = layer({"kind": "dwsep", "out": 256, "kernel": 5, **NO_BIAS}, "12x12x3")
    assert [p.macs for p in dwsep.parts] == [4_800, 49_152]
    assert [p.params for p in dwsep.parts] == [75, 768]
    assert f"{float(F.percent(dwsep.macs, conv.macs)):.2f}" == "4.39"
    assert F.percent(dwsep.macs, conv.macs) == F.percent(53_952, 1_228_800)


def test_seed2_channels_first_input() -> None:
    r = layer({"kind": "conv", "out": 8, "kernel": 3, **NO_BIAS}, "8x7x7", channels_first=True)
    assert r.output == Shape(8, (5, 5))
    assert parse_shape("3x640x640", channels_first=True) == Shape(3, (640, 640))


@pytest.mark.parametrize("n", [5, 8, 12, 31])
def test_spatially_separable_matches_article(n: int) -> None:
    """Standard (N−2)²·m·m; separable N·(N−2)·m + (N−2)²·m = (2N−2)·(N−2)·m, m = 3."""
    m = 3
    standard = layer({"kind": "conv", "out": 1, "kernel": m, **NO_BIAS}, f"{n}x{n}x1")
    separable = layer({"kind": "spatial_sep", "out": 1, "kernel": m, **NO_BIAS}, f"{n}x{n}x1")
    assert standard.macs == (n - 2) * (n - 2) * m * m
    assert [p.macs for p in separable.parts] == [n * (n - 2) * m, (n - 2) * (n - 2) * m]
    assert separable.macs == (2 * n - 2) * (n - 2) * m


def test_octave_half_is_43_75_percent_with_equal_params() -> None:
    conv = layer({"kind": "conv", "out": 512, "kernel": 3, "padding": 1, **NO_BIAS}, "14x14x512")
    octave = layer({"kind": "octave", "out": 512, "kernel": 3, "padding": 1, "alpha_in": 0.5,
                    "alpha_out": 0.5, **NO_BIAS}, "14x14x512")
    assert F.percent(octave.macs, conv.macs) == F.Fraction(4375, 100)
    assert octave.params == conv.params
    assert {p.name for p in octave.parts} == {"high→high", "high→low", "low→high", "low→low"}


@pytest.mark.parametrize(("alpha", "paper"), [(0, 100), (0.125, 82), (0.25, 67), (0.5, 44),
                                               (0.75, 30)])
def test_octave_ratio_follows_paper(alpha: float, paper: int) -> None:
    """Chen et al. 2019, Table: FLOPs 100/82/67/44/30 % at α = 0/.125/.25/.5/.75."""
    conv = layer({"kind": "conv", "out": 64, "kernel": 3, "padding": 1}, "16x16x64")
    octave = layer({"kind": "octave", "out": 64, "kernel": 3, "padding": 1, "alpha_in": alpha,
                    "alpha_out": alpha}, "16x16x64")
    ratio = F.percent(octave.macs, conv.macs)
    assert round(ratio) == paper
    assert ratio == 100 * F.octave_macs_ratio(F.Fraction(str(alpha)))


@pytest.mark.parametrize(("length", "kernel", "stride", "pad", "dil", "ceil", "expected"), [
    (6, 3, 2, 1, 1, True, 4),      # the last window starts inside the padded input: kept
    (5, 2, 2, 0, 1, True, 3),
    (4, 2, 2, 0, 1, True, 2),      # (L_out−1)·S ≥ L + P_l: the extra window is dropped
    (112, 3, 2, 1, 1, False, 56),  # ResNet's stem max-pool
    (55, 3, 2, 0, 1, False, 27),   # AlexNet
])
def test_pool_output_length(length: int, kernel: int, stride: int, pad: int, dil: int,
                            ceil: bool, expected: int) -> None:
    assert F.pool_output_length(length, kernel, stride, pad, pad, dil, ceil) == expected


def test_transposed_is_counted_from_the_input_side() -> None:
    """C_in·(C_out/G)·∏K·∏in, not ·∏out (which would give 208 with bias for the 2×2 case)."""
    r = layer({"kind": "transposed", "out": 8, "kernel": [2, 2], "stride": 2,
               "output_padding": [1, 0], "groups": 2, "bias": False}, "5x5x4")
    assert r.output == Shape(8, (11, 10))
    assert r.params == 4 * 4 * 2 * 2
    assert r.macs == 4 * 4 * 2 * 2 * 5 * 5


def test_same_padding_puts_odd_pixel_right() -> None:
    assert F.same_padding(4, 1) == (1, 2)
    r = layer({"kind": "conv", "out": 2, "kernel": 4, "padding": "same"}, "7x9x1")
    assert r.output.spatial == (7, 9)
    assert r.receptive_field[0].start == F.Fraction(1, 2)

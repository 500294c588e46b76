"""Resizes to a target size (issue 22, item 5), channels-first inputs of 3-D networks and
computed layer names (item 7)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.errors import ConvcalcError, SpecError
from convcalc.network import load_network
from convcalc.shapes import Shape, parse_input

# --- upsample / resize to a size ---------------------------------------------------------------


def _net(layers: list[Any], shape: str = "33x33x8") -> dict[str, Any]:
    return {"name": "resize", "input": shape, "layers": layers}


@pytest.mark.parametrize("size", ["520x520", 520, [520, 520]])
def test_upsample_to_a_size(size: Any) -> None:
    """DeepLabV3-MobileNetV3's head: a 33×33 map to 520×520, no whole-number scale."""
    report = convcalc.analyze_network(_net([{"upsample": {"size": size, "mode": "bilinear"}}]))
    assert report.output == Shape(8, (520, 520))
    assert report.totals()["macs"] == 0 and report.totals()["params"] == 0


def test_lraspp_head_resize() -> None:
    report = convcalc.analyze_network(_net([{"upsample": {"size": "65x65",
                                                          "mode": "bilinear"}}]))
    assert report.output.spatial == (65, 65)


def test_size_from_a_parameter() -> None:
    spec = {"params": {"res": 520}, "input": "33x33x8",
            "layers": [{"upsample": {"size": "${res}x${res}", "mode": "bilinear"}}]}
    assert convcalc.analyze_network(spec, params={"res": 512}).output.spatial == (512, 512)


@pytest.mark.parametrize(("fields", "message"), [
    ({"size": 52, "scale": 2}, "not both"),
    ({"size": "52,52"}, "520x520"),
    ({"size": "52x52x52"}, "3 axes"),
])
def test_bad_sizes_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        convcalc.analyze_network(_net([{"upsample": fields}]))


def test_resize_field_phases() -> None:
    """33 → 52 bilinear: output y reads the floor of (y + ½)·33/52 − ½ and the next pixel."""
    from fractions import Fraction
    from math import floor

    report = convcalc.analyze_network(_net([{"upsample": {"size": 52, "mode": "bilinear"}}]))
    axis = report.rows[-1].receptive_field[0]
    for y in range(52):
        source = Fraction(2 * y + 1, 2) * Fraction(33, 52) - Fraction(1, 2)
        low = floor(source)
        assert axis.interval(y) == (low, low + (source != low)), y
    nearest = convcalc.analyze_network(_net([{"upsample": {"size": 52}}]))
    axis = nearest.rows[-1].receptive_field[0]
    assert all(axis.interval(y) == (y * 33 // 52,) * 2 for y in range(52))


def test_deeplab_aspp_follows_the_resolution() -> None:
    """No hand-computed scale: the image-pooling branch and the final resize follow --set res."""
    for res in (224, 520, 513):
        report = convcalc.analyze_network("deeplab_resnet50", params={"res": res})
        assert report.output.spatial == (res, res)
        assert not report.warnings


@pytest.mark.torch
@pytest.mark.parametrize(("size", "mode"), [(52, "bilinear"), (520, "bilinear"), (50, "nearest"),
                                             (20, "bilinear")])
def test_resize_against_torch(size: int, mode: str) -> None:
    """Shape, 0 MACs in FlopCounterMode, and each output's field = the gradient's support."""
    pytest.importorskip("torch")
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torch_ref import gradient_supports

    spec = _net([{"upsample": {"size": size, "mode": mode}}], "33x33x1")
    report = convcalc.analyze_network(spec)
    up = torch.nn.Upsample(size=(size, size), mode=mode)
    with FlopCounterMode(display=False) as counter:
        y = up(torch.zeros(1, 1, 33, 33))
    assert list(y.shape[2:]) == list(report.output.spatial)
    assert counter.get_total_flops() == 0
    positions = [[p, p] for p in range(0, size, max(1, size // 13))]
    axis = report.rows[-1].receptive_field[0]
    expected = []
    for p in positions:
        lo, hi = axis.interval(p[0])  # type: ignore[misc]
        expected.append([[max(lo, 0), min(hi, 32)]] * 2)
    assert gradient_supports(load_network(spec), report, positions, dust=1e-12) == expected


def test_ptflops_counts_a_sized_resize_twice() -> None:
    """Measured: ptflops 0.7 (pytorch backend) adds numel(y) for the module and numel(y) again
    for F.interpolate(size=…): 2·4·520·520 on top of the conv's 317,988."""
    from convcalc.conventions.ops import make
    from convcalc.conventions.ptflops import upsample

    op = make("upsample", Shape(4, (33, 33)), Shape(4, (520, 520)), mode="bilinear",
              size=(520, 520))
    assert upsample(op) == 2 * 4 * 520 * 520


# --- channels first on a 3-D network -----------------------------------------------------------

CLIP = {"name": "clip", "input": "16x112x112x3", "layers": [{"conv": {"out": 8, "kernel": 3}}]}


def test_channels_first_four_numbers_on_a_3d_network_are_c_d_h_w() -> None:
    """Was: N = 3, C = 16 (tripled MACs, no word)."""
    report = convcalc.analyze_network(CLIP, "3x16x112x112", channels_first=True)
    assert report.input == Shape(3, (16, 112, 112)) and report.batch == 1
    plain = convcalc.analyze_network(CLIP)
    assert report.totals()["macs"] == plain.totals()["macs"]


def test_channels_first_five_numbers_are_n_c_d_h_w() -> None:
    report = convcalc.analyze_network(CLIP, "2x3x16x112x112", channels_first=True)
    assert report.input == Shape(3, (16, 112, 112)) and report.batch == 2


def test_channels_first_four_numbers_on_a_2d_network_are_n_c_h_w() -> None:
    image = {**CLIP, "input": "112x112x3"}
    report = convcalc.analyze_network(image, "2x3x112x112", channels_first=True)
    assert report.input == Shape(3, (112, 112)) and report.batch == 2


def test_channels_first_ambiguous_without_a_rank_asks() -> None:
    with pytest.raises(SpecError, match="ambiguous") as e:
        parse_input("3x16x112x112", channels_first=True)
    assert "1x3x16x112x112" in e.value.message and "--batch 3" in e.value.message
    # a leading 1 is PyTorch's batch of one image
    assert parse_input("1x3x224x224", channels_first=True) == (Shape(3, (224, 224)), 1)


def test_channels_first_ambiguous_on_the_command_line() -> None:
    result = CliRunner().invoke(app, ["layer", "conv", "--out", "8", "--kernel", "3", "-i",
                                      "3x16x112x112", "--channels-first"])
    assert result.exit_code != 0 and "ambiguous" in result.output


# --- computed names ----------------------------------------------------------------------------


def test_name_takes_an_expression() -> None:
    spec = {"input": "8x8x3", "layers": [
        {"repeat": 3, "name": "${index + 1}", "body": [{"conv": {"out": 4, "kernel": 1}}]},
        {"conv": {"name": "${2 * 3}", "out": 4, "kernel": 1}}]}
    paths = [r.path for r in convcalc.analyze_network(spec).rows]
    assert paths == ["1.conv", "2.conv", "3.conv", "6"]


def test_name_expression_must_be_a_name() -> None:
    spec = {"input": "8x8x3", "layers": [{"conv": {"name": "${1 / 2}", "out": 4, "kernel": 1}}]}
    with pytest.raises(SpecError, match="name"):
        convcalc.analyze_network(spec)

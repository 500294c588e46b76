"""The receptive field after a global pool or a squeeze-excitation gate (issue 22, item 8): every
position sees the whole map the gate pooled, centred on it, and ASPP's image-pooling branch
(global pool, 1×1 conv, upsampled back) is a broadcast, not a misaligned path. Measured against
PyTorch's gradient support when torch is installed; the supports are written out for when not."""

from __future__ import annotations

from typing import Any

import pytest

import convcalc
from convcalc.network import load_network

# a squeeze-excitation, then a padded dilated conv, then an ASPP-like concat of a 1×1 conv, a
# padded dilated conv and the image-pooling branch, on a 33×33 input
SPEC: dict[str, Any] = {
    "name": "se_then_aspp", "input": "33x33x4",
    "layers": [
        {"se": {"squeeze": 2}},
        {"dilated": {"name": "after_se", "out": 4, "kernel": 3, "padding": 12, "dilation": 12}},
        {"branches": {"name": "aspp", "merge": "concat", "paths": [
            [{"pointwise": {"out": 4}}],
            [{"dilated": {"out": 4, "kernel": 3, "padding": 6, "dilation": 6}}],
            ["global_avgpool", {"pointwise": {"out": 4}},
             {"upsample": {"scale": 33, "mode": "bilinear"}}]]}},
        {"pointwise": {"name": "project", "out": 4}},
    ],
}
# PyTorch's gradient support of output unit (0, 0) and of the centre unit (16, 16) of the last
# layer: the whole 33×33 image (measured by test_supports_measured_by_gradient)
MEASURED = {(0, 0): [[0, 32], [0, 32]], (16, 16): [[0, 32], [0, 32]]}


def _report() -> convcalc.NetworkReport:
    return convcalc.analyze_network(SPEC)


def _field(report: convcalc.NetworkReport, path: str) -> dict[str, Any]:
    row = next(r for r in report.rows if r.path == path)
    return dict(row.to_dict()["receptive_field"])


def test_padded_dilated_conv_after_se_is_centred_on_the_image() -> None:
    """Was: centre 10 (the hull of the gate's 0…32 and the conv's own padded −12…12)."""
    assert _field(_report(), "after_se") == {"size": [33, 33], "jump": [1, 1],
                                             "start": [16, 16]}


def test_aspp_after_se_is_not_misaligned() -> None:
    report = _report()
    assert not [w for w in report.warnings if "misaligned" in w]
    for path in ("aspp.path0.pointwise", "aspp.path1.dilated", "project"):
        assert _field(report, path) == {"size": [33, 33], "jump": [1, 1], "start": [16, 16]}


def test_image_pooling_branch_is_a_broadcast() -> None:
    """Upsampling a 1×1 map: every output reads the one pixel (jump 0), none beyond it."""
    assert _field(_report(), "aspp.path2.upsample") == {"size": [33, 33], "jump": [0, 0],
                                                         "start": [16, 16]}


def test_deeplab_example_aspp_is_not_misaligned() -> None:
    report = convcalc.analyze_network("deeplab_resnet50")
    assert not [w for w in report.warnings if "misaligned" in w]


def test_field_equals_the_measured_support() -> None:
    """convcalc's field of the last layer, clipped to the image, is PyTorch's support."""
    field = _field(_report(), "project")
    for support in MEASURED.values():
        for (lo, hi), size, start in zip(support, field["size"], field["start"], strict=True):
            assert hi - lo + 1 == size and (lo + hi) / 2 == start


@pytest.mark.torch
def test_supports_measured_by_gradient() -> None:
    pytest.importorskip("torch")
    from torch_ref import gradient_supports

    report = _report()
    positions = [list(p) for p in MEASURED]
    assert gradient_supports(load_network(SPEC), report, positions, dust=0.0) == list(
        MEASURED.values())

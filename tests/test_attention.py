"""Attention kinds and the attention examples (issue 22, items 1 and 2) against torchvision.

Every matmul counts (q, k, v and output projections, q·kᵀ, attention·v, the MLPs, the patch
embedding, the head), as torchvision's documented GFLOPS do. The reference
(tests/fixtures/torchvision_models.json, key "attention", made by
`scripts/make_torchvision_fixtures.py --attention`) is measured with FlopCounterMode with grad
enabled on CPU under `sdpa_kernel(SDPBackend.MATH)`: the math kernel decomposes
scaled_dot_product_attention into the matmuls FlopCounterMode counts (the fused kernels are not
counted, and nn.MultiheadAttention's no_grad fast path hides its projections too). Live checks
run when torch is installed; the committed figures stand in otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import convcalc
from convcalc.errors import ConvcalcError
from convcalc.network import load_network

ROOT = Path(__file__).resolve().parent.parent
ATTENTION: dict[str, Any] = json.loads(
    (ROOT / "tests" / "fixtures" / "torchvision_models.json").read_text())["attention"]
# the example and its --set for each measured model
TWINS: dict[str, tuple[str, dict[str, Any]]] = {
    "vit_b_16": ("vit_b_16", {}), "vit_b_32": ("vit_b_16", {"patch": 32}),
    "swin_t": ("swin_t", {}), "maxvit_t": ("maxvit_t", {}),
    "swin_v2_t": ("swin_v2_t", {}),
    "swin_v2_b": ("swin_v2_t", {"d3": 18, "sd": 0.5, "embed": 128, "heads": 4}),
}
# torchvision's documented GFLOPS (its "GFLOPS" are G multiply-accumulates) and num_params
DOCUMENTED = {"vit_b_16": ("17.56", 86_567_656), "vit_b_32": ("4.41", 88_224_232),
              "swin_t": ("4.49", 28_288_354), "maxvit_t": ("5.56", 30_919_624),
              "swin_v2_t": ("5.94", 28_351_570), "swin_v2_b": ("20.33", 87_930_848)}


def _report(name: str) -> convcalc.NetworkReport:
    example, params = TWINS[name]
    return convcalc.analyze_network(example, params=params)


def _under(report: convcalc.NetworkReport, prefix: str) -> tuple[int, int]:
    rows = [r.report for r in report.rows if r.path == prefix or r.path.startswith(prefix + ".")]
    assert rows, prefix
    return sum(r.params for r in rows), sum(r.macs for r in rows)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_examples_equal_torchvision_totals(name: str) -> None:
    report = _report(name)
    ref = ATTENTION[name]
    assert (report.totals()["params"], report.totals()["macs"]) == (ref["params"], ref["macs"])
    assert [report.input.channels, *report.input.spatial] == ref["input"]
    assert [1, report.output.channels] == ref["output"]


@pytest.mark.parametrize("name", sorted(TWINS))
def test_examples_equal_torchvision_block_by_block(name: str) -> None:
    """Every recorded torchvision module (the patch embedding, each encoder block, each Swin
    block and patch merging, each MaxViT MBConv and block / grid attention, the heads): its
    params and MACs equal the sum of convcalc's rows under the same path."""
    report = _report(name)
    for path, (params, macs) in ATTENTION[name]["modules"].items():
        assert _under(report, path) == (params, macs), path


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_torchvision_documented_figures(name: str) -> None:
    gflops, params = DOCUMENTED[name]
    totals = _report(name).totals()
    assert f"{totals['macs'] / 1e9:.2f}" == gflops
    assert totals["params"] == params


def test_what_flopcountermode_misses() -> None:
    """ViT-B/16: 17.56 G with every matmul; no_grad's fused fast path hides the projections
    and the attention (11.27 G); with grad the fused CPU attention kernel is not counted."""
    ref = ATTENTION["vit_b_16"]
    assert ref["macs"] == 17_563_828_224
    assert ref["macs_no_grad"] == 11_271_124_992
    attention = 12 * 2 * 197 * 197 * 768  # q·kᵀ and attention·v in 12 blocks
    assert ref["macs_grad_default_kernel"] == ref["macs"] - attention


def test_family_sizes() -> None:
    """--set gives the other sizes (torchvision's num_params and GFLOPS)."""
    def totals(example: str, **params: Any) -> tuple[int, str]:
        t = convcalc.analyze_network(example, params=params).totals()
        return t["params"], f"{t['macs'] / 1e9:.2f}"

    assert totals("vit_b_16", dim=1024, depth=24, heads=16, mlp=4096) == (304_326_632, "61.55")
    assert totals("swin_t", d3=18, sd=0.3) == (49_606_258, "8.74")
    assert totals("swin_t", d3=18, sd=0.5, embed=128, heads=4) == (87_768_224, "15.43")
    assert totals("swin_v2_t", d3=18, sd=0.3) == (49_737_442, "11.55")


# --- the kinds ---------------------------------------------------------------------------------


def _layer(spec: dict[str, Any], shape: str) -> Any:
    return convcalc.analyze_layer(spec, shape)


def test_global_self_attention_formulas() -> None:
    """ViT-B's block: T = 197 tokens, C = 768: 4·C² + 4·C params; T·4C² + 2·T²·C MACs."""
    r = _layer({"kind": "self_attention", "heads": 12}, "197x768")
    c, t = 768, 197
    assert r.params == 4 * c * c + 4 * c
    assert r.macs == t * 4 * c * c + 2 * t * t * c
    assert [p.name for p in r.parts] == ["qkv", "scores", "softmax", "context", "proj"]
    assert r.parts[1].output.channels == 12 * 197  # heads·T scores per token


def test_window_attention_pads_to_whole_windows() -> None:
    """Swin pads a 10×10 map to 14×14 for 7×7 windows: the projections run on 196 tokens."""
    r = _layer({"kind": "self_attention", "heads": 3, "window": 7, "shift": 3,
                "position_bias": True}, "10x10x96")
    c, t, n = 96, 196, 49
    assert r.macs == t * 4 * c * c + 2 * t * n * c
    assert r.params == 4 * c * c + 4 * c + 13 * 13 * 3
    assert r.output.spatial == (10, 10)


def test_swin_v2_attention_formulas() -> None:
    """Cosine attention adds a logit scale per head; the bias MLP (2 → h → heads on the
    (2w−1)² offsets) replaces the table: its params and its MACs, once per pass."""
    c, t, n, heads, h = 96, 64 * 64, 64, 3, 512
    r = _layer({"kind": "self_attention", "heads": heads, "window": 8, "shift": 4,
                "cosine": True, "bias_mlp": h}, "64x64x96")
    assert r.params == 4 * c * c + 4 * c + heads + (2 * h + h + h * heads)
    assert r.macs == t * 4 * c * c + 2 * t * n * c + 15 * 15 * (2 * h + h * heads)
    assert [p.name for p in r.parts] == ["qkv", "scores", "logit_scale", "cpb_mlp", "softmax",
                                         "context", "proj"]
    macs = {f.metric: f.value for f in r.formulas}["MACs"]
    assert macs == r.macs
    # a batch multiplies every matmul but the bias MLP's, which runs on the table once
    four = convcalc.analyze_layer({"kind": "self_attention", "heads": heads, "window": 8,
                                   "cosine": True, "bias_mlp": h}, "64x64x96", batch=4)
    assert four.macs == 4 * (t * 4 * c * c + 2 * t * n * c) + 15 * 15 * (2 * h + h * heads)
    # position_bias: true says the same (the bias is the MLP's); cosine alone has no bias
    same = _layer({"kind": "self_attention", "heads": heads, "window": 8, "shift": 4,
                   "cosine": True, "bias_mlp": h, "position_bias": True}, "64x64x96")
    assert (same.params, same.macs) == (r.params, r.macs)
    plain = _layer({"kind": "self_attention", "heads": heads, "cosine": True}, "7x7x96")
    assert plain.params == 4 * c * c + 4 * c + heads


def test_patch_merging_v2_norms_after_the_reduction() -> None:
    r = _layer({"kind": "patch_merging", "norm": "after"}, "7x7x96")
    assert [p.name for p in r.parts] == ["space_to_depth", "reduction", "norm"]
    assert r.params == 4 * 96 * 192 + 2 * 192
    assert r.macs == 16 * 4 * 96 * 192
    v1 = _layer({"kind": "patch_merging"}, "7x7x96")
    assert r.receptive_field == v1.receptive_field


def test_grid_attention_needs_a_multiple_of_the_grid() -> None:
    with pytest.raises(ConvcalcError, match="multiple of 7"):
        _layer({"kind": "self_attention", "head_dim": 32, "window": 7, "partition": "grid"},
               "30x30x64")


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "self_attention"}, "give heads or head_dim"),
    ({"kind": "self_attention", "heads": 3, "shift": 1}, "need a window"),
    ({"kind": "self_attention", "heads": 3, "window": 7, "shift": 2, "partition": "grid"},
     "no shift"),
    ({"kind": "mlp"}, "give hidden"),
    ({"kind": "self_attention", "heads": 3, "bias_mlp": 512}, "needs a window"),
    ({"kind": "self_attention", "heads": 3, "window": 7, "bias_mlp": 512,
      "position_bias": False}, "false contradicts bias_mlp"),
    ({"kind": "self_attention", "heads": 3, "window": 7, "bias_mlp": 0}, "bias_mlp"),
    ({"kind": "patch_merging", "norm": "middle"}, "norm"),
])
def test_attention_fields_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises((ConvcalcError, ValueError), match=message):
        _layer(spec, "14x14x96")


@pytest.mark.parametrize(("spec", "shape", "message"), [
    ({"kind": "self_attention", "heads": 5}, "14x14x96", "must divide the channels"),
    ({"kind": "self_attention", "heads": 3, "window": 7, "shift": 7}, "14x14x96",
     "less than the window"),
    ({"kind": "take_token", "index": 5}, "5x8", "past the last"),
    ({"kind": "to_map", "size": [3, 3]}, "10x8", "holds 9 tokens"),
    ({"kind": "class_token"}, "4x4x8", "token sequence"),
    ({"kind": "patch_merging"}, "16x8", "H×W×C"),
])
def test_attention_shapes_refused(spec: dict[str, Any], shape: str, message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        _layer(spec, shape)


def test_token_steps_cost_nothing() -> None:
    t = _layer({"kind": "to_tokens"}, "14x14x768")
    assert (t.output.channels, t.output.spatial, t.params, t.macs) == (768, (196,), 0, 0)
    c = _layer({"kind": "class_token"}, "196x768")
    assert (c.output.spatial, c.params, c.macs) == ((197,), 768, 0)
    p = _layer({"kind": "pos_embedding"}, "197x768")
    assert (p.params, p.macs) == (197 * 768, 0)
    k = _layer({"kind": "take_token"}, "197x768")
    assert (k.output.channels, k.output.spatial, k.macs) == (768, (), 0)
    m = _layer({"kind": "to_map", "size": [14, 14]}, "196x768")
    assert (m.output.spatial, m.params, m.macs) == ((14, 14), 0, 0)


def test_patch_merging_pads_odd_maps() -> None:
    r = _layer({"kind": "patch_merging"}, "7x7x96")
    assert r.output.spatial == (4, 4) and r.output.channels == 192
    assert r.params == 8 * 96 + 4 * 96 * 192
    assert r.macs == 16 * 4 * 96 * 192


def test_mlp_ratio() -> None:
    r = _layer({"kind": "mlp", "ratio": 4}, "56x56x96")
    assert r.params == 96 * 384 + 384 + 384 * 96 + 96
    assert r.macs == 56 * 56 * 2 * 96 * 384


def test_attention_explains_its_counts() -> None:
    r = _layer({"kind": "self_attention", "heads": 12}, "197x768")
    macs = {f.metric: f.value for f in r.formulas}["MACs"]
    assert macs == r.macs


# --- receptive fields through attention, stated per row ----------------------------------------


def _rows(report: convcalc.NetworkReport) -> dict[str, Any]:
    return {r.path: r for r in report.rows}


def test_vit_field_is_the_patch_then_the_image() -> None:
    """A patch token sees its 16×16 patch; after the first attention every token sees the
    whole image (224×224), and so does everything after it."""
    rows = _rows(convcalc.analyze_network("vit_b_16"))
    assert rows["to_tokens"].to_dict()["receptive_field"]["size"] == [16, 16]
    first = rows["encoder.layers.encoder_layer_0.self_attention"].to_dict()["receptive_field"]
    assert first["size"] == [224, 224] and first["start"] == ["223/2", "223/2"]
    assert rows["heads.head"].to_dict()["receptive_field"]["size"] == [224, 224]


def test_window_attention_field_is_its_window() -> None:
    """After a 4×4 stride-4 patch embedding, a 7×7 window attention: unit 0 sees its window,
    28×28 pixels, and no warning of misaligned paths from the residual beside it."""
    report = convcalc.analyze_network({"input": "56x56x3", "layers": [
        {"conv": {"out": 8, "kernel": 4, "stride": 4}},
        {"residual": {"body": [{"self_attention": {"heads": 2, "window": 7}}]}}]})
    axis = report.rows[-1].receptive_field[0]
    assert axis.interval(0) == (0, 27) and axis.interval(6) == (0, 27)
    assert axis.interval(7) == (28, 55)
    assert not report.warnings


# --- against torch, live ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def torchvision() -> Iterator[Any]:
    try:
        from torchvision_ref import import_torchvision

        tv = import_torchvision()
    except ImportError:
        pytest.skip("torch and torchvision are not installed")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tv
    torch.set_num_threads(threads)


def _full_macs(module: Any, *inputs: Any) -> int:
    """FlopCounterMode with grad and the math attention kernel: every matmul."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        module(*inputs)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return int(flops // 2)


def _params(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.torch
def test_self_attention_equals_nn_multiheadattention(torchvision: Any) -> None:
    import torch

    mha = torch.nn.MultiheadAttention(64, 4, batch_first=True).eval()
    x = torch.zeros(1, 50, 64)
    r = _layer({"kind": "self_attention", "heads": 4}, "50x64")
    assert (_params(mha), _full_macs(lambda t: mha(t, t, t, need_weights=False), x)) == (
        r.params, r.macs)


@pytest.mark.torch
@pytest.mark.parametrize(("size", "shift"), [(14, 3), (10, 3), (7, 3), (14, 0)])
def test_window_attention_equals_torchvision_swin(torchvision: Any, size: int,
                                                  shift: int) -> None:
    """ShiftedWindowAttention: padding to whole windows (10 → 14), no shift where the window
    covers the map (7)."""
    import torch

    swa = torchvision.models.swin_transformer.ShiftedWindowAttention(96, [7, 7], [shift, shift],
                                                                      3).eval()
    x = torch.zeros(1, size, size, 96)
    r = _layer({"kind": "self_attention", "heads": 3, "window": 7, "shift": shift,
                "position_bias": True}, f"{size}x{size}x96")
    assert (_params(swa), _full_macs(swa, x)) == (r.params, r.macs)


@pytest.mark.torch
@pytest.mark.parametrize(("size", "shift"), [(16, 4), (10, 4), (8, 4), (16, 0)])
def test_v2_window_attention_equals_torchvision_swin(torchvision: Any, size: int,
                                                     shift: int) -> None:
    """ShiftedWindowAttentionV2: the logit scale, the bias MLP (counted as FlopCounterMode
    counts its two linears), padding 10 → 16, no shift where the window covers the map."""
    import torch

    swa = torchvision.models.swin_transformer.ShiftedWindowAttentionV2(
        96, [8, 8], [shift, shift], 3).eval()
    x = torch.zeros(1, size, size, 96)
    r = _layer({"kind": "self_attention", "heads": 3, "window": 8, "shift": shift,
                "cosine": True, "bias_mlp": 512}, f"{size}x{size}x96")
    assert (_params(swa), _full_macs(swa, x)) == (r.params, r.macs)
    cpb = next(p for p in r.parts if p.name == "cpb_mlp")
    assert (_params(swa.cpb_mlp), _full_macs(swa.cpb_mlp, swa.relative_coords_table)) == (
        cpb.params, cpb.macs)
    # the bias MLP runs once whatever the batch
    four = convcalc.analyze_layer({"kind": "self_attention", "heads": 3, "window": 8,
                                   "shift": shift, "cosine": True, "bias_mlp": 512},
                                  f"{size}x{size}x96", batch=4)
    assert _full_macs(swa, torch.zeros(4, size, size, 96)) == four.macs


@pytest.mark.torch
@pytest.mark.parametrize("size", [8, 9])
def test_patch_merging_v2_equals_torchvision(torchvision: Any, size: int) -> None:
    import torch

    merging = torchvision.models.swin_transformer.PatchMergingV2(24).eval()
    x = torch.zeros(1, size, size, 24)
    r = _layer({"kind": "patch_merging", "norm": "after"}, f"{size}x{size}x24")
    assert list(merging(x).shape) == [1, *r.output.spatial, r.output.channels]
    assert (_params(merging), _full_macs(merging, x)) == (r.params, r.macs)


@pytest.mark.torch
@pytest.mark.parametrize("partition", ["window", "grid"])
def test_partition_attention_equals_torchvision_maxvit(torchvision: Any,
                                                       partition: str) -> None:
    import torch

    layer = torchvision.models.maxvit.PartitionAttentionLayer(
        64, 32, 7, partition, (28, 28), 4, torch.nn.GELU, torch.nn.LayerNorm, 0.0, 0.0,
        0.0).eval()
    spec = {"input": "28x28x64", "layers": [
        {"residual": {"body": ["layernorm", {"self_attention": {
            "head_dim": 32, "window": 7, "partition": partition, "position_bias": True}}]}},
        {"residual": {"body": ["layernorm", {"mlp": {"ratio": 4}}]}}]}
    t = convcalc.analyze_network(spec).totals()
    assert (_params(layer), _full_macs(layer, torch.zeros(1, 64, 28, 28))) == (t["params"],
                                                                                 t["macs"])


@pytest.mark.torch
@pytest.mark.parametrize("size", [8, 9])
def test_patch_merging_equals_torchvision(torchvision: Any, size: int) -> None:
    import torch

    merging = torchvision.models.swin_transformer.PatchMerging(24).eval()
    y = merging(torch.zeros(1, size, size, 24))
    r = _layer({"kind": "patch_merging"}, f"{size}x{size}x24")
    assert list(y.shape) == [1, *r.output.spatial, r.output.channels]
    assert (_params(merging), _full_macs(merging, torch.zeros(1, size, size, 24))) == (
        r.params, r.macs)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["vit_b_16", "swin_t", "maxvit_t", "swin_v2_t"])
def test_export_builds_the_examples_exactly(torchvision: Any, name: str) -> None:
    """The exported module (explicit matmuls) has torchvision's params and, under
    FlopCounterMode with no_grad, its full MACs and every row's output shape."""
    from torch_ref import build_network, measure_network

    net = load_network(name)
    report = convcalc.analyze_network(net)
    model, leaves = build_network(net, report)
    measured = measure_network(model, leaves, report.input)
    assert (measured["params"], measured["macs"]) == (ATTENTION[name]["params"],
                                                      ATTENTION[name]["macs"])
    assert measured["output"] == [1, 1000]
    for (row, _), shape in zip(leaves, measured["layer_shapes"], strict=True):
        assert shape == [1, row.report.output.channels, *row.report.output.spatial], row.path


@pytest.mark.torch
@pytest.mark.parametrize("name", ["vit_b_32", "swin_v2_t"])
def test_live_measurement_equals_the_fixture(torchvision: Any, name: str) -> None:
    from torchvision_ref import measure_attention

    assert measure_attention(name) == ATTENTION[name]


@pytest.mark.torch
def test_window_and_grid_fields_measured_by_gradient(torchvision: Any) -> None:
    """The exported window (shifted) and grid attention: PyTorch's gradient support of output
    units equals convcalc's field (borders clipped, as gradients are). Swin masks the tokens a
    shifted window wraps onto with −100 before the softmax, as torchvision does: their weight
    e^−100 is float dust, below the threshold."""
    pytest.importorskip("torch")
    from torch_ref import gradient_supports

    spec = {"input": "28x28x4", "layers": [
        {"conv": {"out": 8, "kernel": 2, "stride": 2}},
        {"self_attention": {"heads": 2, "window": 7, "shift": 3}},
        {"self_attention": {"heads": 2, "window": 7, "partition": "grid"}}]}
    for layers in (spec["layers"][:2], spec["layers"][::2]):
        one = {**spec, "layers": layers}
        report = convcalc.analyze_network(one)
        positions = [[0, 0], [2, 5], [4, 4], [9, 13], [13, 13]]
        measured = gradient_supports(load_network(one), report, positions, dust=1e-20)
        axes = report.rows[-1].receptive_field
        for position, support in zip(positions, measured, strict=True):
            got = []
            for axis, p in enumerate(position):
                lo, hi = axes[axis].interval(p)  # type: ignore[misc]
                got.append([max(lo, 0), min(hi, 27)])
            assert got == support, (layers[-1], position)


def test_huge_window_is_refused_and_long_sequences_stay_global() -> None:
    """No unbounded work: a window longer than the field's phases is refused by name; a token
    sequence longer than that is stated whole from to_tokens on."""
    with pytest.raises(ConvcalcError, match="window"):
        _layer({"kind": "self_attention", "heads": 2, "window": 1_000_000}, "100000x4")
    report = convcalc.analyze_network({"input": "100000x4", "layers": [
        "to_tokens", {"self_attention": {"heads": 2}}]})
    assert report.rows[-1].to_dict()["receptive_field"]["size"] == [100000]

"""Networks: totals against torchvision (plain-torch rebuilds), per-layer shapes against torch,
receptive fields against published values and PyTorch gradient support, the JSON contract."""

from __future__ import annotations

import json
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import convcalc
from convcalc.network import load_network

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["data"]


TORCHVISION = fixture("torchvision_totals.json")
TORCH_NETS = fixture("torch_networks.json")
RF = fixture("rf_supports.json")
RF_LAYERS = fixture("rf_layers.json")

# The figures the issue quotes from torchvision (params, MACs = FlopCounterMode FLOPs / 2).
PUBLISHED = {
    "alexnet": (61_100_840, 714_188_480), "vgg16": (138_357_544, 15_470_264_320),
    "resnet18": (11_689_512, 1_814_073_344), "resnet50": (25_557_032, 4_089_184_256),
    "mobilenet_v2": (3_504_872, 300_774_272), "shufflenet_v2_x1_0": (2_278_604, 144_907_992),
    "squeezenet1_1": (1_235_496, 349_151_936), "mobilenet_v1": (4_231_976, 568_740_352),
}


def totals(name: str) -> dict[str, int]:
    return convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml").totals()


def test_every_issue_example_exists() -> None:
    names = {p.stem for p in EXAMPLES}
    assert names >= {"mobilenet_v1", "mobilenet_v2", "resnet18", "resnet50", "vgg16", "alexnet",
                     "squeezenet1_1", "shufflenet_v2_x1_0", "shufflenet_v1_g3", "dcgan_generator",
                     "unet_small", "deeplab_resnet50", "octave_resnet"}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_equal_torchvision(name: str) -> None:
    t = totals(name)
    assert (t["params"], t["macs"]) == PUBLISHED[name]
    assert TORCHVISION[name] == {"params": t["params"], "macs": t["macs"]}
    assert t["flops"] == 2 * t["macs"]


def test_shufflenet_v1_g3_matches_the_paper() -> None:
    """Zhang et al. 2018, Table 1: ShuffleNet 1×, g = 3 costs 137 MFLOPs (the paper's FLOPs
    are multiply-adds, i.e. MACs here)."""
    assert round(totals("shufflenet_v1_g3")["macs"] / 1e6) == 137


def test_deeplab_matches_torchvision_without_the_aux_classifier() -> None:
    """torchvision publishes 42,004,074 params for deeplabv3_resnet50, aux classifier included;
    the example has no aux head: FCNHead(1024, 21) = 3×3 conv 1024→256 (no bias) + BN(256) +
    1×1 conv 256→21 with bias."""
    aux = 3 * 3 * 1024 * 256 + 2 * 256 + 256 * 21 + 21
    assert totals("deeplab_resnet50")["params"] == 42_004_074 - aux


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_equal_live_plain_torch_rebuild(name: str) -> None:
    pytest.importorskip("torch")
    from torch_nets import totals as torch_totals

    t = totals(name)
    assert torch_totals(name) == {"params": t["params"], "macs": t["macs"]}


def _ours(path: Path) -> dict[str, Any]:
    report = convcalc.analyze_network(path)
    t = report.totals()
    return {"output": [1, report.output.channels, *report.output.spatial], "params": t["params"],
            "macs": t["macs"],
            "layer_shapes": [[1, r.report.output.channels, *r.report.output.spatial]
                             for r in report.rows]}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_layer_matches_torch_fixture(path: Path) -> None:
    assert _ours(path) == TORCH_NETS[path.stem]


@pytest.mark.torch
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_layer_matches_live_torch(path: Path) -> None:
    pytest.importorskip("torch")
    from torch_ref import build_network, measure_network

    net = load_network(path)
    report = convcalc.analyze_network(net)
    model, leaves = build_network(net, report)
    assert measure_network(model, leaves, report.input) == _ours(path)


@pytest.mark.parametrize(("name", "layer", "size"), [
    ("mobilenet_v1", "block13.pw", 315),
    ("vgg16", "stage5.maxpool", 212),
    ("alexnet", "pool5", 195),
    ("resnet50", "layer4.2.conv3", 427),
])
def test_published_receptive_fields(name: str, layer: str, size: int) -> None:
    report = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml")
    row = next(r for r in report.rows if r.path == layer)
    assert row.to_dict()["receptive_field"]["size"] == [size, size]


def _interval(report: convcalc.NetworkReport, pos: list[int], clip: bool) -> list[list[int]]:
    last = report.rows[-1].receptive_field
    out = []
    for axis, p in enumerate(pos):
        interval = last[axis].interval(p)
        assert interval is not None
        lo, hi = interval
        if clip:
            lo, hi = max(lo, 0), min(hi, report.input.spatial[axis] - 1)
        out.append([lo, hi])
    return out


@pytest.mark.parametrize("name", sorted(RF["examples"]))
def test_example_fields_equal_gradient_support_fixture(name: str) -> None:
    case = RF["examples"][name]
    report = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml", case["input"])
    assert [_interval(report, p, clip=True) for p in case["positions"]] == case["supports"]


@pytest.mark.parametrize("case", RF["stacks"], ids=lambda c: f"{len(c['spec']['layers'])}-layers")
def test_random_stack_fields_equal_gradient_support_fixture(case: dict[str, Any]) -> None:
    report = convcalc.analyze_network(case["spec"])
    assert [_interval(report, p, clip=False) for p in case["positions"]] == case["supports"]


@pytest.mark.torch
def test_random_stack_fields_equal_live_gradient_support() -> None:
    pytest.importorskip("torch")
    from torch_ref import stack_cases

    for case in stack_cases(random.Random(), 40):
        report = convcalc.analyze_network(case["spec"])
        assert [_interval(report, p, clip=False) for p in case["positions"]] == case["supports"]


def _clipped(row: Any, position: list[int], spatial: tuple[int, ...]) -> list[list[int] | None]:
    out: list[list[int] | None] = []
    for axis, p in enumerate(position):
        interval = row.receptive_field[axis].interval(p)
        out.append(None if interval is None else
                   [max(interval[0], 0), min(interval[1], spatial[axis] - 1)])
    return out


@pytest.mark.parametrize("name", sorted(RF_LAYERS))
def test_layer_fields_equal_gradient_support_fixture(name: str) -> None:
    """At rows spread over every example (gates, LayerNorm, transposed convs included), the
    field of the centre unit equals the support of PyTorch's gradient, clipped to the image."""
    report = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml")
    rows = {r.path: r for r in report.rows}
    for case in RF_LAYERS[name]:
        row = rows[case["row"]]
        if all(n == 1 for n in row.report.output.spatial):
            continue  # see torch_ref.spread_rows: the field leaves out border effects
        got = _clipped(row, case["position"], report.input.spatial)
        assert got == case["support"], case["row"]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["efficientnet_b0", "convnext_tiny", "unet_small"])
def test_layer_fields_equal_live_gradient_support(name: str) -> None:
    pytest.importorskip("torch")
    from torch_ref import row_supports, spread_rows

    net = load_network(ROOT / "examples" / f"{name}.yaml")
    report = convcalc.analyze_network(net)
    chosen = spread_rows(report, 3)
    for index, case in zip(chosen, row_supports(net, report, chosen, 0.0), strict=True):
        row = report.rows[index]
        assert _clipped(row, case["position"], report.input.spatial) == case["support"]


def test_transposed_field_beats_the_plain_recurrence() -> None:
    """After transposed convs the plain recurrence (size += (K−1)·jump, jump /= S) gives 27/4,
    i.e. 7 rounded up; each unit really sees 6 pixels. The supports below were measured with
    PyTorch's gradient (tests/torch_ref.gradient_supports) for one period of 8 output units."""
    spec = {"input": "64x1", "layers": [
        {"conv": {"out": 1, "kernel": 3}},
        {"transposed": {"out": 1, "kernel": 3, "stride": 2}},
        {"conv": {"out": 1, "kernel": 3}},
        {"transposed": {"out": 1, "kernel": 4, "stride": 2}},
        {"conv": {"out": 1, "kernel": 5}},
    ]}
    torch_supports = {28: (6, 11), 51: (11, 16), 74: (17, 22), 97: (23, 28), 120: (29, 34),
                      143: (34, 39), 166: (40, 45), 189: (46, 51)}
    report = convcalc.analyze_network(spec)
    axis = report.rows[-1].receptive_field[0]
    assert {p: axis.interval(p) for p in torch_supports} == torch_supports
    assert axis.size == 6
    assert axis.jump == Fraction(1, 4)
    recurrence, jump = Fraction(1), Fraction(1)
    for transposed, k, s in [(0, 3, 1), (1, 3, 2), (0, 3, 1), (1, 4, 2), (0, 5, 1)]:
        if transposed:
            jump /= s
        recurrence += (k - 1) * jump
        if not transposed:
            jump *= s
    assert recurrence == Fraction(27, 4)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_totals_are_sums_of_rows(path: Path) -> None:
    report = convcalc.analyze_network(path)
    t = report.totals()
    assert t["params"] == sum(r.report.params for r in report.rows)
    assert t["macs"] == sum(r.report.macs for r in report.rows)
    for r in report.rows:
        assert r.report.params == sum(leaf.params for leaf in r.report.leaves())


def test_json_contract_and_api_mapping() -> None:
    spec = {"name": "tiny", "input": "8x8x3", "layers": [
        {"conv": {"out": 4, "kernel": 3, "padding": 1}}, "relu",
        {"transposed": {"out": 2, "kernel": 2, "stride": 2}}]}
    data = convcalc.analyze_network(spec).to_dict()
    assert set(data) == {"name", "input", "output", "layers", "totals", "warnings"}
    assert [row["path"] for row in data["layers"]] == ["conv", "relu", "transposed"]
    last = data["layers"][-1]
    assert {"kind", "name", "input", "output", "params", "weight_params", "bias_params", "macs",
            "flops", "receptive_field", "memory", "parts", "path"} <= set(last)
    assert last["receptive_field"]["jump"] == ["1/2", "1/2"]
    assert last["receptive_field"]["size"] == [3, 3]
    assert data["totals"]["macs"] == 4 * 3 * 9 * 64 + 4 * 2 * 4 * 64


def test_schema_validates_every_example() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from convcalc.schema import network_schema

    schema = network_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in EXAMPLES:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


TORCHVISION_MODELS = json.loads((FIXTURES / "torchvision_models.json").read_text())["data"]
TWINS = {"alexnet": {}, "vgg16": {}, "resnet18": {}, "resnet50": {}, "mobilenet_v2": {},
         "mobilenet_v3_large": {}, "efficientnet_b0": {}, "shufflenet_v2_x1_0": {},
         "squeezenet1_1": {}, "regnet_y_400mf": {}, "convnext_tiny": {},
         "deeplabv3_mobilenet_v3_large": {}, "lraspp_mobilenet_v3_large": {},
         "mobilenet_v2_w075_160": {"width": Fraction(3, 4), "input": "160x160x3"}}
CONV_KINDS = {"conv", "pointwise", "grouped", "depthwise", "dilated", "pointwise_group",
              "transposed", "linear"}


def _conv_and_linear(report: convcalc.NetworkReport) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for row in report.rows:
        for leaf in row.report.leaves():
            if leaf.kind in CONV_KINDS:
                shape = (1, leaf.output.channels, *leaf.output.spatial)
                out[("linear" if leaf.kind == "linear" else "conv", shape, leaf.params,
                     leaf.macs)] += 1
    return out


@pytest.mark.parametrize("name", sorted(TWINS))
def test_examples_equal_torchvision_layer_by_layer(name: str) -> None:
    """params, MACs and every conv and linear layer (output shape, params, MACs) equal
    torchvision's model (tests/fixtures/torchvision_models.json, made by
    scripts/make_torchvision_fixtures.py from torchvision 0.28.0)."""
    example = "mobilenet_v2" if name.startswith("mobilenet_v2") else name
    report = convcalc.analyze_network(ROOT / "examples" / f"{example}.yaml",
                                      params=TWINS[name])
    theirs = TORCHVISION_MODELS[name]
    assert (report.totals()["params"], report.totals()["macs"]) == (theirs["params"],
                                                                      theirs["macs"])
    expected: Counter[tuple[Any, ...]] = Counter()
    for layer in theirs["layers"]:
        if layer["type"] in ("Conv2d", "Linear"):
            shape = layer["output"]
            if layer["type"] == "Linear" and len(shape) == 4:  # channels-last (ConvNeXt)
                shape = [shape[0], shape[3], shape[1], shape[2]]
            kind = "linear" if layer["type"] == "Linear" and len(shape) == 2 else "conv"
            expected[(kind, tuple(shape), layer["params"], layer["macs"])] += 1
    assert _conv_and_linear(report) == expected


# --- the segmentation examples ----------------------------------------------------------------

# torchvision's FCNHead(40, classes) on the 40-channel stride-8 map (⌈520/8⌉ = 65), resized to
# the input: the aux head its published deeplabv3_mobilenet_v3_large figures include
AUX_HEAD = {"input": "65x65x40", "defaults": {"bias": False}, "layers": [
    {"conv": {"out": 10, "kernel": 3, "padding": 1}}, "bn", "relu", {"dropout": {"p": 0.1}},
    {"conv": {"out": 21, "kernel": 1, "bias": True}},
    {"upsample": {"size": 520, "mode": "bilinear"}}]}


def test_segmentation_examples_equal_torchvisions_published_figures() -> None:
    """torchvision publishes 11,029,328 params and 10.452 GFLOPS for
    deeplabv3_mobilenet_v3_large: the model its weights load into, with the training-only aux
    head (a second output). weights=None builds it without that head, as the example does; the
    head's own counts make up the difference exactly. LRASPP has no aux head: 3,221,538 params
    and 2.086 GFLOPS (G multiply-accumulates) at the 520×520 default."""
    deeplab = totals("deeplabv3_mobilenet_v3_large")
    aux = convcalc.analyze_network(AUX_HEAD).totals()
    assert (deeplab["params"], deeplab["macs"]) == (11_025_477, 10_436_350_688)
    assert aux["params"] == 3_851
    assert deeplab["params"] + aux["params"] == 11_029_328
    assert f"{(deeplab['macs'] + aux['macs']) / 1e9:.3f}" == "10.452"
    lraspp = totals("lraspp_mobilenet_v3_large")
    assert (lraspp["params"], lraspp["macs"]) == (3_221_538, 2_086_219_688)
    assert f"{lraspp['macs'] / 1e9:.3f}" == "2.086"


@pytest.mark.parametrize("res", [520, 257, 96])
def test_segmentation_resizes_follow_the_input(res: int) -> None:
    """The resizes are sizes (F.interpolate(size=…)), not scales: ASPP's image pooling back to
    the ⌈res/16⌉ map, LRASPP's high branch to the ⌈res/8⌉ low map, both outputs to res×res."""
    from math import ceil

    for name, inner in (("deeplabv3_mobilenet_v3_large", ceil(res / 16)),
                        ("lraspp_mobilenet_v3_large", ceil(res / 8))):
        report = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml",
                                          params={"res": res})
        assert (report.output.channels, report.output.spatial) == (21, (res, res))
        resizes = [r for r in report.rows if r.report.kind == "upsample"]
        assert [r.report.output.spatial for r in resizes] == [(inner, inner), (res, res)]
        assert all(r.spec.size is not None for r in resizes), name


@pytest.mark.torch
@pytest.mark.parametrize("name", ["deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"])
def test_segmentation_examples_equal_torchvision_at_another_size(name: str) -> None:
    """At an odd 257×257 (⌈257/16⌉ = 17, ⌈257/8⌉ = 33): params, FlopCounterMode's MACs and the
    output shape of torchvision's model."""
    pytest.importorskip("torch")
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torchvision_ref import factory_of

    try:
        factory = factory_of(f"segmentation.{name}")
    except ImportError:
        pytest.skip("torchvision is not installed")
    model = factory(weights=None, weights_backbone=None).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.zeros(1, 3, 257, 257))["out"]
    report = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml", params={"res": 257})
    t = report.totals()
    assert (t["params"], t["macs"]) == (sum(p.numel() for p in model.parameters()),
                                        counter.get_total_flops() // 2)
    assert list(out.shape) == [1, report.output.channels, *report.output.spatial]

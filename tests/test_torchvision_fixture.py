"""The torchvision reference fixture (tests/fixtures/torchvision_models.json): complete, consistent
with itself and with torchvision's published figures, and equal to a live re-measurement when
torch and torchvision are installed. Regenerate with scripts/make_torchvision_fixtures.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from torchvision_ref import MODELS, RF_TYPES, SEGMENTATION, import_torchvision

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "torchvision_models.json").read_text())
DATA: dict[str, Any] = FIXTURE["data"]

# torchvision's published figures: num_params from the weights' metadata (GFLOPS there are
# rounded, so MACs come from the brief's FlopCounterMode figures where quoted).
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512,
    "resnet50": 25_557_032, "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032,
    "efficientnet_b0": 5_288_548, "shufflenet_v2_x1_0": 2_278_604, "squeezenet1_1": 1_235_496,
    "googlenet": 6_624_904, "densenet121": 7_978_856, "regnet_y_400mf": 4_344_144,
    "convnext_tiny": 28_589_128,
    # published 27,161,264 includes the AuxLogits head (3,326,696), absent here
    "inception_v3": 27_161_264 - 3_326_696,
    # published 11,029,328 includes the pretrained weights' aux head (FCNHead(40, 21): 3,851),
    # which weights=None does not build
    "deeplabv3_mobilenet_v3_large": 11_029_328 - 3_851,
    "lraspp_mobilenet_v3_large": 3_221_538,
}
KNOWN = {
    "efficientnet_b0": (5_288_548, 385_814_752), "mobilenet_v3_large": (5_483_032, 216_589_760),
    "regnet_y_400mf": (4_344_144, 401_842_848), "convnext_tiny": (28_589_128, 4_455_531_264),
    "resnet50": (25_557_032, 4_089_184_256), "mobilenet_v2": (3_504_872, 300_774_272),
    # tests/fixtures/torchvision_totals.json (plain-torch rebuilds)
    "alexnet": (61_100_840, 714_188_480), "vgg16": (138_357_544, 15_470_264_320),
    "resnet18": (11_689_512, 1_814_073_344), "shufflenet_v2_x1_0": (2_278_604, 144_907_992),
    "squeezenet1_1": (1_235_496, 349_151_936),
}
LIVE = ["squeezenet1_1", "mobilenet_v3_large"]


def test_every_model_is_present() -> None:
    assert set(DATA) == set(MODELS)
    assert {"torch", "torchvision", "date"} <= set(FIXTURE["meta"])


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_params_equal_torchvision_published(name: str) -> None:
    assert DATA[name]["params"] == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_totals(name: str) -> None:
    assert (DATA[name]["params"], DATA[name]["macs"]) == KNOWN[name]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layers_add_up_to_the_model(name: str) -> None:
    record = DATA[name]
    layers = record["layers"]
    assert record["input"] == list(MODELS[name][2])
    assert record["output"] == ([1, 21, *MODELS[name][2][1:]] if name in SEGMENTATION
                                else [1, 1000])
    assert layers[0]["input"] == [1, *record["input"]]
    # parameters outside every leaf: only ConvNeXt's per-block layer_scale (a plain multiply)
    assert all(p.endswith(".layer_scale") for p in record["nonleaf_params"])
    assert bool(record["nonleaf_params"]) == (name == "convnext_tiny")
    assert record["unused_params"] == {}
    assert sum(x["params"] for x in layers) + sum(record["nonleaf_params"].values()) \
        == record["params"]
    # every counted MAC is inside a leaf module; the functional ops (pools, mean) count none
    assert sum(x["macs"] for x in layers if not x["type"].startswith("F.")) == record["macs"]
    assert all(x["macs"] == 0 for x in layers if x["type"].startswith("F."))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layer_records_are_well_formed(name: str) -> None:
    seen: set[str] = set()
    for layer in DATA[name]["layers"]:
        assert set(layer) == {"name", "type", "input", "output", "params", "macs"}
        assert all(n >= 1 for n in layer["input"] + layer["output"])
        assert layer["params"] >= 0 and layer["macs"] >= 0
        module_call = not layer["type"].startswith("F.")
        if module_call and layer["name"] in seen:
            assert layer["params"] == 0  # a reused leaf's parameters count at its first call
        if module_call:
            seen.add(layer["name"])
        # FlopCounterMode counts convolutions and matrix products only
        if layer["type"] in ("Conv2d", "Linear"):
            assert layer["params"] > 0 and layer["macs"] > 0
        else:
            assert layer["macs"] == 0


@pytest.mark.parametrize("name", sorted(MODELS))
def test_receptive_fields_are_well_formed(name: str) -> None:
    record = DATA[name]
    order = {x["name"]: i for i, x in enumerate(record["layers"]) if not x["type"].startswith("F.")}
    types = {x["name"]: x["type"] for x in record["layers"]}
    rf = record["rf"]
    assert 5 <= len(rf) <= 30
    assert [order[r["layer"]] for r in rf] == sorted(order[r["layer"]] for r in rf)
    h, w = record["input"][1:]
    has_local = "local" in rf[0]
    assert has_local == (name in ("mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf",
                                  *SEGMENTATION))  # MobileNetV3 backbones
    for r in rf:
        assert types[r["layer"]] in RF_TYPES
        for support in [r["support"]] + ([r["local"]] if has_local else []):
            (top, bottom), (left, right) = support
            assert 0 <= top <= bottom < h and 0 <= left <= right < w
        if has_local:  # holding the excitation scales constant can only shrink the field
            (t, b), (lf, rt) = r["local"]
            (top, bottom), (left, right) = r["support"]
            assert top <= t and b <= bottom and left <= lf and rt <= right


def _support(name: str, layer: str) -> list[list[int]]:
    return next(r["support"] for r in DATA[name]["rf"] if r["layer"] == layer)


# Fields worked out by hand from torchvision's layer definitions: the centre unit (c) of an
# output of size n with kernel k, stride s, padding p sees input rows c·s − p … c·s − p + k − 1.
@pytest.mark.parametrize(("name", "layer", "rows"), [
    ("alexnet", "features.0", [27 * 4 - 2, 27 * 4 - 2 + 10]),        # 11×11 /4 p2, 55 out
    ("vgg16", "features.0", [111, 113]),                                # 3×3 p1
    ("vgg16", "features.2", [110, 114]),                                # two 3×3: 5×5
    ("vgg16", "features.4", [110, 115]),                                # + 2×2/2 pool: 6×6
    ("resnet50", "conv1", [56 * 2 - 3, 56 * 2 + 3]),                    # 7×7 /2 p3, 112 out
    ("inception_v3", "Conv2d_1a_3x3.conv", [74 * 2, 74 * 2 + 2]),       # 3×3 /2 p0, 149 out
    ("squeezenet1_1", "features.2", [108, 114]),                        # 3×3/2 conv, 3×3/2 pool
    # conv0 7/2 p3, pool0 3/2 p1 (4i−5 … 4i+5), six 3×3 at jump 4 (±24), transition 1×1 and
    # 2/2 avg pool (8i−29 … 8i+33), five 3×3 at jump 8 (±40): unit 14 sees 43 … 185 (143 rows);
    # its edge rows get 3e-30 of the largest gradient, so no dust threshold may cut them
    ("densenet121", "features.denseblock2.denselayer5.conv2", [43, 185]),
    # stem 4/4, stage-1 blocks ±9 at jump 4, 2/2, stage-2 blocks ±9 at jump 8, 2/2: unit 7 of
    # 14 reaches stage-1 positions 1 … 58, i.e. pixels 4 … 223 (clipped)
    ("convnext_tiny", "features.4.1", [4, 223]),
])
def test_receptive_fields_by_hand(name: str, layer: str, rows: list[int]) -> None:
    assert _support(name, layer) == [rows, rows]


# --- live, when torch and torchvision are installed ------------------------------------------


@pytest.fixture(scope="module")
def torchvision() -> Iterator[Any]:
    try:
        tv = import_torchvision()
    except ImportError:
        pytest.skip("torch and torchvision are not installed")
    import torch

    # one thread: on a busy 2-core machine torch's two threads wait on each other, 10× slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tv
    torch.set_num_threads(threads)


@pytest.mark.torch
@pytest.mark.parametrize("name", LIVE)
def test_live_measurement_equals_the_fixture(torchvision: Any, name: str) -> None:
    from torchvision_ref import gradient_supports, has_squeeze_excitation, measure

    record = DATA[name]
    assert measure(name) == {k: v for k, v in record.items() if k != "rf"}
    layers = [r["layer"] for r in record["rf"]]
    supports = gradient_supports(name, layers)
    assert [r["support"] for r in record["rf"]] == [supports[n] for n in layers]
    if has_squeeze_excitation(name):
        local = gradient_supports(name, layers, local=True)
        assert [r["local"] for r in record["rf"]] == [local[n] for n in layers]


def _span(support: list[list[int]]) -> list[int]:
    return [hi - lo + 1 for lo, hi in support]


@pytest.mark.torch
def test_textbook_fields_of_tiny_stacks(torchvision: Any) -> None:
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torchvision_ref import module_supports

    two = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 1, 3))
    assert module_supports(two, (2, 15, 15), ["0", "2"]) == {
        "0": [[6, 8], [6, 8]], "2": [[5, 9], [5, 9]]}  # 3×3, then 5×5 around (7, 7)
    # conv 3, max pool 2/2, conv 3: 3 + 1 + 2·2 = 8 (a real max pool would pass gradient to one
    # input of each window only)
    pooled = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU6(), nn.MaxPool2d(2, 2), nn.Conv2d(2, 1, 3))
    assert _span(module_supports(pooled, (1, 20, 20), ["3"])["3"]) == [8, 8]
    dilated = nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 3, dilation=4))
    assert _span(module_supports(dilated, (1, 21, 21), ["1"])["1"]) == [13, 13]  # 5 + 8

    class Functional(nn.Module):  # GoogLeNet / Inception style: F.relu and F.max_pool2d
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(2, 2, 3)
            self.b = nn.Conv2d(2, 2, (1, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(F.max_pool2d(F.relu(self.a(x)), 3, 2))

    # rows: 3 + 2 + 0; columns: 3 + 2 + 2·2
    assert _span(module_supports(Functional(), (2, 25, 25), ["b"])["b"]) == [5, 9]


@pytest.mark.torch
def test_layer_norm_and_squeeze_excitation(torchvision: Any) -> None:
    """A ConvNeXt block (7×7 depthwise, channel LayerNorm, pointwise MLP) sees 7×7; a
    squeeze-excitation block makes the field global unless its scales are held constant."""
    from torch import nn
    from torchvision_ref import module_supports

    block = torchvision.models.convnext.CNBlock(8, layer_scale=1e-6, stochastic_depth_prob=0.0)
    net = nn.Sequential(nn.Conv2d(3, 8, 1), block)
    leaves = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert _span(module_supports(net, (3, 21, 21), leaves)[leaves[-1]]) == [7, 7]

    se = torchvision.ops.misc.SqueezeExcitation(4, 2)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), se, nn.Conv2d(4, 4, 3))
    assert module_supports(net, (3, 21, 21), ["2"])["2"] == [[0, 20], [0, 20]]
    assert _span(module_supports(net, (3, 21, 21), ["2"], local=True)["2"]) == [5, 5]

"""`--conventions`: convcalc reproduces, exactly, what every peer tool prints for a network.

The reference is the real tools (ptflops, fvcore, thop, torchinfo, calflops, DeepSpeed) and
PyTorch's FlopCounterMode, run by scripts/peers/run_peers.py on each network built the way
`convcalc export --to pytorch` writes it: tests/fixtures/peers/examples.json (every
examples/*.yaml but the attention ones), kinds.json (one-layer specs of every kind, and the
merges) and attention.json (the attention kinds' probes and vit_b_16, swin_t, maxvit_t,
swin_v2_t; calflops and DeepSpeed are not installable beside this torch, so it holds the other
tools, as do the records of the examples measured here, DERIVED_EXAMPLES). The fixtures
run everywhere; the tools are run live on fresh random networks where they are importable, and
the other-ops count is checked against the calls torch really makes wherever torch is.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcalc import conventions as C
from convcalc.cli import app
from convcalc.conventions.base import CAUSES, OPS
from convcalc.engine import analyze_network
from convcalc.layers import REGISTRY
from convcalc.report import NetworkReport

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "tests" / "fixtures" / "peers"
sys.path.insert(0, str(ROOT / "scripts" / "peers"))

FIXTURES = {name: json.loads((PEERS / f"{name}.json").read_text())
            for name in ("examples", "kinds", "attention")}
MODELS = [(fixture, name) for fixture, data in FIXTURES.items() for name in data["models"]]
PEER_TOOLS = [t for t in C.TOOLS if t != "torch"]
# tools whose per-module counts in the fixtures cover every op a row makes (leaf modules, and a
# non-leaf module's own functional calls): ptflops keeps its functional counts apart and
# ptflops-aten has top-level children only
PER_MODULE_TOOLS = ["fvcore", "thop", "torchinfo", "calflops", "calflops-flops", "deepspeed",
                    "deepspeed-flops"]


def spec_of(record: dict[str, Any]) -> Any:
    source = record["source"]["spec"]
    return str(ROOT / source) if isinstance(source, str) else source


@cache
def analysed(fixture: str, name: str) -> tuple[NetworkReport, C.Analysis]:
    report = analyze_network(spec_of(FIXTURES[fixture]["models"][name]))
    return report, C.analyse(report)


def pip_version(version: str) -> str:
    """thop's metadata version 0.1.1-2209072238 is pip's 0.1.1.post2209072238."""
    return version.replace("-", ".post")


@pytest.mark.parametrize(("fixture", "name"), MODELS, ids=[f"{f}:{n}" for f, n in MODELS])
def test_every_tool_prints_what_convcalc_says(fixture: str, name: str) -> None:
    record = FIXTURES[fixture]["models"][name]
    report, analysis = analysed(fixture, name)
    fcm = record["flop_counter"]
    assert report.totals()["macs"] == fcm["macs"], "the export is the same network"
    torch = analysis.count("torch")
    assert (torch.value, torch.difference, torch.label) == (fcm["flops"], {}, "FLOP")
    assert fcm["version"].startswith(torch.version)
    for tool in PEER_TOOLS:
        mine = analysis.count(tool)
        where = f"{name} / {tool}"
        if tool not in record["tools"]:  # not installable when the fixture was made
            assert tool in UNMEASURED_TOOLS, where
            assert fixture == "attention" or name in DERIVED_EXAMPLES, where
            env = record.get("environment", FIXTURES[fixture]["environment"])
            assert env[mine_package(tool)] is None, f"{where}: measured, so record it"
            continue
        measured = record["tools"][tool]
        assert pip_version(measured["version"]) == mine.version, where
        if "error" in measured:
            assert mine.value is None and mine.error is not None, f"{where}: {measured['error']}"
            assert measured["error"].split(":")[0] == mine.error.split(" ")[0], where
            continue
        assert mine.error is None, f"{where}: {mine.error}"
        assert mine.value == measured["value"], where
        assert mine.label == measured["label"], where
        reference = fcm["flops"] if mine.unit == "FLOPs" else fcm["macs"]
        assert mine.reference == reference, where
        assert sum(mine.difference.values()) == measured["value"] - reference, where
        assert set(mine.difference) <= set(CAUSES) and 0 not in mine.difference.values()


@pytest.mark.parametrize(("fixture", "name"), MODELS, ids=[f"{f}:{n}" for f, n in MODELS])
def test_every_row_is_what_the_tool_counts_for_its_modules(fixture: str, name: str) -> None:
    """A row's count equals the tool's own count of the modules the export names after it
    (`model.get_submodule(row path)`: the leaves under it, and a level's own calls)."""
    record = FIXTURES[fixture]["models"][name]
    report, analysis = analysed(fixture, name)
    paths = [row.path for row in report.rows]
    known = set(paths)
    for tool in PER_MODULE_TOOLS:
        measured = record["tools"].get(tool, {"error": "not run"})
        if "error" in measured:
            continue
        theirs = dict.fromkeys(paths, 0)
        for module, value in {**measured["per_module"], **measured.get("own", {})}.items():
            levels = module.split(".")
            owner = next((".".join(levels[:k]) for k in range(len(levels), 0, -1)
                          if ".".join(levels[:k]) in known), None)
            assert owner is not None or value == 0, f"{name} / {tool}: {module} counts {value}"
            if owner is not None:
                theirs[owner] += value
        assert list(theirs.values()) == list(analysis.count(tool).rows), f"{name} / {tool}"


def mine_package(tool: str) -> str:
    return C.CONVENTIONS[tool].package


def test_the_fixtures_name_the_versions_the_conventions_mirror() -> None:
    # a record merged from another environment (run_peers.py --merge) names its own
    envs = [env for data in FIXTURES.values()
            for env in (data["environment"], *(r["environment"] for r in data["models"].values()
                                               if "environment" in r))]
    for env in envs:
        assert env["torch"].startswith(C.CONVENTIONS["torch"].version)
        for tool in PEER_TOOLS:
            if env[mine_package(tool)] is None:
                assert tool in UNMEASURED_TOOLS
                continue
            assert pip_version(env[mine_package(tool)]) == C.CONVENTIONS[tool].version


def test_the_probes_cover_every_kind_and_merge() -> None:
    import models

    kinds = set()
    merges = set()
    for record in FIXTURES["kinds"]["models"].values():
        for entry in record["source"]["spec"]["layers"]:
            if "kind" in entry:
                kinds.add(entry["kind"])
            else:
                (merge, body), = entry.items()
                merges.add(body.get("merge", merge))
    # the attention kinds have their own fixture (attention.json); `uncounted` (an operator an
    # import could not read) has no rules, ever
    assert kinds == set(REGISTRY) - ATTENTION_KINDS - {"uncounted"}
    assert merges == {"residual", "add", "mul", "concat", "split"}
    # the committed fixture is the one models.py:kinds makes
    assert {n: r["source"]["spec"] for n, r in FIXTURES["kinds"]["models"].items()} == {
        n: {"name": n, "input": shape, "layers": layers}
        for n, (shape, layers) in models.KIND_PROBES.items()}
    assert sorted(FIXTURES["examples"]["models"]) == sorted(
        p.stem for p in (ROOT / "examples").glob("*.yaml")
        if p.stem not in ATTENTION_EXAMPLES)
    # the records merged without calflops and DeepSpeed are these, and say so
    assert {n for n, r in FIXTURES["examples"]["models"].items()
            if not UNMEASURED_TOOLS & set(r["tools"])} == DERIVED_EXAMPLES
    attention = FIXTURES["attention"]["models"]
    probed = {entry["kind"] for n, (_, layers) in models.ATTENTION_PROBES.items()
              for entry in _walk(layers)}
    assert probed >= ATTENTION_KINDS
    assert {n: r["source"]["spec"] for n, r in attention.items()} == {
        **{n: {"name": n, "input": shape, "layers": layers}
           for n, (shape, layers) in models.ATTENTION_PROBES.items()},
        **{n: f"examples/{n}.yaml" for n in sorted(ATTENTION_EXAMPLES)}}


def _walk(layers: list[Any]) -> list[dict[str, Any]]:
    """Every layer entry of a spec's list, inside residual bodies too."""
    out: list[dict[str, Any]] = []
    for entry in layers:
        if "kind" in entry:
            out.append(entry)
        else:
            (_, body), = entry.items()
            out += _walk(body.get("body", []))
    return out


DERIVED_EXAMPLES = {"deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"}
"""Examples whose examples.json record holds ptflops (both backends), fvcore, thop and torchinfo
(`run_peers.py scripts/peers/models.py:examples --merge --only NAME --tools
ptflops,ptflops-aten,fvcore,thop,torchinfo`, here): their calflops and DeepSpeed counts are
derived from those tools' rules (convcalc/conventions/calflops.py, deepspeed.py), not measured,
as for the attention fixture (UNMEASURED_TOOLS). A run in the peers venv (scripts/peers/
setup.sh --deepspeed) with all the tools, merged the same way, replaces them."""


ATTENTION_KINDS = {"self_attention", "mlp", "patch_merging", "to_tokens", "to_map",
                   "take_token", "class_token", "pos_embedding"}
ATTENTION_EXAMPLES = {"vit_b_16", "swin_t", "maxvit_t", "swin_v2_t"}


UNMEASURED_TOOLS = {"calflops", "calflops-flops", "deepspeed", "deepspeed-flops"}
"""Not installable beside torch 2.13.0 here: their attention rules are derived from their source
(attention_ops.RULES), not measured, and attention.json has no run of them."""


@pytest.mark.parametrize("name", sorted(ATTENTION_EXAMPLES))
def test_calflops_and_deepspeed_see_the_matmuls_pytorch_sees(name: str) -> None:
    """Their patched F.linear and torch.matmul count every token linear and product as
    PyTorch does: their MACs on the attention examples are FlopCounterMode's, as measured."""
    analysis = C.analyse(analyze_network(name))
    measured = FIXTURES["attention"]["models"][name]["flop_counter"]["macs"]
    for tool in ("calflops", "deepspeed"):
        assert analysis.count(tool).value == measured
        assert analysis.count(f"{tool}-flops").difference.get("skipped") is None


def test_the_exported_attention_counts_every_matmul_under_no_grad() -> None:
    """The export writes attention as explicit matmuls (no nn.MultiheadAttention fast path, no
    fused sdpa kernel): FlopCounterMode's fixture count (under no_grad) is every matmul, the
    MACs convcalc reports, as torchvision documents them."""
    for name in ATTENTION_EXAMPLES:
        record = FIXTURES["attention"]["models"][name]
        assert record["flop_counter"]["macs"] == analyze_network(name).totals()["macs"]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["vit_tiny", "attention_window_pad_shift", "attention_grid",
                                  *sorted(ATTENTION_EXAMPLES)])
def test_the_exported_attention_counts_the_same_with_grad(name: str) -> None:
    """With grad (the other way FlopCounterMode is run) the export's count is the same: there
    is no `torch (no_grad)` convention to tell apart for it (torchvision's own ViT differs:
    tests/fixtures/peers/torchvision_vit.json)."""
    torch = pytest.importorskip("torch")
    from models import exported
    from torch.utils.flop_counter import FlopCounterMode

    model, chw = exported(FIXTURES["attention"]["models"][name]["source"]["spec"])
    model.eval()
    counts = []
    for grad in (True, False):
        with torch.set_grad_enabled(grad), FlopCounterMode(display=False) as counter:
            model(torch.randn(1, *chw))
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] == FIXTURES["attention"]["models"][name]["flop_counter"]["flops"]


def test_every_convention_has_a_rule_for_every_torch_call() -> None:
    for c in C.CONVENTIONS.values():
        assert set(c.rules) == set(OPS), c.tool
    seen = {op.op for fixture, name in MODELS for ops in analysed(fixture, name)[1].ops
            for op in ops}
    assert seen == set(OPS), "every call is exercised by a fixture"


def test_check_rules_agrees_with_the_single_layer_fixture() -> None:
    import check_rules

    assert check_rules.check(check_rules.FIXTURE) == []


def test_the_brief_figures() -> None:
    """MobileNet v2: FlopCounterMode 300.8 M, fvcore 314.2 M, ptflops ≈ 320 M, thop ≈ 327 M;
    the DCGAN generator: thop ≈ 4× PyTorch, all of it transposed convs over their output."""
    mobilenet = C.analyse(analyze_network(str(ROOT / "examples" / "mobilenet_v2.yaml")))
    values = {c.tool: c.value for c in mobilenet.counts()}
    assert values["torch"] == 2 * 300_774_272 and values["fvcore"] == 314_193_216
    assert 320_000_000 < values["ptflops"] < 321_000_000   # type: ignore[operator]
    assert 327_000_000 < values["thop"] < 328_000_000      # type: ignore[operator]
    dcgan = C.analyse(analyze_network(str(ROOT / "examples" / "dcgan_generator.yaml")))
    thop = dcgan.count("thop")
    assert thop.value == 428_834_816 and thop.reference == 104_628_224
    assert thop.difference == {"normalization": 491_520, "transposed_side": 323_715_072}


# ---------------------------------------------------------------- other ops

OTHER_OPS_EXAMPLES = {"dcgan_generator": None, "octave_resnet": "64x64x3",
                      "unet_small": "64x64x3", "convnext_tiny": "64x64x3",
                      "efficientnet_b0": "64x64x3", "shufflenet_v2_x1_0": "64x64x3",
                      "squeezenet1_1": "64x64x3", "mobilenet_v3_large": "64x64x3"}


ATTENTION_OTHER_OPS = {**{name: None for name in FIXTURES["attention"]["models"]
                          if name not in ATTENTION_EXAMPLES},
                       "swin_t": "64x64x3", "maxvit_t": None, "vit_b_16": "32x32x3",
                       "swin_v2_t": "64x64x3"}
"""The attention probes, and the examples on a smaller input."""

OTHER_OPS_SPECS: dict[str, dict[str, Any]] = {
    # merges before the first layer, and a network of merges only (no row holds them)
    "early_merges": {"name": "early", "input": "4x4x2", "layers": [
        {"residual": {"body": []}}, {"kind": "relu"},
        {"branches": {"merge": "mul", "paths": [[], [{"kind": "global_avgpool"}]]}}]},
    "merges_only": {"name": "merges", "input": "4x4x2", "layers": [
        {"residual": {"body": []}},
        {"branches": {"merge": "add", "paths": [[], [], []]}}]},
}


@pytest.mark.torch
@pytest.mark.parametrize("name", [*FIXTURES["kinds"]["models"], *OTHER_OPS_EXAMPLES,
                                  *OTHER_OPS_SPECS, *ATTENTION_OTHER_OPS])
def test_other_ops_are_what_torch_runs(name: str) -> None:
    """convcalc's other ops per category equal its definitions applied to the aten calls the
    exported network really makes (norms, activations, pools, upsampling, adds, multiplies)."""
    pytest.importorskip("torch")
    from torch_other_ops import other_ops
    from torch_ref import build_network

    if name in OTHER_OPS_EXAMPLES:
        report = analyze_network(str(ROOT / "examples" / f"{name}.yaml"), OTHER_OPS_EXAMPLES[name])
    elif name in OTHER_OPS_SPECS:
        report = analyze_network(OTHER_OPS_SPECS[name])
    elif name in ATTENTION_OTHER_OPS:
        report = analyze_network(spec_of(FIXTURES["attention"]["models"][name]),
                                 ATTENTION_OTHER_OPS[name])
    else:
        report = analyze_network(spec_of(FIXTURES["kinds"]["models"][name]))
    model, _ = build_network(None, report)
    shape = (report.input.channels, *report.input.spatial)
    with (pytest.warns(UserWarning, match="padding='same' with even kernel")
          if name == "conv_same_even" else contextlib.nullcontext()):
        theirs = other_ops(model, shape)
    assert C.analyse(report).other_ops.by_category == theirs


def test_other_ops_rows_sum_to_the_total_and_merges_are_kept() -> None:
    ops = C.analyse(analyze_network(OTHER_OPS_SPECS["early_merges"])).other_ops
    # x + x before any layer (kept on the first row), relu, the gate's pool and product
    assert ops.by_category == {"normalization": 0, "activation": 32, "pooling": 32, "add": 32,
                               "multiply": 32, "upsample": 0}
    assert ops.rows == (64, 64) and ops.total == 128
    # no layer at all: x + x, then x + x + x (two adds); in the totals, in no row
    ops = C.analyse(analyze_network(OTHER_OPS_SPECS["merges_only"])).other_ops
    assert ops.rows == () and ops.by_category["add"] == 3 * 32 == ops.total


# ---------------------------------------------------------------- live, with the real tools

def random_network(rng: random.Random, index: int) -> dict[str, Any]:
    """A small random 1-D/2-D/3-D stack of convolutions, transposed convs, pools, norms,
    activations, se, upsampling and merges that convcalc accepts."""
    rank = rng.choice([2, 2, 2, 1, 3])
    size = {1: rng.randint(12, 20), 2: rng.randint(8, 14), 3: rng.randint(4, 6)}[rank]
    channels = rng.choice([4, 6, 8])
    shape = "x".join([str(size)] * rank + [str(channels)])

    def layer() -> dict[str, Any]:
        choice = rng.choice(["conv", "conv", "transposed", "maxpool", "avgpool", "bn", "act",
                             "se", "upsample", "residual", "groupnorm", "dwsep", "adaptive"])
        k = rng.choice([1, 2, 3])
        if choice == "conv":
            return {"kind": "conv", "out": rng.choice([4, 8]), "kernel": k,
                    "stride": rng.choice([1, 2]), "padding": rng.choice([0, k // 2, "same"]),
                    "groups": rng.choice([1, 2]), "bias": rng.choice([True, False])}
        if choice == "transposed":
            stride = rng.choice([1, 2])
            return {"kind": "transposed", "out": rng.choice([4, 8]), "kernel": k + 1,
                    "stride": stride, "padding": rng.choice([0, 1]) if k > 1 else 0,
                    "groups": rng.choice([1, 2, 4]), "bias": rng.choice([True, False]),
                    "output_padding": rng.choice([0, stride - 1])}
        if choice in ("maxpool", "avgpool"):
            return {"kind": choice, "kernel": 2, "stride": rng.choice([1, 2]),
                    "ceil_mode": rng.choice([True, False])}
        if choice == "bn":
            return {"kind": "batchnorm", "affine": rng.choice([True, False])}
        if choice == "groupnorm":
            return {"kind": "groupnorm", "groups": 2}
        if choice == "act":
            return {"kind": rng.choice(["relu", "relu6", "silu", "gelu", "hardswish", "sigmoid",
                                        "tanh", "leaky_relu", "softmax"])}
        if choice == "se":
            return {"kind": "se", "squeeze": 2, "activation": rng.choice(["relu", "silu"])}
        if choice == "upsample":
            return {"kind": "upsample", "scale": 2,
                    "mode": rng.choice(["nearest", "nearest", "linear"])}
        if choice == "dwsep":
            return {"kind": "dwsep", "out": 8, "kernel": 3, "padding": 1}
        if choice == "adaptive":
            return {"kind": "adaptive_avgpool", "output_size": rng.choice([1, 2, 3])}
        return {"residual": {"body": [{"kind": "conv", "out": 8, "kernel": 3, "padding": 1},
                                      {"kind": "relu"}], "shortcut": "auto"}}

    from convcalc.errors import ConvcalcError

    while True:
        spec = {"name": f"random{index}", "input": shape,
                "layers": [layer() for _ in range(rng.randint(2, 5))]}
        try:
            analyze_network(spec)
        except ConvcalcError:
            continue
        return spec


LIVE_COUNT = int(os.environ.get("CONVCALC_PEERS_RANDOM", "16"))
"""Random networks per live run (CONVCALC_PEERS_RANDOM=200 for a longer one)."""
LIVE = [random_network(random.Random(2026), i) for i in range(LIVE_COUNT)]


@pytest.mark.torch
@pytest.mark.parametrize("runner", ["ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo",
                                    "calflops", "deepspeed"])
def test_live_random_networks(runner: str) -> None:
    """Fresh random networks, exported, built and measured by the real tool now."""
    pytest.importorskip("torch")
    # ptflops imports torchvision: its compiled ops need these stubs first (see models.py)
    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    pytest.importorskip({"ptflops-aten": "ptflops"}.get(runner, runner))
    import run_peers
    from models import exported

    for spec in LIVE:
        model, chw = exported(spec)
        analysis = C.analyse(analyze_network(spec))
        for tool, measured in run_peers.run_tool(runner, model, chw).items():
            mine = analysis.count(tool)
            where = f"{spec} / {tool}"
            if "error" in measured:
                assert mine.error is not None, f"{where}: {measured['error']}"
            else:
                assert mine.value == measured["value"], where
                assert mine.label == measured["label"], where


@pytest.mark.torch
@pytest.mark.parametrize("runner", ["ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo"])
def test_live_attention_probes(runner: str) -> None:
    """The attention probes, exported and measured by the real tool now."""
    pytest.importorskip("torch")
    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    pytest.importorskip({"ptflops-aten": "ptflops"}.get(runner, runner))
    import run_peers
    from models import ATTENTION_PROBES, exported

    for name, (shape, layers) in ATTENTION_PROBES.items():
        spec = {"name": name, "input": shape, "layers": layers}
        model, chw = exported(spec)
        analysis = C.analyse(analyze_network(spec))
        for tool, measured in run_peers.run_tool(runner, model, chw).items():
            mine = analysis.count(tool)
            assert "error" not in measured, f"{name} / {tool}: {measured['error']}"
            assert (mine.value, mine.label) == (measured["value"], measured["label"]), \
                f"{name} / {tool}"


def random_attention_network(rng: random.Random, index: int) -> dict[str, Any]:
    """A small random 2-D stack of attention (global, windowed, shifted, grid, with a bias
    table), MLPs, patch merging, norms and convolutions, in any order (so a token linear may
    follow a layer that leaves channel-first memory or one that leaves channels-last)."""
    def layer() -> dict[str, Any]:
        choice = rng.choice(["attention", "attention", "mlp", "merge", "conv", "bn", "ln",
                             "gelu", "block"])
        if choice == "attention":
            entry: dict[str, Any] = {"kind": "self_attention", "heads": rng.choice([1, 2, 4]),
                                     "bias": rng.choice([True, False])}
            window = rng.choice([None, 2, 3, 4])
            if window is not None:
                entry.update(window=window, position_bias=rng.choice([True, False]))
                if rng.random() < 0.3:
                    entry["partition"] = "grid"
                else:
                    entry["shift"] = rng.choice([0, 1])
            return entry
        if choice == "mlp":
            return {"kind": "mlp", "ratio": rng.choice([1, 2]),
                    "activation": rng.choice(["gelu", "relu", "silu"]),
                    "bias": rng.choice([True, False])}
        if choice == "merge":
            return {"kind": "patch_merging", "bias": rng.choice([True, False])}
        if choice == "conv":
            return {"kind": "conv", "out": 8, "kernel": 3, "padding": 1}
        if choice == "bn":
            return {"kind": "batchnorm"}
        if choice == "ln":
            return {"kind": "layernorm"}
        if choice == "gelu":
            return {"kind": "gelu"}
        return {"residual": {"body": [{"kind": "layernorm"}, layer()]}}

    from convcalc.errors import ConvcalcError

    while True:
        size = rng.choice([6, 8, 12])
        spec = {"name": f"attention{index}", "input": f"{size}x{size}x8",
                "layers": [layer() for _ in range(rng.randint(2, 4))]}
        try:
            analyze_network(spec)
        except ConvcalcError:
            continue
        return spec


LIVE_ATTENTION = [random_attention_network(random.Random(22), i) for i in range(LIVE_COUNT)]


@pytest.mark.torch
@pytest.mark.parametrize("runner", ["ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo"])
def test_live_random_attention_networks(runner: str) -> None:
    """Fresh random attention networks, exported, built and measured by the real tool now."""
    pytest.importorskip("torch")
    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    pytest.importorskip({"ptflops-aten": "ptflops"}.get(runner, runner))
    import run_peers
    from models import exported

    for spec in LIVE_ATTENTION:
        model, chw = exported(spec)
        analysis = C.analyse(analyze_network(spec))
        for tool, measured in run_peers.run_tool(runner, model, chw).items():
            assert "error" not in measured, f"{spec} / {tool}: {measured['error']}"
            assert analysis.count(tool).value == measured["value"], f"{spec} / {tool}"


# ---------------------------------------------------------------- the command line

cli = CliRunner()


def run(args: list[str]) -> tuple[int, str, str]:
    result = cli.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


MOBILENET = str(ROOT / "examples" / "mobilenet_v2.yaml")


def test_net_conventions_json_is_the_contract() -> None:
    code, out, _ = run(["net", MOBILENET, "--conventions", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    analysis = C.analyse(analyze_network(MOBILENET))
    assert [c["tool"] for c in data["conventions"]] == list(C.TOOLS)
    for entry in data["conventions"]:
        assert set(entry) == {"tool", "version", "value", "label", "difference"}
        assert entry == analysis.count(entry["tool"]).to_dict()
    measured = FIXTURES["examples"]["models"]["mobilenet_v2"]["tools"]
    assert {c["tool"]: c["value"] for c in data["conventions"][1:]} == {
        t: measured[t]["value"] for t in PEER_TOOLS}
    assert sum(row["other_ops"] for row in data["layers"]) == data["totals"]["other_ops"]
    assert sum(data["totals"]["other_ops_by_category"].values()) == data["totals"]["other_ops"]
    assert "convention" not in data["totals"]


def test_net_convention_adds_a_count_per_row_and_the_total() -> None:
    code, out, _ = run(["net", MOBILENET, "--convention", "thop", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["convention"] == {"tool": "thop", "version": "0.1.1.post2209072238",
                                            "value": 327_550_720, "label": "macs"}
    assert sum(row["convention"] for row in data["layers"]) == 327_550_720
    assert "conventions" not in data
    bn = next(row for row in data["layers"] if row["kind"] == "batchnorm")
    assert bn["convention"] == 4 * bn["output"]["channels"] * 112 * 112  # thop: 4·numel


def test_a_failing_tool_is_null_with_its_error() -> None:
    deeplab = str(ROOT / "examples" / "deeplab_resnet50.yaml")
    code, out, _ = run(["net", deeplab, "--convention", "calflops", "--format", "json"])
    data = json.loads(out)
    assert code == 0 and data["totals"]["convention"]["value"] is None
    assert data["totals"]["convention"]["error"].startswith("TypeError")
    assert all(row["convention"] is None for row in data["layers"])


def test_unknown_tool_is_a_usage_error_with_a_suggestion() -> None:
    code, out, err = run(["net", MOBILENET, "--convention", "fvcor"])
    assert code == 2 and out == ""
    assert "did you mean 'fvcore'" in err


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_human_formats_list_every_tool_after_the_usual_output(fmt: str) -> None:
    code, out, _ = run(["net", MOBILENET, "--conventions", "--format", fmt, "--depth", "1"])
    assert code == 0
    _, usual, _ = run(["net", MOBILENET, "--format", fmt, "--depth", "1"])
    assert out.startswith(usual)
    rest = out[len(usual):]
    for tool in C.TOOLS:
        assert tool in rest
    if fmt == "csv":
        rows = list(csv.DictReader(rest.strip().splitlines()))
        assert [r["tool"] for r in rows] == list(C.TOOLS)
        fv = next(r for r in rows if r["tool"] == "fvcore")
        assert (fv["value"], fv["difference"], fv["normalization"], fv["pooling"]) == (
            "314193216", "13418944", "13356224", "62720")
    else:
        assert "314,193,216" in rest and "normalization +13,356,224" in rest


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_the_convention_column_adds_up_at_every_depth(depth: int | None) -> None:
    args = ["net", MOBILENET, "--convention", "ptflops", "--format", "csv"]
    code, out, _ = run([*args, "--depth", str(depth)] if depth is not None else args)
    assert code == 0
    table = out.split("\n\n")[0].splitlines()
    rows = list(csv.DictReader(table))
    assert sum(int(r["convention"]) for r in rows) == 320_362_728


def test_layer_conventions_are_a_network_of_one() -> None:
    args = ["layer", "transposed", "--input", "16x16x8", "--out", "4", "--kernel", "4",
            "--stride", "2", "--padding", "1"]
    code, out, _ = run([*args, "--conventions", "--convention", "thop", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    measured = FIXTURES["kinds"]["models"]["transposed"]["tools"]
    assert {c["tool"]: c["value"] for c in data["conventions"][1:]} == {
        t: measured[t]["value"] for t in PEER_TOOLS}
    assert data["convention"]["value"] == measured["thop"]["value"] == 524_288
    assert data["conventions"][4]["difference"] == {"transposed_side": 524_288 - 131_072}
    assert data["other_ops"] == 0 and data["macs"] == 131_072
    code, out, _ = run([*args, "--convention", "thop"])
    assert code == 0 and "524,288" in out and "transposed_side +393,216" in out


# ---------------------------------------------------------------- cost

def test_repeated_layers_are_counted_once_and_the_cost_stays_linear() -> None:
    """10,000 layers: every rule runs once per distinct layer (equal layers share their calls),
    and counting all ten tools costs a fraction of the analysis itself (the target: a
    100,000-layer network within 2× of the time without --conventions)."""
    import time

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import yaml
    from generate import residual_spec

    from convcalc.conventions import base

    started = time.perf_counter()
    report = analyze_network(yaml.safe_load(residual_spec(10_000)))
    analysis_time = time.perf_counter() - started
    calls = 0
    rules = dict(C.CONVENTIONS["thop"].rules)

    def counting(rule: base.Rule) -> base.Rule:
        def counted(op: Any) -> int:
            nonlocal calls
            calls += 1
            return rule(op)
        return counted

    started = time.perf_counter()
    analysis = C.analyse(report)
    thop = base.count(base.Convention(**{**{f: getattr(C.CONVENTIONS["thop"], f) for f in (
        "tool", "package", "version", "unit", "call", "label", "causes", "fails")},
        "rules": {k: counting(v) for k, v in rules.items()}}), analysis.ops, analysis.params)
    analysis.counts()
    analysis.other_ops  # noqa: B018
    conventions_time = time.perf_counter() - started
    assert len(thop.rows) == 10_000 and thop.value == analysis.count("thop").value
    assert calls <= 10, "one evaluation per distinct call, not per row"
    assert conventions_time < analysis_time, (conventions_time, analysis_time)


def test_the_documented_runs_are_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import update_readme

    shown = update_readme.blocks((ROOT / "docs" / "conventions.md").read_text())
    assert len(shown) == 2
    for command, output in shown:
        assert update_readme.render(command) == output, command


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_net_convention_torch_lists_torch_once(fmt: str) -> None:
    # `convcalc net resnet18 --convention torch` printed the torch row twice in the tools table
    result = CliRunner().invoke(app, ["net", "resnet18", "--convention", "torch", "-f", fmt])
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines()
            if line.startswith(("torch,", "| torch |"))]
    assert len(rows) == 1, rows


# ---------------------------------------------------------------- torchvision's own ViT

TORCHVISION_VIT = json.loads((PEERS / "torchvision_vit.json").read_text())["vit_b_16"]


def _vit_parts() -> dict[str, int]:
    """convcalc's vit_b_16: every MAC, and the attention's split (projections, q·kᵀ + attn·v),
    the layer norms' elements and count."""
    report = analyze_network("vit_b_16")
    attention = [row.report for row in report.rows if row.report.kind == "self_attention"]
    products = sum(p.macs for r in attention for p in r.parts if p.name in ("scores", "context"))
    norms = [row.report for row in report.rows if row.report.kind == "layernorm"]
    return {"macs": report.totals()["macs"], "attention": sum(r.macs for r in attention),
            "products": products, "norm_elements": sum(r.input.elements for r in norms),
            "q_elements": sum(r.input.elements for r in attention),
            "scores": sum(p.output.elements for r in attention for p in r.parts
                          if p.name == "softmax")}


def test_why_tools_differ_on_torchvisions_vit() -> None:
    """torchvision's own vit_b_16 (tests/fixtures/peers/torchvision_vit.json, by
    scripts/peers/torchvision_vit.py): its documented 17.56 G is every matmul, convcalc's count;
    FlopCounterMode with grad on CPU misses q·kᵀ and attention·v (the fused sdpa kernel); under
    no_grad the whole nn.MultiheadAttention (its fast path, one fused op); fvcore and
    ptflops-aten miss the sdpa too, fvcore adding its 5 per layer-norm element; thop has no rule
    for nn.MultiheadAttention and adds 4 per layer-norm element; ptflops' pytorch backend hooks
    nn.MultiheadAttention itself. Every number is derived from convcalc's parts, exactly."""
    vit, ref = _vit_parts(), TORCHVISION_VIT
    assert round(vit["macs"] / 1e9, 3) == ref["documented_gmacs"]
    grad, no_grad = ref["flop_counter_grad"], ref["flop_counter_no_grad"]
    assert grad["macs"] == vit["macs"] - vit["products"]
    assert grad["uncounted"] == {"_scaled_dot_product_flash_attention_for_cpu": 12}
    assert no_grad["macs"] == vit["macs"] - vit["attention"]
    assert no_grad["uncounted"] == {"_native_multi_head_attention": 12}
    tools = ref["tools"]
    assert tools["fvcore"]["value"] == grad["macs"] + 5 * vit["norm_elements"]
    assert tools["fvcore"]["extra"]["unsupported_ops"]["aten::scaled_dot_product_attention"] == 12
    assert tools["thop"]["value"] == no_grad["macs"] + 4 * vit["norm_elements"]
    # the export of the same spec: every tool sees every matmul it can (explicit calls)
    exported = FIXTURES["attention"]["models"]["vit_b_16"]
    assert exported["flop_counter"]["macs"] == vit["macs"]
    assert exported["tools"]["fvcore"]["value"] == vit["macs"] + 5 * vit["norm_elements"]
    # ptflops-aten: the same biases as on the export, on FlopCounterMode-with-grad's matmuls
    export = C.analyse(analyze_network("vit_b_16"))
    bias = export.count("ptflops-aten").difference["bias"]
    assert tools["ptflops-aten"]["value"] == grad["macs"] + bias
    # ptflops: its nn.MultiheadAttention hook (pytorch_ops.py:190-244) counts every matmul and
    # bias as the export's count does, plus the q scale (T·C) and the softmax (heads·T·T); and
    # torchvision's nn.LayerNorm has a hook (numel), the export's LayerNorm2d subclass none
    assert tools["ptflops"]["value"] == export.count("ptflops").value + vit["q_elements"] + \
        vit["scores"] + vit["norm_elements"]


@pytest.mark.torch
def test_torchvisions_vit_live() -> None:
    """FlopCounterMode on torchvision's vit_b_16 now, with and without grad, prints what the
    fixture holds."""
    pytest.importorskip("torch")
    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    pytest.importorskip("torchvision")
    import torch
    import torchvision
    from torchvision_vit import flop_counter

    model = torchvision.models.vit_b_16(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    for grad, key in ((True, "flop_counter_grad"), (False, "flop_counter_no_grad")):
        assert flop_counter(model, x, grad) == TORCHVISION_VIT[key]

"""A layer's `op` (how the model writes it: module, function, method, channels_last) and what
each peer tool prints for it; imported torchvision models against the tools on the real model.

References, all written by the real tools (scripts/peers/run_peers.py, ptflops, ptflops-aten,
fvcore, thop and torchinfo; calflops and DeepSpeed are not installable here):
- tests/fixtures/peers/forms.json: small specs with a layer in each form, exported by convcalc
  (each layer in its form) and counted by the tools (models.py:forms);
- tests/fixtures/peers/imported.json: 15 torchvision classifiers as `convcalc import --torch
  torchvision.models:NAME` builds them, counted by the tools on the real model
  (models.py:imported); tests/fixtures/peers/imported/NAME.yaml is what that import writes
  (scripts/peers/import_models.py). `net --conventions` on the import must print each tool's
  number. tests/fixtures/peers/networks.json (all the tools, calflops and DeepSpeed included,
  on eleven of the models) is checked too.
With torch, torchvision and the tools installed, a few models are imported fresh and the tools
run live on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcalc import conventions as C
from convcalc.cli import app
from convcalc.engine import analyze_network
from convcalc.yamlio import load_yaml_text

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "tests" / "fixtures" / "peers"
sys.path.insert(0, str(ROOT / "scripts" / "peers"))

FORMS = json.loads((PEERS / "forms.json").read_text())["models"]
IMPORTED = json.loads((PEERS / "imported.json").read_text())["models"]
NETWORKS = json.loads((PEERS / "networks.json").read_text())["models"]
MEASURED = ("ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo")
"""The tools the two fixtures ran (networks.json has calflops and DeepSpeed too)."""


def imported_spec(name: str) -> str:
    return (PEERS / "imported" / f"{name}.yaml").read_text(encoding="utf-8")


def check(analysis: C.Analysis, record: dict[str, Any], tools: Any, where: str) -> None:
    fcm = record["flop_counter"]
    for tool in tools:
        measured, mine = record["tools"][tool], analysis.count(tool)
        assert "error" not in measured, f"{where} / {tool}: {measured.get('error')}"
        assert mine.value == measured["value"], f"{where} / {tool}"
        assert mine.label == measured["label"], f"{where} / {tool}"
        reference = fcm["flops"] if mine.unit == "FLOPs" else fcm["macs"]
        assert mine.reference == reference, f"{where} / {tool}"
        assert sum(mine.difference.values()) == measured["value"] - reference, f"{where} / {tool}"


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_form_is_counted_as_the_tools_count_it(name: str) -> None:
    record = FORMS[name]
    report = analyze_network(record["source"]["spec"])
    assert report.totals()["macs"] == record["flop_counter"]["macs"]
    check(C.analyse(report), record, MEASURED, name)


def test_the_form_probes_cover_every_form_of_every_kind_it_allows() -> None:
    from convcalc.layers.op_forms import FORMS as ALLOWED

    seen = {(layer["kind"], layer["op"]) for record in FORMS.values()
            for layer in _layers(record["source"]["spec"]["layers"]) if "op" in layer}
    assert seen == {(kind, form) for form, kinds in ALLOWED.items() for kind in kinds}


def _layers(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if "residual" in item:
            out += _layers(item["residual"]["body"])
        elif "kind" in item:
            out.append(item)
    return out


@pytest.mark.parametrize("name", sorted(IMPORTED))
def test_an_imported_model_prints_what_each_tool_prints_for_the_model(name: str) -> None:
    record = IMPORTED[name]
    report = analyze_network(load_yaml_text(imported_spec(name)))
    assert report.totals()["macs"] == record["flop_counter"]["macs"]
    analysis = C.analyse(report)
    check(analysis, record, MEASURED, name)
    if name in NETWORKS:  # the same model, measured with every tool (calflops, DeepSpeed too)
        check(analysis, NETWORKS[name], [t for t in C.TOOLS if t != "torch"], name)


def test_the_imported_fixtures_name_their_source() -> None:
    assert len(IMPORTED) == 15
    for name, record in IMPORTED.items():
        assert record["source"] == {"torch": f"torchvision.models:{name}",
                                    "input": "299x299x3" if name == "inception_v3" else
                                    "224x224x3"}
        assert f"from torchvision.models:{name}." in imported_spec(name).splitlines()[0]


@pytest.mark.parametrize(("name", "forms"), [
    ("mobilenet_v2", {"global_avgpool": "function"}),
    ("shufflenet_v2_x1_0", {"global_avgpool": "method"}),
    ("mnasnet1_0", {"global_avgpool": "method"}),
    ("densenet121", {"relu": "function", "global_avgpool": "function"}),
    ("inception_v3", {"relu": "function", "maxpool": "function", "avgpool": "function"}),
    ("convnext_tiny", {"layernorm": "channels_last", "pointwise": "channels_last"}),
])
def test_the_import_writes_how_the_model_calls_each_layer(name: str, forms: dict[str, str]) -> None:
    found = {(row.spec.kind_name, row.spec.op)
             for row in analyze_network(load_yaml_text(imported_spec(name))).rows
             if row.spec.op is not None}
    assert found == set(forms.items())


def test_an_op_is_checked_against_the_kind(tmp_path: Path) -> None:
    runner = CliRunner()
    for layer, says in [("conv: {out: 8, kernel: 3, op: function}",
                         "op: function is not a way to write a conv layer"),
                        ("pointwise: {out: 8, stride: 2, op: channels_last}",
                         "op: channels_last (nn.Linear on channels-last data) needs stride 1"),
                        ("relu: {op: inline}", "op")]:
        path = tmp_path / "bad.yaml"
        path.write_text(f"name: bad\ninput: 8x8x4\nlayers:\n  - {layer}\n")
        result = runner.invoke(app, ["net", str(path)])
        assert result.exit_code == 2, layer
        assert says in result.output and "Traceback" not in result.output, result.output
        assert result.output.count("\n") == 1, result.output


def test_without_op_a_layer_is_what_the_export_writes() -> None:
    plain = analyze_network(load_yaml_text("name: a\ninput: 8x8x4\nlayers: [relu, global_avgpool]\n"))
    said = analyze_network(load_yaml_text(
        "name: a\ninput: 8x8x4\nlayers:\n  - relu: {op: module}\n  - global_avgpool: {op: module}\n"))
    for tool in C.TOOLS:
        assert C.analyse(plain).count(tool).value == C.analyse(said).count(tool).value


def test_the_export_writes_each_form() -> None:
    from convcalc.bridges.pytorch_export import export_pytorch

    spec = FORMS["basic_conv_function"]["source"]["spec"]
    code = export_pytorch(analyze_network(spec))
    assert "Function('relu')" in code and "Function('max_pool2d', 3, stride=2)" in code
    code = export_pytorch(analyze_network(FORMS["convnext_block"]["source"]["spec"]))
    assert "nn.Linear(8, 32)" in code and "nn.LayerNorm(8)" in code
    assert ".permute(0, 2, 3, 1).contiguous()).permute(0, 3, 1, 2)" in code
    code = export_pytorch(analyze_network(FORMS["global_avgpool_method"]["source"]["spec"]))
    assert "Method('mean', (2, 3), keepdim=True)" in code


# --- live: the tools on real models, where they are installed ---------------------------------

def _tools() -> Any:
    """run_peers, once torch, torchvision (its compiled ops stood in for) and the four tools
    import (importorskip: thop's import warns about distutils)."""
    pytest.importorskip("torch")
    pytest.importorskip("torchvision_ref").import_torchvision()
    for module in ("ptflops", "fvcore", "thop", "torchinfo"):
        pytest.importorskip(module)
    import run_peers

    return run_peers


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2_x1_0"])
def test_live_a_fresh_import_prints_what_the_tools_print(name: str) -> None:
    run_peers = _tools()
    import torch
    import torchvision

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import parse_shape

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    imported = import_torch(f"torchvision.models:{name}", parse_shape("224x224x3"))
    assert imported.yaml == imported_spec(name)
    analysis = C.analyse(analyze_network(load_yaml_text(imported.yaml)))
    for runner in ("ptflops", "fvcore", "thop", "torchinfo"):
        for tool, result in run_peers.run_tool(runner, model, (3, 224, 224)).items():
            assert result.get("value") == analysis.count(tool).value, f"{name} / {tool}"


@pytest.mark.torch
def test_live_the_exported_forms_count_as_the_conventions_say() -> None:
    run_peers = _tools()
    from models import exported

    spec = {"name": "mixed", "input": "8x8x4", "layers": [
        {"kind": "conv", "out": 8, "kernel": 3, "padding": 1},
        {"kind": "relu", "op": "function"}, {"kind": "sigmoid", "op": "method"},
        {"kind": "maxpool", "kernel": 2, "op": "function"},
        {"kind": "pointwise", "out": 16, "op": "channels_last"},
        {"kind": "layernorm", "op": "channels_last"}, {"kind": "gelu", "op": "function"},
        {"kind": "upsample", "scale": 2, "op": "function"},
        {"kind": "global_avgpool", "op": "method"}, {"kind": "flatten"},
        {"kind": "linear", "out": 10}]}
    model, chw = exported(spec)
    analysis = C.analyse(analyze_network(spec))
    for runner in ("ptflops", "fvcore", "thop", "torchinfo"):
        for tool, result in run_peers.run_tool(runner, model, chw).items():
            assert result.get("value") == analysis.count(tool).value, tool


@pytest.mark.torch
def test_the_torch_import_reads_each_form_and_the_export_round_trips() -> None:
    """torch.fx says how each call is made; a spec with every form, exported and imported
    again, comes back with the same forms."""
    pytest.importorskip("torch")
    from models import exported

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import parse_shape

    layers: list[dict[str, Any]] = [
        {"kind": "conv", "out": 8, "kernel": 3, "padding": 1},
        {"kind": "relu", "op": "function"}, {"kind": "sigmoid", "op": "method"},
        {"kind": "maxpool", "kernel": 2, "op": "function"},
        {"kind": "layernorm", "op": "channels_last"},
        {"kind": "pointwise", "out": 16, "op": "channels_last"}, {"kind": "gelu"},
        {"kind": "avgpool", "kernel": 2, "op": "function"},
        {"kind": "global_avgpool", "op": "method"}]
    spec = {"name": "forms", "input": "8x8x4", "layers": layers}
    model, _ = exported(spec)
    back = analyze_network(load_yaml_text(import_torch(model, parse_shape("8x8x4")).yaml))
    assert [(row.spec.kind_name, row.spec.op) for row in back.rows][:len(layers)] == \
        [(layer["kind"], layer.get("op")) for layer in layers]
    assert [(c.value, dict(c.difference)) for c in C.analyse(back).counts()] == \
        [(c.value, dict(c.difference)) for c in C.analyse(analyze_network(spec)).counts()]

"""One way in (convcalc.sources): every name the user can give becomes a Network, and the
public API and `convcalc net` take them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.errors import SpecError
from convcalc.sources import kind_of, load_network

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.mark.parametrize("name, kind", [
    ("resnet50", "yaml"), ("examples/resnet50.yaml", "yaml"), ("-", "yaml"),
    ("model.onnx", "onnx"), ("MODEL.ONNX", "onnx"),
    ("torchvision.models:resnet18", "torch"), ("nets/build.py:make", "torch"),
    ("pkg.mod:Factory.create", "torch"), (r"C:\specs\net.yaml", "yaml"),
])
def test_a_name_is_a_yaml_spec_an_onnx_file_or_a_torch_factory(name: str, kind: str) -> None:
    assert kind_of(name) == kind


def test_an_existing_file_is_read_as_a_spec_even_with_a_colon(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a:b").write_text("input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3}\n")
    assert kind_of("a:b") == "yaml"
    assert convcalc.analyze_network("a:b").output.spatial == (6, 6)


def test_a_torch_factory_needs_an_input_shape() -> None:
    with pytest.raises(SpecError, match="needs the input shape"):
        load_network("torchvision.models:resnet18")
    result = runner.invoke(app, ["net", "torchvision.models:resnet18"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--input SHAPE" in result.stderr


def test_the_api_takes_a_bundled_name_a_path_a_mapping_and_a_network() -> None:
    by_name = convcalc.analyze_network("resnet18").totals()
    by_path = convcalc.analyze_network(ROOT / "examples" / "resnet18.yaml").totals()
    net = convcalc.load_network("resnet18")
    assert load_network(net) is net
    assert convcalc.analyze_network(net).totals() == by_name == by_path
    spec = {"input": "8x8x3", "layers": [{"conv": {"out": 4, "kernel": 3}}]}
    assert convcalc.analyze_network(spec).totals()["params"] == 3 * 4 * 9 + 4


def test_net_reads_a_torch_factory_as_import_then_net_does(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    Path("small.py").write_text("import torch.nn as nn\n\n\ndef build():\n    return "
                                "nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2))\n")
    direct = runner.invoke(app, ["net", "small.py:build", "-i", "16x16x3", "-f", "json"])
    assert direct.exit_code == 0, direct.output
    imported = runner.invoke(app, ["import", "--torch", "small.py:build", "-i", "16x16x3",
                                   "-o", "small.yaml"])
    assert imported.exit_code == 0, imported.output
    via_yaml = runner.invoke(app, ["net", "small.yaml", "-f", "json"])
    got, want = json.loads(direct.stdout), json.loads(via_yaml.stdout)
    assert got["totals"] == want["totals"] and got["output"] == want["output"]
    assert [r["kind"] for r in got["layers"]] == ["conv", "relu", "maxpool"]

"""`convcalc import --torch` never loses a layer: torchvision's segmentation and video networks at
their default sizes against PyTorch's own numel and FlopCounterMode, every output a forward
returns (dict, tuple, list, nested) kept and counted, subclasses of torch layers and functional
convs read as the layers they are, ONNX files with several outputs, and one-line errors for a
forward that returns no tensor. Live where torch (and torchvision) are installed; skipped
otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.shapes import parse_shape
from convcalc.yamlio import load_yaml_text

FACTORIES = str(Path(__file__).resolve().parent / "seg_video_factories.py")

# name -> (torchvision.models sub-package, kwargs, input as convcalc writes it (channels last))
NETS: dict[str, tuple[str, dict[str, Any], str]] = {
    "fcn_resnet50_aux": ("segmentation", {"aux_loss": True}, "520x520x3"),
    "deeplabv3_resnet50_aux": ("segmentation", {"aux_loss": True}, "520x520x3"),
    "fcn_resnet101": ("segmentation", {}, "520x520x3"),
    "deeplabv3_mobilenet_v3_large": ("segmentation", {}, "520x520x3"),
    "lraspp_mobilenet_v3_large": ("segmentation", {}, "520x520x3"),
    "r3d_18": ("video", {}, "16x112x112x3"),
    "mc3_18": ("video", {}, "16x112x112x3"),
    "r2plus1d_18": ("video", {}, "16x112x112x3"),
    "s3d": ("video", {}, "16x224x224x3"),
}
HEADS = ("fcn_resnet50_aux", "deeplabv3_resnet50_aux")


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch", reason="PyTorch is not installed")


@pytest.fixture(scope="module")
def tv(torch: Any) -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from torchvision_ref import import_torchvision

        return import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")


def reference(torch: Any, model: Any, shape: str) -> tuple[int, int]:
    """sum(p.numel()) and FlopCounterMode's MACs (FLOPs // 2) on one batch-1 input, run on the
    meta device (shapes only, as fast as the count needs)."""
    from torch.utils.flop_counter import FlopCounterMode

    s = parse_shape(shape)
    params = sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.to("meta")(torch.zeros(1, s.channels, *s.spatial, device="meta"))
    flops = int(counter.get_total_flops())
    assert flops % 2 == 0
    return params, flops // 2


def totals(imported: Any) -> tuple[int, int]:
    t = convcalc.analyze_network(imported.spec).totals()
    return t["params"], t["macs"]


@pytest.mark.torch
@pytest.mark.parametrize("name", list(NETS))
def test_segmentation_and_video_nets_equal_pytorch(name: str, torch: Any, tv: Any) -> None:
    """Each net imports with nothing uncounted, and its totals are torch's to the unit (the
    auxiliary heads included)."""
    from convcalc.bridges.torch_import import import_torch

    package, kwargs, shape = NETS[name]
    factory = getattr(getattr(tv.models, package), name.removesuffix("_aux"))
    extra = {"weights_backbone": None} if package == "segmentation" else {}
    model = factory(weights=None, **extra, **kwargs).eval()
    imported = import_torch(lambda: model, parse_shape(shape))
    assert imported.warnings == []
    assert totals(imported) == reference(torch, model, shape)
    if name in HEADS:
        assert imported.spec["layers"][-1]["branches"]["merge"] == "first"
        assert any("2 outputs (out, aux)" in n for n in imported.notes)


@pytest.mark.torch
def test_the_aux_head_is_an_output_of_its_own_from_the_command_line(torch: Any, tv: Any) -> None:
    """The README's run: fcn_resnet50(aux_loss=True) as typed; the aux path ends the spec's
    last `branches` (merge: first) and the network's output is the main head's."""
    result = CliRunner().invoke(app, ["import", "--torch", f"{FACTORIES}:fcn_resnet50_aux",
                                      "--input", "520x520x3"])
    assert result.exit_code == 0, result.stderr
    assert "# note: the model has 2 outputs (out, aux)" in result.stdout
    report = convcalc.analyze_network(load_yaml_text(result.stdout))
    assert report.output == parse_shape("520x520x21")
    aux = [r for r in report.rows if r.path.startswith("path1.")]
    assert aux and all(".aux_classifier." in f".{r.path}." or r.report.kind == "upsample"
                       for r in aux)
    assert sum(r.report.params for r in aux) == 2_365_205  # torchvision's FCNHead(1024, 21)


@pytest.mark.torch
def test_nested_outputs_are_all_kept(torch: Any) -> None:
    """(out, {"a": …, "b": [tensor, 3, None]}): three tensors, each counted, named in the note."""
    from convcalc.bridges.torch_import import import_torch

    sys.path.insert(0, str(Path(FACTORIES).parent))
    from seg_video_factories import nested_outputs

    model = nested_outputs().eval()
    imported = import_torch(lambda: model, parse_shape("16x16x3"))
    assert any("3 outputs (0, 1.a, 1.b.0)" in n for n in imported.notes)
    assert totals(imported) == reference(torch, model, "16x16x3")


@pytest.mark.torch
@pytest.mark.parametrize(("factory", "what"), [("returns_int", "int"),
                                               ("returns_none", "None"),
                                               ("returns_text", "str")])
def test_a_forward_that_returns_no_tensor_is_one_line(torch: Any, factory: str,
                                                      what: str) -> None:
    result = CliRunner().invoke(app, ["import", "--torch", f"{FACTORIES}:{factory}", "--input",
                                      "8x8x3"])
    assert result.exit_code in (1, 2)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert f"forward returns {what}, not a tensor" in result.stderr
    assert "Traceback" not in result.stderr


def _subclassed_and_functional(torch: Any, rank: int) -> Any:
    """Subclasses of torch layers (with forwards of their own, or none as torchvision's
    Conv3DSimple) and functional convs, transposed convs, linear and norms on parameters."""
    import torch.nn.functional as F
    from torch import nn

    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[rank]
    fconv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    tconv = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]

    class Conv(conv):  # type: ignore[valid-type,misc]
        def forward(self, x: Any) -> Any:  # the shape nn.ConvNd gives: read as nn.ConvNd
            return super().forward(x) * 1.0

    class Strided(conv):  # type: ignore[valid-type,misc]
        pass

    class Act(nn.ReLU):
        pass

    class Norm(nn.GroupNorm):
        pass

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            k = (3,) * rank
            self.conv = Conv(3, 8, 3, padding=1)
            self.norm = Norm(2, 8)
            self.act = Act()
            self.inorm = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d,
                          3: nn.InstanceNorm3d}[rank](8, affine=True)
            self.down = Strided(8, 8, 3, stride=2, padding=1)
            self.w = nn.Parameter(torch.randn(16, 8, *k))
            self.b = nn.Parameter(torch.randn(16))
            self.wt = nn.Parameter(torch.randn(16, 4, *(2,) * rank))
            self.gamma = nn.Parameter(torch.ones(8))
            self.beta = nn.Parameter(torch.zeros(8))
            self.register_buffer("mean", torch.zeros(8))
            self.register_buffer("var", torch.ones(8))
            self.ln_w = nn.Parameter(torch.ones(8))
            self.fc = nn.Parameter(torch.randn(10, 8))
            self.fc_b = nn.Parameter(torch.randn(10))

        def forward(self, x: Any) -> Any:
            x = self.down(self.inorm(self.act(self.norm(self.conv(x)))))
            x = fconv(x, self.w, self.b, 1, 1)
            x = tconv(x, self.wt, None, 2, 0, 0, 2)
            x = F.batch_norm(x, self.mean, self.var, self.gamma, self.beta, False)
            last = (0, *range(2, rank + 2), 1)
            back = (0, rank + 1, *range(1, rank + 1))
            x = F.layer_norm(x.permute(*last), (8,), self.ln_w).permute(*back)
            return F.linear(x.mean(tuple(range(2, rank + 2))), self.fc, self.fc_b)

    return Net()


@pytest.mark.torch
@pytest.mark.parametrize("shape", ["16x3", "16x16x3", "8x16x16x3"], ids=["1d", "2d", "3d"])
def test_subclassed_layers_and_functional_convs_equal_pytorch(torch: Any, shape: str) -> None:
    from convcalc.bridges.torch_import import import_torch

    rank = len(parse_shape(shape).spatial)
    model = _subclassed_and_functional(torch, rank).eval()
    imported = import_torch(lambda: model, parse_shape(shape))
    assert imported.warnings == []
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in imported.spec["layers"]]
    assert kinds[:6] == ["conv", "groupnorm", "relu", "groupnorm", "conv", "conv"]
    assert {"transposed", "bn", "layernorm", "linear"} <= set(kinds)
    assert totals(imported) == reference(torch, model, shape)


@pytest.mark.torch
def test_onnx_with_several_outputs_keeps_them_all(torch: Any, tmp_path: Path) -> None:
    """An ONNX export of a model with three outputs (and F.interpolate to a size, a Resize
    with `sizes`): the totals are the model's, the note names the outputs."""
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package")
    import warnings

    from convcalc.bridges.onnx_import import import_onnx

    sys.path.insert(0, str(Path(FACTORIES).parent))
    from seg_video_factories import nested_outputs

    model = nested_outputs(extras=False).eval()
    path = tmp_path / "nested.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), str(path), dynamo=False,
                          output_names=["out", "a", "b"])
    imported = import_onnx(str(path))
    assert any("3 outputs (out, a, b)" in n for n in imported.notes)
    assert totals(imported) == reference(torch, nested_outputs(extras=False).eval(), "16x16x3")


@pytest.mark.torch
def test_merge_first_exports_to_torch_with_the_same_totals(torch: Any, tmp_path: Path) -> None:
    """`convcalc export` of a spec with heads runs every path (their parameters and MACs are the
    spec's) and returns the first path's output; imported back, the heads it computes and drops
    are outputs again."""
    import importlib.util

    from convcalc.bridges.pytorch_export import export_pytorch

    spec = {"name": "heads", "input": "16x16x3", "layers": [
        {"conv": {"out": 8, "kernel": 3, "padding": 1}},
        {"branches": {"merge": "first", "paths": [
            [{"conv": {"out": 16, "kernel": 3, "stride": 2, "padding": 1}},
             {"upsample": {"size": 12, "mode": "linear"}}],
            [{"pointwise": {"out": 4}}]]}}]}
    report = convcalc.analyze_network(spec)
    path = tmp_path / "heads.py"
    path.write_text(export_pytorch(report))
    module_spec = importlib.util.spec_from_file_location("heads", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    model = module.build().eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 16, 16))
    assert tuple(out.shape) == (1, 16, 12, 12)
    t = report.totals()
    from convcalc.bridges.torch_import import import_torch

    back = import_torch(lambda: module.build().eval(), parse_shape("16x16x3"))
    assert totals(back) == (t["params"], t["macs"])  # the dropped head read back as an output
    assert any("(dropped)" in n for n in back.notes)
    assert (t["params"], t["macs"]) == reference(torch, model, "16x16x3")


@pytest.mark.torch
def test_a_shared_parameter_is_never_counted_silently_twice(torch: Any) -> None:
    """A module called twice and one weight in two functional convs: the spec (a layer holds
    its parameters) counts them per use, and a warning says by exactly how many parameters."""
    import torch.nn.functional as F
    from torch import nn

    from convcalc.bridges.torch_import import import_torch

    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.w = nn.Parameter(torch.randn(3, 3, 1, 1))

        def forward(self, x: Any) -> Any:
            x = self.conv(self.conv(x))
            return F.conv2d(F.conv2d(x, self.w), self.w)

    model = Shared().eval()
    imported = import_torch(lambda: model, parse_shape("8x8x3"))
    params, macs = reference(torch, model, "8x8x3")
    assert len(imported.warnings) == 1
    assert "conv.weight ×2, conv.bias ×2, w ×2" in imported.warnings[0]
    assert f"({params:,} parameters more than the model; MACs unchanged)" in imported.warnings[0]
    assert totals(imported) == (2 * params, macs)


@pytest.mark.torch
@pytest.mark.parametrize("path", [[{"conv": {"out": 6, "kernel": 3}}], ["relu"],
                                  [{"maxpool": {"kernel": 2}}]])
def test_merge_first_with_an_empty_first_path_imports_back(torch: Any, tmp_path: Path,
                                                           path: list[Any]) -> None:
    """`branches: {merge: first, paths: [[], […]]}` exported (`convcalc export`) and imported
    back (`convcalc import --torch FILE:build`): the first path is the identity, `[]` again;
    the other path, even of layers without parameters (its result dropped by forward, which
    torch still runs), is an output of its own, so the spec is never empty and the totals,
    activations included, are the spec's."""
    runner = CliRunner()
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: first\ninput: 8x8x3\nlayers:\n  - branches:\n      merge: first\n"
                    f"      paths: [[], {json.dumps(path)}]\n", encoding="utf-8")
    model, out = tmp_path / "m.py", tmp_path / "back.yaml"
    result = runner.invoke(app, ["export", str(spec), "-o", str(model)])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["import", "--torch", f"{model}:build", "--input", "8x8x3",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    back = load_yaml_text(out.read_text(encoding="utf-8"))
    assert back["layers"][0]["branches"]["paths"][0] == []
    mine, theirs = convcalc.analyze_network(spec), convcalc.analyze_network(out)
    assert theirs.totals() == mine.totals()
    assert [r.report.kind for r in theirs.rows] == [r.report.kind for r in mine.rows]

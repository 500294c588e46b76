"""`convcalc import --torch module:factory`: a real torch module in (live where torch is
installed), PyTorch's own numel and FlopCounterMode as the reference, and the one-line errors
for everything that is not a traceable module."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from convcalc.api import analyze_network
from convcalc.cli import app
from convcalc.yamlio import load_yaml_text

runner = CliRunner()


def run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(args: list[str], code: int = 2) -> str:
    got, out, err = run(args)
    assert got == code, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_a_bad_target_is_one_line() -> None:
    assert "write package.module:factory" in one_line_error(
        ["import", "--torch", "torchvision.models.resnet50", "--input", "224x224x3"])
    assert "write package.module:factory" in one_line_error(
        ["import", "--torch", ":resnet50", "--input", "224x224x3"])


def test_without_torch_one_line_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    assert "PyTorch is not installed (convcalc needs it only for --torch; install " \
        "torch==2.13.0)" in one_line_error(
        ["import", "--torch", "torch_factories:tiny", "--input", "8x8x3"])


@pytest.fixture()
def torch() -> object:
    return pytest.importorskip("torch")


@pytest.mark.torch
def test_every_failure_of_the_factory_is_one_line(torch: object) -> None:
    shape = ["--input", "16x16x3"]
    cases = {
        "no_such_module_xyz:f": "cannot import no_such_module_xyz: ModuleNotFoundError",
        "torch_factories:missing": "torch_factories has no attribute 'missing'",
        "torch_factories:NOT_CALLABLE": "NOT_CALLABLE is not callable",
        "torch_factories:raises": "the factory raised RuntimeError: no weights here",
        "torch_factories:not_a_module": "the factory returned list, not an nn.Module",
        "torch_factories:branchy": "torch.fx cannot trace it",
    }
    for target, message in cases.items():
        err = one_line_error(["import", "--torch", target, *shape])
        assert message in err, (target, err)
    err = one_line_error(["import", "--torch", "torch_factories:tiny", "--input", "16x16x4"])
    assert "does not run on input 16×16×4" in err


@pytest.mark.torch
def test_a_small_model_equals_pytorch(torch: object) -> None:
    import torch as T
    from torch.utils.flop_counter import FlopCounterMode
    from torch_factories import tiny

    import convcalc

    model = tiny().eval()
    with T.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(T.zeros(1, 3, 16, 16))
    code, out, err = run(["import", "--torch", "torch_factories:tiny", "--input", "16x16x3"])
    assert code == 0 and err == ""
    report = convcalc.analyze_network(load_yaml_text(out))
    assert report.totals()["params"] == sum(p.numel() for p in model.parameters())
    assert report.totals()["macs"] == counter.get_total_flops() // 2
    assert report.output.channels == y.shape[1]
    paths = [r.path for r in report.rows]
    assert paths[:3] == ["stem.0", "stem.1", "block.conv1"]
    assert "block.shortcut.down.0" in paths
    assert "block.bn2" in paths and "fc" in paths


@pytest.mark.torch
def test_an_uncountable_module_is_named_and_strict_refuses_it(torch: object) -> None:
    code, out, err = run(["import", "--torch", "torch_factories:with_prelu", "--input",
                          "8x8x3"])
    assert code == 0
    assert "warning: 1 operator convcalc cannot count" in err and "PReLU ×1 (1)" in err
    assert "PReLU: not counted" in out
    err = one_line_error(["import", "--torch", "torch_factories:with_prelu", "--input",
                          "8x8x3", "--strict"], code=1)
    assert "--strict: 1 operator convcalc cannot count" in err


@pytest.mark.torch
@pytest.mark.parametrize("name", ["shufflenet_v1_g3", "octave_resnet", "unet_small",
                                  "dcgan_generator", "convnext_tiny", "deeplab_resnet50"])
def test_round_trip_through_torch_equals_the_example(torch: object, name: str) -> None:
    """YAML → `convcalc export` → the module itself → `--torch`: the totals, every layer's
    shape and receptive field come back (nn.ChannelShuffle, octave convs, transposed convs,
    LayerNorm2d and dilated convs included)."""
    from import_ref import ROOT

    import convcalc
    from convcalc.bridges.pytorch_export import export_pytorch
    from convcalc.bridges.torch_import import import_torch
    from convcalc.report import rf_to_dict

    original = convcalc.analyze_network(ROOT / "examples" / f"{name}.yaml")
    namespace: dict[str, object] = {}
    exec(compile(export_pytorch(original), name, "exec"), namespace)
    model = namespace["build"]()  # type: ignore[operator]
    imported = convcalc.analyze_network(import_torch(model, original.input).spec)
    keys = ("params", "weight_params", "bias_params", "macs")
    assert {k: imported.totals()[k] for k in keys} == {k: original.totals()[k] for k in keys}
    assert imported.output == original.output
    assert rf_to_dict(imported.receptive_field) == rf_to_dict(original.receptive_field)
    ours = {r.path: r for r in imported.rows}
    for row in original.rows:
        mine = ours[row.path]
        assert mine.report.output == row.report.output, row.path
        assert rf_to_dict(mine.receptive_field) == rf_to_dict(row.receptive_field), row.path


@pytest.mark.torch
def test_a_torchvision_factory_by_name(torch: object) -> None:
    """`--torch torchvision.models:squeezenet1_1` as typed: torchvision's numbers."""
    import json

    from import_ref import ROOT

    import convcalc

    try:
        from torchvision_ref import import_torchvision

        import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")
    code, out, err = run(["import", "--torch", "torchvision.models:squeezenet1_1", "--input",
                          "224x224x3"])
    assert code == 0, err
    assert out.startswith("# squeezenet1_1, imported by convcalc from "
                          "torchvision.models:squeezenet1_1.\n")
    theirs = json.loads((ROOT / "tests" / "fixtures" / "torchvision_models.json").read_text())
    totals = convcalc.analyze_network(load_yaml_text(out)).totals()
    expected = theirs["data"]["squeezenet1_1"]
    assert (totals["params"], totals["macs"]) == (expected["params"], expected["macs"])


@pytest.mark.torch
def test_an_exported_file_imports_from_the_current_directory_or_by_path(
        torch: object, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """`convcalc export` then `convcalc import --torch model:build` (the module found in the
    current directory, as `python -m` finds it) or `--torch ./model.py:build`: the same spec,
    with the example's totals."""
    import json
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "tiny_export_model", raising=False)
    code, _, err = run(["export", "mobilenet_v1", "--to", "pytorch", "-o", "tiny_export_model.py"])
    assert code == 0, err
    specs = []
    for target in ("tiny_export_model:build", "./tiny_export_model.py:build"):
        code, out, err = run(["import", "--torch", target, "--input", "224x224x3"])
        assert code == 0, err
        specs.append(out.split("\n", 1)[1])  # past the comment naming the source
    assert specs[0] == specs[1]
    (tmp_path / "imported.yaml").write_text(specs[0])
    totals = [json.loads(run(["net", spec, "--format", "json"])[1])["totals"]
              for spec in ("mobilenet_v1", "imported.yaml")]
    assert totals[0]["params"] == totals[1]["params"] and totals[0]["macs"] == totals[1]["macs"]
    assert "no such file" in one_line_error(["import", "--torch", "missing.py:build",
                                             "--input", "8x8x3"])


@pytest.mark.torch
def test_an_ellipsis_index_reads_the_last_axes(torch: object) -> None:
    """`x[..., :2, :, :]` indexes the axes after `...` from the end (it was read as x itself,
    then refused with a conv shape that did not match): a channel split, as x[:, :2]."""
    import torch as T
    from torch.utils.flop_counter import FlopCounterMode

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    class Halves(T.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = T.nn.Conv2d(2, 4, 3, padding=1)
            self.b = T.nn.Conv2d(2, 6, 3, padding=1)

        def forward(self, x: object) -> object:
            return T.cat([self.a(x[..., :2, :, :]), self.b(x[:, 2:, ...])], 1)  # type: ignore[index]

    model = Halves().eval()
    with T.no_grad(), FlopCounterMode(display=False) as counter:
        model(T.zeros(1, 4, 8, 8))
    report = analyze_network(import_torch(model, Shape(4, (8, 8))).spec)
    assert report.totals()["macs"] == counter.get_total_flops() // 2
    assert report.totals()["params"] == sum(p.numel() for p in model.parameters())


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")
def test_a_softmax_without_dim_takes_torchs_implicit_axis(torch: object) -> None:
    """F.softmax(x) and nn.Softmax() without `dim` normalise over axis 1 of a 4-D tensor
    (torch's legacy rule): a channel softmax (F.softmax(x, dim=None) was a traceback, and
    nn.Softmax() was read over the last axis: an uncounted identity)."""
    import torch as T

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    class Both(T.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = T.nn.Conv2d(3, 4, 3)
            self.soft = T.nn.Softmax()

        def forward(self, x: object) -> object:
            return T.nn.functional.softmax(self.soft(self.conv(x)), dim=None)

    imported = import_torch(Both().eval(), Shape(3, (8, 8)))
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in imported.spec["layers"]]
    assert kinds == ["conv", "softmax", "softmax"] and imported.warnings == []


@pytest.mark.torch
def test_a_layer_subclass_with_its_own_forward_is_named(torch: object) -> None:
    """A subclass of a torch layer is read as its torch base; one whose forward does more (here
    the conv runs twice: torch counts twice the MACs) is named in a note, not silently counted
    as the base (a subclass that keeps the base's forward, as torchvision's Conv3DSimple, is
    not)."""
    import torch as T

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    class Twice(T.nn.Conv2d):
        def forward(self, x: object) -> object:
            return super().forward(super().forward(x))

    class Same(T.nn.Conv2d):
        pass

    model = T.nn.Sequential(Twice(4, 4, 3, padding=1), Same(4, 4, 1)).eval()
    imported = import_torch(model, Shape(4, (8, 8)))
    assert imported.notes == ["Twice (an nn.Conv2d) has a forward of its own, read as its torch "
                              "base: what else it computes is not counted (1: 0)"]


@pytest.mark.torch
@pytest.mark.parametrize(("index", "said"), [
    ((slice(None), slice(None), slice(1, None)), "a slice along the H axis (1:8 of 8)"),
    ((Ellipsis, slice(2, 5)), "a slice along the W axis (2:5 of 8)"),
])
def test_a_slice_along_a_spatial_axis_is_said_as_such(torch: object, index: tuple[object, ...],
                                                      said: str) -> None:
    """`x[:, :, 1:]` cuts rows, not channels: the one-line error names the node and the axis it
    slices, and says what convcalc reads (a slice as one path of a channel split)."""
    import torch as T

    from convcalc.bridges.ops import UnsupportedError
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    class Rows(T.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = T.nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x: object) -> object:
            return self.conv(x)[index]  # type: ignore[index]

    with pytest.raises(UnsupportedError) as e:
        import_torch(Rows(), Shape(3, (8, 8)))
    assert str(e.value) == (f"getitem (Slice): {said}: convcalc reads a slice only as one path "
                            "of a channel split (slices of the channels that together cover "
                            "them, each concatenated back)")

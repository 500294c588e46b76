"""The models the importer tests read: torchvision's (tests/torchvision_ref.py) and convcalc's
own examples, written to ONNX by torch's exporter, and the committed specs imported from them.

Export is pinned: torch 2.13's TorchScript exporter (`dynamo=False`; the default dynamo
exporter needs onnxscript), opset 17, `do_constant_folding=False` (with folding, an eval-mode
export folds every BatchNorm into the conv before it and the graph's parameters are no longer
the model's; tests/test_import_onnx.py checks that case on its own).

`scripts/make_import_fixtures.py` writes tests/fixtures/imported/ from these; the live tests
check that a fresh import still gives the committed text.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "imported"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
TORCHVISION = ["alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large",
               "efficientnet_b0", "shufflenet_v2_x1_0", "squeezenet1_1", "googlenet",
               "densenet121", "inception_v3", "regnet_y_400mf", "convnext_tiny"]
OPSET = 17


def export_onnx(model: Any, shape: tuple[int, ...], path: Path, *, fold: bool = False) -> Path:
    """`model` (eval mode) written to `path` by the pinned exporter, at batch 1."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices
        torch.onnx.export(model.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False,
                          opset_version=OPSET, do_constant_folding=fold)
    return path


def torchvision_model(name: str) -> tuple[Any, tuple[int, int, int]]:
    """A torchvision model as tests/torchvision_ref.py builds it, and its input (C, H, W)."""
    from torchvision_ref import MODELS, build

    return build(name), MODELS[name][2]


def example_model(name: str) -> tuple[Any, tuple[int, ...], Any]:
    """An example spec as `convcalc export` writes it in torch (as it is: its LayerNorm2d and
    ChannelShuffle are written so that torch.onnx.export can write them), its input (C, …) and
    convcalc's own report of the spec."""
    from convcalc.bridges.pytorch_export import export_pytorch
    from convcalc.engine import analyze_network

    report = analyze_network(ROOT / "examples" / f"{name}.yaml")
    namespace: dict[str, Any] = {}
    exec(compile(export_pytorch(report), f"<export {name}>", "exec"), namespace)
    return namespace["build"](), tuple(namespace["INPUT"][1:]), report


def fixture_path(kind: str, name: str) -> Path:
    """tests/fixtures/imported/<kind>/<name>.yaml: kind is onnx, torch or examples."""
    return FIXTURES / kind / f"{name}.yaml"

"""`trainable: false` in a spec: the layers inside are frozen in the training step exactly as
`--freeze PATH` freezes them, the two combine, the PyTorch export sets requires_grad_(False) on
their parameters, and nothing an inference report says changes."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from convcalc.engine import analyze_network
from convcalc.errors import SpecError
from convcalc.training import train

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "training_examples.json").read_text())[
    "networks"]
KEYS = ("forward_macs", "backward_macs", "grad_input_macs", "grad_weight_macs",
        "recompute_macs", "saved_activation_bytes")


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())
    return data


def entry_name(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if "name" in item:
        return str(item["name"])
    inner = next(iter(item.values()))
    return str(inner["name"]) if isinstance(inner, dict) and "name" in inner else None


def mark_top(data: dict[str, Any], pick: Callable[[Any], bool]) -> dict[str, Any]:
    """A copy of `data` with `trainable: false` on every top-level entry `pick` chooses (beside
    the kind: `- {stage: {...}, trainable: false}`)."""
    out = copy.deepcopy(data)
    out["layers"] = [({**item, "trainable": False} if isinstance(item, dict) else
                      {item: None, "trainable": False}) if pick(item) else item
                     for item in out["layers"]]
    return out


def named(*names: str) -> Callable[[Any], bool]:
    return lambda item: entry_name(item) in names


def resnet18_block_conv1() -> dict[str, Any]:
    """`trainable: false` among the fields, inside a block definition: every use freezes it."""
    data = example("resnet18")
    data["blocks"]["basic"]["layers"][0]["residual"]["body"][0]["conv"]["trainable"] = False
    return data


def mobilenet_v2_early() -> dict[str, Any]:
    data = example("mobilenet_v2")
    return mark_top(data, lambda item: entry_name(item) == "stem" or (
        isinstance(item, dict) and item.get("stage", {}).get("first") in (1, 2)))


# spec with `trainable: false` → the --freeze paths that freeze the same layers
CASES: dict[str, tuple[Callable[[], dict[str, Any]], tuple[str, ...]]] = {
    "resnet18_stem_and_layer1": (lambda: mark_top(example("resnet18"),
                                                  named("conv1", "bn1", "layer1")),
                                 ("conv1", "bn1", "layer1")),
    "resnet18_every_block_conv1": (resnet18_block_conv1,
                                   tuple(f"layer{s}.{b}.conv1" for s in range(1, 5)
                                         for b in range(2))),
    "mobilenet_v2_early": (mobilenet_v2_early, ("stem", "b1", "b2", "b3")),
    "convnext_tiny_stem": (lambda: mark_top(example("convnext_tiny"), named("stem")),
                           ("stem",)),
    "vgg16_everything": (lambda: mark_top(example("vgg16"), lambda item: True),
                            ()),  # everything frozen: no gradient at all
}
# the committed torch measurement of the same frozen network
MEASURED = {"resnet18_stem_and_layer1": ("resnet18", "frozen_stem"),
            "mobilenet_v2_early": ("mobilenet_v2", "frozen_early"),
            "convnext_tiny_stem": ("convnext_tiny", "frozen_stem")}


def same_training(a: Any, b: Any) -> None:
    ta, tb = a.totals(), b.totals()
    ta.pop("frozen"), tb.pop("frozen")
    assert ta == tb
    assert a.rows == b.rows
    assert a.peak == b.peak


@pytest.mark.parametrize("case", list(CASES))
def test_trainable_false_trains_as_freeze(case: str) -> None:
    make, paths = CASES[case]
    data = make()
    plain = analyze_network(ROOT / "examples" / f"{data['name']}.yaml", batch=2)
    marked = analyze_network(data, batch=2)
    if not paths:  # every layer frozen
        paths = tuple(r.path for r in plain.rows)
        assert all(r.backward_macs == 0 for r in train(marked).rows)
    same_training(train(marked), train(plain, freeze=paths))
    for optimizer in ("sgd", "adamw"):
        same_training(train(marked, optimizer=optimizer, dtype="bf16"),
                      train(plain, freeze=paths, optimizer=optimizer, dtype="bf16"))


@pytest.mark.parametrize("case", list(MEASURED))
def test_trainable_false_equals_the_torch_measurement_of_freeze(case: str) -> None:
    net, variant = MEASURED[case]
    measured = EXAMPLES[net][variant]
    totals = train(analyze_network(CASES[case][0](), batch=2)).totals()
    assert {k: totals[k] for k in KEYS} == {k: measured[k] for k in KEYS}


def test_trainable_false_combines_with_freeze() -> None:
    plain = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    marked = analyze_network(mark_top(example("resnet18"), named("conv1", "bn1")), batch=2)
    same_training(train(marked, freeze=["layer1"]), train(plain, freeze=["conv1", "bn1",
                                                                         "layer1"]))
    # frozen both ways at once: still frozen once
    same_training(train(marked, freeze=["conv1"]), train(plain, freeze=["conv1", "bn1"]))


def test_trainable_true_changes_nothing() -> None:
    plain = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    data = example("resnet18")
    data["layers"] = [{**i, "trainable": True} if isinstance(i, dict) else i
                      for i in data["layers"]]
    same_training(train(analyze_network(data, batch=2)), train(plain))


def test_trainable_false_leaves_the_inference_report_unchanged() -> None:
    for make, _ in CASES.values():
        data = make()
        marked = analyze_network(data)
        names = {"resnet18", "mobilenet_v2", "convnext_tiny", "vgg16"}
        plain = analyze_network(ROOT / "examples" / f"{data['name']}.yaml") \
            if data["name"] in names else None
        assert plain is not None
        assert marked.to_dict() == plain.to_dict()
        assert any(not r.trainable for r in marked.rows)


SMALL = """\
name: small
input: 12x12x3
blocks:
  unit:
    params: {c: null}
    layers:
      - conv: {out: $c, kernel: 3, padding: 1, bias: false}
      - bn
      - relu
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1, trainable: false}
  - bn: {name: stem_bn}
  - relu
  - residual:
      name: res
      trainable: false
      body: [conv: {out: 16, kernel: 3, stride: 2, padding: 1}, bn]
      shortcut: auto
  - unit: {name: u, c: 16}
  - repeat: 2
    name: rep
    trainable: false
    body: [unit: {c: 16}]
  - kind: depthwise
    name: dw
    kernel: 3
    padding: 1
    trainable: false
  - global_avgpool
  - linear: {name: fc, out: 10}
"""


def test_small_spec_every_entry_form() -> None:
    report = analyze_network(yaml.safe_load(SMALL), batch=2)
    frozen = {r.path for r in report.rows if not r.trainable}
    assert frozen == {"stem", "res.conv", "res.batchnorm", "res.shortcut.0", "res.shortcut.1",
                      "rep.0.conv", "rep.0.batchnorm", "rep.0.relu", "rep.1.conv",
                      "rep.1.batchnorm", "rep.1.relu", "dw"}
    plain_data = SMALL.replace("trainable: false", "trainable: true")
    plain = analyze_network(yaml.safe_load(plain_data), batch=2)
    same_training(train(report), train(plain, freeze=["stem", "res", "rep", "dw"]))


def test_exported_module_is_frozen_as_the_spec_says() -> None:
    torch = pytest.importorskip("torch")
    from convcalc.bridges.pytorch_export import export_pytorch

    report = analyze_network(yaml.safe_load(SMALL))
    namespace: dict[str, Any] = {"__name__": "convcalc_export_small"}
    exec(compile(export_pytorch(report), "<export>", "exec"), namespace)
    model = namespace["build"]()
    assert isinstance(model, torch.nn.Module)
    seen = 0
    for row in report.rows:
        for p in model.get_submodule(row.path).parameters():
            assert p.requires_grad is row.trainable, row.path
            seen += 1
    assert seen == sum(1 for _ in model.parameters())


def test_trainable_false_backward_equals_torch_live() -> None:
    """The exported module (requires_grad_(False) where the spec says trainable: false) run by
    scripts/measure_training.py: backward MACs, saved bytes and the parameters that get a
    gradient equal convcalc's."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "scripts"))
    from measure_training import measure

    spec = yaml.safe_load(SMALL)
    measured: dict[str, Any] = measure(spec)
    report = analyze_network(spec, batch=2)
    t = train(report)
    totals = t.totals()
    assert {k: totals[k] for k in KEYS} == {k: measured[k] for k in KEYS}
    assert measured["params_with_grad"] == sum(r.report.params for r, tr in
                                               zip(report.rows, t.rows, strict=True)
                                               if tr.trainable)
    # and the same network frozen by --freeze, measured the same way
    plain = yaml.safe_load(SMALL.replace("trainable: false", "trainable: true"))
    by_freeze = measure(plain, freeze=("stem", "res", "rep", "dw"))
    assert {k: by_freeze[k] for k in KEYS} == {k: measured[k] for k in KEYS}


@pytest.mark.parametrize(("entry", "got"), [
    ("- conv: {out: 4, kernel: 1, trainable: maybe}", "text 'maybe'"),
    ("- {conv: {out: 4, kernel: 1}, trainable: 1}", "a number '1'"),
    ("- kind: conv\n    out: 4\n    kernel: 1\n    trainable: yes please", "text 'yes please'"),
    ("- residual: {body: [relu], trainable: null}", "got nothing"),
    ("- repeat: 2\n    trainable: [false]\n    body: [relu]", "a list"),
])
def test_bad_trainable_value_is_one_line_naming_file_line_field(tmp_path: Path, entry: str,
                                                                 got: str) -> None:
    from typer.testing import CliRunner

    from convcalc.cli import app

    spec = tmp_path / "bad.yaml"
    spec.write_text(f"name: bad\ninput: 8x8x3\nlayers:\n  - relu\n  {entry}\n")
    result = CliRunner().invoke(app, ["net", str(spec), "--train"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"{spec}:" in lines[0] and "field 'trainable'" in lines[0]
    assert "trainable must be true or false" in lines[0] and got in lines[0], lines[0]
    line = int(lines[0].split(f"{spec}:")[1].split(":")[0])
    assert "trainable" in spec.read_text().splitlines()[line - 1]


def test_bad_trainable_raises_spec_error() -> None:
    data = {"name": "x", "input": "8x8x3",
            "layers": [{"sequence": {"layers": ["relu"], "trainable": "no"}}]}
    with pytest.raises(SpecError, match="trainable must be true or false"):
        analyze_network(data)

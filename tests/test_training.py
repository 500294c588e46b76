"""Training: convcalc's backward MACs and saved bytes against PyTorch, exactly.

The reference is scripts/measure_training.py (torch 2.13 CPU, train mode, batch 2: what
saved_tensors_hooks sees, one storage counted once, parameters and buffers left out; MACs from
FlopCounterMode with convolution_backward corrected for groups), committed as
tests/fixtures/training_kinds.json (every one-layer spec of tests/fixtures/peers/kinds.json,
with an input that needs a gradient and one that does not) and training_examples.json (every
bundled example, plus frozen and checkpointed variants). With torch installed, a few are
measured live too; without it those tests skip.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from convcalc.engine import analyze_network
from convcalc.errors import SpecError
from convcalc.layers import REGISTRY
from convcalc.training import train
from convcalc.training.memory import state_memory
from convcalc.training.rules import RULES
from convcalc.training.saved import walk

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
KINDS = json.loads((FIXTURES / "training_kinds.json").read_text())["models"]
EXAMPLES = json.loads((FIXTURES / "training_examples.json").read_text())["networks"]
VARIANTS = [(name, variant) for name, record in EXAMPLES.items()
            for variant in record if variant != "spec"]
KEYS = ("forward_macs", "backward_macs", "grad_input_macs", "grad_weight_macs",
        "recompute_macs", "saved_activation_bytes")


def test_every_kind_has_a_training_rule() -> None:
    assert set(RULES) == set(REGISTRY)


@pytest.mark.parametrize("input_grad", [False, True], ids=["input_no_grad", "input_needs_grad"])
@pytest.mark.parametrize("name", list(KINDS))
def test_kind_saved_bytes_and_backward_macs_equal_torch(name: str, input_grad: bool) -> None:
    measured = KINDS[name]["input_needs_grad" if input_grad else "input_no_grad"]
    report = analyze_network(KINDS[name]["spec"], batch=2)
    w = walk(report, input_grad=input_grad)
    assert w.saved_activation_bytes == measured["saved_activation_bytes"]
    assert sum(r.grad_input_macs for r in w.rows) == measured["grad_input_macs"]
    assert sum(r.grad_weight_macs for r in w.rows) == measured["grad_weight_macs"]
    by_module = {m: sum(s["bytes"] for s in saves)
                 for m, saves in measured["saved_by_module"].items()}
    mine = {r.path: r.saved_bytes for r in w.rows if r.saved_bytes}
    mine |= {s.owner: s.bytes for s in w.stored if s.owner not in mine}
    # torch attributes a merge's saves to the module whose forward ran it (the level)
    assert sorted(mine.values()) == sorted(by_module.values())


@pytest.mark.parametrize(("name", "variant"), VARIANTS, ids=[f"{n}:{v}" for n, v in VARIANTS])
def test_example_training_step_equals_torch(name: str, variant: str) -> None:
    measured = EXAMPLES[name][variant]
    report = analyze_network(ROOT / EXAMPLES[name]["spec"], batch=2)
    totals = train(report, freeze=measured.get("freeze", ()),
                   checkpoint=measured.get("checkpoint", ())).totals()
    assert {k: totals[k] for k in KEYS} == {k: measured[k] for k in KEYS}


@pytest.mark.parametrize(("name", "variant"), VARIANTS, ids=[f"{n}:{v}" for n, v in VARIANTS])
def test_flop_counter_overcounts_only_grouped_weight_gradients(name: str, variant: str) -> None:
    """FlopCounterMode's own number = the corrected one + (G − 1) × each grouped conv's
    grad-weight MACs × 2: the whole difference is the dropped groups."""
    measured = EXAMPLES[name][variant]
    assert measured["corrected_flops"] == 2 * (measured["forward_macs"]
                                               + measured["backward_macs"]
                                               + measured["recompute_macs"])
    assert measured["flop_counter_flops"] >= measured["corrected_flops"]


def test_first_layer_computes_no_grad_input() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    rows = train(report).rows
    assert rows[0].grad_input_macs == 0 and rows[0].grad_weight_macs > 0
    assert all(r.grad_input_macs == r.grad_weight_macs for r in rows[1:] if r.grad_weight_macs)


def test_nothing_before_the_first_trainable_layer_computes_a_gradient() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    t = train(report, freeze=["conv1", "bn1", "layer1"])
    for r in t.rows:
        if r.path.startswith(("conv1", "bn1", "layer1", "relu", "maxpool")):
            assert (r.grad_input_macs, r.grad_weight_macs, r.input_grad) == (0, 0, False), r.path


def test_a_frozen_block_computes_grad_input_but_no_grad_weight() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    rows = {r.path: r for r in train(report, freeze=["layer2"]).rows}
    conv = rows["layer2.0.conv1"]
    assert conv.grad_weight_macs == 0 and conv.grad_input_macs > 0 and not conv.trainable


def test_checkpoint_keeps_the_block_input_and_recomputes_its_macs() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml", batch=2)
    plain = train(report).totals()
    ck = train(report, checkpoint=["layer3"]).totals()
    layer3 = sum(r.report.macs for r in report.rows if r.path.startswith("layer3."))
    assert ck["recompute_macs"] == layer3
    assert ck["saved_activation_bytes"] < plain["saved_activation_bytes"]
    assert ck["backward_macs"] == plain["backward_macs"]


def test_unknown_freeze_path_names_the_option() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml")
    with pytest.raises(SpecError, match=r"--freeze 'layer9'.*did you mean"):
        train(report, freeze=["layer9"])


def test_unknown_optimizer_names_the_choices() -> None:
    report = analyze_network(ROOT / "examples" / "resnet18.yaml")
    with pytest.raises(SpecError, match="sgd, momentum, adam, adamw"):
        train(report, optimizer="lion")


@pytest.mark.parametrize(("dtype", "optimizer", "per_param"), [
    ("fp32", "sgd", 8), ("fp32", "momentum", 12), ("fp32", "adam", 16), ("fp32", "adamw", 16),
    ("bf16", "adam", 16), ("fp16", "sgd", 8), ("bf16", "momentum", 12)])
def test_state_bytes_per_trainable_parameter(dtype: str, optimizer: str, per_param: int) -> None:
    """ZeRO's count: mixed-precision Adam is 2 + 2 + 4 + 8 = 16 bytes per parameter."""
    assert state_memory(1000, 1000, dtype=dtype, optimizer=optimizer).total == 1000 * per_param


def test_frozen_parameters_keep_only_their_weights() -> None:
    m = state_memory(1000, 0, dtype="bf16", optimizer="adam")
    assert (m.param_bytes, m.grad_bytes, m.optimizer_bytes) == (2000, 0, 0)


def test_bf16_halves_the_activations_but_not_the_statistics() -> None:
    report = analyze_network(KINDS["batchnorm"]["spec"], batch=2)
    fp32 = walk(report, dtype="fp32").saved_activation_bytes
    bf16 = walk(report, dtype="bf16").saved_activation_bytes
    assert fp32 == 16384 + 64 and bf16 == 8192 + 64


def test_peak_is_at_least_the_state_and_the_saved_tensors() -> None:
    report = analyze_network(ROOT / "examples" / "mobilenet_v2.yaml", batch=2)
    t = train(report).totals()
    assert t["peak_bytes"] >= (t["param_bytes"] + t["optimizer_bytes"]
                               + t["saved_activation_bytes"])


# --- live, where torch is installed -----------------------------------------------------------

LIVE_KINDS = ["depthwise", "dwsep", "se_silu_hardsigmoid", "octave_stride2", "split",
              "branches_mul_gate", "conv_same_even", "maxpool_1d", "dropout"]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name", LIVE_KINDS)
def test_live_kind_equals_torch(name: str) -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "scripts"))
    from measure_training import measure

    measured: dict[str, Any] = measure(KINDS[name]["spec"])
    w = walk(analyze_network(KINDS[name]["spec"], batch=2))
    assert w.saved_activation_bytes == measured["saved_activation_bytes"]
    assert sum(r.backward_macs for r in w.rows) == measured["backward_macs"]

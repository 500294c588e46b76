"""`--batch N --conventions`: each tool on N samples, exactly as it counts them.

The tools were run on two samples (`run_peers.py scripts/peers/models.py:attention --batch 2
--only …`, tests/fixtures/peers/attention_batch2.json) and are run live where installed. A call
that runs once per forward pass (Swin V2's position-bias MLP, on its coordinate table) counts
once; ptflops builds its own input of one sample, so it prints one sample's count.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from convcalc import conventions as C
from convcalc.engine import analyze_network

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "tests" / "fixtures" / "peers"
sys.path.insert(0, str(ROOT / "scripts" / "peers"))
ATTENTION = json.loads((PEERS / "attention.json").read_text())["models"]


def spec_of(record: dict[str, Any]) -> Any:
    source = record["source"]["spec"]
    return str(ROOT / source) if isinstance(source, str) else source


def pip_version(version: str) -> str:
    """thop's metadata version 0.1.1-2209072238 is pip's 0.1.1.post2209072238."""
    return version.replace("-", ".post")


BATCH2 = json.loads((PEERS / "attention_batch2.json").read_text())
"""The tools on a batch of two (`run_peers.py scripts/peers/models.py:attention --batch 2 --only
…`): Swin V2's position-bias MLP runs once per pass, so PyTorch, fvcore, thop and torchinfo
count it once and everything else twice; ptflops builds its own input of one sample."""


@pytest.mark.parametrize("name", sorted(BATCH2["models"]))
def test_every_tool_on_a_batch_of_two(name: str) -> None:
    record = BATCH2["models"][name]
    assert record["input"][0] == 2
    analysis = C.analyse(analyze_network(spec_of(record), batch=2))
    assert analysis.count("torch").value == record["flop_counter"]["flops"]
    one = ATTENTION[name]
    once = sum(op.macs for ops in analysis.ops for op in ops if op.once)  # the bias MLPs'
    for tool, measured in record["tools"].items():
        mine = analysis.count(tool)
        assert (mine.value, mine.label) == (measured["value"], measured["label"]), tool
        assert pip_version(measured["version"]) == mine.version, tool
        assert sum(mine.difference.values()) == mine.value - mine.reference, tool
        if C.CONVENTIONS[tool].one_sample:  # ptflops: one sample's count; the other, a cause
            assert measured["value"] == one["tools"][tool]["value"]
            assert mine.difference["batch"] == -(mine.reference - once) // 2
    # the MLP's MACs are in the batch-2 total once: FlopCounterMode is below twice batch 1's
    assert record["flop_counter"]["flops"] == 2 * one["flop_counter"]["flops"] - 2 * once


BATCH2_SPECS: list[dict[str, Any]] = [
    # a pool whose bins are not whole (thop truncates one float product over the batch),
    # bilinear upsampling, batch norm, a linear layer: CNN calls at batch 2 too
    {"name": "cnn_batch", "input": "16x16x8", "layers": [
        {"kind": "conv", "out": 8, "kernel": 3}, {"kind": "adaptive_avgpool", "output_size": 6},
        {"kind": "upsample", "scale": 2, "mode": "bilinear"}, {"kind": "batchnorm"},
        {"kind": "relu"}, {"kind": "global_avgpool"}, {"kind": "flatten"},
        {"kind": "linear", "out": 10}]},
]


@pytest.mark.torch
@pytest.mark.parametrize("runner", ["ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo"])
def test_live_batch_of_two(runner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Swin V2 probes and a CNN on two samples, measured by the real tool now."""
    pytest.importorskip("torch")
    for stub in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    pytest.importorskip({"ptflops-aten": "ptflops"}.get(runner, runner))
    import run_peers
    from models import ATTENTION_PROBES, exported

    monkeypatch.setitem(run_peers.SETTINGS, "batch", 2)
    specs = [*BATCH2_SPECS, *({"name": n, "input": shape, "layers": layers}
                              for n, (shape, layers) in ATTENTION_PROBES.items()
                              if "v2" in n or "cosine" in n or "bias_mlp" in n)]
    for spec in specs:
        model, chw = exported(spec)
        analysis = C.analyse(analyze_network(spec, batch=2))
        for tool, measured in run_peers.run_tool(runner, model, chw).items():
            assert analysis.count(tool).value == measured["value"], f"{spec['name']} / {tool}"

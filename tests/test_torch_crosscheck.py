"""convcalc against PyTorch: output shape, parameters (numel), MACs (FlopCounterMode / 2), refusals.

The committed fixtures (scripts/make_fixtures.py, 1,500 random layers) run everywhere; when torch is
installed a fresh random sample is also measured live.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import pytest
from torch_ref import measure, random_case

import convcalc

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "torch_layers.json").read_text())
CASES = FIXTURES["cases"]


def ours(spec: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    try:
        r = convcalc.analyze_layer(spec, inp)
    except convcalc.ConvcalcError as e:
        return {"error": str(e)}
    return {"output": r.output.to_dict(), "params": r.params, "macs": r.macs}


def agree(spec: dict[str, Any], inp: dict[str, Any], theirs: dict[str, Any]) -> None:
    mine = ours(spec, inp)
    context = f"spec={spec} input={inp} torch={theirs} convcalc={mine}"
    if "error" in theirs:
        assert "error" in mine, f"torch refuses, convcalc accepts: {context}"
    else:
        assert "error" not in mine, f"torch accepts, convcalc refuses: {context}"
        assert mine == theirs, context


def test_fixture_set_is_large_and_mixed() -> None:
    assert len(CASES) >= 1000
    kinds = {c["spec"]["kind"] for c in CASES}
    assert kinds == {"conv", "transposed", "maxpool", "avgpool"}
    ranks = {len(c["input"]["spatial"]) for c in CASES}
    assert ranks == {1, 2, 3}
    refused = sum("error" in c["torch"] for c in CASES)
    assert 100 < refused < len(CASES) - 500


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['spec']['kind']}")
def test_matches_committed_torch_fixtures(case: dict[str, Any]) -> None:
    agree(case["spec"], case["input"], case["torch"])


@pytest.mark.torch
def test_matches_live_torch() -> None:
    pytest.importorskip("torch")
    rng = random.Random()
    seed = rng.randrange(10**9)
    rng.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(300):
            spec, inp = random_case(rng)
            agree(spec, inp, measure(spec, inp))

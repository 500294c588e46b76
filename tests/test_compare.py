"""`convcalc compare`: the documents' table, MobileNet's Table 3 layer, the octave paper's column."""

from __future__ import annotations

import json
from fractions import Fraction

from typer.testing import CliRunner

from convcalc import compare as C
from convcalc.cli import app

runner = CliRunner()
SEED = ["compare", "--input", "12x12x3", "--kernel", "5", "--out", "256", "--no-bias"]
TABLE3 = ["compare", "--input", "14x14x512", "--kernel", "3", "--out", "512", "--padding", "1",
          "--no-bias"]


def by_variant(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return {v["variant"]: v for v in data["variants"]}  # type: ignore[attr-defined,index]


def test_documents_example() -> None:
    result = runner.invoke(app, [*SEED, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["baseline"] == "conv"
    assert data["input"] == {"channels": 3, "spatial": [12, 12]}
    v = by_variant(data)
    assert (v["conv"]["macs"], v["conv"]["params"]) == (1_228_800, 19_200)
    assert (v["dwsep"]["macs"], v["dwsep"]["params"]) == (53_952, 843)
    assert [p["params"] for p in v["dwsep"]["parts"]] == [75, 768]  # type: ignore[index]
    # JSON ratios are exact, written as CSV writes them: an int, or "p/q"
    assert round(100 * Fraction(v["dwsep"]["macs_ratio"]), 2) == Fraction("4.39")
    applicable = [x for x in v.values() if "error" not in x]
    assert len(applicable) >= 6
    # inapplicable variants are rows with a reason, not a failure
    assert "groups=4 must divide the input channels (3)" in v["grouped"]["error"]  # type: ignore[operator]
    assert "macs" not in v["grouped"]


def test_mobilenet_table3_layer() -> None:
    result = runner.invoke(app, [*TABLE3, "--format", "json"])
    assert result.exit_code == 0
    v = by_variant(json.loads(result.stdout))
    assert (v["conv"]["macs"], v["conv"]["params"]) == (462_422_016, 2_359_296)
    assert (v["dwsep"]["macs"], v["dwsep"]["params"]) == (52_283_392, 266_752)
    assert Fraction(v["octave"]["macs_ratio"]) == Fraction(7, 16)
    assert v["octave"]["params"] == v["conv"]["params"]


def test_exact_ratios_and_closed_forms() -> None:
    comparison = C.compare("14x14x512", {"out": 512, "kernel": 3, "padding": 1, "bias": False})
    results = {r.variant: r for r in comparison.results}
    assert results["octave"].macs_ratio == Fraction(7, 16)
    forms = {c.variant: (c.ratio, c.measured) for c in comparison.closed_forms}
    assert forms["octave"] == (Fraction(7, 16), Fraction(7, 16))
    assert forms["dwsep"][0] == Fraction(1, 512) + Fraction(1, 9)
    assert forms["dwsep"][0] == forms["dwsep"][1]  # stride 1, 'same' padding: exactly 1/N + 1/K²
    assert forms["spatial_sep"] == (Fraction(2, 3), Fraction(2, 3))


def test_alpha_sweep_reproduces_octave_paper() -> None:
    result = runner.invoke(app, [*TABLE3, "--variants", "conv,octave",
                                 "--sweep", "alpha=0,0.125,0.25,0.5,0.75", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    ratios = [by_variant(c)["octave"]["macs_ratio"] for c in data["comparisons"]]
    assert [round(100 * Fraction(r)) for r in ratios] == [100, 82, 67, 44, 30]


def test_sweep_table_and_variant_overrides() -> None:
    result = runner.invoke(app, [*SEED, "--variants", "conv,grouped:groups=3,dwsep",
                                 "--sweep", "kernel=3,5,7"])
    assert result.exit_code == 0
    assert "kernel=7" in result.stdout and "grouped:groups=3" in result.stdout


def test_closed_forms_under_the_table() -> None:
    result = runner.invoke(app, TABLE3, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "1/N + 1/K²" in result.stdout
    assert "1 − ¾·α·(2 − α) = 1 − ¾·1/2·(2 − 1/2) = 43.75 %; measured 43.75 %" in result.stdout
    assert "1/N + 1/K² (MobileNet) = 1/512 + 1/3² = 11.31 %; measured 11.31 %" in result.stdout
    assert "█" in result.stdout


def test_bad_variant_and_baseline() -> None:
    result = runner.invoke(app, [*SEED, "--variants", "conv,dwseq"])
    assert result.exit_code == 2
    assert "did you mean 'dwsep'" in result.stderr
    result = runner.invoke(app, [*SEED, "--baseline", "grouped"])
    assert result.exit_code == 2
    assert "baseline 'grouped' does not apply" in result.stderr
    result = runner.invoke(app, ["compare", "--input", "12x12x3", "--kernel", "5"])
    assert result.exit_code == 2
    assert "needs --out" in result.stderr
    assert result.stdout == ""

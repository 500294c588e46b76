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


# --- issue 18: like for like ------------------------------------------------------------------

C56 = ["compare", "--input", "56x56x64", "--kernel", "3", "--out", "64", "--padding", "1",
       "--no-bias"]


def test_sweep_groups_leaves_baseline_conv_ungrouped() -> None:
    result = runner.invoke(app, [*C56, "--sweep", "groups=1,2,4,8", "--variants", "conv,grouped",
                                 "--format", "json"])
    assert result.exit_code == 0, result.stderr
    comparisons = json.loads(result.stdout)["comparisons"]
    convs = [by_variant(c)["conv"] for c in comparisons]
    assert {c["macs"] for c in convs} == {115_605_504}  # 3·3·64·64·56·56, groups 1 throughout
    ratios = [Fraction(by_variant(c)["grouped"]["macs_ratio"]) for c in comparisons]
    assert ratios == [1, Fraction(1, 2), Fraction(1, 4), Fraction(1, 8)]


def test_knobs_in_the_options_reach_only_their_variants() -> None:
    comparison = C.compare("56x56x64", {"out": 64, "kernel": 3, "padding": 1, "groups": 8},
                           C.parse_variants("conv,grouped,pointwise_group"))
    r = {x.variant: x for x in comparison.results}
    assert r["conv"].spec.get("groups", 1) == 1
    assert r["grouped"].spec["groups"] == r["pointwise_group"].spec["groups"] == 8


def test_dilated_pads_for_the_conv_output_size() -> None:
    comparison = C.compare("56x56x64", {"out": 64, "kernel": 3, "padding": 1})
    r = {x.variant: x for x in comparison.results}
    assert r["dilated"].spec["padding"] == 2  # 1 + (D − 1)·(K − 1)/2
    assert r["dilated"].report is not None and r["dilated"].report.output.spatial == (56, 56)
    assert "padding 2 for the conv's 56×56 output (padding 1 gives 54×54)" in r["dilated"].defaults


def test_octave_pads_like_conv() -> None:
    """The README's 12×12×3, kernel 5, no padding: octave cannot give the conv's 8×8 (its paths
    agree only where the size is kept), so it stays at padding 0 and says why; never 112.50 %."""
    comparison = C.compare("12x12x3", {"out": 256, "kernel": 5, "bias": False})
    r = {x.variant: x for x in comparison.results}
    assert r["octave"].spec.get("padding", 0) == 0 and r["octave"].report is None
    assert ("no padding gives the conv's 8×8 output (padding 2 gives 12×12); padding kept at 0"
            in r["octave"].defaults)
    result = runner.invoke(app, SEED)
    assert "112.50" not in result.stdout


def test_transposed_defaults_to_stride_1_in_compare() -> None:
    comparison = C.compare("56x56x64", {"out": 64, "kernel": 3, "padding": 1})
    r = {x.variant: x for x in comparison.results}
    assert r["transposed"].spec.get("stride", 1) == 1
    assert r["transposed"].report is not None
    assert r["transposed"].report.output.spatial == (56, 56)
    assert any("stride 1, as the conv" in n for n in r["transposed"].defaults)


def test_every_variant_matches_the_conv_output_where_it_can() -> None:
    for shape, options in (("12x12x8", {"out": 16, "kernel": 5}),
                           ("12x12x8", {"out": 16, "kernel": 5, "padding": 2}),
                           ("20x20x16", {"out": 16, "kernel": 3, "padding": 1, "stride": 2}),
                           ("56x56x64", {"out": 64, "kernel": 3, "padding": "same"})):
        comparison = C.compare(shape, options)
        conv = next(x for x in comparison.results if x.variant == "conv")
        assert conv.report is not None
        for x in comparison.results:
            if x.report is not None and x.report.output.spatial != conv.report.output.spatial:
                # a variant that differs says so in a note
                assert any("conv's" in n for n in x.defaults), (shape, options, x.variant)


def test_octave_alpha_rounding_is_explained() -> None:
    result = runner.invoke(app, [*SEED, "--padding", "2", "--variants", "conv,octave"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "43.75 %; measured 50.00 %" in result.stdout
    assert ("only ⌊1/2·3⌋ = 1 of 3 input channels and ⌊1/2·256⌋ = 128 of 256 output channels "
            "can be low-frequency, so α_in = 1/3 and α_out = 1/2 in effect: "
            "1 − ¾·(1 − (1 − 1/3)·(1 − 1/2)) = 50.00 %") in result.stdout


def test_sweep_alpha_out_of_range_is_refused_like_layer() -> None:
    result = runner.invoke(app, [*C56, "--variants", "octave", "--sweep", "alpha=1.5"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--sweep alpha=1.5" in result.stderr and "must be in [0, 1)" in result.stderr
    result = runner.invoke(app, [*C56, "--variants", "octave:alpha=1.5"])
    assert result.exit_code == 2
    assert "option --variants octave:alpha=1.5" in result.stderr


def test_compare_hints_are_copy_pasteable() -> None:
    result = runner.invoke(app, C56, env={"COLUMNS": "200"})
    assert "set grouped:groups=G" not in result.stdout
    hints = [line.split("--variants ", 1)[1].split(")")[0] for line in result.stdout.splitlines()
             if "--variants " in line]
    assert hints
    for hint in hints:  # each runs as written
        again = runner.invoke(app, [*C56, "--variants", hint, "--format", "json"])
        assert again.exit_code == 0, (hint, again.stderr)
        assert "error" not in json.loads(again.stdout)["variants"][0], hint


def test_overrides_reach_the_spec() -> None:
    """Every field an override may set reaches the variant's layer spec."""
    probe = {"out": 8, "kernel": 3, "_in_channels": 8}
    for base in C.RULES:
        for field in C.variant_fields(base) - {"alpha", "name"}:
            value = {"bias": False, "alpha_in": Fraction(1, 4), "alpha_out": Fraction(1, 4),
                     "ceil_mode": True, "output_padding": 0}.get(field, 2)
            variant = C.Variant(f"{base}:{field}", base, {field: value})
            spec, _ = C._variant_spec(variant, probe, {}, "test")
            assert spec.get(field) == value, (base, field)

"""The spec language: expressions, conditions, parameters, repeat, $in, error reporting, and the
regressions found while writing today's networks (issue: today's CNNs in the spec)."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.netspec.expr import ExprError, compile_expr, make_divisible

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def net(layers: list[Any], **top: Any) -> convcalc.NetworkReport:
    return convcalc.analyze_network({"input": top.pop("input", "8x8x16"), "layers": layers,
                                     **top})


def error_of(spec: dict[str, Any]) -> convcalc.ConvcalcError:
    with pytest.raises(convcalc.ConvcalcError) as info:
        convcalc.analyze_network(spec)
    return info.value


def messages(error: convcalc.ConvcalcError) -> list[str]:
    return [p.render() for p in (error.problems or (error,))]


# --- expressions ------------------------------------------------------------------------------

def torchvision_make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible, verbatim (floats)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@settings(max_examples=300)
@given(c=st.integers(1, 2048), w=st.sampled_from(["0.25", "0.35", "0.5", "0.75", "1.0", "1.1",
                                                  "1.2", "1.3", "1.4", "1.6", "1.8", "2.0"]))
def test_make_divisible_equals_torchvision_on_width_multipliers(c: int, w: str) -> None:
    exact, product = c * Fraction(w), c * float(w)
    if (exact + 4) % 8 == 0 and Fraction(product) < exact:
        # a tie that torchvision's float product misses (180 × 1.4 = 251.99…): convcalc rounds
        # the exact value, as torchvision does when the float is exact
        assert make_divisible(exact) == torchvision_make_divisible(float(exact))
        assert torchvision_make_divisible(product) == make_divisible(exact) - 8
    else:
        assert make_divisible(exact) == torchvision_make_divisible(product)


def test_no_torchvision_width_setting_lands_on_a_float_tie() -> None:
    """The channel counts torchvision's MobileNet V2/V3 and EfficientNet scale with
    _make_divisible(c · width, 8), at the widths people use: the exact value and torchvision's
    float product round the same way (the ties of the test above do not occur)."""
    channels = [8, 16, 24, 32, 40, 48, 64, 72, 80, 96, 112, 120, 160, 184, 192, 200, 240, 320,
                480, 576, 672, 960, 1024, 1280]
    widths = ["0.35", "0.5", "0.75", "1.0", "1.1", "1.2", "1.3", "1.4", "1.6", "1.8", "2.0",
              "2.2", "3.1"]
    for c in channels:
        for w in widths:
            assert make_divisible(c * Fraction(w)) == torchvision_make_divisible(c * float(w)), (
                c, w)
    assert (make_divisible(180 * Fraction("1.4")), torchvision_make_divisible(180 * 1.4)) == (
        256, 248)


@pytest.mark.parametrize(("text", "env", "value"), [
    ("in * t", {"in_channels": 24, "t": 6}, 144),
    ("$in // 4", {"in_channels": 24}, 6),
    ("c * width", {"c": 32, "width": Fraction(3, 4)}, 24),
    ("7 / 2", {}, Fraction(7, 2)),
    ("round(7 / 2)", {}, 4), ("round(5 / 2)", {}, 2),  # Python's round: half to even
    ("ceil(7 / 2)", {}, 4), ("floor(-7 / 2)", {}, -4), ("int(-7 / 2)", {}, -3),
    ("min(3, 1, 2)", {}, 1), ("max(1, 0.5)", {}, 1), ("abs(-3)", {}, 3),
    ("2 ** 10", {}, 1024), ("0.1 + 0.2", {}, Fraction(3, 10)),
    ("make_divisible(32 * 0.75)", {}, 24), ("make_divisible(10, 4)", {}, 12),
    ("s if index == 0 else 1", {"s": 2, "index": 0}, 2),
    ("s if index == 0 else 1", {"s": 2, "index": 3}, 1),
    ("stride == 1 and in == out", {"stride": 1, "in_channels": 8, "out": 8}, True),
    ("not (t != 1)", {"t": 1}, True),
    ("act == 'relu'", {"act": "relu"}, True),
    ("[k, k]", {"k": 3}, (3, 3)),
    ("true", {}, True),
])
def test_expressions_are_exact(text: str, env: dict[str, Any], value: Any) -> None:
    result = compile_expr(text).evaluate(env)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(("text", "fragment"), [
    ("__import__('os')", "unknown function '__import__'"),
    ("out.real", "attribute is not allowed"),
    ("x[0]", "subscript is not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("min", "min is a function"),
    ("round(1, 2, 3)", "round() takes 1 to 2 arguments"),
    ("1 +", "cannot read expression"),
    ("1" + "+1" * 300, "longer than 500 characters"),
    ("-" * 60 + "1", "nested deeper than 40 levels"),
    ("(10 ** 60) ** 2", "more than 100 digits"),
    ("10 ** 200", "whole exponent between -64 and 64"),
    ("2 ** 0.5", "whole exponent"),
    ("1e-100000000", "not a number"),
])
def test_bad_expressions_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(text).evaluate({"x": 1, "out": 2})
    assert fragment in str(info.value)


def test_a_whole_field_refuses_a_fraction_naming_the_expression() -> None:
    e = error_of({"input": "8x8x3", "params": {"t": 1.5}, "layers": [
        {"pointwise": {"out": "${in * t}"}}]})
    assert "field 'out'" in e.render() and "9/2" in e.render() and "${in * t}" in e.render()


# --- $in, if, repeat, params ------------------------------------------------------------------

def test_in_is_the_channels_entering_each_layer() -> None:
    r = net([{"pointwise": {"out": "${in * 2}"}}, {"pointwise": {"out": "${in * 2}"}},
             {"conv": {"out": "$in", "kernel": 1}}, {"conv": {"out": "${in_channels // 4}",
                                                                 "kernel": 1}}])
    assert [row.report.output.channels for row in r.rows] == [32, 64, 64, 16]


def test_in_in_block_arguments_is_the_channels_entering_the_block() -> None:
    spec = {"input": "8x8x12", "blocks": {"b": {"params": {"cin": None}, "layers": [
        {"pointwise": {"out": 48}}, {"pointwise": {"out": "${cin // 4}"}}]}},
        "layers": [{"b": {"cin": "$in"}}]}
    assert convcalc.analyze_network(spec).output.channels == 3


def test_if_skips_entries_and_repeat_zero_is_empty() -> None:
    spec = {"input": "8x8x4", "params": {"t": 1, "n": 0}, "layers": [
        {"pointwise": {"out": 8}, "if": "${t != 1}"},
        {"repeat": "$n", "body": ["relu"]},
        {"conv": {"out": 4, "kernel": 1, "if": "${t == 1}"}},
        {"sequence": ["relu", "relu"], "if": "${t == 1}"}]}
    r = convcalc.analyze_network(spec)
    assert [row.path for row in r.rows] == ["conv", "relu", "relu_1"]
    assert [row.path for row in convcalc.analyze_network(spec, params={"t": 2, "n": 2}).rows] \
        == ["pointwise", "0.relu", "1.relu"]


def test_repeat_names_each_copy_from_index() -> None:
    r = net([{"repeat": 3, "name": "b${index + 5}", "body": ["relu"]}])
    assert [row.path for row in r.rows] == ["b5.relu", "b6.relu", "b7.relu"]


def test_a_parameter_as_a_kind_names_the_row_after_the_kind() -> None:
    spec = {"input": "8x8x4", "params": {"act": "hardswish"}, "blocks": {"b": {
        "params": {"a": "relu"}, "layers": ["$a", {"kind": "$a"}]}},
        "layers": ["$act", {"kind": "$act"}, {"b": {"a": "$act"}}]}
    r = convcalc.analyze_network(spec)
    assert [row.path for row in r.rows] == ["hardswish", "hardswish_1", "hardswish_2",
                                            "hardswish_3"]
    assert {row.report.kind for row in r.rows} == {"hardswish"}


def test_split_sizes_take_expressions() -> None:
    spec = {"input": "8x8x12", "params": {"a": 4}, "layers": [{"split": {
        "sizes": ["$a", "${in - a}"], "paths": [[], [{"pointwise": {"out": 2}}]]}}]}
    assert convcalc.analyze_network(spec).output.channels == 6


def test_params_and_set_and_input_from_params() -> None:
    spec = {"params": {"res": 32, "w": 1}, "input": "${res}x${res}x3",
            "layers": [{"conv": {"out": "${16 * w}", "kernel": 3}}]}
    r = convcalc.analyze_network(spec, params={"res": 16, "w": 2})
    assert r.input.spatial == (16, 16) and r.output.channels == 32
    r = convcalc.analyze_network(spec, params={"input": "10x10x1"})
    assert r.input == convcalc.Shape(1, (10, 10))
    with pytest.raises(convcalc.SpecError, match="no parameter 'wdith'; parameters: res, w"):
        convcalc.analyze_network(spec, params={"wdith": 2})


def test_cli_set_and_its_mistakes() -> None:
    ok = runner.invoke(app, ["net", "examples/mobilenet_v2.yaml", "--set", "width=0.5",
                             "-f", "json"])
    assert ok.exit_code == 0
    for args, fragment in [(["--set", "width"], "write name=value"),
                           (["--set", "widht=1"], "did you mean 'width'"),
                           (["--set", "width=1", "--set", "width=2"], "set twice"),
                           (["--set", "width=abc"], "")]:
        result = runner.invoke(app, ["net", "examples/mobilenet_v2.yaml", *args])
        assert result.exit_code == 2, result.output
        assert fragment in result.stderr and "Traceback" not in result.stderr


# --- errors -----------------------------------------------------------------------------------

def test_one_mistake_in_a_block_used_many_times_is_one_error_with_its_count() -> None:
    spec = {"input": "8x8x4", "blocks": {"b": {"params": {"k": 3}, "layers": [
        {"conv": {"out": 4, "kernel": "$k", "padding": 1}}]}},
        "layers": [{"repeat": 58, "body": [{"b": {"k": 0}}]}]}
    lines = messages(error_of(spec))
    assert len(lines) == 1
    assert "field 'kernel'" in lines[0] and "58 uses fail the same way" in lines[0]
    assert "passed by layers[0].body[0]" in lines[0]


def test_several_problems_are_reported_in_file_order_past_a_shape_error() -> None:
    spec = {"input": "4x4x3", "layers": [{"conv": {"out": 4, "kernel": 9}},
                                         {"conv": {"out": 4, "kernal": 3}}]}
    e = error_of(spec)
    assert isinstance(e, convcalc.SpecError)  # a malformed layer makes it exit 2
    text = "\n".join(messages(e))
    assert "output H would be" in text and "unknown field 'kernal'" in text


def test_unused_blocks_are_checked() -> None:
    e = error_of({"input": "8x8x3", "blocks": {"unused": [{"conv": {"out": 0, "kernel": 1}}]},
                  "layers": ["relu"]})
    assert "field 'out': 0 is not allowed" in e.render()


def test_unused_blocks_are_warned_about() -> None:
    r = convcalc.analyze_network({"input": "8x8x3", "blocks": {"spare": ["relu"]},
                                  "layers": ["relu"]})
    assert "block 'spare' is defined but never used" in r.warnings


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"layers": [{"repeat": "${in}", "body": ["relu"]}]}, "repeat count cannot use in"),
    ({"layers": [{"conv": {"out": "$nope", "kernel": 1}}]}, "unknown parameter 'nope'"),
    ({"layers": [{"relu": None, "name": "a"}, {"relu": None, "name": "a.b"}]},
     "the two paths would collide"),
    ({"layers": [{"relu": None, "name": "a\nb"}]}, "control characters"),
    ({"layers": [{"relu": None, "if": 3}]}, "if needs true or false"),
    ({"layers": [{"residual": {"body": ["relu"], "add": "yes"}}]}, "add must be true or false"),
    ({"params": {"in": 3}, "layers": ["relu"]}, "parameter name 'in' is taken"),
    ({"layers": [{"sequence": {"body": ["relu"]}}]}, "unknown key 'body' in sequence"),
    ({"layers": [{"repeat": 2, "body": ["relu"], "layers": ["relu"]}]}, "not both"),
    ({"layers": [{"residual": {}}]}, "residual needs 'body"),
])
def test_language_mistakes_are_one_clear_line(spec: dict[str, Any], fragment: str) -> None:
    e = error_of({"input": "8x8x3", **spec})
    assert fragment in e.render()


# --- regressions ------------------------------------------------------------------------------

def test_depth_rows_show_the_level_output_not_the_last_layer() -> None:
    out = runner.invoke(app, ["net", "examples/squeezenet1_1.yaml", "--depth", "1", "-f", "csv"])
    fire2 = next(line for line in out.stdout.splitlines() if line.startswith("fire2,"))
    assert ",55x55x128," in fire2
    # a residual that ends in its shortcut: the level's output is the sum (same shape) and its
    # field the union of body and shortcut
    spec = {"input": "16x16x4", "layers": [{"residual": {"name": "r", "body": [
        {"conv": {"out": 8, "kernel": 5, "padding": 2}}], "shortcut": [
            {"pointwise": {"out": 8}}]}}]}
    report = convcalc.analyze_network(spec)
    from convcalc.render.rows import collapse, net_rows

    (row,) = collapse(net_rows(report), 1, report)
    assert row["path"] == "r" and row["receptive_field"]["size"] == [5, 5]
    assert report.rows[-1].path == "r.shortcut.pointwise"
    assert report.rows[-1].receptive_field[0].size == 1


def test_total_row_shows_the_network_field() -> None:
    out = runner.invoke(app, ["net", "examples/squeezenet1_1.yaml", "-f", "markdown"])
    total = next(line for line in out.stdout.splitlines() if line.startswith("| total"))
    report = convcalc.analyze_network(ROOT / "examples" / "squeezenet1_1.yaml")
    size = report.receptive_field[0].size
    assert f"{size}×{size}" in total


def test_depth_zero_is_the_network_as_one_row() -> None:
    out = runner.invoke(app, ["net", "examples/resnet18.yaml", "--depth", "0", "-f", "csv"])
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("resnet18,network,")


def test_mobilenet_v2_blocks_are_b1_to_b17() -> None:
    out = runner.invoke(app, ["net", "examples/mobilenet_v2.yaml", "--depth", "1", "-f", "csv"])
    names = [line.split(",")[0] for line in out.stdout.splitlines()[1:]]
    assert [n for n in names if re.fullmatch(r"b[0-9]+", n)] == [f"b{i}" for i in range(1, 18)]


def test_a_gate_body_as_a_residual_suggests_a_multiply_not_auto() -> None:
    body = [{"global_avgpool": None}, {"pointwise": {"out": 2}}, "relu",
            {"pointwise": {"out": 8}}, "sigmoid"]
    e = error_of({"input": "14x14x8", "layers": [{"residual": {"body": body}}]})
    assert "merge: mul" in e.render() and "shortcut: auto" not in e.render()
    e = error_of({"input": "14x14x8", "layers": [{"residual": {"body": body,
                                                               "shortcut": "auto"}}]})
    assert "no strided 1×1 conv reproduces" in e.render()


def test_gate_multiplied_as_branches_equals_the_se_kind() -> None:
    gate = [{"global_avgpool": None}, {"pointwise": {"out": 2}}, "relu",
            {"pointwise": {"out": 8}}, "sigmoid"]
    by_hand = net([{"branches": {"merge": "mul", "paths": [[], gate]}}], input="14x14x8")
    kind = net([{"se": {"squeeze": 2}}], input="14x14x8")
    assert by_hand.totals()["params"] == kind.totals()["params"] == 8 * 2 + 2 + 2 * 8 + 8
    assert by_hand.totals()["macs"] == kind.totals()["macs"] == 32
    assert by_hand.output == kind.output
    assert by_hand.receptive_field == kind.receptive_field
    # every position of a gated map sees the whole input of the gate
    assert kind.receptive_field[0].size == 14 and kind.receptive_field[0].jump == 1


def test_mul_broadcasts_like_pytorch() -> None:
    spatial = [{"conv": {"out": 1, "kernel": 3, "padding": 1}}]  # a 1-channel spatial gate
    r = net([{"branches": {"merge": "mul", "paths": [[], spatial]}}], input="6x6x4")
    assert r.output == convcalc.Shape(4, (6, 6))
    e = error_of({"input": "6x6x4", "layers": [{"branches": {"merge": "mul", "paths": [
        [], [{"pointwise": {"out": 3}}]]}}]})
    assert "each axis equal or 1" in e.render()


def test_se_is_torchvisions_squeeze_excitation() -> None:
    r = convcalc.analyze_layer({"kind": "se", "ratio": 0.25}, "7x7x96")
    assert [p.name for p in r.parts] == ["avgpool", "fc1", "activation", "fc2",
                                         "scale_activation", "scale"]
    assert r.params == 96 * 24 + 24 + 24 * 96 + 96 and r.macs == 2 * 96 * 24
    with pytest.raises(convcalc.SpecError, match=r"give squeeze .* or ratio"):
        convcalc.analyze_layer({"kind": "se", "squeeze": 4, "ratio": 0.25}, "7x7x96")


@pytest.mark.parametrize(("kind", "fields", "params"), [
    ("layernorm", {}, 2 * 96), ("layernorm", {"bias": False}, 96),
    ("layernorm", {"affine": False}, 0), ("groupnorm", {"groups": 8}, 2 * 96),
    ("layer_scale", {}, 96), ("stochastic_depth", {"p": 0.1}, 0), ("dropout", {"p": 0.2}, 0),
])
def test_normalisation_and_identity_kinds(kind: str, fields: dict[str, Any], params: int) -> None:
    r = convcalc.analyze_layer({"kind": kind, **fields}, "7x7x96")
    assert (r.params, r.macs, r.output) == (params, 0, convcalc.Shape(96, (7, 7)))


def test_kinds_lists_the_new_kinds() -> None:
    out = runner.invoke(app, ["kinds", "-f", "json"]).stdout
    for kind in ("se", "layernorm", "groupnorm", "layer_scale", "stochastic_depth"):
        assert f'"kind": "{kind}"' in out


def test_width_multiplier_matches_torchvision_layer_sizes() -> None:
    """torchvision's mobilenet_v2(width_mult=0.75) at 160×160: 2,636,424 params and
    107,295,200 MACs (FlopCounterMode FLOPs / 2), measured with torchvision 0.28.0."""
    r = convcalc.analyze_network(ROOT / "examples" / "mobilenet_v2.yaml",
                                 params={"width": Fraction(3, 4), "input": "160x160x3"})
    t = r.totals()
    assert (t["params"], t["macs"]) == (2_636_424, 107_295_200)
    assert r.rows[0].report.output.channels == 24 == math.floor(32 * 0.75)


def test_merge_first_goes_on_with_the_first_path_and_counts_every_head() -> None:
    """`merge: first`: the output and receptive field are the first path's; the other paths are
    outputs of their own, every layer of them in the rows and the totals."""
    heads = net([{"conv": {"out": 8, "kernel": 3, "padding": 1}},
                 {"branches": {"merge": "first", "paths": [
                     [{"conv": {"out": 32, "kernel": 3, "stride": 2}}],
                     [{"pointwise": {"out": 10}}], []]}}], input="16x16x3")
    trunk = net([{"conv": {"out": 8, "kernel": 3, "padding": 1}},
                 {"conv": {"out": 32, "kernel": 3, "stride": 2}}], input="16x16x3")
    assert heads.output == trunk.output == convcalc.Shape(32, (7, 7))
    assert heads.receptive_field == trunk.receptive_field
    head = 8 * 10 + 10
    assert heads.totals()["params"] == trunk.totals()["params"] + head
    assert heads.totals()["macs"] == trunk.totals()["macs"] + 8 * 10 * 16 * 16
    assert [r.path for r in heads.rows][-1] == "path1.pointwise"

"""Issue 18, items 8 and 11: an empty network is an error that says why; a network's `name:` is
evaluated like every other field; dotted layer names (`stem.0`), refused for a while, are read
again as nested levels with a deprecation warning, and refused only where two paths collide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app

runner = CliRunner()


def error_of(spec: dict[str, Any], **params: Any) -> str:
    with pytest.raises(convcalc.ConvcalcError) as info:
        convcalc.analyze_network(spec, params=params or None)
    return "\n".join(p.render() for p in (info.value.problems or (info.value,)))


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- item 8: an empty network -----------------------------------------------------------------

@pytest.mark.parametrize("layers", [[], None])
def test_an_empty_layers_list_is_an_error(layers: Any) -> None:
    message = error_of({"input": "8x8x3", "layers": layers})
    assert "'layers' is empty: a network needs at least one layer" in message


VARIANTS = """\
input: 8x8x3
params: {variant: resnet}
layers:
  - conv: {out: 4, kernel: 3, if: "${variant == 'resnet'}"}
  - relu: {if: "${variant == 'resnet'}"}
"""


def test_every_layer_dropped_by_if_is_an_error_naming_the_set_value(tmp_path: Path) -> None:
    spec = write(tmp_path, VARIANTS)
    ok = runner.invoke(app, ["net", spec, "-f", "json"])
    assert ok.exit_code == 0 and len(json.loads(ok.stdout)["layers"]) == 2
    typo = runner.invoke(app, ["net", spec, "--set", "variant=resnt"])
    assert typo.exit_code == 2 and typo.stdout == ""
    (line,) = typo.stderr.splitlines()
    assert "net.yaml:4:5: layers[0]: the network has no layers" in line
    assert "every layer is left out by an 'if:' (${variant == 'resnet'})" in line
    assert "check --set variant='resnt' (the spec's default is 'resnet')" in line


def test_every_layer_dropped_by_its_default_names_the_parameter() -> None:
    spec = {"input": "8x8x3", "params": {"big": False},
            "layers": [{"conv": {"out": 4, "kernel": 3}, "if": "$big"}]}
    message = error_of(spec)
    assert "the network has no layers: every layer is left out by an 'if:' (${big}); with " \
           "big = false" in message
    assert "--set" not in message  # the default dropped it: nothing the user typed to check


def test_a_repeat_of_zero_leaving_no_layer_is_an_error() -> None:
    spec = {"input": "8x8x3", "params": {"n": 2},
            "layers": [{"repeat": "$n", "body": ["relu"]}]}
    assert len(convcalc.analyze_network(spec).rows) == 2
    message = error_of(spec, n=0)
    assert "the network has no layers: repeat ${n} makes 0 copies; with n = 0; check --set " \
           "n=0 (the spec's default is 2)" in message


def test_an_empty_sequence_alone_is_an_error() -> None:
    message = error_of({"input": "8x8x3", "layers": [{"sequence": {"layers": []}}]})
    assert "the network has no layers: no entry holds a layer" in message


def test_a_network_of_merges_alone_is_not_empty() -> None:
    # x + x, then x + x + x: no layer, but adds that the conventions count as other ops
    report = convcalc.analyze_network({"input": "4x4x2", "layers": [
        {"residual": {"body": []}}, {"branches": {"merge": "add", "paths": [[], [], []]}}]})
    assert report.rows == () and report.output == report.input


def test_a_residual_that_adds_nothing_is_still_empty() -> None:
    message = error_of({"input": "4x4x2", "layers": [{"residual": {"body": [], "add": False}}]})
    assert "the network has no layers" in message


def test_a_network_with_one_layer_left_is_not_empty() -> None:
    spec = {"input": "8x8x3", "params": {"v": "a"},
            "layers": [{"relu": None, "if": "${v == 'a'}"}, {"gelu": None, "if": "${v == 'b'}"}]}
    assert [r.path for r in convcalc.analyze_network(spec).rows] == ["relu"]
    assert [r.path for r in convcalc.analyze_network(spec, params={"v": "b"}).rows] == ["gelu"]


# --- item 8: the network's name ---------------------------------------------------------------

def test_the_network_name_is_evaluated_like_every_field(tmp_path: Path) -> None:
    spec = write(tmp_path, "name: x_${arch}\ninput: 8x8x3\nparams: {arch: a, width: 1}\n"
                           "layers:\n  - conv: {out: '${4 * width}', kernel: 3, name: "
                           "'c_${arch}'}\n")
    table = runner.invoke(app, ["net", spec, "--set", "arch=b2", "--width", "120"])
    assert table.exit_code == 0, table.stderr
    assert table.stdout.startswith("x_b2: 8×8×3 → 6×6×4")
    assert "${" not in table.stdout
    data = json.loads(runner.invoke(app, ["net", spec, "-f", "json"]).stdout)
    assert data["name"] == "x_a" and data["layers"][0]["path"] == "c_a"


def test_a_name_reading_an_unknown_parameter_is_one_line() -> None:
    message = error_of({"name": "x_${arch}", "input": "8x8x3", "layers": ["relu"]})
    assert "unknown parameter 'arch'" in message and message.count("\n") == 0


def test_a_name_that_evaluates_to_a_number_is_refused() -> None:
    message = error_of({"name": "${width}", "params": {"width": 2}, "input": "8x8x3",
                        "layers": ["relu"]})
    assert "a name must be text, got a number 2" in message


def test_a_literal_name_is_kept_as_written() -> None:
    report = convcalc.analyze_network({"name": "ResNet-50 (v1.5)", "input": "8x8x3",
                                       "layers": ["relu"]})
    assert report.name == "ResNet-50 (v1.5)"


# --- item 11: dotted names --------------------------------------------------------------------

DOTTED = """\
input: 8x8x3
layers:
  - conv: {name: stem.0, out: 4, kernel: 3}
  - batchnorm: {name: stem.1}
  - relu: {name: stem.2}
  - conv: {name: layer1.0.conv1, out: 4, kernel: 3, padding: 1}
  - relu: {name: layer1.0.relu}
  - relu
"""

NESTED = {"input": "8x8x3", "layers": [
    {"sequence": {"name": "stem", "layers": [
        {"conv": {"name": "0", "out": 4, "kernel": 3}}, {"batchnorm": {"name": "1"}},
        {"relu": {"name": "2"}}]}},
    {"sequence": {"name": "layer1", "layers": [{"sequence": {"name": "0", "layers": [
        {"conv": {"name": "conv1", "out": 4, "kernel": 3, "padding": 1}},
        {"relu": {"name": "relu"}}]}}]}},
    "relu"]}


def test_dotted_names_read_as_nested_levels_with_a_deprecation_warning(tmp_path: Path) -> None:
    spec = write(tmp_path, DOTTED)
    report = convcalc.analyze_network(spec)
    assert [r.path for r in report.rows] == ["stem.0", "stem.1", "stem.2", "layer1.0.conv1",
                                             "layer1.0.relu", "relu"]
    assert [r.parts for r in report.rows][3] == ("layer1", "0", "conv1")
    (warning,) = report.warnings
    assert warning.startswith("dotted names read as nested levels (stem.0 at line 3 is 0 in "
                              "level stem; 5 such names); they are deprecated")
    assert "'- sequence: {name: stem, layers: [...]}'" in warning
    out = runner.invoke(app, ["net", spec, "--depth", "1", "-f", "csv"])
    assert out.exit_code == 0
    assert [line.split(",")[0] for line in out.stdout.splitlines()[1:]] == [
        "stem", "layer1", "relu"]
    assert "warning: dotted names read as nested levels" in runner.invoke(
        app, ["net", spec]).stdout


def test_dotted_names_count_as_the_named_sequences_they_spell(tmp_path: Path) -> None:
    dotted = convcalc.analyze_network(write(tmp_path, DOTTED))
    nested = convcalc.analyze_network(NESTED)
    assert [(r.path, r.parts, r.report.params, r.report.macs, r.report.output)
            for r in dotted.rows] == [(r.path, r.parts, r.report.params, r.report.macs,
                                       r.report.output) for r in nested.rows]
    assert nested.warnings == ()


def test_dotted_names_export_as_nested_modules(tmp_path: Path) -> None:
    code = runner.invoke(app, ["export", write(tmp_path, DOTTED)]).stdout
    assert "layer1_0 = nn.Sequential(OrderedDict([('conv1'" in code
    assert "('stem', stem)," in code and "('layer1', layer1)," in code


@pytest.mark.parametrize(("layers", "fragment"), [
    ([{"relu": {"name": "stem.0"}}, "gelu", {"relu": {"name": "stem.1"}}],
     "name 'stem.1' puts this entry in level 'stem', which the entry layers[0] opened and the "
     "entries since have closed: the two paths would collide"),
    ([{"relu": {"name": "a"}}, {"relu": {"name": "a.b"}}],
     "name 'a.b' puts this entry in a level 'a', but the entry layers[0] is already called a: "
     "the two paths would collide"),
    (["relu", {"gelu": {"name": "relu.x"}}],
     "is already called relu (its kind): the two paths would collide"),
    ([{"sequence": {"layers": [{"relu": {"name": "a"}}]}}, {"relu": {"name": "a.b"}}],
     "is already called a: the two paths would collide"),
    ([{"relu": {"name": "a..b"}}], "name 'a..b' has an empty level between its dots"),
    ([{"relu": {"name": ".a"}}], "name '.a' has an empty level between its dots"),
])
def test_dotted_names_that_would_collide_are_refused(layers: list[Any], fragment: str) -> None:
    assert fragment in error_of({"input": "8x8x3", "layers": layers})


def test_dotted_names_inside_blocks_and_repeats_nest_too() -> None:
    spec = {"input": "8x8x3",
            "blocks": {"b": [{"relu": {"name": "act.0"}}, {"gelu": {"name": "act.1"}}]},
            "layers": [{"repeat": 2, "name": "stage.x", "body": ["b"]}]}
    report = convcalc.analyze_network(spec)
    assert [r.path for r in report.rows] == ["stage.x.0.act.0", "stage.x.0.act.1",
                                             "stage.x.1.act.0", "stage.x.1.act.1"]
    assert report.warnings[0].startswith("dotted names read as nested levels")


def test_a_computed_name_with_dots_is_still_one_level() -> None:
    # `${…}` names came with the spec language, after dots were refused: nothing to keep
    spec = {"input": "8x8x3", "params": {"p": "a.b"}, "layers": [{"relu": {"name": "$p"}}]}
    assert "contains '.': a name is one level of the path" in error_of(spec)

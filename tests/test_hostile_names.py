"""Names from a model or a spec that reach a generated file (issue 19): imported YAML and
exported PyTorch encode them for their grammar, so a hostile name never changes a count.

Round trips: hostile name in → import or export → the file read back (YAML by `net`, Python by
exec and torch) → the same counts, the names kept (escaped where the grammar needs it).
"""

from __future__ import annotations

import math
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from convcalc import analyze_network
from convcalc.bridges.pytorch_export import TORCH_TAKEN, export_pytorch, torch_names
from convcalc.bridges.to_spec import comment, quoted, scalar
from convcalc.yamlio import load_yaml_text

BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"]
"""Every character YAML, Python or a terminal may take as the end of a line."""

HOSTILE = [
    "sp\ndefaults: {bias: false}\n#", "sp\rdefaults: {bias: false}\r#", "a\u2028b", "a\u2029b",
    "a\x85b", "defaults: {bias: false}", "defaults", "name", "layers", "- relu", "# x", "&a",
    "*a", "!!python/object", "'", '"', "\\", "\\n", "{a: 1}", "[1, 2]", "true", "null", "~",
    "yes", "0x10", "010", "1e3", ".inf", "1:30", "@x", "`x`", "%TAG", "? x", ": x", "x: y",
    "x #y", "${1}", "$x", "a\tb", " lead", "trail ", "", "\x00", "\x1b[31mred", "\x7f", "\x9f",
    "\ufeff", "\ufffe", "\ud800", "\U0001f600", "\u202eevil", "α", "x²", "<img src=x>", "…",
]


def _every_char_that_may_break_a_line() -> list[str]:
    chars = [chr(c) for c in range(0x30000)
             if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp", "Zs", "Cs")]
    # private use and unassigned: a sample of each block (there are 970,000 of them)
    return [*chars, "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd", "\U0010ffff", "\U000e0080",
            "\ufdd0", "\ufffe", "\uffff", "\U0001fffe"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_quoted_scalar_reads_back_as_the_same_text(text: str) -> None:
    line = quoted(text)
    assert "\n" not in line and "\r" not in line
    assert yaml.safe_load(f"k: {line}")["k"] == text
    assert yaml.safe_load(f"k: {{a: {line}}}")["k"]["a"] == text


def test_every_control_format_and_separator_character_round_trips() -> None:
    """All of Unicode's controls, format characters, separators, surrogates and private use,
    in a quoted scalar, a flow mapping's key and value, and a comment."""
    chars = _every_char_that_may_break_a_line()
    assert len(chars) > 2000
    for i in range(0, len(chars), 64):  # a key is at most 1024 characters
        text = "a" + "".join(chars[i:i + 64]) + "b"
        assert yaml.safe_load(quoted(text)) == text
        doc = f"# {comment(text)}\nk: {{{scalar(text)}: {scalar(text)}}}\n"
        assert yaml.safe_load(doc) == {"k": {text: text}}
        assert load_yaml_text(f"# {comment(text)}\nk: 1\n") == {"k": 1}


@pytest.mark.parametrize("text", [*HOSTILE, *BREAKS])
def test_a_comment_is_one_line(text: str) -> None:
    line = comment(text)
    assert line.isprintable() or set(line) <= {" "}
    assert yaml.safe_load(f"# {line}\nk: 1\n") == {"k": 1}
    assert line.encode("ascii", "backslashreplace").decode("unicode_escape") == text


@pytest.mark.parametrize("value", [0, 7, -3, 1.5, float("inf"), float("-inf"), True, False,
                                   None, "relu", "$out", "${out * 2}", "y", "on", "Null",
                                   "8x8x3", [1, "a b", "true"]])
def test_scalars_keep_their_type(value: Any) -> None:
    assert yaml.safe_load(f"k: {scalar(value)}")["k"] == value


def test_nan_is_written_as_yaml_nan() -> None:
    value = yaml.safe_load(f"k: {scalar(float('nan'))}")["k"]
    assert math.isnan(value)


# --- exported PyTorch: identifiers unique per scope, never shadowing what the file uses ------

def test_torch_names_keep_what_torch_allows_and_map_the_rest() -> None:
    assert torch_names(["conv", "a b", "α", "0"]) == ["conv", "a b", "α", "0"]
    assert torch_names(["half", "half_", "a.b", "a_b_", "", "__init__", "forward"]) == \
        ["half__", "half_", "a_b__", "a_b_", "_", "__init___", "forward_"]
    assert torch_names(["x", "x"]) == ["x", "x_"]


def _spec(name: str, levels: list[str], *, residual: bool = False) -> dict[str, Any]:
    layers: list[Any] = []
    for i, level in enumerate(levels):
        body: list[Any] = [{"conv": {"name": level if residual else "c", "out": 4, "kernel": 3,
                                     "padding": 1}}, "relu"]
        layers.append({"residual": {"body": body}} if residual and i % 2 else
                      {"sequence": {"name": level, "layers": body}})
    return {"name": name, "input": "8x8x4", "layers": layers}


COLLIDING = [
    ("net", ["a-b", "a_b"]),
    ("net", ["α", "β"]),
    ("net", ["a_b", "a b", "a-b", "a+b"]),
    ("blk", ["Blk", "blk"]),
    ("INPUT", ["INPUT", "input"]),
    ("net", ["half", "forward", "training", "cuda", "to", "eval", "register_buffer", "type"]),
    ("net", ["nn", "torch", "OrderedDict", "build", "Level", "F", "x", "self", "super"]),
    ("net", ["class", "True", "None", "def", "lambda", "match", "_", "__init__", "_modules"]),
    ("True", ["range", "float", "list", "Exception", "print"]),
    ("Level", ["LayerNorm2d", "SqueezeExcitation", "ChannelShuffle", "Octave"]),
    ("net", ["0", "1", "00", "x²", "x2", "ﬁ", "fi"]),
]


@pytest.mark.parametrize(("name", "levels"), COLLIDING, ids=[" ".join(c[1]) for c in COLLIDING])
@pytest.mark.parametrize("residual", [False, True], ids=["sequential", "level-class"])
def test_exported_pytorch_with_colliding_names_builds_the_spec(name: str, levels: list[str],
                                                               residual: bool) -> None:
    torch = pytest.importorskip("torch")
    report = analyze_network(_spec(name, levels, residual=residual))
    source = export_pytorch(report, source=f"a\n{name}\"\"\".yaml")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<export>", "exec"), namespace)
    assert namespace["INPUT"] == (1, 4, 8, 8)
    model = namespace["build"]()
    params = sum(p.numel() for p in model.parameters())
    assert params == report.totals()["params"] == 4 * (4 * 9 + 1) * len(levels)
    with torch.no_grad():
        out = model(torch.zeros(namespace["INPUT"]))
    assert tuple(out.shape) == (1, 4, 8, 8)
    registered = {n for n, _ in model.named_modules()}
    for level in levels:
        want = torch_names([level])[0]
        assert want in registered or f"{want}.{want}" in registered, (level, sorted(registered))


def test_exported_pytorch_names_round_trip_through_torch_import() -> None:
    """Spec → export → torch module → `import --torch` → the same counts, and the names torch
    allows come back as the spec wrote them."""
    pytest.importorskip("torch")
    from convcalc.bridges.torch_import import import_torch

    levels = ["a-b", "a_b", "α", "β", "half", "nn", "x y"]
    report = analyze_network(_spec("blk", levels, residual=True))
    namespace: dict[str, Any] = {}
    exec(compile(export_pytorch(report), "<export>", "exec"), namespace)
    imported = import_torch(namespace["build"](), report.input)
    assert load_yaml_text(imported.yaml) == imported.spec
    again = analyze_network(load_yaml_text(imported.yaml))
    for key in ("params", "macs"):
        assert again.totals()[key] == report.totals()[key]
    paths = {r.path.split(".")[0] for r in again.rows}
    assert {"a-b", "a_b", "α", "β", "half_", "nn", "x y"} <= paths, paths


def test_torch_taken_lists_every_attribute_of_a_container() -> None:
    torch = pytest.importorskip("torch")

    class Level(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return x

    attributes = set(dir(torch.nn.Sequential())) | set(dir(Level())) | set(
        dir(torch.nn.ModuleList()))
    assert attributes <= TORCH_TAKEN, attributes - TORCH_TAKEN


# --- torch import: the user's code never leaks a traceback or text into the YAML -------------

def _import_torch(target: str, shape: str = "8x8x3") -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, ["import", "--torch", f"h19_torch_factories:{target}",
                                      "--input", shape])
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("target", "fragment"), [
    ("key_error", "torch.fx cannot trace it: KeyError: 'missing'"),
    ("fails_on_fake_tensors", "does not run on input 8×8×3 (batch 1): RuntimeError"),
])
def test_torch_import_failures_are_one_line(target: str, fragment: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    code, out, err = _import_torch(target)
    assert code == 2, err
    assert "print" not in out and err.endswith("\n")
    lines = [line for line in err.splitlines() if line.startswith("convcalc: error:")]
    assert len(lines) == 1 and fragment in lines[0], err


def test_torch_import_of_a_bare_layer_is_a_one_layer_network(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    code, out, err = _import_torch("bare_conv")
    assert code == 0, err
    report = analyze_network(load_yaml_text(out))
    assert len(report.rows) == 1 and report.totals()["params"] == 8 * 3 * 9 + 8
    assert report.output.channels == 8 and report.output.spatial == (8, 8)


def test_printing_model_file_keeps_standard_output_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.delitem(sys.modules, "h19_torch_factories", raising=False)
    code, out, err = _import_torch("printing")
    assert code == 0, err
    assert "called" not in out and "model file" not in out
    assert "forward called" in err and "model file imported" in err
    assert analyze_network(load_yaml_text(out)).totals()["params"] == 4 * 3 * 9 + 4


def test_odd_submodule_names_reach_the_yaml_escaped_and_count_the_same(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    import h19_torch_factories

    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import parse_shape

    model = h19_torch_factories.odd_names()
    imported = import_torch(model, parse_shape("8x8x3"))
    assert load_yaml_text(imported.yaml) == imported.spec
    assert "defaults:" not in imported.yaml.split("layers:")[0]
    path = tmp_path / "odd.yaml"
    path.write_text(imported.yaml, encoding="utf-8")
    report = analyze_network(path)
    assert report.totals()["params"] == sum(p.numel() for p in model.parameters())
    tops = {r.path.split(".")[0] for r in report.rows}
    assert {"defaults: _bias: false_", "a_b", "#x", "α", "a b", "-", "true", "'q'", '"q"',
            "a\\b", "class", "x_"} <= tops, tops
    assert load_yaml_text(h19_torch_factories_yaml(model)) is not None


def h19_torch_factories_yaml(model: Any) -> str:
    """The model's names are its own again after the import (the trace renames in place)."""
    names = [n for n, _ in model.named_children()]
    assert names[1] == "a\u2028b" and names[-1] == "a\tb" and '"q"' in names
    return "k: 1"


def test_a_line_break_in_a_submodule_name_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    code, out, err = _import_torch("newline_name")
    assert code == 0, err
    report = analyze_network(load_yaml_text(out))
    assert report.totals()["params"] == 4 * 3 * 9 + 4
    assert report.rows[0].path == "a_b"


# --- the spec side: nesting bounded, values usable, defaults computed --------------------------

def test_a_self_referencing_dict_is_refused_not_recursed() -> None:
    from convcalc.errors import ConvcalcError

    looped: dict[str, Any] = {"sequence": {"name": "a", "layers": []}}
    looped["sequence"]["layers"].append(looped)
    deep: Any = "relu"
    for _ in range(3000):
        deep = {"sequence": {"name": "a", "layers": [deep]}}
    listed: list[Any] = []
    listed.append(listed)
    for layers, message in (([looped], "contains itself"), ([deep], "deeper than 64 levels"),
                            (listed, "contains itself")):
        with pytest.raises(ConvcalcError, match=message):
            analyze_network({"input": "8x8x3", "layers": layers})


def test_shared_parts_of_a_python_spec_are_bounded_like_aliases() -> None:
    import time

    from convcalc.errors import ConvcalcError

    bomb: Any = ["relu"] * 10
    for _ in range(12):
        bomb = [bomb] * 10
    started = time.perf_counter()
    with pytest.raises(ConvcalcError, match="more than 2,000,000 values"):
        analyze_network({"input": "8x8x3", "layers": bomb})
    assert time.perf_counter() - started < 1


def test_alias_nesting_is_refused_quickly() -> None:
    import time

    from convcalc.errors import ConvcalcError

    lines = ["input: 8x8x3", "layers:", "  - relu", "  - &a0 [relu]"]
    lines += [f"  - &a{i} [*a{i - 1}]" for i in range(1, 400)]
    started = time.perf_counter()
    with pytest.raises(ConvcalcError, match="once aliases are expanded"):
        load_yaml_text("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("how", ["argument", "parameter", "default", "set"])
def test_a_decimal_block_argument_works_in_an_expression(how: str) -> None:
    """`- b: {x: 0.25}` then `${round(64 * x)}` works as it does for a parameter, a default
    or --set: 16 channels every way."""
    block_params = "{x: 0.25}" if how == "default" else "{x: null}"
    arg = {"argument": "{x: 0.25}", "parameter": "{x: $w}", "default": "{}",
           "set": "{x: $w}"}[how]
    text = (f"input: 8x8x3\nparams: {{w: {'0.5' if how == 'set' else '0.25'}}}\nblocks:\n"
            f"  b:\n    params: {block_params}\n"
            "    layers: [{conv: {out: \"${round(64 * x)}\", kernel: 1}}]\n"
            f"layers:\n  - b: {arg}\n")
    from convcalc.netspec import set_value

    overrides = {"w": set_value("0.25")} if how == "set" else None  # as `--set w=0.25` gives it
    report = analyze_network(load_yaml_text(text), params=overrides)
    assert report.output.channels == 16


def test_parameter_defaults_are_computed_in_order_and_follow_set() -> None:
    text = ("params: {w: 2, c: \"${8 * w}\"}\ninput: 8x8x3\nblocks:\n  b:\n"
            "    params: {x: 2, y: \"${x * 4}\", z: \"${y + c}\"}\n"
            "    layers: [{conv: {out: $z, kernel: 1}}]\n"
            "layers:\n  - conv: {out: $c, kernel: 1}\n  - b: {x: 3}\n  - b\n")
    spec = load_yaml_text(text)
    assert [r.report.output.channels for r in analyze_network(spec).rows] == [16, 28, 24]
    assert [r.report.output.channels for r in analyze_network(spec, params={"w": 1}).rows] == \
        [8, 20, 16]
    assert [r.report.output.channels for r in analyze_network(spec, params={"c": 5}).rows] == \
        [5, 17, 13]


def test_an_empty_file_name_is_said() -> None:
    from convcalc.errors import ConvcalcError

    with pytest.raises(ConvcalcError, match="the file name is empty"):
        analyze_network("")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_the_layer_limit_runs_in_bounded_time_and_memory() -> None:
    """A spec at the documented limit (issue 19: 1,000,000 relus took minutes and gigabytes)
    is analysed in seconds and well under 1 GiB, measured in a process of its own (this one's
    peak holds whatever the other tests built)."""
    import subprocess
    import sys

    # the peak resident size of the new process image (VmHWM): ru_maxrss would carry over the
    # forked parent's, which holds the other tests' models
    code = (
        "import re, time\n"
        "from convcalc import analyze_network\n"
        "from convcalc.limits import MAX_LAYERS\n"
        "t = time.process_time()\n"
        "r = analyze_network({'input': '8x8x3', 'layers': [{'repeat': MAX_LAYERS, "
        "'body': ['relu']}]})\n"
        "hwm = re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
        "print(len(r.rows) == MAX_LAYERS, time.process_time() - t, hwm)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    assert out[0] == "True"
    assert float(out[1]) < 20  # CPU seconds
    assert int(out[2]) < 1024 * 1024  # KiB: 1 GiB


# --- ONNX: node, graph and file names from the file ------------------------------------------

@pytest.mark.parametrize("bad", ["sp\ndefaults: {bias: false}\n#", "sp\rdefaults: {bias: false}\r#",
                                 "x\u2028defaults: {bias: false}", "x\x85y\u2029z",
                                 "defaults: {bias: false}", "\x1b[2J\u202e", "a\\nb"])
def test_hostile_onnx_names_never_change_the_count(bad: str, tmp_path: Path) -> None:
    """An uncounted node, the graph and the file named with line breaks and YAML: `net` on the
    imported YAML counts the model's 112 parameters, and the YAML is the spec mapping."""
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    from convcalc.bridges.onnx_import import import_onnx

    inits = [numpy_helper.from_array(np.zeros(d, dtype=np.float32), n)
             for n, d in (("w", (4, 3, 3, 3)), ("b", (4,)))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
             helper.make_node("Abs", ["c"], ["y"], name=bad)]
    graph = helper.make_graph(nodes, bad, [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / f"a{bad.replace('/', '_')}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    imported = import_onnx(str(path))
    assert load_yaml_text(imported.yaml) == imported.spec
    assert all(line.isprintable() for line in imported.yaml.splitlines())
    assert "\ndefaults:" not in imported.yaml
    out = tmp_path / "m.yaml"
    out.write_text(imported.yaml, encoding="utf-8")
    assert analyze_network(out).totals()["params"] == 4 * 3 * 9 + 4 == 112
    assert analyze_network(path).totals()["params"] == 112


def test_exported_pytorch_names_round_trip_through_torch_onnx(tmp_path: Path) -> None:
    """Spec with colliding names → export → torch.onnx.export → `import` → the same counts."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from convcalc.bridges.onnx_import import import_onnx

    levels = ["a-b", "a_b", "α", "β", "half", "nn", "x y", "defaults: {bias: false}"]
    report = analyze_network(_spec("INPUT", levels, residual=True))
    namespace: dict[str, Any] = {}
    exec(compile(export_pytorch(report), "<export>", "exec"), namespace)
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) is deprecated
        warnings.simplefilter("ignore")
        torch.onnx.export(namespace["build"]().eval(), (torch.zeros(namespace["INPUT"]),),
                          str(path), dynamo=False)
    imported = import_onnx(str(path))
    assert load_yaml_text(imported.yaml) == imported.spec
    again = analyze_network(load_yaml_text(imported.yaml))
    assert {k: again.totals()[k] for k in ("params", "macs")} == \
        {k: report.totals()[k] for k in ("params", "macs")}


@pytest.mark.parametrize("name", ['q""" \\N{BULLET} \'\'\' \\', 'ends with "', '"""'])
def test_exported_docstring_reads_back_as_the_network_name(name: str) -> None:
    # a `"` in the network's name became `'` in the exported module's docstring
    import ast

    spec = {"name": name, "input": "8x8x3", "layers": [{"conv": {"out": 4, "kernel": 3}}]}
    source = export_pytorch(analyze_network(spec))
    doc = ast.get_docstring(ast.parse(source))
    assert doc is not None and doc.startswith(f"{name}, written by convcalc")

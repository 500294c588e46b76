"""`convcalc import FILE.onnx` on graphs written here with onnx.helper (no torch needed): the
patterns exporters write (SiLU as Sigmoid·x, GELU through erf, channel shuffle as reshape /
transpose / reshape, channel splits as slices, channels-last linears), operators convcalc cannot
count, dynamic dims, BatchNorm folded at export, bad files, and the memory a big model costs.

Each graph's own weights are the reference for its parameters (the sum of its initializers'
sizes, BatchNorm's running statistics aside). convcalc reads the files without onnx (its own
reader and shape rules, tests/test_onnx_reader.py); onnx only writes them here. The importer
itself checks each layer's shape against the graph's.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convcalc.bridges.onnx_import import import_onnx, onnx_network  # noqa: E402
from convcalc.engine import analyze_network  # noqa: E402
from convcalc.yamlio import load_yaml_text  # noqa: E402

runner = CliRunner()


def weight(name: str, *dims: int) -> Any:
    return numpy_helper.from_array(np.zeros(dims, dtype=np.float32), name)


def ints(name: str, values: list[int]) -> Any:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def scalar(name: str, value: float) -> Any:
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def save(tmp_path: Path, nodes: list[Any], inits: list[Any], shape: list[Any],
         name: str = "net", opset: int = 17, out: str = "y") -> Path:
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def graph_params(inits: list[Any], statistics: tuple[str, ...] = ()) -> int:
    """The graph's own parameter count: every initializer that is a weight."""
    return sum(math.prod(t.dims) for t in inits if t.data_type == TensorProto.FLOAT and
               t.dims and t.name not in statistics)


def kinds(spec: dict[str, Any]) -> list[str]:
    out = []
    for item in spec["layers"]:
        out.append(item if isinstance(item, str) else next(iter(item)))
    return out


def run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_silu_shuffle_gelu_and_linear_read_as_one_layer_each(tmp_path: Path) -> None:
    inits = [weight("w", 8, 8, 3, 3), ints("up", [1, 2, 4, 6, 6]), ints("down", [1, 8, 6, 6]),
             scalar("sqrt2", 1.4142135), scalar("one", 1.0), scalar("half", 0.5),
             weight("fc", 10, 8), weight("fc_b", 10)]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="/stem/Conv"),
        helper.make_node("Sigmoid", ["c"], ["s"], name="/act/Sigmoid"),
        helper.make_node("Mul", ["c", "s"], ["a"], name="/act/Mul"),
        helper.make_node("Reshape", ["a", "up"], ["r1"], name="/Reshape"),
        helper.make_node("Transpose", ["r1"], ["t"], perm=[0, 2, 1, 3, 4], name="/Transpose"),
        helper.make_node("Reshape", ["t", "down"], ["r2"], name="/Reshape_1"),
        helper.make_node("Div", ["r2", "sqrt2"], ["d"], name="/gelu/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/gelu/Erf"),
        helper.make_node("Add", ["e", "one"], ["p"], name="/gelu/Add"),
        helper.make_node("Mul", ["r2", "p"], ["m"], name="/gelu/Mul"),
        helper.make_node("Mul", ["m", "half"], ["g"], name="/gelu/Mul_1"),
        helper.make_node("GlobalAveragePool", ["g"], ["gap"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["gap"], ["f"], axis=1, name="/Flatten"),
        helper.make_node("Gemm", ["f", "fc", "fc_b"], ["y"], transB=1, name="/fc/Gemm"),
    ]
    imported = import_onnx(str(save(tmp_path, nodes, inits, [1, 8, 6, 6])))
    assert kinds(imported.spec) == ["conv", "silu", "shuffle", "gelu", "global_avgpool",
                                    "flatten", "linear"]
    assert imported.spec["layers"][2] == {"shuffle": {"groups": 2}}
    assert imported.spec["layers"][0]["conv"]["name"] == "stem"
    weights = [t for t in inits if t.name in ("w", "fc", "fc_b")]
    assert analyze_network(imported.spec).totals()["params"] == graph_params(weights)
    assert not imported.warnings


def test_channel_slices_are_a_split_and_channels_last_linears_pointwise(tmp_path: Path) -> None:
    inits = [ints("s0", [0]), ints("e0", [3]), ints("s1", [3]), ints("e1", [8]),
             ints("ax", [1]), weight("w", 5, 5, 3, 3), weight("mm", 8, 16), weight("mb", 16),
             weight("ln_w", 16), weight("ln_b", 16)]
    nodes = [
        helper.make_node("Slice", ["x", "s0", "e0", "ax"], ["a"], name="/Slice"),
        helper.make_node("Slice", ["x", "s1", "e1", "ax"], ["b"], name="/Slice_1"),
        helper.make_node("Conv", ["b", "w"], ["bc"], pads=[1, 1, 1, 1], name="/branch/Conv"),
        helper.make_node("Concat", ["a", "bc"], ["cat"], axis=1, name="/Concat"),
        helper.make_node("Transpose", ["cat"], ["nhwc"], perm=[0, 2, 3, 1], name="/perm"),
        helper.make_node("MatMul", ["nhwc", "mm"], ["lin"], name="/pw/MatMul"),
        helper.make_node("Add", ["lin", "mb"], ["lin_b"], name="/pw/Add"),
        helper.make_node("LayerNormalization", ["lin_b", "ln_w", "ln_b"], ["n"], axis=-1,
                         name="/norm/LayerNormalization"),
        helper.make_node("Transpose", ["n"], ["y"], perm=[0, 3, 1, 2], name="/perm_1"),
    ]
    imported = import_onnx(str(save(tmp_path, nodes, inits, [1, 8, 6, 6])))
    layers = imported.spec["layers"]
    assert layers[0]["split"]["sizes"] == [3, 5]
    assert layers[0]["split"]["paths"][0] == []
    assert next(iter(layers[0]["split"]["paths"][1][0])) == "conv"
    # bias: true, the default; an nn.Linear on channels-last data (convcalc.layers.op_forms)
    assert layers[1] == {"pointwise": {"name": "pw", "out": 16, "op": "channels_last"}}
    assert next(iter(layers[2])) == "layernorm"
    report = analyze_network(imported.spec)
    assert report.output.channels == 16 and report.output.spatial == (6, 6)
    weights = [t for t in inits if t.name in ("w", "mm", "mb", "ln_w", "ln_b")]
    assert report.totals()["params"] == graph_params(weights)


def test_residual_with_projection_and_gate(tmp_path: Path) -> None:
    inits = [weight("w1", 8, 4, 3, 3), weight("w2", 8, 8, 3, 3), weight("ws", 8, 4, 1, 1),
             weight("f1", 2, 8, 1, 1), weight("b1", 2), weight("f2", 8, 2, 1, 1),
             weight("b2", 8)]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2],
                         name="/block/conv1/Conv"),
        helper.make_node("Relu", ["c1"], ["r1"], name="/block/relu/Relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1],
                         name="/block/conv2/Conv"),
        helper.make_node("Conv", ["x", "ws"], ["sc"], strides=[2, 2],
                         name="/block/downsample/Conv"),
        helper.make_node("Add", ["c2", "sc"], ["sum"], name="/block/Add"),
        helper.make_node("GlobalAveragePool", ["sum"], ["g"], name="/gate/avgpool/GAP"),
        helper.make_node("Conv", ["g", "f1", "b1"], ["g1"], name="/gate/fc1/Conv"),
        helper.make_node("Relu", ["g1"], ["g2"], name="/gate/activation/Relu"),
        helper.make_node("Conv", ["g2", "f2", "b2"], ["g3"], name="/gate/fc2/Conv"),
        helper.make_node("HardSigmoid", ["g3"], ["g4"], alpha=1 / 6, beta=0.5,
                         name="/gate/scale_activation/HardSigmoid"),
        helper.make_node("Mul", ["g4", "sum"], ["y"], name="/gate/Mul"),
    ]
    imported = import_onnx(str(save(tmp_path, nodes, inits, [1, 4, 8, 8])))
    layers = imported.spec["layers"]
    block = layers[0]["sequence"]
    assert block["name"] == "block"
    residual = block["layers"][0]["residual"]
    assert kinds({"layers": residual["body"]}) == ["conv", "relu", "conv"]
    assert next(iter(residual["shortcut"][0])) == "pointwise"
    assert layers[1] == {"se": {"name": "gate", "squeeze": 2, "gate": "hardsigmoid"}}
    report = analyze_network(imported.spec)
    assert report.totals()["params"] == graph_params(inits)
    assert [r.path for r in report.rows][:4] == ["block.conv1", "block.relu", "block.conv2",
                                                 "block.shortcut.downsample"]


def test_yaml_text_is_the_mapping_and_net_reads_the_file_directly(tmp_path: Path) -> None:
    inits = [weight("w", 16, 3, 3, 3), weight("b", 16)]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1],
                              name="/stem/Conv"),
             helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="/act/Clip")]
    inits += [scalar("lo", 0.0), scalar("hi", 6.0)]
    path = save(tmp_path, nodes, inits, [1, 3, 32, 32])
    imported = import_onnx(str(path))
    assert load_yaml_text(imported.yaml) == imported.spec
    assert imported.yaml.startswith("# net, imported by convcalc from net.onnx.\n")
    assert kinds(imported.spec) == ["conv", "relu6"]
    code, out, err = run(["import", str(path), "-o", str(tmp_path / "net.yaml")])
    assert code == 0 and out == "" and "wrote" in err
    assert (tmp_path / "net.yaml").read_text() == imported.yaml
    code, direct, _ = run(["net", str(path), "--format", "json"])
    code2, via_yaml, _ = run(["net", str(tmp_path / "net.yaml"), "--format", "json"])
    assert code == code2 == 0
    assert json.loads(direct)["totals"] == json.loads(via_yaml)["totals"]
    assert json.loads(direct)["totals"]["params"] == graph_params(inits[:2])


def test_an_operator_convcalc_cannot_count_is_named_and_refused_with_strict(
        tmp_path: Path) -> None:
    inits = [weight("w", 4, 4, 1, 1)]
    nodes = [helper.make_node("Abs", ["x"], ["a"], name="/abs/Abs"),
             helper.make_node("Conv", ["a", "w"], ["c"], name="/conv/Conv"),
             helper.make_node("Abs", ["c"], ["y"], name="/abs_1/Abs")]
    path = save(tmp_path, nodes, inits, [1, 4, 5, 5])
    code, out, err = run(["import", str(path)])
    assert code == 0
    assert err.count("\n") == 1
    assert "warning: 2 operators convcalc cannot count" in err
    assert "Abs ×2 (/abs/Abs, /abs_1/Abs)" in err
    assert "identity: {name: abs}  # Abs: not counted" in out
    code, out, err = run(["import", str(path), "--strict"])
    assert code == 1 and out == ""
    assert err.startswith("convcalc: error: --strict: 2 operators") and err.count("\n") == 1


def test_an_operator_that_changes_the_shape_unknowably_is_kept_uncounted(tmp_path: Path) -> None:
    """issue 22 item 3: a partial report, not a refusal (unless --strict)."""
    nodes = [helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2, name="/s2d")]
    path = save(tmp_path, nodes, [], [1, 4, 8, 8])
    code, out, err = run(["import", str(path)])
    assert code == 0 and "Traceback" not in err
    assert "uncounted: {operator: SpaceToDepth, output: \"4x4x16\"}" in out
    assert "# warning: 1 operator convcalc cannot count, left uncounted (0 params, 0 MACs; the " \
           "totals exclude it): SpaceToDepth ×1 (/s2d)" in out
    code, out, err = run(["import", str(path), "--strict"])
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.endswith("convcalc: error: --strict: 1 operator convcalc cannot count, left "
                        "uncounted (0 params, 0 MACs; the totals exclude it): SpaceToDepth ×1 "
                        "(/s2d)\n")


def test_dynamic_dims_take_input(tmp_path: Path) -> None:
    inits = [weight("w", 8, 3, 3, 3)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv")]
    path = save(tmp_path, nodes, inits, ["N", 3, "H", "W"])
    code, _, err = run(["import", str(path)])
    assert code == 2
    assert "has dynamic dims N×3×H×W: give --input" in err and err.count("\n") == 1
    code, out, _ = run(["import", str(path), "--input", "20x24x3"])
    assert code == 0 and "input: 20x24x3" in out
    code, _, err = run(["import", str(path), "--input", "20x24x4"])
    assert code == 2 and "channels is 3 in the model" in err
    code, out, _ = run(["net", str(path), "--input", "20x24x3", "--format", "json"])
    assert code == 0 and json.loads(out)["output"] == {"channels": 8, "spatial": [18, 22]}


def test_batchnorm_folded_at_export_is_said(tmp_path: Path) -> None:
    inits = [weight("onnx::Conv_1", 8, 3, 3, 3), weight("onnx::Conv_2", 8)]
    nodes = [helper.make_node("Conv", ["x", "onnx::Conv_1", "onnx::Conv_2"], ["c"],
                              name="/conv/Conv"),
             helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")]
    path = save(tmp_path, nodes, inits, [1, 3, 8, 8])
    code, out, err = run(["import", str(path)])
    assert code == 0
    assert err.startswith("convcalc: note: 1 convs carry weights and biases made at export")
    assert "# note: 1 convs carry weights" in out
    assert analyze_network(load_yaml_text(out)).totals()["params"] == graph_params(inits)


def test_batch_norm_statistics_are_not_parameters(tmp_path: Path) -> None:
    inits = [weight("w", 8, 3, 3, 3), weight("g", 8), weight("b", 8), weight("m", 8),
             weight("v", 8)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"],
                              name="/bn/BatchNormalization")]
    imported = import_onnx(str(save(tmp_path, nodes, inits, [1, 3, 8, 8])))
    assert imported.spec["layers"][1] == "bn"  # named bn, as convcalc names it anyway
    assert analyze_network(imported.spec).totals()["params"] == graph_params(inits, ("m", "v"))


# --- bad files: one line, exit 2, no traceback --------------------------------------------------

def small_model(tmp_path: Path, opset: int = 17) -> Path:
    inits = [weight("w", 8, 3, 3, 3)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv")]
    return save(tmp_path, nodes, inits, [1, 3, 8, 8], opset=opset)


def one_line_error(args: list[str]) -> str:
    code, out, err = run(args)
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("convcalc: error: ")
    return err


def test_bad_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n" * 20)
    assert "not an ONNX model" in one_line_error(["import", str(text)])
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    assert "the file is empty" in one_line_error(["import", str(empty)])
    good = small_model(tmp_path).read_bytes()
    for cut in (len(good) // 2, len(good) - 3, 7):
        truncated = tmp_path / "cut.onnx"
        truncated.write_bytes(good[:cut])
        assert "not an ONNX model (or a truncated one)" in one_line_error(
            ["import", str(truncated)])
    for opset in (99, 3):
        path = small_model(tmp_path / str(opset), opset) if (tmp_path / str(opset)).mkdir() \
            is None else None
        assert path is not None
        err = one_line_error(["import", str(path)])
        assert f"ONNX operator set {opset} is not supported" in err
    graph = helper.make_graph([], "nothing",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])])
    nothing = tmp_path / "nothing.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              str(nothing))
    assert "the ONNX graph is empty" in one_line_error(["import", str(nothing)])
    assert "the ONNX graph is empty" in one_line_error(["net", str(nothing)])
    assert "cannot read" in one_line_error(["import", str(tmp_path / "missing.onnx")])


def test_command_line_mistakes() -> None:
    assert "import needs an ONNX file or --torch" in one_line_error(["import"])
    assert "one of them" in one_line_error(["import", "a.onnx", "--torch", "m:f"])
    assert "--torch needs --input" in one_line_error(["import", "--torch", "m:f"])


def test_without_onnx_the_file_is_read_all_the_same(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """convcalc reads the protobuf itself: `onnx` is only the tests' tool to write files."""
    path = small_model(tmp_path)
    with_onnx = run(["net", str(path), "--format", "json"])
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    assert run(["net", str(path), "--format", "json"]) == with_onnx
    code, out, _ = run(["import", str(path)])
    assert code == 0 and "- conv: {out: 8, kernel: 3}" in out


# --- a big model: shapes are read, weights are not -------------------------------------------

MEASURE = """
import resource, sys
from convcalc.bridges.onnx_import import load_onnx
import onnx, numpy
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[1] == "load":
    graph = load_onnx(sys.argv[2])
    assert graph.constants["w"].shape == (2560, 10240)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""


def test_a_100_mb_model_is_read_without_its_weights(tmp_path: Path) -> None:
    size = 2560 * 10240 * 4  # 100 MiB of float32 weights
    w = helper.make_tensor("w", TensorProto.FLOAT, [2560, 10240], b"\0" * size, raw=True)
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="/fc/Gemm")]
    path = save(tmp_path, nodes, [w], [1, 10240], name="big")
    del w
    assert path.stat().st_size > size

    def grown(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", MEASURE, mode, str(path)],
                              capture_output=True, text=True, check=True)
        return int(done.stdout.strip())

    extra = grown("load") - grown("baseline")
    # the whole import holds far less than one copy of the weights
    assert extra < size // 4, f"reading a {size >> 20} MiB model grew the process by {extra >> 20} MiB"
    imported = import_onnx(str(path))
    assert analyze_network(imported.spec).totals()["params"] == 2560 * 10240


def test_folded_batchnorm_says_what_conventions_describe_and_unfolds(tmp_path: Path) -> None:
    from convcalc import conventions as C

    inits = [weight("onnx::Conv_1", 8, 3, 3, 3), weight("onnx::Conv_2", 8)]
    nodes = [helper.make_node("Conv", ["x", "onnx::Conv_1", "onnx::Conv_2"], ["c"],
                              name="/conv/Conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")]
    path = save(tmp_path, nodes, inits, [1, 3, 8, 8])
    code, out, err = run(["import", str(path)])
    assert code == 0
    assert "--conventions counts this folded graph, not the source model" in err
    assert "training=torch.onnx.TrainingMode.PRESERVE or do_constant_folding=False" in err
    assert "--torch" in err and "--unfold-bn" in err
    code, out, err = run(["import", str(path), "--unfold-bn"])
    assert code == 0 and "Written unfolded (--unfold-bn)" in err
    unfolded = analyze_network(load_yaml_text(out))
    assert [row.report.kind for row in unfolded.rows] == ["conv", "batchnorm", "relu"]
    source = analyze_network(load_yaml_text(
        "name: s\ninput: 8x8x3\nlayers:\n  - conv: {out: 8, kernel: 3, padding: 1, bias: false}\n"
        "  - batchnorm\n  - relu\n"))
    assert unfolded.totals()["params"] == source.totals()["params"]
    for tool in C.TOOLS:
        assert C.analyse(unfolded).count(tool).value == C.analyse(source).count(tool).value
    code, _, err = run(["import", "--torch", "torchvision.models:resnet18", "--input",
                        "224x224x3", "--unfold-bn"])
    assert code == 2 and "--unfold-bn applies to an ONNX file" in err


def test_unfold_bn_with_nothing_folded_says_so(tmp_path: Path) -> None:
    """--unfold-bn on a graph whose convs have no exporter-made bias changes nothing, in words
    (it was silent: the user could not tell the option from a no-op)."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
             helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")]
    path = save(tmp_path, nodes, [weight("w", 8, 3, 3, 3)], [1, 3, 8, 8])
    code, out, err = run(["import", str(path), "--unfold-bn"])
    assert code == 0 and "--unfold-bn: no conv looks like a BatchNorm was folded" in err
    assert [row.report.kind for row in analyze_network(load_yaml_text(out)).rows] == \
        ["conv", "relu"]


def test_an_uncounted_node_name_is_escaped_once_in_the_header_comment(tmp_path: Path) -> None:
    """A node named with a line break and `$`: the warning keeps the name as it is, the YAML
    comment writes the line break as `\\n` once (not `\\\\n`), stderr shows it on one line, and
    `net` on the YAML counts the conv's 112 parameters."""
    inits = [weight("w", 4, 3, 3, 3), weight("b", 4)]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
             helper.make_node("Hardmax", ["c"], ["y"], name="a\nb $x")]
    path = save(tmp_path, nodes, inits, [1, 3, 8, 8])
    imported = import_onnx(str(path))
    assert imported.warnings[0].endswith("Hardmax ×1 (a\nb $x)")
    header = [line for line in imported.yaml.splitlines() if line.startswith("# warning:")]
    assert header == ["# warning: " + imported.warnings[0].replace("\n", "\\n")]
    assert header[0].endswith("Hardmax ×1 (a\\nb $x)")
    assert "# Hardmax: not counted" in imported.yaml
    out = tmp_path / "m.yaml"
    out.write_text(imported.yaml, encoding="utf-8")
    assert analyze_network(out).totals()["params"] == graph_params(inits) == 112
    assert onnx_network(str(path)).warnings[0].endswith("(a\\nb $x)")  # a report's line
    code, _, err = run(["import", str(path), "-o", str(tmp_path / "n.yaml")])
    assert code == 0
    assert "(a\\nb $x)" in err and "a\\\\nb" not in err

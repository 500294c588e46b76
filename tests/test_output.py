"""`-o/--output FILE` on every command: one writer (convcalc/output.py) that never destroys an
input, writes `-` to standard output, infers the format from the suffix and replaces a file
atomically (a temporary file in the same folder, then a rename)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

LAYER = ["layer", "conv", "--input", "12x12x3", "--kernel", "5", "--out", "8"]
COMPARE = ["compare", "--input", "12x12x3", "--kernel", "5", "--out", "8"]

# every command that writes a report, and the suffixes (formats) it takes
COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "layer": (LAYER, (".txt", ".json", ".csv", ".md", ".tex", ".html")),
    "compare": (COMPARE, (".txt", ".json", ".csv", ".md", ".tex", ".html")),
    "net": (["net", "resnet18", "--depth", "1"],
            (".txt", ".json", ".csv", ".md", ".tex", ".mmd", ".dot", ".html")),
    "diff": (["diff", "resnet18", "resnet50"],
             (".txt", ".json", ".csv", ".md", ".tex", ".mmd", ".dot")),
    "kinds": (["kinds"], (".txt", ".json", ".csv", ".md", ".tex")),
    "examples": (["examples"], (".txt", ".json", ".csv", ".md", ".tex")),
}
FORMAT_OF = {".txt": "table", ".json": "json", ".csv": "csv", ".md": "markdown",
             ".tex": "latex", ".html": "html", ".mmd": "mermaid", ".dot": "dot"}
CASES = [(name, suffix) for name, (_, suffixes) in COMMANDS.items() for suffix in suffixes]


def run(args: list[str], **kwargs: object) -> tuple[int, str, str]:
    result = runner.invoke(app, args, **kwargs)  # type: ignore[arg-type]
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("name", "suffix"), CASES, ids=[f"{n}{s}" for n, s in CASES])
def test_o_writes_every_command_and_format_like_stdout(name: str, suffix: str,
                                                       tmp_path: Path) -> None:
    """The file holds what `--format` prints on stdout (the suffix chose the format), and one
    line on stderr says what was written."""
    if suffix == ".html":
        pytest.importorskip("jinja2")
    args, _ = COMMANDS[name]
    path = tmp_path / f"report{suffix}"
    code, out, err = run([*args, "-o", str(path)])
    assert code == 0, err
    assert out == ""
    assert err.startswith(f"wrote {path} (") and err.count("\n") == 1
    code, expected, _ = run([*args, "--format", FORMAT_OF[suffix]])
    assert code == 0
    assert path.read_text(encoding="utf-8") == expected


def test_o_table_is_whole_and_without_colours(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    code, _, _ = run(["net", "resnet50", "-o", str(path)], env={"COLUMNS": "40"}, color=True)
    assert code == 0
    text = path.read_text()
    assert "\x1b" not in text
    assert "layer4.0.shortcut.0 " in text and "…" not in text  # whole paths, never shortened
    assert "more columns" not in text  # every column (as when piped)


def test_solve_writes_with_save(tmp_path: Path) -> None:
    """solve's -o/--output is the size wanted; its report goes to --save FILE."""
    path = tmp_path / "answers.json"
    code, out, err = run(["solve", "conv", "--input", "28x28x1", "--output", "28", "--kernel",
                          "5", "--save", str(path)])
    assert code == 0, err
    assert out == "" and err.startswith("wrote ")
    assert json.loads(path.read_text())["mode"] == "size"


def test_schema_writes_json(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    code, _, err = run(["schema", "-o", str(path)])
    assert code == 0, err
    assert "$schema" in json.loads(path.read_text()) or "properties" in path.read_text()


def test_format_wins_over_a_contradicting_suffix_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    code, _, err = run([*LAYER, "--format", "csv", "-o", str(path)])
    assert code == 0
    assert "warning: --format csv is written to" in err and "(--format wins)" in err
    assert path.read_text().startswith("path,kind,")


def test_unknown_suffix_is_a_table(tmp_path: Path) -> None:
    path = tmp_path / "report.out"
    code, _, _ = run([*LAYER, "-o", str(path)])
    assert code == 0
    assert "params" in path.read_text() and "|" not in path.read_text()


def test_existing_file_is_replaced_with_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o640)
    code, _, _ = run([*LAYER, "-o", str(path)])
    assert code == 0
    assert json.loads(path.read_text())["kind"] == "conv"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, _, _ = run([*LAYER, "-o", str(link)])
    assert code == 0
    assert link.is_symlink() and json.loads(real.read_text())["kind"] == "conv"


# --- never destroy an input (issue 19, item 1) ---------------------------------------------------

def one_line_error(args: list[str]) -> str:
    code, out, err = run(args)
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("convcalc: error: option -o/--output: ")
    return err


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "s.yaml"
    shutil.copy(ROOT / "examples" / "resnet18.yaml", path)
    monkeypatch.chdir(tmp_path)
    return path


def test_export_s_yaml_o_dot_slash_s_yaml_is_refused(spec: Path) -> None:
    before = spec.read_bytes()
    err = one_line_error(["export", "s.yaml", "-o", "./s.yaml"])
    assert "is an input of this command" in err
    assert spec.read_bytes() == before


@pytest.mark.parametrize("command", ["net", "export"])
def test_a_hard_link_to_the_input_is_refused(spec: Path, command: str) -> None:
    os.link(spec, spec.parent / "hard.yaml")
    before = spec.read_bytes()
    one_line_error([command, "s.yaml", "-o", "hard.yaml"])
    assert spec.read_bytes() == before


def test_a_symlink_to_the_input_is_refused(spec: Path) -> None:
    (spec.parent / "sub").mkdir()
    (spec.parent / "sub" / "link.md").symlink_to(spec)
    before = spec.read_bytes()
    one_line_error(["net", "s.yaml", "-o", "sub/../sub/link.md"])
    assert spec.read_bytes() == before


@pytest.mark.parametrize("command", [["net", "-"], ["export", "-"], ["diff", "-", "resnet18"]],
                         ids=["net", "export", "diff"])
def test_net_dash_o_x_from_x_on_stdin_is_refused(spec: Path, command: list[str]) -> None:
    # `convcalc net - -o s.yaml < s.yaml`: standard input is the file -o names
    import subprocess
    import sys

    before = spec.read_bytes()
    with spec.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "convcalc", *command, "-o", "./s.yaml"],
                              stdin=stdin, capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "is standard input of this command" in done.stderr
    assert spec.read_bytes() == before
    with spec.open("rb") as stdin:  # another file on stdin is still fine
        done = subprocess.run([sys.executable, "-m", "convcalc", "net", "-", "-o", "r.md"],
                              stdin=stdin, capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and (spec.parent / "r.md").read_text().count("|") > 10


def test_solve_batch_save_to_its_spec_is_refused(spec: Path) -> None:
    # `convcalc solve batch s.yaml --device l4 --train --save s.yaml` replaced the spec
    before = spec.read_bytes()
    code, out, err = run(["solve", "batch", "s.yaml", "--device", "l4", "--train",
                          "--save", "./s.yaml"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("convcalc: error: option --save: ./s.yaml: ")
    assert "is an input of this command" in err
    assert spec.read_bytes() == before


def test_diff_refuses_either_input(spec: Path) -> None:
    shutil.copy(spec, spec.parent / "t.yaml")
    one_line_error(["diff", "s.yaml", "t.yaml", "-o", "t.yaml"])
    one_line_error(["diff", "s.yaml", "t.yaml", "-o", str(spec)])


def test_a_bundled_example_is_an_input_too(tmp_path: Path) -> None:
    from convcalc.bundled import example_path

    bundled = example_path("resnet18")
    assert bundled is not None
    one_line_error(["net", "resnet18", "-o", str(bundled)])


def test_import_m_onnx_o_m_onnx_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.zeros((8, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv")],
                              "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                 [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [weight])
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    before = model.read_bytes()
    monkeypatch.chdir(tmp_path)
    for target in ("m.onnx", "./m.onnx", str(model)):
        err = one_line_error(["import", "m.onnx", "-o", target])
        assert "is an input of this command" in err
    assert model.read_bytes() == before
    one_line_error(["net", "m.onnx", "-o", "m.onnx"])
    assert model.read_bytes() == before
    code, _, err = run(["import", "m.onnx", "-o", "m.yaml"])
    assert code == 0 and "wrote m.yaml (" in err
    assert (tmp_path / "m.yaml").read_text().startswith(("#", "name", "input"))


# --- `-o -` is standard output for every command that has -o -------------------------------

@pytest.mark.parametrize("args", [LAYER, COMPARE, ["net", "resnet18"], ["diff", "resnet18",
                                                                          "resnet50"],
                                  ["kinds"], ["examples"], ["schema"],
                                  ["export", "resnet18"]],
                         ids=["layer", "compare", "net", "diff", "kinds", "examples", "schema",
                              "export"])
def test_o_dash_is_stdout(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run([*args, "-o", "-"])
    assert code == 0, err
    assert out and "wrote" not in err
    assert not (tmp_path / "-").exists()
    assert out == run(args)[1]


def test_solve_save_dash_is_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["solve", "conv", "--input", "28x28x1", "--output", "28", "--kernel", "5",
                        "--save", "-"])
    assert code == 0 and "solution" in out and not (tmp_path / "-").exists()


# --- bad targets: one line naming the option and the path, before any work --------------------

def test_o_into_a_missing_directory(tmp_path: Path) -> None:
    err = one_line_error([*LAYER, "-o", str(tmp_path / "nope" / "r.md")])
    assert f"{tmp_path / 'nope' / 'r.md'}: no such directory {tmp_path / 'nope'}" in err


def test_o_naming_a_directory(tmp_path: Path) -> None:
    err = one_line_error([*LAYER, "-o", str(tmp_path)])
    assert "is a directory" in err


def test_a_bad_target_is_refused_before_any_work(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The target is checked before the spec is read: a missing folder is the error, not the
    missing spec."""
    err = one_line_error(["net", str(tmp_path / "missing.yaml"), "-o",
                          str(tmp_path / "nope" / "r.md")])
    assert "no such directory" in err


# --- a failing write leaves the old file whole ----------------------------------------------

def test_a_failing_write_keeps_the_old_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up half-way (os.fsync raises ENOSPC): the old report is intact, no
    temporary file is left, the error is one line naming the option and the file."""
    import errno

    path = tmp_path / "r.json"
    path.write_text("the old report\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("convcalc.output.os.fsync", full)
    code, out, err = run([*LAYER, "-o", str(path)])
    assert code == 2 and out == ""
    assert err == f"convcalc: error: option -o/--output: {path}: cannot write: " \
                  f"{os.strerror(errno.ENOSPC)}\n"
    assert path.read_text() == "the old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_renderer_that_fails_half_way_keeps_the_old_file(tmp_path: Path) -> None:
    """The writer's `fill` raises after writing part of the text: the old file is whole and
    the error propagates (a real bug is not hidden)."""
    from convcalc.output import check_target, write_file

    path = tmp_path / "r.csv"
    path.write_text("old,file\n")

    def half(handle: object) -> None:
        handle.write("new,")  # type: ignore[attr-defined]
        raise RuntimeError("renderer bug")

    with pytest.raises(RuntimeError, match="renderer bug"):
        write_file(check_target(str(path)), half)
    assert path.read_text() == "old,file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "new.md"
    umask = os.umask(0o022)
    try:
        code, _, _ = run([*LAYER, "-o", str(path)])
    finally:
        os.umask(umask)
    assert code == 0 and path.stat().st_mode & 0o777 == 0o644


def test_dev_null_is_written_as_is() -> None:
    code, out, err = run([*LAYER, "-o", os.devnull])
    assert code == 0 and out == "" and err.startswith(f"wrote {os.devnull} (")


def test_the_confirmation_names_the_size() -> None:
    from convcalc.output import size_text

    assert [size_text(n) for n in (1, 812, 4_900, 4_890_195, 2 * 10**9)] == [
        "1 byte", "812 bytes", "4.9 kB", "4.9 MB", "2.0 GB"]


def test_every_report_command_lists_o_in_help() -> None:
    for command in ("layer", "compare", "net", "diff", "kinds", "examples", "schema", "export",
                    "import"):
        code, out, _ = run([command, "-h"])
        assert code == 0 and "--output" in out, command
    assert "--save" in run(["solve", "-h"])[1]


def test_import_torch_never_writes_over_its_model_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`--torch ./model.py:build -o model.py` and `--torch model:build -o ./model.py` are
    refused: the module's file is an input."""
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "tiny_o_model.py"
    model.write_text("def build():\n    raise RuntimeError('never built')\n")
    before = model.read_bytes()
    monkeypatch.syspath_prepend(str(tmp_path))
    for factory, target in (("./tiny_o_model.py:build", "tiny_o_model.py"),
                            ("tiny_o_model:build", "./tiny_o_model.py")):
        err = one_line_error(["import", "--torch", factory, "--input", "8x8x3", "-o", target])
        assert "is an input of this command" in err
    assert model.read_bytes() == before


def test_an_rtl_override_in_a_layer_name_is_escaped_in_the_error(tmp_path: Path) -> None:
    # the context of a refused name (`layers[0] (rtl<U+202E>abc)`) reached the terminal raw:
    # the override reverses what follows it on the line
    spec = tmp_path / "rtl.yaml"
    spec.write_text('name: x\ninput: 8x8x3\nlayers:\n'
                    '  - conv: {name: "rtl\\u202Eabc\\u2066", out: 4, kernel: 3}\n')
    code, out, err = run(["net", str(spec)])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "\u202e" not in err and "\u2066" not in err
    assert "rtl\\u202eabc\\u2066" in err


def test_o_dev_stdout_into_a_pipe_and_dev_null_say_the_bytes_written() -> None:
    # `-o /dev/stdout | wc` failed ("No such file or directory": the link resolves to
    # `pipe:[…]`), and `-o /dev/null` confirmed "0 bytes" (the device's size)
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "convcalc", "net", "resnet18", "-f", "latex"]
    piped = subprocess.run([*args, "-o", "/dev/stdout"], capture_output=True, check=False,
                           env=env)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"% needs \\usepackage{booktabs}")
    assert piped.stderr.decode() == f"wrote /dev/stdout ({_kb(len(piped.stdout))})\n"
    null = subprocess.run([*args, "-o", "/dev/null"], capture_output=True, check=False,
                          env=env)
    assert null.returncode == 0 and null.stdout == b""
    assert null.stderr.decode() == f"wrote /dev/null ({_kb(len(piped.stdout))})\n"


def _kb(n: int) -> str:
    from convcalc.output import size_text

    return size_text(n)


def test_an_empty_output_name_is_shown_as_such() -> None:
    """`-o ''` names the empty value and says what is allowed (it printed `: : not a file
    name`)."""
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, ["net", "resnet18", "-o", ""])
    assert result.exit_code == 2 and result.stdout == ""
    assert "'' is not a file name (give a path, or - for standard output)" in result.stderr


def test_solve_help_lists_batch() -> None:
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, ["solve", "-h"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "or batch (with SPEC" in result.stdout

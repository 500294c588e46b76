"""The bad-input corpus (tests/bad_inputs): one-line errors, the right exit code, never a traceback;
the YAML limits hold in well under a second."""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from convcalc import analyze_network
from convcalc.cli import app
from convcalc.errors import ConvcalcError

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())
runner = CliRunner()


def invoke(args: list[str]) -> Any:
    return runner.invoke(app, args, env={"COLUMNS": "100"})


def check_failure(result: Any, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    assert result.stdout == ""
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_corpus_is_large() -> None:
    assert len(CASES["specs"]) + len(CASES["args"]) >= 60
    assert {p.stem for p in (HERE / "specs").glob("*.yaml")} == set(CASES["specs"])


@pytest.mark.parametrize(("name", "expected"), sorted(CASES["specs"].items()),
                         ids=sorted(CASES["specs"]))
def test_bad_spec(name: str, expected: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE / "specs")
    code, fragment = expected
    result = invoke(["net", f"{name}.yaml"])
    check_failure(result, code, fragment)
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(f"convcalc: error: {name}.yaml") for line in lines), lines


@pytest.mark.parametrize(("name", "fragments"), sorted(CASES["several"].items()))
def test_several_errors_in_file_order(name: str, fragments: list[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE / "specs")
    result = invoke(["net", f"{name}.yaml"])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(fragments)
    for line, fragment in zip(lines, fragments, strict=True):
        assert fragment in line


@pytest.mark.parametrize(("args", "code", "fragment"), CASES["args"],
                         ids=[" ".join(c[0])[:60] for c in CASES["args"]])
def test_bad_arguments(args: list[str], code: int, fragment: str,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = invoke(args)
    assert result.exit_code == code, (result.stderr, result.stdout)
    assert result.stdout == ""
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


LIMITS = ["alias_bomb", "repeat_huge", "deep_nesting", "deep_blocks", "nested_complex_keys",
          "nested_dashes", "nested_map_seq", "alias_cycle", "alias_cycle_deep",
          "rf_period_limit", "rf_upsample_then_kernel", "repeat_million", "nested_repeats",
          "doubling_blocks", "repeat_empty_body", "alpha_tiny", "int_5000_digits",
          "expr_huge_value", "expr_deep",
          "input_5000_digits", "block_chain"]


@pytest.mark.parametrize("name", LIMITS)
def test_limits_fail_fast_with_bounded_memory(name: str) -> None:
    """Each limit refuses its case in well under a second (timed on its own: tracing memory
    slows Python several times) and in well under 200 MiB (traced)."""
    started = time.perf_counter()
    with pytest.raises(ConvcalcError):
        analyze_network(HERE / "specs" / f"{name}.yaml")
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    with pytest.raises(ConvcalcError):
        analyze_network(HERE / "specs" / f"{name}.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"
    assert peak < 64 * 1024 * 1024, f"{name} peaked at {peak / 1e6:.0f} MB"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_huge_sizes_are_exact_and_quick() -> None:
    spec = {"input": {"channels": 3, "spatial": [10**12, 10**12]}, "layers": [
        {"conv": {"out": 10**6, "kernel": 10**3, "stride": 10**3}},
        {"transposed": {"out": 7, "kernel": 10**4, "stride": 4}},
        {"maxpool": {"kernel": 3}},
    ]}
    started = time.perf_counter()
    report = analyze_network(spec)
    assert time.perf_counter() - started < 1.0
    first = report.rows[0].report
    assert first.output.spatial == (10**9, 10**9)
    assert first.macs == 10**6 * 3 * 10**6 * 10**18
    assert report.rows[1].receptive_field[0].size > 10**6


@pytest.mark.parametrize("source", [None, b"input: 8x8x3", 3.5, ["relu"], object()])
def test_api_refuses_what_is_not_a_network(source: Any) -> None:
    with pytest.raises(ConvcalcError):
        analyze_network(source)


@pytest.mark.parametrize("text", ["_", "", "x", "1_2x3", "12x12x3x", "٣x3", "12 x 3", "1e3x3"])
def test_api_parse_shape_refuses_bad_text(text: str) -> None:
    from convcalc import parse_shape

    with pytest.raises(ConvcalcError):
        parse_shape(text)


def test_names_with_markup_are_printed_as_text(tmp_path: Path) -> None:
    spec = tmp_path / "markup.yaml"
    spec.write_text("name: '[bold]net[/bold]'\ninput: 8x8x3\nlayers:\n"
                    "  - relu: {name: '[red]x[/'}\n")
    result = invoke(["net", str(spec), "--width", "80"])
    assert result.exit_code == 0, result.output
    assert "[bold]net[/bold]" in result.stdout and "[red]x[/" in result.stdout


@pytest.mark.parametrize("encoding", ["ascii", "gbk", "latin-1"])
def test_output_on_a_narrow_encoding(encoding: str) -> None:
    """--explain and tables on an ASCII or GBK terminal: ASCII symbols, no crash."""
    import subprocess
    import sys

    for args in (["layer", "dwsep", "-i", "12x12x3", "--kernel", "5", "--out", "256", "--explain"],
                 ["net", "resnet18", "--depth", "1", "--width", "80"],
                 ["compare", "-i", "12x12x3", "--kernel", "5", "--out", "256"]):
        run = subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, check=False,
                             env={**os.environ, "PYTHONIOENCODING": encoding}, cwd=ROOT,
                             timeout=60)
        assert run.returncode == 0, run.stderr.decode(encoding, "replace")
        out = run.stdout.decode(encoding)
        assert "x" in out and "Traceback" not in out


def test_usage_errors_are_one_line() -> None:
    import subprocess
    import sys

    for args in (["layer", "conv", "--bogus"], ["net", "resnet18", "--depth", "x"],
                 ["kinds", "-f", "xml"], ["frobnicate"]):
        run = subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, check=False,
                             text=True, cwd=ROOT, timeout=60)
        assert run.returncode == 2
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("convcalc: error: "), run.stderr

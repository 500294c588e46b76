"""The bad-input corpus (tests/bad_inputs): one-line errors, the right exit code, never a traceback;
the YAML limits hold in well under a second."""

from __future__ import annotations

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


@pytest.mark.parametrize("name", ["alias_bomb", "repeat_huge", "deep_nesting", "deep_blocks"])
def test_limits_fail_fast_with_bounded_memory(name: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConvcalcError):
        analyze_network(HERE / "specs" / f"{name}.yaml")
    elapsed = time.perf_counter() - started
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

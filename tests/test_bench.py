"""The benchmark script runs from a checkout and prints all four rows (a smoke test, not a timing:
the speed targets are measured by `python benchmarks/bench.py`, see README "Performance")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_prints_every_row() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--runs", "1",
                           "--sizes", "20,200", "--no-torch"], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("convcalc benchmark")
    labels = [line.split("  ")[0] for line in lines[1:]]
    assert labels == [
        "python -c pass (floor)", "import typer + one pydantic model",
        "(1) convcalc layer conv ... --format json", "(2) convcalc net examples/resnet50.yaml",
        "(3) 20 layers, sequence", "(3) 200 layers, sequence", "(3) sequence: 200 / 20",
        "(3) 20 layers, residual", "(3) 200 layers, residual", "(3) residual: 200 / 20",
        "(4) PyTorch FlopCounterMode, ResNet-50", "(5) 20 layers, residual, --format html",
        "(6) convcalc import resnet50.onnx", "(6) convcalc net resnet50.onnx",
        "(7) 200 layers, residual, --format table",
        "(8) 200 layers, --dtype fp16 --device h100 --conventions"]
    assert "ms" in lines[3] and "×" in lines[3]
    assert "skipped" in lines[-6] and "skipped" in lines[-4]  # --no-torch: no (4), no ONNX
    assert "skipped" in lines[-3]
    assert "its JSON" in lines[-2] and "without" in lines[-1]


def test_side_by_side_against_a_revision() -> None:
    """`--against REV`: the working tree and the revision (exported by git archive, the
    repository untouched) on the same generated networks, each as a multiple of a calibration
    loop timed in the same process."""
    import shutil

    import pytest

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a checkout (the revision is exported with git archive)")
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--runs", "1",
                           "--sizes", "20,200", "--against", "HEAD"], capture_output=True,
                          text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("convcalc side by side: the working tree against ")
    assert lines[1].startswith("calibration loop (fastest, CPU): working tree ")
    assert lines[2].split()[0] == "network"
    for line, label in zip(lines[3:], ("20 layers, sequence", "20 layers, residual"),
                           strict=True):
        assert line.startswith(label)
        cells = line[len(label):].split()
        # working tree min / median, the revision's min / median, and the ratio of the minimums
        assert cells[0].endswith("×") and cells[2].endswith("×"), line
        assert float(cells[-1]) > 0
    after = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout
    # exported with git archive, not checked out: no worktree of this checkout is added (the
    # checkout itself may live in the temp directory, as a CI clone does)
    assert set(after.splitlines()) <= set(worktrees.splitlines())

    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--runs",
                              "1", "--sizes", "20,200", "--against", "no-such-revision"],
                             capture_output=True, text=True, check=False, cwd=ROOT)
    assert refused.returncode == 1
    assert "--against no-such-revision: not a revision" in refused.stderr

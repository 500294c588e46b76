"""The working tree against an earlier revision, on the same generated networks, side by side.

    python benchmarks/bench.py --against 5f5c18c            # 10 runs each, alternating
    python benchmarks/bench.py --against 5f5c18c --callgrind

The revision is exported with `git archive` into a temporary directory (the repository and its
worktrees are left alone) and byte-compiled, as the working tree is. Each run is a fresh process
that first times a fixed calibration loop (pure Python: small dicts, tuples, text) and then,
in the same process, `convcalc net FILE --format json` (its imports included, its output
discarded); the run is reported as a multiple of that calibration loop, so a machine whose
speed drifts moves both alike. Both are CPU time of the process (`time.process_time`): on a
machine whose cores are shared with other work, wall time mostly measures the waiting. The two
trees' runs alternate (A, B, A, B, …) and each gives its minimum and median over N runs.

With `--callgrind`, each tree also runs the same command once under `valgrind --tool=callgrind`
(end to end, a fresh interpreter): instruction counts do not depend on the machine's load.
"""

from __future__ import annotations

import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CALIBRATED_RUN = r"""
import json, os, runpy, sys, time

def calibration():
    # fixed work of the interpreter's ordinary kinds: small dicts and tuples, calls, text
    start = time.process_time()
    kept = []
    for i in range(300_000):
        row = {"a": i, "b": (i * 7) % 13, "c": (i, i + 1)}
        kept.append(f"{row['a']}:{row['b']}" if row["b"] else str(sum(row["c"])))
    del kept
    return time.process_time() - start

loop = calibration()
out = os.dup(1)
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
sys.argv = ["convcalc", *sys.argv[1:]]
start = time.process_time()
code = 0
try:
    runpy.run_module("convcalc", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code or 0
seconds = time.process_time() - start
sys.stdout.flush()
os.write(out, json.dumps({"loop": loop, "run": seconds, "code": code}).encode())
"""


@dataclass
class Side:
    """One tree's runs of one network: each run's time over its calibration loop."""

    label: str
    ratios: list[float]
    loops: list[float]

    def summary(self) -> str:
        return f"{min(self.ratios):.2f}× / {statistics.median(self.ratios):.2f}×"


def export(rev: str, into: Path) -> str:
    """`git archive REV` unpacked into `into`; returns the revision's short hash and date."""
    described = subprocess.run(["git", "log", "-1", "--format=%h %cs", rev], cwd=ROOT,
                               capture_output=True, text=True, check=False)
    if described.returncode:
        raise SystemExit(f"--against {rev}: not a revision of this repository\n"
                         f"{described.stderr.strip()}")
    archive = into / "tree.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    archive.unlink()
    return described.stdout.strip()


def calibrated(tree: Path, args: list[str]) -> tuple[float, float]:
    """One fresh process in `tree`: (calibration loop, the command) in seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CALIBRATED_RUN, *args], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {"code": done.returncode}
    if done.returncode or result.get("code"):
        raise SystemExit(f"failed in {tree}: convcalc {' '.join(args)}\n{done.stderr[-2000:]}")
    return float(result["loop"]), float(result["run"])


def instructions(tree: Path, args: list[str]) -> int:
    """Instructions of `python -m convcalc ARGS` end to end, counted by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["valgrind", "--tool=callgrind",
                               f"--callgrind-out-file={tmp}/callgrind.out", sys.executable,
                               "-m", "convcalc", *args], cwd=tree,
                              env={**os.environ, "PYTHONPATH": str(tree)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
    found = re.search(r"Collected\s*:\s*([\d,]+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"callgrind failed in {tree}: {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def side_by_side(rev: str, networks: dict[str, Path], runs: int, callgrind: bool) -> None:
    """Print the working tree against `rev` on each network (name → spec file)."""
    if callgrind and shutil.which("valgrind") is None:
        raise SystemExit("--callgrind needs valgrind (apt install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        described = export(rev, Path(tmp))
        earlier = Path(tmp) / "tree"
        trees = {"working tree": ROOT, described: earlier}
        for tree in trees.values():
            compileall.compile_dir(tree / "convcalc", quiet=1)
        sides: dict[tuple[str, str], Side] = {}
        for name, spec in networks.items():
            args = ["net", str(spec), "--format", "json"]
            for label in trees:
                sides[name, label] = Side(label, [], [])
            for _ in range(runs):  # A, B, A, B, …: both trees see the same drift
                for label, tree in trees.items():
                    loop, seconds = calibrated(tree, args)
                    sides[name, label].ratios.append(seconds / loop)
                    sides[name, label].loops.append(loop)
        counts = {(name, label): instructions(tree, ["net", str(spec), "--format", "json"])
                  for name, spec in networks.items() for label, tree in trees.items()} \
            if callgrind else {}

    print(f"convcalc side by side: the working tree against {described}; each run a fresh "
          f"process, `convcalc net FILE --format json` (imports included) over the calibration "
          f"loop timed just before it in that process, both in CPU time; {runs} runs each, "
          "alternating; min / median")
    loops = {label: min(t for (_, lab), s in sides.items() if lab == label for t in s.loops)
             for label in trees}
    print("calibration loop (fastest, CPU): " + "; ".join(f"{label} {t * 1000:.0f} ms"
                                                      for label, t in loops.items()))
    rows = [("network", *trees, "working tree / earlier (mins)")]
    for name in networks:
        now, then = (sides[name, label] for label in trees)
        rows.append((name, now.summary(), then.summary(),
                     f"{min(now.ratios) / min(then.ratios):.2f}"))
        if counts:
            a, b = (counts[name, label] for label in trees)
            rows.append((f"{name}, callgrind", f"{a / 1e9:.2f} G instructions",
                         f"{b / 1e9:.2f} G instructions", f"{a / b:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(r, widths, strict=True))))

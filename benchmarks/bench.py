"""convcalc's speed, measured side by side in one run (medians of N runs, wall time per process).

    python benchmarks/bench.py            # 10 runs per row (100k-layer rows and torch: 3)
    python benchmarks/bench.py --runs 20
    python benchmarks/bench.py --against 5f5c18c [--callgrind]   # side by side with a revision

Rows: (1) cold start of a one-layer command against a bare interpreter; (2) ResNet-50 from its
YAML against the same floor; (3) generated 10,000- and 100,000-layer networks, plain sequence
and residual blocks, with time per layer and the 10k→100k scaling factor; (4) where torch is
installed, PyTorch's FlopCounterMode on the same ResNet-50 written in plain torch; (5) where
plotly is installed, the offline HTML report (`--format html`) of the 10,000-layer residual
net; (6) where torch and onnx are (to export the file), `convcalc import` and `convcalc net` of
that ResNet-50 exported to ONNX (98 MB): the time to read the file, the time beyond it, and the
peak memory (convcalc reads ONNX without the onnx package); (7) the larger residual net
as a table against its JSON; (8) the same with `--dtype fp16 --device h100 --conventions`
against without. Also shown for context: the import floor of the fixed stack (typer + a
pydantic model).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import residual_spec, sequence_spec  # noqa: E402

TORCH_RESNET50 = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
import torch
from torch.utils.flop_counter import FlopCounterMode
from torch_nets import resnet50
model = resnet50().eval()
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(torch.zeros(1, 3, 224, 224))
print(sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2)
"""


EXPORT_RESNET50 = f"""
import sys, warnings
sys.path.insert(0, {str(ROOT / "tests")!r})
import torch
from torch_nets import resnet50
warnings.simplefilter("ignore")
torch.onnx.export(resnet50().eval(), (torch.zeros(1, 3, 224, 224),), sys.argv[1], dynamo=False,
                  opset_version=17, do_constant_folding=False)
"""

IMPORT_PHASES = """
import json, resource, sys, time
start = time.perf_counter()
from convcalc.bridges.onnx_import import load_onnx, read_model
from convcalc.bridges.to_spec import build_spec
loaded = time.perf_counter()
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read_model(sys.argv[1])
read = time.perf_counter()
graph = load_onnx(sys.argv[1])
shaped = time.perf_counter()
build_spec(graph)
built = time.perf_counter()
print(json.dumps({"imports": loaded - start, "read": read - loaded,
                  "rest": (shaped - read) - (read - loaded) + (built - shaped),
                  "onnx": "onnx" in sys.modules,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "growth": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - floor) * 1024}))
"""


def import_phases(path: Path, runs: int) -> dict[str, float]:
    """Medians of the ONNX import's phases in fresh processes: reading the file (convcalc's
    wire-format reader over a memory map, the weights untouched) and everything after it (shape
    rules, the spec, convcalc's check of it); and the largest resident set."""
    import json

    results = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", IMPORT_PHASES, str(path)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        results.append(json.loads(done.stdout))
    return {k: statistics.median(float(r[k]) for r in results) for k in results[0]}


def convcalc_command() -> list[str]:
    script = Path(sys.executable).with_name("convcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("convcalc")
    return [found] if found else [sys.executable, "-m", "convcalc"]


def byte_compile() -> None:
    """Write the package's bytecode first. `pip install .` does this at install time; an
    editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module in
    every measured process (about 30 ms each) and measure something no user runs."""
    spec = importlib.util.find_spec("convcalc")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def once(args: list[str]) -> float:
    """Wall time of one fresh process, in seconds; the command must succeed."""
    start = time.perf_counter()
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
                          cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr.decode()[-2000:]}")
    return seconds


def interleaved(jobs: dict[str, tuple[list[str], int]]) -> dict[str, float]:
    """Median wall time per job ({key: (command, runs)}), the runs taken round-robin: on a
    shared machine whose speed drifts, every row then sees the same drift, and the ratios
    between rows stay fair."""
    times: dict[str, list[float]] = {key: [] for key in jobs}
    for i in range(max(runs for _, runs in jobs.values())):
        for key, (args, runs) in jobs.items():
            if i < runs:
                times[key].append(once(args))
    return {key: statistics.median(t) for key, t in times.items()}


def has_onnx() -> bool:
    return subprocess.run([sys.executable, "-c", "import onnx"], capture_output=True,
                          check=False).returncode == 0


def has_torch() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True,
                          check=False).returncode == 0


def has_plotly() -> bool:
    return importlib.util.find_spec("plotly") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per row (≥ 10 for the "
                                                              "record; 100k rows use max(3, N/4))")
    parser.add_argument("--sizes", default="10000,100000",
                        help="the two generated network sizes (a smoke test uses small ones)")
    parser.add_argument("--no-torch", action="store_true", help="skip row (4)")
    parser.add_argument("--against", metavar="REV",
                        help="instead of the rows: the smaller generated networks on the working "
                             "tree and on git revision REV side by side, each run over a "
                             "calibration loop timed in the same process (see side_by_side.py)")
    parser.add_argument("--callgrind", action="store_true",
                        help="with --against: also count each side's instructions (valgrind)")
    args = parser.parse_args()
    runs = args.runs
    smaller, larger = sorted(int(n) for n in args.sizes.split(","))
    if args.against is not None:
        from side_by_side import side_by_side

        with tempfile.TemporaryDirectory() as tmp:
            networks = {}
            for label, make in (("sequence", sequence_spec), ("residual", residual_spec)):
                path = Path(tmp) / f"{label}{smaller}.yaml"
                path.write_text(make(smaller))
                networks[f"{smaller:,} layers, {label}"] = path
            side_by_side(args.against, networks, runs, args.callgrind)
        return
    if args.callgrind:
        parser.error("--callgrind goes with --against REV")
    byte_compile()
    cc = convcalc_command()

    small = max(3, runs // 4)
    jobs: dict[str, tuple[list[str], int]] = {
        "floor": ([sys.executable, "-c", "pass"], runs),
        "stack": ([sys.executable, "-c", "import typer\nfrom pydantic import BaseModel\n"
                   "class A(BaseModel):\n    x: int\nA(x=1)"], runs),
        "layer": ([*cc, "layer", "conv", "--input", "12x12x3", "--kernel", "5", "--out", "256",
                   "--format", "json"], runs),
        "resnet": ([*cc, "net", "examples/resnet50.yaml", "--format", "json"], runs),
    }
    torch = not args.no_torch and has_torch()
    if torch:
        jobs["torch"] = ([sys.executable, "-c", TORCH_RESNET50], small)
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (("sequence", sequence_spec), ("residual", residual_spec)):
            for n in (smaller, larger):
                path = Path(tmp) / f"{label}{n}.yaml"
                path.write_text(make(n))
                jobs[f"{label}{n}"] = ([*cc, "net", str(path), "--format", "json"],
                                       runs if n == smaller else small)
        html = has_plotly()
        if html:  # (5) the offline HTML report of the smaller residual network
            jobs["html"] = ([*cc, "net", str(Path(tmp) / f"residual{smaller}.yaml"), "--format",
                             "html"], small)
        big = str(Path(tmp) / f"residual{larger}.yaml")
        # (7) the table of the larger network against its JSON; (8) with bytes, time and every
        # peer convention against without
        jobs["table"] = ([*cc, "net", big, "--format", "table"], small)
        jobs["costed"] = ([*cc, "net", big, "--format", "json", "--dtype", "fp16", "--device",
                           "h100", "--conventions"], small)
        onnx_file = Path(tmp) / "resnet50.onnx"
        if torch and has_onnx():
            subprocess.run([sys.executable, "-c", EXPORT_RESNET50, str(onnx_file)], check=True,
                           capture_output=True)
            jobs["import"] = ([*cc, "import", str(onnx_file), "-o", os.devnull], small)
            jobs["onnx_net"] = ([*cc, "net", str(onnx_file), "--format", "json"], small)
        measured = interleaved(jobs)
        phases = import_phases(onnx_file, small) if "import" in jobs else None
        onnx_bytes = onnx_file.stat().st_size if phases else 0

    floor, stack = measured["floor"], measured["stack"]
    layer, resnet = measured["layer"], measured["resnet"]
    rows: list[tuple[str, str, str, str]] = [
        ("python -c pass (floor)", f"{floor * 1000:.0f} ms", "1.00×", ""),
        ("import typer + one pydantic model", f"{stack * 1000:.0f} ms", f"{stack / floor:.2f}×",
         "the fixed stack's own floor"),
        ("(1) convcalc layer conv ... --format json", f"{layer * 1000:.0f} ms",
         f"{layer / floor:.2f}×", "target ≤ 2.0×"),
        ("(2) convcalc net examples/resnet50.yaml", f"{resnet * 1000:.0f} ms",
         f"{resnet / floor:.2f}×", "target ≤ 2.5×"),
    ]
    for label in ("sequence", "residual"):
        for n in (smaller, larger):
            seconds = measured[f"{label}{n}"]
            rows.append((f"(3) {n:,} layers, {label}", f"{seconds:.2f} s",
                         f"{seconds / n * 1e6:.0f} µs/layer",
                         "target ≤ 1 s" if n == 10_000 else "target ≤ 10 s" if n == 100_000
                         else ""))
        factor = measured[f"{label}{larger}"] / measured[f"{label}{smaller}"]
        rows.append((f"(3) {label}: {larger:,} / {smaller:,}", f"{factor:.1f}×", "",
                     f"linear = {larger / smaller:g}×"))
    if torch:
        rows.append(("(4) PyTorch FlopCounterMode, ResNet-50",
                     f"{measured['torch'] * 1000:.0f} ms",
                     f"{measured['torch'] / resnet:.1f}× convcalc", "target ≥ 20×"))
    else:
        rows.append(("(4) PyTorch FlopCounterMode, ResNet-50", "skipped", "",
                     "--no-torch" if args.no_torch else "pip install torch==2.13.0"))

    if html:
        rows.append((f"(5) {smaller:,} layers, residual, --format html",
                     f"{measured['html']:.2f} s", f"{measured['html'] / smaller * 1e6:.0f} µs/layer",
                     "target ≤ 3 s" if smaller == 10_000 else ""))
    else:
        rows.append((f"(5) {smaller:,} layers, residual, --format html", "skipped", "",
                     "pip install 'convcalc[html]'"))

    label = "(6) convcalc import resnet50.onnx"
    if phases is not None:
        beyond = measured["onnx_net"] - floor
        rows += [
            (label, f"{measured['import'] * 1000:.0f} ms", f"{onnx_bytes / 2**20:.0f} MB file",
             "fresh process, -o /dev/null"),
            ("(6) convcalc net resnet50.onnx", f"{measured['onnx_net'] * 1000:.0f} ms",
             f"{beyond * 1000:.0f} ms beyond Python's start", "target < 1 s beyond it"),
            ("(6) import: reading the file", f"{phases['read'] * 1000:.0f} ms", "",
             "onnx imported" if phases["onnx"] else "without importing onnx"),
            ("(6) import: beyond reading it", f"{phases['rest'] * 1000:.0f} ms", "",
             "target well under 1 s"),
            ("(6) import: memory beyond the imports", f"{phases['growth'] / 2**20:.0f} MB",
             f"{phases['growth'] / onnx_bytes:.2f}× the file",
             f"peak {phases['rss'] / 2**20:.0f} MB; the weights are never read"),
        ]
    else:
        rows.append((label, "skipped", "", "needs torch and onnx (to export the file)"))
        rows.append(("(6) convcalc net resnet50.onnx", "skipped", "",
                     "needs torch and onnx (to export the file)"))

    plain = measured[f"residual{larger}"]
    rows += [
        (f"(7) {larger:,} layers, residual, --format table", f"{measured['table']:.2f} s",
         f"{measured['table'] / plain:.2f}× its JSON", "target ≤ 2× (65,000 layers)"),
        (f"(8) {larger:,} layers, --dtype fp16 --device h100 --conventions",
         f"{measured['costed']:.2f} s", f"{measured['costed'] / plain:.2f}× without",
         "target ≤ 2×"),
    ]

    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"convcalc benchmark — {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, median of {runs} runs "
          "(round-robin)")
    for r in rows:
        print("  ".join(cell.ljust(w) if i in (0, 3) else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(r, widths, strict=True))))


if __name__ == "__main__":
    main()

"""Is the roofline bound ever above reality? Measure this CPU's roofs, then time every variant.

    python benchmarks/roofline_cpu.py                 # writes benchmarks/results/roofline_cpu.*
    python benchmarks/roofline_cpu.py --reps 3 --out /tmp/r --configs 0   # a quick look

1. Roofs, measured (torch, the threads torch uses):
   - peak fp32 multiply-add rate: torch.mm of n×n fp32 matrices (n = 1024, 2048, 3072), n³ MACs,
     best of many passes; the peak is the best of the sizes.
   - memory bandwidth: a read (sum), a copy and a triad (a = b + s·c) over 256 MiB arrays (8×
     the 32 MiB L3), bytes = the arrays read and written, best of 2N; the bandwidth is the best
     of the three (the highest roof keeps the bound a lower bound).
   Both are measured before, between and after the configurations (the machine is shared and
   its speed drifts) and the best value seen is kept, rounded *up* to whole MAC/s and bytes/s.
2. For every variant that `convcalc compare` analyses on each configuration below, the layer is
   built in torch from convcalc's spec (its MACs are checked against torch's FlopCounterMode),
   and timed: best of N forward passes under inference_mode, with a 128 MiB buffer rewritten
   before each pass so that inputs and weights come from DRAM, as the bound assumes. The
   passes go round-robin over the variants (pass k of each before pass k + 1 of any), so that
   a drifting, shared machine hits them alike.
3. Each row gets convcalc's MACs and minimal bytes (input + output activations + weights, fp32),
   the roofline bound with the measured roofs, the measured time and measured / bound.

torch and numpy are test-only tools here; convcalc never imports them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import formulas as F  # noqa: E402
from convcalc.compare import compare  # noqa: E402
from convcalc.hardware.roofline import roofline, traffic_bytes  # noqa: E402
from convcalc.report import LayerReport, exact  # noqa: E402
from convcalc.spec import validate_layer  # noqa: E402

# The two seed comparisons, each at batch 1 and at batch 32 (times well above timer noise).
SEEDS: list[tuple[str, dict[str, Any]]] = [
    ("12x12x3", {"out": 256, "kernel": 5, "bias": False}),
    ("56x56x128", {"out": 128, "kernel": 3, "padding": 1, "bias": False}),
]
CONFIGS: list[tuple[str, dict[str, Any], int]] = [
    (shape, options, batch) for shape, options in SEEDS for batch in (1, 32)]
CLI = {  # the command each seed's variants come from
    "12x12x3": "convcalc compare --input 12x12x3 --kernel 5 --out 256 --no-bias",
    "56x56x128": "convcalc compare --input 56x56x128 --kernel 3 --out 128 --padding 1 --no-bias",
}
DTYPE = "fp32"


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _padding(value: Any) -> Any:
    return value if isinstance(value, str) else _pair(value)


def build(spec: dict[str, Any], channels: int) -> Any:
    """The torch module for one compare variant (2-D), from convcalc's validated layer model."""
    import torch

    nn = torch.nn
    m: Any = validate_layer(spec)
    kind = m.kind

    def conv(cin: int, out: int, kernel: Any, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1) -> Any:
        return nn.Conv2d(cin, out, _pair(kernel), stride=_pair(stride), padding=_padding(padding),
                         dilation=_pair(dilation), groups=groups, bias=m.bias)

    if kind in ("conv", "grouped", "dilated"):
        return conv(channels, m.out, m.kernel, m.stride, m.padding, m.dilation, m.groups)
    if kind in ("pointwise", "pointwise_group"):
        return conv(channels, m.out, 1, m.stride, 0, 1, m.groups)
    if kind == "depthwise":
        return conv(channels, channels * m.multiplier, m.kernel, m.stride, m.padding, m.dilation,
                    channels)
    if kind == "dwsep":
        mid = channels * m.multiplier
        return nn.Sequential(conv(channels, mid, m.kernel, m.stride, m.padding, m.dilation,
                                  channels), conv(mid, m.out, 1))
    if kind == "spatial_sep":
        k, s, d = _pair(m.kernel), _pair(m.stride), _pair(m.dilation)
        p = m.padding if isinstance(m.padding, str) else _pair(m.padding)
        mid = m.mid if m.mid is not None else m.out
        return nn.Sequential(
            conv(channels, mid, (k[0], 1), (s[0], 1), p if isinstance(p, str) else (p[0], 0),
                 (d[0], 1)),
            conv(mid, m.out, (1, k[1]), (1, s[1]), p if isinstance(p, str) else (0, p[1]),
                 (1, d[1])))
    if kind == "transposed":
        return nn.ConvTranspose2d(channels, m.out, _pair(m.kernel), stride=_pair(m.stride),
                                  padding=_pair(m.padding),
                                  output_padding=_pair(m.output_padding), groups=m.groups,
                                  bias=m.bias, dilation=_pair(m.dilation))
    if kind == "shuffle_unit":
        g = m.groups
        mid = m.mid if m.mid is not None else max(g, m.out // 4 // g * g)
        k = _pair(m.kernel)
        return nn.Sequential(conv(channels, mid, 1, groups=g), _Shuffle(g),
                             conv(mid, mid, k, m.stride, (k[0] // 2, k[1] // 2), 1, mid),
                             conv(mid, m.out, 1, groups=g))
    if kind == "octave":
        if m.stride != 1:
            raise ValueError("the benchmark builds stride-1 octave layers only")
        return _Octave(channels, m, conv)
    raise ValueError(f"no torch builder for {kind}")


def _module_base() -> Any:
    import torch

    return torch.nn.Module


class _Shuffle(_module_base()):  # type: ignore[misc]
    """ShuffleNet's channel shuffle: (N, g·c, H, W) → transpose the group and channel axes."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class _Octave(_module_base()):  # type: ignore[misc]
    """Octave conv on (high, low) inputs: H→H, H→L (after 2×2 avg pool), L→H (then nearest ×2),
    L→L; the outputs of the paths landing at the same resolution are added."""

    def __init__(self, channels: int, m: Any, conv: Any) -> None:
        import torch

        super().__init__()
        nn = torch.nn
        h_in, l_in = F.octave_split(channels, m.alpha_in)
        h_out, l_out = F.octave_split(m.out, m.alpha_out)
        self.split = (h_in, l_in)
        self.hh = conv(h_in, h_out, m.kernel, 1, m.padding)
        self.hl = conv(h_in, l_out, m.kernel, 1, m.padding) if l_out else None
        self.lh = conv(l_in, h_out, m.kernel, 1, m.padding) if l_in else None
        self.ll = conv(l_in, l_out, m.kernel, 1, m.padding) if l_in and l_out else None
        self.pool = nn.AvgPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: tuple[Any, Any]) -> Any:
        xh, xl = x
        yh = self.hh(xh) + (self.up(self.lh(xl)) if self.lh is not None else 0)
        yl = None
        if self.hl is not None:
            yl = self.hl(self.pool(xh)) + (self.ll(xl) if self.ll is not None else 0)
        return yh, yl


def make_input(report: LayerReport, spec: dict[str, Any], batch: int) -> Any:
    import torch

    c, (h, w) = report.input.channels, report.input.spatial
    if spec["kind"] == "octave":
        m: Any = validate_layer(spec)
        h_in, l_in = F.octave_split(c, m.alpha_in)
        return (torch.randn(batch, h_in, h, w), torch.randn(batch, l_in, h // 2, w // 2))
    return torch.randn(batch, c, h, w)


def torch_macs(module: Any, x: Any) -> int:
    """MACs as PyTorch's FlopCounterMode counts them (FLOPs / 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return int(flops // 2)


class Flusher:
    """Rewrites a buffer 4× the last-level cache so the next pass reads from DRAM."""

    def __init__(self, mib: int = 128) -> None:
        import torch

        self.buf = torch.zeros(mib * 2**20 // 4)

    def __call__(self) -> None:
        self.buf.add_(1.0)


def best_time(fn: Any, reps: int, flush: Flusher | None = None, warmup: int = 2) -> float:
    """The shortest of `reps` timed calls (after `warmup`), each after a cache flush."""
    for _ in range(warmup):
        fn()
    best = math.inf
    for _ in range(reps):
        if flush is not None:
            flush()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


PEAK_SIZES = (1024, 2048, 3072)


def measure_peak(reps: int) -> dict[str, float]:
    """fp32 MAC/s of torch.mm for each n (n³ MACs per product), best of many passes.

    On a shared machine a long product rarely runs alone; many short ones (4× `reps` at
    n = 1024) give the best chance to catch the uncontended rate, which is the roof a layer
    can reach when it happens to run alone.
    """
    import torch

    rates: dict[str, float] = {}
    for n in PEAK_SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        t = best_time(lambda a=a, b=b, c=c: torch.mm(a, b, out=c),
                      reps * max(1, 4 * 1024 // n))
        rates[str(n)] = n**3 / t
    return rates


def measure_bandwidth(reps: int, mib: int = 256) -> dict[str, float]:
    """Bytes/s of a read (sum), a copy and a triad over `mib`-MiB fp32 arrays, best of 2×`reps`."""
    import torch

    n = mib * 2**20 // 4
    a, b, c = torch.rand(n), torch.rand(n), torch.rand(n)
    size = 4 * n
    rates = {
        "read (sum)": size / best_time(a.sum, 2 * reps),
        "copy (b ← a)": 2 * size / best_time(lambda: b.copy_(a), 2 * reps),
        "triad (a ← b + 3·c)": 3 * size / best_time(
            lambda: torch.add(b, c, alpha=3.0, out=a), 2 * reps),
    }
    return rates


def _keep_best(best: dict[str, float], new: dict[str, float]) -> None:
    for key, value in new.items():
        best[key] = max(best.get(key, 0.0), value)


def machine() -> dict[str, Any]:
    import numpy
    import torch

    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) * 1024 for line in
                Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {
        "cpu": model, "arch": platform.machine(), "logical_cpus": os.cpu_count(),
        "memory_bytes": mem, "os": platform.platform(), "python": platform.python_version(),
        "torch": torch.__version__, "numpy": numpy.__version__,
        "torch_threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }


def bound_of(report: LayerReport, batch: int, peak: int, bandwidth: int) -> Any:
    """The roofline of one variant at `batch` (weights read once), fp32."""
    traffic = traffic_bytes(batch * report.input_elements, batch * report.output_elements,
                            report.weight_params + report.bias_params, DTYPE)
    return roofline(batch * report.macs, traffic, peak, bandwidth)


def run(configs: list[tuple[str, dict[str, Any], int]], reps: int) -> dict[str, Any]:
    import torch

    started = datetime.datetime.now(datetime.UTC)
    load = [os.getloadavg()[0]]
    peak_detail = measure_peak(reps)
    bw_detail = measure_bandwidth(reps)
    print(f"roofs before: peak fp32 {2 * max(peak_detail.values()) / 1e9:.1f} GFLOPS, "
          f"bandwidth {max(bw_detail.values()) / 1e9:.2f} GB/s, "
          f"threads {torch.get_num_threads()}", flush=True)
    flush = Flusher()
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for index, (shape, options, batch) in enumerate(configs):
        if index:  # the roofs again between configurations: the best seen is the roof
            _keep_best(peak_detail, measure_peak(reps))
            _keep_best(bw_detail, measure_bandwidth(reps))
        comparison = compare(shape, options)
        timed: list[tuple[dict[str, Any], Any, Any]] = []
        for result in comparison.results:
            if result.report is None:
                if batch == 1:
                    skipped.append({"input": shape, "variant": result.variant,
                                    "reason": result.error})
                continue
            report = result.report
            module = build(result.spec, report.input.channels).eval()
            x = make_input(report, result.spec, batch)
            counted = torch_macs(module, x)
            if counted != batch * report.macs:
                raise SystemExit(f"{shape} {result.variant}: torch counts {counted} MACs, "
                                 f"convcalc {batch * report.macs}: the torch build is wrong")
            spec = {k: exact(v) if isinstance(v, Fraction) else v
                    for k, v in result.spec.items()}  # what was timed, as compare built it
            row = {"input": shape, "options": options, "batch": batch,
                   "variant": result.variant, "kind": report.kind, "spec": spec,
                   "report": report, "measured_s": math.inf}
            timed.append((row, module, x))
        # round-robin: pass k of every variant before pass k + 1 of any, so that a drifting,
        # shared machine hits every variant alike; each variant keeps its best pass
        with torch.inference_mode():
            for _, module, x in timed:
                for _ in range(2):  # warm-up
                    module(x)
            for _ in range(reps):
                for row, module, x in timed:
                    flush()
                    t0 = time.perf_counter()
                    module(x)
                    row["measured_s"] = min(row["measured_s"], time.perf_counter() - t0)
        for row, _, _ in timed:
            rows.append(row)
            print(f"{shape} ×{batch:<3} {row['variant']:<16} measured "
                  f"{row['measured_s'] * 1e3:9.3f} ms", flush=True)
        del timed
    # the roofs again after the layers (the machine is shared and drifts): the higher of the
    # two measurements is the roof, which can only lower the bound
    _keep_best(peak_detail, measure_peak(reps))
    _keep_best(bw_detail, measure_bandwidth(reps))
    load.append(os.getloadavg()[0])
    peak = math.ceil(max(peak_detail.values()))
    bandwidth = math.ceil(max(bw_detail.values()))
    print(f"roofs: peak fp32 {2 * peak / 1e9:.1f} GFLOPS ({peak / 1e9:.1f} G MAC/s), "
          f"bandwidth {bandwidth / 1e9:.2f} GB/s", flush=True)
    for row in rows:
        report = row.pop("report")
        r = bound_of(report, row["batch"], peak, bandwidth)
        measured = row.pop("measured_s")
        row.update({
            "macs": r.macs, "input_elements": report.input_elements,
            "output_elements": report.output_elements,
            "weight_elements": report.weight_params + report.bias_params,
            "bytes": r.traffic, "intensity": float(r.intensity or 0), "bound": r.bound,
            "bound_s": exact(r.time_s), "bound_s_float": float(r.time_s),
            "measured_s": measured, "measured_over_bound": measured / float(r.time_s),
        })
    return {
        "date": started.strftime("%Y-%m-%d"), "started_utc": started.isoformat(timespec="seconds"),
        "machine": machine(), "dtype": DTYPE, "reps": reps,
        "load_average_1min": {"start": load[0], "end": load[1]},
        "commands": CLI,
        "method": {
            "peak": "torch.mm of n×n fp32 matrices (n = 1024, 2048, 3072), n³ MACs, best of "
                    "many passes; best over n and over runs before, between and after the "
                    "configurations",
            "bandwidth": "read (sum), copy, triad over 256 MiB fp32 arrays, best of 2·reps; "
                         "best of the three and of the runs before, between and after",
            "layers": "torch forward under inference_mode, best of reps taken round-robin over "
                      "the variants, a 128 MiB buffer rewritten before each pass; MACs checked "
                      "against FlopCounterMode",
            "bytes": "(batch·(input + output elements) + weight elements) × 4",
        },
        "peak_macs_per_s": peak, "peak_detail_macs_per_s": peak_detail,
        "bandwidth_bytes_per_s": bandwidth, "bandwidth_detail_bytes_per_s": bw_detail,
        "rows": rows, "not_applicable": skipped,
    }


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}"


def _seconds(value: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    peak, bw = data["peak_macs_per_s"], data["bandwidth_bytes_per_s"]
    ridge = Fraction(peak, bw)
    lines = [
        "# Roofline bound vs measured time on this CPU",
        "",
        f"Written by `python benchmarks/roofline_cpu.py` on {data['date']}: {m['cpu']} "
        f"({m['arch']}, {m['logical_cpus']} logical CPUs, {m['memory_bytes'] / 2**30:.0f} GiB), "
        f"Python {m['python']}, torch {m['torch']} ({m['torch_threads']} threads), fp32, best "
        f"of {data['reps']} passes, caches flushed before each. 1-minute load average "
        f"{data['load_average_1min']['start']:.2f} at the start, "
        f"{data['load_average_1min']['end']:.2f} at the end (a shared machine).",
        "",
        f"- peak fp32 (torch.mm): **{2 * peak / 1e9:.1f} GFLOPS** = {peak / 1e9:.1f} G MAC/s "
        "(" + ", ".join(f"n={n}: {v / 1e9:.1f}" for n, v in
                        data["peak_detail_macs_per_s"].items()) + " G MAC/s)",
        f"- memory bandwidth: **{bw / 1e9:.2f} GB/s** ("
        + ", ".join(f"{k}: {v / 1e9:.2f}" for k, v in
                    data["bandwidth_detail_bytes_per_s"].items()) + " GB/s)",
        f"- ridge point: {float(ridge):.2f} MAC/byte",
        "",
        "bound = max(MACs / peak, bytes / bandwidth); bytes = (batch·(input + output) + "
        f"weights) × 4. Smallest measured / bound over the {len(data['rows'])} rows: "
        f"{min(r['measured_over_bound'] for r in data['rows']):.2f}.",
    ]
    for shape in dict.fromkeys(r["input"] for r in data["rows"]):
        for batch in dict.fromkeys(r["batch"] for r in data["rows"] if r["input"] == shape):
            lines += ["", f"## `{data['commands'][shape]}`, batch {batch}", "",
                      "| variant | MACs | bytes | MAC/byte | bound | bound time | measured "
                      "| measured / bound |",
                      "|---|---:|---:|---:|---|---:|---:|---:|"]
            for r in data["rows"]:
                if r["input"] == shape and r["batch"] == batch:
                    lines.append(
                        f"| {r['variant']} | {r['macs']:,} | {r['bytes']:,} | "
                        f"{r['intensity']:.2f} | {r['bound']} | {_seconds(r['bound_s_float'])} "
                        f"| {_seconds(r['measured_s'])} | {r['measured_over_bound']:.1f}× |")
    if data["not_applicable"]:
        lines += ["", "Not applicable (convcalc refuses them, so there is nothing to time):", ""]
        lines += [f"- {n['input']} {n['variant']}: {n['reason']}" for n in data["not_applicable"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed passes per row (best of)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--configs", default=None,
                        help="comma-separated indices into the configurations (default all)")
    args = parser.parse_args()
    chosen = CONFIGS if args.configs is None else [
        CONFIGS[int(i)] for i in args.configs.split(",")]
    data = run(chosen, args.reps)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "roofline_cpu.json").write_text(json.dumps(data, indent=1) + "\n")
    (args.out / "roofline_cpu.md").write_text(markdown(data))
    worst = min(r["measured_over_bound"] for r in data["rows"])
    print(f"{len(data['rows'])} rows; smallest measured / bound: {worst:.2f}"
          f"{'' if worst >= 1 else '  <-- the bound is above a measured time'}")


if __name__ == "__main__":
    main()

"""Hardware presets, the roofline bound, custom devices, and the bound against measured times."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.compare import compare
from convcalc.errors import SpecError
from convcalc.hardware import (
    DTYPE_BYTES,
    DTYPES,
    PRESETS,
    Device,
    custom_device,
    dtype_bytes,
    get_device,
    layer_roofline,
    network_roofline,
    resolve_device,
    roofline,
    traffic_bytes,
)
from convcalc.report import exact
from convcalc.spec import validate_layer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "roofline_cpu.json"
DOC = ROOT / "docs" / "hardware.md"


# --- presets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("device", list(PRESETS.values()), ids=list(PRESETS))
def test_preset_is_complete_and_consistent(device: Device) -> None:
    assert PRESETS[device.key] is device and device.name
    assert "fp32" in device.dtypes
    assert len(set(device.dtypes)) == len(device.dtypes) and set(device.dtypes) <= set(DTYPES)
    assert isinstance(device.bandwidth, Fraction) and device.bandwidth > 0
    assert "http" in device.source
    for peak in device.peaks:
        assert isinstance(peak.macs_per_s, Fraction) and peak.macs_per_s > 0
        assert peak.flops == 2 * peak.macs_per_s and peak.unit
        if peak.sparse_macs_per_s is not None:
            assert isinstance(peak.sparse_macs_per_s, Fraction)
            assert peak.macs_per_s <= peak.sparse_macs_per_s


def test_the_preset_keys() -> None:
    assert list(PRESETS) == ["h100-sxm", "a100-80gb", "l4", "rtx-4090", "jetson-orin-nano",
                             "apple-m2", "rpi5-cpu", "snapdragon-8g3-cpu", "h200-sxm", "v100-sxm2",
                             "t4"]


@pytest.mark.parametrize(("key", "dtype", "tflops"), [
    # the datasheets' figures: dense = half the "* with sparsity" number
    ("h100-sxm", "fp32", "67"), ("h100-sxm", "fp16", "989.5"), ("h100-sxm", "int8", "1979"),
    ("a100-80gb", "fp32", "19.5"), ("a100-80gb", "bf16", "312"), ("a100-80gb", "int8", "624"),
    ("l4", "fp32", "30.3"), ("l4", "fp16", "121"), ("l4", "int8", "242.5"),
    ("rtx-4090", "fp32", "82.6"), ("rtx-4090", "bf16", "165.2"),
    # derivations: cores × clock × 2 FLOPs per FMA × lanes
    ("jetson-orin-nano", "fp32", "1.28"), ("apple-m2", "fp32", "3.57888"),
    ("rpi5-cpu", "fp32", "0.1536"), ("snapdragon-8g3-cpu", "fp32", "0.4352"),
])
def test_quoted_peaks(key: str, dtype: str, tflops: str) -> None:
    assert get_device(key).peak(dtype).flops == Fraction(tflops) * 10**12


def test_nvidia_dense_is_half_the_sparse_figure() -> None:
    for key in ("h100-sxm", "a100-80gb", "l4", "rtx-4090"):
        for peak in get_device(key).peaks:
            if peak.sparse_macs_per_s is not None:
                assert 2 * peak.macs_per_s == peak.sparse_macs_per_s, (key, peak.dtype)


def test_lookup_forgives_case_and_underscores_and_suggests() -> None:
    assert get_device(" A100_80GB ") is PRESETS["a100-80gb"]
    assert get_device("h100") is PRESETS["h100-sxm"] and get_device("Jetson") is \
        PRESETS["jetson-orin-nano"]
    with pytest.raises(SpecError, match="unknown device 'r'"):
        get_device("r")  # rtx-4090 or rpi5-cpu: not one
    with pytest.raises(SpecError, match="did you mean 'rtx-4090'") as e:
        get_device("rtx4090")
    assert "\n" not in str(e.value) and "one of: h100-sxm" in str(e.value)
    with pytest.raises(SpecError, match=r"Adreno 750 GPU is not a preset.*--peak-tflops"):
        get_device("snapdragon-8g3-gpu")  # not steered to the CPU preset by did-you-mean
    with pytest.raises(SpecError, match="apple-m2 has no int8 peak; it has: fp32, fp16"):
        get_device("apple-m2").peak("int8")
    with pytest.raises(SpecError, match="did you mean 'fp16'"):
        get_device("l4").peak("fp61")


# --- dtypes and traffic ----------------------------------------------------------------------

def test_dtype_sizes() -> None:
    assert DTYPE_BYTES == {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
    assert [dtype_bytes(d) for d in DTYPES] == [4, 2, 2, 1]
    with pytest.raises(SpecError, match="did you mean 'bf16'"):
        dtype_bytes("bf61")


def test_worked_example_conv_on_a100() -> None:
    """The documents' 12×12×3 → 5×5×256 conv, fp32 on A100: 1,228,800 MACs, 36,016 elements."""
    report = convcalc.analyze_layer({"kind": "conv", "out": 256, "kernel": 5, "bias": False},
                                    "12x12x3")
    r = layer_roofline(report, get_device("a100-80gb"), "fp32")
    assert (r.macs, r.traffic) == (1_228_800, 4 * (432 + 16_384 + 19_200))
    assert r.compute_s == Fraction(1_228_800, 9_750_000_000_000)      # 19.5 TFLOPS / 2
    assert r.memory_s == Fraction(144_064, 2_039_000_000_000)
    assert r.bound == "compute" and r.time_s == r.compute_s
    assert r.intensity == Fraction(1_228_800, 144_064)
    assert r.to_dict()["time_s"] == "16/126953125"          # 126 ns, exact
    batched = layer_roofline(report, get_device("a100-80gb"), "fp32", batch=8)
    assert (batched.macs, batched.traffic) == (8 * 1_228_800, 4 * (8 * (432 + 16_384) + 19_200))


# --- roofline properties ---------------------------------------------------------------------

counts = st.integers(0, 10**15)
rates = st.builds(Fraction, st.integers(1, 10**16), st.integers(1, 1000))


@settings(max_examples=300, deadline=None)
@given(macs=counts, traffic=counts, peak=rates, bw=rates)
def test_bound_is_the_higher_roof(macs: int, traffic: int, peak: Fraction, bw: Fraction) -> None:
    r = roofline(macs, traffic, peak, bw)
    assert r.time_s >= r.compute_s == Fraction(2 * macs) / (2 * peak)
    assert r.time_s >= r.memory_s == Fraction(traffic) / bw
    assert r.time_s in (r.compute_s, r.memory_s) and isinstance(r.time_s, Fraction)
    if traffic:
        assert (r.bound == "memory") == (r.intensity is not None and r.intensity < r.ridge)


@settings(max_examples=300, deadline=None)
@given(macs=counts, traffic=counts, more_macs=counts, more_bytes=counts, peak=rates, bw=rates)
def test_bound_is_monotone(macs: int, traffic: int, more_macs: int, more_bytes: int,
                           peak: Fraction, bw: Fraction) -> None:
    base = roofline(macs, traffic, peak, bw).time_s
    assert roofline(macs + more_macs, traffic, peak, bw).time_s >= base
    assert roofline(macs, traffic + more_bytes, peak, bw).time_s >= base
    assert roofline(macs, traffic, peak + 1, bw).time_s <= base        # a faster chip never slower
    assert roofline(macs, traffic, peak, bw + 1).time_s <= base


def test_roofline_refuses_impossible_numbers() -> None:
    for args in ((-1, 0, 1, 1), (0, -1, 1, 1), (1, 1, 0, 1), (1, 1, 1, 0)):
        with pytest.raises(ValueError):
            roofline(*args)


@settings(max_examples=100, deadline=None)
@given(c=st.integers(1, 64), out=st.integers(1, 64), hw=st.integers(3, 40),
       k=st.sampled_from([1, 3, 5]), dtype=st.sampled_from(["fp32", "fp16", "int8"]),
       device=st.sampled_from(["a100-80gb", "rpi5-cpu", "jetson-orin-nano"]))
def test_fused_composite_bound_is_at_most_its_parts(c: int, out: int, hw: int, k: int,
                                                    dtype: str, device: str) -> None:
    """dwsep counted as one fused kernel never exceeds depthwise + pointwise run apart."""
    report = convcalc.analyze_layer({"kind": "dwsep", "out": out, "kernel": k, "padding": k // 2},
                                    {"channels": c, "spatial": [hw, hw]})
    dev = get_device(device)
    fused = layer_roofline(report, dev, dtype)
    apart = network_roofline(report.parts, dev, dtype)
    assert fused.macs == apart.macs and fused.traffic < apart.traffic
    assert fused.time_s <= apart.time_s


def test_network_total_is_the_sum_of_its_layers() -> None:
    net = convcalc.analyze_network(ROOT / "examples" / "mobilenet_v2.yaml")
    dev = get_device("l4")
    total = network_roofline(net, dev, "fp16")
    assert len(total.layers) == len(net.rows) and total.macs == net.totals()["macs"]
    assert total.time_s == sum((layer_roofline(r.report, dev, "fp16").time_s for r in net.rows),
                               Fraction(0))
    split = total.time_by_bound()
    assert split["compute"] + split["memory"] == total.time_s
    # a sum of maxima is at least the max of the sums: never below either whole-network roof
    peak = dev.peak("fp16").macs_per_s
    assert total.time_s >= max(Fraction(total.macs) / peak, total.traffic / dev.bandwidth)
    assert total.to_dict()["time_s"] == exact(total.time_s)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_every_depth_row_carries_its_bytes_and_bound(depth: int) -> None:
    """The --depth subtotal rows (depth 0: the network as one row) sum their rows' activation
    bytes and bounds, as the total does (depth 0 once showed them blank)."""
    from convcalc.hardware.costing import network_costing
    from convcalc.render.rows import collapse, net_rows

    net = convcalc.analyze_network(ROOT / "examples" / "mobilenet_v2.yaml")
    cost = network_costing(net, "fp16", get_device("l4"))
    assert cost is not None
    rows = net_rows(net)
    for i, row in enumerate(rows):
        row.update(cost.row(i, net.rows[i].report))
    folded = collapse(rows, depth, net)
    assert sum(r["activation_bytes"] for r in folded) == sum(r["activation_bytes"] for r in rows)
    assert sum(Fraction(r["roofline"]["time_s"]) for r in folded) == \
        Fraction(cost.totals(0)["roofline_time_s"])


# --- custom devices --------------------------------------------------------------------------

def test_custom_device_from_one_number() -> None:
    dev = custom_device("312", "2039")
    assert dev.dtypes == DTYPES
    assert all(p.macs_per_s == 156 * 10**12 for p in dev.peaks)
    assert dev.bandwidth == 2_039_000_000_000 and dev.bandwidth.denominator == 1


def test_custom_device_per_dtype_is_exact() -> None:
    dev = custom_device(" fp32=19.5, int8=0.1 ,fp16=1/3 ", "0.3")
    assert dev.dtypes == ("fp32", "fp16", "int8")
    assert dev.peak("fp32").macs_per_s == 9_750_000_000_000
    assert dev.peak("int8").macs_per_s == 50_000_000_000
    assert dev.peak("fp16").macs_per_s == Fraction(10**12, 6)       # no float would give this
    assert dev.bandwidth == 300_000_000
    assert resolve_device(peak_tflops="10", bandwidth="100").peak("bf16").flops == 10**13
    assert resolve_device("h100-sxm") is PRESETS["h100-sxm"]


@pytest.mark.parametrize(("peak", "bandwidth", "message"), [
    ("", "100", "--peak-tflops: give a number of TFLOPS"),
    ("abc", "100", "--peak-tflops: cannot read 'abc'"),
    ("nan", "100", "--peak-tflops: cannot read 'nan'"),
    ("inf", "100", "--peak-tflops: cannot read 'inf'"),
    ("1/0", "100", "--peak-tflops: cannot read '1/0'"),
    ("0", "100", "--peak-tflops: a number of TFLOPS must be > 0, got 0"),
    ("-5", "100", "must be > 0, got -5"),
    ("fp33=1", "100", "unknown dtype 'fp33' — did you mean 'fp32'?"),
    ("fp32=1,fp32=2", "100", "fp32 is given twice"),
    ("fp32=1,16", "100", "write dtype=TFLOPS for every item"),
    ("fp32=", "100", "--peak-tflops fp32: cannot read ''"),
    ("100", "fast", "--bandwidth: cannot read 'fast' as a bandwidth in GB/s"),
    ("100", "-1", "--bandwidth: a bandwidth in GB/s must be > 0, got -1"),
])
def test_custom_device_bad_input_is_one_line(peak: str, bandwidth: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        custom_device(peak, bandwidth)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"device": "l4", "bandwidth": "10"}, "--device: give a preset or --bandwidth, not both"),
    ({"peak_tflops": "10"}, "--peak-tflops: a custom device needs --bandwidth too"),
    ({"bandwidth": "10"}, "--bandwidth: a custom device needs --peak-tflops too"),
    ({}, "--device: name a preset (h100-sxm"),
])
def test_resolve_device_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as e:
        resolve_device(**kwargs)
    assert message in str(e.value) and "\n" not in str(e.value)


# --- the bound against this machine's measured times ------------------------------------------

def _results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RESULTS.read_text())
    return data


def test_committed_results_say_when_and_where() -> None:
    data = _results()
    assert data["date"] and data["machine"]["cpu"] and data["machine"]["torch"]
    assert data["peak_macs_per_s"] > 0 and data["bandwidth_bytes_per_s"] > 0
    assert data["date"] in (RESULTS.with_suffix(".md")).read_text()


def test_every_measured_row_is_above_its_bound() -> None:
    """Recompute each row from convcalc and the recorded roofs: bound ≤ measured, exactly."""
    data = _results()
    peak, bandwidth = data["peak_macs_per_s"], data["bandwidth_bytes_per_s"]
    seen: dict[tuple[str, int], set[str]] = {}
    for row in data["rows"]:
        report = convcalc.analyze_layer(row["spec"], row["input"])  # the layer as timed
        batch = row["batch"]
        weights = report.weight_params + report.bias_params
        traffic = traffic_bytes(batch * report.input_elements, batch * report.output_elements,
                                weights, data["dtype"])
        bound = roofline(batch * report.macs, traffic, peak, bandwidth)
        assert (row["macs"], row["bytes"], row["bound"]) == (bound.macs, traffic, bound.bound)
        assert row["bound_s"] == exact(bound.time_s)
        assert bound.time_s <= Fraction(row["measured_s"]), row
        seen.setdefault((row["input"], batch), set()).add(row["variant"])
    assert {shape for shape, _ in seen} == {"12x12x3", "56x56x128"}
    assert {batch for _, batch in seen} == {1, 32}


def test_the_timed_layers_are_compare_s_variants() -> None:
    """Every variant `convcalc compare` analyses on each configuration was timed, as compare
    builds it now; when compare's choices change, the results must be measured again (on a
    quiet machine: python benchmarks/roofline_cpu.py)."""
    data = _results()
    stale: list[str] = []
    for shape, batch in {(r["input"], r["batch"]) for r in data["rows"]}:
        rows = {r["variant"]: r for r in data["rows"] if (r["input"], r["batch"]) == (shape, batch)}
        options = next(iter(rows.values()))["options"]
        now = {r.variant: r.spec for r in compare(shape, options).results if r.report}
        for variant in sorted(set(now) | set(rows)):
            was = rows[variant]["spec"] if variant in rows else None
            if was is None or variant not in now or validate_layer(was) != validate_layer(
                    now[variant]):
                stale.append(f"{shape} ×{batch} {variant}")
    if stale:
        pytest.skip("benchmarks/results/roofline_cpu.json predates compare's current variants "
                    f"({', '.join(stale)}): re-run benchmarks/roofline_cpu.py on a quiet machine")


def test_benchmark_builds_each_variant_with_convcalcs_macs() -> None:
    """Live: the benchmark's torch layers have exactly convcalc's MACs (FlopCounterMode, on
    the meta device: shapes only, no arithmetic)."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import roofline_cpu as bench

    for shape, options in bench.SEEDS:
        for result in compare(shape, options).results:
            if result.report is not None:
                with torch.device("meta"):
                    module = bench.build(result.spec, result.report.input.channels).eval()
                    x = bench.make_input(result.report, result.spec, 3)
                assert bench.torch_macs(module, x) == 3 * result.report.macs, result.variant


# --- the README section ----------------------------------------------------------------------

def _tf(value: Fraction) -> str:
    return f"{float(value / 10**12):.4g}"


def preset_rows() -> list[str]:
    """The preset table of docs/hardware.md, row by row, from the data."""
    rows = []
    for d in PRESETS.values():
        cells = [f"{_tf(d.peak(t).flops)} ({float(d.ridge(t)):.3g})" if t in d.dtypes else "—"
                 for t in DTYPES]
        rows.append(f"| `{d.key}` | {d.name} | " + " | ".join(cells)
                    + f" | {float(d.bandwidth / 10**9):.4g} |")
    return rows


def contrast_rows() -> list[str]:
    """conv vs dwsep in fp16 on A100 and L4 for the two seed comparisons."""
    rows = []
    for key, shape, options in (
            ("a100-80gb", "12x12x3", {"out": 256, "kernel": 5, "bias": False}),
            ("a100-80gb", "56x56x128", {"out": 128, "kernel": 3, "padding": 1, "bias": False}),
            ("l4", "56x56x128", {"out": 128, "kernel": 3, "padding": 1, "bias": False})):
        dev = get_device(key)
        by_name = {r.variant: r.report for r in compare(shape, options).results}
        conv, dwsep = by_name["conv"], by_name["dwsep"]
        assert conv is not None and dwsep is not None
        a, b = layer_roofline(conv, dev, "fp16"), layer_roofline(dwsep, dev, "fp16")
        rows.append(
            f"| `{key}` | {shape} | {conv.macs:,} / {dwsep.macs:,} | "
            f"{a.traffic:,} / {b.traffic:,} | "
            f"{a.bound} / {b.bound} | {float(a.time_s) * 1e6:.3g} µs / "
            f"{float(b.time_s) * 1e6:.3g} µs | {float(Fraction(dwsep.macs, conv.macs)):.2%} | "
            f"{float(b.time_s / a.time_s):.2%} |")
    return rows


def test_doc_tables_match_the_data() -> None:
    text = DOC.read_text()
    for line in preset_rows() + contrast_rows():
        assert line in text, line
    measured = (ROOT / "benchmarks" / "results" / "roofline_cpu.md").read_text()
    doc_rows = [line for line in text.splitlines()
                if (line.startswith("| ") and line.endswith("× |"))
                or line.startswith(("- peak fp32", "- memory bandwidth", "- ridge point"))]
    assert len(doc_rows) > 3 and all(line in measured for line in doc_rows)
    worst = min(r["measured_over_bound"] for r in _results()["rows"])
    assert f"the smallest measured / bound is {worst:.2f}" in " ".join(text.split())


def test_doc_python_example_runs_and_says_what_it_returns() -> None:
    text = DOC.read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), scope)
    r, net = scope["r"], scope["net"]
    assert (r.bound, r.intensity, r.time_s) == ("memory", Fraction(784, 349),
                                                Fraction(3141, 3982421875))
    assert net.time_s == Fraction(9393973401, 103542968750000)
    split = net.time_by_bound()
    assert (f"{float(split['compute']) * 1e6:.1f} µs in compute-bound layers, "
            f"{float(split['memory']) * 1e6:.1f} µs in memory-bound") in code


# --- peak activation memory and torchinfo's sizes with --dtype ------------------------------

EXAMPLE_NAMES = sorted(p.stem for p in (ROOT / "convcalc" / "examples").glob("*.yaml"))
LIVENESS = json.loads((ROOT / "tests" / "fixtures" / "liveness.json").read_text())["networks"]
TORCHINFO = json.loads((ROOT / "tests" / "fixtures" / "peers" / "torchinfo_sizes.json")
                       .read_text())


def cli_json(*args: str) -> dict[str, Any]:
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_dtype_adds_the_peak_the_torch_graph_has(name: str) -> None:
    """`--dtype D --batch N` adds `peak_activation_bytes` (the peak of tests/fixtures/
    liveness.json, measured on the torch graph, × bytes × N), `peak_at` (a row path, or a
    level's merge) and each row's `activation_bytes`."""
    ref = LIVENESS[name]
    data = cli_json("net", name, "--dtype", "bf16", "--batch", "3", "--format", "json")
    t = data["totals"]
    assert t["peak_activation_bytes"] == ref["peak"] * 2 * 3
    assert sum(a["bytes"] for a in t["peak_alive"]) == t["peak_activation_bytes"]
    assert sorted((a["bytes"] for a in t["peak_alive"]), reverse=True) == [
        n * 6 for n in ref["alive_at_peak"]]
    paths = {row["path"] for row in data["layers"]}
    assert t["peak_at"] in paths or t["peak_at"].endswith((" (add)", " (concat)", " (mul)",
                                                             " (split)")) or \
        t["peak_at"].split(" after ")[1] in paths
    assert t["param_bytes"] == t["params"] * 2
    assert all(row["activation_bytes"] == 2 * row["memory"]["activation_elements"]
               for row in data["layers"])


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
@pytest.mark.parametrize("case", ["fp32x1", "bf16x3"])
def test_torchinfo_sizes_equal_torchinfo(name: str, case: str) -> None:
    """`"torchinfo"` in the totals is what torchinfo 1.8.0 computes for the export
    (scripts/make_torchinfo_sizes.py), to the byte, and prints as it prints it."""
    dtype, batch = case.split("x")
    want = TORCHINFO["networks"][name][case]
    got = cli_json("net", name, "--dtype", dtype, "--batch", batch, "--format",
                   "json")["totals"]["torchinfo"]
    assert {k: got[k] for k in ("input_bytes", "forward_backward_bytes", "param_bytes")} == {
        k: want[k] for k in ("input_bytes", "forward_backward_bytes", "param_bytes")}
    assert got["total_bytes"] == got["input_bytes"] + got["forward_backward_bytes"] + \
        got["param_bytes"]
    from convcalc.conventions.torchinfo import Sizes

    sizes = Sizes(got["input_bytes"], got["forward_backward_bytes"], got["param_bytes"])
    assert sizes.lines() == want["printed"]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_large", "shufflenet_v1_g3",
                                  "swin_v2_t"])  # its qkv module never runs, its bias MLP once
def test_torchinfo_sizes_live(name: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("torchinfo")
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_torchinfo_sizes import measure

    got = cli_json("net", name, "--dtype", "fp32", "--format", "json")["totals"]["torchinfo"]
    want = measure(name, "fp32", 1)
    assert [got[k] for k in ("input_bytes", "forward_backward_bytes", "param_bytes")] == [
        want[k] for k in ("input_bytes", "forward_backward_bytes", "param_bytes")]


def test_layer_dtype_peak_is_input_and_output_together() -> None:
    data = cli_json("layer", "conv", "-i", "56x56x64", "--out", "128", "--kernel", "3",
                    "--padding", "1", "--batch", "2", "--dtype", "fp16", "--format", "json")
    assert data["peak_activation_bytes"] == (56 * 56 * 64 + 56 * 56 * 128) * 2 * 2
    assert data["param_bytes"] == data["params"] * 2
    assert data["torchinfo"]["param_bytes"] == data["params"] * 2


def test_conventions_dtype_and_device_combine() -> None:
    """--conventions, --dtype and --device together: every addition is in the JSON (none of
    them drops another), for net and for layer."""
    data = cli_json("net", "resnet18", "--conventions", "--convention", "thop", "--dtype",
                    "fp16", "--device", "h100", "--format", "json")
    t = data["totals"]
    assert {"conventions", "layers"} <= set(data)
    assert {"convention", "other_ops", "param_bytes", "peak_activation_bytes", "peak_at",
            "torchinfo", "roofline_time_s"} <= set(t)
    assert all({"convention", "other_ops", "activation_bytes", "roofline"} <= set(row)
               for row in data["layers"])
    layer = cli_json("layer", "dwsep", "-i", "56x56x64", "--out", "128", "--kernel", "3",
                     "--conventions",
                     "--dtype", "fp16", "--device", "h100", "--format", "json")
    assert {"conventions", "other_ops", "roofline", "peak_activation_bytes",
            "torchinfo"} <= set(layer)


def test_columns_that_need_bytes_or_a_device() -> None:
    from typer.testing import CliRunner

    from convcalc.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["net", "resnet18", "--depth", "1", "--columns",
                                "path,macs,other_ops,activation_bytes"],
                          env={"CONVCALC_WIDTH": "120"})
    assert shown.exit_code == 0, shown.output
    header = next(line for line in shown.stdout.splitlines() if "MACs" in line)
    assert "other ops" in header and "act. bytes" in header
    assert "peak activation memory (fp32)" in shown.stdout
    refused = runner.invoke(app, ["net", "resnet18", "--columns", "path,time"])
    assert refused.exit_code == 2
    assert "time needs a device" in refused.stderr and refused.stderr.count("\n") == 1


def test_by_kind_with_a_device_splits_the_bound_by_kind() -> None:
    """`net --by kind --device`: each kind's bytes and bound; without composite layers the kinds
    add up to the network's bound, with them to at least it (their parts unfused)."""
    from convcalc.diff import by_kind
    from convcalc.hardware.costing import network_costing

    for spec, composite in ((ROOT / "examples" / "mobilenet_v2.yaml", False),
                            ({"name": "s", "input": "32x32x16",
                              "layers": [{"dwsep": {"out": 32, "kernel": 3}}, "relu",
                                         {"dwsep": {"out": 64, "kernel": 3, "stride": 2}}]},
                             True)):
        net = convcalc.analyze_network(spec)
        cost = network_costing(net, "fp16", get_device("l4"))
        assert cost is not None
        groups = by_kind(net, cost)
        network = Fraction(cost.totals(0)["roofline_time_s"])
        kinds = sum(Fraction(g["roofline"]["time_s"]) for g in groups)
        assert kinds > network if composite else kinds == network
        assert sum(g["activation_bytes"] for g in groups) == 2 * sum(
            leaf.activation_elements for row in net.rows for leaf in row.report.leaves())

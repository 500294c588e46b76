"""`convcalc solve`: every listed answer holds and none is missed (against the project's forward
analysis and against PyTorch), the issue's questions, budgets, chains, floor loss, the CLI."""

from __future__ import annotations

import json
import random
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import convcalc
from convcalc import formulas as F
from convcalc import solve as S
from convcalc.cli import app
from convcalc.errors import ConvcalcError, ShapeError

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
KINDS = ["conv", "dilated", "depthwise", "grouped", "transposed", "maxpool", "avgpool"]
FIELDS = {"conv": ("kernel", "stride", "dilation", "padding"),
          "dilated": ("kernel", "stride", "dilation", "padding"),
          "depthwise": ("kernel", "stride", "dilation", "padding"),
          "grouped": ("kernel", "stride", "dilation", "padding"),
          "transposed": ("kernel", "stride", "dilation", "padding", "output_padding"),
          "maxpool": ("kernel", "stride", "dilation", "padding"),
          "avgpool": ("kernel", "stride", "padding")}
POOLS = ("maxpool", "avgpool")


# --- an independent brute force: every spec within the documented bounds, judged by analyze_layer


def axis_space(kind: str, fixed: dict[str, int], bounds: S.Bounds) -> list[dict[str, int]]:
    """Every per-axis value combination the documented bounds allow. Pools and output_padding
    go one step past PyTorch's limits: the layer analysis, not this list, must refuse those."""
    out: list[dict[str, int]] = []
    for k in [fixed["kernel"]] if "kernel" in fixed else range(1, bounds.kernel + 1):
        dilations: Any = [1]
        if "dilation" in FIELDS[kind]:
            # documented: a 1-wide kernel is searched with dilation 1 only (not for dilated)
            dilations = ([fixed["dilation"]] if "dilation" in fixed else
                         [1] if k == 1 and kind != "dilated" else range(1, bounds.dilation + 1))
        for d in dilations:
            for s in [fixed["stride"]] if "stride" in fixed else range(1, bounds.stride + 1):
                top = d * (k - 1) + (1 if kind in POOLS else 0)
                for p in [fixed["padding"]] if "padding" in fixed else range(top + 1):
                    ops = [0]
                    if kind == "transposed":
                        ops = ([fixed["output_padding"]] if "output_padding" in fixed
                               else list(range(max(s, d) + 1)))
                    for op in ops:
                        v = {"kernel": k, "stride": s, "dilation": d, "padding": p,
                             "output_padding": op}
                        out.append({f: v[f] for f in FIELDS[kind]})
    return out


def brute_force(kind: str, shape: str, fixed: dict[str, Any], extra: dict[str, Any],
                bounds: S.Bounds) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """(field values per axis) → output spatial, for every combination analyze_layer accepts."""
    rank = len(convcalc.parse_shape(shape).spatial)
    per_axis = [{f: (v if isinstance(v, int) else v[i]) for f, v in fixed.items()}
                for i in range(rank)]
    spaces = [axis_space(kind, a, bounds) for a in per_axis]
    found: dict[tuple[Any, ...], tuple[int, ...]] = {}
    for combo in product(*spaces):
        spec = {f: S.spec_value([a[f] for a in combo]) for f in FIELDS[kind]}
        try:
            report = convcalc.analyze_layer({"kind": kind, **extra, **spec}, shape)
        except ConvcalcError:
            continue
        found[tuple(tuple(a[f] for f in FIELDS[kind]) for a in combo)] = report.output.spatial
    return found


def key(solution: dict[str, Any], kind: str, rank: int) -> tuple[Any, ...]:
    values = [solution[f] if isinstance(solution[f], list) else [solution[f]] * rank
              for f in FIELDS[kind]]
    return tuple(tuple(v[i] for v in values) for i in range(rank))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], dict[str, Any], S.Bounds, Any]:
    kind = draw(st.sampled_from(KINDS))
    rank = draw(st.sampled_from([1, 1, 2]))
    small = rank == 2
    lengths = [draw(st.integers(1, 12)) for _ in range(rank)]
    bounds = S.Bounds(kernel=draw(st.integers(2, 3 if small else 4)),
                      stride=draw(st.integers(2, 3)),
                      dilation=draw(st.integers(1, 2 if small else 3)))
    channels = draw(st.sampled_from([1, 2, 4]))
    extra: dict[str, Any] = {}
    if kind == "grouped":
        channels = 4
        extra["groups"] = draw(st.sampled_from([2, 4]))
    if kind in ("conv", "dilated", "grouped", "transposed"):
        extra["out"] = draw(st.sampled_from([channels, 4]))
    if kind in POOLS and draw(st.booleans()):
        extra["ceil_mode"] = True
    ranges = {"kernel": (1, 5), "stride": (1, 3), "dilation": (1, 3), "padding": (0, 3),
              "output_padding": (0, 2)}
    fixed: dict[str, Any] = {}
    for f in FIELDS[kind]:
        if draw(st.sampled_from([True, True, False] if small else [True, False, False, False])):
            lo, hi = ranges[f]
            values = [draw(st.integers(lo, hi)) for _ in range(rank)]
            fixed[f] = S.spec_value(values) if draw(st.booleans()) else values
    if kind == "dilated" and "dilation" in fixed and S.spec_value(
            fixed["dilation"] if isinstance(fixed["dilation"], list) else [fixed["dilation"]]) == 1:
        fixed["dilation"] = 2
    # near the input's size (or half, or double it), where completions are likely
    target: Any = "same" if draw(st.integers(0, 5)) == 0 else [
        max(1, draw(st.sampled_from([n, n // 2, 2 * n])) + draw(st.integers(-2, 2)))
        for n in lengths]
    shape = "x".join(str(n) for n in [*lengths, channels])
    return kind, shape, fixed, extra, bounds, target


def search_all(kind: str, fixed: dict[str, Any]) -> dict[str, Any]:
    """`fixed` with every dilation searched where it is open (the default is dilation 1)."""
    if "dilation" in FIELDS[kind] and "dilation" not in fixed:
        return {**fixed, "dilation": "any"}
    return fixed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(case=cases(), data=st.data())
def test_every_completion_is_listed_valid_and_in_order(case: Any, data: st.DataObject) -> None:
    kind, shape, fixed, extra, bounds, target = case
    rank = len(convcalc.parse_shape(shape).spatial)
    per_axis = [{f: (v if isinstance(v, int) else v[i]) for f, v in fixed.items()}
                for i in range(rank)]
    assume(all(len(axis_space(kind, a, bounds)) ** rank <= 4000 for a in per_axis))
    truth = brute_force(kind, shape, fixed, extra, bounds)
    if truth and data.draw(st.booleans()):
        # half the time, a size some layer reaches: sure to have completions
        target = list(data.draw(st.sampled_from(sorted(truth.values()))))
    if target == "same":  # the input's size here; TensorFlow's SAME has its own test
        target = list(convcalc.parse_shape(shape).spatial)
    try:
        # the whole space: every dilation, values that differ per axis
        result = S.solve(kind, shape, target, {**search_all(kind, fixed), **extra},
                         bounds=bounds, limit=10**6, per_axis=True)
    except ShapeError as e:
        # the solver's own verdict, not a listed answer that the layer analysis refused
        assert e.message.startswith(f"no {kind} on "), e.message
        assert truth == {}, "refused as impossible, but some layer is valid"
        event("impossible")
        return
    want = tuple(target)
    exact = {k for k, out in truth.items() if out == want}
    event(f"rank {rank}, {'no' if not exact else 'one' if len(exact) == 1 else 'several'} "
          "completions")
    listed = [key(s.to_dict(), kind, rank) for s in result.solutions]
    assert len(listed) == len(set(listed)) == result.count
    assert set(listed) == exact
    for s in result.solutions:
        assert tuple(s.spatial) == want
    # documented order: same values on every axis first, then by the sum of the values
    symmetric = [len(set(k)) == 1 for k in listed]
    assert symmetric == sorted(symmetric, reverse=True)
    for group in (True, False):
        sums = [sum(map(sum, k)) for k, sym in zip(listed, symmetric, strict=True)
                if sym == group]
        assert sums == sorted(sums)
    if not exact:
        assert result.nearest or kind == "dilated"
        for s in result.nearest:
            assert truth[key(s.to_dict(), kind, rank)] == tuple(s.spatial) != want


@pytest.mark.parametrize("kind", ["avgpool", "maxpool", "conv"])
def test_three_d_against_the_brute_force(kind: str) -> None:
    """3-D, where PyTorch's AvgPool3d also needs input ≥ kernel on every axis."""
    bounds = S.Bounds(kernel=3, stride=2, dilation=1)
    fixed: dict[str, Any] = {"stride": 1} if kind != "conv" else {"stride": 1, "out": 1}
    truth = brute_force(kind, "2x3x4x1", {"stride": 1}, {k: v for k, v in fixed.items()
                                                          if k != "stride"}, bounds)
    for target in sorted(set(truth.values())):
        result = S.solve(kind, "2x3x4x1", list(target), fixed, bounds=bounds, limit=10**6)
        assert {key(s.to_dict(), kind, 3) for s in result.solutions} == {
            k for k, out in truth.items() if out == target}
        assert result.count == len(result.solutions)


def test_limit_lists_the_first_and_counts_them_all() -> None:
    bounds = S.Bounds(kernel=5, stride=3, dilation=2)
    full = S.solve("conv", "12x10x1", [6, 5], {"dilation": "any"}, bounds=bounds, limit=10**6)
    first = S.solve("conv", "12x10x1", [6, 5], {"dilation": "any"}, bounds=bounds, limit=7)
    assert first.count == full.count == len(full.solutions) > 7
    assert [s.values for s in first.solutions] == [s.values for s in full.solutions[:7]]


# --- PyTorch is the reference ----------------------------------------------------------------


def torch_output(kind: str, spec: dict[str, Any], channels: int,
                 spatial: list[int]) -> tuple[int, ...] | None:
    """The output size torch gives, or None where torch refuses (or returns nothing)."""
    import torch
    from torch_ref import build

    base = {"conv": "conv", "dilated": "conv", "grouped": "conv", "depthwise": "conv"}
    spec = dict(spec, kind=base.get(kind, kind))
    if kind == "depthwise":
        spec.update(out=channels, groups=channels)
    try:
        with torch.no_grad():
            y = build(spec, len(spatial), channels)(torch.zeros(1, channels, *spatial))
    except (RuntimeError, ValueError):
        return None
    return tuple(y.shape[2:]) if y.numel() else None


@pytest.mark.torch
def test_listed_solutions_against_torch() -> None:
    pytest.importorskip("torch")
    rng = random.Random(20261122)
    checked = 0
    for _ in range(60):
        kind = rng.choice(KINDS)
        rank = rng.choice([1, 2, 2, 3])
        spatial = [rng.randint(1, 6 if rank == 3 else 16) for _ in range(rank)]
        channels = 4
        fixed: dict[str, Any] = {}
        if kind == "grouped":
            fixed["groups"] = 2
        if kind in ("conv", "dilated", "grouped", "transposed"):
            fixed["out"] = 4
        for f in FIELDS[kind]:
            if rng.random() < 0.4:
                fixed[f] = {"kernel": rng.randint(1, 4), "stride": rng.randint(1, 3),
                            "dilation": rng.randint(2 if kind == "dilated" else 1, 3),
                            "padding": rng.randint(0, 2), "output_padding": rng.randint(0, 1)}[f]
        if kind in POOLS and rng.random() < 0.3:
            fixed["ceil_mode"] = True
        target = [max(1, n + rng.randint(-6, 6)) for n in spatial]
        shape = "x".join(map(str, [*spatial, channels]))
        try:
            result = S.solve(kind, shape, target, fixed, limit=8)
        except ShapeError as e:
            assert e.message.startswith(f"no {kind} on "), e.message
            continue
        for s in [*result.solutions, *result.nearest]:
            spec = {**{k: v for k, v in fixed.items() if k not in FIELDS[kind]}, **s.values}
            spec.setdefault("out", 4)
            assert torch_output(kind, spec, channels, spatial) == tuple(s.spatial), (kind, spec)
            checked += 1
    assert checked > 150


@pytest.mark.torch
def test_nothing_torch_accepts_is_missed() -> None:
    """Rank 1, every candidate in the bounds built in torch: torch's answers are the solver's."""
    pytest.importorskip("torch")
    rng = random.Random(7)
    bounds = S.Bounds(kernel=4, stride=3, dilation=2)
    for _ in range(14):
        kind = rng.choice(KINDS)
        length = rng.randint(1, 12)
        fixed: dict[str, Any] = {"out": 2} if kind in ("conv", "dilated", "transposed") else {}
        if kind == "grouped":
            fixed.update(out=2, groups=2)
        want = rng.randint(1, 14)
        torch_says = set()
        for v in axis_space(kind, {}, bounds):
            if kind == "dilated" and v["dilation"] < 2:
                continue  # the dilated kind is dilation ≥ 2 by definition
            if torch_output(kind, {**fixed, **v}, 2, [length]) == (want,):
                torch_says.add(tuple(v.values()))
        try:
            result = S.solve(kind, f"{length}x2", want, search_all(kind, fixed), bounds=bounds,
                             limit=10**6)
        except ShapeError:
            assert not torch_says
            continue
        assert {tuple(s.values[f] for f in FIELDS[kind]) for s in result.solutions} == torch_says


# --- the questions -------------------------------------------------------------------


def test_padding_that_keeps_28_with_a_5x5_kernel_dilation_2() -> None:
    result = S.solve("conv", "28x28x1", "same", {"kernel": 5, "dilation": 2})
    assert result.count == 1
    (only,) = result.solutions
    assert only.values == {"kernel": 5, "stride": 1, "dilation": 2, "padding": 4}
    assert [S.formula_text(f) for f in only.formulas] == [
        "H_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28", "W_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28"]
    assert only.warnings == ()


def test_output_padding_that_doubles_a_stride_2_transposed_conv() -> None:
    result = S.solve("transposed", "28x28x8", "56", {"kernel": 3, "stride": 2, "padding": 1})
    assert [s.values["output_padding"] for s in result.solutions] == [1]
    assert result.solutions[0].output == convcalc.Shape(8, (56, 56))
    # (28 − 1)·2 − 2·1 + 1·(3 − 1) + op + 1 = 55 + op
    assert S.solve("transposed", "28x8", 55, {"kernel": 3, "stride": 2, "padding": 1,
                                              "dilation": 1}).solutions[0].values[
        "output_padding"] == 0


def test_chains_from_224_to_7() -> None:
    twos = S.chain("conv", 224, 7)
    assert twos.count == 1
    assert twos.solutions[0].values == {"strides": [2, 2, 2, 2, 2]}
    assert twos.solutions[0].sizes == ((224,), (112,), (56,), (28,), (14,), (7,))
    mixed = S.chain("conv", 224, 7, strides=[2, 4])
    # K=3, P=1: stride 4 takes 224 → 56 (⌊223/4⌋ + 1), 112 → 28, 56 → 14, 28 → 7
    assert [s.values["strides"] for s in mixed.solutions] == [
        [2, 4, 4], [4, 2, 4], [4, 4, 2],
        [2, 2, 2, 4], [2, 2, 4, 2], [2, 4, 2, 2], [4, 2, 2, 2],
        [2, 2, 2, 2, 2]]
    assert mixed.count == 8
    assert mixed.solutions[0].sizes == ((224,), (112,), (28,), (7,))
    # 224 → 56 at stride 4 leaves input pixels 222 and 223 unread: 1 + 224 − 55·4 − 3 = 2, and
    # 222 lies in the gap of 4 − 3 that the stride skips anyway: ⌊·⌋ drops 223
    assert mixed.solutions[1].warnings[0].startswith("layer 1: the last input pixel is never")
    assert mixed.solutions[1].layers[0] == {"kind": "conv", "kernel": 3, "dilation": 1,
                                            "padding": 1, "stride": 4}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["conv", "transposed", "maxpool", "avgpool", "dilated"]),
       start=st.integers(1, 40), end=st.integers(1, 40),
       strides=st.sets(st.integers(1, 4), min_size=1, max_size=3),
       layers=st.integers(1, 4), kernel=st.integers(1, 4), padding=st.integers(0, 2))
def test_chains_against_every_stride_sequence(kind: str, start: int, end: int, strides: set[int],
                                              layers: int, kernel: int, padding: int) -> None:
    fixed = {"kernel": kernel, "padding": padding}
    truth: list[list[int]] = []
    for depth in range(1, layers + 1):
        for seq in product(sorted(strides), repeat=depth):
            size = start
            for s in seq:
                spec = {"kind": kind, **fixed, "stride": s, **({} if kind in POOLS else {"out": 1})}
                try:
                    after = convcalc.analyze_layer(spec, f"{size}x1").output.spatial[0]
                except ConvcalcError:
                    break
                if after == size:
                    break  # documented: layers that keep the size are not used
                size = after
            else:
                if size == end:
                    truth.append(list(seq))
    try:
        result = S.chain(kind, start, end, fixed, strides=sorted(strides), max_layers=layers,
                         limit=10**6)
    except ConvcalcError:
        assert not truth
        return
    assert [s.values["strides"] for s in result.solutions] == truth  # shortest, then by strides
    assert result.count == len(truth)


def test_chain_counts_and_nearest() -> None:
    # five stride-2 layers or fewer from 2,4 reach 2-D sizes alike on both axes
    two_d = S.chain("conv", "224x160", "7x5", strides=[2, 4])
    assert two_d.count == 8 and two_d.solutions[0].spatial == (7, 5)
    capped = S.chain("conv", 224, 7, strides=[2, 4], max_layers=4)
    assert capped.count == 7
    none = S.chain("conv", 224, 7, strides=[3])
    # 224 → 75 → 25 → 9 → 3 → 1 at stride 3: 9 is the closest
    assert none.count == 0 and not none.solutions
    assert none.nearest[0].sizes == ((224,), (75,), (25,), (9,))
    up = S.chain("transposed", 7, 224)
    assert up.solutions[0].values == {"strides": [2, 2, 2, 2, 2]}


# --- budget and floor loss, by hand ------------------------------------------------------------


@pytest.mark.parametrize(("kind", "shape", "fixed", "limits", "divisor", "out", "macs", "params"), [
    # 3·3·64·56·56 = 1,806,336 MACs per output channel: 300M / 1,806,336 = 166.08
    ("conv", "56x56x64", {"kernel": 3, "padding": 1}, {"max_macs": "300M"}, 1, 166,
     166 * 1_806_336, 166 * 577),
    ("conv", "56x56x64", {"kernel": 3, "padding": 1}, {"max_macs": "300M"}, 8, 160,
     160 * 1_806_336, 160 * 577),
    # 577 params per output channel (576 weights + bias): 25,000 / 577 = 43.3
    ("conv", "56x56x64", {"kernel": 3, "padding": 1}, {"max_params": "25k"}, 1, 43,
     43 * 1_806_336, 43 * 577),
    # both: the params bound (43) is the tighter
    ("conv", "56x56x64", {"kernel": 3, "padding": 1}, {"max_params": "25k",
                                                        "max_macs": "1.5G"}, 1, 43,
     43 * 1_806_336, 43 * 577),
    # grouped, G = 4: 3·3·16 + 1 = 145 params per channel, 10,000 / 145 = 68.97, multiple of 4
    ("grouped", "56x56x64", {"kernel": 3, "padding": 1, "groups": 4}, {"max_params": 10_000}, 1,
     68, 68 * 144 * 56 * 56, 68 * 145),
    # transposed, input side: 64·4·4·28·28 = 802,816 MACs per channel; 100M / 802,816 = 124.56
    ("transposed", "28x28x64", {"kernel": 4, "stride": 2, "padding": 1, "bias": False},
     {"max_macs": 100_000_000}, 1, 124, 124 * 802_816, 124 * 1024),
])
def test_budget_by_hand(kind: str, shape: str, fixed: dict[str, Any], limits: dict[str, Any],
                        divisor: int, out: int, macs: int, params: int) -> None:
    result = S.budget(kind, shape, fixed, divisor=divisor, **limits)
    (best,) = result.solutions
    assert (best.values["out"], best.macs, best.params) == (out, macs, params)
    step = result.bounds["out_multiple_of"]
    assert result.count == out // step
    (over,) = result.nearest
    assert over.values["out"] == out + step


def test_budget_warns_about_pixels_never_read() -> None:
    # 56 with K = 3, S = 2, P = 0: ⌊53/2⌋ + 1 = 27 windows end at 54, pixel 55 is unread
    result = S.budget("conv", "56x56x64", {"kernel": 3, "stride": 2}, max_macs="300M")
    assert result.solutions[0].warnings == (
        "the last input pixel of H and W is never read (⌊·⌋ drops it)",)
    # 300,000,000 // (3·3·64·27·27 = 419,904) = 714
    assert result.solutions[0].values["out"] == 714


def test_budget_too_small_lists_the_smallest_out() -> None:
    result = S.budget("conv", "56x56x64", {"kernel": 3, "padding": 1}, max_macs=1000,
                      divisor=8)
    assert result.count == 0 and not result.solutions
    assert (result.nearest[0].values["out"], result.nearest[0].macs) == (8, 8 * 1_806_336)


@pytest.mark.parametrize(("text", "value"), [("300M", 300_000_000), ("1.5G", 1_500_000_000),
                                             ("25k", 25_000), ("4096", 4096), ("2.5k", 2500),
                                             ("1.0001k", 1000), (" 3 T ", 3 * 10**12)])
def test_parse_count(text: str, value: int) -> None:
    assert S.parse_count(text, "--max-macs") == value


@pytest.mark.parametrize(("args", "loss"), [
    ((28, 3, 2, 0, 0, 1), 1),        # ⌊25/2⌋: windows end at 26, pixel 27 unread
    ((28, 3, 2, 1, 1, 1), 0),        # the remainder is the right padding
    ((10, 3, 4, 0, 0, 1), 2),        # windows 0–2, 4–6: pixels 8, 9 (7 is in the stride's gap)
    ((10, 3, 4, 0, 0, 1, True), 0),  # ceil mode: a third window starts at 8
    ((10, 3, 3, 0, 0, 2), 2),        # K_eff 5: windows 0–4, 3–7: pixels 8, 9
    ((10, 3, 4, 1, 0, 1), 0),        # left padding 1: windows end at padded 10 = pixel 9
    ((224, 7, 2, 3, 3, 1), 0),       # ResNet's stem reads everything
    ((1, 1, 5, 2, 2, 1), 0),         # one window, on the left padding: the pixel is in its gap
    ((56, 1, 2, 0, 0, 1), 0),        # ResNet's 1×1 stride-2 shortcut: 55 is in the gap
    ((58, 2, 3, 0, 0, 1), 1),        # windows …, 54–55: 56 is in the gap, 57 a next would read
    ((227, 11, 4, 0, 0, 1), 0),      # AlexNet's 227 was chosen for this
    ((224, 11, 4, 0, 0, 1), 1),      # and 224 loses a pixel
])
def test_floor_loss_by_hand(args: tuple[Any, ...], loss: int) -> None:
    assert F.floor_loss(*args) == loss


@settings(max_examples=500, deadline=None)
@given(length=st.integers(1, 30), kernel=st.integers(1, 6), stride=st.integers(1, 5),
       left=st.integers(0, 6), right=st.integers(0, 6), dilation=st.integers(1, 3),
       ceil_mode=st.booleans())
def test_floor_loss_is_the_pixels_after_the_last_window(length: int, kernel: int, stride: int,
                                                        left: int, right: int, dilation: int,
                                                        ceil_mode: bool) -> None:
    out = F.pool_output_length(length, kernel, stride, left, right, dilation, ceil_mode)
    assume(out >= 1)
    # mark what the windows cover, in padded coordinates; count the input pixels past them
    # that the next window (at out·S) would read
    span = F.effective_kernel(kernel, dilation)
    covered = {i * stride + t for i in range(out) for t in range(span)}
    last = max(covered)
    following = set(range(out * stride, out * stride + span))
    assert F.floor_loss(length, kernel, stride, left, right, dilation, ceil_mode) == sum(
        1 for x in range(left, left + length) if x > last and x in following)


def test_solve_warns_about_pixels_never_read() -> None:
    lossy = S.solve("conv", "28x27x1", 13, {"kernel": 3, "stride": 2, "padding": 0})
    assert lossy.solutions[0].warnings == (
        "the last input pixel of H is never read (⌊·⌋ drops it)",)
    clean = S.solve("conv", "28x28x1", 14, {"kernel": 3, "stride": 2, "padding": 1})
    assert clean.solutions[0].warnings == ()
    pool = S.solve("maxpool", "9x1", 4, {"kernel": 2, "stride": 2})
    assert pool.solutions[0].warnings == ("the last input pixel is never read (⌊·⌋ drops it)",)


# --- the command line ----------------------------------------------------------------------


def run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, ["solve", *args], env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result.exit_code, result.stdout, result.stderr


def test_json_contract() -> None:
    code, out, err = run(["conv", "--input", "28x28x1", "--output", "28", "--kernel", "5",
                          "--dilation", "2", "--format", "json"])
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert {"input", "target", "solutions", "nearest"} <= set(data)
    assert data["input"] == {"channels": 1, "spatial": [28, 28]}
    assert data["target"]["spatial"] == [28, 28]
    assert data["solutions"] == [{
        "kernel": 5, "stride": 1, "dilation": 2, "padding": 4,
        "output": {"channels": 1, "spatial": [28, 28]},
        "formulas": ["H_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28",
                     "W_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28"],
        "warnings": []}]
    assert data["nearest"] == []
    assert data == S.solve("conv", "28x28x1", 28, {"kernel": 5, "dilation": 2}).to_dict()


def test_per_axis_fields_are_lists_and_equal_ones_scalars() -> None:
    code, out, _ = run(["conv", "-i", "28x20x1", "-o", "14x10", "--kernel", "3", "--stride", "2",
                        "--dilation", "any",
                        "--limit", "50", "-f", "json"])
    assert code == 0
    solutions = json.loads(out)["solutions"]
    assert {"kernel": 3, "stride": 2, "dilation": 1, "padding": 1}.items() <= solutions[0].items()
    mixed = [s for s in solutions if isinstance(s["padding"], list)]
    assert mixed and all(len(s["padding"]) == 2 for s in mixed)


def test_no_solution_exits_0_with_none_and_the_nearest() -> None:
    code, out, err = run(["conv", "-i", "28x28x1", "-o", "15", "--kernel", "3", "--stride", "2",
                          "--padding", "0"])
    assert (code, err) == (0, "")
    assert "none: kernel 3, stride 2 and padding 0 give at most 13 from 28; the nearest:" in out
    assert "13×13×1" in out
    code, out, _ = run(["conv", "-i", "28x28x1", "-o", "15", "--kernel", "3", "--stride", "2",
                        "--padding", "0", "-f", "json"])
    data = json.loads(out)
    assert data["solutions"] == [] and data["count"] == 0
    assert data["nearest"][0]["output"]["spatial"] == [13, 13]


def test_table_shows_formulas_bounds_and_warnings() -> None:
    code, out, _ = run(["maxpool", "-i", "9x9x1", "-o", "4", "--kernel", "2", "--stride", "2"])
    assert code == 0
    assert "[1] H_out = W_out = ⌊(9 − 2 + 2·0)/2⌋ + 1 = 4" in out
    assert "searched: kernel ≤ 11, stride ≤ 8, dilation ≤ 1, padding ≤ K//2" in out
    assert "dilation 1 unless given (--dilation any searches up to 4)" in out
    assert "[1] warning: the last input pixel of H and W is never read" in out


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("args", [
    ["conv", "-i", "28x28x1", "-o", "same", "--kernel", "3"],
    ["transposed", "-i", "7x7x8", "-o", "14", "--kernel", "4", "--stride", "2", "--out", "4"],
    ["conv", "-i", "56x56x64", "--kernel", "3", "--padding", "1", "--max-macs", "300M",
     "--divisor", "8"],
    ["conv", "--from", "224", "--to", "7", "--strides", "2,4"],
    ["conv", "--from", "224", "--to", "7", "--strides", "3"],
])
def test_every_mode_in_every_format(args: list[str], fmt: str) -> None:
    code, out, err = run([*args, "--format", fmt])
    assert (code, err) == (0, "")
    assert out.strip()
    if fmt == "csv":
        assert out.splitlines()[0].startswith("match,#,")


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["cnov", "-i", "28x28x1", "-o", "28"], 2, "unknown kind 'cnov' — did you mean 'conv'"),
    (["conv", "-i", "28x28x1", "-o", "0"], 2, "option --output: 0 is not allowed"),
    (["conv", "-i", "28x28x1", "-o", "abc"], 2, "option --output: 'abc' is not a size"),
    (["conv", "-i", "28x28x1", "-o", "-3"], 2, "option --output: -3 is not allowed"),
    (["conv", "-i", "28x28", "-o", "28x28"], 2, "a 28×28 map with 1 channel is 28x28x1"),
    (["conv", "-i", "28x28x1"], 2, "solve needs --output SIZE"),
    (["conv", "-o", "28"], 2, "solve needs --input SHAPE"),
    (["conv", "-i", "28x28x1", "-o", "28", "--from", "224", "--to", "7"], 2,
     "--input, --output: not used with a chain"),
    (["conv", "-i", "28x28x1", "-o", "28", "--max-macs", "1M"], 2,
     "--output: not used with a budget"),
    (["conv", "-i", "28x28x1", "-o", "28", "--divisor", "8"], 2,
     "--divisor: not used with an output size"),
    (["conv", "--from", "224"], 2, "a chain needs both --from and --to"),
    (["conv", "--from", "224", "--to", "7", "--stride", "2"], 2, "takes its strides from"),
    (["conv", "--from", "224", "--to", "7", "--strides", "0"], 2, "--strides: [0]"),
    (["conv", "-i", "28x28x1", "-o", "14", "--output-padding", "1"], 2,
     "option --output-padding: conv has no output-padding; its options: --out, --kernel"),
    (["avgpool", "-i", "28x28x1", "-o", "14", "--dilation", "2"], 2,
     "option --dilation: avgpool has no dilation"),
    (["depthwise", "-i", "28x28x4", "-o", "28", "--out", "8"], 2,
     "option --out: depthwise has no out"),
    (["grouped", "-i", "28x28x4", "-o", "28"], 2, "grouped needs it"),
    (["conv", "-i", "28x28x1", "-o", "28", "--kernel", "0"], 2, "conv needs kernel ≥ 1"),
    (["conv", "-i", "28x28x1", "-o", "28", "--padding", "same"], 2, "option --padding"),
    (["conv", "-i", "28x28x1", "-o", "28", "--max-kernel", "100"], 2, "--max-kernel: 100"),
    (["conv", "-i", "28x28x1", "-o", "28", "--max-stride", "0"], 2, "--max-stride: 0"),
    (["conv", "-i", "28x28x1", "-o", "28", "--limit", "0"], 2, "--limit: 0"),
    (["conv", "-i", "2000000x1", "-o", "28", "--kernel", "1000000"], 2, "candidates per axis"),
    (["maxpool", "-i", "28x28x1", "--max-macs", "3M", "--kernel", "2"], 2,
     "maxpool has no out channels"),
    (["conv", "-i", "28x28x1", "--max-macs", "3X", "--kernel", "3"], 2, "'3X' is not a count"),
    (["conv", "-i", "28x28x1", "--max-macs", "3M", "--kernel", "3", "--out", "4"], 2,
     "option --out: not used with a budget: out is what it finds"),
    # impossible: fields that PyTorch refuses whatever the unknown ones are
    (["transposed", "-i", "28x28x1", "-o", "56", "--kernel", "3", "--stride", "1",
      "--dilation", "1", "--padding", "0", "--output-padding", "1"], 1,
     "output_padding=1 must be smaller than stride (1) or dilation (1)"),
    (["maxpool", "-i", "28x28x1", "-o", "14", "--kernel", "3", "--stride", "2", "--dilation",
      "1", "--padding", "3"], 1, "padding=3 is more than half the kernel (3)"),
    (["maxpool", "-i", "28x28x1", "-o", "14", "--kernel", "3", "--padding", "3"], 1,
     "no maxpool on 28×28×1 with these fields is valid on axis H"),
    (["conv", "-i", "2x2x1", "-o", "1", "--kernel", "5", "--padding", "0", "--stride", "1",
      "--dilation", "1"], 1, "smaller than the effective kernel 5"),
    (["conv", "-i", "28x28x3", "-o", "28", "--groups", "2"], 1,
     "groups=2 must divide the input channels (3)"),
    (["conv", "-i", "28x28x1", "-o", "28", "--kernel", "3,3,3"], 1, "has 3 axes"),
])
def test_bad_input_is_one_line(args: list[str], code: int, fragment: str) -> None:
    got, out, err = run(args)
    assert got == code, err
    assert out == ""
    assert fragment in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


OPTIONS = ["--input", "--output", "--from", "--to", "--strides", "--max-layers", "--kernel",
           "--stride", "--padding", "--dilation", "--output-padding", "--groups", "--out",
           "--no-bias", "--ceil-mode", "--max-macs", "--max-params", "--divisor", "--max-kernel",
           "--max-stride", "--max-dilation", "--limit", "--channels-first", "--format"]
TOKENS = ["3", "0", "-1", "2,2", "3x5", "28x28x1", "4x4x4x2", "same", "x", "1.5G", "25k", "7",
          "224", "json", "csv", "markdown", "99999999999999999999", ""]


@settings(max_examples=80, deadline=None)
@given(kind=st.sampled_from([*KINDS, "cnov", "linear"]),
       rest=st.lists(st.one_of(st.sampled_from(OPTIONS), st.sampled_from(TOKENS),
                               st.text(max_size=5)), max_size=10))
def test_random_arguments_never_crash(kind: str, rest: list[str]) -> None:
    result = runner.invoke(app, ["solve", kind, *rest])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output


# --- the documented examples are real ------------------------------------------------------


def test_docs_console_blocks_are_current() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import update_readme

    text = (ROOT / "docs" / "solve.md").read_text()
    blocks = update_readme.blocks(text)
    assert len(blocks) >= 3
    for command, shown in blocks:
        assert update_readme.render(command) == shown, command
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    r, b, c = namespace["r"], namespace["b"], namespace["c"]
    assert (r.count, r.solutions[0].values) == (1, {"kernel": 5, "stride": 1, "dilation": 2,
                                                    "padding": 4})
    assert (b.solutions[0].values["out"], c.count) == (166, 8)


# --- issue 18: what a user means by same, valid, a size; why a size is out of reach ----------


def tf_size(word: str, kind: str, n: int, v: dict[str, int]) -> int:
    """tf.keras's conv_output_length / deconv_output_length, written out independently."""
    k_eff = v.get("dilation", 1) * (v["kernel"] - 1) + 1
    s = v["stride"]
    if kind == "transposed":
        return n * s if word == "same" else n * s + max(k_eff - s, 0)
    return (n + s - 1) // s if word == "same" else (n - k_eff + s) // s


def test_solve_same_is_tensorflow_same() -> None:
    result = S.solve("conv", "224x224x3", "same", {"stride": 2, "kernel": 3})
    assert result.count == 1
    (only,) = result.solutions
    assert only.values == {"kernel": 3, "stride": 2, "dilation": 1, "padding": 1}
    assert only.spatial == (112, 112)  # ⌈224/2⌉, and ⌊(224 + 2 − 3)/2⌋ + 1 = 112
    assert result.target["spatial"] == [112, 112] and result.target["word"] == "same"
    # TensorFlow pads 1 in total (0 before, 1 after): PyTorch cannot, and it says so
    assert any("SAME pads H and W by 1 in total (0 before, 1 after)" in w
               for w in only.warnings)
    code, out, _ = run(["conv", "-i", "224x224x3", "-o", "same", "--stride", "2", "--kernel", "3"])
    assert code == 0
    assert "conv on 224×224×3 → SAME (112×112): 1 solution" in out
    assert "none" not in out


def test_solve_valid_is_tensorflow_valid() -> None:
    result = S.solve("conv", "224x224x3", "valid", {"stride": 2, "kernel": 3})
    assert [s.values["padding"] for s in result.solutions] == [0]
    assert result.solutions[0].spatial == (111, 111)  # ⌈(224 − 3 + 1)/2⌉


@settings(max_examples=120, deadline=None)
@given(kind=st.sampled_from(["conv", "maxpool", "transposed"]), n=st.integers(1, 14),
       word=st.sampled_from(["same", "valid"]), stride=st.integers(1, 3) | st.none())
def test_same_and_valid_against_the_brute_force(kind: str, n: int, word: str,
                                                 stride: int | None) -> None:
    bounds = S.Bounds(kernel=4, stride=3, dilation=2)
    fixed: dict[str, Any] = {} if stride is None else {"stride": stride}
    extra = {"out": 1} if kind != "maxpool" else {}
    truth = brute_force(kind, f"{n}x1", {**fixed, "dilation": 1}, extra, bounds)
    # same: stride 1 unless given; valid: no padding
    want = {k for k, (out,) in truth.items()
            if out == tf_size(word, kind, n, dict(zip(FIELDS[kind], k[0], strict=True)))
            and (word == "same" or dict(zip(FIELDS[kind], k[0], strict=True))["padding"] == 0)
            and (word == "valid" or stride is not None or k[0][1] == 1)}
    try:
        result = S.solve(kind, f"{n}x1", word, {**fixed, **extra}, bounds=bounds, limit=10**6)
    except ShapeError:
        assert not truth
        return
    assert {key(s.to_dict(), kind, 1) for s in result.solutions} == want
    assert result.count == len(want)


def test_solve_dilation_is_1_unless_given() -> None:
    result = S.solve("conv", "224x224x3", 112, limit=100)
    assert result.count == len(result.solutions) == 11
    assert {s.values["dilation"] for s in result.solutions} == {1}
    assert not any(isinstance(v, list) for s in result.solutions for v in s.values.values())
    searched = S.solve("conv", "224x224x3", 112, {"dilation": "any"}, limit=100)
    assert {s.values["dilation"] for s in searched.solutions} == {1, 2, 3, 4}
    code, out, _ = run(["conv", "-i", "224x224x3", "-o", "112", "--dilation", "any", "-f", "json"])
    assert code == 0 and json.loads(out)["count"] == searched.count


def test_solve_per_axis_values_differ_only_when_asked() -> None:
    every = S.solve("conv", "12x12x1", 6, {"dilation": "any"}, limit=10**6, per_axis=True)
    plain = S.solve("conv", "12x12x1", 6, {"dilation": "any"}, limit=10**6)
    assert any(isinstance(v, list) for s in every.solutions for v in s.values.values())
    assert not any(isinstance(v, list) for s in plain.solutions for v in s.values.values())
    assert plain.count == sum(1 for s in every.solutions
                              if not any(isinstance(v, list) for v in s.values.values()))
    # asked: the input's axes differ, or the target's, or a fixed field is given per axis
    assert S.solve("conv", "12x10x1", [6, 5], {"dilation": "any"}).count > 0
    asked = S.solve("conv", "12x12x1", 6, {"kernel": [3, 4]})
    assert asked.solutions and all(s.values["kernel"] == [3, 4] for s in asked.solutions)


def test_solve_unreachable_target_says_why_before_the_nearest() -> None:
    result = S.solve("conv", "224x224x3", 224, {"stride": 2, "kernel": 3})
    assert result.count == 0
    assert result.reason == "kernel 3 and stride 2 give at most 113 from 224"
    assert 0 < len(result.nearest) <= S.NEAREST_SIZES * S.NEAREST_PER_SIZE
    code, out, _ = run(["conv", "-i", "224x224x3", "-o", "224", "--stride", "2"])
    assert code == 0
    lines = out.splitlines()
    why = next(i for i, line in enumerate(lines) if "stride 2 gives at most" in line)
    table = next(i for i, line in enumerate(lines) if line.strip().startswith("#"))
    assert why < table
    assert len([line for line in lines if line.strip()[:1].isdigit()]) <= 6
    code, out, _ = run(["conv", "-i", "224x224x3", "-o", "224", "--stride", "2", "-f", "json"])
    assert json.loads(out)["reason"] == "stride 2 gives at most 117 from 224"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["conv", "maxpool", "transposed", "grouped"]),
       n=st.integers(2, 10), want=st.integers(1, 12), kernel=st.integers(1, 3) | st.none())
def test_default_answers_are_the_brute_force_at_dilation_1_same_on_every_axis(
        kind: str, n: int, want: int, kernel: int | None) -> None:
    bounds = S.Bounds(kernel=3, stride=2, dilation=2)
    fixed: dict[str, Any] = {} if kernel is None else {"kernel": kernel}
    extra: dict[str, Any] = {"out": 4} if kind != "maxpool" else {}
    if kind == "grouped":
        extra["groups"] = 2
    truth = brute_force(kind, f"{n}x{n}x4", {**fixed, "dilation": 1}, extra, bounds)
    expected = {k for k, out in truth.items() if out == (want, want) and k[0] == k[1]}
    try:
        result = S.solve(kind, f"{n}x{n}x4", want, {**fixed, **extra}, bounds=bounds,
                         limit=10**6)
    except ShapeError:
        assert not truth
        return
    assert {key(s.to_dict(), kind, 2) for s in result.solutions} == expected
    assert result.count == len(expected)

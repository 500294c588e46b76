"""Property tests: identities between kinds that must hold for every input."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.report import LayerReport

sizes = st.integers(1, 40)
kernels = st.integers(1, 7)
small = st.integers(1, 3)


def analyze(spec: dict[str, Any], channels: int, spatial: list[int]) -> LayerReport | None:
    try:
        return convcalc.analyze_layer(spec, {"channels": channels, "spatial": spatial})
    except convcalc.ConvcalcError:
        return None


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 16), h=sizes, w=sizes, k=kernels, s=small, p=st.integers(0, 3),
       d=small, mult=small, bias=st.booleans())
def test_depthwise_is_grouped_with_g_equal_cin(c: int, h: int, w: int, k: int, s: int, p: int,
                                               d: int, mult: int, bias: bool) -> None:
    common = {"kernel": k, "stride": s, "padding": p, "dilation": d, "bias": bias}
    dw = analyze({"kind": "depthwise", "multiplier": mult, **common}, c, [h, w])
    grouped = analyze({"kind": "conv", "out": c * mult, "groups": c, **common}, c, [h, w])
    assert (dw is None) == (grouped is None)
    if dw and grouped:
        assert (dw.output, dw.params, dw.macs, dw.receptive_field) == (
            grouped.output, grouped.params, grouped.macs, grouped.receptive_field)


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 8), out=st.integers(1, 8), h=sizes, k=kernels, s=small,
       p=st.integers(0, 3), kind=st.sampled_from(["conv", "transposed"]))
def test_dilation_one_changes_nothing(c: int, out: int, h: int, k: int, s: int, p: int,
                                      kind: str) -> None:
    base = {"kind": kind, "out": out, "kernel": k, "stride": s, "padding": p}
    a = analyze(base, c, [h, h])
    b = analyze({**base, "dilation": 1}, c, [h, h])
    c2 = analyze({**base, "dilation": [1, 1]}, c, [h, h])
    assert a == b == c2


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 24), out=st.integers(1, 64), h=st.integers(2, 30), k=kernels,
       s=small, p=st.integers(0, 3), bias=st.booleans(),
       spec=st.sampled_from([
           {"kind": "dwsep"}, {"kind": "spatial_sep"}, {"kind": "spatial_sep", "mid": 7},
           {"kind": "shuffle_unit", "groups": 2}, {"kind": "shuffle_unit", "groups": 3},
           {"kind": "octave", "alpha_in": 0.5, "alpha_out": 0.25},
           {"kind": "octave", "alpha_in": 0, "alpha_out": 0.5}]))
def test_composite_totals_are_sums_of_parts(c: int, out: int, h: int, k: int, s: int, p: int,
                                            bias: bool, spec: dict[str, Any]) -> None:
    full = {**spec, "out": out, "kernel": k if spec["kind"] != "shuffle_unit" else 3,
            "bias": bias}
    if spec["kind"] not in ("octave",):
        full["stride"] = s
    if spec["kind"] in ("octave", "dwsep", "spatial_sep"):
        full["padding"] = p
    r = analyze(full, c, [h, h])
    if r is None:
        return
    assert r.parts
    assert r.params == sum(x.params for x in r.leaves())
    assert r.macs == sum(x.macs for x in r.leaves())
    assert r.weight_params == sum(x.weight_params for x in r.leaves())
    assert r.access_cost == sum(x.access_cost for x in r.leaves())
    for a, b in zip(r.parts, r.parts[1:], strict=False):
        if r.kind != "octave":
            assert a.output == b.input


@settings(max_examples=100, deadline=None)
@given(c=st.integers(1, 8), h=sizes, k=kernels, s=small, p=st.integers(0, 3))
def test_named_kinds_are_thin_over_conv(c: int, h: int, k: int, s: int, p: int) -> None:
    pw = analyze({"kind": "pointwise", "out": 4, "stride": s}, c, [h, h])
    conv1 = analyze({"kind": "conv", "out": 4, "kernel": 1, "stride": s}, c, [h, h])
    assert pw is not None and conv1 is not None
    assert (pw.output, pw.params, pw.macs) == (conv1.output, conv1.params, conv1.macs)
    dil = analyze({"kind": "dilated", "out": 4, "kernel": k, "dilation": 2, "padding": p}, c,
                  [h, h])
    conv2 = analyze({"kind": "conv", "out": 4, "kernel": k, "dilation": 2, "padding": p}, c,
                    [h, h])
    assert (dil is None) == (conv2 is None)
    if dil and conv2:
        assert (dil.output, dil.params, dil.macs) == (conv2.output, conv2.params, conv2.macs)


def test_registry_matches_the_models() -> None:
    """The lazy registry names, for every kind, the model whose `kind` literal holds it."""
    from typing import get_args

    from convcalc.layers import ACTIVATIONS, KINDS, REGISTRY, models

    for kind in REGISTRY:
        assert kind in get_args(KINDS[kind].model_fields["kind"].annotation)
    declared = {k for m in models() for k in get_args(m.model_fields["kind"].annotation)}
    assert declared == set(REGISTRY)
    assert set(ACTIVATIONS) <= declared


@settings(max_examples=500, deadline=None)
@given(advance=st.integers(1, 64), lo=st.integers(-20, 20), width=st.integers(0, 30),
       seen=st.booleans(), m=st.integers(1, 5), first=st.integers(-6, 6),
       step=st.integers(1, 4), count=st.integers(0, 9))
def test_receptive_field_fast_path_is_the_general_rule(advance: int, lo: int, width: int,
                                                       seen: bool, m: int, first: int,
                                                       step: int, count: int) -> None:
    """Period-1 states through single-progression tap maps (conv, pool, global pool) take a
    short-cut; it must give exactly what the general phase-by-phase composition gives."""
    from convcalc.rf import AxisRF, Progression, TapMap

    state = AxisRF(1, advance, (lo,), (lo + width,)) if seen else AxisRF(1, advance, (None,),
                                                                         (None,))
    tap = TapMap(m, 1, ((Progression(first, step, count),),))
    assert state.then(tap) == state.general_then(tap)


@settings(max_examples=500, deadline=None)
@given(advance=st.integers(-3, 8), lo=st.integers(-20, 20), width=st.integers(0, 30),
       other_lo=st.integers(-20, 20), other_width=st.integers(0, 30),
       other_advance=st.integers(-3, 8), reduced=st.booleans())
def test_merging_two_one_interval_fields_takes_the_general_rule(
        advance: int, lo: int, width: int, other_lo: int, other_width: int, other_advance: int,
        reduced: bool) -> None:
    """A residual add of two period-1 fields takes a short-cut; it must give what the general
    merge gives (three paths, the second twice, take the general route: same fields, same
    centres)."""
    from convcalc.rf import AxisRF, merge

    a = AxisRF(1, advance, (lo,), (lo + width,), None, reduced)
    b = AxisRF(1, other_advance, (other_lo,), (other_lo + other_width,))
    assert merge([a, b]) == merge([a, b, b])
    assert merge([b, a]) == merge([b, a, a])

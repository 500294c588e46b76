"""`convcalc compare`: every convolution variant on one input, side by side, with exact ratios.

A variant is a name (as in `--variants`), optional overrides (`grouped:groups=4`) and a rule
that turns the shared options (out, kernel, stride, padding, dilation, bias) into a layer spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc import formulas as F
from convcalc.engine import analyze_layer
from convcalc.errors import ConvcalcError, SpecError
from convcalc.numbers import NumberError, parse_number, shown
from convcalc.report import LayerReport, exact
from convcalc.shapes import Shape
from convcalc.spec import suggest

Options = dict[str, Any]


def _pick(o: Options, *keys: str) -> dict[str, Any]:
    return {k: o[k] for k in keys if k in o}


def _axes(value: Any) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _groups(o: Options, prefer: Sequence[int]) -> int | None:
    """The first group count in `prefer` that divides the input and output channels."""
    cin, out = o.get("_in_channels", 0), o.get("out", 0)
    return next((g for g in prefer if g > 1 and cin % g == 0 and out % g == 0), None)


Rule = Callable[[Options], tuple[dict[str, Any], list[str]]]
"""The shared options → the variant's layer spec and what it set that the user did not."""


def _conv(o: Options) -> tuple[dict[str, Any], list[str]]:
    return {"kind": "conv", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                    "groups", "bias")}, []


def _pointwise(o: Options) -> tuple[dict[str, Any], list[str]]:
    notes = []
    if _axes(o.get("kernel", 1)) != [1] or o.get("padding", 0) not in (0, "valid", "same"):
        notes.append("kernel 1×1 and no padding (your kernel and padding do not apply)")
    return {"kind": "pointwise", **_pick(o, "out", "stride", "bias")}, notes


def _grouped(o: Options) -> tuple[dict[str, Any], list[str]]:
    if "groups" in o:
        return {"kind": "grouped", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                           "groups", "bias")}, []
    g = _groups(o, (4, 2, 8, 3)) or 4
    return {"kind": "grouped", "groups": g, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "bias")}, [
        f"groups {g} (set grouped:groups=G)"]


def _depthwise(o: Options) -> tuple[dict[str, Any], list[str]]:
    cin = o.get("_in_channels", 0)
    spec = {"kind": "depthwise", **_pick(o, "kernel", "stride", "padding", "dilation",
                                         "multiplier", "bias")}
    notes = [] if o.get("out") == cin * o.get("multiplier", 1) else [
        f"out = C_in·multiplier = {cin * o.get('multiplier', 1)} (a depthwise conv has no out)"]
    return spec, notes


def _dwsep(o: Options) -> tuple[dict[str, Any], list[str]]:
    return {"kind": "dwsep", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                     "multiplier", "bias")}, []


def _spatial_sep(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "spatial_sep", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                           "mid", "bias")}
    if "mid" in o:
        return spec, []
    mid = min(o.get("_in_channels", 1), o.get("out", 1))
    spec["mid"] = mid
    return spec, [f"mid {mid} = min(C_in, out) channels between the K×1 and 1×K convs "
                  "(what makes it cheaper than the conv it factorises; set spatial_sep:mid=M)"]


def _dilated(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "dilated", "dilation": 2, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "bias")}
    notes = [] if "dilation" in o and any(d > 1 for d in _axes(o["dilation"])) else [
        "dilation 2 (set dilated:dilation=D)"]
    if "dilation" in o and not any(d > 1 for d in _axes(o["dilation"])):
        spec["dilation"] = 2
    if "padding" not in o:
        # the same output as the conv: pad the extra span (D − 1)·(K − 1) half on each side
        ks, ds = _axes(o.get("kernel", 1)), _axes(spec["dilation"])
        n = max(len(ks), len(ds))
        pads = [((ds[i if len(ds) > 1 else 0] - 1) * (ks[i if len(ks) > 1 else 0] - 1)) // 2
                for i in range(n)]
        spec["padding"] = pads[0] if len(set(pads)) == 1 and n == 1 else pads
        shown_pad = "×".join(map(str, pads)) if n > 1 else str(pads[0])
        notes.append(f"padding {shown_pad} keeps the conv's output size (give --padding to "
                     "choose)")
    return spec, notes


def _pointwise_group(o: Options) -> tuple[dict[str, Any], list[str]]:
    if "groups" in o:
        return {"kind": "pointwise_group", **_pick(o, "out", "stride", "groups", "bias")}, []
    g = _groups(o, (4, 2, 8, 3)) or 4
    return {"kind": "pointwise_group", "groups": g, **_pick(o, "out", "stride", "bias")}, [
        f"groups {g}, 1×1 (set pointwise_group:groups=G)"]


def _shuffle_unit(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "shuffle_unit", **_pick(o, "out", "kernel", "stride", "groups", "mid",
                                            "bias")}
    notes = []
    if "groups" not in o:
        spec["groups"] = _groups(o, (3, 4, 2, 8)) or 3
        notes.append(f"groups {spec['groups']} (ShuffleNet's 3 where it divides the channels)")
    if "mid" not in o:
        notes.append("mid = out/4 rounded to the groups, as the paper's bottleneck")
    if o.get("padding", 0) not in (0, "same"):
        notes.append("its depthwise step pads K//2 (your padding does not apply)")
    return spec, notes


def _octave(o: Options) -> tuple[dict[str, Any], list[str]]:
    alpha = o.get("alpha", Fraction(1, 2))
    spec = {"kind": "octave", "alpha_in": o.get("alpha_in", alpha),
            "alpha_out": o.get("alpha_out", alpha),
            **_pick(o, "out", "kernel", "stride", "padding", "bias")}
    notes = []
    if "padding" not in o:
        pads = [k // 2 for k in _axes(o.get("kernel", 1))]
        spec["padding"] = pads[0] if len(pads) == 1 else pads
        notes.append(f"padding {'×'.join(map(str, pads))} (its low-frequency paths need the "
                     "size kept)")
    if _axes(o.get("dilation", 1)) != [1]:
        notes.append("no dilation (octave convs have none)")
    return spec, notes


def _transposed(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "transposed", "stride": 2, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "output_padding", "groups",
        "bias")}
    notes = [] if "stride" in o else [
        "stride 2: it upsamples (at stride 1 it is a conv; give --stride to choose)"]
    return spec, notes


RULES: dict[str, Rule] = {
    "conv": _conv, "pointwise": _pointwise, "grouped": _grouped, "depthwise": _depthwise,
    "dwsep": _dwsep, "spatial_sep": _spatial_sep, "dilated": _dilated,
    "pointwise_group": _pointwise_group, "shuffle_unit": _shuffle_unit, "octave": _octave,
    "transposed": _transposed,
}

DEFAULT_VARIANTS = ("conv", "pointwise", "grouped", "depthwise", "dwsep", "spatial_sep",
                    "dilated", "pointwise_group", "shuffle_unit", "octave", "transposed")
SHARED = ("out", "kernel", "stride", "padding", "dilation", "bias")


@dataclass(frozen=True, slots=True)
class Variant:
    """`name` as the user wrote it (`grouped:groups=4`), its base rule and its overrides."""

    label: str
    base: str
    overrides: dict[str, Any] = field(default_factory=dict)


def _value(text: str, option: str) -> Any:
    """`4` → 4, `0.5` → Fraction(1, 2), `3,5` → [3, 5], `same` → "same", `false` → False."""
    raw = text.strip()
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if raw in ("same", "valid"):
        return raw
    parts = raw.split("x")
    try:
        if len(parts) > 1:
            return [int(parse_number(p)) if isinstance(parse_number(p), int) else _bad(p)
                    for p in parts]
        return parse_number(raw)
    except (NumberError, ValueError):
        raise SpecError(f"{option}: cannot read {shown(text)} as a number (write 4, 0.5, 3/8 "
                        "or 3x5 for one value per axis)") from None


def _bad(text: str) -> int:
    raise ValueError(text)


def variant_fields(base: str) -> set[str]:
    """The fields a variant's overrides may set: its kind's fields (octave also takes alpha)."""
    from convcalc.layers import KINDS

    kind = RULES[base]({"out": 8, "kernel": 3, "_in_channels": 8})[0]["kind"]
    fields = set(KINDS[kind].model_fields) - {"kind", "name"}
    return fields | {"alpha"} if base == "octave" else fields


def parse_variants(text: str | None) -> list[Variant]:
    """`conv,grouped:groups=4,octave:alpha=0.5` → variants; unknown names suggest close ones."""
    if text is None:
        return [Variant(v, v) for v in DEFAULT_VARIANTS]
    variants = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        # per-axis values inside a variant use x: `grouped:kernel=3x5`
        base, _, rest = item.partition(":")
        if base not in RULES:
            raise SpecError(f"--variants: unknown variant '{base}'{suggest(base, list(RULES))};"
                            f" one of: {', '.join(RULES)}")
        overrides: dict[str, Any] = {}
        fields = variant_fields(base)
        for assignment in filter(None, rest.split(":")):
            key, eq, value = assignment.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip():
                raise SpecError(f"--variants: write {base}:field=value, got {shown(item)}")
            if key not in fields:
                raise SpecError(f"--variants {item}: {base} has no field {shown(key)}"
                                f"{suggest(key, sorted(fields))}; its fields: "
                                f"{', '.join(sorted(fields))}")
            if key in overrides:
                raise SpecError(f"--variants {item}: {key} is given twice")
            overrides[key] = _value(value, f"--variants {item}")
        variants.append(Variant(item, base, overrides))
    if not variants:
        raise SpecError("--variants: give at least one variant")
    return variants


@dataclass(frozen=True, slots=True)
class VariantResult:
    variant: str
    spec: dict[str, Any]
    report: LayerReport | None
    error: str | None
    params_ratio: Fraction | None = None
    macs_ratio: Fraction | None = None
    defaults: tuple[str, ...] = ()
    """What the variant set that the user did not (a footnote each in the table)."""

    def to_dict(self) -> dict[str, Any]:
        if self.report is None:
            return {"variant": self.variant, "kind": self.spec.get("kind"), "error": self.error,
                    "defaults": list(self.defaults)}
        return {"variant": self.variant, **self.report.to_dict(),
                "params_ratio": exact(self.params_ratio), "macs_ratio": exact(self.macs_ratio),
                "defaults": list(self.defaults)}


@dataclass(frozen=True, slots=True)
class Comparison:
    input: Shape
    baseline: str
    results: tuple[VariantResult, ...]
    closed_forms: tuple[ClosedForm, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input.to_dict(), "baseline": self.baseline,
                "variants": [r.to_dict() for r in self.results],
                "closed_forms": [{"variant": c.variant, "reference": c.reference,
                                  "formula": c.formula, "numbers": c.numbers,
                                  "ratio": exact(c.ratio), "measured": exact(c.measured)}
                                 for c in self.closed_forms]}


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """A variant's textbook cost ratio to `reference` (always the plain conv): the formula,
    the same with this comparison's numbers, its exact value, and the measured ratio (None
    where the two layers' outputs differ, so the textbook ratio does not describe them)."""

    variant: str
    reference: str
    formula: str
    numbers: str
    ratio: Fraction
    measured: Fraction | None


def compare(input: str | Shape | Mapping[str, Any], options: Options,
            variants: Sequence[Variant] | None = None, baseline: str = "conv",
            *, channels_first: bool = False, batch: int | None = None) -> Comparison:
    """Analyse each variant on `input` with the shared options; ratios are to `baseline`."""
    from convcalc.engine import input_shape

    shape, batch = input_shape(input, channels_first, batch)
    chosen = list(variants) if variants is not None else parse_variants(None)
    results: list[VariantResult] = []
    options = {**options, "_in_channels": shape.channels}
    for v in chosen:
        spec, notes = RULES[v.base]({**options, **v.overrides})
        try:
            results.append(VariantResult(v.label, spec, analyze_layer(spec, shape, batch=batch),
                                         None, defaults=tuple(notes)))
        except ConvcalcError as e:
            results.append(VariantResult(v.label, spec, None, e.render(), defaults=tuple(notes)))
    labels = [r.variant for r in results]
    base = next((r for r in results if r.variant == baseline), None)
    if base is None:
        if baseline not in RULES:
            raise SpecError(f"--baseline: '{baseline}' is not one of the variants "
                            f"({', '.join(labels)})")
        spec, notes = RULES[baseline](options)
        try:
            base = VariantResult(baseline, spec, analyze_layer(spec, shape, batch=batch), None,
                                 defaults=tuple(notes))
        except ConvcalcError as e:
            raise type(e)(f"baseline {baseline}: {e.message}", e.location) from None
    if base.report is None:
        raise SpecError(f"the baseline '{baseline}' does not apply here: {base.error}")
    ref = base.report
    ratio = [VariantResult(r.variant, r.spec, r.report, r.error,
                           _ratio(r.report.params, ref.params) if r.report else None,
                           _ratio(r.report.macs, ref.macs) if r.report else None, r.defaults)
             for r in results]
    conv = next((r.report for r in results if r.spec["kind"] == "conv" and r.report), None)
    if conv is None:
        spec, _ = _conv(options)
        try:
            conv = analyze_layer(spec, shape, batch=batch)
        except ConvcalcError:
            conv = None
    return Comparison(shape, baseline, tuple(ratio), _closed_forms(ratio, options, conv))


def _ratio(a: int, b: int) -> Fraction | None:
    return Fraction(a, b) if b else None


def _closed_forms(results: Sequence[VariantResult], options: Options,
                  conv: LayerReport | None) -> tuple[ClosedForm, ...]:
    """The textbook ratios to the plain conv, with this comparison's numbers; measured against
    the plain conv (whatever the baseline) where the outputs agree."""
    forms: list[ClosedForm] = []
    for r in results:
        if r.report is None:
            continue
        kernel: Any = r.spec.get("kernel", options.get("kernel", 1))
        ks = [kernel] * max(1, r.report.input.rank) if isinstance(kernel, int) else list(kernel)
        measured = (Fraction(r.report.macs, conv.macs) if conv is not None and conv.macs
                    and conv.output == r.report.output else None)
        kind = r.spec["kind"]
        if kind == "dwsep":
            n, k2 = r.report.output.channels, "·".join(map(str, ks))
            forms.append(ClosedForm(r.variant, "conv", "1/N + 1/K² (MobileNet)",
                                    f"1/{n} + 1/{k2 if len(ks) == 1 else '(' + k2 + ')'}"
                                    if len(set(ks)) > 1 else f"1/{n} + 1/{ks[0]}²",
                                    F.dwsep_macs_ratio(n, ks), measured))
        elif kind == "octave" and r.spec.get("alpha_in") == r.spec.get("alpha_out"):
            alpha = Fraction(r.spec["alpha_in"])
            forms.append(ClosedForm(r.variant, "conv", "1 − ¾·α·(2 − α)",
                                    f"1 − ¾·{_frac(alpha)}·(2 − {_frac(alpha)})",
                                    F.octave_macs_ratio(alpha), measured))
        elif (kind == "spatial_sep" and isinstance(kernel, int)
              and r.report.input.channels == r.report.output.channels
              and r.spec.get("mid", r.report.output.channels) == r.report.output.channels):
            forms.append(ClosedForm(r.variant, "conv", "2/K (large inputs, equal channels)",
                                    f"2/{kernel}", F.spatial_sep_macs_ratio(kernel), measured))
    return tuple(forms)


def _frac(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True, slots=True)
class Sweep:
    """MACs (and ratio to the baseline at the same value) for each variant × swept value."""

    field: str
    values: tuple[Any, ...]
    comparisons: tuple[Comparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sweep": self.field,
                "values": [exact(v) if isinstance(v, Fraction) else v for v in self.values],
                "comparisons": [c.to_dict() for c in self.comparisons]}


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """`kernel=3,5,7` → ("kernel", [3, 5, 7]); `alpha=0,0.25` → ("alpha", [0, 1/4])."""
    key, eq, values = text.partition("=")
    key = key.strip()
    allowed = (*SHARED, "groups", "alpha", "multiplier", "mid")
    if not eq or not values.strip():
        raise SpecError(f"--sweep: write field=v1,v2,..., e.g. kernel=3,5,7; got '{text}'")
    if key not in allowed:
        raise SpecError(f"--sweep: cannot sweep '{key}'{suggest(key, list(allowed))}; "
                        f"one of: {', '.join(allowed)}")
    items = [v.strip() for v in values.split(",")]
    if any(not v for v in items):
        raise SpecError(f"--sweep: an empty value in {shown(text)}; write field=v1,v2,...")
    parsed = [_value(v, "--sweep") for v in items]
    if len(set(map(repr, parsed))) != len(parsed):
        raise SpecError(f"--sweep: a value is repeated in {shown(text)}")
    return key, parsed


def sweep(input: str | Shape | Mapping[str, Any], options: Options, field: str,
          values: Sequence[Any], variants: Sequence[Variant] | None = None,
          baseline: str = "conv", *, channels_first: bool = False,
          batch: int | None = None) -> Sweep:
    chosen = list(variants) if variants is not None else parse_variants(None)
    if field in ("groups", "alpha", "multiplier", "mid"):
        # a sweep of a variant's own knob applies to the variants that have it
        chosen = [v for v in chosen if v.base == baseline or _has(v.base, field)]
    runs = []
    for value in values:
        opts = {**options, field: value}
        pinned = [Variant(v.label, v.base, {k: x for k, x in v.overrides.items() if k != field})
                  for v in chosen]
        runs.append(compare(input, opts, pinned, baseline, channels_first=channels_first,
                            batch=batch))
    return Sweep(field, tuple(values), tuple(runs))


def _has(base: str, field: str) -> bool:
    probe = RULES[base]({"out": 8, "kernel": 3, field: 2})[0]
    return field in probe or (field == "alpha" and base == "octave")

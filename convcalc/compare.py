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
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import suggest

Options = dict[str, Any]


def _conv(o: Options) -> dict[str, Any]:
    return {"kind": "conv", **_pick(o, "out", "kernel", "stride", "padding", "dilation", "groups",
                                    "bias")}


def _pick(o: Options, *keys: str) -> dict[str, Any]:
    return {k: o[k] for k in keys if k in o}


def _shuffle_groups(o: Options) -> int:
    """ShuffleNet's g = 3 where it divides the channels, else the first of 4, 2, 8 that does."""
    cin, out = o.get("_in_channels", 0), o.get("out", 0)
    return next((g for g in (3, 4, 2, 8) if cin % g == 0 and out % g == 0), 3)


RULES: dict[str, Callable[[Options], dict[str, Any]]] = {
    "conv": _conv,
    "pointwise": lambda o: {"kind": "pointwise", **_pick(o, "out", "stride", "bias")},
    "grouped": lambda o: {"kind": "grouped", "groups": 4, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "groups", "bias")},
    "depthwise": lambda o: {"kind": "depthwise", **_pick(
        o, "kernel", "stride", "padding", "dilation", "multiplier", "bias")},
    "dwsep": lambda o: {"kind": "dwsep", **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "multiplier", "bias")},
    "spatial_sep": lambda o: {"kind": "spatial_sep", **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "mid", "bias")},
    "dilated": lambda o: {"kind": "dilated", "dilation": 2, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "bias")},
    "pointwise_group": lambda o: {"kind": "pointwise_group", "groups": 4, **_pick(
        o, "out", "stride", "groups", "bias")},
    "shuffle_unit": lambda o: {"kind": "shuffle_unit", "groups": _shuffle_groups(o), "kernel": 3,
                               **_pick(
        o, "out", "stride", "groups", "mid", "bias")},
    "octave": lambda o: {"kind": "octave", "alpha_in": o.get("alpha", Fraction(1, 2)),
                         "alpha_out": o.get("alpha", Fraction(1, 2)),
                         **_pick(o, "out", "kernel", "padding", "bias", "alpha_in", "alpha_out")},
    "transposed": lambda o: {"kind": "transposed", "stride": 2, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "output_padding", "groups", "bias")},
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

    kind = RULES[base]({"out": 8, "kernel": 3, "_in_channels": 8})["kind"]
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

    def to_dict(self) -> dict[str, Any]:
        if self.report is None:
            return {"variant": self.variant, "kind": self.spec.get("kind"), "error": self.error}
        return {"variant": self.variant, **self.report.to_dict(),
                "params_ratio": exact(self.params_ratio), "macs_ratio": exact(self.macs_ratio)}


@dataclass(frozen=True, slots=True)
class Comparison:
    input: Shape
    baseline: str
    results: tuple[VariantResult, ...]
    closed_forms: tuple[tuple[str, str, Fraction, Fraction | None], ...]
    """(variant, formula, closed-form ratio, measured ratio)."""

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input.to_dict(), "baseline": self.baseline,
                "variants": [r.to_dict() for r in self.results],
                "closed_forms": [{"variant": v, "formula": f, "ratio": exact(c),
                                  "measured": exact(m)}
                                 for v, f, c, m in self.closed_forms]}


def compare(input: str | Shape | Mapping[str, Any], options: Options,
            variants: Sequence[Variant] | None = None, baseline: str = "conv",
            *, channels_first: bool = False) -> Comparison:
    """Analyse each variant on `input` with the shared options; ratios are to `baseline`."""
    shape = coerce_shape(input, channels_first=channels_first)
    chosen = list(variants) if variants is not None else parse_variants(None)
    results: list[VariantResult] = []
    options = {**options, "_in_channels": shape.channels}
    for v in chosen:
        spec = RULES[v.base]({**options, **v.overrides})
        try:
            results.append(VariantResult(v.label, spec, analyze_layer(spec, shape), None))
        except ConvcalcError as e:
            results.append(VariantResult(v.label, spec, None, e.render()))
    labels = [r.variant for r in results]
    base = next((r for r in results if r.variant == baseline), None)
    if base is None:
        if baseline not in RULES:
            raise SpecError(f"--baseline: '{baseline}' is not one of the variants "
                            f"({', '.join(labels)})")
        spec = RULES[baseline](options)
        try:
            base = VariantResult(baseline, spec, analyze_layer(spec, shape), None)
        except ConvcalcError as e:
            raise type(e)(f"baseline {baseline}: {e.message}", e.location) from None
    if base.report is None:
        raise SpecError(f"the baseline '{baseline}' does not apply here: {base.error}")
    ref = base.report
    ratio = [VariantResult(r.variant, r.spec, r.report, r.error,
                           _ratio(r.report.params, ref.params) if r.report else None,
                           _ratio(r.report.macs, ref.macs) if r.report else None)
             for r in results]
    return Comparison(shape, baseline, tuple(ratio), _closed_forms(ratio, options))


def _ratio(a: int, b: int) -> Fraction | None:
    return Fraction(a, b) if b else None


def _closed_forms(results: Sequence[VariantResult],
                  options: Options) -> tuple[tuple[str, str, Fraction, Fraction | None], ...]:
    forms: list[tuple[str, str, Fraction, Fraction | None]] = []
    for r in results:
        if r.report is None:
            continue
        kernel: Any = r.spec.get("kernel", options.get("kernel", 1))
        ks = [kernel] * max(1, r.report.input.rank) if isinstance(kernel, int) else list(kernel)
        if r.spec["kind"] == "dwsep":
            forms.append((r.variant, "1/N + 1/K² (MobileNet)",
                          F.dwsep_macs_ratio(r.report.output.channels, ks), r.macs_ratio))
        elif r.spec["kind"] == "octave" and r.spec.get("alpha_in") == r.spec.get("alpha_out"):
            alpha = Fraction(r.spec["alpha_in"])
            forms.append((r.variant, f"1 − ¾·α·(2−α), α = {alpha}", F.octave_macs_ratio(alpha),
                          r.macs_ratio))
        elif (r.spec["kind"] == "spatial_sep" and isinstance(kernel, int)
              and r.report.input.channels == r.report.output.channels
              and r.spec.get("mid") in (None, r.report.output.channels)):
            forms.append((r.variant, "2/K (large inputs, equal channels)",
                          F.spatial_sep_macs_ratio(kernel), r.macs_ratio))
    return tuple(forms)


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
          baseline: str = "conv", *, channels_first: bool = False) -> Sweep:
    chosen = list(variants) if variants is not None else parse_variants(None)
    if field in ("groups", "alpha", "multiplier", "mid"):
        # a sweep of a variant's own knob applies to the variants that have it
        chosen = [v for v in chosen if v.base == baseline or _has(v.base, field)]
    runs = []
    for value in values:
        opts = {**options, field: value}
        pinned = [Variant(v.label, v.base, {k: x for k, x in v.overrides.items() if k != field})
                  for v in chosen]
        runs.append(compare(input, opts, pinned, baseline, channels_first=channels_first))
    return Sweep(field, tuple(values), tuple(runs))


def _has(base: str, field: str) -> bool:
    probe = RULES[base]({"out": 8, "kernel": 3, field: 2})
    return field in probe or (field == "alpha" and base == "octave")

"""`convcalc compare`: every convolution variant on one input, side by side, with exact ratios.

A variant is a name (as in `--variants`), optional overrides (`grouped:groups=4`) and a rule
that turns the shared options (out, kernel, stride, padding, dilation, bias) into a layer spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

from convcalc import formulas as F
from convcalc.engine import analyze_layer
from convcalc.errors import ConvcalcError, SpecError
from convcalc.numbers import NumberError, parse_number, shown
from convcalc.report import LayerReport, exact
from convcalc.shapes import Shape
from convcalc.spec import suggest, validate_layer

Options = dict[str, Any]


def _pick(o: Options, *keys: str) -> dict[str, Any]:
    return {k: o[k] for k in keys if k in o}


def _axes(value: Any) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _groups(o: Options, prefer: Sequence[int]) -> int | None:
    """The first group count in `prefer` that divides the input and output channels."""
    cin, out = o.get("_in_channels", 0), o.get("out", 0)
    return next((g for g in prefer if g > 1 and cin % g == 0 and out % g == 0), None)


def _group_note(o: Options, variant: str, g: int, prefer: Sequence[int], what: str) -> str:
    """`groups 4 (another: --variants grouped:groups=2)`, or why no count fits."""
    cin, out = o.get("_in_channels", 0), o.get("out", 0)
    if _groups(o, prefer) is None:
        return (f"groups {g}{what}: no group count ≥ 2 divides both the {cin} input and the "
                f"{out} output channels")
    other = next((x for x in (2, 4, 8, 3, 16) if x != g and cin % x == 0 and out % x == 0), g)
    return f"groups {g}{what} (another count: --variants {variant}:groups={other})"


Rule = Callable[[Options], tuple[dict[str, Any], list[str]]]
"""The shared options → the variant's layer spec and what it set that the user did not."""


def _conv(o: Options) -> tuple[dict[str, Any], list[str]]:
    return {"kind": "conv", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                    "groups", "bias")}, []


def _pointwise(o: Options) -> tuple[dict[str, Any], list[str]]:
    notes = []
    if _axes(o.get("kernel", 1)) != [1] or o.get("padding", 0) not in (0, "valid", "same"):
        notes.append("kernel 1×1 and no padding (your kernel and padding do not apply)")
    return {"kind": "pointwise", **_pick(o, "out", "stride", "groups", "bias")}, notes


def _grouped(o: Options) -> tuple[dict[str, Any], list[str]]:
    if o.get("groups") == 1:  # a sweep's groups=1: the plain conv it starts from
        return {"kind": "conv", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                        "bias")}, ["groups 1 is the plain conv"]
    if "groups" in o:
        return {"kind": "grouped", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                           "groups", "bias")}, []
    g = _groups(o, (4, 2, 8, 3)) or 4
    return {"kind": "grouped", "groups": g, **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "bias")}, [
        _group_note(o, "grouped", g, (4, 2, 8, 3), "")]


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
    other = max(o.get("_in_channels", 1), o.get("out", 1))
    other = other if other != mid else max(1, mid // 2)
    return spec, [f"mid {mid} = min(C_in, out) channels between the K×1 and 1×K convs "
                  "(what makes it cheaper than the conv it factorises; another: --variants "
                  f"spatial_sep:mid={other})"]


def _dilated(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "dilated", **_pick(o, "out", "kernel", "stride", "padding", "dilation",
                                       "bias")}
    if "dilation" in o and any(d > 1 for d in _axes(o["dilation"])):
        return spec, []
    spec["dilation"] = 2
    return spec, ["dilation 2 (another: --variants dilated:dilation=3)"]


def _pointwise_group(o: Options) -> tuple[dict[str, Any], list[str]]:
    if o.get("groups") == 1:
        return {"kind": "pointwise", **_pick(o, "out", "stride", "bias")}, [
            "groups 1 is the plain pointwise conv"]
    if "groups" in o:
        return {"kind": "pointwise_group", **_pick(o, "out", "stride", "groups", "bias")}, []
    g = _groups(o, (4, 2, 8, 3)) or 4
    return {"kind": "pointwise_group", "groups": g, **_pick(o, "out", "stride", "bias")}, [
        _group_note(o, "pointwise_group", g, (4, 2, 8, 3), ", 1×1")]


def _shuffle_unit(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "shuffle_unit", **_pick(o, "out", "kernel", "stride", "groups", "mid",
                                            "bias")}
    notes = []
    if "groups" not in o:
        spec["groups"] = _groups(o, (3, 4, 2, 8)) or 3
        notes.append(_group_note(o, "shuffle_unit", spec["groups"], (3, 4, 2, 8),
                                 ", ShuffleNet's 3 where it divides the channels"))
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
    if _axes(o.get("dilation", 1)) != [1]:
        notes.append("no dilation (octave convs have none)")
    return spec, notes


def _transposed(o: Options) -> tuple[dict[str, Any], list[str]]:
    spec = {"kind": "transposed", **_pick(
        o, "out", "kernel", "stride", "padding", "dilation", "output_padding", "groups",
        "bias")}
    return spec, [] if "stride" in o else [
        "stride 1, as the conv (to upsample: --variants transposed:stride=2)"]


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
    fields = set(KINDS[kind].model_fields) - {"kind", "name", "op"}
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
            raise SpecError(f"option --variants: unknown variant '{base}'{suggest(base, list(RULES))};"
                            f" one of: {', '.join(RULES)}")
        overrides: dict[str, Any] = {}
        fields = variant_fields(base)
        for assignment in filter(None, rest.split(":")):
            key, eq, value = assignment.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip():
                raise SpecError(f"option --variants: write {base}:field=value, got {shown(item)}")
            if key not in fields:
                raise SpecError(f"option --variants {item}: {base} has no field {shown(key)}"
                                f"{suggest(key, sorted(fields))}; its fields: "
                                f"{', '.join(sorted(fields))}")
            if key in overrides:
                raise SpecError(f"option --variants {item}: {key} is given twice")
            overrides[key] = _value(value, f"option --variants {item}")
        variants.append(Variant(item, base, overrides))
    if not variants:
        raise SpecError("option --variants: give at least one variant")
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
                                  "ratio": exact(c.ratio), "measured": exact(c.measured),
                                  "why": c.why}
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
    why: str | None = None
    """Where `measured` differs from `ratio`: why, with the numbers (the exact expression whose
    value is `measured`)."""


KNOBS: dict[str, tuple[str, ...]] = {
    "groups": ("grouped", "pointwise_group", "shuffle_unit"),
    "multiplier": ("depthwise", "dwsep"),
    "mid": ("spatial_sep", "shuffle_unit"),
    "alpha": ("octave",), "alpha_in": ("octave",), "alpha_out": ("octave",),
}
"""A variant's own knobs. Given in the shared options or swept, each reaches only the variants
named here: `--sweep groups=1,2,4,8` groups grouped, pointwise_group and shuffle_unit, while the
baseline conv keeps groups 1 (a conv takes groups only from `--variants conv:groups=G`)."""

AXIS_FIELDS = ("kernel", "stride", "dilation", "output_padding")


def _size_text(sizes: Sequence[int]) -> str:
    return "×".join(map(str, sizes))


def _one_axis(spec: Mapping[str, Any], axis: int, rank: int) -> dict[str, Any] | None:
    """The spec's fields on one axis (scalars), or None if a per-axis list does not fit."""
    out = dict(spec)
    for name in (*AXIS_FIELDS, "padding"):
        value = spec.get(name)
        if isinstance(value, list):
            if len(value) != rank:
                return None
            out[name] = value[axis]
    return out


def _output(spec: Mapping[str, Any], shape: Shape) -> tuple[int, ...] | None:
    """The spatial output of `spec` on `shape`, or None where the layer does not apply."""
    key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in spec.items()))
    return _cached_output(key, shape)


@lru_cache(maxsize=4096)
def _cached_output(key: tuple[tuple[str, Any], ...], shape: Shape) -> tuple[int, ...] | None:
    spec = {k: list(v) if isinstance(v, tuple) else v for k, v in key}
    try:
        return analyze_layer(spec, shape).output.spatial
    except ConvcalcError:
        return None


def _fit_padding(spec: dict[str, Any], shape: Shape,
                 target: tuple[int, ...]) -> tuple[dict[str, Any], list[str]]:
    """Like for like: the padding with which the variant gives `target` (the conv's output
    size), per axis and nearest the padding given; the spec as it is where it already gives
    `target`, has no padding, or no padding reaches `target` (said in a note)."""
    from convcalc.layers import KINDS

    if "padding" not in KINDS[spec["kind"]].model_fields or not shape.rank:
        return spec, []
    now = _output(spec, shape)
    if now == target:
        return spec, []
    given = spec.get("padding", 0)
    pads: list[int] = []
    nearest: list[int] = []
    for axis, (n, want) in enumerate(zip(shape.spatial, target, strict=True)):
        one = _one_axis(spec, axis, shape.rank)
        if one is None or not all(isinstance(one.get(f, 1), int) for f in AXIS_FIELDS):
            return spec, []
        k, d = one.get("kernel", 1), one.get("dilation", 1)
        start = (0 if one.get("padding", 0) == "valid" else
                 d * (k - 1) // 2 if one.get("padding") == "same" else int(one.get("padding", 0)))
        line = Shape(shape.channels, (n,))
        reached = {p: _output({**one, "padding": p}, line)
                   for p in sorted(range(max(d * (k - 1), start) + 1),
                                   key=lambda p: (abs(p - start), p))}
        found = next((p for p, got in reached.items() if got == (want,)), None)
        if found is None:
            valid = [p for p, got in reached.items() if got is not None]
            if not valid:
                return spec, []  # the kind does not apply at any padding: its error says why
            pads, nearest = [], [valid[0]]
            break
        pads.append(found)
    if nearest:
        p = nearest[0]
        got = _output({**spec, "padding": p}, shape)
        alt = (f" (padding {p} gives {_size_text(got)})" if got and p != given else
               f" (it gives {_size_text(got)})" if got else "")
        return spec, [f"no padding gives the conv's {_size_text(target)} output{alt}; padding "
                      f"kept at {field_text(given)}"]
    padding: int | list[int] = pads[0] if len(set(pads)) == 1 else pads
    was = f" (padding {field_text(given)} gives {_size_text(now)})" if now else ""
    return {**spec, "padding": padding}, [
        f"padding {field_text(padding)} for the conv's {_size_text(target)} output{was}"]


def field_text(value: Any) -> str:
    """A field as the command line takes it: 3, or 3,5 per axis."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _malformed(spec: Mapping[str, Any], changed: set[str]) -> ConvcalcError | None:
    """The spec's first format error (type, range, a rule between fields) in a field that
    `changed`, or None: a value a user gave that the variant's kind refuses outright."""
    try:
        validate_layer(spec)
    except SpecError as e:
        return next((p for p in (e.problems or (e,)) if p.location.field in changed), None)
    return None


def _refuse(problem: ConvcalcError, option: str) -> SpecError:
    field = problem.location.field
    return SpecError(f"option {option}: {field}: {problem.message}" if field else
                     f"option {option}: {problem.message}")


def _variant_spec(v: Variant, shared: Options, knobs: Options,
                  source: str) -> tuple[dict[str, Any], list[str]]:
    """The variant's layer spec: the shared options, the knobs it owns, its overrides; a
    value the user gave (override or knob) that its kind refuses is an error naming the
    option (`--variants octave:alpha=1.5`)."""
    from convcalc.layers import KINDS

    own = {k: x for k, x in knobs.items() if v.base in KNOBS[k]}
    spec, notes = RULES[v.base]({**shared, **own, **v.overrides})
    model = KINDS[spec["kind"]].model_fields
    # an override of a field the rule does not pass on (dilated:groups=2) still reaches it
    spec.update({k: x for k, x in v.overrides.items() if k in model and k not in spec})
    plain, _ = RULES[v.base](shared)
    mine, _ = RULES[v.base]({**shared, **own})
    for changed, option in ((mine, source), (spec, f"--variants {v.label}")):
        before = plain if changed is mine else mine
        fields = {k for k in changed if changed.get(k) != before.get(k)}
        problem = _malformed(spec, fields) if fields else None
        if problem is not None:
            raise _refuse(problem, option)
    return spec, notes


def compare(input: str | Shape | Mapping[str, Any], options: Options,
            variants: Sequence[Variant] | None = None, baseline: str = "conv",
            *, channels_first: bool = False, batch: int | None = None,
            source: str = "options") -> Comparison:
    """Analyse each variant on `input` with the shared options; ratios are to `baseline`.

    Like for like: the variants' own knobs in `options` (groups, alpha, multiplier, mid: see
    KNOBS) reach only the variants that own them; every variant that has a padding gets the
    padding that gives the plain conv's output size, where one does (a note says so).
    `source` names where the knobs came from in an error (`--sweep alpha=1.5`)."""
    from convcalc.engine import input_shape

    shape, batch = input_shape(input, channels_first, batch)
    chosen = list(variants) if variants is not None else parse_variants(None)
    shared = {k: x for k, x in options.items() if k not in KNOBS}
    shared["_in_channels"] = shape.channels
    knobs = {k: x for k, x in options.items() if k in KNOBS}
    plain_conv, _ = _conv(shared)
    reference: LayerReport | None
    try:
        reference = analyze_layer(plain_conv, shape, batch=batch)
    except ConvcalcError:
        reference = None
    target = reference.output.spatial if reference is not None else None

    def run(v: Variant) -> VariantResult:
        spec, notes = _variant_spec(v, shared, knobs, source)
        more: list[str] = []
        if target is not None and "padding" not in v.overrides:
            spec, more = _fit_padding(spec, shape, target)
            notes = [*notes, *more]
        try:
            report = analyze_layer(spec, shape, batch=batch)
        except ConvcalcError as e:
            return VariantResult(v.label, spec, None, e.render(), defaults=tuple(notes))
        if target is not None and report.output.spatial != target and not more:
            notes.append(f"output {_size_text(report.output.spatial)}, not the conv's "
                         f"{_size_text(target)}: its ratios compare different sizes")
        return VariantResult(v.label, spec, report, None, defaults=tuple(notes))

    results = [run(v) for v in chosen]
    labels = [r.variant for r in results]
    base = next((r for r in results if r.variant == baseline), None)
    if base is None:
        if baseline not in RULES:
            raise SpecError(f"option --baseline: '{baseline}' is not one of the variants "
                            f"({', '.join(labels)})")
        base = run(Variant(baseline, baseline))
    if base.report is None:
        if baseline == "conv":
            # the shared options are malformed or do not fit: the conv's own error, which
            # names the field the user gave as an option
            analyze_layer(plain_conv, shape, batch=batch)
        raise SpecError(f"the baseline '{baseline}' does not apply here: {base.error}")
    ref = base.report
    ratio = [VariantResult(r.variant, r.spec, r.report, r.error,
                           _ratio(r.report.params, ref.params) if r.report else None,
                           _ratio(r.report.macs, ref.macs) if r.report else None, r.defaults)
             for r in results]
    conv = next((r.report for r in results if r.spec["kind"] == "conv" and r.report),
                reference)
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
            ratio = F.octave_macs_ratio(alpha)
            forms.append(ClosedForm(r.variant, "conv", "1 − ¾·α·(2 − α)",
                                    f"1 − ¾·{_frac(alpha)}·(2 − {_frac(alpha)})", ratio,
                                    measured, _octave_why(alpha, r.report, measured, ratio)))
        elif (kind == "spatial_sep" and isinstance(kernel, int)
              and r.report.input.channels == r.report.output.channels
              and r.spec.get("mid", r.report.output.channels) == r.report.output.channels):
            ratio = F.spatial_sep_macs_ratio(kernel)
            forms.append(ClosedForm(r.variant, "conv", "2/K (large inputs, equal channels)",
                                    f"2/{kernel}", ratio, measured,
                                    _spatial_sep_why(kernel, r.report, measured, ratio)))
    return tuple(forms)


def _octave_why(alpha: Fraction, report: LayerReport, measured: Fraction | None,
                ratio: Fraction) -> str | None:
    """Octave's α·C is rounded down (Chen et al.'s reference code): with few channels the
    split is not α, and the exact ratio is that of the split, 1 − ¾·(1 − (1 − a)·(1 − b))."""
    if measured is None or measured == ratio:
        return None
    c, n = report.input.channels, report.output.channels
    low_in, low_out = F.octave_split(c, alpha)[1], F.octave_split(n, alpha)[1]
    a, b = Fraction(low_in, c), Fraction(low_out, n)
    if 1 - Fraction(3, 4) * (1 - (1 - a) * (1 - b)) != measured:
        return None
    return (f"only ⌊{_frac(alpha)}·{c}⌋ = {low_in} of {c} input channels and "
            f"⌊{_frac(alpha)}·{n}⌋ = {low_out} of {n} output channels can be low-frequency, "
            f"so α_in = {_frac(a)} and α_out = {_frac(b)} in effect: "
            f"1 − ¾·(1 − (1 − {_frac(a)})·(1 − {_frac(b)}))")


def _spatial_sep_why(kernel: int, report: LayerReport, measured: Fraction | None,
                     ratio: Fraction) -> str | None:
    """2/K holds when the K×1 conv keeps the width; otherwise (W_in + W_out)/(K·W_out)."""
    if measured is None or measured == ratio or report.input.rank != 2:
        return None
    w_in, w_out = report.input.spatial[1], report.output.spatial[1]
    if Fraction(w_in + w_out, kernel * w_out) != measured:
        return None
    return (f"the K×1 conv keeps the input's width {w_in} (the 1×K conv makes it {w_out}), "
            f"so (W_in + W_out)/(K·W_out) = ({w_in} + {w_out})/({kernel}·{w_out})")


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
        raise SpecError(f"option --sweep: write field=v1,v2,..., e.g. kernel=3,5,7; got '{text}'")
    if key not in allowed:
        raise SpecError(f"option --sweep: cannot sweep '{key}'{suggest(key, list(allowed))}; "
                        f"one of: {', '.join(allowed)}")
    items = [v.strip() for v in values.split(",")]
    if any(not v for v in items):
        raise SpecError(f"option --sweep: an empty value in {shown(text)}; write field=v1,v2,...")
    parsed = [_value(v, "option --sweep") for v in items]
    if len(set(map(repr, parsed))) != len(parsed):
        raise SpecError(f"option --sweep: a value is repeated in {shown(text)}")
    return key, parsed


def sweep(input: str | Shape | Mapping[str, Any], options: Options, field: str,
          values: Sequence[Any], variants: Sequence[Variant] | None = None,
          baseline: str = "conv", *, channels_first: bool = False,
          batch: int | None = None) -> Sweep:
    """One comparison per value of `field`. A shared field (kernel, stride, padding, dilation,
    out) changes every variant; a knob (groups, alpha, multiplier, mid) only the variants that
    own it (KNOBS), and the others but the baseline are left out of the matrix. A value that
    the variants' kind refuses outright (alpha=1.5) is an error naming --sweep."""
    chosen = list(variants) if variants is not None else parse_variants(None)
    if field in KNOBS:
        chosen = [v for v in chosen if v.base == baseline or v.base in KNOBS[field]]
    runs = []
    for value in values:
        opts = {**options, field: value}
        pinned = [Variant(v.label, v.base, {k: x for k, x in v.overrides.items() if k != field})
                  for v in chosen]
        source = f"--sweep {field}={_value_text(value)}"
        if field not in KNOBS:
            problem = _malformed(_conv(opts)[0], {field})
            if problem is not None:
                raise _refuse(problem, source)
        runs.append(compare(input, opts, pinned, baseline, channels_first=channels_first,
                            batch=batch, source=source))
    return Sweep(field, tuple(values), tuple(runs))


def _value_text(value: Any) -> str:
    """A swept value as the user wrote it: 1.5 (exact decimals stay decimals), 3/8, 3,5."""
    if isinstance(value, Fraction) and value.denominator > 1:
        d = value.denominator
        for prime in (2, 5):
            while d % prime == 0:
                d //= prime
        if d == 1:
            digits = max(len(str(value.denominator)), 1)
            for places in range(1, digits * 4):
                scaled = value * 10**places
                if scaled.denominator == 1:
                    whole, frac = divmod(abs(scaled.numerator), 10**places)
                    sign = "-" if value < 0 else ""
                    return f"{sign}{whole}.{str(frac).rjust(places, '0')}"
        return _frac(value)
    if isinstance(value, bool):
        return str(value).lower()
    return field_text(value)

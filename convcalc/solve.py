"""`convcalc solve`: the inverse questions, answered by enumerating the forward formulas.

Three questions, one mechanism (per-axis enumeration over PyTorch's size rules in `formulas`):

- **size**: given the input, the output size wanted per axis and any fields fixed, every valid
  completion of the unknown fields (kernel, stride, dilation, padding, output_padding) within
  the search bounds. Axes are independent: each is solved alone, then the axes are combined.
- **budget**: the largest `out` whose MACs and/or params stay within a limit, counted by
  `analyze_layer` (the project's own counts).
- **chain**: the shortest chains of layers of one kind (fixed kernel and padding, strides from a
  set) that take one size to another.

Search bounds (unknown fields only; a fixed field is taken as given):
kernel 1..11, stride 1..8, dilation 1..4 (`Bounds`; a 1-wide kernel only with dilation 1,
which it ignores, except for the dilated kind); padding 0..D·(K−1) for conv and transposed
conv (more padding only adds windows that see nothing but padding; for a transposed conv it
would mean negative padding in its equivalent conv), 0..K//2 for pooling (PyTorch's limit);
output_padding 0..max(S, D)−1 (PyTorch's limit).

Order: completions that use the same values on every axis first, then the rest; within each,
the smallest sum of field values first, ties by kernel, stride, dilation, padding,
output_padding (per axis, first axis first).

Only the listed answers are built as layers (`analyze_layer`), so every answer is checked by the
same code that `convcalc layer` runs.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from itertools import product
from math import lcm, prod
from typing import Any

from convcalc import formulas as F
from convcalc.engine import analyze_layer
from convcalc.errors import Location, ShapeError, SpecError
from convcalc.layers import KINDS, canonical_kind
from convcalc.layers.base import axis_names, check_divides, per_axis
from convcalc.report import Formula, LayerReport
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import suggest, validate_layer

SIZE_FIELDS = ("kernel", "stride", "dilation", "padding", "output_padding")
"""The fields that decide the output size, in the order answers are sorted by."""

DEFAULT_LIMIT = 20
NEAREST_PER_SIZE = 3
NEAREST_SIZES = 2
"""When nothing reaches the target: the closest sizes reached (at most NEAREST_SIZES, nearest
first), with up to NEAREST_PER_SIZE completions each."""
MAX_CANDIDATES = 1_000_000
"""Largest search space per axis; beyond it the request asks for fixed fields or lower bounds."""
MAX_BOUND = 64
MAX_LAYERS = 32

Geometry = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Bounds:
    """Upper bounds of the unknown fields' search (inclusive); fixed fields are not bounded."""

    kernel: int = 11
    stride: int = 8
    dilation: int = 4

    def check(self) -> None:
        for name in ("kernel", "stride", "dilation"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_BOUND:
                raise SpecError(f"option --max-{name}: {value} is not allowed; give 1 to {MAX_BOUND}")


# --- the size rules, one family per formula ------------------------------------------------------


def _conv_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    return F.conv_output_length(length, v["kernel"], v["stride"], v["padding"], v["padding"],
                                v["dilation"])


def _transposed_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    if v["output_padding"] >= max(v["stride"], v["dilation"]):
        return 0  # PyTorch: output_padding must be smaller than stride or dilation
    return F.transposed_output_length(length, v["kernel"], v["stride"], v["padding"],
                                      v["dilation"], v["output_padding"])


def _pool_output(length: int, v: Geometry, ceil_mode: bool, covers: bool) -> int:
    k, p = v["kernel"], v["padding"]
    if p > k // 2 or (covers and length < k):
        return 0  # PyTorch: padding at most half the kernel; AvgPool3d: input ≥ kernel
    return F.pool_output_length(length, k, v["stride"], p, p, v["dilation"], ceil_mode)


def _conv_loss(length: int, v: Geometry, ceil_mode: bool) -> int:
    return F.floor_loss(length, v["kernel"], v["stride"], v["padding"], v["padding"],
                        v["dilation"], ceil_mode)


@dataclass(frozen=True, slots=True)
class Family:
    """Kinds that share one size rule: the output length (0 where PyTorch refuses the layer), the
    padding searched, and the input pixels a layer never reads (None: not applicable)."""

    output: Callable[[int, Geometry, bool, bool], int]
    max_padding: Callable[[int, int], int]
    padding_bound: str
    loss: Callable[[int, Geometry, bool], int] | None


FAMILIES = {
    "conv": Family(_conv_output, lambda k, d: d * (k - 1), "D·(K−1)", _conv_loss),
    "transposed": Family(_transposed_output, lambda k, d: d * (k - 1), "D·(K−1)", None),
    "pool": Family(_pool_output, lambda k, d: k // 2, "K//2", _conv_loss),
}
KIND_FAMILY = {"conv": "conv", "dilated": "conv", "depthwise": "conv", "grouped": "conv",
               "transposed": "transposed", "maxpool": "pool", "avgpool": "pool"}
CHAIN_DEFAULTS = {"conv": {"kernel": 3, "padding": 1}, "pool": {"kernel": 3, "padding": 1},
                  "transposed": {"kernel": 4, "padding": 1}}
"""A chain's kernel and padding unless given: 3×3 pad 1, and the DCGAN 4×4 pad 1 up-sampler."""


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Solution:
    """One answer: layer-spec fields (scalar when equal on every axis), what it produces, and
    the formulas and warnings that show it. `layers` and `sizes` describe a chain."""

    values: dict[str, Any]
    output: Shape | None
    spatial: tuple[int, ...]
    formulas: tuple[Formula, ...] = ()
    warnings: tuple[str, ...] = ()
    params: int | None = None
    macs: int | None = None
    layers: tuple[dict[str, Any], ...] = ()
    sizes: tuple[tuple[int, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.values)
        if self.layers:
            data["layers"] = [dict(layer) for layer in self.layers]
            data["sizes"] = [spec_value(s) for s in self.sizes]
        data["output"] = _shape_dict(self.output, self.spatial)
        if self.params is not None:
            data.update(params=self.params, macs=self.macs)
        data.update(formulas=[formula_text(f) for f in self.formulas],
                    warnings=list(self.warnings))
        return data


@dataclass(frozen=True, slots=True)
class Solved:
    """The answer to one `solve` question: every solution counted, the first `limit` listed,
    and, when there is none, the nearest achievable ones."""

    mode: str
    kind: str
    input: Shape | None
    input_spatial: tuple[int, ...]
    target: dict[str, Any]
    bounds: dict[str, Any]
    fields: tuple[str, ...]
    count: int
    solutions: tuple[Solution, ...]
    nearest: tuple[Solution, ...]
    reason: str | None = None
    """Why no completion reaches the target, where one bound says it (`stride 2 gives at most
    112 from 224`)."""
    notes: tuple[str, ...] = ()
    """What the question was taken to mean (TensorFlow's SAME, dilation 1 unless given)."""

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "kind": self.kind,
                "input": _shape_dict(self.input, self.input_spatial), "target": self.target,
                "bounds": self.bounds, "count": self.count,
                "solutions": [s.to_dict() for s in self.solutions],
                "nearest": [s.to_dict() for s in self.nearest],
                "reason": self.reason, "notes": list(self.notes)}


def formula_text(f: Formula, show: Callable[[Any], str] = str) -> str:
    """`H_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28`: the formula with its numbers, and its value."""
    middle = f" = {f.substituted}" if f.substituted != str(f.value) else ""
    return f"{f.metric}{middle} = {show(f.value)}"


def _shape_dict(shape: Shape | None, spatial: Sequence[int]) -> dict[str, Any]:
    if shape is not None:
        return shape.to_dict()
    return {"channels": None, "spatial": list(spatial)}


def spec_value(values: Sequence[int]) -> int | list[int]:
    """As a layer spec writes a per-axis field: a scalar when every axis agrees, else a list."""
    return values[0] if len(set(values)) == 1 else list(values)


def _target(spatial: Sequence[int] | None, max_macs: int | None = None,
            max_params: int | None = None, divisor: int | None = None) -> dict[str, Any]:
    return {"spatial": None if spatial is None else list(spatial), "max_macs": max_macs,
            "max_params": max_params, "divisor": divisor}


# --- parsing and checking the request ------------------------------------------------------------


def parse_size(text: str | int | Sequence[int], option: str, rank: int | None = None,
               same: Sequence[int] | None = None) -> tuple[int, ...]:
    """`28` or `28x28` (one per axis; one number is every axis), `same` = `same`'s size."""
    if isinstance(text, str):
        raw = text.strip()
        if raw == "same":
            if same is None:
                raise SpecError(f"option {option}: 'same' needs an input to copy")
            return tuple(same)
        parts = [p for p in re.split(r"\s*[,x×]\s*", raw) if p]
        if not parts or not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
            raise SpecError(f"option {option}: {text!r} is not a size; write 28, 28x28, same or "
                            "valid")
        values = [int(p) for p in parts]
    else:
        items: Sequence[object] = [text] if isinstance(text, int) else text
        values = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        if not values or len(values) != len(items):
            raise SpecError(f"option {option}: {text!r} is not a size; write 28, 28x28 or same")
    if any(v < 1 for v in values):
        raise SpecError(f"option {option}: {spec_value(values)} is not allowed; sizes are ≥ 1")
    if rank is not None and len(values) == 1:
        values = values * rank
    if rank is not None and len(values) != rank:
        raise SpecError(f"option {option}: {len(values)} sizes for an input with {rank} spatial "
                        f"axes (shapes are H×W×C: a 28×28 map with 1 channel is 28x28x1)")
    return tuple(values)


_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_count(text: str | int, option: str) -> int:
    """`300M` → 300000000, `1.5G`, `25k`, `4096`: exact (decimal, 1 k = 1000), rounded down."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = Fraction(text)
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kKmMgGtT]?)\s*", str(text))
        if match is None:
            raise SpecError(f"option {option}: {text!r} is not a count; write 300M, 1.5G, 25k "
                            "or a whole number")
        value = Fraction(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if value < 1:
        raise SpecError(f"option {option}: {text} is not allowed; a budget is ≥ 1")
    return int(value)


def _kind(kind: str) -> str:
    name = canonical_kind(kind)
    if name not in KIND_FAMILY:
        choices = list(KIND_FAMILY)
        raise SpecError(f"solve: unknown kind '{kind}'{suggest(name, choices)}; one of: "
                        f"{', '.join(choices)}")
    return name


def kind_fields(kind: str) -> tuple[str, ...]:
    """The size fields a kind has (avgpool has no dilation, only transposed output_padding)."""
    return tuple(f for f in SIZE_FIELDS if f in KINDS[kind].model_fields)


def given(fixed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields given: a value of None means not given."""
    return {k: v for k, v in (fixed or {}).items() if v is not None}


def _check_fixed(kind: str, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Each fixed field through the kind's own model (unknown fields, types and ranges are
    refused as `convcalc layer` refuses them), one field at a time so that a rule between
    fields can still be met by the unknown ones."""
    model = KINDS[kind].model_fields
    fixed = given(fixed)
    if "kind" in fixed:
        raise SpecError("the kind is solve's first argument, not a fixed field")
    for name in SIZE_FIELDS:
        if isinstance(fixed.get(name), str):
            raise SpecError(f"solve takes whole numbers for {name}, got {fixed[name]!r} (for "
                            "'same' ask for --output same)", Location(field=name))
    filler: dict[str, Any] = {"kind": kind, "kernel": 1}
    if "out" in model:
        filler["out"] = 1
    if kind == "grouped":
        filler["groups"] = 2
    for name, value in fixed.items():
        probe = {**filler, name: value}
        if name == "output_padding" and isinstance(value, int | list):
            # its rule against stride and dilation is the search's to meet, or to refuse
            values = value if isinstance(value, list) else [value]
            probe["stride"] = max((v for v in values if isinstance(v, int)), default=0) + 1
        validate_layer(probe)
    if kind == "grouped" and "groups" not in fixed:
        raise SpecError("missing; grouped needs it: a whole number ≥ 2",
                        Location(field="groups"))
    return dict(fixed)


def _axis_fixed(fields: Sequence[str], fixed: Mapping[str, Any],
                rank: int) -> list[dict[str, int]]:
    """Per axis: the fixed size fields (dilation 1 where the kind has none)."""
    axes: list[dict[str, int]] = [{} for _ in range(rank)]
    for name in fields:
        if name in fixed:
            for i, v in enumerate(per_axis(fixed[name], rank, name)):
                axes[i][name] = v
    if "dilation" not in fields:
        for axis in axes:
            axis["dilation"] = 1
    if "output_padding" not in fields:
        for axis in axes:
            axis["output_padding"] = 0
    return axes


def _check_channels(kind: str, shape: Shape, fixed: Mapping[str, Any], out: int | None) -> None:
    groups = fixed.get("groups", 1)
    check_divides(groups, shape.channels, "groups", "input channels")
    if out is not None:
        check_divides(groups, out, "groups", "output channels")


# --- per-axis enumeration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AxisFit:
    """One completion on one axis: the size fields' values (SIZE_FIELDS order) and the output."""

    values: tuple[int, ...]
    output: int

    @property
    def key(self) -> tuple[int, tuple[int, ...]]:
        return sum(self.values), self.values


def _choices(name: str, v: Geometry, fixed: Geometry, bounds: Bounds, family: Family,
             dilate_1: bool = False) -> Sequence[int]:
    if name in fixed:
        return (fixed[name],)
    if name == "dilation" and v.get("kernel") == 1 and not dilate_1:
        return (1,)  # a 1-wide kernel spans 1 whatever its dilation: no new answers
    if name == "padding":
        return range(family.max_padding(v["kernel"], v["dilation"]) + 1)
    if name == "output_padding":
        return range(max(v["stride"], v["dilation"]))
    return range(1, int(getattr(bounds, name)) + 1)


def _geometries(fixed: Geometry, bounds: Bounds, family: Family,
                dilate_1: bool) -> Iterator[dict[str, int]]:
    """Every combination of the size fields within the bounds (fixed ones as given)."""
    v: dict[str, int] = {}

    def extend(i: int) -> Iterator[dict[str, int]]:
        if i == len(SIZE_FIELDS):
            yield v
            return
        name = SIZE_FIELDS[i]
        for x in _choices(name, v, fixed, bounds, family, dilate_1):
            v[name] = x
            yield from extend(i + 1)

    return extend(0)


def _space_size(fixed: Geometry, bounds: Bounds, family: Family) -> int:
    """How many combinations `_geometries` would yield at most, without yielding them."""
    total = 0
    for k, s, d in product(*(_choices(n, {}, fixed, bounds, family, True)
                             for n in ("kernel", "stride", "dilation"))):
        v = {"kernel": k, "stride": s, "dilation": d}
        total += (len(_choices("padding", v, fixed, bounds, family))
                  * len(_choices("output_padding", v, fixed, bounds, family)))
    return total


@lru_cache(maxsize=64)
def _axis_table(family_name: str, fields: tuple[str, ...], length: int,
                fixed: tuple[tuple[str, int], ...], bounds: Bounds, ceil_mode: bool,
                covers: bool, dilate_1: bool) -> dict[int, tuple[AxisFit, ...]]:
    """output length → every completion on this axis that gives it, in answer order."""
    family = FAMILIES[family_name]
    given = dict(fixed)
    size = _space_size(given, bounds, family)
    if size > MAX_CANDIDATES:
        raise SpecError(f"the search has {size:,} candidates per axis (more than "
                        f"{MAX_CANDIDATES:,}); fix more fields or lower --max-kernel, "
                        "--max-stride or --max-dilation")
    table: dict[int, list[AxisFit]] = {}
    for v in _geometries(given, bounds, family, dilate_1):
        n = family.output(length, v, ceil_mode, covers)
        if n >= 1:
            table.setdefault(n, []).append(AxisFit(tuple(v[f] for f in fields), n))
    return {n: tuple(sorted(fits, key=lambda f: f.key)) for n, fits in sorted(table.items())}


def _combine(lists: Sequence[Sequence[AxisFit]], dilation: int | None,
             limit: int, mixed: bool = True) -> tuple[int, list[tuple[AxisFit, ...]]]:
    """(how many, the first `limit`) combinations of one completion per axis: same values on
    every axis first, then by total sum, then per-axis order; with `mixed` False only those
    with the same values on every axis. `dilation`: index of the dilation value when the kind
    needs dilation ≥ 2 on some axis (dilated), the one rule across axes."""
    def allowed(combo: Sequence[AxisFit]) -> bool:
        return dilation is None or any(f.values[dilation] >= 2 for f in combo)

    index = [{f.values: f for f in fits} for fits in lists]
    symmetric = [combo for combo in (tuple(ix[f.values] for ix in index) for f in lists[0]
                                     if all(f.values in ix for ix in index[1:]))
                 if allowed(combo)]
    if not mixed:
        return len(symmetric), symmetric[:limit]
    count = prod(len(fits) for fits in lists)
    if dilation is not None:
        count -= prod(sum(1 for f in fits if f.values[dilation] < 2) for fits in lists)
    chosen: list[tuple[AxisFit, ...]] = symmetric[:limit]
    if count == 0 or len(chosen) == limit:
        return count, chosen
    start = (0,) * len(lists)
    heap = [(sum(fits[0].key[0] for fits in lists), start)]
    seen = {start}
    while heap and len(chosen) < limit:
        _, at = heapq.heappop(heap)
        combo = tuple(fits[i] for fits, i in zip(lists, at, strict=True))
        if any(f.values != combo[0].values for f in combo) and allowed(combo):
            chosen.append(combo)
        for axis, fits in enumerate(lists):
            step = (*at[:axis], at[axis] + 1, *at[axis + 1:])
            if step[axis] < len(fits) and step not in seen:
                seen.add(step)
                cost = sum(f[i].key[0] for f, i in zip(lists, step, strict=True))
                heapq.heappush(heap, (cost, step))
    return count, chosen


# --- the three questions -------------------------------------------------------------------------


def _unread_warnings(names: Sequence[str], unread: Sequence[int], prefix: str = "") -> list[str]:
    """`the last 2 input pixels of H and W are never read (⌊·⌋ drops them)`, one line per
    count; the axes are named in 2-D and 3-D."""
    axes: dict[int, list[str]] = {}
    for ax, n in zip(names, unread, strict=True):
        if n:
            axes.setdefault(n, []).append(ax)
    return [f"{prefix}the last {'input pixel' if n == 1 else f'{n} input pixels'}"
            f"{' of ' + ' and '.join(where) if len(names) > 1 else ''} "
            f"{'is' if n == 1 else 'are'} never read (⌊·⌋ drops {'it' if n == 1 else 'them'})"
            for n, where in axes.items()]


def _loss_warnings(kind: str, lengths: Sequence[int], axes: Sequence[Geometry],
                   ceil_mode: bool, prefix: str = "") -> list[str]:
    """The warnings about input pixels a layer never reads (`formulas.floor_loss`), per axis."""
    loss = FAMILIES[KIND_FAMILY[kind]].loss
    if loss is None:
        return []
    unread = [loss(n, a, ceil_mode) for n, a in zip(lengths, axes, strict=True)]
    return _unread_warnings(axis_names(len(lengths)), unread, prefix)


def _size_solution(kind: str, shape: Shape, fields: Sequence[str], combo: Sequence[AxisFit],
                   passthrough: Mapping[str, Any], ceil_mode: bool) -> Solution:
    """Build one completion as a layer (the project's own check) and explain it."""
    values = {name: spec_value([f.values[i] for f in combo]) for i, name in enumerate(fields)}
    report = analyze_layer({"kind": kind, **passthrough, **values}, shape)
    formulas = tuple(f for f in report.formulas if f.metric.endswith("_out"))
    axes = [{**_defaults(fields), **dict(zip(fields, f.values, strict=True))} for f in combo]
    warnings = _loss_warnings(kind, shape.spatial, axes, ceil_mode)
    return Solution(values, report.output, report.output.spatial, formulas, tuple(warnings))


def _defaults(fields: Sequence[str]) -> dict[str, int]:
    return {f: v for f, v in (("dilation", 1), ("output_padding", 0)) if f not in fields}


def _impossible(kind: str, shape: Shape, spec: Mapping[str, Any], bounds: Bounds,
                family: Family, axis: str | None) -> ShapeError:
    """No value of the unknown fields makes a valid layer: say why, in the layer's own words
    when every size field is given."""
    if all(f in spec for f in kind_fields(kind)):
        try:
            analyze_layer({"kind": kind, **spec}, shape)
        except (ShapeError, SpecError) as e:
            return ShapeError(f"no {kind} on {shape.channels_last()} with these fields: "
                              f"{e.message}", e.location)
    where = f" on axis {axis}" if axis else ""
    return ShapeError(f"no {kind} on {shape.channels_last()} with these fields is valid{where} "
                      f"within the search bounds (kernel ≤ {bounds.kernel}, stride ≤ "
                      f"{bounds.stride}, dilation ≤ {bounds.dilation}, padding ≤ "
                      f"{family.padding_bound}; PyTorch refuses the rest)")


def _closest(reached: Iterable[tuple[int, ...]], goal: tuple[int, ...], *,
             keep: bool = False) -> list[tuple[int, ...]]:
    """Sizes nearest first (sum of per-axis distances, then smallest); `goal` itself only with
    `keep`."""
    def distance(sizes: tuple[int, ...]) -> int:
        return sum(abs(a - b) for a, b in zip(sizes, goal, strict=True))

    return sorted((s for s in reached if keep or s != goal), key=lambda s: (distance(s), s))


WORDS = ("same", "valid")
"""`--output same` and `--output valid`: TensorFlow's padding modes, as sizes per stride."""


def _word_size(word: str, family: str, n: int, v: Geometry) -> int:
    """The size TensorFlow's SAME or VALID gives from `n` with these fields: conv and pooling
    SAME ⌈n/S⌉, VALID ⌈(n − K_eff + 1)/S⌉; transposed SAME n·S, VALID n·S + max(K_eff − S, 0)
    (tf.keras `conv_output_length` / `deconv_output_length`). 0: none."""
    s, k_eff = v["stride"], v["dilation"] * (v["kernel"] - 1) + 1
    if family == "transposed":
        return n * s if word == "same" else n * s + max(k_eff - s, 0)
    if word == "same":
        return -(-n // s)
    return max(0, -(-(n - k_eff + 1) // s))


def _word_fits(word: str, family: str, fields: Sequence[str], n: int,
               table: Mapping[int, Sequence[AxisFit]]) -> tuple[AxisFit, ...]:
    """The completions on one axis that give TensorFlow's size for their own fields (VALID:
    also no padding), in answer order."""
    fits = []
    for out, found in table.items():
        for f in found:
            v = {"dilation": 1, "output_padding": 0, **dict(zip(fields, f.values, strict=True))}
            if out == _word_size(word, family, n, v) and (word == "same" or v["padding"] == 0):
                fits.append(f)
    return tuple(sorted(fits, key=lambda f: f.key))


def _same_warnings(fields: Sequence[str], combo: Sequence[AxisFit], spatial: Sequence[int],
                   family: str) -> list[str]:
    """Where TensorFlow's SAME pads unevenly (its total P = (⌈n/S⌉ − 1)·S + K_eff − n is odd,
    the extra pixel after), PyTorch's padding, the same on both sides, differs: say so."""
    if family == "transposed":
        return []
    axes: dict[tuple[int, int], list[str]] = {}
    for ax, n, f in zip(axis_names(len(spatial)), spatial, combo, strict=True):
        v = {"dilation": 1, **dict(zip(fields, f.values, strict=True))}
        k_eff = v["dilation"] * (v["kernel"] - 1) + 1
        total = max((-(-n // v["stride"]) - 1) * v["stride"] + k_eff - n, 0)
        if total != 2 * v["padding"]:
            axes.setdefault((total, v["padding"]), []).append(ax)
    def where(names: list[str]) -> str:
        return " " + " and ".join(names) if len(spatial) > 1 else ""

    return [f"TensorFlow's SAME pads{where(names)} by {total} in total ({total // 2} before, "
            f"{total - total // 2} after); PyTorch pads both sides alike: padding {p} "
            f"({2 * p} in total) gives the same size, its windows shifted"
            for (total, p), names in axes.items()]


def _word_target(word: str, family: str, spatial: Sequence[int],
                 axes: Sequence[Mapping[str, int]]) -> tuple[int, ...] | None:
    """SAME's or VALID's size where the fields it depends on are given, else None."""
    need = ("stride",) if word == "same" and family != "transposed" else (
        "stride", "kernel", "dilation")
    if word == "same" and family == "transposed":
        need = ("stride",)
    if not all(f in a for a in axes for f in need):
        return None
    sizes = tuple(_word_size(word, family, n, {"kernel": 1, "dilation": 1, **a})
                  for n, a in zip(spatial, axes, strict=True))
    return sizes if min(sizes) >= 1 else None


def _reason(kind: str, fixed: Mapping[str, Any], spatial: Sequence[int],
            target: Sequence[int], tables: Sequence[Mapping[int, Any]]) -> str | None:
    """`stride 2 gives at most 113 from 224`: where the target is beyond every size the given
    fields reach, which of them bound it."""
    given = [f"{f} {_text(fixed[f])}" for f in SIZE_FIELDS if f in fixed]
    by = (f"{kind} within the search bounds gives" if not given else
          f"{given[0]} gives" if len(given) == 1 else
          f"{', '.join(given[:-1])} and {given[-1]} give")
    for n, want, table in zip(spatial, target, tables, strict=True):
        if not table:
            continue
        high, low = max(table), min(table)
        if want > high:
            return f"{by} at most {high} from {n}"
        if want < low:
            return f"{by} at least {low} from {n}"
    return None


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def solve(kind: str, input: str | Shape | Mapping[str, Any], output: str | int | Sequence[int],
          fixed: Mapping[str, Any] | None = None, *, bounds: Bounds | None = None,
          limit: int = DEFAULT_LIMIT, channels_first: bool = False,
          per_axis: bool | None = None) -> Solved:
    """Every valid completion of the unknown size fields of `kind` on `input` that gives
    `output`: sizes per axis, or TensorFlow's "same" (⌈in/stride⌉; stride 1 unless given) or
    "valid" (no padding). `fixed`: layer-spec fields that are given (kernel, stride, padding,
    dilation, output_padding, out, groups, bias, ceil_mode). Dilation is 1 unless given;
    `"dilation": "any"` searches it (the dilated kind always searches 2 and up). Answers with
    different values per axis only with `per_axis`, by default when the input's or target's
    sizes or a fixed field differ between axes."""
    kind = _kind(kind)
    bounds = bounds or Bounds()
    bounds.check()
    _check_limit(limit)
    shape = coerce_shape(input, channels_first=channels_first)
    if shape.rank == 0:
        raise ShapeError(f"solve needs a spatial input (L×C, H×W×C or D×H×W×C), got a vector "
                         f"of {shape.channels}", Location(field="input"))
    word = output.strip().lower() if isinstance(output, str) else None
    word = word if word in WORDS else None
    target = (None if word is not None else
              parse_size(output, "--output", shape.rank, shape.spatial))
    fixed = dict(given(fixed))
    any_dilation = fixed.get("dilation") == "any"
    if any_dilation:
        del fixed["dilation"]
    fixed = _check_fixed(kind, fixed)
    fields = kind_fields(kind)
    notes: list[str] = []
    search = dict(fixed)
    if "dilation" in fields and "dilation" not in fixed and not any_dilation \
            and kind != "dilated":
        search["dilation"] = 1
        notes.append(f"dilation 1 unless given (--dilation any searches up to "
                     f"{bounds.dilation})")
    if word == "same" and "stride" in fields and "stride" not in fixed:
        search["stride"] = 1
        notes.append("same: TensorFlow's SAME, ⌈in/stride⌉ (stride 1 unless given)")
    elif word == "same":
        notes.append("same: TensorFlow's SAME, " + ("in·stride" if KIND_FAMILY[kind] ==
                                                     "transposed" else "⌈in/stride⌉"))
    elif word == "valid":
        notes.append("valid: TensorFlow's VALID, no padding")
    family_name = KIND_FAMILY[kind]
    family = FAMILIES[family_name]
    passthrough = {k: v for k, v in fixed.items() if k not in fields}
    if "out" in KINDS[kind].model_fields:
        passthrough.setdefault("out", shape.channels)
    _check_channels(kind, shape, fixed, passthrough.get("out"))
    ceil_mode = bool(fixed.get("ceil_mode", False))
    covers = kind == "avgpool" and shape.rank == 3  # PyTorch's AvgPool3d: input ≥ kernel
    axes = _axis_fixed(fields, search, shape.rank)
    tables = [_axis_table(family_name, fields, n, tuple(sorted(a.items())), bounds, ceil_mode,
                          covers, kind == "dilated")
              for n, a in zip(shape.spatial, axes, strict=True)]
    names = axis_names(shape.rank)
    searched = replace(bounds, dilation=1) if search.get("dilation") == 1 else bounds
    for ax, table in zip(names, tables, strict=True):
        if not table:
            raise _impossible(kind, shape, {**passthrough, **search}, searched, family,
                              ax if shape.rank > 1 else None)
    dilation = fields.index("dilation") if kind == "dilated" else None
    if dilation is not None and not any(f.values[dilation] >= 2 for t in tables
                                        for fits in t.values() for f in fits):
        raise _impossible(kind, shape, {**passthrough, **search}, bounds, family, None)
    if per_axis is None:
        per_axis = (len(set(shape.spatial)) > 1 or (target is not None and len(set(target)) > 1)
                    or any(isinstance(v, list) and len(set(v)) > 1 for v in fixed.values()))

    def build(combos: Sequence[Sequence[AxisFit]]) -> list[Solution]:
        out = [_size_solution(kind, shape, fields, c, passthrough, ceil_mode) for c in combos]
        if word != "same":
            return out
        return [replace(s, warnings=(*s.warnings, *_same_warnings(fields, c, shape.spatial,
                                                                  family_name)))
                for s, c in zip(out, combos, strict=True)]

    if word is not None:
        lists = [_word_fits(word, family_name, fields, n, t)
                 for n, t in zip(shape.spatial, tables, strict=True)]
    else:
        assert target is not None
        lists = [t.get(n, ()) for t, n in zip(tables, target, strict=True)]
    count, combos = _combine(lists, dilation, limit, per_axis)
    nearest: list[Solution] = []
    reason = None
    if count == 0 and target is not None:
        reason = _reason(kind, fixed, shape.spatial, target, tables)
        # the closest sizes reached: on each axis the three nearest it reaches, combined
        options = [[n for (n,) in _closest([(n,) for n in t], (want,), keep=True)[:3]]
                   for t, want in zip(tables, target, strict=True)]
        candidates = _closest(list(product(*options)), target)
        sizes_shown = 0
        for sizes in candidates:
            if len(nearest) >= limit or sizes_shown == NEAREST_SIZES:
                break
            _, found = _combine([t[s] for t, s in zip(tables, sizes, strict=True)], dilation,
                                min(NEAREST_PER_SIZE, limit - len(nearest)), per_axis)
            nearest += build(found)
            sizes_shown += bool(found)
    shown_bounds = _bounds(bounds, family, fields)
    if "dilation" in shown_bounds and "dilation" in search and "dilation" not in fixed:
        shown_bounds["dilation"] = 1
    if "stride" in shown_bounds and "stride" in search and "stride" not in fixed:
        shown_bounds["stride"] = 1
    goal = _target(target if target is not None else _word_target(
        word or "", family_name, shape.spatial, axes))
    if word is not None:
        goal["word"] = word
    return Solved("size", kind, shape, shape.spatial, goal, shown_bounds, fields, count,
                  tuple(build(combos)), tuple(nearest), reason, tuple(notes))


def _bounds(bounds: Bounds, family: Family, fields: Sequence[str]) -> dict[str, Any]:
    """The search bounds of the kind's size fields: numbers, or the rule that bounds them."""
    every = {"kernel": bounds.kernel, "stride": bounds.stride, "dilation": bounds.dilation,
             "padding": family.padding_bound, "output_padding": "max(S, D) − 1"}
    return {f: every[f] for f in fields}


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise SpecError(f"option --limit: {limit} is not allowed; give 1 or more")


def budget(kind: str, input: str | Shape | Mapping[str, Any],
           fixed: Mapping[str, Any] | None = None, *, max_macs: int | str | None = None,
           max_params: int | str | None = None, divisor: int = 1,
           channels_first: bool = False) -> Solved:
    """The largest `out` (a multiple of groups and `divisor`) whose MACs and params, as
    `analyze_layer` counts them, stay within `max_macs` / `max_params`. Counts only grow with
    `out`, so a doubling then a bisection over multiples finds it exactly. `count`: how many
    multiples fit; `nearest`: the first one over the budget."""
    kind = _kind(kind)
    if "out" not in KINDS[kind].model_fields:
        raise SpecError(f"{kind} has no out channels to size; a budget is for "
                        f"{', '.join(k for k in KIND_FAMILY if 'out' in KINDS[k].model_fields)}")
    fixed = given(fixed)
    if "out" in fixed:
        raise SpecError("not used with a budget: out is what it finds", Location(field="out"))
    macs_limit = None if max_macs is None else parse_count(max_macs, "--max-macs")
    params_limit = None if max_params is None else parse_count(max_params, "--max-params")
    if macs_limit is None and params_limit is None:
        raise SpecError("a budget needs --max-macs or --max-params")
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise SpecError(f"option --divisor: {divisor!r} is not allowed; give a whole number ≥ 1")
    shape = coerce_shape(input, channels_first=channels_first)
    fixed = _check_fixed(kind, fixed)
    groups = int(fixed.get("groups", 1))
    _check_channels(kind, shape, fixed, None)
    step = lcm(groups, divisor)

    def analyse(multiple: int) -> LayerReport:
        return analyze_layer({"kind": kind, **fixed, "out": multiple * step}, shape)

    def fits(r: LayerReport) -> bool:
        return ((macs_limit is None or r.macs <= macs_limit)
                and (params_limit is None or r.params <= params_limit))

    first = analyse(1)  # an unfit geometry fails here, with the layer's own message
    fields = kind_fields(kind)
    layer = validate_layer({"kind": kind, **fixed, "out": step})
    geometry = {f: getattr(layer, f) for f in fields}
    target = _target(None, macs_limit, params_limit, divisor)
    bounds = {"out_multiple_of": step}
    if not fits(first):
        return Solved("budget", kind, shape, shape.spatial, target, bounds, (*fields, "out"), 0,
                      (), (_budget_solution(kind, geometry, first),))
    low, high = 1, 2  # analyse(low) fits, analyse(high) does not, once the doubling ends
    while fits(analyse(high)):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(analyse(mid)) else (low, mid)
    return Solved("budget", kind, shape, shape.spatial, target, bounds, (*fields, "out"), low,
                  (_budget_solution(kind, geometry, analyse(low)),),
                  (_budget_solution(kind, geometry, analyse(low + 1)),))


def _budget_solution(kind: str, geometry: Mapping[str, Any], report: LayerReport) -> Solution:
    formulas = tuple(f for f in report.formulas if f.metric in ("weights", "bias", "MACs"))
    shape = report.input
    axes = _axis_fixed(kind_fields(kind), geometry, shape.rank)
    return Solution({**geometry, "out": report.output.channels}, report.output,
                    report.output.spatial, formulas,
                    tuple(_loss_warnings(kind, shape.spatial, axes, False)),
                    params=report.params, macs=report.macs)


def chain(kind: str, start: str | int | Sequence[int], end: str | int | Sequence[int],
          fixed: Mapping[str, Any] | None = None, *, strides: Sequence[int] = (2,),
          max_layers: int = 8, limit: int = DEFAULT_LIMIT) -> Solved:
    """The shortest chains of `kind` layers (fixed kernel, padding, dilation; one stride from
    `strides` per layer) that take size `start` to size `end`; layers that keep the size are
    never used. Shortest first, then by their strides read as a sequence."""
    kind = _kind(kind)
    _check_limit(limit)
    if not 1 <= max_layers <= MAX_LAYERS:
        raise SpecError(f"option --max-layers: {max_layers} is not allowed; give 1 to {MAX_LAYERS}")
    fixed = given(fixed)
    if "stride" in fixed:
        raise SpecError("a chain takes its strides from --strides, not --stride",
                        Location(field="stride"))
    steps = sorted(set(strides))
    if not steps or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps):
        raise SpecError(f"option --strides: {list(strides)} is not allowed; give whole numbers ≥ 1")
    if any(s > MAX_BOUND for s in steps):
        raise SpecError(f"option --strides: give strides up to {MAX_BOUND}")
    begin, finish = parse_size(start, "--from"), parse_size(end, "--to")
    rank = max(len(begin), len(finish))  # one number is every axis
    begin, finish = parse_size(begin, "--from", rank), parse_size(finish, "--to", rank)
    family_name = KIND_FAMILY[kind]
    family = FAMILIES[family_name]
    fixed = _check_fixed(kind, {**CHAIN_DEFAULTS[family_name], **fixed})
    fields = kind_fields(kind)
    axes = _axis_fixed(fields, fixed, rank)
    for axis in axes:
        axis.setdefault("dilation", 2 if kind == "dilated" else 1)
        axis.setdefault("output_padding", 0)
    ceil_mode = bool(fixed.get("ceil_mode", False))
    covers = kind == "avgpool" and rank == 3

    def step(sizes: tuple[int, ...], s: int) -> tuple[int, ...] | None:
        out = tuple(family.output(n, {**a, "stride": s}, ceil_mode, covers)
                    for n, a in zip(sizes, axes, strict=True))
        return None if min(out) < 1 or out == sizes else out

    # levels[i]: the sizes i layers can reach, each with how many chains reach it
    levels: list[dict[tuple[int, ...], int]] = [{begin: 1}]
    for _ in range(max_layers):
        if len(levels[-1]) * len(steps) > MAX_CANDIDATES // 10:
            raise SpecError(f"the chains branch into more than {MAX_CANDIDATES // 10:,} sizes; "
                            "give fewer --strides or a smaller --max-layers")
        level: dict[tuple[int, ...], int] = {}
        for sizes, ways in levels[-1].items():
            for s in steps:
                nxt = step(sizes, s)
                if nxt is not None:
                    level[nxt] = level.get(nxt, 0) + ways
        levels.append(level)

    def walk(sizes: tuple[int, ...], reach: Sequence[set[tuple[int, ...]]],
             so_far: list[int]) -> Iterator[list[int]]:
        """Stride sequences from `sizes` that stay within `reach` (the sizes, layer by layer,
        from which the goal is still reached in time), smallest strides first."""
        i = len(so_far)
        if i == len(reach) - 1:
            yield so_far
            return
        for s in steps:
            nxt = step(sizes, s)
            if nxt is not None and nxt in reach[i + 1]:
                yield from walk(nxt, reach, [*so_far, s])

    def chains(goal: tuple[int, ...], cap: int) -> list[list[int]]:
        """The first `cap` chains to `goal`: shortest first, then by strides."""
        found: list[list[int]] = []
        for depth in range(1, max_layers + 1):
            if goal not in levels[depth]:
                continue
            # reach[i]: sizes at depth i from which `goal` is reached at `depth`
            reach: list[set[tuple[int, ...]]] = [set() for _ in range(depth + 1)]
            reach[depth] = {goal}
            for i in range(depth - 1, -1, -1):
                reach[i] = {sz for sz in levels[i]
                            if any(step(sz, s) in reach[i + 1] for s in steps)}

            for strides_found in walk(begin, reach, []):
                if len(found) == cap:
                    return found
                found.append(strides_found)
        return found

    def solution(strides_found: list[int]) -> Solution:
        sizes = [begin]
        layers: list[dict[str, Any]] = []
        warnings: list[str] = []
        for i, s in enumerate(strides_found):
            geometry = {f: spec_value([a[f] for a in axes]) for f in fields if f != "stride"}
            spec = {"kind": kind, **{k: v for k, v in fixed.items() if k not in fields},
                    **geometry, "stride": s}
            probe = {"out": 1, **spec} if "out" in KINDS[kind].model_fields else spec
            report = analyze_layer(probe, Shape(1, sizes[-1]))  # the project's own check
            warnings += _loss_warnings(kind, sizes[-1], [{**a, "stride": s} for a in axes],
                                       ceil_mode, f"layer {i + 1}: ")
            layers.append(spec)
            sizes.append(report.output.spatial)
        return Solution({"strides": strides_found}, None, sizes[-1], (), tuple(warnings),
                        layers=tuple(layers), sizes=tuple(sizes))

    count = sum(level.get(finish, 0) for level in levels[1:])
    found = [solution(c) for c in chains(finish, limit)]
    nearest: list[Solution] = []
    if not found:
        reached = {sz for level in levels[1:] for sz in level}
        for sizes in _closest(reached, finish)[:NEAREST_SIZES]:
            if len(nearest) >= limit:
                break
            nearest += [solution(c) for c in chains(sizes, min(NEAREST_PER_SIZE,
                                                               limit - len(nearest)))]
    bounds = {"strides": steps, "max_layers": max_layers}
    return Solved("chain", kind, None, begin, _target(finish), bounds, ("strides",), count,
                  tuple(found), tuple(nearest))


__all__ = ["Bounds", "Solution", "Solved", "budget", "chain", "parse_count", "parse_size",
           "solve", "spec_value"]

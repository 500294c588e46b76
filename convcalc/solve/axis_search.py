"""The per-axis search of `convcalc solve size`: every completion of one axis, then the axes combined.

Takes the fixed fields and `Bounds` of one axis; gives, per output length, every `AxisFit` that
reaches it in answer order (`axis_table`, cached), the first `limit` combinations over the
axes (`combine_axes`) and the reached sizes nearest a goal (`closest_sizes`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from math import prod

from convcalc.errors import SpecError
from convcalc.solve.size_rules import (
    FAMILIES,
    MAX_CANDIDATES,
    SIZE_FIELDS,
    Bounds,
    Family,
    Geometry,
)

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
def axis_table(family_name: str, fields: tuple[str, ...], length: int,
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


def combine_axes(lists: Sequence[Sequence[AxisFit]], dilation: int | None,
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


def closest_sizes(reached: Iterable[tuple[int, ...]], goal: tuple[int, ...], *,
             keep: bool = False) -> list[tuple[int, ...]]:
    """Sizes nearest first (sum of per-axis distances, then smallest); `goal` itself only with
    `keep`."""
    def distance(sizes: tuple[int, ...]) -> int:
        return sum(abs(a - b) for a, b in zip(sizes, goal, strict=True))

    return sorted((s for s in reached if keep or s != goal), key=lambda s: (distance(s), s))

"""`convcalc solve chain`: the shortest chains of layers of one kind from one size to another.

Takes a kind, the start and end sizes, fixed fields and the strides allowed; gives a `Solved`
whose answers are stride sequences, each layer built by `analyze_layer`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from convcalc.engine import analyze_layer
from convcalc.errors import Location, SpecError
from convcalc.layers import KINDS
from convcalc.shapes import Shape
from convcalc.solve.axis_search import closest_sizes
from convcalc.solve.request import (
    axis_fixed,
    check_fixed,
    check_limit,
    given,
    kind_fields,
    known_kind,
    parse_size,
)
from convcalc.solve.results import Solution, Solved, spec_value, target_dict
from convcalc.solve.size_rules import (
    CHAIN_DEFAULTS,
    DEFAULT_LIMIT,
    FAMILIES,
    KIND_FAMILY,
    MAX_BOUND,
    MAX_CANDIDATES,
    MAX_LAYERS,
    NEAREST_PER_SIZE,
    NEAREST_SIZES,
    loss_warnings,
)


def chain(kind: str, start: str | int | Sequence[int], end: str | int | Sequence[int],
          fixed: Mapping[str, Any] | None = None, *, strides: Sequence[int] = (2,),
          max_layers: int = 8, limit: int = DEFAULT_LIMIT) -> Solved:
    """The shortest chains of `kind` layers (fixed kernel, padding, dilation; one stride from
    `strides` per layer) that take size `start` to size `end`; layers that keep the size are
    never used. Shortest first, then by their strides read as a sequence."""
    kind = known_kind(kind)
    check_limit(limit)
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
    fixed = check_fixed(kind, {**CHAIN_DEFAULTS[family_name], **fixed})
    fields = kind_fields(kind)
    axes = axis_fixed(fields, fixed, rank)
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
            warnings += loss_warnings(kind, sizes[-1], [{**a, "stride": s} for a in axes],
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
        for sizes in closest_sizes(reached, finish)[:NEAREST_SIZES]:
            if len(nearest) >= limit:
                break
            nearest += [solution(c) for c in chains(sizes, min(NEAREST_PER_SIZE,
                                                               limit - len(nearest)))]
    bounds = {"strides": steps, "max_layers": max_layers}
    return Solved("chain", kind, None, begin, target_dict(finish), bounds, ("strides",), count,
                  tuple(found), tuple(nearest))

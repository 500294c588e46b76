"""The expanded network as a tree: what the walk built, with every node's input and output.

One model of a network's structure after expansion, shared by everything that needs more than
the flat rows: export to PyTorch, graphs (Mermaid, DOT, HTML), peak-memory liveness and the
per-level subtotals of `--depth`. Layers point at their row in `NetworkReport.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from convcalc.frozen import fast_init
from convcalc.shapes import Shape

Path = tuple[str, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class TLayer:
    row: int
    input: Shape
    output: Shape


@fast_init
@dataclass(frozen=True, slots=True)
class TSeq:
    """Children in order. `path` is the level they live in; `level` says whether this sequence
    opened that level (a named block, a repeat copy, a branch path) or is transparent."""

    children: tuple[TNode, ...]
    path: Path
    label: str
    level: bool
    input: Shape
    output: Shape


@fast_init
@dataclass(frozen=True, slots=True)
class TResidual:
    """body(x) + shortcut(x); shortcut None is the identity."""

    body: TSeq
    shortcut: TSeq | None
    path: Path
    input: Shape
    output: Shape


@dataclass(frozen=True, slots=True)
class TBranches:
    """Paths on the same input, merged by concat (channels), add or mul (broadcasting); `first`:
    the first path goes on, the others are extra outputs of the network."""

    paths: tuple[TSeq, ...]
    merge: Literal["concat", "add", "mul", "first"]
    path: Path
    input: Shape
    output: Shape


@dataclass(frozen=True, slots=True)
class TSplit:
    """Channel split: path i gets sizes[i] channels; outputs concatenated."""

    paths: tuple[TSeq, ...]
    sizes: tuple[int, ...]
    path: Path
    input: Shape
    output: Shape


TNode = TLayer | TSeq | TResidual | TBranches | TSplit

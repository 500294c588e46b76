"""The spec being written: the items an import builds and the writer turns into YAML.

Takes: nothing (data classes). Gives: `Leaf` (one layer), `Sequence` (a named level),
`Residual`, `Branches`, `Split`, `BlockUse` (a use of a block with arguments), `Repeat`, the
`Imported` result, and `leaves` / `leaf_count` (the layers of a list of items, in order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from convcalc.bridges.ops import Op

# --- the spec being written --------------------------------------------------------------------

@dataclass(eq=False)
class Leaf:
    """One layer: its kind, fields, comment and the op it came from."""

    kind: str
    fields: dict[str, Any]
    comment: str | None = None
    op: Op | None = None


@dataclass(eq=False)
class Sequence:
    """A named level (a module of the model): its items in order."""

    name: str
    items: list[Any]


@dataclass(eq=False)
class Residual:
    """`body` added to its input (or to `shortcut` applied to it)."""

    body: list[Any]
    shortcut: list[Any] | None


@dataclass(eq=False)
class Branches:
    """Paths from one input, merged (`concat`, `add` or `mul`), or `first` (the others are outputs)."""

    paths: list[list[Any]]
    merge: str


@dataclass(eq=False)
class Split:
    """The channels split in `sizes` (equal parts when None), one path per part."""

    paths: list[list[Any]]
    sizes: list[int] | None


@dataclass(eq=False)
class BlockUse:
    """A use of a block (`blocks:`) with its arguments."""

    block: str
    name: str | None
    args: dict[str, Any]


@dataclass(eq=False)
class Repeat:
    """`count` consecutive uses of the same body."""

    count: Any
    name: str | None
    body: list[Any]


@dataclass
class Imported:
    """The spec mapping, its YAML text, and what the reader should be told."""

    spec: dict[str, Any]
    warnings: list[str]
    notes: list[str]
    yaml: str = ""


def leaf_count(path: list[Any]) -> int:
    return sum(1 for _ in leaves(path))


def leaves(items: Iterable[Any]) -> Iterator[Leaf]:
    for x in items:
        if isinstance(x, Leaf):
            yield x
        elif isinstance(x, Sequence):
            yield from leaves(x.items)
        elif isinstance(x, Residual):
            yield from leaves(x.body)
            if x.shortcut:
                yield from leaves(x.shortcut)
        elif isinstance(x, Branches | Split):
            for p in x.paths:
                yield from leaves(p)

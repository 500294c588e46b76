"""The spec being written: the items an import builds and the writer turns into YAML.

Takes: nothing (data classes). Gives: `Leaf` (one layer), `Sequence` (a named level),
`Residual`, `Branches`, `Split`, `BlockUse` (a use of a block with arguments), `Repeat`, the
`Imported` result, and `leaves` / `size` (the layers of a list of items, in order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from convcalc.bridges.ops import Op

# --- the spec being written --------------------------------------------------------------------

@dataclass(eq=False)
class L:
    kind: str
    fields: dict[str, Any]
    comment: str | None = None
    op: Op | None = None


@dataclass(eq=False)
class Seq:
    name: str
    items: list[Any]


@dataclass(eq=False)
class Res:
    body: list[Any]
    shortcut: list[Any] | None


@dataclass(eq=False)
class Br:
    paths: list[list[Any]]
    merge: str


@dataclass(eq=False)
class Sp:
    paths: list[list[Any]]
    sizes: list[int] | None


@dataclass(eq=False)
class Use:
    block: str
    name: str | None
    args: dict[str, Any]


@dataclass(eq=False)
class Rep:
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


def _size(path: list[Any]) -> int:
    return sum(1 for _ in _leaves(path))


def _leaves(items: Iterable[Any]) -> Iterator[L]:
    for x in items:
        if isinstance(x, L):
            yield x
        elif isinstance(x, Seq):
            yield from _leaves(x.items)
        elif isinstance(x, Res):
            yield from _leaves(x.body)
            if x.shortcut:
                yield from _leaves(x.shortcut)
        elif isinstance(x, Br | Sp):
            for p in x.paths:
                yield from _leaves(p)

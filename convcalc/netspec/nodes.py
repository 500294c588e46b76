"""The compiled spec: entries as written, with their templates and where they stood.

A spec compiles once into these nodes (structure checked, expressions parsed, constant layers
validated); the walk then expands them for one set of parameters and one input, with the
channels entering each entry known (`$in`). Nothing here knows about shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from convcalc.errors import ConvcalcError, Location
from convcalc.frozen import fast_init
from convcalc.netspec.expr import Template

Marks = dict[str, tuple[int, int]]
"""field or key → (line, column) where it stood."""


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """What every entry has: an optional name (text or a template) and condition, a location."""

    name: Template | None
    cond: Template | None
    where: Location
    trainable: bool = field(default=True, kw_only=True)
    """`trainable: false`: the parameters of every layer inside get no gradient (as --freeze)."""


@fast_init
@dataclass(frozen=True, slots=True, eq=False)
class LayerT(Entry):
    """One layer: a kind (or a template that names a kind or block) and its field templates."""

    kind: str | Template = ""
    fields: dict[str, Template] = field(default_factory=dict)
    marks: Marks = field(default_factory=dict)
    templated: bool = False
    """The kind or some field holds an expression: validated per distinct value set."""
    key: Any = None
    """Without templates: the kind and fields as one hashable value (see `content_key`), so that
    equal entries validate once."""


@dataclass(frozen=True, slots=True, eq=False)
class SeqT:
    """A list of entries in order."""

    items: tuple[Entry, ...]
    where: Location


@dataclass(frozen=True, slots=True, eq=False)
class GroupT(Entry):
    """`sequence:` — its layers as one (named) level."""

    body: SeqT = field(default_factory=lambda: SeqT((), Location()))


@dataclass(frozen=True, slots=True, eq=False)
class ResidualT(Entry):
    """body(x) + shortcut(x); shortcut None = identity, "auto" = 1×1 conv + BN where needed."""

    body: SeqT = field(default_factory=lambda: SeqT((), Location()))
    shortcut: SeqT | Literal["auto"] | None = None
    add: Template = True
    """Whether the shortcut is added (torchvision's `use_res_connect`); false: the body alone."""


@dataclass(frozen=True, slots=True, eq=False)
class BranchesT(Entry):
    """Parallel paths on the same input, merged by concat, add or mul (broadcasting 1×…×1); or
    `first`: the first path goes on, every other path is an extra output of the network (a
    head, as FCN's auxiliary classifier)."""

    paths: tuple[SeqT, ...] = ()
    merge: Literal["concat", "add", "mul", "first"] = "concat"


@dataclass(frozen=True, slots=True, eq=False)
class SplitT(Entry):
    """Channel split: path i gets sizes[i] channels (equal by default); outputs concatenated."""

    paths: tuple[SeqT, ...] = ()
    sizes: tuple[Template, ...] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class RepeatT(Entry):
    """`repeat: N` copies of a body (`index` = 0 … N−1 inside it)."""

    count: Template = 1
    body: SeqT = field(default_factory=lambda: SeqT((), Location()))


@dataclass(frozen=True, slots=True, eq=False)
class UseT(Entry):
    """A block from `blocks:` used by name, with argument templates."""

    block: str = ""
    args: dict[str, Template] = field(default_factory=dict)
    marks: Marks = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class BadT(Entry):
    """An entry that did not compile (its error is already recorded): the walk goes on without
    shapes from here, so later problems are still found."""


@dataclass(frozen=True, slots=True, eq=False)
class BlockDef:
    """A named, parameterised block: parameter defaults (None = required) and its body."""

    name: str
    params: dict[str, Any]
    body: SeqT
    where: Location


@dataclass(frozen=True, slots=True, eq=False)
class Network:
    """A compiled network spec: everything needed to expand it for some parameters and input."""

    name: str
    input: Any
    """The input as written: a shape string (may hold `${…}`), a mapping, or None."""
    channels_first: bool
    params: dict[str, Any]
    """Top-level parameters and their defaults (None = required, given with --set)."""
    blocks: dict[str, BlockDef]
    defaults: dict[str, Template]
    root: SeqT
    file: str | None = None
    warnings: tuple[str, ...] = ()
    problems: tuple[ConvcalcError, ...] = ()
    """What did not compile; the walk reports these together with what it finds."""
    input_at: Location = field(default_factory=Location)
    """Where `input:` stood in the file."""
    name_template: Template | None = None
    """The name when it holds `${…}` (`x_${arch}`): the walk evaluates it like every field."""
    name_at: Location = field(default_factory=Location)
    """Where `name:` stood in the file."""


def freeze(value: Any) -> Any:
    """A YAML value as a hashable one that keeps its types apart (1, 1.0 and true differ)."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return (type(value).__name__, repr(value) if type(value) is float else value)


_PLAIN = frozenset((int, str, bool, type(None)))


def content_key(kind: str, fields: dict[str, Any]) -> tuple[Any, ...]:
    """A constant layer entry's kind and fields as a hashable value: equal exactly when the two
    entries would validate to equal models (values' types kept apart, as `freeze` does)."""
    return (kind, *((k, type(v), v) if type(v) in _PLAIN else (k, freeze(v))
                    for k, v in fields.items()))

"""How many layers a spec can expand to, counted from its structure before anything is built.

(A repeat's empty body counts as one layer per copy: a million copies of nothing are a million
steps of the walk.)

Repeats multiply, block uses are counted once per distinct set of arguments (a block that uses
the previous one twice, thirty times over, is 2³⁰ layers and is refused at once), and a
condition that cannot be decided yet (`if: ${in == out}`) counts as taken: the result is an upper
bound of the rows the walk makes, and the walk never has to stop half-way for the layer limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convcalc.errors import Location, SpecError
from convcalc.limits import MAX_LAYERS
from convcalc.netspec.expr import (
    INDEX,
    UNKNOWN,
    ExprError,
    Template,
    Value,
    default_value,
    evaluate,
)
from convcalc.netspec.nodes import (
    BranchesT,
    Entry,
    GroupT,
    LayerT,
    Network,
    RepeatT,
    ResidualT,
    SeqT,
    SplitT,
    UseT,
)
from convcalc.numbers import NumberError, int_text

_OVER = MAX_LAYERS + 1
_BAD = object()
"""A value that does not evaluate: the walk reports it where it stands."""


def _key(value: Value) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_key(v) for v in value)
    return (type(value).__name__, value)


@dataclass
class _Bound:
    net: Network
    globals: dict[str, Value]
    memo: dict[tuple[Any, ...], int] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)

    def value(self, t: Template, env: Mapping[str, Value]) -> Value:
        try:
            return evaluate(t, env)
        except (ExprError, NumberError):
            return _BAD

    def seq(self, seq: SeqT, env: Mapping[str, Value]) -> int:
        total = 0
        for e in seq.items:
            total = min(_OVER, total + self.entry(e, env))
        return total

    def entry(self, e: Entry, env: Mapping[str, Value]) -> int:
        if e.cond is not None and self.value(e.cond, env) is False:
            return 0
        if isinstance(e, LayerT):
            if isinstance(e.kind, str):
                return 1
            kind = self.value(e.kind, env)
            if isinstance(kind, str) and kind in self.net.blocks:
                return self.use(kind, {}, e.where)
            return 1
        if isinstance(e, GroupT):
            return self.seq(e.body, env)
        if isinstance(e, ResidualT):
            short = 2 if e.shortcut == "auto" else (
                self.seq(e.shortcut, env) if isinstance(e.shortcut, SeqT) else 0)
            return min(_OVER, self.seq(e.body, env) + short)
        if isinstance(e, BranchesT | SplitT):
            return min(_OVER, sum(self.seq(p, env) for p in e.paths))
        if isinstance(e, RepeatT):
            count = self.value(e.count, env)
            if count is _BAD:
                return 0
            if count is UNKNOWN:
                raise SpecError("this repeat count depends on in (the channels entering a "
                                "block, passed as an argument): repeat counts must follow from "
                                "parameters", e.where.but(field="repeat"))
            if type(count) is not int or count <= 0:
                return 0  # the walk reports a bad count
            # a copy of an empty body still costs a step of the walk: count it as one layer
            body = max(1, self.seq(e.body, {**env, INDEX: UNKNOWN}))
            if count * body > MAX_LAYERS:
                raise SpecError(f"repeat: {int_text(count)} × {int_text(body)} layers is more "
                                f"than the limit of {MAX_LAYERS:,} layers",
                                e.where.but(field="repeat"))
            return count * body
        if isinstance(e, UseT):
            args = {k: self.value(t, env) for k, t in e.args.items()}
            return self.use(e.block, {k: UNKNOWN if v is _BAD else v for k, v in args.items()},
                            e.where)
        return 0

    def use(self, name: str, args: Mapping[str, Value], where: Location) -> int:
        block = self.net.blocks[name]
        key = (name, tuple(sorted((k, _key(v)) for k, v in args.items())))
        found = self.memo.get(key)
        if found is not None:
            return found
        if name in self.active:
            raise SpecError(f"block '{name}' uses itself ({' → '.join([*self.active, name])})",
                            where)
        local = dict(self.globals)
        for k, default in block.params.items():
            if k in args or default is None:
                local[k] = args.get(k, UNKNOWN)
                continue
            try:  # a default computed from the parameters before it (the walk says what fails)
                local[k] = default_value(default, local)
            except (ExprError, NumberError):
                local[k] = UNKNOWN
        self.active.append(name)
        try:
            count = self.seq(block.body, local)
        finally:
            self.active.pop()
        self.memo[key] = count
        return count



def check_layer_count(net: Network, params: Mapping[str, Value]) -> int:
    """The upper bound of the network's rows; refuses a network over the layer limit."""
    count = _Bound(net, dict(params)).seq(net.root, {**params, "in_channels": UNKNOWN})
    if count > MAX_LAYERS:
        raise SpecError(f"the network expands to more than {MAX_LAYERS:,} layers",
                        Location(file=net.file))
    return count

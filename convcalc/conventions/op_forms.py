"""A layer's torch calls as the user's model writes them (the spec's `op`, see
convcalc.layers.op_forms), for the conventions to read.

The calls of a layer (convcalc.conventions.ops) are the export's: modules. A layer whose spec
says `op: function` or `op: method` makes the same calls with `form` set, so each convention's
rule can count what the tool counts for that form (ptflops: the patched functional only; thop:
nothing; fvcore: `x.mean` has no handle). `op: channels_last` on a pointwise conv makes it the
`nn.Linear` torch applies to channels-last data (`linear`, `linear_bias` on the map's shape:
the tools' linear rules then read its positions), and on a layernorm sets `form` (the exact
class `nn.LayerNorm`, which ptflops and thop match by type, where LayerNorm2d is a subclass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

# the calls are convcalc.conventions.ops.Op, which imports this module: typed loosely here
Op = Any
Rule = Callable[[Op], int]
Call = TypeVar("Call", bound=Any)

RENAMED = {"conv": "linear", "conv_bias": "linear_bias"}
"""A channels-last pointwise conv's calls: nn.Linear's."""


def written(form: str | None, ops: list[Call]) -> list[Call]:
    """The calls of a layer written in `form` (None or "module": as they are)."""
    if form is None or form == "module":
        return ops
    if form == "channels_last":
        return [replace(op, op=RENAMED.get(op.op, op.op), form=form) for op in ops]
    return [replace(op, form=form) for op in ops]


def by_form(module: Rule, function: Rule | None = None, method: Rule | None = None) -> Rule:
    """One rule for a call in each form: `module` (and channels_last) as the export writes it,
    `function` for `F.x(…)`, `method` for `x.m(…)`; a form without a rule counts 0 (the tool
    does not see it)."""
    def rule(op: Op) -> int:
        if op.form == "function":
            return function(op) if function is not None else 0
        if op.form == "method":
            return method(op) if method is not None else 0
        return module(op)

    rule.__doc__ = module.__doc__
    return rule

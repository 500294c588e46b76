"""Constant folding of an ONNX graph's shape arithmetic, each result sized before it is built.

A node whose inputs are all constants (a Reshape's target computed as Shape → Gather →
Concat, a Slice's bounds) becomes a constant `Value` when its result has at most FOLD_LIMIT
elements; its values are computed only when a rule asks for them. Takes a node and its
`Attrs`; gives True when it was folded (its output is then in `constants`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from convcalc.bridges.onnx_nodes import Attrs, Dims, GraphError, Value
from convcalc.bridges.onnx_proto import ATTR_TENSOR, FLOAT_TYPES, NodeInfo
from convcalc.bridges.onnx_rules import RuleBook

FOLD_LIMIT = 1 << 12
"""Elements of one tensor folded from constants (shape arithmetic holds a handful)."""


class ConstantFolding(RuleBook):
    """Folds the small constant nodes of a graph."""

    # -- constant folding (small results only, sized before they are built)

    def fold(self, n: NodeInfo, at: Attrs) -> bool:
        op = n.op_type
        if len(n.outputs) != 1 or not n.outputs[0]:
            return False
        out = n.outputs[0]
        if op == "Shape":
            d = self.dims(n.inputs[0])
            if d is None:
                return False
            start, end = at.integer("start", 0), at.integer("end", None)
            values = list(d[slice(start, end)])
            self.constants[out] = Value((len(values),), 7, values)
            return True
        if op == "Identity":
            self.constants[out] = self.constants[n.inputs[0]]
            return True
        shapes = [self.dims(t) if t else None for t in n.inputs]
        try:
            result = self.infer(n, at, shapes)
        except GraphError:
            raise
        if result is None or not result or result[0] is None:
            return False
        dims = result[0]
        if math.prod(dims) > FOLD_LIMIT:
            # too big to compute here: a constant of known shape whose values stay unknown
            self.constants[out] = Value(dims, 0)
            return True
        dtype = self.out_type(n, at)
        deps = tuple(self.constants[t] for t in n.inputs if t and t in self.constants)
        self.constants[out] = Value(dims, dtype, load=lambda: self.evaluate(n, at, dims),
                                    deps=deps)
        return True

    def out_type(self, n: NodeInfo, at: Attrs) -> int:
        if n.op_type == "Cast":
            return int(at.integer("to", 0))
        if n.op_type in ("Equal", "Less", "Greater", "Not", "And", "Or"):
            return 9
        if n.op_type in ("Range", "ConstantOfShape") and n.op_type == "ConstantOfShape":
            v = at._get("value", (ATTR_TENSOR,))
            return v.dtype if v is not None else 1
        first = self.constants.get(n.inputs[0]) if n.inputs and n.inputs[0] else None
        return first.dtype if first is not None else 0

    def evaluate(self, n: NodeInfo, at: Attrs, dims: Dims) -> list[Any] | None:
        """The values of a small folded node (None: an input's values are unknown)."""
        op = n.op_type
        ins = [self.values(t) if t else None for t in n.inputs]
        shapes = [self.dims(t) if t else None for t in n.inputs]
        size = math.prod(dims)
        if op in ("Cast", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Identity", "Dropout"):
            if ins[0] is None:
                return None
            if op == "Cast":
                to = at.integer("to", 0)
                if to in FLOAT_TYPES:
                    return [float(v) for v in ins[0]]
                if to == 9:
                    return [bool(v) for v in ins[0]]
                return [_trunc(v) for v in ins[0]]
            return list(ins[0])
        if op == "ConstantOfShape":
            v = at._get("value", (ATTR_TENSOR,))
            fill = self.tensor_value(v).values() if v is not None else [0.0]
            return None if not fill else [fill[0]] * size
        if op == "Range":
            if any(v is None or len(v) != 1 for v in ins[:3]):
                return None
            start, _, delta = (v[0] for v in ins[:3])  # type: ignore[index]
            return [start + i * delta for i in range(size)]
        if any(v is None for v in ins if v is not ins[0] or ins[0] is None) or \
                any(v is None for v in ins):
            return None
        vals: list[list[Any]] = ins  # type: ignore[assignment]
        if op == "Gather":
            axis = at.integer("axis", 0) % len(shapes[0])  # type: ignore[arg-type]
            return _gather(vals[0], shapes[0], vals[1], axis)  # type: ignore[arg-type]
        if op == "Concat":
            axis = at.integer("axis", 0) % len(dims)
            parts = [(v, s) for v, s in zip(vals, shapes, strict=True)]
            return _concat(parts, axis, dims)
        if op == "Slice":
            return self.slice_values(n, at, vals[0], shapes[0], dims)  # type: ignore[arg-type]
        if op == "Expand":
            return _broadcast_to(vals[0], shapes[0], dims)  # type: ignore[arg-type]
        if op == "Where":  # the -1 → 1 of an exported expand(n, -1, -1) (ViT's class token)
            c, a, b = (_broadcast_to(v, s, dims) for v, s in zip(vals, shapes, strict=True))  # type: ignore[arg-type]
            return [x if k else y for k, x, y in zip(c, a, b, strict=True)]
        if op in BINARY_FUNCS:
            a = _broadcast_to(vals[0], shapes[0], dims)  # type: ignore[arg-type]
            b = _broadcast_to(vals[1], shapes[1], dims)  # type: ignore[arg-type]
            integer = all(isinstance(x, int) and not isinstance(x, bool) for x in a + b)
            try:
                return [BINARY_FUNCS[op](x, y, integer) for x, y in zip(a, b, strict=True)]
            except (ZeroDivisionError, OverflowError, ValueError, TypeError):
                return None
        if op in ("Neg", "Floor", "Ceil", "Abs"):
            try:
                return [UNARY_FUNCS[op](x) for x in vals[0]]
            except (OverflowError, ValueError, TypeError):
                return None
        return None

    def slice_values(self, n: NodeInfo, at: Attrs, data: list[Any], shape: Dims,
                     dims: Dims) -> list[Any] | None:
        bounds = self.slice_bounds(n, at, shape)
        if bounds is None:
            return None
        ranges = [range(*b) for b in bounds]
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        out: list[Any] = []

        def visit(axis: int, offset: int) -> None:
            if axis == len(shape):
                out.append(data[offset])
                return
            for i in ranges[axis]:
                visit(axis + 1, offset + i * strides[axis])

        if len(shape) > 8:
            return None
        visit(0, 0)
        return out if len(out) == math.prod(dims) else None


def _trunc(v: Any) -> Any:
    if isinstance(v, float):
        if not math.isfinite(v):
            raise OverflowError
        return int(v)
    return int(v)


def _div(a: Any, b: Any, integer: bool) -> Any:
    if integer:
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    return a / b


BINARY_FUNCS: dict[str, Callable[[Any, Any, bool], Any]] = {
    "Add": lambda a, b, i: a + b, "Sub": lambda a, b, i: a - b, "Mul": lambda a, b, i: a * b,
    "Div": _div, "Max": lambda a, b, i: max(a, b), "Min": lambda a, b, i: min(a, b),
    "Equal": lambda a, b, i: a == b, "Less": lambda a, b, i: a < b,
    "Greater": lambda a, b, i: a > b,
    "Mod": lambda a, b, i: a % b if i else math.fmod(a, b)}  # ONNX: integers as Python, floats fmod
UNARY_FUNCS: dict[str, Callable[[Any], Any]] = {
    "Neg": operator.neg, "Abs": abs, "Floor": lambda v: math.floor(v) if isinstance(v, float)
    else v, "Ceil": lambda v: math.ceil(v) if isinstance(v, float) else v}


def _broadcast_to(values: list[Any], shape: Dims, dims: Dims) -> list[Any]:
    """`values` (of `shape`) repeated to `dims` (numpy's broadcasting; sizes are checked)."""
    full = (1,) * (len(dims) - len(shape)) + tuple(shape)
    if full == tuple(dims):
        return list(values)
    strides = [math.prod(full[i + 1:]) for i in range(len(full))]
    out = []
    for flat in range(math.prod(dims)):
        offset, rest = 0, flat
        for axis in range(len(dims) - 1, -1, -1):
            i = rest % dims[axis]
            rest //= dims[axis]
            if full[axis] != 1:
                offset += i * strides[axis]
        out.append(values[offset])
    return out


def _gather(values: list[Any], shape: Dims, index: list[Any], axis: int) -> list[Any] | None:
    outer = math.prod(shape[:axis])
    inner = math.prod(shape[axis + 1:])
    size = shape[axis]
    out = []
    for o in range(outer):
        for raw in index:
            if isinstance(raw, float) and not math.isfinite(raw):
                return None  # a NaN or infinite index (a hostile constant): no values
            i = int(raw)
            if not -size <= i < size:
                return None
            base = (o * size + i % size) * inner
            out.extend(values[base:base + inner])
    return out


def _concat(parts: list[tuple[list[Any], Dims | None]], axis: int, dims: Dims) -> list[Any]:
    outer = math.prod(dims[:axis])
    out: list[Any] = []
    for o in range(outer):
        for values, shape in parts:
            assert shape is not None
            chunk = math.prod(shape[axis:])
            out.extend(values[o * chunk:(o + 1) * chunk])
    return out

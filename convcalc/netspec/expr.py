"""Expressions inside `${…}` and `$name`: exact rational arithmetic over parameters.

    ${in * t}                      multiply the channels entering the layer by a parameter
    ${make_divisible(32 * width)}  torchvision's rounding to a multiple of 8
    ${stride == 1 and in == out}   a condition for `if:`

Numbers are ints and exact fractions (`/` divides exactly, `0.75` is 3/4); `//`, `%`, `**`
(small whole exponents), comparisons, `and`/`or`/`not`, `a if c else b`, lists `[k, k]`, text in
quotes, and the functions min, max, round, ceil, floor, int, abs, make_divisible. `$name` works
inside `${…}` too, and `in` is the channel count entering the layer (also `in_channels`).

A compiled expression is checked once (syntax, allowed constructs, size and depth limits) and
evaluated per use; no Python is ever executed. A value known only while walking the network
(`in` when the walk could not reach the layer) is `UNKNOWN`, and everything computed from it is
`UNKNOWN` too.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc.limits import MAX_EXPR_CHARS, MAX_EXPR_DEPTH, MAX_VALUE_DIGITS
from convcalc.numbers import NumberError, check_value, from_float, parse_number, shown


class ExprError(ValueError):
    """An expression that cannot be read or evaluated; the message says why."""


class _Unknown:
    """A value known only while walking (the channels entering a layer the walk did not reach)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return other is self


UNKNOWN = _Unknown()
Value = Any
"""int | Fraction | bool | str | tuple of values | UNKNOWN."""

IN_CHANNELS = "in_channels"
INDEX = "index"
BUILTIN_NAMES = (IN_CHANNELS, INDEX)


def make_divisible(v: Value, divisor: Value = 8, min_value: Value = None) -> int:
    """torchvision's `_make_divisible`: the nearest multiple of `divisor` ≥ `min_value`
    (default `divisor`), one step up if rounding down lost more than 10 % — exactly, in rationals
    (torchvision computes it in floats; the two agree unless float error crosses an integer)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, math.floor(Fraction(v) + Fraction(divisor, 2)) // divisor * divisor)
    if new_v < Fraction(9, 10) * v:
        new_v += divisor
    return int(new_v)


def _round(x: Value, ndigits: Value = None) -> Value:
    """Python's round: half to even, an int without `ndigits`."""
    return round(Fraction(x)) if ndigits is None else round(Fraction(x), ndigits)


def _int(x: Value) -> int:
    """Python's int(): truncation toward zero."""
    return int(Fraction(x))


def _extreme(pick: Callable[..., Value]) -> Callable[..., Value]:
    def call(*args: Value) -> Value:
        values = list(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else list(args)
        if not values:
            raise ExprError(f"{pick.__name__}() needs at least one value")
        return pick(values)

    return call


FUNCTIONS: dict[str, tuple[Callable[..., Value], int, int]] = {
    "min": (_extreme(min), 1, 64),
    "max": (_extreme(max), 1, 64),
    "round": (_round, 1, 2),
    "ceil": (lambda x: math.ceil(Fraction(x)), 1, 1),
    "floor": (lambda x: math.floor(Fraction(x)), 1, 1),
    "int": (_int, 1, 1),
    "abs": (abs, 1, 1),
    "make_divisible": (make_divisible, 1, 3),
}
"""name → (function, fewest arguments, most arguments)."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: lambda a, b: Fraction(a) / b, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
            ast.Call, ast.Name, ast.Constant, ast.List, ast.Tuple, ast.Load, ast.operator,
            ast.unaryop, ast.boolop, ast.cmpop)
ALLOWED_TEXT = ("parameters, numbers, + - * / // % **, comparisons, and/or/not, "
                "'a if c else b', [lists] and min, max, round, ceil, floor, int, abs, "
                "make_divisible")


def _normal(value: Value) -> Value:
    """Fractions that are whole become ints; every number stays within the digit limit."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            value = value.numerator
        else:
            check_value(value, "a result")
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        check_value(value, "a result")
    return value


def _is_number(v: Value) -> bool:
    return isinstance(v, int | Fraction) and not isinstance(v, bool)


def _prepare(text: str) -> str:
    """`$name` → `name`, the word `in` → `in_channels` (outside quoted text)."""
    out: list[str] = []
    for i, piece in enumerate(re.split(r"('[^']*'|\"[^\"]*\")", text)):
        if i % 2:
            out.append(piece)
            continue
        code = re.sub(r"\$(?=[A-Za-z_])", "", piece)
        code = re.sub(r"(?<![\w.])true(?!\w)", "True", code)
        code = re.sub(r"(?<![\w.])false(?!\w)", "False", code)
        out.append(re.sub(r"(?<![\w.])in(?!\w)", IN_CHANNELS, code))
    return "".join(out)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_IN_WORD = re.compile(r"(?<![\w.$])in(?!\w)\s*[\[(]|\w\s+in\s+[\w\[(]")


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """A checked expression: its text as written, its syntax tree, the names it reads."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Value]) -> Value:
        try:
            return _normal(self._eval(self.tree, env))
        except NumberError as e:
            raise ExprError(f"${{{self.text}}}: {e}") from None
        except (ZeroDivisionError, TypeError, ValueError, OverflowError) as e:
            if isinstance(e, ExprError):
                raise
            message = "division by zero" if isinstance(e, ZeroDivisionError) else str(e)
            raise ExprError(f"${{{self.text}}}: {message}") from None

    def _eval(self, node: ast.AST, env: Mapping[str, Value]) -> Value:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ExprError(f"unknown parameter '{node.id}'")
            return _exact(env[node.id])
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, env), self._eval(node.right, env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            if not (_is_number(a) and _is_number(b)):
                raise ExprError(f"${{{self.text}}}: arithmetic needs numbers, got "
                                f"{_kind(a)} and {_kind(b)}")
            if isinstance(node.op, ast.Pow):
                self._check_power(a, b)
            return _normal(_BINARY[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, env)
            if v is UNKNOWN:
                return UNKNOWN
            if isinstance(node.op, ast.Not):
                return not v
            if not _is_number(v):
                raise ExprError(f"${{{self.text}}}: arithmetic needs numbers, got {_kind(v)}")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            values = [self._eval(v, env) for v in node.values]
            if any(v is UNKNOWN for v in values):
                return UNKNOWN
            result = values[0]
            for v in values[1:]:
                result = (result and v) if isinstance(node.op, ast.And) else (result or v)
            return result
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env)
            rights = [self._eval(c, env) for c in node.comparators]
            if left is UNKNOWN or any(r is UNKNOWN for r in rights):
                return UNKNOWN
            for op, right in zip(node.ops, rights, strict=True):
                if not isinstance(op, ast.Eq | ast.NotEq) and not (
                        _is_number(left) and _is_number(right)):
                    raise ExprError(f"${{{self.text}}}: only numbers can be ordered")
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            test = self._eval(node.test, env)
            if test is UNKNOWN:
                return UNKNOWN
            return self._eval(node.body if test else node.orelse, env)
        if isinstance(node, ast.List | ast.Tuple):
            items = tuple(self._eval(e, env) for e in node.elts)
            return UNKNOWN if any(i is UNKNOWN for i in items) else items
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        args = [self._eval(a, env) for a in node.args]
        if any(a is UNKNOWN for a in args):
            return UNKNOWN
        for a in args:
            if not (_is_number(a) or isinstance(a, tuple) or a is None):
                raise ExprError(f"${{{self.text}}}: {node.func.id}() needs numbers, got "
                                f"{_kind(a)}")
        function = FUNCTIONS[node.func.id][0]
        return _normal(function(*args))

    def _check_power(self, base: Value, exponent: Value) -> None:
        if not isinstance(exponent, int) or abs(exponent) > 64:
            raise ExprError(f"${{{self.text}}}: ** needs a whole exponent between -64 and 64")
        size = max(abs(Fraction(base).numerator).bit_length(), Fraction(base).denominator
                   .bit_length())
        if size * abs(exponent) > MAX_VALUE_DIGITS * 3.33:
            raise ExprError(f"${{{self.text}}}: the result would have more than "
                            f"{MAX_VALUE_DIGITS} digits")


def _exact(v: Value) -> Value:
    """A value as expressions compute with it: a float (a decimal written in YAML, e.g. a
    block's argument `{x: 0.25}`) as the exact fraction it was written as, lists as tuples."""
    if isinstance(v, float):
        return _normal(from_float(v))
    if isinstance(v, list | tuple) and not isinstance(v, str):
        return tuple(_exact(i) for i in v)
    return v


def _kind(v: Value) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return f"text {shown(v)}"
    if isinstance(v, tuple | list):
        return "a list"
    if v is None:
        return "nothing"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, int | float | Fraction):
        return "a number"
    return type(v).__name__


def compile_expr(text: str) -> Expr:
    """Check `text` (the inside of `${…}`) and return it compiled. Raises ExprError."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPR_CHARS} characters")
    source = _prepare(text)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        if _IN_WORD.search(_QUOTED.sub("", text)):
            raise ExprError(f"cannot read expression {shown(text)}: `in` is the input channel "
                            "count (in_channels); membership (x in [a, b]) is not supported: "
                            "write x == a or x == b") from None
        raise ExprError(f"cannot read expression {shown(text)}; allowed: {ALLOWED_TEXT}") from None
    names: set[str] = set()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            raise ExprError(f"expression nested deeper than {MAX_EXPR_DEPTH} levels")
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"{shown(text)}: {type(node).__name__.lower()} is not allowed; "
                            f"allowed: {ALLOWED_TEXT}")
        if isinstance(node, ast.Constant):
            node.value = _constant(node, source)
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExprError(f"{shown(text)}: {node.id} is a function; call it: {node.id}(…)")
            names.add(node.id)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = (f"unknown function {shown(node.func.id)}"
                          if isinstance(node.func, ast.Name) else
                          "only a listed function can be called, by its name")
                raise ExprError(f"{shown(text)}: {called}; functions: {', '.join(FUNCTIONS)} "
                                "(and names: parameters, in, index)")
            if node.keywords:
                raise ExprError(f"{shown(text)}: write the arguments of {node.func.id}() "
                                "in order, without names")
            low, high = FUNCTIONS[node.func.id][1:]
            if not low <= len(node.args) <= high:
                raise ExprError(f"{shown(text)}: {node.func.id}() takes {low}"
                                f"{'' if low == high else f' to {high}'} arguments")
            stack.extend((a, depth + 1) for a in node.args)
            continue
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    assert isinstance(tree, ast.Expression)
    return Expr(text, tree.body, frozenset(names))


def _constant(node: ast.Constant, source: str) -> Value:
    value = node.value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        literal = ast.get_source_segment(source, node) or repr(value)
        try:
            return parse_number(literal)
        except NumberError as e:
            raise ExprError(str(e)) from None
    raise ExprError(f"{type(value).__name__} constants are not allowed")


# --- templates: field values that may hold expressions ---------------------------------------

_WHOLE_EXPR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)|\$\{(.*)\}", re.DOTALL)
_PIECE = re.compile(r"\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True, eq=False)
class Interp:
    """Text with `${…}` inside (`b${index + 5}`): each piece's value written into the text."""

    parts: tuple[str | Expr, ...]
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Value]) -> Value:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            v = part.evaluate(env)
            if v is UNKNOWN:
                return UNKNOWN
            out.append(_as_text(v))
        return "".join(out)


@dataclass(frozen=True, slots=True, eq=False)
class ListT:
    """A list whose items may hold expressions."""

    items: tuple[Any, ...]
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Value]) -> Value:
        values = [evaluate(i, env) for i in self.items]
        return UNKNOWN if any(v is UNKNOWN for v in values) else values


def _as_text(v: Value) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, Fraction):
        return f"{v.numerator}/{v.denominator}"
    return str(v)


Template = Any
"""A constant, an Expr, an Interp or a ListT."""


def compile_value(raw: Any) -> Template:
    """A field value as written in YAML → a template (constants stay as they are)."""
    if isinstance(raw, str):
        if "$" not in raw:
            return raw
        whole = _WHOLE_EXPR.fullmatch(raw.strip())
        if whole and (whole.group(1) or _balanced(whole.group(2))):
            return compile_expr(whole.group(1) or whole.group(2))
        parts: list[str | Expr] = []
        names: set[str] = set()
        last = 0
        for m in _PIECE.finditer(raw):
            parts.append(raw[last:m.start()])
            expr = compile_expr(m.group(1) if m.group(1) is not None else m.group(2))
            names |= expr.names
            parts.append(expr)
            last = m.end()
        parts.append(raw[last:])
        leftover = "".join(p for p in parts if isinstance(p, str))
        if "${" in leftover or re.search(r"\$(?![A-Za-z_{])", leftover):
            raise ExprError(f"cannot read {shown(raw)}: write $name or ${{expression}}")
        return Interp(tuple(p for p in parts if p != ""), frozenset(names))
    if isinstance(raw, list):
        items = [compile_value(v) for v in raw]
        if any(is_template(i) for i in items):
            return ListT(tuple(items), frozenset().union(*(names_of(i) for i in items)))
        return items
    return raw


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


_TEMPLATES = (Expr, Interp, ListT)
"""A tuple, not a union: isinstance with a tuple is 2.5× cheaper, and this is on every field."""


def is_template(t: Template) -> bool:
    return isinstance(t, _TEMPLATES)


def names_of(t: Template) -> frozenset[str]:
    return t.names if is_template(t) else frozenset()


def evaluate(t: Template, env: Mapping[str, Value]) -> Value:
    """The value of a template in `env` (constants are returned as they are)."""
    if isinstance(t, _TEMPLATES):
        return t.evaluate(env)
    return t


def source_text(t: Template) -> str | None:
    """How the template was written, for messages (None for constants)."""
    if isinstance(t, Expr):
        return f"${{{t.text}}}"
    if isinstance(t, Interp):
        return "".join(p if isinstance(p, str) else f"${{{p.text}}}" for p in t.parts)
    if isinstance(t, ListT):
        inner = [source_text(i) or repr(i) for i in t.items]
        return "[" + ", ".join(inner) + "]"
    return None


_DEFAULTS: dict[str, Template] = {}
"""Compiled defaults by their text (a block used a thousand times compiles its defaults once)."""


def default_value(raw: Value, env: Mapping[str, Value]) -> Value:
    """A parameter's default as it is used: `$name` and `${…}` in it evaluated in `env` (the
    network's parameters, then the block's parameters before it, in order); other values as
    they are. Raises ExprError."""
    if isinstance(raw, tuple | list):
        return tuple(default_value(v, env) for v in raw)
    if not (isinstance(raw, str) and "$" in raw):
        return raw
    template = _DEFAULTS.get(raw)
    if template is None:
        template = compile_value(raw)
        if len(_DEFAULTS) < 4096:
            _DEFAULTS[raw] = template
    return evaluate(template, env)


def all_names(templates: Sequence[Template]) -> frozenset[str]:
    return frozenset().union(*(names_of(t) for t in templates)) if templates else frozenset()

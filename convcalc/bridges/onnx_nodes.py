"""An ONNX node as the shape rules read it: its attributes (each read with its type checked),
the constant tensor `Value` (values read or folded lazily), the one error a malformed graph
raises (`GraphError`), and how a message names a node, a tensor and a shape.

Takes a parsed `NodeInfo` (convcalc.bridges.onnx_proto); gives `Attrs`, `Value`, `GraphError`,
`broadcast` (numpy's rule on shapes) and the message helpers the rule modules share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from convcalc.bridges.graph import printable
from convcalc.bridges.onnx_proto import (
    ATTR_FLOAT,
    ATTR_FLOATS,
    ATTR_GRAPH,
    ATTR_GRAPHS,
    ATTR_INT,
    ATTR_INTS,
    ATTR_STRING,
    ATTR_TENSOR,
    ATTR_TYPES,
    Attribute,
    NodeInfo,
)

Dims = tuple[int, ...]
MAX_DIM = 2**63 - 1


class GraphError(Exception):
    """The graph is malformed or does not fit itself (the message names the node)."""


class Value:
    """A constant tensor: its dims, element type, and its values when known (read lazily).

    A folded tensor's values are computed from its inputs' when first asked for; a long chain
    of folded constants is forced from its start, iteratively (no Python recursion)."""

    __slots__ = ("_load", "_values", "deps", "dims", "dtype")

    def __init__(self, dims: Dims, dtype: int, values: list[Any] | None = None,
                 load: Callable[[], list[Any] | None] | None = None,
                 deps: tuple[Value, ...] = ()) -> None:
        self.dims = dims
        self.dtype = dtype
        self._values = values
        self._load = load
        self.deps = deps

    def values(self) -> list[Any] | None:
        if self._load is None:
            return self._values
        order: list[Value] = []
        stack = [self]
        while stack:
            v = stack.pop()
            if v._load is None:
                continue
            order.append(v)
            stack.extend(d for d in v.deps if d._load is not None)
        for v in reversed(order):
            load = v._load
            if load is not None:
                v._load = None
                v._values = load()
        return self._values

    @property
    def elements(self) -> int:
        return math.prod(self.dims)


def node_label(n: NodeInfo) -> str:
    op = printable(n.op_type, 60)
    return f"node '{printable(n.name)}' ({op})" if n.name else f"a {op} node"


def tensor_label(name: str) -> str:
    """A tensor's name as a message shows it."""
    return printable(name, 100)


class Attrs:
    """A node's attributes, each read with its type checked."""

    def __init__(self, node: NodeInfo) -> None:
        self.node = node
        self.by_name: dict[str, Attribute] = {}
        for a in node.attributes:
            if a.name in self.by_name:
                raise GraphError(f"{node_label(node)} has attribute '{a.name}' twice")
            self.by_name[a.name] = a

    def _get(self, name: str, kinds: tuple[int, ...]) -> Any:
        a = self.by_name.get(name)
        if a is None:
            return None
        if a.type not in kinds:
            want = " or ".join(ATTR_TYPES[k] for k in kinds)
            raise GraphError(f"{node_label(self.node)}: attribute '{name}' is "
                             f"{ATTR_TYPES.get(a.type, 'of unknown type')}; it must be {want}")
        return a.value

    def check(self) -> None:
        """Every attribute convcalc reads has the type ONNX gives it."""
        for name, a in self.by_name.items():
            want = ATTRIBUTE_TYPES.get(name)
            if want is not None and a.type not in want:
                raise GraphError(f"{node_label(self.node)}: attribute '{printable(name, 60)}' is "
                                 f"{ATTR_TYPES.get(a.type, 'of unknown type')}; it must be "
                                 f"{' or '.join(ATTR_TYPES[k] for k in want)}")

    def integer(self, name: str, default: int | None = None) -> Any:
        v = self._get(name, (ATTR_INT,))
        return default if v is None else v

    def ints(self, name: str) -> list[int] | None:
        v = self._get(name, (ATTR_INTS,))
        return None if v is None else list(v)

    def real(self, name: str, default: float | None = None) -> Any:
        v = self._get(name, (ATTR_FLOAT,))
        return default if v is None else v

    def floats(self, name: str) -> list[float] | None:
        v = self._get(name, (ATTR_FLOATS,))
        return None if v is None else list(v)

    def string(self, name: str, default: str | None = None) -> Any:
        v = self._get(name, (ATTR_STRING,))
        return default if v is None else v

    def plain(self) -> dict[str, Any]:
        """The attributes as the op graph keeps them (tensors and graphs left out)."""
        return {a.name: a.value for a in self.node.attributes
                if a.type not in (ATTR_TENSOR, ATTR_GRAPH, ATTR_GRAPHS) and a.type <= 10}


_INTS, _INT, _FLOAT, _STRING = (ATTR_INTS,), (ATTR_INT,), (ATTR_FLOAT,), (ATTR_STRING,)
ATTRIBUTE_TYPES: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(("kernel_shape", "strides", "pads", "dilations", "output_padding",
                     "output_shape", "perm", "axes", "split"), _INTS),
    **dict.fromkeys(("group", "axis", "transA", "transB", "ceil_mode", "keepdims", "num_groups",
                     "blocksize", "allowzero", "num_outputs", "noop_with_empty_axes",
                     "count_include_pad", "storage_order", "start", "end", "to"), _INT),
    **dict.fromkeys(("ratio", "alpha", "beta", "epsilon", "min", "max", "momentum"), _FLOAT),
    **dict.fromkeys(("auto_pad", "mode", "coordinate_transformation_mode",
                     "keep_aspect_ratio_policy", "nearest_mode", "approximate"), _STRING),
}
"""The types of the attributes convcalc reads (onnx/defs): a node of the standard domain
with one of these names of another type is refused."""


def broadcast(node: NodeInfo, shapes: list[Dims]) -> Dims:
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise GraphError(f"{node_label(node)}: inputs of shapes "
                             f"{' and '.join(dims_text(s) for s in shapes)} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def dims_text(dims: Dims) -> str:
    return "×".join(map(str, dims)) if dims else "a scalar"


def count_text(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"

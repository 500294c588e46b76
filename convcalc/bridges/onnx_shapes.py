"""Every tensor's shape in an ONNX graph, and the small constants a count needs, without onnx.

One pass over the nodes in their (topological) order. Each operator convcalc follows has a
shape rule here, ONNX's own (onnx/defs, the operator docs); a node whose inputs are all
constants is folded when its result is small (a Reshape's target computed as Shape → Gather →
Concat, a Slice's bounds), each folded tensor's size computed and bounded before it is built.
A constant's values are read from the file only when a rule asks for them.

The structure is checked as it goes: every input is defined before it is used, no tensor is
written twice, each operator has the inputs and attributes it needs with the right types, and a
convolution's weight fits its input and its attributes. Each problem is one `GraphError`.
"""

from __future__ import annotations

import math
import operator
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
    FLOAT_TYPES,
    Attribute,
    NodeInfo,
    Tensor,
)

Dims = tuple[int, ...]
FOLD_LIMIT = 1 << 12
"""Elements of one tensor folded from constants (shape arithmetic holds a handful)."""
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


def _name(n: NodeInfo) -> str:
    op = printable(n.op_type, 60)
    return f"node '{printable(n.name)}' ({op})" if n.name else f"a {op} node"


def _t(name: str) -> str:
    """A tensor's name as a message shows it."""
    return printable(name, 100)


class Attrs:
    """A node's attributes, each read with its type checked."""

    def __init__(self, node: NodeInfo) -> None:
        self.node = node
        self.by_name: dict[str, Attribute] = {}
        for a in node.attributes:
            if a.name in self.by_name:
                raise GraphError(f"{_name(node)} has attribute '{a.name}' twice")
            self.by_name[a.name] = a

    def _get(self, name: str, kinds: tuple[int, ...]) -> Any:
        a = self.by_name.get(name)
        if a is None:
            return None
        if a.type not in kinds:
            want = " or ".join(ATTR_TYPES[k] for k in kinds)
            raise GraphError(f"{_name(self.node)}: attribute '{name}' is "
                             f"{ATTR_TYPES.get(a.type, 'of unknown type')}; it must be {want}")
        return a.value

    def check(self) -> None:
        """Every attribute convcalc reads has the type ONNX gives it."""
        for name, a in self.by_name.items():
            want = ATTRIBUTE_TYPES.get(name)
            if want is not None and a.type not in want:
                raise GraphError(f"{_name(self.node)}: attribute '{printable(name, 60)}' is "
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
            raise GraphError(f"{_name(node)}: inputs of shapes "
                             f"{' and '.join(_show(s) for s in shapes)} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _show(dims: Dims) -> str:
    return "×".join(map(str, dims)) if dims else "a scalar"


UNARY = {"Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Gelu", "Erf",
         "Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
         "Softplus", "Softsign", "Elu", "Selu", "Celu", "Softmax", "LogSoftmax", "Hardmax",
         "Identity", "Not", "IsNaN", "IsInf", "Mish", "ThresholdedRelu", "Shrink", "Sin", "Cos",
         "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
         "LRN", "LpNormalization", "InstanceNormalization", "MeanVarianceNormalization",
         "Cast", "CastLike", "Swish", "BitwiseNot", "Trilu", "CumSum"}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less",
          "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Mod",
          "BitShift", "PRelu", "BitwiseAnd", "BitwiseOr", "BitwiseXor"}
ANY = 1 << 30
INPUTS: dict[str, tuple[int, int]] = {
    "Clip": (1, 3), "Dropout": (1, 3), "LayerNormalization": (2, 3), "BatchNormalization": (5, 5),
    "GroupNormalization": (3, 3), "InstanceNormalization": (3, 3), "CastLike": (2, 2),
    "Trilu": (1, 2), "CumSum": (2, 2), "PRelu": (2, 2), "Sum": (1, ANY), "Mean": (1, ANY),
    "Max": (1, ANY), "Min": (1, ANY), "Where": (3, 3), "Conv": (2, 3), "ConvTranspose": (2, 3),
    "Gemm": (2, 3), "MatMul": (2, 2), "Einsum": (1, ANY),
    "Reshape": (2, 2), "Squeeze": (1, 2), "Unsqueeze": (1, 2),
    "Concat": (1, ANY), "Split": (1, 2), "Slice": (1, 5), "Pad": (1, 4), "Resize": (1, 4),
    "Upsample": (1, 2), "ReduceMean": (1, 2), "ReduceMax": (1, 2), "ReduceSum": (1, 2),
    "ReduceMin": (1, 2), "ReduceProd": (1, 2), "ReduceL2": (1, 2), "Gather": (2, 2),
    "Expand": (2, 2), "Tile": (2, 2), "Range": (3, 3)}
"""(fewest, most) inputs of the operators with a rule here; the others take one, binary
operators two."""
MIN_INPUTS = {"Conv": 2, "ConvTranspose": 2, "Gemm": 2, "MatMul": 2, "BatchNormalization": 5,
              "LayerNormalization": 2, "GroupNormalization": 3, "Reshape": 2, "Expand": 2,
              "Tile": 2, "Gather": 2, "Slice": 1, "Concat": 1, "Where": 3, "Range": 3,
              "ConstantOfShape": 1, "Shape": 1, "PRelu": 2, "InstanceNormalization": 3,
              "CastLike": 2}
POOLS = {"MaxPool", "AveragePool", "LpPool"}


def pads_for(n: NodeInfo, at: Attrs, spatial: Dims, kernel: list[int], strides: list[int],
             dil: list[int], transposed: bool = False) -> list[int]:
    rank = len(spatial)
    auto = at.string("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise GraphError(f"{_name(n)}: auto_pad '{auto}' is not one of NOTSET, SAME_UPPER, "
                         "SAME_LOWER, VALID")
    pads = at.ints("pads")
    if pads is not None and auto != "NOTSET":
        raise GraphError(f"{_name(n)}: pads and auto_pad {auto} are both given")
    if auto == "VALID":
        return [0] * (2 * rank)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(rank):
            size = spatial[i] * strides[i] if transposed else -(-spatial[i] // strides[i])
            if transposed:
                total = max(0, strides[i] * (spatial[i] - 1) + (kernel[i] - 1) * dil[i] + 1
                            - size)
            else:
                total = max(0, (size - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1
                            - spatial[i])
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return [p[0] for p in out] + [p[1] for p in out]
    pads = pads if pads is not None else [0] * (2 * rank)
    if len(pads) != 2 * rank or any(p < 0 for p in pads):
        raise GraphError(f"{_name(n)}: pads {pads} must be {2 * rank} numbers ≥ 0 (begin and "
                         f"end of {rank} spatial axes)")
    return pads


def _axes_attr(n: NodeInfo, at: Attrs, name: str, rank: int, default: int) -> list[int]:
    v = at.ints(name)
    v = [default] * rank if v is None else v
    if len(v) != rank or any(x < 1 for x in v):
        raise GraphError(f"{_name(n)}: {name} {v} must be {rank} numbers ≥ 1")
    return v


def window(n: NodeInfo, at: Attrs, x: Dims, kernel: list[int]) -> tuple[Dims, list[int]]:
    """The spatial output of a conv or a pool, and its pads (begin…end)."""
    rank = len(x) - 2
    strides = _axes_attr(n, at, "strides", rank, 1)
    dil = _axes_attr(n, at, "dilations", rank, 1)
    pads = pads_for(n, at, x[2:], kernel, strides, dil)
    ceil = at.integer("ceil_mode", 0) if n.op_type in POOLS else 0
    out = []
    for i in range(rank):
        span = x[2 + i] + pads[i] + pads[rank + i] - dil[i] * (kernel[i] - 1) - 1
        if span < 0:
            raise GraphError(f"{_name(n)}: the kernel ({dil[i] * (kernel[i] - 1) + 1} with "
                             f"dilation) is larger than spatial axis {i} "
                             f"({x[2 + i]} + padding {pads[i] + pads[rank + i]})")
        # ONNX's rule (onnx.shape_inference): no PyTorch-style drop of a last window that
        # would start in the end padding; convcalc's own walk then checks the layer against it
        out.append((-(-span // strides[i]) if ceil else span // strides[i]) + 1)
    return tuple(out), pads


class Inference:
    """Shapes and constants of one graph, node by node."""

    def __init__(self, shapes: dict[str, Dims], constants: dict[str, Value],
                 stated: dict[str, Dims]) -> None:
        self.shapes = shapes
        self.constants = constants
        self.stated = stated
        """Shapes the file states (value_info) for what no rule here computes."""
        self.writer: dict[str, NodeInfo] = {}

    # -- helpers

    def dims(self, t: str) -> Dims | None:
        if t in self.shapes:
            return self.shapes[t]
        c = self.constants.get(t)
        return None if c is None else c.dims

    def values(self, t: str) -> list[Any] | None:
        c = self.constants.get(t)
        return None if c is None else c.values()

    def ints(self, n: NodeInfo, t: str, what: str) -> list[int] | None:
        v = self.values(t)
        if v is None:
            return None
        if any(isinstance(x, float) and not x.is_integer() for x in v) or \
                any(isinstance(x, float) and not math.isfinite(x) for x in v):
            raise GraphError(f"{_name(n)}: {what} must be whole numbers")
        return [int(x) for x in v]

    # -- the pass

    def run(self, nodes: list[NodeInfo]) -> list[NodeInfo]:
        """Shape every node's outputs; fold what is constant and small. Returns the nodes not
        folded away (in order)."""
        rest = []
        for n in nodes:
            self.check_io(n)
            at = Attrs(n)
            if n.domain in ("", "ai.onnx") and n.op_type != "Constant":
                at.check()
            if n.domain in ("", "ai.onnx") and n.op_type == "Constant":
                self.constant(n, at)
                continue
            ins = n.inputs
            shapes = [self.dims(t) if t else None for t in ins]
            standard = n.domain in ("", "ai.onnx")
            folded = False
            if standard and ins and (all(not t or t in self.constants for t in ins) or (
                    n.op_type == "Shape" and ins[0] in self.shapes)):
                folded = self.fold(n, at)
            if folded:
                continue
            outs = self.infer(n, at, shapes) if standard else None
            for i, o in enumerate(n.outputs):
                if not o:
                    continue
                shape = outs[i] if outs is not None and i < len(outs) else None
                if shape is None:
                    shape = self.stated.get(o)
                if shape is not None:
                    self.shapes[o] = shape
            rest.append(n)
        return rest

    def check_io(self, n: NodeInfo) -> None:
        for t in n.inputs:
            if t and t not in self.shapes and t not in self.constants and \
                    t not in self.writer_set():
                raise GraphError(f"{_name(n)} reads tensor '{_t(t)}', which no node, input or "
                                 "initializer gives before it")
        for o in n.outputs:
            if not o:
                continue
            if o in self.writer:
                raise GraphError(f"tensor '{_t(o)}' is written by two nodes "
                                 f"({_name(self.writer[o])} and {_name(n)})")
            if o in self.shapes or o in self.constants:
                raise GraphError(f"{_name(n)} writes tensor '{_t(o)}', which is already an input or "
                                 "an initializer")
            self.writer[o] = n

    def writer_set(self) -> dict[str, NodeInfo]:
        return self.writer

    def constant(self, n: NodeInfo, at: Attrs) -> None:
        if len(n.outputs) != 1 or not n.outputs[0]:
            raise GraphError(f"{_name(n)} must have one output")
        if len(at.by_name) != 1:
            raise GraphError(f"{_name(n)} must have exactly one value attribute")
        a = next(iter(at.by_name.values()))
        out = n.outputs[0]
        if a.name == "value" and a.type == ATTR_TENSOR:
            t: Tensor = a.value
            self.constants[out] = self.tensor_value(t)
        elif a.name == "value_float" and a.type == ATTR_FLOAT:
            self.constants[out] = Value((), 1, [a.value])
        elif a.name == "value_int" and a.type == ATTR_INT:
            self.constants[out] = Value((), 7, [a.value])
        elif a.name == "value_floats" and a.type == ATTR_FLOATS:
            self.constants[out] = Value((len(a.value),), 1, list(a.value))
        elif a.name == "value_ints" and a.type == ATTR_INTS:
            self.constants[out] = Value((len(a.value),), 7, list(a.value))
        else:
            raise GraphError(f"{_name(n)}: convcalc reads a Constant's value, value_float(s) or "
                             f"value_int(s) attribute, not '{a.name}' "
                             f"({ATTR_TYPES.get(a.type, '?')})")

    tensor_value: Callable[[Tensor], Value]
    """Set by the reader: a file tensor as a lazily read Value."""

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

    # -- shape rules

    def infer(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        """The output shapes, or None where the rule needs what is unknown."""
        op = n.op_type
        need = MIN_INPUTS.get(op, 1 if op not in ("Constant", "Range") else 0)
        present = [t for t in n.inputs[:need] if t]
        if len(n.inputs) < need or (len(present) < need and op not in ("Gemm",)):
            raise GraphError(f"{_name(n)} has {_count(len([t for t in n.inputs if t]), 'input')}; "
                             f"{op} needs at least {need}")
        if not n.outputs or not n.outputs[0]:
            raise GraphError(f"{_name(n)} has no output")
        low, high = INPUTS.get(op, (2, 2) if op in BINARY else (1, 1))
        if op in UNARY or op in BINARY or op in INPUTS or hasattr(self, f"rule_{op}"):
            count = len(n.inputs)
            while count and not n.inputs[count - 1]:
                count -= 1  # trailing optional inputs left empty
            if not low <= count <= high:
                most = "any number of" if high == ANY else f"at most {high}"
                raise GraphError(f"{_name(n)} has {_count(count, 'input')}; {op} takes at "
                                 f"least {low} and {most}")
        x = shapes[0] if shapes else None
        if op in UNARY or op in ("Dropout", "Clip", "BatchNormalization", "LayerNormalization",
                                 "GroupNormalization"):
            self.check_params(n, at, shapes)
            return [x]
        if op in BINARY:
            if any(s is None for s in shapes if s is not None) or None in shapes:
                return None
            return [broadcast(n, shapes)]  # type: ignore[arg-type]
        rule = getattr(self, f"rule_{op}", None)
        if rule is None:
            return None
        if x is None and op not in ("Range", "ConstantOfShape"):
            return None
        result: list[Dims | None] | None = rule(n, at, shapes)
        if result is not None:
            for r in result:
                if r is not None and any(d < 0 or d > MAX_DIM for d in r):
                    raise GraphError(f"{_name(n)}: its output would be {_show(r)}")
        return result

    def check_params(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> None:
        op = n.op_type
        x = shapes[0]
        if op == "Dropout":
            ratio = at.real("ratio", 0.5)
            if len(n.inputs) > 1 and n.inputs[1]:
                v = self.values(n.inputs[1])
                ratio = v[0] if v else ratio
            if not isinstance(ratio, int | float) or not 0 <= ratio < 1 or \
                    not math.isfinite(ratio):
                raise GraphError(f"{_name(n)}: ratio {ratio} is not in [0, 1)")
        elif op == "GroupNormalization":
            groups = at.integer("num_groups")
            if groups is None:
                raise GraphError(f"{_name(n)} has no num_groups attribute")
            if x is not None and (len(x) < 2 or groups < 1 or x[1] % groups):
                raise GraphError(f"{_name(n)}: num_groups {groups} does not divide "
                                 f"{x[1] if len(x) > 1 else '?'} channels")
        elif op in ("Softmax", "LogSoftmax", "Hardmax") and x is not None:
            axis = at.integer("axis", -1)
            if not -len(x) <= axis < len(x):
                raise GraphError(f"{_name(n)}: axis {axis} is outside rank {len(x)}")
        elif op == "BatchNormalization" and x is not None and len(x) > 1:
            for t in n.inputs[1:5]:
                d = self.dims(t) if t else None
                if d is not None and d != (x[1],):
                    raise GraphError(f"{_name(n)}: '{_t(t)}' is {_show(d)}; it must be {x[1]} "
                                     "(one per channel)")

    def weight(self, n: NodeInfo, index: int, what: str) -> Dims:
        t = n.inputs[index]
        if t in self.shapes:
            raise GraphError(f"{_name(n)}: its {what} '{_t(t)}' is computed from the input (an "
                             "activation), not a weight; convcalc counts weights only")
        d = self.dims(t)
        if d is None:
            raise GraphError(f"{_name(n)}: its {what} '{_t(t)}' has no known shape")
        return d

    def rule_Conv(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        w = self.weight(n, 1, "weight")
        group = at.integer("group", 1)
        if len(x) < 3 or len(w) != len(x):
            raise GraphError(f"{_name(n)}: input {_show(x)} and weight {_show(w)} need the same "
                             "rank, at least 3")
        if group < 1 or x[1] % group or w[0] % group:
            raise GraphError(f"{_name(n)}: group {group} must divide the input's {x[1]} "
                             f"channels and the weight's {w[0]} outputs")
        if w[1] * group != x[1]:
            raise GraphError(f"{_name(n)}: weight {_show(w)} takes {w[1] * group} input channels "
                             f"(group {group}); the input has {x[1]}")
        kernel = at.ints("kernel_shape")
        if kernel is not None and list(kernel) != list(w[2:]):
            raise GraphError(f"{_name(n)}: kernel_shape {kernel} differs from the weight's "
                             f"{list(w[2:])}")
        self.bias(n, 2, w[0])
        spatial, _ = window(n, at, x, list(w[2:]))
        return [(x[0], w[0], *spatial)]

    def bias(self, n: NodeInfo, index: int, size: int) -> None:
        if len(n.inputs) > index and n.inputs[index]:
            d = self.weight(n, index, "bias")
            if d != (size,):
                raise GraphError(f"{_name(n)}: bias '{_t(n.inputs[index])}' is {_show(d)}; it must "
                                 f"be {size}")

    def rule_ConvTranspose(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                           ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        w = self.weight(n, 1, "weight")
        group = at.integer("group", 1)
        rank = len(x) - 2
        if len(x) < 3 or len(w) != len(x):
            raise GraphError(f"{_name(n)}: input {_show(x)} and weight {_show(w)} need the same "
                             "rank, at least 3")
        if group < 1 or w[0] != x[1] or x[1] % group:
            raise GraphError(f"{_name(n)}: weight {_show(w)} takes {w[0]} input channels; the "
                             f"input has {x[1]} (group {group})")
        kernel = at.ints("kernel_shape")
        if kernel is not None and list(kernel) != list(w[2:]):
            raise GraphError(f"{_name(n)}: kernel_shape {kernel} differs from the weight's "
                             f"{list(w[2:])}")
        self.bias(n, 2, w[1] * group)
        k = list(w[2:])
        strides = _axes_attr(n, at, "strides", rank, 1)
        dil = _axes_attr(n, at, "dilations", rank, 1)
        out_pad = at.ints("output_padding") or [0] * rank
        if len(out_pad) != rank or any(p < 0 for p in out_pad):
            raise GraphError(f"{_name(n)}: output_padding {out_pad} must be {rank} numbers ≥ 0")
        given = at.ints("output_shape")
        if given is not None:
            given = given[-rank:] if len(given) >= rank else None
            if given is None or any(g < 1 for g in given):
                raise GraphError(f"{_name(n)}: output_shape {at.ints('output_shape')} must end "
                                 f"with {rank} sizes ≥ 1")
            return [(x[0], w[1] * group, *given)]
        pads = pads_for(n, at, x[2:], k, strides, dil, transposed=True)
        if at.string("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
            return [(x[0], w[1] * group, *(x[2 + i] * strides[i] for i in range(rank)))]
        spatial = tuple(strides[i] * (x[2 + i] - 1) + out_pad[i] + (k[i] - 1) * dil[i] + 1
                        - pads[i] - pads[rank + i] for i in range(rank))
        if any(s < 1 for s in spatial):
            raise GraphError(f"{_name(n)}: its output would be {_show(spatial)}")
        return [(x[0], w[1] * group, *spatial)]

    def rule_MaxPool(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        kernel = at.ints("kernel_shape")
        if kernel is None or len(kernel) != len(x) - 2 or any(k < 1 for k in kernel):
            raise GraphError(f"{_name(n)}: kernel_shape {kernel} must be {len(x) - 2} numbers "
                             "≥ 1")
        spatial, _ = window(n, at, x, kernel)
        out = (*x[:2], *spatial)
        return [out, out]

    rule_AveragePool = rule_MaxPool
    rule_LpPool = rule_MaxPool

    def rule_GlobalAveragePool(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                               ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        return [(*x[:2], *[1] * (len(x) - 2))]

    rule_GlobalMaxPool = rule_GlobalAveragePool
    rule_GlobalLpPool = rule_GlobalAveragePool

    def rule_Gemm(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        a, b = shapes[0], shapes[1]
        if a is None or b is None:
            return None
        if len(a) != 2 or len(b) != 2:
            raise GraphError(f"{_name(n)}: Gemm multiplies matrices; got {_show(a)} and "
                             f"{_show(b)}")
        m, k = (a[1], a[0]) if at.integer("transA", 0) else a
        k2, nn = (b[1], b[0]) if at.integer("transB", 0) else b
        if k != k2:
            raise GraphError(f"{_name(n)}: {_show(a)} and {_show(b)} do not multiply")
        return [(m, nn)]

    def rule_Einsum(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        """The explicit form `ab,bc->ac` (MaxViT's attention products); no ellipsis."""
        raw = at.string("equation", "")
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        eq = text.replace(" ", "")
        if "->" not in eq or "..." in eq or any(s is None for s in shapes):
            return None
        if eq.count("->") != 1 or len(set(eq.split("->")[1])) != len(eq.split("->")[1]):
            raise GraphError(f"{_name(n)}: equation {text[:60]!r} is not one of the form "
                             "ab,bc->ac (one arrow, each output axis once)")
        left, out = eq.split("->")
        terms = left.split(",")
        if len(terms) != len(shapes):
            raise GraphError(f"{_name(n)}: equation {text!r} names {len(terms)} inputs, the "
                             f"node has {len(shapes)}")
        sizes: dict[str, int] = {}
        for term, dims in zip(terms, shapes, strict=True):
            assert dims is not None
            if len(term) != len(dims):
                raise GraphError(f"{_name(n)}: {term!r} has {len(term)} axes, the input "
                                 f"{_show(dims)}")
            for letter, d in zip(term, dims, strict=True):
                if sizes.setdefault(letter, d) != d and 1 not in (d, sizes[letter]):
                    raise GraphError(f"{_name(n)}: axis {letter!r} is {sizes[letter]} and {d}")
                sizes[letter] = max(sizes[letter], d)
        if any(letter not in sizes for letter in out):
            raise GraphError(f"{_name(n)}: output axis of {text!r} not in its inputs")
        return [tuple(sizes[letter] for letter in out)]

    def rule_MatMul(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        a, b = shapes[0], shapes[1]
        if a is None or b is None:
            return None
        if not a or not b:
            raise GraphError(f"{_name(n)}: MatMul needs tensors of rank ≥ 1")
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        if a2[-1] != b2[-2]:
            raise GraphError(f"{_name(n)}: {_show(a)} and {_show(b)} do not multiply")
        batch = broadcast(n, [a2[:-2], b2[:-2]])
        out = (*batch, a2[-2], b2[-1])
        if len(a) == 1:
            out = (*out[:-2], out[-1])
        if len(b) == 1:
            out = out[:-1]
        return [out]

    def rule_Flatten(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axis = at.integer("axis", 1)
        if not -len(x) <= axis <= len(x):
            raise GraphError(f"{_name(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x) + 1 if axis >= 0 else len(x)
        return [(math.prod(x[:axis]), math.prod(x[axis:]))]

    def rule_Reshape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        target = self.ints(n, n.inputs[1], "the target shape")
        if target is None:
            return None
        allow_zero = at.integer("allowzero", 0)
        out = []
        for i, d in enumerate(target):
            if d == 0 and not allow_zero:
                if i >= len(x):
                    raise GraphError(f"{_name(n)}: shape {target} copies axis {i} of a rank-"
                                     f"{len(x)} input")
                out.append(x[i])
            else:
                out.append(d)
        if out.count(-1) > 1 or any(d < -1 for d in out):
            raise GraphError(f"{_name(n)}: shape {target} is not a valid target")
        total = math.prod(x)
        if -1 in out:
            known = math.prod(d for d in out if d != -1)
            if known == 0 or total % known:
                raise GraphError(f"{_name(n)}: {_show(x)} cannot be reshaped to {target}")
            out[out.index(-1)] = total // known
        if math.prod(out) != total:
            raise GraphError(f"{_name(n)}: {_show(x)} cannot be reshaped to {target}")
        return [tuple(out)]

    def axes(self, n: NodeInfo, at: Attrs, index: int, rank: int) -> list[int] | bool | None:
        """The `axes` of a node, from its attribute or its input (opset 13+); False: none."""
        attr = at.ints("axes")
        if attr is not None:
            values: list[int] | None = attr
        elif len(n.inputs) > index and n.inputs[index]:
            values = self.ints(n, n.inputs[index], "axes")
            if values is None:
                return None
        else:
            return False
        assert values is not None
        if any(not -rank <= a < rank for a in values):
            raise GraphError(f"{_name(n)}: axes {values} are outside rank {rank}")
        norm = [a % rank for a in values]
        if len(set(norm)) != len(norm):
            raise GraphError(f"{_name(n)}: axes {values} repeat an axis")
        return norm

    def rule_Squeeze(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axes = self.axes(n, at, 1, len(x))
        if axes is None:
            return None
        if axes is False:
            return [tuple(d for d in x if d != 1)]
        assert isinstance(axes, list)
        if any(x[a] != 1 for a in axes):
            raise GraphError(f"{_name(n)}: squeezes an axis of {_show(x)} that is not 1")
        return [tuple(d for i, d in enumerate(x) if i not in axes)]

    def rule_Unsqueeze(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                       ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        count = len(at.ints("axes") or []) or len(self.values(n.inputs[1]) or []) \
            if len(n.inputs) > 1 or at.ints("axes") is not None else 0
        axes = self.axes(n, at, 1, len(x) + count)
        if axes is None:
            return None
        if axes is False:
            raise GraphError(f"{_name(n)} has no axes")
        assert isinstance(axes, list)
        out: list[int] = []
        it = iter(x)
        for i in range(len(x) + len(axes)):
            out.append(1 if i in axes else next(it))
        return [tuple(out)]

    def rule_Transpose(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                       ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        perm = at.ints("perm")
        perm = list(range(len(x)))[::-1] if perm is None else perm
        if sorted(perm) != list(range(len(x))):
            raise GraphError(f"{_name(n)}: perm {perm} is not a permutation of {len(x)} axes")
        return [tuple(x[p] for p in perm)]

    def rule_Concat(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        if any(s is None for s in shapes):
            return None
        parts: list[Dims] = [s for s in shapes if s is not None]
        axis = at.integer("axis")
        if axis is None:
            raise GraphError(f"{_name(n)} has no axis")
        rank = len(parts[0])
        if not -rank <= axis < rank or any(len(p) != rank for p in parts):
            raise GraphError(f"{_name(n)}: inputs {', '.join(map(_show, parts))} do not "
                             f"concatenate on axis {axis}")
        axis %= rank
        for p in parts:
            if p[:axis] + p[axis + 1:] != parts[0][:axis] + parts[0][axis + 1:]:
                raise GraphError(f"{_name(n)}: inputs {', '.join(map(_show, parts))} do not "
                                 f"concatenate on axis {axis}")
        out = list(parts[0])
        out[axis] = sum(p[axis] for p in parts)
        return [tuple(out)]

    def rule_Split(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                   ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axis = at.integer("axis", 0)
        if not -len(x) <= axis < len(x):
            raise GraphError(f"{_name(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x)
        sizes = at.ints("split")
        if sizes is None and len(n.inputs) > 1 and n.inputs[1]:
            sizes = self.ints(n, n.inputs[1], "split")
            if sizes is None:
                return None
        count = len(n.outputs)
        if sizes is None:
            parts = at.integer("num_outputs", count)
            if parts != count or parts < 1:
                raise GraphError(f"{_name(n)}: num_outputs {parts} but {count} outputs")
            each = -(-x[axis] // parts)
            sizes = [min(each, max(0, x[axis] - each * i)) for i in range(parts)]
        if len(sizes) != count or sum(sizes) != x[axis] or any(s < 0 for s in sizes):
            raise GraphError(f"{_name(n)}: split {sizes} does not cut {x[axis]} into {count}")
        return [(*x[:axis], s, *x[axis + 1:]) for s in sizes]

    def slice_bounds(self, n: NodeInfo, at: Attrs, x: Dims
                     ) -> list[tuple[int, int, int]] | None:
        if len(n.inputs) > 1:
            starts = self.ints(n, n.inputs[1], "starts")
            ends = self.ints(n, n.inputs[2], "ends") if len(n.inputs) > 2 and n.inputs[2] \
                else None
            if starts is None or ends is None:
                return None
            axes = self.ints(n, n.inputs[3], "axes") if len(n.inputs) > 3 and n.inputs[3] \
                else list(range(len(starts)))
            steps = self.ints(n, n.inputs[4], "steps") if len(n.inputs) > 4 and n.inputs[4] \
                else [1] * len(starts)
            if axes is None or steps is None:
                return None
        else:
            starts, ends = at.ints("starts"), at.ints("ends")
            if starts is None or ends is None:
                raise GraphError(f"{_name(n)} has no starts or ends")
            axes = at.ints("axes") or list(range(len(starts)))
            steps = [1] * len(starts)
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise GraphError(f"{_name(n)}: starts, ends, axes and steps differ in length")
        bounds = [(0, d, 1) for d in x]
        seen = set()
        for s, e, given, st in zip(starts, ends, axes, steps, strict=True):
            if not -len(x) <= given < len(x) or given % len(x) in seen or st == 0:
                raise GraphError(f"{_name(n)}: axis {given} (step {st}) is not a valid slice")
            a = given % len(x)
            seen.add(a)
            bounds[a] = slice(s, e, st).indices(x[a])
        return bounds

    def rule_Slice(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                   ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        bounds = self.slice_bounds(n, at, x)
        if bounds is None:
            return None
        return [tuple(len(range(*b)) for b in bounds)]

    def rule_Pad(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        pads = at.ints("pads")
        if pads is None and len(n.inputs) > 1 and n.inputs[1]:
            pads = self.ints(n, n.inputs[1], "pads")
            if pads is None:
                return None
        axes = list(range(len(x)))
        if len(n.inputs) > 3 and n.inputs[3]:
            given = self.ints(n, n.inputs[3], "axes")
            if given is None:
                return None
            axes = [a % len(x) for a in given]
        if pads is None or len(pads) != 2 * len(axes):
            raise GraphError(f"{_name(n)}: pads {pads} must be {2 * len(axes)} numbers")
        out = list(x)
        for i, a in enumerate(axes):
            out[a] += pads[i] + pads[len(axes) + i]
        return [tuple(out)]

    def rule_Resize(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        sizes = scales = None
        if n.op_type == "Upsample" and at.floats("scales") is not None:
            scales = at.floats("scales")
        elif n.op_type == "Upsample" and len(n.inputs) > 1:
            scales = self.values(n.inputs[1])
            if scales is None:
                return None
        elif len(n.inputs) > 3 and n.inputs[3]:
            sizes = self.ints(n, n.inputs[3], "sizes")
            if sizes is None:
                return None
        elif len(n.inputs) > 2 and n.inputs[2]:
            scales = self.values(n.inputs[2])
            if scales is None:
                return None
        elif len(n.inputs) > 1 and n.inputs[1] and n.op_type == "Resize" and \
                self.dims(n.inputs[1]) is not None:
            scales = self.values(n.inputs[1])  # opset 10: (X, scales)
            if scales is None:
                return None
        axes = at.ints("axes") or list(range(len(x)))
        policy = at.string("keep_aspect_ratio_policy", "stretch")
        if sizes is not None:
            if len(sizes) != len(axes) or policy != "stretch" or any(s < 0 for s in sizes):
                raise GraphError(f"{_name(n)}: sizes {sizes} do not fit rank {len(x)}")
            out = list(x)
            for a, s in zip(axes, sizes, strict=True):
                out[a % len(x)] = s
            return [tuple(out)]
        if scales is None or len(scales) != len(axes) or any(
                not isinstance(s, int | float) or not math.isfinite(s) or s <= 0 or s > 1e6
                for s in scales):
            raise GraphError(f"{_name(n)}: scales {scales} must be {len(axes)} finite numbers "
                             "> 0")
        scaled = list(x)
        for a, factor in zip(axes, scales, strict=True):
            scaled[a % len(x)] = math.floor(x[a % len(x)] * factor)
        return [tuple(scaled)]

    rule_Upsample = rule_Resize

    def rule_ReduceMean(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                        ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        axes = self.axes(n, at, 1, len(x))
        if axes is None:
            return None
        keep = at.integer("keepdims", 1)
        if axes is False or axes == []:
            if at.integer("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(len(x)))
        assert isinstance(axes, list)
        return [tuple(1 if i in axes else d for i, d in enumerate(x) if keep or i not in axes)]

    rule_ReduceMax = rule_ReduceMean
    rule_ReduceSum = rule_ReduceMean
    rule_ReduceMin = rule_ReduceMean
    rule_ReduceProd = rule_ReduceMean
    rule_ReduceL2 = rule_ReduceMean

    def rule_Shape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        return [(len(x[slice(at.integer("start", 0), at.integer("end", None))]),)]

    def rule_Size(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        return [()]

    def rule_Gather(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x, idx = shapes[0], shapes[1]
        if x is None or idx is None:
            return None
        axis = at.integer("axis", 0)
        if not x or not -len(x) <= axis < len(x):
            raise GraphError(f"{_name(n)}: axis {axis} is outside rank {len(x)}")
        axis %= len(x)
        index = self.values(n.inputs[1])
        if index and x[axis] and any(isinstance(i, int) and not -x[axis] <= i < x[axis]
                                     for i in index):
            raise GraphError(f"{_name(n)}: an index of {index[:4]} is outside axis {axis} of "
                             f"size {x[axis]}")
        return [(*x[:axis], *idx, *x[axis + 1:])]

    def rule_Expand(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        target = self.ints(n, n.inputs[1], "the shape")
        if target is None:
            return None
        if any(d < 0 for d in target):
            raise GraphError(f"{_name(n)}: shape {target} has a negative size")
        return [broadcast(n, [x, tuple(target)])]

    def rule_Tile(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        reps = self.ints(n, n.inputs[1], "repeats")
        if reps is None:
            return None
        if len(reps) != len(x) or any(r < 0 for r in reps):
            raise GraphError(f"{_name(n)}: repeats {reps} must be {len(x)} numbers ≥ 0")
        return [tuple(d * r for d, r in zip(x, reps, strict=True))]

    def rule_ConstantOfShape(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                             ) -> list[Dims | None] | None:
        target = self.ints(n, n.inputs[0], "the shape")
        if target is None:
            return None
        if any(d < 0 for d in target):
            raise GraphError(f"{_name(n)}: shape {target} has a negative size")
        return [tuple(target)]

    def rule_Range(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        v = [self.values(t) for t in n.inputs[:3]]
        if any(x is None or len(x) != 1 for x in v):
            return None
        start, limit, delta = (x[0] for x in v)  # type: ignore[index]
        if all(isinstance(x, int) for x in (start, limit, delta)) and delta:
            return [(max(0, -((start - limit) // delta)),)]
        try:
            count = (limit - start) / delta
            if not math.isfinite(count):
                raise OverflowError
            return [(max(0, math.ceil(count)),)]
        except (ZeroDivisionError, OverflowError, TypeError):
            raise GraphError(f"{_name(n)}: a range from {start} to {limit} by {delta} has no "
                             "length") from None

    def rule_SpaceToDepth(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                          ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        b = at.integer("blocksize")
        if b is None or b < 1 or len(x) != 4 or x[2] % b or x[3] % b:
            raise GraphError(f"{_name(n)}: blocksize {b} does not divide {_show(x)}")
        return [(x[0], x[1] * b * b, x[2] // b, x[3] // b)]

    def rule_DepthToSpace(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                          ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        b = at.integer("blocksize")
        if b is None or b < 1 or len(x) != 4 or x[1] % (b * b):
            raise GraphError(f"{_name(n)}: blocksize {b} does not divide {_show(x)}")
        return [(x[0], x[1] // (b * b), x[2] * b, x[3] * b)]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


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

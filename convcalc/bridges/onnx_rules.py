"""Which shape rule shapes an ONNX node, and the rules of the elementwise operators.

`RuleBook` holds the shapes and constants known so far; `infer` checks a node's count of
inputs against the operator's (the tables below), shapes the elementwise and broadcasting
operators itself and hands every other operator to its method `rule_<Op>`, which the rule
modules (convcalc.bridges.onnx_rules_conv, onnx_rules_layout) define. Takes a node, its
`Attrs` and its inputs' shapes; gives its outputs' shapes (None where a rule needs what is
unknown) or a `GraphError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from convcalc.bridges.onnx_nodes import (
    MAX_DIM,
    Attrs,
    Dims,
    GraphError,
    Value,
    broadcast,
    count_text,
    dims_text,
    node_label,
    tensor_label,
)
from convcalc.bridges.onnx_proto import NodeInfo, Tensor

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


class RuleBook:
    """The shapes and constants of one graph known so far, and the dispatch to its rules."""

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
            raise GraphError(f"{node_label(n)}: {what} must be whole numbers")
        return [int(x) for x in v]

    tensor_value: Callable[[Tensor], Value]
    """Set by the reader: a file tensor as a lazily read Value."""

    # -- shape rules

    def infer(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        """The output shapes, or None where the rule needs what is unknown."""
        op = n.op_type
        need = MIN_INPUTS.get(op, 1 if op not in ("Constant", "Range") else 0)
        present = [t for t in n.inputs[:need] if t]
        if len(n.inputs) < need or (len(present) < need and op not in ("Gemm",)):
            raise GraphError(f"{node_label(n)} has {count_text(len([t for t in n.inputs if t]), 'input')}; "
                             f"{op} needs at least {need}")
        if not n.outputs or not n.outputs[0]:
            raise GraphError(f"{node_label(n)} has no output")
        low, high = INPUTS.get(op, (2, 2) if op in BINARY else (1, 1))
        if op in UNARY or op in BINARY or op in INPUTS or hasattr(self, f"rule_{op}"):
            count = len(n.inputs)
            while count and not n.inputs[count - 1]:
                count -= 1  # trailing optional inputs left empty
            if not low <= count <= high:
                most = "any number of" if high == ANY else f"at most {high}"
                raise GraphError(f"{node_label(n)} has {count_text(count, 'input')}; {op} takes at "
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
                    raise GraphError(f"{node_label(n)}: its output would be {dims_text(r)}")
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
                raise GraphError(f"{node_label(n)}: ratio {ratio} is not in [0, 1)")
        elif op == "GroupNormalization":
            groups = at.integer("num_groups")
            if groups is None:
                raise GraphError(f"{node_label(n)} has no num_groups attribute")
            if x is not None and (len(x) < 2 or groups < 1 or x[1] % groups):
                raise GraphError(f"{node_label(n)}: num_groups {groups} does not divide "
                                 f"{x[1] if len(x) > 1 else '?'} channels")
        elif op in ("Softmax", "LogSoftmax", "Hardmax") and x is not None:
            axis = at.integer("axis", -1)
            if not -len(x) <= axis < len(x):
                raise GraphError(f"{node_label(n)}: axis {axis} is outside rank {len(x)}")
        elif op == "BatchNormalization" and x is not None and len(x) > 1:
            for t in n.inputs[1:5]:
                d = self.dims(t) if t else None
                if d is not None and d != (x[1],):
                    raise GraphError(f"{node_label(n)}: '{tensor_label(t)}' is {dims_text(d)}; it "
                                     f"must be {x[1]} (one per channel)")

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
                raise GraphError(f"{node_label(n)} has no starts or ends")
            axes = at.ints("axes") or list(range(len(starts)))
            steps = [1] * len(starts)
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise GraphError(f"{node_label(n)}: starts, ends, axes and steps differ in length")
        bounds = [(0, d, 1) for d in x]
        seen = set()
        for s, e, given, st in zip(starts, ends, axes, steps, strict=True):
            if not -len(x) <= given < len(x) or given % len(x) in seen or st == 0:
                raise GraphError(f"{node_label(n)}: axis {given} (step {st}) is not a valid slice")
            a = given % len(x)
            seen.add(a)
            bounds[a] = slice(s, e, st).indices(x[a])
        return bounds

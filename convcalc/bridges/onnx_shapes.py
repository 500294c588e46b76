"""Every tensor's shape in an ONNX graph, and the small constants a count needs, without onnx.

One pass over the nodes in their (topological) order. Each operator convcalc follows has a
shape rule here, ONNX's own (onnx/defs, the operator docs); a node whose inputs are all
constants is folded when its result is small (a Reshape's target computed as Shape → Gather →
Concat, a Slice's bounds), each folded tensor's size computed and bounded before it is built.
A constant's values are read from the file only when a rule asks for them.

The structure is checked as it goes: every input is defined before it is used, no tensor is
written twice, each operator has the inputs and attributes it needs with the right types, and a
convolution's weight fits its input and its attributes. Each problem is one `GraphError`.

The concerns live apart: convcalc.bridges.onnx_nodes (attributes, constants, errors),
onnx_rules (the dispatch and the elementwise rules), onnx_rules_conv (convolutions, pools,
matrix products), onnx_rules_layout (reshapes, slices, gathers…) and onnx_folding (constant
folding). This module is the pass over the nodes that puts them together.
"""

from __future__ import annotations

from convcalc.bridges.onnx_folding import ConstantFolding
from convcalc.bridges.onnx_nodes import Attrs, Dims, GraphError, Value, node_label, tensor_label
from convcalc.bridges.onnx_proto import (
    ATTR_FLOAT,
    ATTR_FLOATS,
    ATTR_INT,
    ATTR_INTS,
    ATTR_TENSOR,
    ATTR_TYPES,
    NodeInfo,
    Tensor,
)
from convcalc.bridges.onnx_rules_conv import ConvRules
from convcalc.bridges.onnx_rules_layout import LayoutRules

__all__ = ["Dims", "GraphError", "Inference", "Value"]


class Inference(ConstantFolding, ConvRules, LayoutRules):
    """Shapes and constants of one graph, node by node."""

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
                raise GraphError(f"{node_label(n)} reads tensor '{tensor_label(t)}', which no node, input or "
                                 "initializer gives before it")
        for o in n.outputs:
            if not o:
                continue
            if o in self.writer:
                raise GraphError(f"tensor '{tensor_label(o)}' is written by two nodes "
                                 f"({node_label(self.writer[o])} and {node_label(n)})")
            if o in self.shapes or o in self.constants:
                raise GraphError(f"{node_label(n)} writes tensor '{tensor_label(o)}', which is already "
                                 "an input or an initializer")
            self.writer[o] = n

    def writer_set(self) -> dict[str, NodeInfo]:
        return self.writer

    def constant(self, n: NodeInfo, at: Attrs) -> None:
        if len(n.outputs) != 1 or not n.outputs[0]:
            raise GraphError(f"{node_label(n)} must have one output")
        if len(at.by_name) != 1:
            raise GraphError(f"{node_label(n)} must have exactly one value attribute")
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
            raise GraphError(f"{node_label(n)}: convcalc reads a Constant's value, value_float(s) or "
                             f"value_int(s) attribute, not '{a.name}' "
                             f"({ATTR_TYPES.get(a.type, '?')})")

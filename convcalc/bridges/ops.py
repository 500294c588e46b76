"""The operators convcalc sees, and the state every importer pass shares.

Takes: an operator graph (`convcalc.bridges.graph.Graph`, read from ONNX or torch.fx).
Gives: `Op` (one layer, merge or split over named tensors), `BuilderState` (the graph, the ops
built so far, tensor layouts and aliases, and the lookups every pass uses: a tensor's real name,
raw and canonical shape, constant value), `UnsupportedError`, and the operator tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convcalc.bridges.graph import Dims, Graph, Node, printable, shortened
from convcalc.errors import ConvcalcError
from convcalc.limits import MAX_NESTING, MAX_YAML_DEPTH
from convcalc.shapes import Shape


class UnsupportedError(ConvcalcError):
    """The model holds something convcalc cannot write as a spec (or `--strict` refused an
    operator it cannot count). Exit 1."""

    exit_code = 1


ACTS = {"Relu": "relu", "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid",
        "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu", "Gelu": "gelu",
        "Silu": "silu", "Softmax": "softmax", "Swish": "silu"}
DEEPEST = min(MAX_NESTING, (MAX_YAML_DEPTH - 2) // 3)
"""Blocks inside blocks an import can write: each takes at least 3 YAML levels (the list item,
the block's mapping, its list of layers) below the spec's 2."""
SE_ACTS = ("relu", "relu6", "silu", "hardswish", "gelu")
BIAS_KINDS = ("conv", "pointwise", "depthwise", "transposed", "linear")
FIRST_ONLY = ("Reshape", "Slice", "Resize", "Upsample", "Split", "Squeeze", "Unsqueeze", "Expand",
              "Tile", "Pad", "ReduceMean", "Clip", "Dropout", "TopK", "ConstantOfShape")
"""Ops whose inputs after the first are sizes, scales or bounds, never data."""


@dataclass(frozen=True)
class View:
    """A map H×W×C cut into windows of p×p positions, held as B×G×P×C (G windows of P = p²
    positions, MaxViT's WindowPartition): token-wise layers read it as the map; `swapped` (G
    and P exchanged) makes attention over it a grid attention."""

    spatial: tuple[int, ...]
    p: int
    swapped: bool = False


# --- the ops convcalc sees ---------------------------------------------------------------------

@dataclass(eq=False)
class Op:
    """A layer (one data input, one output), a merge (add, mul, concat) or a split."""

    role: str  # "layer" | "add" | "mul" | "concat" | "first" | "split"
    inputs: list[str]
    outputs: list[str]
    node: Node
    kind: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    comment: str | None = None
    pos: int = 0


class BuilderState:
    """The graph being imported and the ops built from it so far."""

    def __init__(self, graph: Graph, strict: bool) -> None:
        self.g = graph
        self.strict = strict
        self.layout: dict[str, tuple[int, ...]] = {graph.input: tuple(range(len(
            graph.shapes[graph.input])))}
        self.alias: dict[str, str] = {}
        self.ops: list[Op] = []
        self.producer: dict[str, Op] = {}
        self.uncounted: dict[str, list[str]] = {}
        self.views: dict[str, View] = {}
        self.containers: set[tuple[str, ...]] = set()
        self.depth = 0
        for n in graph.nodes:
            for i in range(len(n.scope) - 1, 0, -1):
                self.containers.add(n.scope[:i])

    # -- errors and warnings

    def fail(self, node: Node, message: str) -> UnsupportedError:
        return UnsupportedError(f"{printable(node.name or node.op)} ({printable(node.op)}): "
                                f"{message}")

    def uncountable(self, node: Node) -> None:
        self.uncounted.setdefault(shortened(node.op), []).append(shortened(node.name or node.op))

    # -- tensors

    def real(self, t: str) -> str:
        while t in self.alias:
            t = self.alias[t]
        return t

    def raw(self, t: str) -> Dims:
        s = self.g.shape(t)
        if s is None:
            raise UnsupportedError(f"tensor '{printable(t)}' has no known shape")
        return s

    def canon(self, t: str) -> Shape:
        """The convcalc shape (channels, spatial) of a data tensor, whatever its layout."""
        raw = self.raw(t)
        if t in self.views:  # a map cut into windows (B×G×P×C): the map it stands for
            return Shape(raw[-1], self.views[t].spatial)
        lay = self.layout.get(t, tuple(range(len(raw))))
        dims = [0] * len(raw)
        for i, axis in enumerate(lay):
            dims[axis] = raw[i]
        if len(dims) < 2:
            return Shape(dims[0] if dims else 1, ())
        return Shape(dims[1], tuple(dims[2:]))

    def is_data(self, t: str) -> bool:
        return bool(t) and t not in self.g.constants

    def const(self, t: str) -> tuple[Any, ...] | None:
        return self.g.value(t) if t else None

"""The op graph both importers produce: nodes with an op type, attributes and named tensors.

One small model for an ONNX file and a traced PyTorch module alike. The op vocabulary is ONNX's
(`Conv`, `Gemm`, `BatchNormalization`, `Relu`, `Add`, `Concat`, …) with a few ops of its own
for what a torch module says directly (`Silu`, `Gelu`, `ChannelShuffle`, `AdaptiveAveragePool`,
`StochasticDepth`); `Gemm` contracts the last axis of an input of any rank, as `nn.Linear` does.
Attributes use ONNX's names (`kernel_shape`, `strides`, `pads` as begin…end, `dilations`,
`group`). Tensors are named; every data tensor has its full shape, batch first (N×C×…); a
constant (weight, shape, scale) has its shape and, when small, its values. Weights themselves
are never held: only their shapes.

`convcalc.bridges.to_spec` turns a graph into the spec a user would write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Dims = tuple[int, ...]


def printable(text: str, limit: int = 200) -> str:
    """A model's name as a message shows it: control, format and separator characters escaped
    (`\\n`, `\\x1b`, `\\u2028`), long names shortened; ordinary names unchanged."""
    return escaped(shortened(text, limit))


def shortened(text: str, limit: int = 200) -> str:
    """A long name cut to `limit` characters, NOT escaped: for an import's notes and warnings,
    which each place they land escapes once for its grammar (the YAML comment, stderr, the
    report's warnings)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def escaped(text: str) -> str:
    """`text` on one line: control, format and separator characters escaped (`\\n`)."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode()
                   for c in text)


@dataclass(slots=True)
class Const:
    """A constant tensor: its shape and, when it is small, its values (flattened).

    `load`, when given, reads the values the first time they are asked for (an ONNX
    initializer's data is decoded only when a count needs it); it returns None when they are
    too many to hold or cannot be read here."""

    shape: Dims
    values: tuple[Any, ...] | None = None
    load: Callable[[], tuple[Any, ...] | None] | None = None

    def get(self) -> tuple[Any, ...] | None:
        """The values, read now if they were not yet."""
        if self.values is None and self.load is not None:
            load, self.load = self.load, None
            self.values = load()
        return self.values

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(slots=True)
class Node:
    """One operation: op type, attributes, input and output tensor names ("" = absent input).

    `name` is the model's own name for it (the ONNX node name, the torch module path); `scope`
    the module path it lives in, outermost first (`("layer2", "0", "conv1")` for torch's
    `layer2.0.conv1`), empty when the model says nothing."""

    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    scope: tuple[str, ...] = ()
    module: str | None = None
    """The class of the torch module it came from, when known (names reusable blocks)."""
    form: str | None = None
    """How the torch model calls it: `module`, `function` (torch.nn.functional) or `method`
    (a tensor method or another torch function); None when the source does not say (ONNX)."""


@dataclass(slots=True)
class Graph:
    """A whole model: nodes in execution order, the data input and output tensors, every
    tensor's shape and the constants."""

    name: str
    nodes: list[Node]
    input: str
    output: str
    shapes: dict[str, Dims]
    constants: dict[str, Const]
    notes: list[str] = field(default_factory=list)
    """What the reader wants said about the source (e.g. BatchNorm folded at export)."""
    classes: dict[tuple[str, ...], str] = field(default_factory=dict)
    """module path → class name of that torch module, when known."""

    def add_outputs(self, outputs: list[tuple[str, str]]) -> None:
        """Several outputs, (name, tensor) with the one the network goes on with first: an
        `Outputs` node joins them (translated as `branches` with `merge: first`, the others
        extra outputs of the network), said in a note. One output: it is the output."""
        tensors = list(dict.fromkeys(t for _, t in outputs))
        self.output = tensors[0]
        if len(tensors) == 1:
            return
        joined = "outputs#joined"
        while joined in self.shapes or joined in self.constants:
            joined += "_"
        self.nodes.append(Node("Outputs", "outputs", tensors, [joined],
                               {"names": [n for n, _ in outputs]}))
        if tensors[0] in self.shapes:
            self.shapes[joined] = self.shapes[tensors[0]]
        self.output = joined
        names = ", ".join(shortened(n, 40) for n, _ in outputs[:10])
        more = ", …" if len(outputs) > 10 else ""
        self.notes.append(f"the model has {len(outputs)} outputs ({names}{more}): the spec goes "
                          f"on with the first; every other one ends a path of a `branches` "
                          f"with `merge: first`, an output of its own, counted in the totals")

    def value(self, tensor: str) -> tuple[Any, ...] | None:
        """The values of a small constant tensor, else None."""
        const = self.constants.get(tensor)
        return None if const is None else const.get()

    def shape(self, tensor: str) -> Dims | None:
        if tensor in self.shapes:
            return self.shapes[tensor]
        const = self.constants.get(tensor)
        return None if const is None else const.shape

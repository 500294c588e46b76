"""The walk of a training step over the network graph: which tensors need a gradient, what each
layer keeps for backward (each storage once), and what its backward computes.

Autograd's rules: the network input needs no gradient; a tensor needs one when an input of the
op that made it does, or the op has trainable parameters. So the first layer computes no
grad-input, a frozen layer (--freeze, or `trainable: false` in the spec) no grad-weight, and
nothing before the first trainable layer any gradient. A storage kept by several layers (a
ReLU's output that the next conv also keeps), or reached through views (flatten, a split's
parts), is counted once, for the first layer in the forward order that keeps it. A
checkpointed block keeps only its input; its layers run again in backward (recompute MACs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from convcalc.graph import Graph, Node, network_graph
from convcalc.report import NetworkReport
from convcalc.training.rules import Private, Saves, is_view, layer_saves

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
FIXED_BYTES = {"f32": 4, "i64": 8, "bool": 1}


@dataclass(frozen=True, slots=True)
class Stored:
    """One storage autograd keeps: who made it, who keeps it first, its size."""

    id: str
    what: str
    bytes: int
    owner: str
    """The row path (or merge) that keeps it first: where its bytes are reported."""
    saver: int
    """Index in graph.nodes of that first keeper."""


@dataclass(frozen=True, slots=True)
class RowTraining:
    path: str
    input_grad: bool
    trainable: bool
    checkpointed: bool
    grad_input_macs: int
    grad_weight_macs: int
    saved_bytes: int

    @property
    def backward_macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs


@dataclass(frozen=True)
class TrainingWalk:
    """The per-row facts of a training step and the storages kept for backward."""

    rows: tuple[RowTraining, ...]
    stored: tuple[Stored, ...]
    graph: Graph
    needs_grad: dict[str, bool] = field(repr=False)
    storage: dict[str, str] = field(repr=False)
    """node id → the id of the storage its output lives in (its own, or its input's: a view)."""
    storage_bytes: dict[str, int] = field(repr=False)
    keepers: dict[str, list[int]] = field(repr=False)
    """storage id → every node index that keeps it."""
    recompute_macs: int = 0
    merge_saved_bytes: int = 0

    @property
    def saved_activation_bytes(self) -> int:
        return sum(s.bytes for s in self.stored)


def _under(path: str, prefixes: Sequence[str]) -> str | None:
    for p in prefixes:
        if path == p or path.startswith(p + "."):
            return p
    return None


def walk(report: NetworkReport, *, frozen: Sequence[str] = (),
         checkpoint: Sequence[str] = (), dtype: str = "fp32",
         input_grad: bool = False) -> TrainingWalk:
    """The training step of `report` (batched as it is). `frozen`, `checkpoint`: row paths or
    block paths (a block covers every row inside). `input_grad`: the network's input needs a
    gradient (as a data batch does not; true inside a larger model)."""
    from convcalc.training.rules import check_measured

    check_measured(r.report.kind for r in report.rows)
    graph = network_graph(report)
    act = DTYPE_BYTES[dtype]
    batch = report.batch
    needs: dict[str, bool] = {}
    storage: dict[str, str] = {}
    sizes: dict[str, int] = {}
    sources: dict[str, list[str]] = {}
    for e in graph.edges:
        sources.setdefault(e.target, []).append(e.source)
    stored: dict[str, Stored] = {}
    keepers: dict[str, list[int]] = {}
    rows: list[RowTraining] = []
    recompute = 0
    entered: set[str] = set()

    def keep(sid: str, what: str, nbytes: int, owner: str, index: int) -> None:
        keepers.setdefault(sid, []).append(index)
        if sid not in stored:
            stored[sid] = Stored(sid, what, nbytes, owner, index)

    for index, node in enumerate(graph.nodes):
        ins = sources.get(node.id, [])
        in_grad = any(needs[s] for s in ins)
        if node.role == "input":
            needs[node.id] = input_grad
            storage[node.id] = node.id
            sizes[node.id] = node.output.elements * batch * act
            continue
        if node.role == "layer":
            assert node.row is not None
            row = report.rows[node.row]
            spec = row.spec
            trainable = (row.report.params > 0 and _under(row.path, frozen) is None
                         and row.trainable)
            block = _under(row.path, checkpoint)
            s = layer_saves(row.report, spec, in_grad, trainable)
            needs[node.id] = in_grad or trainable
            src = ins[0]
            view = is_view(row.report, spec)
            storage[node.id] = storage[src] if view else node.id
            # the tensor torch holds: an octave layer's output is one full-size tensor
            sizes[node.id] = node.output.elements * batch * act
            if block is not None:
                if block not in entered:  # the checkpoint keeps the block's input
                    entered.add(block)
                    keep(storage[src], f"{block} input (checkpoint)", sizes[storage[src]],
                         row.path, index)
                recompute += row.report.macs
            else:
                _keep_layer(s, node, src, storage, sizes, row.path, index, act, keep)
            before = sum(x.bytes for x in stored.values() if x.owner == row.path)
            rows.append(RowTraining(row.path, in_grad, trainable, block is not None,
                                    s.grad_input_macs, s.grad_weight_macs, before))
            continue
        # merges and splits
        needs[node.id] = in_grad
        if node.view:
            storage[node.id] = storage[ins[0]]
            continue
        storage[node.id] = node.id
        sizes[node.id] = node.output.elements * batch * act
        block = _under(node.path, checkpoint) if node.path else None
        if node.kind == "mul" and block is None:
            a, b = ins
            if needs[b]:
                keep(storage[a], f"{node.name} operand", sizes[storage[a]], node.name, index)
            if needs[a]:
                keep(storage[b], f"{node.name} operand", sizes[storage[b]], node.name, index)
    # a checkpointed block's layers recompute only when backward reaches them
    row_paths = {r.path for r in rows}
    merged = sum(s.bytes for s in stored.values() if s.owner not in row_paths)
    return TrainingWalk(tuple(rows), tuple(stored.values()), graph, needs, storage, sizes,
                        keepers, recompute, merged)


def _keep_layer(s: Saves, node: Node, src: str, storage: dict[str, str], sizes: dict[str, int],
                path: str, index: int, act: int, keep: object) -> None:
    from collections.abc import Callable

    assert callable(keep)
    k: Callable[[str, str, int, str, int], None] = keep
    if s.input:
        k(storage[src], f"{path} input", sizes[storage[src]], path, index)
    if s.output:
        k(storage[node.id], f"{path} output", sizes[storage[node.id]], path, index)
    for i, p in enumerate(s.private):
        k(f"{node.id}:{i}", f"{path} {p.what}", _private_bytes(p, act), path, index)


def _private_bytes(p: Private, act: int) -> int:
    return p.elements * (act if p.dtype == "act" else FIXED_BYTES[p.dtype])

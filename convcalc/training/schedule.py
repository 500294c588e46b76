"""The peak memory of a training step: a walk over the forward then the backward order.

The model state (parameters and optimizer state) is held throughout. Forward, in execution
order: each op writes its output (a view writes nothing); a tensor is freed after its last
reader unless autograd keeps it for backward. Backward, in reverse order: the gradient of an
op's output is complete when the op is reached (all its readers ran before it in forward, so
after it in backward); the op writes the gradient of its input when that needs one, and its
parameters' gradients; then the output's gradient is freed, and every kept tensor whose last
keeper has run. The peak and the op where it happens are reported.

What the model leaves out: the kernels' scratch space (im2col buffers, cuDNN/oneDNN
workspaces), the allocator's rounding and caching, the temporary recompute of a checkpointed
block (its saved tensors live while its backward runs), the gradient autograd adds out of place
where a residual's add hands one gradient tensor to both its inputs, and the loss: taken as
output.sum(), whose gradient is a broadcast scalar.

Checked against torch two ways (tests/test_training.py): a walk of the live storages of every
tensor torch's ops return over the step (tests/fixtures/training_live.json: equal within 16
bytes on the nets without residual adds, up to +4.4 % with them), and torch.profiler's memory
events (training_profile.json: −1 % … +25 %, the excess the kernels' scratch space).
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.training.saved import TrainingWalk


@dataclass(frozen=True, slots=True)
class Peak:
    bytes: int
    at: str
    phase: str
    timeline: tuple[tuple[str, str, int], ...] = ()
    """(phase, node name, bytes in use) after each op, forward then backward: the data of a
    memory timeline (saved tensors rising through forward, falling through backward)."""


def peak(w: TrainingWalk, state_bytes: int,
         grad_bytes_by_row: dict[str, int], act: int) -> Peak:
    """The largest memory in use during the step, with where it happens."""
    graph = w.graph
    nodes = graph.nodes
    sources: dict[str, list[str]] = {}
    readers: dict[str, int] = {}
    for e in graph.edges:
        sources.setdefault(e.target, []).append(e.source)
    order = {n.id: i for i, n in enumerate(nodes)}
    for e in graph.edges:  # last forward reader of each storage
        sid = w.storage[e.source]
        readers[sid] = max(readers.get(sid, -1), order[e.target])
    kept = {s.id for s in w.stored}
    last_keeper = {sid: min(ix) for sid, ix in w.keepers.items()}
    out_storage = w.storage[nodes[-1].id]
    alive: dict[str, int] = {}
    best = Peak(state_bytes, "start", "forward")
    used = state_bytes
    points: list[tuple[str, str, int]] = []

    def note(at: str, phase: str) -> None:
        nonlocal best
        points.append((phase, at, used))
        if used > best.bytes:
            best = Peak(used, at, phase)

    for i, node in enumerate(nodes):
        sid = w.storage[node.id]
        if sid == node.id and sid not in alive:
            alive[sid] = w.storage_bytes.get(sid, 0)
            used += alive[sid]
        for s in w.stored:  # private tensors a layer keeps are written as it runs
            if s.saver == i and s.id not in alive:
                alive[s.id] = s.bytes
                used += s.bytes
        note(node.name, "forward")
        for src in {w.storage[x] for x in sources.get(node.id, [])}:
            if readers.get(src, -1) <= i and src not in kept and src != out_storage \
                    and src in alive:
                used -= alive.pop(src)
    # backward: the loss is taken as output.sum(), whose gradient is one broadcast scalar (a
    # loss such as cross-entropy would hold an output-sized gradient here instead)
    grads: dict[str, int] = {nodes[-1].id: 0}
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if node.role == "input":
            break
        own = grads.get(node.id)
        for src in sources.get(node.id, []):
            if w.needs_grad.get(src) and src not in grads:
                grads[src] = _grad_size(w, src, act)
                used += grads[src]
        if node.row is not None:
            used += grad_bytes_by_row.get(graph.report.rows[node.row].path
                                          if graph.report else "", 0)
        note(node.name, "backward")
        if own is not None:
            used -= grads.pop(node.id)
        for sid, first in last_keeper.items():
            if first == i and sid in alive and sid in kept:
                used -= alive.pop(sid)
    return Peak(best.bytes, best.at, best.phase, tuple(points))


def _grad_size(w: TrainingWalk, node_id: str, act: int) -> int:
    node = w.graph.node(node_id)
    batch = w.graph.report.batch if w.graph.report is not None else 1
    return node.output.elements * batch * act

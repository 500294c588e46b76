"""The outputs of a traced forward: every tensor of what it returns, nested or not, with a name.

Takes: the argument of a torch.fx graph's `output` node (a node, or a tuple, list or dict of
them, nested: torchvision's segmentation models return `{"out": …, "aux": …}`) and the model's
label for messages. Gives: (name, node) for every tensor in it, in the order forward wrote them,
the first being the one the spec goes on with; names are the dict keys and positions joined by
dots (`out`, `aux`, `1.0`), `output` for a lone tensor. What is not a tensor (a number, None,
text) costs nothing and is left out; a forward that returns no tensor at all is a one-line error.
"""

from __future__ import annotations

from typing import Any

from convcalc.bridges.graph import Node, printable
from convcalc.errors import SpecError

COSTLY = ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
          "LayerNormalization", "GroupNormalization")
"""Ops with parameters or MACs: a result made with one of them and then dropped still costs."""


def output_tensors(result: Any, label: str) -> list[tuple[str, Any]]:
    """Every tensor node in `result` as (name, node), depth first in the order written."""
    import torch

    found: list[tuple[str, Any]] = []
    others: list[str] = []
    stack: list[tuple[str, Any]] = [("", result)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, dict):
            items = [(f"{name}.{k}" if name else str(k), v) for k, v in value.items()]
        elif isinstance(value, tuple | list):
            items = [(f"{name}.{i}" if name else str(i), v) for i, v in enumerate(value)]
        elif isinstance(value, torch.fx.Node) and _is_tensor(value):
            found.append((name or "output", value))
            continue
        else:
            others.append(_what(value))
            continue
        stack.extend(reversed(items))
    if not found:
        what = ", ".join(dict.fromkeys(others)) or "an empty container"
        raise SpecError(f"--torch {printable(label)}: forward returns {what}, not a tensor; "
                        "convcalc follows the tensors a model returns")
    return found


def _is_tensor(node: Any) -> bool:
    """An fx node whose value (from the shape run) is one tensor."""
    meta = node.meta.get("tensor_meta")
    return meta is not None and hasattr(meta, "shape")


def _what(value: Any) -> str:
    if value is None:
        return "None"
    if hasattr(value, "op") and hasattr(value, "target"):  # an fx node that is not a tensor
        return f"a non-tensor value ({printable(str(value.target), 60)})"
    return type(value).__name__


def dropped_results(nodes: list[Node], outputs: list[str]) -> list[tuple[str, str]]:
    """Results forward computes and then drops (`self.head(x)` whose value nothing uses, as a
    `convcalc export` of `merge: first` writes): torch runs them and FlopCounterMode counts
    them, so they are outputs too. (name, tensor) of each tensor that no node uses and no
    output is, when a parameter or MAC op or a module call (a layer: `self.relu(x)`, a path of
    parameter-free layers) made it or leads only to it; a result of several outputs (a split's
    unused part) is a view and costs nothing."""
    used = {t for n in nodes for t in n.inputs} | set(outputs)
    producer = {o: n for n in nodes for o in n.outputs}
    live: set[int] = set()
    stack = list(outputs)
    while stack:
        n = producer.get(stack.pop())
        if n is not None and id(n) not in live:
            live.add(id(n))
            stack.extend(n.inputs)
    found = []
    for n in nodes:
        if len(n.outputs) != 1 or n.outputs[0] in used:
            continue
        costly, seen, todo = False, set(), [n]
        while todo and not costly:
            m = todo.pop()
            if id(m) in seen or id(m) in live:
                continue
            seen.add(id(m))
            costly = m.op in COSTLY or m.form == "module"
            todo.extend(producer[t] for t in m.inputs if t in producer)
        if costly:
            found.append((f"{n.name} (dropped)", n.outputs[0]))
    return found

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

from convcalc.bridges.graph import printable
from convcalc.errors import SpecError


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

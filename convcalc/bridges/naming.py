"""Name: the model's module paths as nested named levels.

Takes: the recovered items and the builder's graph (its node scopes). Gives: the items grouped
in `Sequence` levels named after the model's own module paths (torch's `layer2.0.conv1` is
convcalc's `layer2.0.conv1`), and `label` (a valid convcalc name from a model's name).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from convcalc.bridges.graph import Node
from convcalc.bridges.items import Branches, Leaf, Residual, Sequence, Split, leaves
from convcalc.bridges.ops import BuilderState


def label(text: str) -> str:
    """A valid convcalc name from a model's name: no dots, no `$`, no control, format or
    line-break characters (each becomes `_`)."""
    cleaned = "".join("_" if ch in "$.{}" or unicodedata.category(ch) in HIDDEN else ch
                      for ch in str(text)).strip()
    return cleaned[:200]


HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
"""Unicode categories never written raw into a generated file: controls, formatting (bidi
overrides, zero-width), surrogates, private use, unassigned, line and paragraph separators."""


# --- names: the model's module paths as nested named blocks -------------------------------------

class Namer:
    def __init__(self, builder: BuilderState) -> None:
        self.b = builder
        self.containers = builder.containers

    def levels(self, node: Node, is_layer: bool) -> tuple[tuple[str, ...], str | None]:
        """(the levels a node lives in, its own name or None)."""
        scope = tuple(label(s) for s in node.scope if label(s))
        if scope:
            if is_layer and (node.module is not None or tuple(node.scope) not in self.containers):
                return scope[:-1], scope[-1]
            return scope, None
        name = label(node.name)
        if node.name.startswith("/"):  # a TorchScript export's name outside every module
            return (), None
        if not name or re.fullmatch(rf"(node_)?{re.escape(node.op)}(_\d+)?", name, re.I) or \
                re.fullmatch(r"(node_)?[A-Za-z]+_\d+", name):
            return (), None
        return (), name

    def scope(self, item: Any) -> tuple[str, ...]:
        paths: list[tuple[str, ...]] = []
        if isinstance(item, Leaf):
            if item.op is not None:
                nodes = [p.node for p in getattr(item, "parts", [])] or [item.op.node]
                if getattr(item, "parts", None):
                    return _common([self.levels(n, True)[0] for n in nodes])[:-1]
                lv, _ = self.levels(item.op.node, True)
                return lv
            return ()
        op = getattr(item, "op", None)
        if op is not None:
            paths.append(self.levels(op.node, False)[0])
        for leaf in leaves([item]):
            if leaf.op is not None:
                paths.append(self.scope(leaf))
        return _common(paths)

    def group(self, items: list[Any], prefix: tuple[str, ...]) -> list[Any]:
        scoped = [(self.scope(x), x) for x in items]
        out: list[Any] = []
        i = 0
        while i < len(scoped):
            s, x = scoped[i]
            if len(s) > len(prefix) and s[:len(prefix)] == prefix:
                head = s[len(prefix)]
                j = i
                while j < len(scoped) and len(scoped[j][0]) > len(prefix) and \
                        scoped[j][0][:len(prefix) + 1] == (*prefix, head):
                    j += 1
                seq = Sequence(head, self.group([y for _, y in scoped[i:j]], (*prefix, head)))
                seq.parent = prefix[-1] if prefix else ""  # type: ignore[attr-defined]
                out.append(seq)
                i = j
                continue
            out.append(self.lower(x, prefix))
            i += 1
        return out

    def lower(self, x: Any, prefix: tuple[str, ...]) -> Any:
        if isinstance(x, Leaf):
            if x.op is not None:
                parts = getattr(x, "parts", None)
                if parts:
                    se_scope = _common([self.levels(p.node, True)[0] for p in parts])
                    name = se_scope[-1] if len(se_scope) > len(prefix) else None
                else:
                    lv, name = self.levels(x.op.node, True)
                    if lv != prefix and name is not None:
                        name = "_".join((*lv[len(_common([lv, prefix])):], name))
                if name is not None:
                    x.fields = {"name": name, **x.fields}
            return x
        if isinstance(x, Residual):
            x.body = self.group(x.body, prefix)
            if x.shortcut is not None:
                x.shortcut = _unwrap(self.group(x.shortcut, prefix), "shortcut")
            return x
        if isinstance(x, Branches | Split):
            x.paths = [_unwrap(self.group(p, prefix), f"path{i}") for i, p in enumerate(x.paths)]
            return x
        return x


def _unwrap(items: list[Any], level: str) -> list[Any]:
    """A path's (or shortcut's) layers grouped under the very name convcalc gives that level
    (a model exported by convcalc): the level itself, not one more inside it."""
    if len(items) == 1 and isinstance(items[0], Sequence) and items[0].name == level:
        return list(items[0].items)
    return items


def _common(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not paths:
        return ()
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        for i in range(n):
            if p[i] != first[i]:
                n = i
                break
    return first[:n]

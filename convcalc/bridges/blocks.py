"""Find blocks: named levels with the same structure written once, with parameters.

Takes: named items (`Sequence` levels, with the torch class they came from). Gives: the items
with look-alike levels replaced by `BlockUse` (consecutive ones as a `Repeat`), and `defs`, the
block definitions (parameters and layers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from convcalc.bridges.items import BlockUse, Branches, Leaf, Repeat, Residual, Sequence, Split

# --- repeated blocks: written once, with parameters ----------------------------------------------

MASKED = ("out", "stride", "kernel", "padding", "groups", "p", "multiplier", "squeeze",
          "dilation", "output_size", "scale")


class Blocks:
    """Named levels with the same structure become one block with parameters for the fields
    that differ; consecutive uses numbered 0, 1, 2, … a `repeat`."""

    def __init__(self, classes: dict[tuple[str, ...], str]) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.classes = classes

    def run(self, items: list[Any]) -> list[Any]:
        for _ in range(20):
            groups: dict[Any, list[tuple[Sequence, list[Any]]]] = {}
            for seq, values in self.candidates(items):
                groups.setdefault(self.signature(seq), []).append((seq, values))
            classes = [g for g in groups.values() if len(g) > 1]
            if not classes:
                break
            inner = [c for c in classes if not any(
                self.contains(s, other) for s, _ in c for oc in classes if oc is not c
                for other, _ in oc)]
            for cls in inner or classes[:1]:
                self.define(cls)
            items = self.replace(items)
            items = self.repeats(items)
        return items

    # traversal

    def walk(self, items: list[Any]) -> Iterator[Any]:
        for x in items:
            yield x
            for sub in self.children(x):
                yield from self.walk(sub)

    @staticmethod
    def children(x: Any) -> list[list[Any]]:
        if isinstance(x, Sequence):
            return [x.items]
        if isinstance(x, Residual):
            return [x.body] + ([x.shortcut] if x.shortcut else [])
        if isinstance(x, Branches | Split):
            return list(x.paths)
        if isinstance(x, Repeat):
            return [x.body]
        return []

    def contains(self, outer: Sequence, inner: Sequence) -> bool:
        return outer is not inner and any(y is inner for y in self.walk(outer.items))

    def candidates(self, items: list[Any]) -> Iterator[tuple[Sequence, list[Any]]]:
        for x in self.walk(items):
            if isinstance(x, Sequence) and not getattr(x, "block", None) and (
                    len(x.items) >= 3 or any(not isinstance(y, Leaf) for y in x.items)):
                yield x, []

    # signatures: the structure with the masked values taken out

    def shape_of(self, x: Any, values: list[Any]) -> Any:
        if isinstance(x, Leaf):
            key = []
            for k, v in x.fields.items():
                if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                    values.append(v)
                    key.append((k, "#"))
                else:
                    key.append((k, json.dumps(v, default=str)))
            return ("L", x.kind, tuple(key))
        if isinstance(x, Sequence):
            return ("S", x.name, tuple(self.shape_of(y, values) for y in x.items))
        if isinstance(x, Residual):
            return ("R", tuple(self.shape_of(y, values) for y in x.body),
                    None if x.shortcut is None else
                    tuple(self.shape_of(y, values) for y in x.shortcut))
        if isinstance(x, Branches):
            return ("B", x.merge, tuple(tuple(self.shape_of(y, values) for y in p)
                                        for p in x.paths))
        if isinstance(x, Split):
            return ("P", json.dumps(x.sizes), tuple(tuple(self.shape_of(y, values) for y in p)
                                                    for p in x.paths))
        if isinstance(x, BlockUse):
            key = []
            for k, v in x.args.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    values.append(v)
                    key.append((k, "#"))
                else:
                    key.append((k, json.dumps(v)))
            return ("U", x.block, x.name, tuple(key))
        if isinstance(x, Repeat):
            values.append(x.count)
            return ("N", x.name, tuple(self.shape_of(y, values) for y in x.body))
        raise TypeError(type(x))

    def signature(self, seq: Sequence) -> Any:
        return tuple(self.shape_of(y, []) for y in seq.items)

    def values(self, seq: Sequence) -> list[Any]:
        values: list[Any] = []
        for y in seq.items:
            self.shape_of(y, values)
        return values

    # one class of look-alike levels → one block

    def define(self, cls: list[tuple[Sequence, list[Any]]]) -> None:
        seqs = [s for s, _ in cls]
        table = [self.values(s) for s in seqs]
        columns = list(zip(*table, strict=True)) if table and table[0] else []
        names = self.field_names(seqs[0])
        params: dict[str, Any] = {}
        exprs: list[Any] = []
        seen: dict[tuple[Any, ...], str] = {}
        for col, (fname, owner) in zip(columns, names, strict=True):
            if len(set(col)) == 1:
                exprs.append(None)
                continue
            if col in seen:
                exprs.append("$" + seen[col])
                continue
            multiple = None
            for base, pname in seen.items():
                if all(isinstance(v, int) and isinstance(b, int) and b and v % b == 0
                       for v, b in zip(col, base, strict=True)):
                    ratios = {v // b for v, b in zip(col, base, strict=True)}
                    if len(ratios) == 1 and ratios != {1}:
                        multiple = f"${{{ratios.pop()} * {pname}}}"
                        break
            if multiple is not None:
                exprs.append(multiple)
                continue
            pname = self.param_name(fname, owner, params)
            params[pname] = None
            seen[col] = pname
            exprs.append("$" + pname)
        block = self.block_name(seqs[0])
        template = seqs[0]
        body = self.substitute(template.items, iter(exprs))
        self.defs[block] = {"params": params, "layers": body}
        for s in seqs:
            vals = self.values(s)
            args: dict[str, Any] = {}
            it = iter(vals)
            for e, v in zip(exprs, it, strict=True):
                if e is not None and e.startswith("$") and not e.startswith("${"):
                    args.setdefault(e[1:], v)
            s.block = (block, {k: args[k] for k in params})  # type: ignore[attr-defined]

    def field_names(self, seq: Sequence) -> list[tuple[str, str | None]]:
        """(field, the name of the layer, use or level it sits in) of every masked value, in
        the order `values` lists them."""
        names: list[tuple[str, str | None]] = []

        def visit(x: Any, owner: str | None) -> None:
            if isinstance(x, Leaf):
                here = x.fields.get("name", owner)
                for k, v in x.fields.items():
                    if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                        names.append((k, here))
            elif isinstance(x, BlockUse):
                for k, v in x.args.items():
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        # a block's argument says most with the use it belongs to: branch2_out
                        label = re.sub(r"[^A-Za-z0-9_]", "_", x.name or "")
                        qualified = bool(label) and not label[0].isdigit()
                        names.append((f"{label}_{k}" if qualified else k, x.name or owner))
            elif isinstance(x, Repeat):
                names.append(("n", owner))
                for y in x.body:
                    visit(y, owner)
            else:
                inner = x.name if isinstance(x, Sequence) else owner
                for sub in self.children(x):
                    for y in sub:
                        visit(y, inner)

        for y in seq.items:
            visit(y, None)
        return names

    @staticmethod
    def param_name(field: str, owner: str | None, taken: dict[str, Any]) -> str:
        """`out`, else `branch2_out` (the layer it belongs to), else `out2`, `out3`, …"""
        if field not in taken:
            return field
        if owner:
            label = re.sub(r"[^A-Za-z0-9_]", "_", owner)
            candidate = f"{field}_{label}" if label[0].isdigit() else f"{label}_{field}"
            if candidate not in taken:
                return candidate
        k = 2
        while f"{field}{k}" in taken:
            k += 1
        return f"{field}{k}"

    def block_name(self, seq: Sequence) -> str:
        """The torch class's name (Bottleneck → bottleneck) where it says something; else the
        first use's own name without its number (layer2 → layer), or its level's (the blocks
        of features → features_block)."""
        cls = getattr(seq, "cls", None)
        if cls and cls not in GENERIC:
            base = _snake(cls)
        else:
            own = re.sub(r"[_\d]+$", "", seq.name)
            parent = re.sub(r"[_\d]+$", "", getattr(seq, "parent", ""))
            base = _snake(own) if own else f"{_snake(parent)}_block" if parent else "block"
        from convcalc.layers import KIND_ALIASES, KINDS
        from convcalc.netspec.compiler import BLOCK_KEYWORDS

        if base in KINDS or base in KIND_ALIASES or base in BLOCK_KEYWORDS or \
                base.lower() in YAML_WORDS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", base):
            base = f"{base}_block" if re.fullmatch(r"[A-Za-z_]\w*", base) else "block"
        name, k = base, 2
        while name in self.defs:
            name = f"{base}{k}"
            k += 1
        return name

    def substitute(self, items: list[Any], exprs: Iterator[Any]) -> list[Any]:
        """A deep copy of `items` with the masked values replaced (None: kept)."""
        out: list[Any] = []
        for x in items:
            if isinstance(x, Leaf):
                fields = {}
                for k, v in x.fields.items():
                    if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                        e = next(exprs)
                        fields[k] = v if e is None else e
                    else:
                        fields[k] = v
                out.append(Leaf(x.kind, fields, x.comment, None))
            elif isinstance(x, Sequence):
                out.append(Sequence(x.name, self.substitute(x.items, exprs)))
            elif isinstance(x, Residual):
                body = self.substitute(x.body, exprs)
                short = None if x.shortcut is None else self.substitute(x.shortcut, exprs)
                out.append(Residual(body, short))
            elif isinstance(x, Branches):
                out.append(Branches([self.substitute(p, exprs) for p in x.paths], x.merge))
            elif isinstance(x, Split):
                out.append(Split([self.substitute(p, exprs) for p in x.paths], x.sizes))
            elif isinstance(x, BlockUse):
                args = {}
                for k, v in x.args.items():
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        e = next(exprs)
                        args[k] = v if e is None else e
                    else:
                        args[k] = v
                out.append(BlockUse(x.block, x.name, args))
            elif isinstance(x, Repeat):
                e = next(exprs)
                out.append(Repeat(x.count if e is None else e, x.name,
                               self.substitute(x.body, exprs)))
        return out

    def replace(self, items: list[Any]) -> list[Any]:
        out = []
        for x in items:
            block = getattr(x, "block", None) if isinstance(x, Sequence) else None
            if block is not None:
                out.append(BlockUse(block[0], x.name, block[1]))
                continue
            if isinstance(x, Sequence):
                x.items = self.replace(x.items)
            elif isinstance(x, Residual):
                x.body = self.replace(x.body)
                if x.shortcut is not None:
                    x.shortcut = self.replace(x.shortcut)
            elif isinstance(x, Branches | Split):
                x.paths = [self.replace(p) for p in x.paths]
            out.append(x)
        return out

    def repeats(self, items: list[Any]) -> list[Any]:
        out: list[Any] = []
        i = 0
        while i < len(items):
            x = items[i]
            for sub in self.children(x):
                sub[:] = self.repeats(sub)
            if isinstance(x, BlockUse) and x.name is not None and x.name.isdigit():
                j = i + 1
                while j < len(items) and isinstance(items[j], BlockUse) and \
                        items[j].block == x.block and items[j].args == x.args and \
                        items[j].name == str(int(x.name) + (j - i)):
                    j += 1
                start = int(x.name)
                before = {y.name for y in out if isinstance(y, BlockUse | Sequence)}
                # an unnamed repeat numbers its copies with the level's next free ordinals
                if j - i > 1 and all(str(k) in before for k in range(start)) and \
                        not any(str(k) in before for k in range(start, j - i + start)):
                    out.append(Repeat(j - i, None, [BlockUse(x.block, None, dict(x.args))]))
                    i = j
                    continue
            out.append(x)
            i += 1
        return out


GENERIC = ("Sequential", "ModuleList", "ModuleDict", "Module")
"""torch containers whose class says nothing about what a block is."""
YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
"""Words a YAML reader may take for a boolean or null: never a block's name."""


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"\W+", "_", s).strip("_").lower() or "block"

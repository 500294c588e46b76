"""Export an analysed network as a PyTorch module: one readable file that imports only torch.

Every level of the spec (a named block, a repeat copy, a branch path) becomes a submodule named
as the spec names it, so convcalc's `layer2.0.conv1` is `model.get_submodule("layer2.0.conv1")`
(and `model.layer2[0].conv1` where the names are Python words); a name torch refuses (one of
nn.Module's attributes, such as `half`) gets a `_` added (`torch_names`). Python names in the
file (build()'s variables, the classes) are made from the spec's names but unique in the file,
ASCII, and never a keyword, a builtin or a name the file uses (`nn`, `torch`, `INPUT`, …).
A level whose layers simply follow each other is an `nn.Sequential`; one with residual adds,
branches, splits or gates gets a small class whose `forward` says how its modules combine.
Layers become the torch modules of the same name (`nn.Conv2d`, `nn.BatchNorm2d`, …); composite
kinds become `nn.Sequential`s of their parts or a short class written out in the file
(squeeze-and-excitation, octave conv).

The file defines `build()` (returns the module) and `INPUT` (the input tensor's shape, batch 1).

The concerns live apart: convcalc.bridges.export_leaves (one layer → its torch module, per
kind), export_classes and export_classes_tokens (the classes the file defines when used),
export_names (torch's and Python's names) and op_forms (a layer's op form). This module walks
the levels and writes the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from convcalc.bridges.export_classes import HELPERS
from convcalc.bridges.export_leaves import leaf, sequential_code
from convcalc.bridges.export_names import (
    RESERVED_NAMES,
    TORCH_TAKEN,
    class_name,
    docstring_text,
    module_ref,
    torch_names,
)
from convcalc.report import NetworkReport
from convcalc.tree import TBranches, TLayer, TNode, TResidual, TSeq, TSplit

__all__ = ["TORCH_TAKEN", "export_pytorch", "torch_names"]


@dataclass
class _Writer:
    report: NetworkReport
    helpers: dict[str, None] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    """class name → its code."""
    by_forward: dict[str, str] = field(default_factory=dict)
    """forward code → class name (levels with the same forward share a class)."""
    lines: list[str] = field(default_factory=list)
    """build()'s body: one assignment per level, innermost first."""
    counter: int = 0
    idents: set[str] = field(default_factory=lambda: set(RESERVED_NAMES))
    """Python names taken: classes (module level) and build()'s variables, one pool so that no
    variable ever shadows a class, a builtin or an import."""
    registered: dict[int, str] = field(default_factory=dict)
    """id(node) → the name its module is registered under in its level (see torch_names)."""

    def ident(self, base: str) -> str:
        """A fresh ASCII identifier from `base` (`a-b` → `a_b`, then `a_b_2`, …)."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "m"
        if base[0].isdigit():
            base = f"m_{base}"
        name, n = base, 1
        while name in self.idents:
            n += 1
            name = f"{base}_{n}"
        self.idents.add(name)
        return name

    def members(self, nodes: tuple[TNode, ...]) -> list[TNode]:
        """The submodules of a level, in order: layers and sub-levels, transparent nodes opened."""
        out: list[TNode] = []
        for node in nodes:
            if isinstance(node, TLayer) or (isinstance(node, TSeq) and node.level):
                out.append(node)
            elif isinstance(node, TSeq):
                out += self.members(node.children)
            elif isinstance(node, TResidual):
                out += self.members(node.body.children)
                if node.shortcut is not None:
                    out.append(node.shortcut)
            else:
                out += list(node.paths)
        return out

    def plain(self, nodes: tuple[TNode, ...]) -> bool:
        """Layers and sub-levels called one after the other: an nn.Sequential does it."""
        for node in nodes:
            if isinstance(node, TLayer):
                row = self.report.rows[node.row]
                if leaf(row.spec, row.report.input).call != "{m}({x})":
                    return False
            elif isinstance(node, TSeq):
                if not node.level and not self.plain(node.children):
                    return False
            else:
                return False
        return True

    def name_of(self, node: TNode) -> str:
        if isinstance(node, TLayer):
            return self.report.rows[node.row].parts[-1]
        assert isinstance(node, TSeq)
        return node.path[-1]

    def module(self, node: TNode) -> str:
        """The expression that builds `node`'s module (sub-levels were assigned to variables)."""
        if isinstance(node, TLayer):
            row = self.report.rows[node.row]
            made = leaf(row.spec, row.report.input)
            for h in made.helpers:
                self.helpers[h] = None
            if not row.trainable and row.report.params:
                # `trainable: false` in the spec: frozen as convcalc's training step counts it
                return f"{made.ctor}.requires_grad_(False)"
            return made.ctor
        assert isinstance(node, TSeq)
        return self.level(node.children, node.label, node.path)

    def call(self, node: TNode, x: str) -> str:
        ref = module_ref(self.registered[id(node)])
        if isinstance(node, TLayer):
            row = self.report.rows[node.row]
            return leaf(row.spec, row.report.input).call.format(m=ref, x=x)
        return f"{ref}({x})"

    def forward(self, nodes: tuple[TNode, ...], x: str, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, TLayer) or (isinstance(node, TSeq) and node.level):
                out.append(f"{x} = {self.call(node, x)}")
            elif isinstance(node, TSeq):
                self.forward(node.children, x, out)
            elif isinstance(node, TResidual):
                self.counter += 1
                saved = f"identity{self.counter}"
                out.append(f"{saved} = {x}")
                self.forward(node.body.children, x, out)
                short = saved if node.shortcut is None else self.call(node.shortcut, saved)
                out.append(f"{x} = {x} + {short}")
            elif isinstance(node, TBranches):
                calls = [self.call(p, x) for p in node.paths]
                if node.merge == "concat":
                    out.append(f"{x} = torch.cat([{', '.join(calls)}], dim=1)")
                elif node.merge == "first":
                    # every path runs; the first goes on, the others are extra outputs
                    out.append(f"{x} = [{', '.join(calls)}][0]")
                else:
                    out.append(f"{x} = {(' + ' if node.merge == 'add' else ' * ').join(calls)}")
            else:
                assert isinstance(node, TSplit)
                self.counter += 1
                parts = [f"part{self.counter}_{i}" for i in range(len(node.paths))]
                out.append(f"{', '.join(parts)} = torch.split({x}, {list(node.sizes)}, dim=1)")
                calls = [self.call(p, v) for p, v in zip(node.paths, parts, strict=True)]
                out.append(f"{x} = torch.cat([{', '.join(calls)}], dim=1)")

    def level(self, children: tuple[TNode, ...], label: str, path: tuple[str, ...]) -> str:
        members = self.members(children)
        names = torch_names([self.name_of(m) for m in members])
        built = [(name, self.module(m)) for name, m in zip(names, members, strict=True)]
        self.registered.update((id(m), name) for name, m in zip(names, members, strict=True))
        self.counter = 0
        body: list[str] = []
        self.forward(children, "x", body)
        plain = self.plain(children)
        var = self.ident("_".join(path) or "model")
        if plain and path:
            expr = sequential_code(built)
        else:
            cls = self.class_for(label if path else self.report.name, body, not path)
            inner = ",\n    ".join(f"({name!r}, {ctor})" for name, ctor in built)
            expr = f"{cls}([\n    {inner},\n])" if built else f"{cls}([])"
        self.lines.append(f"{var} = {expr}")
        return var

    def class_for(self, label: str, body: list[str], top: bool) -> str:
        self.helpers["Level"] = None
        code = "\n".join(f"        {line}" for line in body)
        found = self.by_forward.get(code)
        if found is not None and not top:
            return found
        base = class_name(label)
        name, n = base, 1
        while name in self.idents:
            n += 1
            name = f"{base}{n}"
        self.idents.add(name)
        text = f"The {self.report.name} network." if top else f"A `{label}` block."
        doc = f"    {text!r}\n"
        self.classes[name] = (f"\nclass {name}(Level):\n{doc}\n    def forward(self, x):\n"
                              f"{code}\n        return x\n")
        if not top:
            self.by_forward[code] = name
        return name


def export_pytorch(report: NetworkReport, source: str | None = None) -> str:
    """The Python source of a PyTorch module equal to `report`'s network."""
    from convcalc import __version__

    writer = _Writer(report)
    top = writer.level(report.tree.children, report.name, ())
    totals = report.totals()
    shape = (1, report.input.channels, *report.input.spatial)
    head = [
        f'"""{docstring_text(report.name)}, written by convcalc {__version__}'
        + (f" from {docstring_text(source)}" if source else "") + '.',
        "",
        f"Input {report.input.channels_last()} (H×W×C), output {report.output.channels_last()}; "
        f"{totals['params']:,} parameters and",
        f"{totals['macs']:,} multiply-accumulates (FlopCounterMode FLOPs / 2) at batch 1.",
        "Submodules are named as the spec names its layers: "
        "model.get_submodule(\"<convcalc path>\")",
        "(a name torch refuses, an nn.Module attribute such as half, gets a _ added).",
        '"""',
        "",
        "from collections import OrderedDict",
        "",
        "import torch",
        "from torch import nn",
        "",
        f"INPUT = {shape!r}",
        '"""The input tensor\'s shape: batch, channels, then the spatial axes."""',
    ]
    helpers = [HELPERS[h] for h in HELPERS if h in writer.helpers]
    build = ["", "", "def build():", '    """The network as an nn.Module."""']
    build += [f"    {line}".replace("\n", "\n    ") for line in writer.lines]
    build.append(f"    return {top}")
    return "\n".join([*head, "", *helpers, *writer.classes.values(), *build]) + "\n"

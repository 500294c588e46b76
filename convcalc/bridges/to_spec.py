"""Turn an op graph (convcalc.bridges.graph) into the spec mapping a user would write.

One pipeline for ONNX files and traced torch modules alike, each pass a module of its own:
`fuse` (patterns a module exports as several ops) → `translate` (one handler per operator, a
table) → `fuse` again (octave convs) → `structure` (residuals, branches, splits and gates from
the graph's post-dominators) → `naming` (the model's own module paths as nested named levels)
→ `blocks` (repeated levels written once, with parameters) → `yaml_writer`. The data it passes
along are `ops.Op` and the spec items of `items`; no formulas here: the normal parser and walk
then check and count the result. An operator convcalc cannot count is kept as an identity and
named in a warning (refused with `strict`); one it cannot follow at all (it changes the shape in
a way no kind does) is an error naming the node.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from convcalc.bridges.blocks import Blocks
from convcalc.bridges.graph import Graph, shortened
from convcalc.bridges.items import Imported, Leaf, Sequence, leaves
from convcalc.bridges.naming import Namer, label
from convcalc.bridges.op_form_import import write_forms
from convcalc.bridges.ops import BIAS_KINDS, UnsupportedError
from convcalc.bridges.structure import Recoverer
from convcalc.bridges.yaml_writer import comment, flow, item_mapping, key, quoted, scalar, yaml_items
from convcalc.limits import MAX_YAML_DEPTH

__all__ = ["Builder", "Imported", "UnsupportedError", "build_spec", "comment", "quoted", "scalar"]


class Builder(Recoverer):
    """All the passes over one graph."""

    # -- nodes → ops

    def build_ops(self) -> None:
        nodes = self.fuse(self.reachable(self.g.nodes))
        for n in nodes:
            self.convert(n)
        self.composites()
        self.fuse_mlps()


# --- the whole import --------------------------------------------------------------------------

def _bias_defaults(items: Iterable[Any], defs: dict[str, dict[str, Any]]) -> bool:
    """Whether most layers with a bias have none (then `defaults: {bias: false}`)."""
    counts: Counter[bool] = Counter()

    def visit(xs: Iterable[Any]) -> None:
        for x in xs:
            if isinstance(x, Leaf) and x.kind in BIAS_KINDS:
                counts[bool(x.fields.get("bias", True))] += 1
            for sub in Blocks.children(x):
                visit(sub)

    visit(items)
    for d in defs.values():
        visit(d["layers"])
    return counts[False] > counts[True]


def _set_bias(items: Iterable[Any], default: bool) -> None:
    for x in items:
        if isinstance(x, Leaf) and "bias" in x.fields:
            if x.fields["bias"] == default:
                del x.fields["bias"]
        elif isinstance(x, Leaf) and x.kind == "layernorm" and not default:
            x.fields["bias"] = True
        for sub in Blocks.children(x):
            _set_bias(sub, default)


def build_spec(graph: Graph, *, strict: bool = False, source: str | None = None) -> Imported:
    """The spec mapping (and YAML) for a graph, checked by convcalc's own parser and walk."""
    b = Builder(graph, strict)
    b.build_ops()
    warnings: list[str] = []
    if b.uncounted:
        total = sum(len(v) for v in b.uncounted.values())
        listed = "; ".join(f"{op} ×{len(names)} ({', '.join(names[:3])}"
                           f"{', …' if len(names) > 3 else ''})"
                           for op, names in b.uncounted.items())
        message = (f"{total} operator{'s' if total != 1 else ''} convcalc cannot count, "
                   f"left uncounted (0 params, 0 MACs; the totals exclude "
                   f"{'them' if total != 1 else 'it'}): {listed}")
        if strict:
            raise UnsupportedError(f"--strict: {message}")
        warnings.append(message)
    shared = _shared_parameters(graph)
    if shared:
        warnings.append(shared)
    items = b.structure()
    order = list(leaves(items))
    write_forms(order, graph)
    namer = Namer(b)
    items = namer.group(items, ())
    _classes(items, graph)
    blocks = Blocks(graph.classes)
    items = blocks.run(items)
    no_bias = _bias_defaults(items, blocks.defs)
    _set_bias(items, not no_bias)
    for d in blocks.defs.values():
        _set_bias(d["layers"], not no_bias)
    inp = b.canon(graph.input)
    shape_text = "x".join(str(v) for v in (*inp.spatial, inp.channels))
    spec: dict[str, Any] = {"name": label(graph.name) or "model", "input": shape_text}
    if no_bias:
        spec["defaults"] = {"bias": False}
    if blocks.defs:
        spec["blocks"] = {name: {**({"params": d["params"]} if d["params"] else {}),
                                 "layers": [item_mapping(y) for y in d["layers"]]}
                          for name, d in blocks.defs.items()}
    spec["layers"] = [item_mapping(y) for y in items]
    deepest = _depth(spec)
    if deepest > MAX_YAML_DEPTH:
        raise UnsupportedError(f"the model's blocks nest {deepest} YAML levels deep (residuals, "
                               f"branches or splits inside each other); a spec holds at most "
                               f"{MAX_YAML_DEPTH}")
    lines = ["# " + comment(f"{spec['name']}, imported by convcalc"
                            + (f" from {source}" if source else "") + ".")]
    lines += [f"# note: {comment(n)}" for n in graph.notes]
    lines += [f"# warning: {comment(w)}" for w in warnings]
    lines += [f"name: {scalar(spec['name'])}", f"input: {shape_text}"]  # shape: digits and x
    if no_bias:
        lines.append("defaults: {bias: false}")
    if blocks.defs:
        lines.append("blocks:")
        for name, d in blocks.defs.items():
            lines.append(f"  {key(name)}:")
            if d["params"]:
                lines.append(f"    params: {flow(d['params'])}")
            lines += ["    layers:", *yaml_items(d["layers"], 6)]
    lines += ["layers:", *yaml_items(items, 2)]
    result = Imported(spec, warnings, list(graph.notes), "\n".join(lines) + "\n")
    _check(result, order, b)
    return result


PARAMETER_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
                 "LayerNormalization", "GroupNormalization")
"""Ops whose constant inputs are a layer's parameters (the spec counts them per layer)."""


def _shared_parameters(graph: Graph) -> str | None:
    """A warning when one parameter tensor feeds several layers (a module called twice, one
    weight in two functional convs): the model holds it once, the spec counts it per layer."""
    users: dict[str, int] = {}
    for n in graph.nodes:
        if n.op in PARAMETER_OPS:
            for t in dict.fromkeys(n.inputs[1:3]):  # weight and bias, not statistics
                if t in graph.constants:
                    users[t] = users.get(t, 0) + 1
    shared = {t: k for t, k in users.items() if k > 1}
    if not shared:
        return None
    extra = sum(graph.constants[t].elements * (k - 1) for t, k in shared.items())
    names = ", ".join(f"{shortened(t, 60)} ×{k}" for t, k in list(shared.items())[:3])
    more = ", …" if len(shared) > 3 else ""
    return (f"{len(shared)} parameter tensor{'s' if len(shared) != 1 else ''} used by several "
            f"layers ({names}{more}): the model holds each once, the spec counts it in every "
            f"layer that uses it ({extra:,} parameters more than the model; MACs unchanged)")


def _depth(data: Any) -> int:
    """The nesting of a spec mapping as YAML counts it (the top mapping is level 1)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict)
                                                  else value))
    return deepest


def _classes(items: list[Any], graph: Graph) -> None:
    """Name look-alike levels after the torch class they came from, where known."""

    def visit(xs: list[Any], prefix: tuple[str, ...]) -> None:
        for x in xs:
            if isinstance(x, Sequence):
                path = (*prefix, x.name)
                cls = graph.classes.get(path)
                if cls:
                    x.cls = cls  # type: ignore[attr-defined]
                visit(x.items, path)
            else:
                for sub in Blocks.children(x):
                    visit(sub, prefix)

    visit(items, ())


def _check(result: Imported, order: list[Leaf], b: Builder) -> None:
    """The spec, analysed by convcalc, gives every layer the shape the model gives it."""
    from convcalc.measure import spec_walk

    report = spec_walk(result.spec)
    if len(report.rows) != len(order):
        raise UnsupportedError(f"internal: the spec has {len(report.rows)} layers where the "
                               f"graph has {len(order)}")
    for row, leaf in zip(report.rows, order, strict=True):
        if leaf.op is None:
            continue
        want = b.canon(leaf.op.outputs[0])
        if row.report.output != want:
            raise UnsupportedError(
                f"{leaf.op.node.name or leaf.op.node.op} ({leaf.op.node.op}): the model gives "
                f"{want.channels_last()} where convcalc's {row.report.kind} gives "
                f"{row.report.output.channels_last()} ({row.path})")

"""Turn an op graph (convcalc.bridges.graph) into the spec mapping a user would write.

One builder for ONNX files and traced torch modules alike. It reads the graph's ops as convcalc
layer kinds (no formulas here: the normal parser and walk then do the counting), recovers the
structure (residual adds, concatenated branches, channel splits, gates) from the graph's
post-dominators, names layers by the model's own module paths (nested named blocks, so torch's
`layer2.0.conv1` is convcalc's `layer2.0.conv1`), and writes repeated blocks once, as `blocks:`
with parameters. An operator convcalc cannot count is kept as an identity and named in a
warning (refused with `strict`); one it cannot follow at all (it changes the shape in a way no
kind does) is an error naming the node.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import yaml

from convcalc.bridges.graph import Const, Dims, Graph, Node, printable
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


# --- the ops convcalc sees ---------------------------------------------------------------------

@dataclass(eq=False)
class Op:
    """A layer (one data input, one output), a merge (add, mul, concat) or a split."""

    role: str  # "layer" | "add" | "mul" | "concat" | "split"
    inputs: list[str]
    outputs: list[str]
    node: Node
    kind: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    comment: str | None = None
    pos: int = 0


# --- the spec being written --------------------------------------------------------------------

@dataclass(eq=False)
class L:
    kind: str
    fields: dict[str, Any]
    comment: str | None = None
    op: Op | None = None


@dataclass(eq=False)
class Seq:
    name: str
    items: list[Any]


@dataclass(eq=False)
class Res:
    body: list[Any]
    shortcut: list[Any] | None


@dataclass(eq=False)
class Br:
    paths: list[list[Any]]
    merge: str


@dataclass(eq=False)
class Sp:
    paths: list[list[Any]]
    sizes: list[int] | None


@dataclass(eq=False)
class Use:
    block: str
    name: str | None
    args: dict[str, Any]


@dataclass(eq=False)
class Rep:
    count: Any
    name: str | None
    body: list[Any]


@dataclass
class Imported:
    """The spec mapping, its YAML text, and what the reader should be told."""

    spec: dict[str, Any]
    warnings: list[str]
    notes: list[str]
    yaml: str = ""


def _axes(values: Iterable[int]) -> int | list[int]:
    v = [int(x) for x in values]
    return v[0] if v and all(x == v[0] for x in v) else v


def _label(text: str) -> str:
    """A valid convcalc name from a model's name: no dots, no `$`, no control, format or
    line-break characters (each becomes `_`)."""
    cleaned = "".join("_" if ch in "$.{}" or unicodedata.category(ch) in _HIDDEN else ch
                      for ch in str(text)).strip()
    return cleaned[:200]


_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
"""Unicode categories never written raw into a generated file: controls, formatting (bidi
overrides, zero-width), surrogates, private use, unassigned, line and paragraph separators."""


class Builder:
    def __init__(self, graph: Graph, strict: bool) -> None:
        self.g = graph
        self.strict = strict
        self.layout: dict[str, tuple[int, ...]] = {graph.input: tuple(range(len(
            graph.shapes[graph.input])))}
        self.alias: dict[str, str] = {}
        self.ops: list[Op] = []
        self.producer: dict[str, Op] = {}
        self.uncounted: dict[str, list[str]] = {}
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
        self.uncounted.setdefault(printable(node.op), []).append(printable(node.name or node.op))

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

    # -- fusions on the node list (patterns a module exports as several ops)

    def fuse(self, nodes: list[Node]) -> list[Node]:
        users: dict[str, list[Node]] = {}
        for n in nodes:
            for t in n.inputs:
                users.setdefault(t, []).append(n)
        produced = {o: n for n in nodes for o in n.outputs}
        drop: set[int] = set()
        replace: dict[int, Node] = {}

        def only_user(t: str, n: Node) -> bool:
            return [id(u) for u in users.get(t, [])] == [id(n)] and t != self.g.output

        def src(t: str) -> Node | None:
            return produced.get(t)

        for n in nodes:
            if id(n) in drop:
                continue
            if n.op == "Mul" and len(n.inputs) == 2:
                for a, b in (n.inputs, n.inputs[::-1]):
                    p = src(b)
                    if p is not None and p.op in ("Sigmoid", "HardSigmoid") and \
                            p.inputs[0] == a and only_user(b, n) and \
                            (p.op == "Sigmoid" or _torch_hardsigmoid(p)):
                        op = "Silu" if p.op == "Sigmoid" else "HardSwish"
                        replace[id(n)] = Node(op, n.name, [a], n.outputs, {}, n.scope, n.module)
                        drop.add(id(p))
                        break
            elif n.op == "Erf":
                fused = self.gelu(n, src, users, only_user)
                if fused is not None:
                    keep, gone = fused
                    replace[id(keep)] = Node("Gelu", keep.name, [self_input(n, src)],
                                             keep.outputs, {}, keep.scope, keep.module)
                    drop.update(id(x) for x in gone)
            elif n.op == "Reshape":
                fused_shuffle = self.shuffle(n, users, only_user)
                if fused_shuffle is not None:
                    last, gone, groups = fused_shuffle
                    replace[id(last)] = Node("ChannelShuffle", last.name, [n.inputs[0]],
                                             last.outputs, {"groups": groups}, last.scope,
                                             last.module)
                    drop.update(id(x) for x in gone)
            elif n.op == "MatMul" and len(n.inputs) == 2 and n.inputs[1] in self.g.constants:
                out_users = users.get(n.outputs[0], [])
                if len(out_users) == 1 and out_users[0].op == "Add" and \
                        only_user(n.outputs[0], out_users[0]):
                    add = out_users[0]
                    other = [t for t in add.inputs if t != n.outputs[0]]
                    bshape = self.g.shape(other[0]) if len(other) == 1 else None
                    if bshape is not None and other[0] in self.g.constants and \
                            len(bshape) == 1:
                        replace[id(add)] = Node("Gemm", add.name, [n.inputs[0], n.inputs[1],
                                                                   other[0]], add.outputs,
                                                {"transB": 0}, n.scope, n.module)
                        drop.add(id(n))
        out = []
        for n in nodes:
            if id(n) in drop:
                continue
            out.append(replace.get(id(n), n))
        return self.slices(out)

    def gelu(self, erf: Node, src: Any, users: dict[str, list[Node]], only_user: Any
             ) -> tuple[Node, list[Node]] | None:
        """x·½·(1 + erf(x/√2)), in the orders exporters write it."""
        div = src(erf.inputs[0])
        if div is None or div.op not in ("Div", "Mul") or not only_user(div.outputs[0], erf):
            return None
        x = div.inputs[0]
        e_users = users.get(erf.outputs[0], [])
        if len(e_users) != 1 or e_users[0].op != "Add":
            return None
        add = e_users[0]
        chain = [div, erf, add]
        t = add.outputs[0]
        seen_x = False
        last = add
        for _ in range(2):
            u = users.get(t, [])
            if len(u) != 1 or u[0].op != "Mul" or not only_user(t, u[0]):
                return None
            m = u[0]
            other = [i for i in m.inputs if i != t]
            if not other:
                return None
            if other[0] == x:
                seen_x = True
            elif other[0] not in self.g.constants:
                return None
            chain.append(m)
            last = m
            t = m.outputs[0]
        if not seen_x:
            return None
        return last, chain[:-1]

    def shuffle(self, first: Node, users: dict[str, list[Node]], only_user: Any
                ) -> tuple[Node, list[Node], int] | None:
        """Reshape N×C×… → N×g×(C/g)×…, swap the two, reshape back: a channel shuffle."""
        a, b = self.g.shape(first.inputs[0]), self.g.shape(first.outputs[0])
        if a is None or b is None or len(b) != len(a) + 1 or b[0] != a[0] or \
                b[1] * b[2] != a[1] or tuple(b[3:]) != tuple(a[2:]):
            return None
        chain = [first]
        t = first.outputs[0]
        u = users.get(t, [])
        while len(u) == 1 and u[0].op == "Identity":
            chain.append(u[0])
            t = u[0].outputs[0]
            u = users.get(t, [])
        if len(u) != 1 or u[0].op != "Transpose" or not only_user(t, u[0]):
            return None
        perm = list(u[0].attrs.get("perm", []))
        if perm != [0, 2, 1, *range(3, len(b))]:
            return None
        chain.append(u[0])
        t = u[0].outputs[0]
        u = users.get(t, [])
        while len(u) == 1 and u[0].op == "Identity":
            chain.append(u[0])
            t = u[0].outputs[0]
            u = users.get(t, [])
        if len(u) != 1 or u[0].op not in ("Reshape", "Flatten") or not only_user(t, u[0]):
            return None
        if self.g.shape(u[0].outputs[0]) != tuple(a):
            return None
        return u[0], chain, b[1]

    def slices(self, nodes: list[Node]) -> list[Node]:
        """Slices of one tensor along the channels that cover it exactly: a Split."""
        by_input: dict[str, list[Node]] = {}
        for n in nodes:
            if n.op == "Slice":
                by_input.setdefault(n.inputs[0], []).append(n)
        replace: dict[int, Node | None] = {}
        for t, group in by_input.items():
            shape = self.g.shape(t)
            if shape is None or len(shape) < 2:
                continue
            ranges = []
            for n in group:
                r = self.channel_range(n, shape)
                if r is None:
                    break
                ranges.append((r, n))
            else:
                ranges.sort(key=lambda x: x[0])
                edges = [0]
                for (lo, hi), _ in ranges:
                    if lo != edges[-1]:
                        break
                    edges.append(hi)
                else:
                    if edges[-1] == shape[1] and len(ranges) > 1:
                        first = ranges[0][1]
                        split = Node("Split", first.name, [t], [n.outputs[0] for _, n in ranges],
                                     {"axis": 1, "split": [hi - lo for (lo, hi), _ in ranges]},
                                     first.scope, first.module)
                        for i, (_, n) in enumerate(ranges):
                            replace[id(n)] = split if i == 0 else None
        kept: list[Node] = []
        for n in nodes:
            if id(n) in replace:
                single = replace[id(n)]
                if single is not None:
                    kept.append(single)
            else:
                kept.append(n)
        return kept

    def channel_range(self, n: Node, shape: Dims) -> tuple[int, int] | None:
        starts, ends = self.const(n.inputs[1]), self.const(n.inputs[2])
        axes = self.const(n.inputs[3]) if len(n.inputs) > 3 and n.inputs[3] else None
        steps = self.const(n.inputs[4]) if len(n.inputs) > 4 and n.inputs[4] else None
        if starts is None or ends is None:
            return None
        axes = axes if axes is not None else tuple(range(len(starts)))
        lo, hi = 0, shape[1]
        for s0, e0, a0, st in zip(starts, ends, axes, steps or (1,) * len(starts), strict=True):
            a = int(a0) % len(shape)
            if st != 1:
                return None
            s = max(0, int(s0) + shape[a] if int(s0) < 0 else int(s0))
            e = min(shape[a], int(e0) + shape[a] if int(e0) < 0 else int(e0))
            if a == 1:
                lo, hi = s, e
            elif (s, e) != (0, shape[a]):
                return None
        return (lo, hi) if lo < hi else None

    # -- nodes → ops

    def build_ops(self) -> None:
        nodes = self.fuse(self.reachable(self.g.nodes))
        for n in nodes:
            self.convert(n)
        self.composites()

    def composites(self) -> None:
        """A leaf module that ran as several ops with one input and one output, which a
        composite kind says whole (an octave conv): one layer of that kind."""
        def index() -> dict[tuple[str, ...], list[Op]]:
            """The ops inside each scope, in order (one pass: a scope per op level)."""
            by_scope: dict[tuple[str, ...], list[Op]] = {}
            for op in self.ops:
                scope = tuple(op.node.scope)
                for k in range(1, len(scope) + 1):
                    by_scope.setdefault(scope[:k], []).append(op)
            return by_scope

        by_scope = index()
        for scope in sorted(by_scope, key=len, reverse=True):
            ops = by_scope.get(scope, [])
            if len(ops) < 3 or not any(op.role != "layer" for op in ops):
                continue
            members = set(ops)
            inside = {o for op in ops for o in op.outputs}
            ins = list(dict.fromkeys(t for op in ops for t in op.inputs if t not in inside))
            consumed = {t for op in self.ops if op not in members for t in op.inputs}
            outs = [o for o in inside if o in consumed or o == self.real(self.g.output)]
            if len(ins) != 1 or len(outs) != 1:
                continue
            fields = self.octave(ops, ins[0], outs[0])
            if fields is None:
                continue
            first = min(self.ops.index(op) for op in ops)
            node = Node("Octave", ".".join(scope), [ins[0]], [outs[0]], {}, scope, "Octave")
            merged = Op("layer", [ins[0]], [outs[0]], node, "octave", fields)
            self.ops = [op for op in self.ops if op not in members]
            self.ops.insert(first, merged)
            self.producer[outs[0]] = merged
            by_scope = index()
        for i, op in enumerate(self.ops):
            op.pos = i

    def octave(self, ops: list[Op], x: str, y: str) -> dict[str, Any] | None:
        """Octave conv fields when the ops are exactly one (Chen et al. 2019: high and low
        frequency paths, 2×2 average pools, nearest ×2 upsampling), checked by convcalc's own
        octave layer against the convs' sum."""
        from convcalc.measure import layer_report

        allowed = {"conv", "pointwise", "avgpool", "upsample"}
        convs = [op for op in ops if op.role == "layer" and op.kind in ("conv", "pointwise")]
        if not convs or any(op.role == "layer" and op.kind not in allowed for op in ops) or \
                any(op.role == "mul" for op in ops):
            return None
        kernels = {json.dumps(op.fields.get("kernel", 1)) for op in convs}
        pads = {json.dumps(op.fields.get("padding", 0)) for op in convs}
        if len(kernels) != 1 or len(pads) != 1 or any(
                set(op.fields) - {"out", "kernel", "padding", "bias"} for op in convs):
            return None
        cin, cout = self.canon(x), self.canon(y)
        splits = [op for op in ops if op.role == "split"]
        l_in = splits[0].sizes[1] if len(splits) == 1 and len(splits[0].sizes) == 2 else 0
        cats = [op for op in ops if op.role == "concat" and y in op.outputs]
        l_out = self.canon(cats[0].inputs[1]).channels if cats and len(cats[0].inputs) == 2 \
            else 0
        stride = 1 if cout.spatial == cin.spatial else 2
        fields: dict[str, Any] = {"out": cout.channels, "kernel": json.loads(kernels.pop()),
                                  "padding": json.loads(pads.pop())}
        if stride != 1:
            fields["stride"] = stride
        fields["alpha_in"] = Fraction(l_in, cin.channels)
        fields["alpha_out"] = Fraction(l_out, cout.channels)
        fields["bias"] = any(op.fields.get("bias") for op in convs)
        try:
            whole = layer_report({"kind": "octave", **fields}, cin)
            parts = [layer_report({"kind": op.kind, **op.fields}, self.canon(op.inputs[0]))
                     for op in convs]
        except ConvcalcError:
            return None
        if whole.output != cout or whole.params != sum(p.params for p in parts) or \
                whole.macs != sum(p.macs for p in parts):
            return None
        return fields

    def reachable(self, nodes: list[Node]) -> list[Node]:
        """The nodes the output depends on (and that depend on the input)."""
        produced = {o: n for n in nodes for o in n.outputs}
        need: set[int] = set()
        stack = [self.g.output]
        while stack:
            t = stack.pop()
            n = produced.get(t)
            if n is None or id(n) in need:
                continue
            need.add(id(n))
            follow = n.inputs[:1] if n.op in FIRST_ONLY else n.inputs
            stack.extend(i for i in follow if i and i not in self.g.constants)
        fed: set[str] = {self.g.input}
        out = []
        for n in nodes:
            if id(n) not in need:
                continue
            if any(i in fed for i in n.inputs):
                out.append(n)
                fed.update(n.outputs)
            elif all(not i or i in self.g.constants for i in n.inputs):
                for o in n.outputs:  # a constant computed in the graph (values unknown)
                    shape = self.g.shapes.get(o)
                    if shape is None:
                        raise self.fail(n, "computes a constant of unknown shape")
                    self.g.constants[o] = Const(shape)
            else:
                raise self.fail(n, "computes data without the model's input; convcalc cannot "
                                   "follow it")
        return out

    def data_inputs(self, n: Node) -> list[str]:
        """The node's data inputs by their own names (shapes and layouts are looked up by
        these; `real` gives the tensor they stand for once no-op nodes are gone)."""
        return [t for t in n.inputs if self.is_data(t)]

    def add(self, role: str, n: Node, inputs: list[str], outputs: list[str], kind: str = "",
            comment: str | None = None, **fields: Any) -> Op:
        op = Op(role, [self.real(t) for t in inputs], outputs, n, kind, fields, comment=comment)
        op.pos = len(self.ops)
        self.ops.append(op)
        for o in outputs:
            self.producer[o] = op
        return op

    def same_layout(self, n: Node, x: str) -> None:
        for o in n.outputs[:1]:
            self.layout[o] = self.layout.get(x, tuple(range(len(self.raw(x)))))

    def layer(self, n: Node, x: str, kind: str, comment: str | None = None, **fields: Any) -> Op:
        out = n.outputs[0]
        self.same_layout(n, x)
        return self.add("layer", n, [x], [out], kind, comment, **fields)

    def identity(self, n: Node, x: str) -> None:
        self.alias[n.outputs[0]] = x
        self.same_layout(n, x)

    def need_canonical(self, n: Node, x: str) -> None:
        lay = self.layout.get(x)
        if lay is not None and lay != tuple(range(len(lay))):
            raise self.fail(n, "runs on a permuted tensor (channels not second); convcalc "
                               "follows this op only in N×C×… layout")

    def convert(self, n: Node) -> None:
        ins = self.data_inputs(n)
        op = n.op
        if op in ("Identity", "Dropout") and len(ins) == 1:
            if op == "Dropout":
                ratio = self.const(n.inputs[1]) if len(n.inputs) > 1 and n.inputs[1] else None
                p = ratio[0] if ratio else n.attrs.get("ratio", 0.5)
                self.layer(n, ins[0], "dropout", p=_round(p))
            else:
                self.identity(n, ins[0])
            return
        if not ins:
            raise self.fail(n, "has no data input")
        x = ins[0]
        if op in ACTS and op != "Softmax":
            self.layer(n, x, ACTS[op])
            return
        handler = getattr(self, f"op_{op}", None) if re.fullmatch(r"\w+", op) else None
        if handler is not None:
            handler(n, x, ins)
            return
        self.unknown(n, x, ins)

    def unknown(self, n: Node, x: str, ins: list[str]) -> None:
        outs = [o for o in n.outputs if o]
        if len(ins) == 1 and len(outs) == 1 and self.g.shape(outs[0]) == self.raw(x):
            self.uncountable(n)
            self.layer(n, x, "identity", comment=f"{n.op}: not counted")
            return
        shapes = " and ".join("×".join(map(str, self.raw(t))) for t in ins)
        out_shape = self.g.shape(outs[0]) if outs else None
        after = "×".join(map(str, out_shape)) if out_shape else "?"
        raise self.fail(n, f"convcalc has no layer kind for this operator ({shapes} → {after})")

    # convolutions

    def conv_geometry(self, n: Node, rank: int) -> tuple[Any, Any, Any, Any]:
        strides = n.attrs.get("strides", [1] * rank)
        dil = n.attrs.get("dilations", [1] * rank)
        pads = n.attrs.get("pads", [0] * (2 * rank))
        auto = n.attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if any(s != 1 for s in strides) or auto == "SAME_LOWER":
                raise self.fail(n, f"auto_pad {auto} with stride {list(strides)}: convcalc "
                                   "writes 'same' padding only as PyTorch does (stride 1, extra "
                                   "on the right)")
            padding: Any = "same"
        elif auto == "VALID":
            padding = 0
        else:
            begin, end = list(pads[:rank]), list(pads[rank:])
            if begin != end:
                raise self.fail(n, f"pads {list(pads)} differ at the start and the end of an "
                                   "axis; convcalc's padding is symmetric")
            padding = _axes(begin)
        return _axes(strides), padding, _axes(dil), n.attrs.get("group", 1)

    def op_Conv(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        w = self.raw(n.inputs[1])
        rank = len(w) - 2
        cin = self.canon(x).channels
        out, kernel = w[0], _axes(n.attrs.get("kernel_shape", w[2:]))
        stride, padding, dilation, groups = self.conv_geometry(n, rank)
        bias = len(n.inputs) > 2 and bool(n.inputs[2])
        fields: dict[str, Any] = {}
        if groups == cin and groups > 1 and out % cin == 0:
            kind = "depthwise"
            fields["kernel"] = kernel
            if out // cin != 1:
                fields["multiplier"] = out // cin
        elif kernel == 1 and padding == 0 and dilation == 1:
            kind = "pointwise"
            fields["out"] = out
        else:
            kind = "conv"
            fields.update(out=out, kernel=kernel)
        if stride != 1:
            fields["stride"] = stride
        if kind != "pointwise" and padding != 0:
            fields["padding"] = padding
        if kind != "pointwise" and dilation != 1:
            fields["dilation"] = dilation
        if kind != "depthwise" and groups != 1:
            fields["groups"] = groups
        fields["bias"] = bias
        self.layer(n, x, kind, **fields)

    def op_ConvTranspose(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        w = self.raw(n.inputs[1])
        rank = len(w) - 2
        groups = n.attrs.get("group", 1)
        kernel = list(n.attrs.get("kernel_shape", w[2:]))
        op_pad = list(n.attrs.get("output_padding", [0] * rank))
        if "output_shape" in n.attrs:
            # ONNX: the pads are computed from output_shape (total padding T per axis, the
            # larger half at the start unless SAME_UPPER): PyTorch's padding ⌈T/2⌉ and an
            # output_padding of T mod 2 give the same output.
            geometry = {k: v for k, v in n.attrs.items() if k not in ("pads", "auto_pad")}
            stride, _, dilation, _ = self.conv_geometry(Node(n.op, n.name, n.inputs, n.outputs,
                                                             geometry), rank)
            want = list(n.attrs["output_shape"])[-rank:]
            total = [s * (i - 1) + p + d * (k - 1) + 1 - o for i, s, p, d, k, o in zip(
                self.canon(x).spatial, _list(stride, rank), op_pad, _list(dilation, rank),
                kernel, want, strict=True)]
            upper = n.attrs.get("auto_pad", "NOTSET") == "SAME_UPPER"
            if any(t < 0 for t in total) or (upper and any(t % 2 for t in total)):
                raise self.fail(n, f"output_shape {want} needs padding {total} (negative, or "
                                   "more at the end than at the start), which convcalc's "
                                   "transposed conv cannot write")
            padding: Any = _axes(-(-t // 2) for t in total)
            op_pad = [p + t % 2 for p, t in zip(op_pad, total, strict=True)]
        else:
            stride, padding, dilation, _ = self.conv_geometry(n, rank)
            if padding == "same":
                raise self.fail(n, "auto_pad on a transposed conv")
        fields: dict[str, Any] = {"out": w[1] * groups, "kernel": _axes(kernel)}
        if stride != 1:
            fields["stride"] = stride
        if padding != 0:
            fields["padding"] = padding
        if _axes(op_pad) != 0:
            fields["output_padding"] = _axes(op_pad)
        if dilation != 1:
            fields["dilation"] = dilation
        if groups != 1:
            fields["groups"] = groups
        fields["bias"] = len(n.inputs) > 2 and bool(n.inputs[2])
        self.layer(n, x, "transposed", **fields)

    def op_Gemm(self, n: Node, x: str, ins: list[str]) -> None:
        if not self.is_data(n.inputs[0]) or len(ins) != 1:
            raise self.fail(n, "multiplies two data tensors (attention-style); convcalc counts "
                               "matrix products only against weights")
        if n.attrs.get("transA", 0):
            raise self.fail(n, "transA=1: the input is transposed")
        w = self.raw(n.inputs[1])
        out = w[0] if n.attrs.get("transB", 0) else w[-1]
        bias = len(n.inputs) > 2 and bool(n.inputs[2])
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        if len(raw) == 2 and lay == (0, 1):
            self.layer(n, x, "linear", out=out, bias=bias)
        elif len(raw) > 2 and lay[-1] == 1:
            self.layer(n, x, "pointwise", out=out, bias=bias)
        else:
            raise self.fail(n, "contracts an axis that is not the channels")

    def op_MatMul(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) != 1 or not self.is_data(n.inputs[0]) or len(self.raw(n.inputs[1])) != 2:
            raise self.fail(n, "a product of two data tensors (or of a batch of matrices); "
                               "convcalc counts matrix products only against a weight matrix")
        n2 = Node("Gemm", n.name, n.inputs[:2], n.outputs, {"transB": 0}, n.scope, n.module)
        self.op_Gemm(n2, x, ins)

    # normalisation

    def op_BatchNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        affine = len(n.inputs) > 1 and bool(n.inputs[1])
        if affine:
            self.layer(n, x, "bn")
        else:
            self.layer(n, x, "bn", affine=False)

    def op_LayerNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", -1) % len(raw)
        if axis != len(raw) - 1 or lay[axis] != 1:
            raise self.fail(n, "normalizes over more than the channels (convcalc's layernorm is "
                               "over the C channels at each position)")
        fields: dict[str, Any] = {}
        if not (len(n.inputs) > 1 and n.inputs[1]):
            fields["affine"] = False
        elif not (len(n.inputs) > 2 and n.inputs[2]):
            fields["bias"] = False
        self.layer(n, x, "layernorm", **fields)

    def op_GroupNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        fields: dict[str, Any] = {"groups": n.attrs["num_groups"]}
        if not (len(n.inputs) > 1 and n.inputs[1]):
            fields["affine"] = False
        self.layer(n, x, "groupnorm", **fields)

    # activations

    def act(self, n: Node, x: str, kind: str) -> None:
        self.layer(n, x, kind)

    def op_Clip(self, n: Node, x: str, ins: list[str]) -> None:
        lo = n.attrs.get("min")
        hi = n.attrs.get("max")
        if len(n.inputs) > 1 and n.inputs[1]:
            v = self.const(n.inputs[1])
            lo = v[0] if v else None
        if len(n.inputs) > 2 and n.inputs[2]:
            v = self.const(n.inputs[2])
            hi = v[0] if v else None
        if lo == 0 and hi == 6:
            self.act(n, x, "relu6")
        elif lo == 0 and (hi is None or math.isinf(hi)):
            self.act(n, x, "relu")
        else:
            self.unknown(n, x, [x])

    def op_Softmax(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", -1) % len(raw)
        if lay[axis] != 1:
            self.unknown(n, x, [x])
            return
        self.act(n, x, "softmax")

    # pooling and resampling

    def pool(self, n: Node, x: str, kind: str) -> None:
        self.need_canonical(n, x)
        rank = len(self.raw(x)) - 2
        kernel = _axes(n.attrs["kernel_shape"])
        stride, padding, dilation, _ = self.conv_geometry(n, rank)
        if padding == "same":
            raise self.fail(n, "auto_pad on a pooling layer")
        fields: dict[str, Any] = {"kernel": kernel}
        if stride != kernel:
            fields["stride"] = stride
        if padding != 0:
            fields["padding"] = padding
        if kind == "maxpool" and dilation != 1:
            fields["dilation"] = dilation
        if n.attrs.get("ceil_mode", 0):
            fields["ceil_mode"] = True
        self.layer(n, x, kind, **fields)

    def op_MaxPool(self, n: Node, x: str, ins: list[str]) -> None:
        if len([o for o in n.outputs if o]) > 1:
            raise self.fail(n, "returns indices")
        self.pool(n, x, "maxpool")

    def op_AveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.pool(n, x, "avgpool")

    def op_GlobalAveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "global_avgpool")

    def op_GlobalMaxPool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "global_avgpool", comment="GlobalMaxPool: as global_avgpool (the same "
                                                   "shape and field, no MACs either)")

    def op_AdaptiveAveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        size = _axes(n.attrs["output_size"])
        if size == 1:
            self.layer(n, x, "global_avgpool")
        else:
            self.layer(n, x, "adaptive_avgpool", output_size=size)

    def op_ReduceMean(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        raw = self.raw(x)
        axes = n.attrs.get("axes")
        if axes is None and len(n.inputs) > 1 and n.inputs[1]:
            axes = self.const(n.inputs[1])
        if axes is None or sorted(int(a) % len(raw) for a in axes) != list(range(2, len(raw))):
            raise self.fail(n, "averages over other axes than the spatial ones")
        pooled = self.layer(n, x, "global_avgpool")
        if not n.attrs.get("keepdims", 1):
            # the mean drops the spatial axes: a pool to 1×…×1, then a flatten
            mid = n.outputs[0] + "#pooled"
            pooled.outputs = [mid]
            del self.producer[n.outputs[0]]
            self.producer[mid] = pooled
            self.g.shapes[mid] = (*raw[:2], *[1] * (len(raw) - 2))
            self.layout[mid] = tuple(range(len(raw)))
            self.layout[n.outputs[0]] = (0, 1)
            self.add("layer", n, [mid], [n.outputs[0]], "flatten")

    def op_Resize(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        a, b = self.raw(x), self.raw(n.outputs[0])
        if a[:2] != b[:2] or any(o % i for i, o in zip(a[2:], b[2:], strict=True)):
            raise self.fail(n, f"resizes {'×'.join(map(str, a))} to {'×'.join(map(str, b))}; "
                               "convcalc's upsample scales each spatial axis by a whole number")
        scale = _axes(o // i for i, o in zip(a[2:], b[2:], strict=True))
        mode = str(n.attrs.get("mode", "nearest"))
        comment = None
        if mode not in ("nearest", "linear", "bilinear"):
            comment = f"{mode} resize: as linear (the same shape, no MACs)"
        fields: dict[str, Any] = {"scale": scale}
        if mode != "nearest":
            fields["mode"] = "linear"
        self.layer(n, x, "upsample", comment=comment, **fields)

    op_Upsample = op_Resize

    # reshapes

    def flatten_or(self, n: Node, x: str) -> None:
        a, b = self.raw(x), self.raw(n.outputs[0])
        if b == a:
            self.identity(n, x)
            return
        if len(b) == 2 and b[0] == a[0] and b[1] == math.prod(a[1:]):
            if len(a) > 2:
                self.need_canonical(n, x)
                self.layout[n.outputs[0]] = (0, 1)
                self.add("layer", n, [x], [n.outputs[0]], "flatten")
            else:
                self.identity(n, x)
            return
        raise self.fail(n, f"reshapes {'×'.join(map(str, a))} to {'×'.join(map(str, b))}; "
                           "convcalc follows reshapes that flatten to N×features")

    def op_Flatten(self, n: Node, x: str, ins: list[str]) -> None:
        self.flatten_or(n, x)

    op_Reshape = op_Flatten
    op_Squeeze = op_Flatten
    op_Unsqueeze = op_Flatten

    def op_Transpose(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        perm = list(n.attrs.get("perm", list(range(len(raw)))[::-1]))
        if perm[0] != 0:
            raise self.fail(n, "moves the batch axis")
        lay = self.layout.get(x, tuple(range(len(raw))))
        self.alias[n.outputs[0]] = x
        self.layout[n.outputs[0]] = tuple(lay[p] for p in perm)

    def op_Slice(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        if len(raw) > 1 and self.channel_range(n, raw) == (0, raw[1]) and \
                self.raw(n.outputs[0]) == raw:
            self.identity(n, x)  # the whole tensor
            return
        if self.raw(n.outputs[0]) == raw:
            self.unknown(n, x, ins)
            return
        raise self.fail(n, "takes a part of the tensor that is not one path of a channel split "
                           "(slices of the channels that together cover them, each "
                           "concatenated back)")

    def op_ChannelShuffle(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "shuffle", groups=n.attrs["groups"])

    def op_StochasticDepth(self, n: Node, x: str, ins: list[str]) -> None:
        fields: dict[str, Any] = {"p": _round(n.attrs.get("p", 0))}
        if n.attrs.get("mode", "row") != "row":
            fields["mode"] = n.attrs["mode"]
        self.layer(n, x, "stochastic_depth", **fields)

    def op_Split(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", 0) % len(raw)
        if lay[axis] != 1:
            raise self.fail(n, "splits another axis than the channels")
        sizes = [self.raw(o)[axis] for o in n.outputs]
        op = self.add("split", n, [x], list(n.outputs))
        op.sizes = sizes
        for o in n.outputs:
            self.layout[o] = lay

    # element-wise merges

    def merge(self, n: Node, ins: list[str], role: str) -> None:
        out = self.raw(n.outputs[0])
        self.add(role, n, ins, [n.outputs[0]])
        self.layout[n.outputs[0]] = self.layout.get(ins[0], tuple(range(len(out))))
        for t in ins:
            if self.layout.get(t, tuple(range(len(self.raw(t))))) != \
                    self.layout[n.outputs[0]] and len(self.raw(t)) == len(out):
                raise self.fail(n, "combines tensors in different layouts")

    def op_Add(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 2:
            self.merge(n, ins, "add")
            return
        self.constant_operand(n, x, "Add")

    def op_Sum(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 1:
            self.identity(n, x)
        else:
            self.merge(n, ins, "add")

    def op_Mul(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 2:
            self.merge(n, ins, "mul")
            return
        self.constant_operand(n, x, "Mul")

    def constant_operand(self, n: Node, x: str, what: str) -> None:
        """x ⊙ a constant: a learnt factor per channel (layer scale), or something uncounted."""
        other = [t for t in n.inputs if t and t != x and t in self.g.constants]
        c = self.g.constants[other[0]] if other else None
        canon = self.canon(x)
        if c is not None and what == "Mul" and c.elements == canon.channels > 1 and \
                _per_channel(c.shape, self.raw(x), self.layout.get(x)):
            self.layer(n, x, "layer_scale")
            return
        if c is not None and what == "Add" and c.elements == canon.channels > 1:
            prev = self.producer.get(self.real(x))
            if prev is not None and prev.role == "layer" and prev.kind in BIAS_KINDS and \
                    prev.fields.get("bias") is False and self.single_use(x):
                prev.fields["bias"] = True
                self.identity(n, x)
                return
        self.unknown(n, x, [x])

    def single_use(self, t: str) -> bool:
        return sum(t in (self.real(i) for i in n.inputs) for n in self.g.nodes) <= 1

    def op_Concat(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(n.outputs[0])
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", 1) % len(raw)
        if lay[axis] != 1:
            raise self.fail(n, "concatenates along another axis than the channels")
        if len(ins) == 1:
            self.identity(n, x)
            return
        self.merge(n, ins, "concat")

    # -- structure

    def prefix_concats(self) -> None:
        """cat(a, b, c) where cat(a, b) exists: cat(cat(a, b), c) (DenseNet's running
        concatenation is the same sum of features, series-parallel)."""
        cats = [op for op in self.ops if op.role == "concat"]
        original = {id(op): list(op.inputs) for op in cats}
        for op in cats:
            mine = original[id(op)]
            best, size = None, 0
            for other in cats:
                theirs = original[id(other)]
                k = len(theirs)
                if other is not op and 1 < k < len(mine) and mine[:k] == theirs \
                        and other.pos < op.pos and k > size:
                    best, size = other, k
            if best is not None:
                op.inputs = [best.outputs[0], *mine[size:]]

    def nested_concats(self) -> None:
        """cat(a, b1, b2, c) where b1 and b2 share a path of their own (Inception's split 3×3
        branches, flattened into one concat at export): cat(a, cat(b1, b2), c)."""
        for join in [op for op in self.ops if op.role == "concat"]:
            sets = [self.all_ancestors(m) for m in join.inputs]
            shared = set.intersection(*sets) if sets else set()
            private = [a - shared for a in sets]
            groups: list[list[int]] = []
            for i in range(len(join.inputs)):
                if groups and private[i] & set().union(*(private[j] for j in groups[-1])):
                    groups[-1].append(i)
                else:
                    groups.append([i])
            if all(len(g) == 1 for g in groups):
                continue
            inputs = []
            for g in groups:
                if len(g) == 1:
                    inputs.append(join.inputs[g[0]])
                    continue
                name = f"{join.outputs[0]}#{g[0]}"
                sub = Op("concat", [join.inputs[i] for i in g], [name], join.node)
                self.producer[name] = sub
                self.ops.insert(self.ops.index(join), sub)
                self.g.shapes[name] = self.concat_shape(sub.inputs)
                self.layout[name] = self.layout.get(sub.inputs[0],
                                                    tuple(range(len(self.raw(sub.inputs[0])))))
                inputs.append(name)
            join.inputs = inputs
        for i, op in enumerate(self.ops):
            op.pos = i

    def concat_shape(self, inputs: list[str]) -> Dims:
        first = list(self.raw(inputs[0]))
        lay = self.layout.get(inputs[0], tuple(range(len(first))))
        axis = lay.index(1)
        first[axis] = sum(self.raw(t)[axis] for t in inputs)
        return tuple(first)

    def all_ancestors(self, t: str) -> set[Op]:
        out: set[Op] = set()
        stack = [t]
        while stack:
            op = self.producer.get(stack.pop())
            if op is None or op in out:
                continue
            out.add(op)
            stack += op.inputs
        return out

    def structure(self) -> list[Any]:
        self.prefix_concats()
        self.nested_concats()
        users: dict[str, list[Op]] = {}
        for op in self.ops:
            for t in dict.fromkeys(op.inputs):
                users.setdefault(t, []).append(op)
        self.users = users
        end = self.real(self.g.output)
        self.end = end
        # post-dominators over ops in execution order (SINK after them all)
        sink = Op("sink", [end], [], self.ops[0].node if self.ops else Node("", "", [], []))
        sink.pos = len(self.ops)
        self.sink = sink
        users.setdefault(end, []).append(sink)
        ipdom: dict[Op, Op | None] = {sink: None}
        for op in reversed(self.ops):
            succ = [u for o in op.outputs for u in users.get(o, [])]
            if not succ:
                raise self.fail(op.node, "its output is used by nothing")
            d = succ[0]
            for s in succ[1:]:
                d = self.meet(d, s, ipdom)
            ipdom[op] = d
        self.ipdom = ipdom
        everything = set(self.ops)
        return self.seq(self.g.input, end, everything)

    def meet(self, a: Op, b: Op, ipdom: dict[Op, Op | None]) -> Op:
        while a is not b:
            if a.pos < b.pos:
                a = ipdom[a]  # type: ignore[assignment]
            else:
                b = ipdom[b]  # type: ignore[assignment]
        return a

    def seq(self, t: str, end: str, allowed: set[Op]) -> list[Any]:
        """The items from tensor t to `end`: layers, and each region between a fork and its
        merge as one block, its paths read by this same method (one level deeper, counted)."""
        if self.depth > DEEPEST:  # the top level is depth 0
            raise UnsupportedError(f"the model nests blocks (residuals, branches, splits) more "
                                   f"than {DEEPEST} levels deep; a spec's YAML holds "
                                   f"{MAX_YAML_DEPTH} levels, about {DEEPEST} blocks inside "
                                   "each other")
        self.depth += 1
        try:
            return self.seq_items(t, end, allowed)
        finally:
            self.depth -= 1

    def seq_items(self, t: str, end: str, allowed: set[Op]) -> list[Any]:
        items: list[Any] = []
        while t != end:
            cons = [u for u in self.users.get(t, []) if u in allowed]
            if not cons:
                raise UnsupportedError(f"tensor '{t}' does not lead to the output the way "
                                       "convcalc's blocks can say")
            if len(cons) == 1 and cons[0].role == "layer":
                op = cons[0]
                items.append(L(op.kind, dict(op.fields), op.comment, op))
                t = op.outputs[0]
                continue
            if len(cons) == 1 and cons[0].role == "split":
                items.append(self.split(t, cons[0], allowed))
            else:
                join = cons[0]
                for c in cons[1:]:
                    join = self.meet(join, c, self.ipdom)
                if join not in allowed or join.role not in ("add", "mul", "concat"):
                    raise self.not_sp(cons[0].node)
                items.append(self.region(t, join, allowed))
                t = join.outputs[0]
                continue
            t = self.split_end
        return items

    def not_sp(self, node: Node) -> UnsupportedError:
        return self.fail(node, "its paths cross (a tensor feeds two merges), which "
                               "sequence / residual / branches / split cannot say")

    def between(self, t: str, join: Op, allowed: set[Op]) -> set[Op]:
        """The ops on the paths from tensor t to `join` (exclusive), within `allowed`."""
        fwd: set[Op] = set()
        stack = [u for u in self.users.get(t, []) if u in allowed and u is not join]
        while stack:
            op = stack.pop()
            if op in fwd or op.pos >= join.pos:
                continue
            fwd.add(op)
            stack += [u for o in op.outputs for u in self.users.get(o, [])
                      if u in allowed and u is not join]
        return fwd

    def ancestors(self, t: str, within: set[Op]) -> set[Op]:
        out: set[Op] = set()
        stack = [t]
        while stack:
            x = stack.pop()
            op = self.producer.get(x)
            if op is None or op not in within or op in out:
                continue
            out.add(op)
            stack += op.inputs
        return out

    def paths(self, t: str, join: Op, inputs: list[str], allowed: set[Op]) -> list[list[Any]]:
        inner = self.between(t, join, allowed)
        parts = [self.ancestors(m, inner) if m != t else set() for m in inputs]
        if sum(len(p) for p in parts) != len(inner) or len(set().union(*parts)) != len(inner):
            raise self.not_sp(join.node)
        return [self.seq(t, m, p) if m != t else [] for m, p in zip(inputs, parts, strict=True)]

    def region(self, t: str, join: Op, allowed: set[Op]) -> Any:
        paths = self.paths(t, join, join.inputs, allowed)
        if join.role == "concat":
            return self.wrap(Br(paths, "concat"), join)
        if join.role == "mul":
            se = self.squeeze_excitation(paths)
            return self.wrap(se if se is not None else Br(paths, "mul"), join)
        if len(paths) == 2:
            a, b = paths
            body, short = (a, b) if _size(a) >= _size(b) else (b, a)
            return self.wrap(Res(body, short or None), join)
        return self.wrap(Br(paths, "add"), join)

    def wrap(self, item: Any, join: Op) -> Any:
        item.op = join  # the merge: where it lives in the model
        return item

    def split(self, t: str, op: Op, allowed: set[Op]) -> Any:
        # every output of the split leads to one concat, one path each
        firsts = [u for o in op.outputs for u in self.users.get(o, []) if u in allowed]
        if not firsts:
            raise self.not_sp(op.node)
        join = firsts[0]
        for c in firsts[1:]:
            join = self.meet(join, c, self.ipdom)
        if join.role != "concat" or join not in allowed:
            raise self.fail(op.node, "splits channels that are not concatenated back in one "
                                     "place (convcalc's split concatenates its paths)")
        inner = self.between(t, join, allowed)
        order = []
        for m in join.inputs:
            owner = [i for i, o in enumerate(op.outputs) if o == m or
                     self.producer.get(m) in self.descendants(o, inner)]
            if len(owner) != 1:
                raise self.not_sp(join.node)
            order.append(owner[0])
        if sorted(order) != list(range(len(op.outputs))):
            raise self.not_sp(join.node)
        paths = []
        sizes = []
        used: set[Op] = {op}
        for m, i in zip(join.inputs, order, strict=True):
            s = op.outputs[i]
            part = self.ancestors(m, inner - {op}) if m != s else set()
            used |= part
            paths.append(self.seq(s, m, part) if m != s else [])
            sizes.append(op.sizes[i])
        if used != inner:
            raise self.not_sp(join.node)
        self.split_end = join.outputs[0]
        equal = len(set(sizes)) == 1
        item = Sp(paths, None if equal else sizes)
        item.op = op  # type: ignore[attr-defined]
        return item

    def descendants(self, t: str, within: set[Op]) -> set[Op]:
        out: set[Op] = set()
        stack = [u for u in self.users.get(t, []) if u in within]
        while stack:
            op = stack.pop()
            if op in out:
                continue
            out.add(op)
            stack += [u for o in op.outputs for u in self.users.get(o, []) if u in within]
        return out

    def squeeze_excitation(self, paths: list[list[Any]]) -> Any:
        """[identity] ⊙ [pool, 1×1 conv, act, 1×1 conv, gate]: torchvision's SE block."""
        if len(paths) != 2 or sum(p == [] for p in paths) != 1:
            return None
        gate = next(p for p in paths if p)
        kinds = [getattr(x, "kind", None) for x in gate]
        if len(gate) != 5 or kinds[0] != "global_avgpool" or kinds[1] != "pointwise" or \
                kinds[2] not in SE_ACTS or kinds[3] != "pointwise" or \
                kinds[4] not in ("sigmoid", "hardsigmoid"):
            return None
        fc1, fc2 = gate[1], gate[3]
        for fc in (fc1, fc2):
            if set(fc.fields) - {"out", "bias"} or not fc.fields.get("bias"):
                return None
        fields: dict[str, Any] = {"squeeze": fc1.fields["out"]}
        if kinds[2] != "relu":
            fields["activation"] = kinds[2]
        if kinds[4] != "sigmoid":
            fields["gate"] = kinds[4]
        se = L("se", fields, None, gate[0].op)
        se.parts = [x.op for x in gate]  # type: ignore[attr-defined]
        return se


def _torch_hardsigmoid(n: Node) -> bool:
    alpha, beta = n.attrs.get("alpha", 0.2), n.attrs.get("beta", 0.5)
    return bool(abs(alpha - 1 / 6) < 1e-6 and abs(beta - 0.5) < 1e-6)


def self_input(erf: Node, src: Any) -> str:
    return str(src(erf.inputs[0]).inputs[0])


def _per_channel(shape: Dims, raw: Dims, lay: tuple[int, ...] | None) -> bool:
    """A constant that broadcasts along the channel axis only."""
    lay = lay or tuple(range(len(raw)))
    full = (1,) * (len(raw) - len(shape)) + tuple(shape)
    big = [i for i, d in enumerate(full) if d != 1]
    return len(big) == 1 and lay[big[0]] == 1


def _list(value: Any, rank: int) -> list[int]:
    return [value] * rank if isinstance(value, int) else list(value)


def _round(p: Any) -> Any:
    value = float(p)
    r = round(value, 6)
    return int(r) if r == int(r) else r


def _size(path: list[Any]) -> int:
    return sum(1 for _ in _leaves(path))


def _leaves(items: Iterable[Any]) -> Iterator[L]:
    for x in items:
        if isinstance(x, L):
            yield x
        elif isinstance(x, Seq):
            yield from _leaves(x.items)
        elif isinstance(x, Res):
            yield from _leaves(x.body)
            if x.shortcut:
                yield from _leaves(x.shortcut)
        elif isinstance(x, Br | Sp):
            for p in x.paths:
                yield from _leaves(p)


# --- names: the model's module paths as nested named blocks -------------------------------------

class Namer:
    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.containers = builder.containers

    def levels(self, node: Node, is_layer: bool) -> tuple[tuple[str, ...], str | None]:
        """(the levels a node lives in, its own name or None)."""
        scope = tuple(_label(s) for s in node.scope if _label(s))
        if scope:
            if is_layer and (node.module is not None or tuple(node.scope) not in self.containers):
                return scope[:-1], scope[-1]
            return scope, None
        name = _label(node.name)
        if node.name.startswith("/"):  # a TorchScript export's name outside every module
            return (), None
        if not name or re.fullmatch(rf"(node_)?{re.escape(node.op)}(_\d+)?", name, re.I) or \
                re.fullmatch(r"(node_)?[A-Za-z]+_\d+", name):
            return (), None
        return (), name

    def scope(self, item: Any) -> tuple[str, ...]:
        paths: list[tuple[str, ...]] = []
        if isinstance(item, L):
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
        for leaf in _leaves([item]):
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
                seq = Seq(head, self.group([y for _, y in scoped[i:j]], (*prefix, head)))
                seq.parent = prefix[-1] if prefix else ""  # type: ignore[attr-defined]
                out.append(seq)
                i = j
                continue
            out.append(self.lower(x, prefix))
            i += 1
        return out

    def lower(self, x: Any, prefix: tuple[str, ...]) -> Any:
        if isinstance(x, L):
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
        if isinstance(x, Res):
            x.body = self.group(x.body, prefix)
            if x.shortcut is not None:
                x.shortcut = _unwrap(self.group(x.shortcut, prefix), "shortcut")
            return x
        if isinstance(x, Br | Sp):
            x.paths = [_unwrap(self.group(p, prefix), f"path{i}") for i, p in enumerate(x.paths)]
            return x
        return x


def _unwrap(items: list[Any], level: str) -> list[Any]:
    """A path's (or shortcut's) layers grouped under the very name convcalc gives that level
    (a model exported by convcalc): the level itself, not one more inside it."""
    if len(items) == 1 and isinstance(items[0], Seq) and items[0].name == level:
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
            groups: dict[Any, list[tuple[Seq, list[Any]]]] = {}
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
        if isinstance(x, Seq):
            return [x.items]
        if isinstance(x, Res):
            return [x.body] + ([x.shortcut] if x.shortcut else [])
        if isinstance(x, Br | Sp):
            return list(x.paths)
        if isinstance(x, Rep):
            return [x.body]
        return []

    def contains(self, outer: Seq, inner: Seq) -> bool:
        return outer is not inner and any(y is inner for y in self.walk(outer.items))

    def candidates(self, items: list[Any]) -> Iterator[tuple[Seq, list[Any]]]:
        for x in self.walk(items):
            if isinstance(x, Seq) and not getattr(x, "block", None) and (
                    len(x.items) >= 3 or any(not isinstance(y, L) for y in x.items)):
                yield x, []

    # signatures: the structure with the masked values taken out

    def shape_of(self, x: Any, values: list[Any]) -> Any:
        if isinstance(x, L):
            key = []
            for k, v in x.fields.items():
                if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                    values.append(v)
                    key.append((k, "#"))
                else:
                    key.append((k, json.dumps(v, default=str)))
            return ("L", x.kind, tuple(key))
        if isinstance(x, Seq):
            return ("S", x.name, tuple(self.shape_of(y, values) for y in x.items))
        if isinstance(x, Res):
            return ("R", tuple(self.shape_of(y, values) for y in x.body),
                    None if x.shortcut is None else
                    tuple(self.shape_of(y, values) for y in x.shortcut))
        if isinstance(x, Br):
            return ("B", x.merge, tuple(tuple(self.shape_of(y, values) for y in p)
                                        for p in x.paths))
        if isinstance(x, Sp):
            return ("P", json.dumps(x.sizes), tuple(tuple(self.shape_of(y, values) for y in p)
                                                    for p in x.paths))
        if isinstance(x, Use):
            key = []
            for k, v in x.args.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    values.append(v)
                    key.append((k, "#"))
                else:
                    key.append((k, json.dumps(v)))
            return ("U", x.block, x.name, tuple(key))
        if isinstance(x, Rep):
            values.append(x.count)
            return ("N", x.name, tuple(self.shape_of(y, values) for y in x.body))
        raise TypeError(type(x))

    def signature(self, seq: Seq) -> Any:
        return tuple(self.shape_of(y, []) for y in seq.items)

    def values(self, seq: Seq) -> list[Any]:
        values: list[Any] = []
        for y in seq.items:
            self.shape_of(y, values)
        return values

    # one class of look-alike levels → one block

    def define(self, cls: list[tuple[Seq, list[Any]]]) -> None:
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

    def field_names(self, seq: Seq) -> list[tuple[str, str | None]]:
        """(field, the name of the layer, use or level it sits in) of every masked value, in
        the order `values` lists them."""
        names: list[tuple[str, str | None]] = []

        def visit(x: Any, owner: str | None) -> None:
            if isinstance(x, L):
                here = x.fields.get("name", owner)
                for k, v in x.fields.items():
                    if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                        names.append((k, here))
            elif isinstance(x, Use):
                for k, v in x.args.items():
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        # a block's argument says most with the use it belongs to: branch2_out
                        label = re.sub(r"[^A-Za-z0-9_]", "_", x.name or "")
                        qualified = bool(label) and not label[0].isdigit()
                        names.append((f"{label}_{k}" if qualified else k, x.name or owner))
            elif isinstance(x, Rep):
                names.append(("n", owner))
                for y in x.body:
                    visit(y, owner)
            else:
                inner = x.name if isinstance(x, Seq) else owner
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

    def block_name(self, seq: Seq) -> str:
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
            if isinstance(x, L):
                fields = {}
                for k, v in x.fields.items():
                    if k in MASKED and isinstance(v, int | float) and not isinstance(v, bool):
                        e = next(exprs)
                        fields[k] = v if e is None else e
                    else:
                        fields[k] = v
                out.append(L(x.kind, fields, x.comment, None))
            elif isinstance(x, Seq):
                out.append(Seq(x.name, self.substitute(x.items, exprs)))
            elif isinstance(x, Res):
                body = self.substitute(x.body, exprs)
                short = None if x.shortcut is None else self.substitute(x.shortcut, exprs)
                out.append(Res(body, short))
            elif isinstance(x, Br):
                out.append(Br([self.substitute(p, exprs) for p in x.paths], x.merge))
            elif isinstance(x, Sp):
                out.append(Sp([self.substitute(p, exprs) for p in x.paths], x.sizes))
            elif isinstance(x, Use):
                args = {}
                for k, v in x.args.items():
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        e = next(exprs)
                        args[k] = v if e is None else e
                    else:
                        args[k] = v
                out.append(Use(x.block, x.name, args))
            elif isinstance(x, Rep):
                e = next(exprs)
                out.append(Rep(x.count if e is None else e, x.name,
                               self.substitute(x.body, exprs)))
        return out

    def replace(self, items: list[Any]) -> list[Any]:
        out = []
        for x in items:
            block = getattr(x, "block", None) if isinstance(x, Seq) else None
            if block is not None:
                out.append(Use(block[0], x.name, block[1]))
                continue
            if isinstance(x, Seq):
                x.items = self.replace(x.items)
            elif isinstance(x, Res):
                x.body = self.replace(x.body)
                if x.shortcut is not None:
                    x.shortcut = self.replace(x.shortcut)
            elif isinstance(x, Br | Sp):
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
            if isinstance(x, Use) and x.name is not None and x.name.isdigit():
                j = i + 1
                while j < len(items) and isinstance(items[j], Use) and \
                        items[j].block == x.block and items[j].args == x.args and \
                        items[j].name == str(int(x.name) + (j - i)):
                    j += 1
                start = int(x.name)
                before = {y.name for y in out if isinstance(y, Use | Seq)}
                # an unnamed repeat numbers its copies with the level's next free ordinals
                if j - i > 1 and all(str(k) in before for k in range(start)) and \
                        not any(str(k) in before for k in range(start, j - i + start)):
                    out.append(Rep(j - i, None, [Use(x.block, None, dict(x.args))]))
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


# --- YAML in the examples' style ---------------------------------------------------------------
# Every key, value and comment goes through these functions: a model's names and a file's name
# are untrusted text, and must read back exactly as they were (never as YAML of their own).

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_TEMPLATE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def quoted(text: str) -> str:
    """`text` as a one-line double-quoted YAML scalar, by PyYAML's own emitter: line breaks
    (\\n, \\r, U+0085, U+2028, U+2029), controls and what YAML cannot hold raw are escaped."""
    out = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=math.inf)
    return out.rstrip("\n").removesuffix("\n...").rstrip("\n")


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        return repr(v) if math.isfinite(v) else ".inf" if v > 0 else "-.inf"
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        exact = v.denominator & (v.denominator - 1) == 0  # a power of two: exact in binary
        return repr(float(v)) if exact else quoted(f"{v.numerator}/{v.denominator}")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    text = str(v)
    if _TEMPLATE.fullmatch(text) or (_PLAIN.fullmatch(text) and text.lower() not in _RESERVED):
        return text
    return quoted(text)


def comment(text: str) -> str:
    """`text` for a `# …` comment: one line, every control, format or line-break character
    written as its Python escape (`\\n`, `\\u2028`), so nothing in it can end the comment."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if ch == "\\" or unicodedata.category(ch) in _HIDDEN else ch
                   for ch in str(text))


def key(k: Any) -> str:
    """A mapping key: as a scalar, except that `y` and `n` stay plain (a parameter `n`; every
    YAML 1.2 reader, PyYAML and convcalc's take them as text)."""
    return k if k in ("y", "n") else scalar(k)


def flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{key(k)}: {scalar(v)}" for k, v in d.items()) + "}"


def item_mapping(x: Any) -> Any:
    """The spec mapping (what the YAML loads to) of one item."""
    if isinstance(x, L):
        if x.fields.get("name") == x.kind:
            del x.fields["name"]
        return {x.kind: dict(x.fields)} if x.fields else x.kind
    if isinstance(x, Seq):
        return {"sequence": {"name": x.name, "layers": [item_mapping(y) for y in x.items]}}
    if isinstance(x, Res):
        body: dict[str, Any] = {"body": [item_mapping(y) for y in x.body]}
        if x.shortcut:
            body["shortcut"] = [item_mapping(y) for y in x.shortcut]
        return {"residual": body}
    if isinstance(x, Br):
        return {"branches": {"merge": x.merge, "paths": [[item_mapping(y) for y in p]
                                                         for p in x.paths]}}
    if isinstance(x, Sp):
        sp: dict[str, Any] = {"paths": [[item_mapping(y) for y in p] for p in x.paths]}
        if x.sizes is not None:
            sp = {"sizes": x.sizes, **sp}
        return {"split": sp}
    if isinstance(x, Use):
        args = {"name": x.name, **x.args} if x.name is not None else dict(x.args)
        return {x.block: args} if args else x.block
    if isinstance(x, Rep):
        out: dict[str, Any] = {"repeat": x.count}
        if x.name is not None:
            out["name"] = x.name
        out["body"] = [item_mapping(y) for y in x.body]
        return out
    raise TypeError(type(x))


def yaml_items(items: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for x in items:
        if isinstance(x, L):
            if x.fields.get("name") == x.kind:
                del x.fields["name"]
            kind = key(x.kind)
            text = f"{pad}- {kind}: {flow(x.fields)}" if x.fields else f"{pad}- {kind}"
            if x.comment:
                text += f"  # {comment(x.comment)}"
            lines.append(text)
        elif isinstance(x, Use):
            args = {"name": x.name, **x.args} if x.name is not None else dict(x.args)
            block = key(x.block)
            lines.append(f"{pad}- {block}: {flow(args)}" if args else f"{pad}- {block}")
        elif isinstance(x, Seq):
            lines += [f"{pad}- sequence:", f"{pad}    name: {scalar(x.name)}",
                      f"{pad}    layers:", *yaml_items(x.items, indent + 6)]
        elif isinstance(x, Res):
            lines += [f"{pad}- residual:", f"{pad}    body:", *yaml_items(x.body, indent + 6)]
            if x.shortcut:
                lines += [f"{pad}    shortcut:", *yaml_items(x.shortcut, indent + 6)]
        elif isinstance(x, Br | Sp):
            head = "branches" if isinstance(x, Br) else "split"
            lines.append(f"{pad}- {head}:")
            if isinstance(x, Br):
                lines.append(f"{pad}    merge: {scalar(x.merge)}")
            elif x.sizes is not None:
                lines.append(f"{pad}    sizes: {scalar(x.sizes)}")
            lines.append(f"{pad}    paths:")
            for p in x.paths:
                if not p:
                    lines.append(f"{pad}      - []")
                    continue
                inner = yaml_items(p, indent + 8)
                inner[0] = f"{pad}      - " + inner[0].lstrip()
                lines += inner
        elif isinstance(x, Rep):
            lines.append(f"{pad}- repeat: {scalar(x.count)}")
            if x.name is not None:
                lines.append(f"{pad}  name: {scalar(x.name)}")
            lines += [f"{pad}  body:", *yaml_items(x.body, indent + 4)]
    return lines


# --- the whole import --------------------------------------------------------------------------

def _bias_defaults(items: Iterable[Any], defs: dict[str, dict[str, Any]]) -> bool:
    """Whether most layers with a bias have none (then `defaults: {bias: false}`)."""
    counts: Counter[bool] = Counter()

    def visit(xs: Iterable[Any]) -> None:
        for x in xs:
            if isinstance(x, L) and x.kind in BIAS_KINDS:
                counts[bool(x.fields.get("bias", True))] += 1
            for sub in Blocks.children(x):
                visit(sub)

    visit(items)
    for d in defs.values():
        visit(d["layers"])
    return counts[False] > counts[True]


def _set_bias(items: Iterable[Any], default: bool) -> None:
    for x in items:
        if isinstance(x, L) and "bias" in x.fields:
            if x.fields["bias"] == default:
                del x.fields["bias"]
        elif isinstance(x, L) and x.kind == "layernorm" and not default:
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
                   f"left as identity (0 params, 0 MACs): {listed}")
        if strict:
            raise UnsupportedError(f"--strict: {message}")
        warnings.append(message)
    items = b.structure()
    order = list(_leaves(items))
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
    spec: dict[str, Any] = {"name": _label(graph.name) or "model", "input": shape_text}
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
            if isinstance(x, Seq):
                path = (*prefix, x.name)
                cls = graph.classes.get(path)
                if cls:
                    x.cls = cls  # type: ignore[attr-defined]
                visit(x.items, path)
            else:
                for sub in Blocks.children(x):
                    visit(sub, prefix)

    visit(items, ())


def _check(result: Imported, order: list[L], b: Builder) -> None:
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

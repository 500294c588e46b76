"""Fuse patterns: the node list before translation, the op list after it.

Takes: the graph's nodes (`BuilderState`). Gives: the reachable nodes with the patterns a
module exports as several ops fused into one node (GELU from erf, channel shuffle, channel
slices), and, after translation, octave convolutions recovered from their scope's ops.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from convcalc.bridges.fuse_attention import AttentionFuser, MlpFuser
from convcalc.bridges.graph import Const, Dims, Node
from convcalc.bridges.ops import FIRST_ONLY, Op
from convcalc.errors import ConvcalcError
from convcalc.layers.base import axis_names


class Fuser(AttentionFuser, MlpFuser):
    """The fusion passes (node list and op list)."""

    # -- fusions on the node list (patterns a module exports as several ops)

    def fuse(self, nodes: list[Node]) -> list[Node]:
        nodes = self.fuse_attention(nodes)
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

    def slice_ranges(self, n: Node, shape: Dims) -> list[tuple[int, int, int]] | None:
        """A Slice node's (axis, start, end) for each axis it cuts, bounds clipped to the
        shape; None when its bounds are not constants or a step is not 1."""
        starts, ends = self.const(n.inputs[1]), self.const(n.inputs[2])
        axes = self.const(n.inputs[3]) if len(n.inputs) > 3 and n.inputs[3] else None
        steps = self.const(n.inputs[4]) if len(n.inputs) > 4 and n.inputs[4] else None
        if starts is None or ends is None:
            return None
        axes = axes if axes is not None else tuple(range(len(starts)))
        cut = []
        for s0, e0, a0, st in zip(starts, ends, axes, steps or (1,) * len(starts), strict=True):
            a = int(a0) % len(shape)
            if st != 1:
                return None
            s = max(0, int(s0) + shape[a] if int(s0) < 0 else int(s0))
            e = min(shape[a], int(e0) + shape[a] if int(e0) < 0 else int(e0))
            if (s, e) != (0, shape[a]):
                cut.append((a, s, e))
        return cut

    def channel_range(self, n: Node, shape: Dims) -> tuple[int, int] | None:
        cut = self.slice_ranges(n, shape)
        if cut is None or any(a != 1 for a, _, _ in cut):
            return None
        lo, hi = next(((s, e) for _, s, e in cut), (0, shape[1]))
        return (lo, hi) if lo < hi else None

    def slice_text(self, n: Node, x: str) -> str:
        """What a Slice the import cannot read does, in the model's terms: `a slice along the H
        axis (1:8 of 8)`, the axes named as convcalc names them (N, C, then D/H/W or L)."""
        raw = self.raw(x)
        cut = self.slice_ranges(n, raw)
        if cut is None:
            return "a slice with bounds or steps that are not constants"
        if not cut:
            return "a slice"
        lay = self.layout.get(x, tuple(range(len(raw))))
        names = ("N", "C", *axis_names(len(raw) - 2))
        parts = [f"{names[lay[a]] if lay[a] < len(names) else f'axis {a}'} axis ({s}:{e} of "
                 f"{raw[a]})" for a, s, e in cut]
        return "a slice along the " + " and the ".join(parts)

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


def _torch_hardsigmoid(n: Node) -> bool:
    alpha, beta = n.attrs.get("alpha", 0.2), n.attrs.get("beta", 0.5)
    return bool(abs(alpha - 1 / 6) < 1e-6 and abs(beta - 0.5) < 1e-6)


def self_input(erf: Node, src: Any) -> str:
    return str(src(erf.inputs[0]).inputs[0])

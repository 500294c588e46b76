"""Fuse attention: the MatMul / Softmax / Transpose / Reshape of an exported self-attention into
one `SelfAttention` node (translated to convcalc's `self_attention`).

Takes: the graph's node list (`BuilderState`). Gives: the same list where each softmax (or
`ScaledDotProductAttention`, torch's fused call) that sits between two products of data
tensors (q·kᵀ, then attention·v), whose q, k and v are projected from one tensor X by weight
matrices (C → 3C in all, with or without biases) and whose result is projected back (C → C)
to a tensor Y of X's shape, is replaced by one node X → Y. Everything between X and Y must be
part of it (shape arithmetic, reshapes, transposes, the 1/√d scale, a bias added to the
scores); anything else leaves the graph as it was. Heads come from the scores' shape
(…×heads×T×n): attention over every position (n = T), or within the windows of a map cut by
MaxViT's partition (Reshape → Transpose → Reshape, fused first into `Partition` /
`Departition`; n = the positions of a window). A pattern that is attention but cannot be one
(heads that do not divide the channels, scores of rank < 3) is an error naming the node.

Also here, on the op list after translation: a module that is exactly linear → activation →
linear on tokens becomes one `mlp` layer (`MlpFuser`).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from convcalc.bridges.graph import Node
from convcalc.bridges.ops import BuilderState, Op

LAYOUT = ("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Flatten")
"""Ops that only move values (walked through to find X and Y)."""
PASS = (*LAYOUT, "Gather", "Slice", "Split", "Mul", "Div", "Add", "Sub", "Cast", "Dropout",
        "Expand", "Sqrt")
"""Ops between the projections and the products: one data input, the rest constants."""


class AttentionFuser(BuilderState):
    """The attention fusion (node list)."""

    def fuse_attention(self, nodes: list[Node]) -> list[Node]:
        nodes = self.fuse_partitions(nodes)
        anchors = [n for n in nodes if n.op in ("Softmax", "ScaledDotProductAttention")]
        if not anchors:
            return nodes
        for anchor in anchors:
            found = _Region(self, nodes).match(anchor)
            if found is None:
                continue
            fused, members = found
            last = max(i for i, n in enumerate(nodes) if id(n) in members)
            nodes = [fused if i == last else n for i, n in enumerate(nodes)
                     if i == last or id(n) not in members]
        return nodes


    def fuse_partitions(self, nodes: list[Node]) -> list[Node]:
        """Reshape → Transpose → Reshape that cut N×C×H×W into windows N×G×p²×C (MaxViT's
        WindowPartition, as exported) or put them back: one Partition / Departition node."""
        users: dict[str, list[Node]] = {}
        for n in nodes:
            for t in n.inputs:
                users.setdefault(t, []).append(n)
        replace: dict[int, Node | None] = {}
        for first in nodes:
            if first.op != "Reshape" or id(first) in replace:
                continue
            chain = [first]
            for op in ("Transpose", "Reshape"):
                u = users.get(chain[-1].outputs[0], [])
                if len(u) != 1 or u[0].op != op or chain[-1].outputs[0] == self.g.output:
                    break
                chain.append(u[0])
            if len(chain) != 3:
                continue
            fused = self.partition(chain)
            if fused is not None:
                replace[id(chain[0])] = replace[id(chain[1])] = None
                replace[id(chain[2])] = fused
        if not replace:
            return nodes
        out: list[Node] = []
        for n in nodes:
            single = replace.get(id(n), n)
            if single is not None:
                out.append(single)
        return out

    def partition(self, chain: list[Node]) -> Node | None:
        a, mid, b = (self.g.shape(chain[0].inputs[0]), self.g.shape(chain[0].outputs[0]),
                     self.g.shape(chain[2].outputs[0]))
        perm = list(chain[1].attrs.get("perm", []))
        if a is None or mid is None or b is None or len(a) != 4 or len(b) not in (4, 6):
            return None
        last = chain[2]
        if len(mid) == 6 and perm == [0, 2, 4, 3, 5, 1]:
            n_, c, h, w = a
            p = mid[3]
            if p > 0 and mid == (n_, c, h // p, p, w // p, p) and b == (n_, (h // p) * (w // p), p * p, c):
                return Node("Partition", last.name, [chain[0].inputs[0]], [last.outputs[0]],
                            {"p": p}, chain[0].scope, "WindowPartition")
        if len(mid) == 6 and perm == [0, 5, 1, 3, 2, 4]:
            n_, g, pp, c = a
            hp, wp, p = mid[1], mid[2], mid[3]
            if p > 0 and mid == (n_, hp, wp, p, p, c) and g == hp * wp and pp == p * p and \
                    b == (n_, c, hp * p, wp * p):
                return Node("Departition", last.name, [chain[0].inputs[0]], [last.outputs[0]],
                            {}, chain[0].scope, "WindowDepartition")
        return None


class _Region:
    """One attention's nodes, found from its softmax."""

    def __init__(self, b: BuilderState, nodes: list[Node]) -> None:
        self.b = b
        self.nodes = nodes
        self.produced = {o: n for n in nodes for o in n.outputs if o}
        self.bias_add = False
        self.users: dict[str, list[Node]] = {}
        for n in nodes:
            for t in n.inputs:
                if t:
                    self.users.setdefault(t, []).append(n)

    def data(self, n: Node) -> list[str]:
        return [t for t in n.inputs if t and t not in self.b.g.constants]

    def shape(self, t: str) -> tuple[int, ...] | None:
        return self.b.g.shape(t)

    def projection(self, n: Node) -> int | None:
        """The output width of a product with a weight matrix (MatMul, Gemm), else None."""
        if n.op not in ("MatMul", "Gemm") or len(self.data(n)) != 1 or \
                len(n.inputs) < 2 or n.inputs[1] not in self.b.g.constants:
            return None
        w = self.b.g.constants[n.inputs[1]].shape
        if len(w) != 2:
            return None
        return int(w[0] if n.op == "Gemm" and n.attrs.get("transB", 0) else w[1])

    def back(self, t: str, stop: tuple[str, ...]) -> tuple[str, Node | None]:
        """Walk from t towards the inputs through one-data-input ops in `stop`; (the tensor
        reached, the projection or other node that made it)."""
        for _ in range(64):
            p = self.produced.get(t)
            if p is None or self.projection(p) is not None:
                return t, p
            ins = self.data(p)
            if p.op not in stop or len(ins) != 1:
                return t, p
            t = ins[0]
        return t, None

    def match(self, anchor: Node) -> tuple[Node, set[int]] | None:
        if anchor.op == "Softmax":
            products = self.products(anchor)
            if products is None:
                return None
            scores, context = products
            q, k = scores.inputs[0], scores.inputs[1]
            v = context.inputs[1]
            score_shape = self.shape(scores.outputs[0])
            end = context.outputs[0]
        else:
            q, k, v = [*anchor.inputs, "", "", ""][:3]
            qs, ks = self.shape(q), self.shape(k)
            score_shape = None if qs is None or ks is None else (*qs[:-1], ks[-2])
            end = anchor.outputs[0]
        ins: list[Node] = []
        for t in (q, k, v):
            _, p = self.back(t, PASS)
            if p is None or self.projection(p) is None:
                return None
            ins.append(p)
        starts = {self.data(p)[0] for p in ins}
        if len(starts) != 1:
            return None  # not self-attention (cross-attention, or not found)
        out = self.forward(end)
        if out is None:
            return None
        proj, ys = out
        width = self.b.g.constants[ins[0].inputs[1]].shape
        c_in = width[1] if ins[0].op == "Gemm" and ins[0].attrs.get("transB", 0) else width[0]
        pair = None
        for x in reversed(self.chain(starts.pop())):  # the farthest X and Y that fit
            shape = self.shape(x)
            if shape is None or shape[-1] != c_in:
                continue
            for y in reversed(ys):
                if self.shape(y) == shape:
                    members = self.between(x, y)
                    if members is not None:
                        pair = x, y, shape, members
                        break
            if pair is not None:
                break
        if pair is None:
            return None
        x, y, x_shape, members = pair
        c = x_shape[-1]
        widths = {id(p): self.projection(p) or 0 for p in ins}
        return self.node(anchor, x, y, x_shape, score_shape, c, sum(widths.values()),
                         ins, proj, members)

    def products(self, softmax: Node) -> tuple[Node, Node] | None:
        """The q·kᵀ product before a softmax (through scale and bias ops) and the
        attention·v product after it."""
        t = softmax.inputs[0]
        scores = None
        for _ in range(16):
            p = self.produced.get(t)
            if p is None:
                return None
            ins = self.data(p)
            if p.op in ("MatMul", "Einsum") and len(ins) == 2:
                scores = p
                break
            if p.op == "Add" and len(ins) == 1:
                self.bias_add = True  # a relative-position bias added to the scores
            if p.op not in ("Mul", "Div", "Add", "Sub", "Cast", "Identity", "Where") or \
                    not ins:
                return None
            same = [i for i in ins if self.shape(i) == self.shape(t)]
            t = (same or ins)[0]
        if scores is None:
            return None
        t = softmax.outputs[0]
        for _ in range(8):
            users = self.users.get(t, [])
            if len(users) != 1:
                return None
            u = users[0]
            if u.op in ("MatMul", "Einsum") and len(self.data(u)) == 2 and u.inputs[0] == t:
                return scores, u
            if u.op not in ("Dropout", "Identity", "Cast"):
                return None
            t = u.outputs[0]
        return None

    def forward(self, t: str) -> tuple[Node, list[str]] | None:
        """From the attention·v product to the output projection, then through its bias and
        reshapes: (the projection, the tensors after it that could be Y, nearest first)."""
        proj = None
        found: list[str] = []
        for _ in range(32):
            users = self.users.get(t, [])
            bias_next = len(users) == 1 and users[0].op == "Add" and \
                len(self.data(users[0])) == 1
            if proj is not None and not bias_next:
                found.append(t)
            if len(users) != 1 or t == self.b.g.output:
                break
            u = users[0]
            if proj is None and self.projection(u) is not None:
                proj = u
            elif not (u.op in LAYOUT or (u.op in ("Add", "Dropout") and
                                          len(self.data(u)) == 1)):
                break
            t = u.outputs[0]
        return None if proj is None or not found else (proj, found)

    def chain(self, t: str) -> list[str]:
        """t and the tensors it is a reshape or transpose of, nearest first (candidates for X)."""
        out = [t]
        for _ in range(16):
            p = self.produced.get(t)
            if p is None or p.op not in LAYOUT or len(self.data(p)) != 1:
                break
            t = self.data(p)[0]
            out.append(t)
        return out

    def between(self, x: str, y: str) -> set[int] | None:
        """The nodes Y depends on back to X; None when one of them reads other data or feeds
        a node outside."""
        members: dict[int, Node] = {}
        stack = [y]
        while stack:
            t = stack.pop()
            if t == x or not t or t in self.b.g.constants:
                continue
            p = self.produced.get(t)
            if p is None:
                return None  # the graph's input, reached without passing X
            if id(p) in members:
                continue
            members[id(p)] = p
            stack.extend(p.inputs)
        for n in members.values():
            for o in n.outputs:
                if o == y or not o:
                    continue
                if o == self.b.g.output or any(id(u) not in members for u in
                                               self.users.get(o, [])):
                    return None
        return set(members)

    def node(self, anchor: Node, x: str, y: str, x_shape: tuple[int, ...],
             score_shape: tuple[int, ...] | None, c: int, width: int, ins: list[Node],
             proj: Node, members: set[int]) -> tuple[Node, set[int]] | None:
        if score_shape is None or len(score_shape) < 3:
            raise self.b.fail(anchor, f"attention scores of shape {_show(score_shape)}: "
                                      "convcalc reads …×heads×T×n")
        heads = score_shape[-3] if len(score_shape) > 3 else score_shape[0] // max(1, x_shape[0])
        if heads < 1 or c % heads:
            raise self.b.fail(anchor, f"{heads} attention heads do not divide the {c} channels "
                                      f"of {_show(x_shape)}")
        tokens = 1
        for d in x_shape[1:-1]:
            tokens *= d
        windows = len(x_shape) == 4 and score_shape[-1] == score_shape[-2] == x_shape[-2]
        if not windows and (score_shape[-1] != tokens or score_shape[-2] != tokens):
            return None  # shifted windows (Swin): not read from ONNX yet
        if width != 3 * c or self.projection(proj) != c:
            return None
        attrs: dict[str, Any] = {"heads": heads, "bias": all(self.biased(p) for p in ins),
                                 "proj_bias": self.biased(proj)}
        if windows:
            # within the windows of a partitioned map (MaxViT): translate reads the window
            # from the partition; the bias table added to the scores was expanded at export
            attrs["position_bias"] = self.bias_add
        scopes = [n.scope for n in self.nodes if id(n) in members]
        scope = _common(scopes)
        name = "/".join(scope) if scope else anchor.name
        # a module of its own when every op of it lives in one (named after it, as a leaf)
        module = self.b.g.classes.get(scope, "SelfAttention") if scope else None
        return Node("SelfAttention", name, [x], [y], attrs, scope, module), members

    def biased(self, p: Node) -> bool:
        """A Gemm's bias input, or an Add of a constant right after the product."""
        if p.op == "Gemm" and len(p.inputs) > 2 and p.inputs[2]:
            return True
        users = self.users.get(p.outputs[0], [])
        return len(users) == 1 and users[0].op == "Add" and len(self.data(users[0])) == 1


def _common(scopes: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not scopes:
        return ()
    first = scopes[0]
    k = 0
    while k < len(first) and all(len(s) > k and s[k] == first[k] for s in scopes):
        k += 1
    return first[:k]


def _show(dims: tuple[int, ...] | None) -> str:
    return "?" if dims is None else "×".join(map(str, dims))


MLP_ACTS = ("gelu", "relu", "silu", "hardswish", "tanh")


class MlpFuser(BuilderState):
    """The token-MLP fusion (op list, after translation)."""

    def fuse_mlps(self) -> None:
        """A module whose ops are exactly linear → activation → linear on channels-last tokens
        (dropouts of p = 0 between or after): one `mlp` layer (a transformer block's MLP:
        torchvision's MLPBlock, ops.MLP)."""
        by_scope: dict[tuple[str, ...], list[Op]] = {}
        for op in self.ops:
            if op.node.scope:
                by_scope.setdefault(tuple(op.node.scope[:-1]), []).append(op)
        for scope, ops in by_scope.items():
            fields = self.mlp_fields(ops)
            if fields is None or not scope:
                continue
            first, last = ops[0], ops[-1]
            node = Node("Mlp", ".".join(scope), [first.inputs[0]], [last.outputs[0]], {}, scope,
                        self.g.classes.get(scope, "MLP"))
            merged = Op("layer", [first.inputs[0]], [last.outputs[0]], node, "mlp", fields)
            at = self.ops.index(first)
            members = set(ops)
            self.ops = [op for op in self.ops if op not in members]
            self.ops.insert(at, merged)
            self.producer[last.outputs[0]] = merged
        for i, op in enumerate(self.ops):
            op.pos = i

    def mlp_fields(self, ops: list[Op]) -> dict[str, Any] | None:
        kinds = [op.kind for op in ops if not (op.kind == "dropout" and op.fields.get("p") == 0)]
        if any(op.role != "layer" for op in ops) or kinds[:1] != ["pointwise"] or \
                len(kinds) != 3 or kinds[1] not in MLP_ACTS or kinds[2] != "pointwise":
            return None
        for a, b in pairwise(ops):
            if b.inputs != a.outputs or sum(a.outputs[0] in (self.real(i) for i in o.inputs)
                                            for o in self.ops) != 1:
                return None
        x = ops[0].inputs[0]
        lay = self.layout.get(x, tuple(range(len(self.raw(x)))))
        fc1, fc2 = (op for op in ops if op.kind == "pointwise")
        if len(lay) < 3 or lay[-1] != 1 or set(fc1.fields) != {"out", "bias"} or \
                set(fc2.fields) != {"out", "bias"} or fc1.fields["bias"] != fc2.fields["bias"]:
            return None
        fields: dict[str, Any] = {"hidden": fc1.fields["out"]}
        if fc2.fields["out"] != self.canon(x).channels:
            fields["out"] = fc2.fields["out"]
        if kinds[1] != "gelu":
            fields["activation"] = kinds[1]
        if not fc1.fields["bias"]:
            fields["bias"] = False
        return fields

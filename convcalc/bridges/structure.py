"""Recover structure: the op list as nested spec items.

Takes: the translated ops (`Translator`). Gives: a list of items (`Leaf`, `Residual`,
`Branches`, `Split`, squeeze-excitation leaves) from the graph's post-dominators: residual
adds, concatenated branches, channel splits and gates.
"""

from __future__ import annotations

from typing import Any

from convcalc.bridges.graph import Dims, Node
from convcalc.bridges.items import Branches, Leaf, Residual, Split, leaf_count
from convcalc.bridges.ops import DEEPEST, SE_ACTS, Op, UnsupportedError
from convcalc.bridges.translate import Translator
from convcalc.limits import MAX_YAML_DEPTH


class Recoverer(Translator):
    """The structure-recovery pass."""

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
            self.regroup(join, groups, "concat")
        for i, op in enumerate(self.ops):
            op.pos = i

    def nested_outputs(self) -> None:
        """outputs(out, a, b) where out and b share a path of their own (a trunk with a head
        after it, another head before it): outputs(outputs(out, b), a), so that each join of
        outputs closes the paths that fork for it (the one going on stays first)."""
        work = [op for op in self.ops if op.role == "first"]
        while work:
            join = work.pop()
            sets = [self.all_ancestors(m) for m in join.inputs]
            shared = set.intersection(*sets)
            private = [a - shared for a in sets]
            group = list(range(len(join.inputs)))  # union-find: inputs that share private ops
            for i in range(len(join.inputs)):
                for j in range(i):
                    if private[i] & private[j]:
                        a, b = self.find(group, i), self.find(group, j)
                        group[max(a, b)] = min(a, b)
            members: dict[int, list[int]] = {}
            for i in range(len(join.inputs)):
                members.setdefault(self.find(group, i), []).append(i)
            if len(members) == len(join.inputs) or len(members) == 1:
                continue
            work += self.regroup(join, list(members.values()), "first")
        for i, op in enumerate(self.ops):
            op.pos = i

    def regroup(self, join: Op, groups: list[list[int]], kind: str) -> list[Op]:
        """Each group of two or more of `join`'s inputs becomes one join of `kind` of its own
        (placed before `join`, named after its first input), which `join` then takes in their
        place; the new joins, in order."""
        inputs: list[str] = []
        made: list[Op] = []
        for g in groups:
            if len(g) == 1:
                inputs.append(join.inputs[g[0]])
                continue
            name = f"{join.outputs[0]}#{g[0]}"
            sub = Op(kind, [join.inputs[i] for i in g], [name], join.node)
            self.producer[name] = sub
            self.ops.insert(self.ops.index(join), sub)
            first = sub.inputs[0]
            self.g.shapes[name] = self.concat_shape(sub.inputs) if kind == "concat" \
                else self.raw(first)
            self.layout[name] = self.layout.get(first, tuple(range(len(self.raw(first)))))
            inputs.append(name)
            made.append(sub)
        join.inputs = inputs
        return made

    @staticmethod
    def find(group: list[int], i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

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
        self.nested_outputs()
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
                items.append(Leaf(op.kind, dict(op.fields), op.comment, op))
                t = op.outputs[0]
                continue
            if len(cons) == 1 and cons[0].role == "split":
                items.append(self.split(t, cons[0], allowed))
            else:
                join = cons[0]
                for c in cons[1:]:
                    join = self.meet(join, c, self.ipdom)
                if join not in allowed or join.role not in ("add", "mul", "concat", "first"):
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
        if join.role in ("concat", "first"):
            return self.wrap(Branches(paths, join.role), join)
        if join.role == "mul":
            se = self.squeeze_excitation(paths)
            return self.wrap(se if se is not None else Branches(paths, "mul"), join)
        if len(paths) == 2:
            a, b = paths
            body, short = (a, b) if leaf_count(a) >= leaf_count(b) else (b, a)
            return self.wrap(Residual(body, short or None), join)
        return self.wrap(Branches(paths, "add"), join)

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
        item = Split(paths, None if equal else sizes)
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
        se = Leaf("se", fields, None, gate[0].op)
        se.parts = [x.op for x in gate]  # type: ignore[attr-defined]
        return se

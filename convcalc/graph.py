"""The network as a graph: one model for Mermaid, DOT, the HTML report and peak-memory liveness.

Derived from the expanded tree (`NetworkReport.tree`, convcalc.tree): a node per layer row, an
explicit node per merge (add, concat, mul) and per channel split, and an input node; an edge per
tensor handed from one node to the next, with its shape; a group per named level (a block, a
repeat copy, a branch path, a shortcut), nested as the spec nests them. Nodes are listed in
execution order: the order PyTorch runs the exported module in (`convcalc export`): a residual's
body, then its shortcut, then the add; a branch's paths in order, then the merge (an add or mul
of n paths is n − 1 binary operators, each right after the path it adds, as Python evaluates
`a + b + c`); a split, then its paths, then the concat.

`Graph.collapse(depth)` folds every level deeper than `depth` into one node (as `--depth` folds
table rows); `liveness(graph)` finds the peak activation memory of inference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from convcalc.report import NetworkReport
from convcalc.shapes import Shape
from convcalc.tree import Path, TBranches, TLayer, TNode, TResidual, TSeq, TSplit

Role = Literal["input", "layer", "merge", "split", "block"]

VIEW_KINDS = frozenset({"flatten", "dropout", "stochastic_depth", "identity", "to_tokens",
                        "to_map", "take_token"})
"""Layers whose output is their input's memory at inference: flatten is a view, dropout and
stochastic depth are the identity in eval mode (PyTorch returns the input tensor itself)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One step of the network. `level` is the named level it sits in (its group's path);
    `row` the index of its row in `NetworkReport.rows` (layers only); `rows` how many layer rows
    it stands for (a collapsed block: all of its layers; a merge: none)."""

    id: str
    role: Role
    kind: str
    path: str
    output: Shape
    params: int = 0
    macs: int = 0
    row: int | None = None
    rows: int = 0
    group: str | None = None
    level: Path = ()
    view: bool = False
    """Its output shares its input's memory (a view, or the identity at inference; a split's
    parts are views of its input)."""

    @property
    def name(self) -> str:
        """What to call it: the row path, or the level and the operation for a merge."""
        if self.role in ("merge", "split"):
            return f"{self.path} ({self.kind})" if self.path else self.kind
        return self.path or self.kind


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    shape: Shape


@dataclass(frozen=True, slots=True)
class Group:
    """A named level: drawn as a subgraph (Mermaid, DOT) or a collapsible block (HTML)."""

    id: str
    path: Path
    label: str
    parent: str | None

    @property
    def title(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Graph:
    name: str
    input: Shape
    output: Shape
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]
    depth: int | None = None
    """None: every layer is a node; N: levels deeper than N are folded into block nodes."""
    report: NetworkReport | None = field(default=None, repr=False, compare=False)

    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    @property
    def _by_id(self) -> dict[str, Node]:
        cached: dict[str, Node] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {n.id: n for n in self.nodes}
            self.__dict__["_index"] = cached
        return cached

    def children(self, group: str | None) -> Iterator[Node | Group]:
        """The nodes and sub-groups directly inside `group` (None: the top), in order."""
        yield from self._members().get(group, ())

    def _members(self) -> dict[str | None, list[Node | Group]]:
        cached: dict[str | None, list[Node | Group]] | None = self.__dict__.get("_members_")
        if cached is not None:
            return cached
        groups = {g.id: g for g in self.groups}
        members: dict[str | None, list[Node | Group]] = {}
        placed: set[str] = set()
        for n in self.nodes:
            members.setdefault(n.group, []).append(n)
            # a group appears in its parent where its first node runs
            g = n.group
            while g is not None and g not in placed:
                placed.add(g)
                parent = groups[g].parent
                members.setdefault(parent, []).append(groups[g])
                g = parent
        for items in members.values():  # a group's entry was appended after its first node
            items.sort(key=lambda m: self._first(m, members))
        self.__dict__["_members_"] = members
        return members

    def _first(self, member: Node | Group, members: dict[str | None, list[Node | Group]]) -> int:
        if isinstance(member, Node):
            return self._order[member.id]
        return min(self._first(m, members) for m in members.get(member.id, ())) \
            if members.get(member.id) else len(self.nodes)

    @property
    def _order(self) -> dict[str, int]:
        cached: dict[str, int] | None = self.__dict__.get("_order_")
        if cached is None:
            cached = {n.id: i for i, n in enumerate(self.nodes)}
            self.__dict__["_order_"] = cached
        return cached

    def collapse(self, depth: int) -> Graph:
        """Every level deeper than `depth` becomes one node: the level `depth` deep that holds
        it, with its layers' MACs and params summed and the level's own output shape (a
        concat's, a sum's). Depth 0 is the whole network as one node after the input."""
        if depth < 0:
            raise ValueError("depth must be ≥ 0")
        levels = self.report.levels if self.report is not None else {}
        groups_by_path = {g.path: g.id for g in self.groups}
        order: list[Node | Path] = []
        blocks: dict[Path, dict[str, int]] = {}
        rep: dict[str, str] = {}
        ids: dict[Path, str] = {}
        for n in self.nodes:
            if n.role == "input" or len(n.level) < depth:
                rep[n.id] = n.id
                order.append(n)
                continue
            key = n.level[:depth]
            sums = blocks.get(key)
            if sums is None:
                sums = blocks[key] = {"params": 0, "macs": 0, "rows": 0}
                ids[key] = f"b{len(ids)}"
                order.append(key)
            sums["params"] += n.params
            sums["macs"] += n.macs
            sums["rows"] += n.rows
            rep[n.id] = ids[key]
        nodes: list[Node] = []
        for item in order:
            if isinstance(item, Node):
                nodes.append(item)
                continue
            level = levels.get(item)
            sums = blocks[item]
            nodes.append(Node(
                id=ids[item], role="block",
                kind=level.label if level is not None else "network" if not item else "block",
                path=".".join(item) if item else self.name,
                output=level.output if level is not None else self.output,
                params=sums["params"], macs=sums["macs"], rows=sums["rows"],
                group=groups_by_path.get(item[:-1]) if item else None, level=item[:-1]))
        edges: list[Edge] = []
        seen: set[tuple[str, str]] = set()
        for e in self.edges:
            s, t = rep[e.source], rep[e.target]
            if s == t or (s, t) in seen:
                continue
            seen.add((s, t))
            edges.append(Edge(s, t, e.shape))
        kept = {g.id for g in self.groups if len(g.path) < depth}
        groups = tuple(g for g in self.groups if g.id in kept)
        return Graph(self.name, self.input, self.output, tuple(nodes), tuple(edges), groups,
                     depth, self.report)

def network_graph(report: NetworkReport) -> Graph:
    """The graph of an analysed network: every layer row a node, in execution order."""
    return _Builder(report).build()


class _Builder:
    def __init__(self, report: NetworkReport) -> None:
        self.report = report
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.groups: list[Group] = []
        self.group_stack: list[Group] = []

    def build(self) -> Graph:
        r = self.report
        start = self.add("input", "input", "input", r.input)
        self.walk(r.tree, (start, r.input))
        return Graph(r.name, r.input, r.output, tuple(self.nodes), tuple(self.edges),
                     tuple(self.groups), None, r)

    @property
    def level(self) -> Path:
        return self.group_stack[-1].path if self.group_stack else ()

    def add(self, role: Role, kind: str, path: str, output: Shape, **more: object) -> str:
        node_id = f"n{len(self.nodes)}"
        group = self.group_stack[-1].id if self.group_stack else None
        self.nodes.append(Node(node_id, role, kind, path, output, group=group, level=self.level,
                               **more))  # type: ignore[arg-type]
        return node_id

    def link(self, source: tuple[str, Shape], target: str) -> None:
        self.edges.append(Edge(source[0], target, source[1]))

    def walk(self, node: TNode, src: tuple[str, Shape]) -> tuple[str, Shape]:
        if isinstance(node, TLayer):
            row = self.report.rows[node.row]
            r = row.report
            made = self.add("layer", r.kind, row.path, node.output, params=r.params, macs=r.macs,
                            row=node.row, rows=1, view=r.kind in VIEW_KINDS)
            self.link(src, made)
            return made, node.output
        if isinstance(node, TSeq):
            opened = node.level and node.path != self.level
            if opened:
                parent = self.group_stack[-1].id if self.group_stack else None
                group = Group(f"g{len(self.groups)}", node.path, node.label, parent)
                self.groups.append(group)
                self.group_stack.append(group)
            try:
                for child in node.children:
                    src = self.walk(child, src)
            finally:
                if opened:
                    self.group_stack.pop()
            return src
        if isinstance(node, TResidual):
            body = self.walk(node.body, src)
            short = src if node.shortcut is None else self.walk(node.shortcut, src)
            return self.merge("add", node.path, node.output, [body, short])
        if isinstance(node, TBranches):
            if node.merge == "first":
                # the first path's tensor goes on (a view); the others end here, as outputs
                outs = [self.walk(p, src) for p in node.paths]
                made = self.add("merge", "first", ".".join(node.path), node.output, view=True)
                for s in outs:
                    self.link(s, made)
                return made, node.output
            if node.merge == "concat" or len(node.paths) < 3:
                outs = [self.walk(p, src) for p in node.paths]
                return self.merge(node.merge, node.path, node.output, outs)
            # `p0(x) + p1(x) + p2(x)` runs p0, p1, the first add, p2, the second add…: one
            # merge node per operator, as PyTorch evaluates the exported module
            acc = self.walk(node.paths[0], src)
            for p in node.paths[1:]:
                out = self.walk(p, src)
                acc = self.merge(node.merge, node.path, _broadcast(acc[1], out[1]), [acc, out])
            return acc
        assert isinstance(node, TSplit)
        split = self.add("split", "split", ".".join(node.path), node.input, view=True)
        self.link(src, split)
        outs = [self.walk(p, (split, p.input)) for p in node.paths]
        return self.merge("concat", node.path, node.output, outs)

    def merge(self, kind: str, path: Path, output: Shape,
              sources: list[tuple[str, Shape]]) -> tuple[str, Shape]:
        # one path added to nothing is that path's tensor (no operator runs); a concat copies
        made = self.add("merge", kind, ".".join(path), output,
                        view=len(sources) == 1 and kind != "concat")
        for s in sources:
            self.link(s, made)
        return made, output


def _broadcast(a: Shape, b: Shape) -> Shape:
    """The shape of a + b or a · b under PyTorch's broadcasting (each axis equal or 1)."""
    return Shape(max(a.channels, b.channels),
                 tuple(max(x, y) for x, y in zip(a.spatial, b.spatial, strict=True)))


# --- liveness ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Alive:
    """A tensor held in memory: the node that wrote it and its elements."""

    node: Node
    elements: int


@dataclass(frozen=True)
class Liveness:
    """Peak activation memory of inference, batch 1, in elements (× the dtype's size for bytes).

    Each node's output is a new tensor (a view's is its input's), kept until its last consumer
    has run (the network's output until the end). While a node runs, its inputs and its output
    are alive together with every tensor a later node still needs (a residual's input, a
    branch's other paths, a concat's skips). Temporaries inside one layer (a composite's parts)
    are not tensors of the graph and are not counted; neither are the weights."""

    nodes: tuple[Node, ...]
    during: tuple[int, ...]
    """Elements alive while each node runs (its inputs, its output, everything held)."""
    after: tuple[int, ...]
    """Elements alive after each node has run: the timeline."""
    peak: int
    peak_index: int
    alive: tuple[Alive, ...]
    """The tensors alive at the peak, largest first."""

    @property
    def peak_node(self) -> Node:
        return self.nodes[self.peak_index]

    def peak_bytes(self, dtype_bytes: int) -> int:
        return self.peak * dtype_bytes

    def to_dict(self) -> dict[str, object]:
        return {
            "peak_elements": self.peak,
            "at": self.peak_node.name,
            "alive": [{"node": a.node.name, "elements": a.elements} for a in self.alive],
            "timeline": [{"node": n.name, "during": d, "after": a}
                         for n, d, a in zip(self.nodes, self.during, self.after, strict=True)],
        }


def liveness(graph: Graph) -> Liveness:
    """Walk the nodes in execution order, each tensor alive from the node that writes it to its
    last consumer; the peak is the largest sum of alive tensors while a node runs."""
    nodes = graph.nodes
    n = len(nodes)
    index = {node.id: i for i, node in enumerate(nodes)}
    inputs: list[list[int]] = [[] for _ in nodes]
    for e in graph.edges:
        inputs[index[e.target]].append(index[e.source])
    buffer = list(range(n))
    for i, node in enumerate(nodes):
        if node.view and inputs[i]:
            buffer[i] = buffer[inputs[i][0]]
    last = [-1] * n
    for i in range(n):
        for j in inputs[i]:
            b = buffer[j]
            last[b] = max(last[b], i)
    if n:
        last[buffer[n - 1]] = n  # the network's output outlives every node
    size = [node.output.elements if buffer[i] == i else 0 for i, node in enumerate(nodes)]
    starts = [0] * (n + 2)
    ends_at = [0] * (n + 2)
    for b in range(n):
        if buffer[b] != b:
            continue
        end = max(last[b], b)
        starts[b] += size[b]
        ends_at[end] += size[b]
    during: list[int] = []
    after: list[int] = []
    alive = 0
    for i in range(n):
        alive += starts[i]
        during.append(alive)
        alive -= ends_at[i]
        after.append(alive)
    peak_index = max(range(n), key=lambda i: (during[i], -i)) if n else 0
    held = [Alive(nodes[b], size[b]) for b in range(n)
            if buffer[b] == b and b <= peak_index <= max(last[b], b) and size[b]]
    held.sort(key=lambda a: -a.elements)
    return Liveness(nodes, tuple(during), tuple(after), during[peak_index] if n else 0,
                    peak_index, tuple(held))

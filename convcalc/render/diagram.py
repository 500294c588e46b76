"""The network graph as Mermaid (renders where Markdown renders Mermaid: GitHub) and as Graphviz
DOT. Both draw the one graph model (convcalc/graph.py): levels as nested subgraphs, each node
labelled with its kind, output shape, params and MACs, each edge with the shape of the tensor it carries.
"""

from __future__ import annotations

import re

from convcalc.graph import Graph, Group, Node
from convcalc.render.columns import si, thousands

MERMAID_MAX_TEXT = 50_000
MERMAID_MAX_EDGES = 500
"""Mermaid's defaults (`maxTextSize`, `maxEdges`), which GitHub keeps: past them a diagram shows
an error instead of the graph."""

MERGE_SYMBOLS = {"add": "+", "concat": "concat", "mul": "×", "split": "split",
                 "first": "outputs"}


def node_lines(node: Node) -> list[str]:
    """A node's label, line by line: its name, kind and output shape, params and MACs (and
    layers folded)."""
    shape = node.output.channels_last()
    if node.role == "input":
        return ["input", shape]
    if node.role in ("merge", "split"):
        head = MERGE_SYMBOLS.get(node.kind, node.kind)
        return [head if head == node.kind else f"{head} {node.kind}", shape]
    lines = [node.path or node.kind, f"{node.kind} · {shape}",
             f"{si(node.params)} params · {si(node.macs)} MACs"]
    if node.role == "block":
        lines[-1] += f" · {thousands(node.rows)} layers"
    return lines


def group_title(group: Group) -> str:
    return f"{group.title} · {group.label}" if group.label != group.path[-1] else group.title


# --- Mermaid ----------------------------------------------------------------------------------

_MERMAID_SAFE = frozenset(" .,:·×→-+=/%'_")


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: every character that Mermaid's grammar or its
    HTML labels could read (quotes, brackets, pipes, #, <, &, ;) as an entity code (#34;)."""
    return "".join(ch if ch.isalnum() or ch in _MERMAID_SAFE else f"#{ord(ch)};" for ch in text)


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br>".join(mermaid_text(line) for line in lines) + '"'


def _mermaid_node(node: Node, prefix: str = "", extra: list[str] | None = None) -> str:
    label = _mermaid_label([*node_lines(node), *(extra or [])])
    node_id = prefix + node.id
    if node.role == "input":
        return f"{node_id}([{label}])"
    if node.role == "merge":
        return f"{node_id}(({label}))"
    if node.role == "split":
        return f"{node_id}[/{label}\\]"
    if node.role == "block":
        return f"{node_id}[[{label}]]"
    return f"{node_id}[{label}]"


def to_mermaid(graph: Graph) -> str:
    """A `flowchart TD`: subgraphs for levels, entity-escaped quoted labels, unique ids."""
    title = f"{graph.name}: {graph.input.channels_last()} → {graph.output.channels_last()}"
    lines = ["---", f"title: {_yaml_title(title)}", "---", "flowchart TD",
             *_mermaid_body(graph, "", "  ", {}), *_MERMAID_CLASSES]
    return "\n".join(lines) + "\n"


_MERMAID_CLASSES = ["  classDef input fill:#ffffff,stroke:#333333,stroke-width:2px",
                    "  classDef merge fill:#eeeeee,stroke:#333333",
                    "  classDef split fill:#eeeeee,stroke:#333333",
                    "  classDef block fill:#f4f4f4,stroke:#333333,stroke-width:2px"]


def _mermaid_body(graph: Graph, prefix: str, indent: str, extra: dict[str, list[str]]) -> list[str]:
    """The graph's nodes, subgraphs and edges, ids prefixed (`prefix` keeps two graphs in one
    diagram apart), `extra` label lines per node id."""
    lines: list[str] = []

    def emit(group: str | None, indent: str) -> None:
        for member in graph.children(group):
            if isinstance(member, Node):
                lines.append(f"{indent}{_mermaid_node(member, prefix, extra.get(member.id))}")
                if member.role != "layer":
                    lines.append(f"{indent}class {prefix}{member.id} {member.role}")
            else:
                lines.append(f'{indent}subgraph {prefix}{member.id}'
                             f'["{mermaid_text(group_title(member))}"]')
                emit(member.id, indent + "  ")
                lines.append(f"{indent}end")

    emit(None, indent)
    for e in graph.edges:
        lines.append(f'{indent}{prefix}{e.source} -->|"{mermaid_text(e.shape.channels_last())}"| '
                     f'{prefix}{e.target}')
    return lines


def _yaml_title(text: str) -> str:
    """The front-matter title as a YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mermaid_warning(text: str) -> str | None:
    """Why GitHub would not draw this Mermaid diagram (too many edges or characters), or None."""
    edges = sum(1 for line in text.splitlines() if " -->" in line)
    problems = []
    if edges > MERMAID_MAX_EDGES:
        problems.append(f"{edges:,} edges (at most {MERMAID_MAX_EDGES})")
    if len(text) > MERMAID_MAX_TEXT:
        problems.append(f"{len(text):,} characters (at most {MERMAID_MAX_TEXT:,})")
    if not problems:
        return None
    return (f"the diagram has {' and '.join(problems)}: Mermaid's defaults (GitHub's) will not "
            "draw it; fold blocks with --depth N")


# --- DOT --------------------------------------------------------------------------------------

def dot_text(text: str) -> str:
    """A DOT double-quoted string's content: backslash and quote escaped (so no \\N, \\G
    escapes), control characters dropped."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", "", out)


def _dot_node(node: Node, prefix: str = "", extra: list[str] | None = None) -> str:
    label = "\\n".join(dot_text(line) for line in [*node_lines(node), *(extra or [])])
    attrs = {"input": ', shape=oval, style="filled", fillcolor="#ffffff"',
             "merge": ', shape=circle, fillcolor="#eeeeee"',
             "split": ', shape=invtrapezium, fillcolor="#eeeeee"',
             "block": ', shape=box3d, fillcolor="#f4f4f4"',
             "layer": ""}[node.role]
    return f'{prefix}{node.id} [label="{label}"{attrs}];'


_DOT_HEAD = ['  node [shape=box, style="rounded,filled", fillcolor="#fafafa", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph: clusters for levels, labels as quoted strings."""
    title = f"{graph.name}: {graph.input.channels_last()} → {graph.output.channels_last()}"
    lines = [f'digraph "{dot_text(graph.name)}" {{',
             f'  graph [label="{dot_text(title)}", labelloc=t, fontname="Helvetica", '
             'rankdir=TB, newrank=true];', *_DOT_HEAD, *_dot_body(graph, "", "  ", {}), "}"]
    return "\n".join(lines) + "\n"


def _dot_body(graph: Graph, prefix: str, indent: str, extra: dict[str, list[str]]) -> list[str]:
    """The graph's nodes, clusters and edges, ids prefixed, `extra` label lines per node id."""
    lines: list[str] = []

    def emit(group: str | None, indent: str) -> None:
        for member in graph.children(group):
            if isinstance(member, Node):
                lines.append(f"{indent}{_dot_node(member, prefix, extra.get(member.id))}")
            else:
                lines.append(f"{indent}subgraph cluster_{prefix}{member.id} {{")
                lines.append(f'{indent}  label="{dot_text(group_title(member))}"; '
                             'style="rounded"; color="#888888";')
                emit(member.id, indent + "  ")
                lines.append(f"{indent}}}")

    emit(None, indent)
    for e in graph.edges:
        lines.append(f'{indent}{prefix}{e.source} -> {prefix}{e.target} '
                     f'[label="{dot_text(e.shape.channels_last())}"];')
    return lines


# --- two networks side by side (convcalc diff) ---------------------------------------------

def _deltas(mine: Graph, other: Graph, side: str) -> dict[str, list[str]]:
    """Per layer or block node: its MACs and params against the node at the same path in the
    other graph (`Δ MACs +1.20 M, params +216 vs a`), or that the other has no such path."""
    theirs = {n.path: n for n in other.nodes if n.role in ("layer", "block") and n.path}
    vs = "a" if side == "b" else "b"
    out: dict[str, list[str]] = {}
    for n in mine.nodes:
        if n.role not in ("layer", "block") or not n.path:
            continue
        match = theirs.get(n.path)
        if match is None:
            out[n.id] = [f"only in {side}"]
        else:
            parts = [f"{what} {'+' if d > 0 else '−'}{si(abs(d))}"
                     for what, d in (("MACs", n.macs - match.macs),
                                     ("params", n.params - match.params)) if d]
            if parts:
                out[n.id] = [f"Δ {', '.join(parts)} vs {vs}"]
    return out


def diff_mermaid(a: Graph, b: Graph) -> str:
    """Both networks in one flowchart, side by side (`a` and `b` subgraphs, ids prefixed), each
    node that differs from the other's at the same path labelled with the MACs difference."""
    title = f"{a.name} (a) vs {b.name} (b)"
    lines = ["---", f"title: {_yaml_title(title)}", "---", "flowchart TD"]
    for side, graph, other in (("a", a, b), ("b", b, a)):
        lines.append(f'  subgraph {side}["{mermaid_text(f"{side}: {graph.name}")}"]')
        lines += _mermaid_body(graph, side, "    ", _deltas(graph, other, side))
        lines.append("  end")
    return "\n".join([*lines, *_MERMAID_CLASSES]) + "\n"


def diff_dot(a: Graph, b: Graph) -> str:
    """Both networks in one digraph, each in its cluster, labelled as `diff_mermaid`."""
    title = f"{a.name} (a) vs {b.name} (b)"
    lines = ['digraph "diff" {',
             f'  graph [label="{dot_text(title)}", labelloc=t, fontname="Helvetica", '
             'rankdir=TB];', *_DOT_HEAD]
    for side, graph, other in (("a", a, b), ("b", b, a)):
        lines.append(f"  subgraph cluster_{side} {{")
        lines.append(f'    label="{dot_text(f"{side}: {graph.name}")}"; style="rounded";')
        lines += _dot_body(graph, side, "    ", _deltas(graph, other, side))
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"

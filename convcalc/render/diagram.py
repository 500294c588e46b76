"""The network graph as Mermaid (renders where Markdown renders Mermaid: GitHub) and as Graphviz
DOT. Both draw the one graph model (convcalc/graph.py): levels as nested subgraphs, each node
labelled with its kind, output shape and MACs, each edge with the shape of the tensor it carries.
"""

from __future__ import annotations

from convcalc.graph import Graph, Group, Node
from convcalc.render.columns import si, thousands

MERMAID_MAX_TEXT = 50_000
MERMAID_MAX_EDGES = 500
"""Mermaid's defaults (`maxTextSize`, `maxEdges`), which GitHub keeps: past them a diagram shows
an error instead of the graph."""

MERGE_SYMBOLS = {"add": "+", "concat": "concat", "mul": "×", "split": "split"}


def node_lines(node: Node) -> list[str]:
    """A node's label, line by line: its name, kind and output shape, MACs (and layers folded)."""
    shape = node.output.channels_last()
    if node.role == "input":
        return ["input", shape]
    if node.role in ("merge", "split"):
        head = MERGE_SYMBOLS.get(node.kind, node.kind)
        return [head if head == node.kind else f"{head} {node.kind}", shape]
    lines = [node.path or node.kind, f"{node.kind} · {shape}", f"{si(node.macs)} MACs"]
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


def _mermaid_node(node: Node) -> str:
    label = _mermaid_label(node_lines(node))
    if node.role == "input":
        return f"{node.id}([{label}])"
    if node.role == "merge":
        return f"{node.id}(({label}))"
    if node.role == "split":
        return f"{node.id}[/{label}\\]"
    if node.role == "block":
        return f"{node.id}[[{label}]]"
    return f"{node.id}[{label}]"


def to_mermaid(graph: Graph) -> str:
    """A `flowchart TD`: subgraphs for levels, entity-escaped quoted labels, unique ids."""
    title = f"{graph.name}: {graph.input.channels_last()} → {graph.output.channels_last()}"
    lines = ["---", f"title: {_yaml_title(title)}", "---", "flowchart TD"]

    def emit(group: str | None, indent: str) -> None:
        for member in graph.children(group):
            if isinstance(member, Node):
                lines.append(f"{indent}{_mermaid_node(member)}")
                if member.role != "layer":
                    lines.append(f"{indent}class {member.id} {member.role}")
            else:
                lines.append(f'{indent}subgraph {member.id}["{mermaid_text(group_title(member))}"]')
                emit(member.id, indent + "  ")
                lines.append(f"{indent}end")

    emit(None, "  ")
    for e in graph.edges:
        lines.append(f'  {e.source} -->|"{mermaid_text(e.shape.channels_last())}"| {e.target}')
    lines += ["  classDef input fill:#ffffff,stroke:#333333,stroke-width:2px",
              "  classDef merge fill:#eeeeee,stroke:#333333",
              "  classDef split fill:#eeeeee,stroke:#333333",
              "  classDef block fill:#f4f4f4,stroke:#333333,stroke-width:2px"]
    return "\n".join(lines) + "\n"


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
    return "".join(ch for ch in out if ch >= " ")


def _dot_node(node: Node) -> str:
    label = "\\n".join(dot_text(line) for line in node_lines(node))
    attrs = {"input": ', shape=oval, style="filled", fillcolor="#ffffff"',
             "merge": ', shape=circle, fillcolor="#eeeeee"',
             "split": ', shape=invtrapezium, fillcolor="#eeeeee"',
             "block": ', shape=box3d, fillcolor="#f4f4f4"',
             "layer": ""}[node.role]
    return f'{node.id} [label="{label}"{attrs}];'


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph: clusters for levels, labels as quoted strings."""
    title = f"{graph.name}: {graph.input.channels_last()} → {graph.output.channels_last()}"
    lines = [f'digraph "{dot_text(graph.name)}" {{',
             f'  graph [label="{dot_text(title)}", labelloc=t, fontname="Helvetica", '
             'rankdir=TB, newrank=true];',
             '  node [shape=box, style="rounded,filled", fillcolor="#fafafa", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']

    def emit(group: str | None, indent: str) -> None:
        for member in graph.children(group):
            if isinstance(member, Node):
                lines.append(f"{indent}{_dot_node(member)}")
            else:
                lines.append(f"{indent}subgraph cluster_{member.id} {{")
                lines.append(f'{indent}  label="{dot_text(group_title(member))}"; '
                             'style="rounded"; color="#888888";')
                emit(member.id, indent + "  ")
                lines.append(f"{indent}}}")

    emit(None, "  ")
    for e in graph.edges:
        lines.append(f'  {e.source} -> {e.target} [label="{dot_text(e.shape.channels_last())}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"

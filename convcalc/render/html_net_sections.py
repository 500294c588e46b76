"""The HTML report's sections of a network: receptive-field growth, activation memory, graph.

Takes a NetworkReport's rows, the graph's `Liveness` and the `Graph` (convcalc.graph); gives
one `Section` each: the chart's data, its caption and its numbers as a table, or the
collapsible graph's items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from convcalc.graph import Graph, Group, Liveness, Node
from convcalc.render.columns import si, thousands
from convcalc.render.html_charts import (
    INK,
    SECOND,
    as_float,
    axes_names,
    chart_axis,
    chart_layout,
    powers_of_two_ticks,
)
from convcalc.render.html_page import Section, macro_html
from convcalc.render.html_tables import figure, numbers_table
from convcalc.report import NetworkReport


def rf_section(report: NetworkReport, table_rows: Sequence[Mapping[str, Any]]) -> Section:
    """Receptive-field size and jump after each row (`table_rows`: convcalc.render.rows'
    net_rows of the report)."""
    names = axes_names(report.input.rank)
    if not names:
        return Section("rf", "Receptive field", macro_html("paragraph", "The input is a vector: no "
                                                      "spatial axes, no receptive field."))
    rows = [r["receptive_field"] for r in table_rows]
    x = list(range(1, len(rows) + 1))
    paths = [r["path"] for r in table_rows]
    shown_axes = [i for i in range(len(names))
                  if i == 0 or any(rf["size"][i] != rf["size"][0] or rf["jump"][i] != rf["jump"][0]
                                   for rf in rows)]
    data: list[dict[str, Any]] = []
    dashes = ["solid", "dot", "dashdot"]
    symbols = ["circle", "square", "triangle-up"]
    for k, i in enumerate(shown_axes):
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"size ({names[i]})",
                     "x": x, "y": [rf["size"][i] for rf in rows], "customdata": paths,
                     "line": {"color": INK, "dash": dashes[k % 3], "width": 2},
                     "marker": {"symbol": symbols[k % 3], "size": 5},
                     "hovertemplate": "%{customdata}: %{y}<extra>size " + names[i] + "</extra>"})
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"jump ({names[i]})",
                     "x": x, "y": [as_float(rf["jump"][i]) for rf in rows], "yaxis": "y2",
                     "customdata": [f"{p}: {rf['jump'][i]}" for p, rf in zip(paths, rows,
                                                                                strict=True)],
                     "line": {"color": SECOND, "dash": "dash", "width": 1.5},
                     "marker": {"symbol": "diamond-open", "size": 5},
                     "hovertemplate": "%{customdata}<extra>jump " + names[i] + "</extra>"})
    sizes = report.input.spatial
    shapes = []
    annotations = []
    for k, i in enumerate(shown_axes):
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": sizes[i], "y1": sizes[i],
                       "line": {"color": "#000000", "dash": "longdash", "width": 1.5}})
        annotations.append({"xref": "paper", "x": 0.01 + 0.2 * k, "y": sizes[i], "yref": "y",
                            "text": f"input {names[i]} = {sizes[i]}", "showarrow": False,
                            "yanchor": "bottom", "xanchor": "left",
                            "bgcolor": "rgba(255,255,255,0.8)"})
    layout = chart_layout(height=420, shapes=shapes, annotations=annotations,
                     xaxis=chart_axis("layer (execution order)"),
                     yaxis=chart_axis("receptive field size (input pixels)", rangemode="tozero"),
                     yaxis2=chart_axis("jump (input pixels between outputs)", overlaying="y",
                                  side="right", type="log", showgrid=False,
                                  **powers_of_two_ticks([as_float(rf["jump"][i]) for rf in rows
                                                    for i in shown_axes])))
    last = rows[-1]
    caption = (f"Receptive field size (solid, left scale) and jump (dashed, right, log scale) "
               f"after each of the {len(rows):,} layers; the long-dashed line marks the input "
               f"({report.input.channels_last()}). The network's field: "
               f"{'×'.join(str(s) for s in last['size'])}, jump "
               f"{'×'.join(str(j) for j in last['jump'])}.")
    numbers = numbers_table("receptive field per layer",
                            ["#", "layer", "size", "jump", "start"],
                            ((i, p, "×".join(map(str, rf["size"])), "×".join(map(str, rf["jump"])),
                              "×".join(map(str, rf["start"])))
                             for i, p, rf in zip(x, paths, rows, strict=True)))
    fig = {"id": "chart-rf", "data": data, "layout": layout}
    return Section("rf", "Receptive field growth",
                   figure("chart-rf", caption, numbers, "Line chart: " + caption), (fig,))


def memory_section(live: Liveness, dtype: tuple[str, int], batch: int = 1) -> Section:
    """The activation-memory timeline (elements per sample) and what is alive at the peak;
    bytes at the batch and dtype given."""
    nodes = live.nodes
    x = list(range(len(nodes)))
    names = [n.name for n in nodes]
    peak = live.peak
    name, size = dtype
    data = [
        {"type": "scatter", "mode": "lines", "name": "alive while the step runs",
         "x": x, "y": list(live.during), "customdata": names, "line": {"color": INK, "width": 2},
         "hovertemplate": "%{customdata}: %{y:,} elements<extra>while it runs</extra>"},
        {"type": "scatter", "mode": "lines", "name": "held after the step (dashed)",
         "x": x, "y": list(live.after), "customdata": names, "line": {"color": SECOND,
                                                                       "dash": "dash",
                                                                       "shape": "hv"},
         "hovertemplate": "%{customdata}: %{y:,} elements<extra>after it</extra>"},
        {"type": "scatter", "mode": "markers", "name": "peak (star)", "x": [live.peak_index],
         "y": [peak], "marker": {"symbol": "star", "size": 16, "color": "#000000"},
         "hovertemplate": f"peak: {peak:,} elements<extra></extra>"},
    ]
    layout = chart_layout(height=400, xaxis=chart_axis("step (execution order; merges are steps)"),
                     yaxis=chart_axis("activation elements alive", rangemode="tozero"),
                     annotations=[{"x": live.peak_index, "y": peak, "text":
                                   f"peak {si(peak)} elements at {escape(live.peak_node.name)}",
                                   "showarrow": True, "arrowhead": 2, "ax": 40, "ay": -30,
                                   "bgcolor": "rgba(255,255,255,0.85)"}])
    caption = (f"Activation memory of inference, per sample: elements alive while each step "
               f"runs (solid) and held after it (dashed). Peak {thousands(peak)} elements "
               f"({si(peak * size * batch)}B in {name}"
               + (f" at batch {batch}" if batch != 1 else "")
               + f") while {live.peak_node.name} runs.")
    numbers = numbers_table("alive elements per step", ["#", "step", "while it runs", "after"],
                            ([i, n, f"{d:,}", f"{a:,}"] for i, n, d, a in
                             zip(x, names, live.during, live.after, strict=True)))
    alive = [(a.node.name, f"{a.elements:,}", a.node.output.channels_last()) for a in live.alive]
    body = macro_html("memory", figure("chart-memory", caption, numbers, "Line chart: " + caption),
                 alive)
    fig = {"id": "chart-memory", "data": data, "layout": layout}
    return Section("memory", "Activation memory", body, (fig,))


def _group_sums(graph: Graph) -> dict[str, list[int]]:
    """Per group: [MACs, params, layers], summed over everything inside it."""
    parents = {g.id: g.parent for g in graph.groups}
    sums = {g.id: [0, 0, 0] for g in graph.groups}
    for n in graph.nodes:
        g = n.group
        while g is not None:
            s = sums[g]
            s[0] += n.macs
            s[1] += n.params
            s[2] += n.rows
            g = parents[g]
    return sums


def graph_section(graph: Graph, depth: int | None) -> Section:
    """The graph as nested, collapsible blocks: a box per node in execution order, each edge
    written as the shape it carries; where a node reads something other than the step just
    before it, it says what (a link), and paths that start from the same tensor sit side by
    side."""
    report = graph.report
    levels = report.levels if report is not None else {}
    sums = _group_sums(graph)
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    incoming: dict[str, list[tuple[str, str]]] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        incoming[e.target].append((e.source, e.shape.channels_last()))

    def first_node(member: Node | Group) -> Node:
        while isinstance(member, Group):
            member = next(iter(graph.children(member.id)))
        return member

    def entry(member: Node | Group) -> str | None:
        edges = incoming[first_node(member).id]
        return edges[0][0] if edges else None

    def node_item(n: Node) -> dict[str, Any]:
        i = order[n.id]
        edges = incoming[n.id]
        follows = len(edges) == 1 and i and edges[0][0] == graph.nodes[i - 1].id
        counted = n.role in ("layer", "block")
        title = n.name if n.role != "merge" else f"{n.kind} ({n.path or graph.name})"
        label = {"merge": {"add": "+", "mul": "×", "concat": "concat",
                           "first": "outputs"}.get(n.kind, n.kind),
                 "split": "split", "input": "input"}.get(n.role, n.path or n.kind)
        return {"node": {
            "id": n.id, "role": n.role, "title": title, "label": label, "kind": n.kind,
            "shape": n.output.channels_last(),
            "edge": edges[0][1] if follows else None,
            "links": [] if follows else [(s, graph.node(s).name, shape) for s, shape in edges],
            "macs": si(n.macs) if counted else None, "params": si(n.params)}}

    def group_item(g: Group) -> dict[str, Any]:
        macs, params, layers = sums[g.id]
        level = levels.get(g.path)
        shape = f" → {level.output.channels_last()}" if level is not None else ""
        return {"group": {
            "id": g.id, "open": depth is None or len(g.path) < depth, "title": g.title,
            "label": g.label if g.label != g.path[-1] else "",
            "summary": f"{si(macs)} MACs, {si(params)} params, {layers:,} layers{shape}",
            "members": members(g.id)}}

    def members(group: str | None) -> list[dict[str, Any]]:
        items = list(graph.children(group))
        out: list[dict[str, Any]] = []
        k = 0
        while k < len(items):
            item = items[k]
            if isinstance(item, Group):
                run = [item]
                while (k + len(run) < len(items) and isinstance(items[k + len(run)], Group)
                       and entry(items[k + len(run)]) == entry(item)):
                    run.append(items[k + len(run)])  # type: ignore[arg-type]
                if len(run) > 1:
                    out.append({"parallel": [group_item(g)["group"] for g in run]})
                else:
                    out.append(group_item(item))
                k += len(run)
            else:
                out.append(node_item(item))
                k += 1
        return out

    toolbar = (f"{len(graph.nodes):,} steps ({sum(1 for n in graph.nodes if n.role == 'layer'):,} "
               f"layers, {sum(1 for n in graph.nodes if n.role in ('merge', 'split')):,} merges "
               f"and splits), {len(graph.edges):,} edges, {len(graph.groups):,} blocks"
               + (f"; blocks deeper than {depth} start folded" if depth is not None else "")
               + ".")
    return Section("graph", "Graph", macro_html("graph", toolbar, members(None)))

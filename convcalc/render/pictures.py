"""The drawing formats: the network graph as Mermaid or DOT, and the offline HTML report."""

from __future__ import annotations

from typing import Any

from convcalc.render.formats import Format
from convcalc.report import LayerReport, NetworkReport


def net_picture(report: NetworkReport, fmt: Format, *, depth: int | None = None,
                top_k: int | None = None, explain: bool = False, costing: Any = None,
                view: Any = None, training: Any = None) -> str:
    """`convcalc net --format mermaid|dot|html`; `costing` (--dtype, --device), `view`
    (--columns, --units) and `training` (--train's TrainingReport) for html."""
    from convcalc.graph import network_graph

    graph = network_graph(report)
    if fmt is Format.html:
        from convcalc.render.html import net_html

        return net_html(report, graph, depth=depth, explain=explain, costing=costing, view=view,
                        training=training)
    from convcalc.render import diagram

    shown = graph if depth is None else graph.collapse(depth)
    return diagram.to_mermaid(shown) if fmt is Format.mermaid else diagram.to_dot(shown)


def diff_picture(diff: Any, fmt: Format) -> str:
    """`convcalc diff --format mermaid|dot`: both networks' graphs at the diff's depth, side by
    side, the nodes that differ labelled with the MACs difference."""
    from convcalc.graph import network_graph
    from convcalc.render import diagram

    a, b = (network_graph(r).collapse(diff.depth) for r in (diff.a, diff.b))
    return diagram.diff_mermaid(a, b) if fmt is Format.mermaid else diagram.diff_dot(a, b)


def layer_picture(report: LayerReport, fmt: Format, *, explain: bool = False,
                  costing: Any = None, view: Any = None) -> str:
    """`convcalc layer --format html`."""
    from convcalc.render.html import layer_html

    return layer_html(report, explain=explain, costing=costing, view=view)


def compare_picture(comparison: Any, fmt: Format, *, parts: bool = False,
                    explain: bool = False, costing: Any = None, view: Any = None) -> str:
    """`convcalc compare --format html`."""
    from convcalc.render.html import compare_html

    return compare_html(comparison, parts=parts, explain=explain, costing=costing, view=view)

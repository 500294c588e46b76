"""The drawing formats: the network graph as Mermaid or DOT, and the offline HTML report."""

from __future__ import annotations

from typing import Any

from convcalc.errors import SpecError
from convcalc.render.formats import PICTURES, Format
from convcalc.report import LayerReport, NetworkReport


def _graph_only(fmt: Format, command: str) -> None:
    if fmt in (Format.mermaid, Format.dot):
        raise SpecError(f"--format {fmt.value} draws a network's graph: use it with `convcalc "
                        f"net`; `convcalc {command}` draws with --format html")


def net_picture(report: NetworkReport, fmt: Format, *, depth: int | None = None,
                top_k: int | None = None, explain: bool = False, costing: Any = None,
                view: Any = None, training: Any = None) -> str:
    """`convcalc net --format mermaid|dot|html`; `costing` (--dtype, --device), `view`
    (--columns, --units) and `training` (--train's TrainingReport) for html."""
    if top_k is not None:
        raise SpecError(f"--top is not used with --format {fmt.value}: the graph shows every "
                        "layer (fold blocks with --depth N)")
    from convcalc.graph import network_graph

    graph = network_graph(report)
    if fmt is Format.html:
        from convcalc.render.html import net_html

        return net_html(report, graph, depth=depth, explain=explain, costing=costing, view=view,
                        training=training)
    if explain:
        raise SpecError(f"--explain is not used with --format {fmt.value} (formulas are text: "
                        "use --format table, markdown or html)")
    from convcalc.render import diagram

    shown = graph if depth is None else graph.collapse(depth)
    return diagram.to_mermaid(shown) if fmt is Format.mermaid else diagram.to_dot(shown)


def diff_picture(diff: Any, fmt: Format) -> str:
    """`convcalc diff --format mermaid|dot`: both networks' graphs at the diff's depth, side by
    side, the nodes that differ labelled with the MACs difference."""
    if fmt is Format.html:
        raise SpecError("--format html is not used with `convcalc diff`: draw the two graphs "
                        "with --format mermaid or dot, or open each network's report (convcalc "
                        "net SPEC --format html)")
    from convcalc.graph import network_graph
    from convcalc.render import diagram

    a, b = (network_graph(r).collapse(diff.depth) for r in (diff.a, diff.b))
    return diagram.diff_mermaid(a, b) if fmt is Format.mermaid else diagram.diff_dot(a, b)


def layer_picture(report: LayerReport, fmt: Format, *, explain: bool = False,
                  costing: Any = None, view: Any = None) -> str:
    """`convcalc layer --format html`."""
    _graph_only(fmt, "layer")
    from convcalc.render.html import layer_html

    return layer_html(report, explain=explain, costing=costing, view=view)


def compare_picture(comparison: Any, fmt: Format, *, parts: bool = False,
                    explain: bool = False, costing: Any = None, view: Any = None) -> str:
    """`convcalc compare --format html`."""
    _graph_only(fmt, "compare")
    from convcalc.render.html import compare_html

    return compare_html(comparison, parts=parts, explain=explain, costing=costing, view=view)


def graph_options(fmt: Format, given: dict[str, object]) -> None:
    """Options a drawing format does not show are refused in one line, before any work:
    Mermaid and DOT draw the graph (no bytes, no time, no peer counts); the HTML report shows
    bytes and time and takes --columns/--units, but not the peer tools' counts.
    `given`: {option: its value}."""
    if fmt not in PICTURES:
        return
    hidden = (("--conventions", "--convention") if fmt is Format.html
              else tuple(given))
    used = [o for o in hidden if given.get(o) not in (None, False, [])]
    if used:
        textual = fmt is Format.html or any(o in ("--conventions", "--convention", "--columns")
                                            for o in used)
        shows = "table, markdown, csv, latex or json" if textual else "html, table or json"
        if used == ["--columns"]:  # the HTML report takes it; JSON keeps every field
            shows = "table, markdown, csv, latex or html"
        raise SpecError(f"{', '.join(used)} {'is' if len(used) == 1 else 'are'} not shown by "
                        f"--format {fmt.value}: use --format {shows}")


def text_only(fmt: Format, command: str) -> None:
    """Commands whose results are text: the drawing formats are refused in one line."""
    if fmt in PICTURES:
        raise SpecError(f"--format {fmt.value} is not used with `convcalc {command}` (table, "
                        "json, csv, markdown or latex)")

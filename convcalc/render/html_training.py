"""The HTML report's training-step section (`net --train`): memory in use after each op.

Takes a TrainingReport (convcalc.training); gives the `Section` of its timeline (forward, then
backward, the boundary and the peak marked) and the summary's training totals.
"""

from __future__ import annotations

from html import escape
from typing import Any

from convcalc.render.columns import si, thousands
from convcalc.render.html_charts import INK, SECOND, chart_axis, chart_layout
from convcalc.render.html_page import Section
from convcalc.render.html_tables import figure, numbers_table


def training_memory_section(training: Any) -> Section:
    """`net --train`: the memory in use after each op of a training step (a TrainingReport's
    `peak.timeline`, convcalc.training.schedule), forward then backward, with the boundary and
    the peak marked."""
    points = list(training.peak.timeline)
    x = list(range(len(points)))
    phases = [p for p, _, _ in points]
    names = [n for _, n, _ in points]
    used = [b for _, _, b in points]
    peak = training.peak
    index = next((i for i, (p, n, b) in enumerate(points)
                  if (p, n, b) == (peak.phase, peak.at, peak.bytes)), None)
    forward = [i for i in x if phases[i] == "forward"]
    backward = [i for i in x if phases[i] == "backward"]
    state = training.state.param_bytes + training.state.optimizer_bytes
    data: list[dict[str, Any]] = []
    for label, idx, dash, color in (("forward (saved activations rising)", forward, "solid", INK),
                                    ("backward (gradients written, saved tensors freed; dashed)",
                                     backward, "dash", SECOND)):
        if idx:
            data.append({"type": "scatter", "mode": "lines", "name": label,
                         "x": idx, "y": [used[i] for i in idx],
                         "customdata": [names[i] for i in idx],
                         "line": {"color": color, "dash": dash, "width": 2, "shape": "hv"},
                         "hovertemplate": "%{customdata}: %{y:,} bytes<extra>"
                                          + label.split(" ")[0] + "</extra>"})
    shapes: list[dict[str, Any]] = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": state,
         "y1": state, "line": {"color": "#000000", "dash": "dot", "width": 1}}]
    annotations: list[dict[str, Any]] = [
        {"xref": "paper", "x": 0.01, "y": state, "yref": "y", "showarrow": False,
         "text": f"parameters + optimizer state {si(state)}B", "xanchor": "left",
         "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0.8)"}]
    if forward and backward:
        edge = backward[0] - 0.5
        shapes.append({"type": "line", "xref": "x", "x0": edge, "x1": edge, "yref": "paper",
                       "y0": 0, "y1": 1, "line": {"color": "#555555", "dash": "longdash",
                                                  "width": 1.5}})
        annotations.append({"xref": "x", "x": edge, "yref": "paper", "y": 0.02,
                            "showarrow": False, "text": "forward | backward",
                            "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0.8)"})
    where = f"{peak.at} ({peak.phase})"
    if index is not None:
        data.append({"type": "scatter", "mode": "markers", "name": "peak (star)", "x": [index],
                     "y": [peak.bytes], "marker": {"symbol": "star", "size": 16,
                                                   "color": "#000000"},
                     "hovertemplate": f"peak: {peak.bytes:,} bytes<extra></extra>"})
        annotations.append({"x": index, "y": peak.bytes, "text":
                            f"peak {thousands(peak.bytes)} bytes ({si(peak.bytes)}B) at "
                            f"{escape(where)}", "showarrow": True, "arrowhead": 2,
                            "ax": 40 if index < len(points) / 2 else -40, "ay": -30,
                            "bgcolor": "rgba(255,255,255,0.85)"})
    layout = chart_layout(height=420, shapes=shapes, annotations=annotations,
                     xaxis=chart_axis("op (forward in execution order, then backward in reverse)"),
                     yaxis=chart_axis("bytes in use", range=[0, 1.2 * max([*used, state, 1])]))
    options = training.options
    caption = (f"Memory of a training step ({options.optimizer}, {options.dtype}): bytes in use "
               f"after each of the {len(forward):,} forward ops (solid) and {len(backward):,} "
               f"backward ops (dashed); the dotted line is the parameters and optimizer state, "
               f"held throughout. Peak {thousands(peak.bytes)} bytes ({si(peak.bytes)}B) at "
               f"{where}. Kernels' scratch space and the allocator's rounding are not in it.")
    numbers = numbers_table("bytes in use after each op", ["#", "phase", "op", "bytes in use"],
                            ([i, p, n, f"{b:,}"] for i, (p, n, b) in enumerate(points)))
    fig = {"id": "chart-training-memory", "data": data, "layout": layout}
    return Section("training-memory", "Training step memory",
                   figure("chart-training-memory", caption, numbers, "Line chart: " + caption),
                   (fig,))


def training_summary(training: Any) -> list[tuple[str, str]]:
    """The header's training totals (the text formats' summary rows)."""
    from convcalc.render.common import summary_rows

    return [(r["metric"], r["value"]) for r in summary_rows(training)]

"""The HTML report's chart style and its bar chart of MACs and params (plotly.js figure data).

Takes labels and counts; gives plotly.js layout and trace dictionaries: the page's font and
colours, axes, the two-panel cost chart (solid and hatched bars) and log ticks at powers of
two. No HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc.render.columns import si

MAX_LABELLED_BARS = 60
"""More bars than this: no value printed on each bar (the data table has them)."""


FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
        "size": 12, "color": "#111111"}
INK = "#1f4e79"
SECOND = "#b35900"


def chart_layout(**more: Any) -> dict[str, Any]:
    base = {"font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "margin": {"l": 60, "r": 80, "t": 30, "b": 90},
            "legend": {"orientation": "h", "x": 0, "y": 0.01, "yref": "container",
                       "yanchor": "bottom"},
            "hovermode": "closest"}
    base.update(more)
    return base


def chart_axis(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#dddddd", "zerolinecolor": "#999999",
            "linecolor": "#333333", "automargin": True, **more}


def bar_room(values: Sequence[int], factor: float = 1.3) -> list[float]:
    """An axis range from 0 with room right of the longest bar for its printed value."""
    return [0, factor * max([*values, 1])]


def cost_figure(chart_id: str, labels: Sequence[str], macs: Sequence[int],
                params: Sequence[int]) -> dict[str, Any]:
    """MACs and params as two bar panels on their own scales, solid and hatched."""
    n = len(labels)
    horizontal = n <= MAX_LABELLED_BARS
    text_m = [si(m) for m in macs] if horizontal else None
    text_p = [si(p) for p in params] if horizontal else None

    def bars(values: Sequence[int], name: str, axis: tuple[str, str], color: str, pattern: str,
             text: list[str] | None) -> dict[str, Any]:
        trace: dict[str, Any] = {
            "type": "bar", "name": name, "marker": {"color": color,
                                                    "line": {"color": "#000000", "width": 0.5},
                                                    "pattern": {"shape": pattern}},
            "hovertemplate": "%{customdata}: %{" + ("x" if horizontal else "y") + ":,}"
                             f"<extra>{name}</extra>", "customdata": list(labels)}
        if horizontal:
            trace.update(x=list(values), y=list(labels), orientation="h", xaxis=axis[0],
                         yaxis=axis[1], text=text, textposition="outside", cliponaxis=False)
        else:
            trace.update(x=list(range(1, n + 1)), y=list(values), xaxis=axis[0], yaxis=axis[1])
        return trace

    if horizontal:
        layout = chart_layout(height=max(260, 24 * n + 110), bargap=0.25,
                         xaxis=chart_axis("MACs", domain=[0, 0.46], range=bar_room(macs)),
                         xaxis2=chart_axis("params", domain=[0.54, 1], range=bar_room(params)),
                         yaxis=chart_axis("", autorange="reversed", type="category"),
                         yaxis2=chart_axis("", autorange="reversed", type="category", anchor="x2",
                                      showticklabels=False, matches="y"))
        axes = (("x", "y"), ("x2", "y2"))
    else:
        layout = chart_layout(height=460, bargap=0.1,
                         xaxis=chart_axis("layer (execution order)", anchor="y"),
                         yaxis=chart_axis("MACs", domain=[0.55, 1]),
                         xaxis2=chart_axis("layer (execution order)", anchor="y2", matches="x"),
                         yaxis2=chart_axis("params", domain=[0, 0.4]))
        axes = (("x", "y"), ("x2", "y2"))
    return {"id": chart_id, "layout": layout, "data": [
        bars(macs, "MACs", axes[0], INK, "", text_m),
        bars(params, "params (hatched)", axes[1], SECOND, "/", text_p)]}


def axes_names(rank: int) -> list[str]:
    return {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(rank, [f"axis {i}" for i in
                                                                        range(rank)])


def as_float(value: Any) -> float:
    return float(Fraction(value)) if isinstance(value, str) else float(value)


def powers_of_two_ticks(values: Sequence[float]) -> dict[str, Any]:
    """Log-axis ticks at the powers of two the values span (jumps are ratios of strides)."""
    positive = [v for v in values if v > 0] or [1.0]
    lo = Fraction(min(positive)).limit_denominator(1 << 20)
    hi = Fraction(max(positive)).limit_denominator(1 << 20)
    k = 0
    while Fraction(2) ** k > lo:
        k -= 1
    ticks: list[Fraction] = []
    while Fraction(2) ** k <= hi * 2 and len(ticks) < 40:
        ticks.append(Fraction(2) ** k)
        k += 1
    return {"tickvals": [float(t) for t in ticks],
            "ticktext": [str(t) for t in ticks]}

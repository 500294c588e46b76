"""The HTML report's roofline section (`--device`): every row on the device's roof.

Takes the rows' labels and a costing (convcalc.hardware.costing, built by the command); gives
the `Section` of the roofline chart on log scales with every row's bound in a table, and the
summary's time line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc.render.columns import si
from convcalc.render.html_charts import INK, SECOND, chart_axis, chart_layout
from convcalc.render.html_page import Section, macro_html
from convcalc.render.html_tables import figure, numbers_table

PLACES = ("top left", "bottom right", "top right", "bottom left")
"""Where a roofline point's name goes, in turn along the intensity axis."""


def roofline_section(labels: Sequence[str], costing: Any, *, what: str = "layer") -> Section:
    """The roofline chart of `--device`: the roof min(peak, intensity × bandwidth) on log
    scales, each row that does MACs on it at its arithmetic intensity (its point's size the
    row's share of the bound), and every row's numbers in the table under it."""
    from convcalc.numbers import decimal_text
    from convcalc.render.columns import seconds_text

    lines = costing.rooflines
    device = costing.device
    first = lines[0] if lines else None
    bound = costing.bound()
    total, memory = bound.time_s, bound.time_by_bound()["memory"]
    numbers = numbers_table(f"the bound per {what}",
                            [what, "MACs", "bytes moved", "MAC/byte", "bound", "time ≥"],
                            ([lbl, f"{r.macs:,}", f"{r.traffic:,}",
                              "" if r.intensity is None else decimal_text(r.intensity),
                              r.bound, seconds_text(r.time_s)]
                             for lbl, r in zip(labels, lines, strict=True)))
    if first is None:
        return Section("roofline", "Roofline", macro_html("paragraph", "Nothing to bound."))
    ridge = first.ridge
    drawn = [(lbl, r) for lbl, r in zip(labels, lines, strict=True) if r.macs and r.traffic]
    skipped = len(lines) - len(drawn)
    peak = float(first.peak_macs_per_s)
    bandwidth = float(first.bandwidth)
    spots = [float(r.intensity or 0) for _, r in drawn] + [float(ridge)]
    lo, hi = min(spots) / 4, max(spots) * 4
    longest = max((r.time_s for _, r in drawn), default=Fraction(1)) or Fraction(1)
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "roof: min(peak, intensity × bandwidth)",
         "x": [lo, float(ridge), hi], "y": [lo * bandwidth, peak, peak],
         "line": {"color": "#000000", "width": 2}, "hoverinfo": "skip"}]
    by_intensity = sorted(drawn, key=lambda lr: (lr[1].intensity or 0, lr[0]))
    rank = {lbl: i for i, (lbl, _) in enumerate(by_intensity)}  # neighbours labelled apart
    for bound, symbol, color in (("memory", "circle-open", INK), ("compute", "diamond", SECOND)):
        chosen = [(lbl, r) for lbl, r in drawn if r.bound == bound]
        if not chosen:
            continue
        few = len(drawn) <= 12  # few points: each named beside it
        data.append({
            "type": "scatter", "mode": "markers+text" if few else "markers",
            "name": f"{bound}-bound {what}s",
            "text": [lbl for lbl, _ in chosen] if few else None,
            "textposition": [PLACES[rank[lbl] % len(PLACES)] for lbl, _ in chosen],
            "x": [float(r.intensity or 0) for _, r in chosen],
            "y": [float(r.macs / r.time_s) for _, r in chosen],
            "customdata": [f"{lbl}: {decimal_text(r.intensity or 0)} MAC/byte, ≥ "
                           f"{seconds_text(r.time_s)}" for lbl, r in chosen],
            "marker": {"symbol": symbol, "color": color, "line": {"width": 1.5, "color": color},
                       "size": [6 + 14 * float((r.time_s / longest) ** 0.5)
                                for _, r in chosen]},
            "hovertemplate": "%{customdata}<extra>" + bound + "-bound</extra>"})
    low = min([lo * bandwidth, *(float(r.macs / r.time_s) for _, r in drawn)])
    layout = chart_layout(height=440,
                     xaxis=chart_axis("arithmetic intensity (MAC per byte moved, log scale)",
                                 type="log", exponentformat="SI"),
                     yaxis=chart_axis("attainable MAC/s (log scale)", type="log", exponentformat="SI",
                                 range=[math.log10(low / 2), math.log10(peak * 4)]),
                     shapes=[{"type": "line", "x0": float(ridge), "x1": float(ridge),
                              "yref": "paper", "y0": 0, "y1": 1,
                              "line": {"color": "#777777", "dash": "dot", "width": 1}}],
                     annotations=[{"x": math.log10(float(ridge)), "y": 0, "yref": "paper",
                                   "text": f"ridge {decimal_text(ridge)} MAC/byte",
                                   "showarrow": False, "xanchor": "left", "yanchor": "bottom",
                                   "bgcolor": "rgba(255,255,255,0.85)"}])
    caption = (f"Roofline of {device.name} in {costing.dtype}: the roof (solid) is the lower of "
               f"the peak, {si(int(first.peak_macs_per_s))} MAC/s, and intensity × the "
               f"bandwidth, {si(int(first.bandwidth))}B/s; the ridge (dotted) is at "
               f"{decimal_text(ridge)} MAC/byte. Each {what} that does MACs sits on the roof at "
               f"its intensity (open circles memory-bound, diamonds compute-bound), its size its "
               f"share of the bound. In all at least {seconds_text(total)}, of which "
               f"{seconds_text(memory)} in memory-bound {what}s: a lower bound, not a "
               "prediction." + (f" {skipped:,} {what}{'' if skipped == 1 else 's'} without MACs "
                               "(pooling, activations, normalisation…) "
                               f"{'is' if skipped == 1 else 'are'} not drawn; the table has "
                               f"{'its' if skipped == 1 else 'their'} time." if skipped else ""))
    fig = {"id": "chart-roofline", "data": data, "layout": layout}
    return Section("roofline", "Roofline: time as a bound",
                   figure("chart-roofline", caption, numbers, "Scatter chart: " + caption),
                   (fig,))


def time_summary(costing: Any) -> list[tuple[str, str]]:
    """The summary's bound line when a device is given."""
    if costing is None or costing.device is None:
        return []
    from convcalc.render.columns import seconds_text

    return [(f"time ≥ on {costing.device.key} ({costing.dtype})",
             seconds_text(costing.bound().time_s))]

"""The offline HTML report: one self-contained file (plotly.js embedded, no request when opened).

`net`: the per-layer table (sortable, the terminal table's columns), MACs and params by stage
(by row at `--depth`), receptive-field growth, the activation-memory timeline with its peak, and
the network graph (convcalc/graph.py) with collapsible blocks. `compare`: the variants on one
scale with their ratios and the closed forms. `layer`: the layer and its parts, its formulas.

Every chart has a caption and its numbers in a table (a text alternative), series differ by
pattern, dash and marker as well as by colour, and a print stylesheet lays the page out for
paper. Charts are plotly.js's: its cartesian bundle, packaged with convcalc (static/, 1.5 MB;
the full bundle of the plotly package only for a trace type it lacks, see `plotly_js`). The
optional extra `pip install 'convcalc[html]'` brings Jinja2.

The page is written through Jinja2 templates with autoescaping (convcalc/render/templates:
`report.html.j2` the document, `parts.html.j2` one macro per piece); its stylesheet and script
are package files (convcalc/render/static). These modules prepare the values (numbers
formatted, sort keys, the charts' data) and never write a tag themselves: html_page (templates,
plotly.js, the document), html_tables (tables and figure frames), html_charts (chart style,
the cost bars), html_net_sections (receptive field, memory, graph), html_training (a training
step's memory), html_roofline (--device); this module assembles each command's page.

With `--device` (a `costing`), the roofline chart: the device's roof on log scales and every
row (variant) that does MACs on it at its arithmetic intensity. `net_html(..., extra=...)`
takes further sections, placed after it with their own entries in the contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc.graph import Graph, liveness
from convcalc.render.columns import pick, si, thousands
from convcalc.render.html_charts import INK, SECOND, bar_room, chart_axis, chart_layout, cost_figure
from convcalc.render.html_net_sections import graph_section, memory_section, rf_section
from convcalc.render.html_page import Section, macro_html, page, ready
from convcalc.render.html_roofline import roofline_section, time_summary
from convcalc.render.html_tables import (
    batch_text,
    data_table,
    figure,
    layer_batch,
    numbers_table,
    viewed,
)
from convcalc.render.html_training import training_memory_section, training_summary
from convcalc.report import LayerReport, NetworkReport

DTYPE = ("fp32", 4)
"""The element size the report turns elements into bytes with (the lead's --dtype replaces it)."""


def net_html(report: NetworkReport, graph: Graph, *, depth: int | None = None,
             explain: bool = False, extra: Sequence[Section] = (), costing: Any = None,
             view: Any = None, training: Any = None) -> str:
    """`convcalc net --format html`; `costing` (convcalc.hardware.costing, from --dtype and
    --device) sets the bytes and adds the roofline chart; `view` (--columns, --units) shapes
    the layers table (see `viewed`); `training` (a TrainingReport, from --train) adds the
    training step's memory chart and its totals to the summary."""
    ready()  # fail first, with the install line, when jinja2 is absent
    dtype = (costing.dtype, costing.size) if costing is not None else DTYPE
    from convcalc.render.common import CONVENTIONS, NET_COLUMNS, formula_lines
    from convcalc.render.rows import collapse, net_rows
    from convcalc.report import rf_to_dict

    totals = report.totals()
    rows = net_rows(report)
    if costing is not None:
        for i, row in enumerate(rows):
            row.update(costing.row(i, report.rows[i].report))
    shown = collapse(rows, depth, report) if depth is not None else rows
    total_row = {"path": "total", "kind": "", "output": report.output.to_dict(),
                 "params": totals["params"], "macs": totals["macs"],
                 "macs_share": Fraction(100),
                 "receptive_field": rf_to_dict(report.receptive_field)}
    if costing is not None:
        total_row["activation_bytes"] = totals["activation_elements"] * costing.size
        if costing.device is not None:
            total_row["roofline"] = {"time_s": costing.totals(totals["params"])["roofline_time_s"]}
    columns = viewed(pick(NET_COLUMNS), view)
    table = data_table(shown, columns, total=total_row, table_id="layers",
                       caption=f"{len(shown):,} rows" + (f" (blocks deeper than {depth} folded)"
                                                         if depth is not None else "")
                       + "; click a heading to sort (the layer heading restores the order)")
    sections = [Section("layers", "Layers", macro_html("scroll", table))]

    stages = collapse(rows, depth if depth is not None else 1, report) if rows else []
    by = f"row at --depth {depth}" if depth is not None else "stage (top-level block or layer)"
    labels = [r["path"] for r in stages]
    macs = [r["macs"] for r in stages]
    params = [r["params"] for r in stages]
    caption = (f"MACs (solid bars) and params (hatched bars) by {by}, each on its own scale. "
               f"Largest MACs: {labels[macs.index(max(macs))] if macs else '–'} "
               f"({si(max(macs)) if macs else 0}).")
    numbers = numbers_table(f"MACs and params by {by}", ["", "MACs", "MACs %", "params"],
                            ([lbl, f"{m:,}", f"{float(r['macs_share']):.2f} %", f"{p:,}"]
                             for lbl, m, p, r in zip(labels, macs, params, stages, strict=True)))
    sections.append(Section("cost", "Where the MACs and params are",
                            figure("chart-cost", caption, numbers, "Bar chart: " + caption),
                            (cost_figure("chart-cost", labels, macs, params),)))
    sections.append(rf_section(report, rows))
    live = liveness(graph)
    sections.append(memory_section(live, dtype, report.batch))
    if training is not None:
        sections.append(training_memory_section(training))
    if costing is not None and costing.device is not None:
        sections.append(roofline_section([r.path for r in report.rows], costing))
    sections.extend(extra)
    sections.append(graph_section(graph, depth))
    if explain:
        lines = [f"{r.path}: {line}" for r in report.rows for line in formula_lines(r.report)
                 if line.startswith(("MACs", "weights"))]
        sections.append(Section("formulas", "Formulas", macro_html("preformatted", lines)))
    summary = [("layers", f"{len(report.rows):,}"), ("params", thousands(totals["params"])),
               ("MACs", thousands(totals["macs"])), ("FLOPs", thousands(totals["flops"])),
               ("receptive field", "×".join(str(s) for s in rf_to_dict(
                   report.receptive_field)["size"]) or "–"),
               ("peak activation memory", f"{thousands(live.peak * report.batch)} elements "
                                          f"({si(live.peak * report.batch * dtype[1])}B in "
                                          f"{dtype[0]})")]
    summary += time_summary(costing)
    if training is not None:
        summary += training_summary(training)
        title_extra = f"; training step ({training.options.optimizer}, {training.options.dtype})"
    else:
        title_extra = ""
    notes = [*(f"warning: {w}" for w in report.warnings), CONVENTIONS]
    title = (f"{report.name}: {report.input.channels_last()} → {report.output.channels_last()}"
             + batch_text(report.batch) + title_extra)
    return page(title, summary, sections, notes)


# --- layer and compare ----------------------------------------------------------------------

def layer_html(report: LayerReport, *, explain: bool = False, costing: Any = None,
               view: Any = None) -> str:
    """`convcalc layer --format html`: the layer and its parts, cost by part, its formulas;
    with --device its roofline; `view` as `net_html`."""
    ready()
    from convcalc.render.columns import LAYER_ROWS
    from convcalc.render.common import CONVENTIONS, formula_lines
    from convcalc.render.rows import layer_rows

    del explain  # the formulas are always in the report
    rows = layer_rows(report)
    table = data_table(rows, viewed(pick(LAYER_ROWS), view), caption="the layer, then its parts",
                       sortable=True,
                       table_id="layers")
    sections = [Section("layers", "Layer", macro_html("scroll", table))]
    parts = rows[1:] if report.parts else rows
    labels = [r["path"] for r in parts]
    caption = (f"MACs (solid) and params (hatched) of {'each part' if report.parts else 'the layer'}"
               f": {thousands(report.macs)} MACs and {thousands(report.params)} params in all.")
    numbers = numbers_table("MACs and params", ["", "MACs", "params"],
                            ([r["path"], f"{r['macs']:,}", f"{r['params']:,}"] for r in parts))
    sections.append(Section("cost", "Cost", figure("chart-cost", caption, numbers,
                                                   "Bar chart: " + caption),
                            (cost_figure("chart-cost", labels, [r["macs"] for r in parts],
                                         [r["params"] for r in parts]),)))
    if costing is not None and costing.device is not None:
        sections.append(roofline_section([report.name or report.kind], costing))
    sections.append(Section("formulas", "Formulas",
                            macro_html("preformatted", formula_lines(report))))
    title = (f"{report.kind}" + (f" '{report.name}'" if report.name else "") +
             f": {report.input.channels_last()} → {report.output.channels_last()}"
             + batch_text(layer_batch(report)))
    summary = [("params", thousands(report.params)), ("MACs", thousands(report.macs)),
               ("FLOPs", thousands(report.flops)),
               ("receptive field", "×".join(str(s) for s in rows[0]["receptive_field"]["size"])
                or "–"), *time_summary(costing)]
    return page(title, summary, sections, [CONVENTIONS])


def compare_html(comparison: Any, *, parts: bool = False, explain: bool = False,
                 costing: Any = None, view: Any = None) -> str:
    """`convcalc compare --format html`: the table, the variants as bars on one scale with their
    ratios to the baseline, the closed forms; with --device the variants on the roofline."""
    ready()
    from convcalc.render.common import (
        COMPARE_COLUMNS,
        CONVENTIONS,
        closed_form_lines,
        compare_rows,
        formula_lines,
    )

    rows = compare_rows(comparison, parts, footnotes=True)
    noted = any(r.report is None or r.defaults for r in comparison.results)
    columns = viewed(pick(COMPARE_COLUMNS if noted else COMPARE_COLUMNS[:-1]), view)
    table = data_table(rows, columns, caption=f"every variant on "
                                              f"{comparison.input.channels_last()}; ratios to "
                                              f"{comparison.baseline}", table_id="layers")
    sections = [Section("layers", "Variants", macro_html("scroll", table))]
    ok = [r for r in comparison.results if r.report is not None]
    labels = [r.variant for r in ok]

    def ratio(value: Fraction | None) -> str:
        return "" if value is None else f"{float(100 * value):.2f} %"

    data = []
    for key, name, color, pattern, axis in (("macs", "MACs", INK, "", "x"),
                                            ("params", "params (hatched)", SECOND, "/", "x2")):
        values = [getattr(r.report, key) for r in ok]
        ratios = [ratio(r.macs_ratio if key == "macs" else r.params_ratio) for r in ok]
        data.append({"type": "bar", "orientation": "h", "name": name, "x": values, "y": labels,
                     "xaxis": axis, "yaxis": "y" if axis == "x" else "y2",
                     "text": [f"{si(v)} · {t}" for v, t in zip(values, ratios, strict=True)],
                     "textposition": "outside", "cliponaxis": False,
                     "marker": {"color": color, "pattern": {"shape": pattern},
                                "line": {"color": "#000000", "width": 0.5}},
                     "hovertemplate": "%{y}: %{x:,}<extra>" + name + "</extra>"})
    layout = chart_layout(height=max(260, 30 * len(ok) + 120), bargap=0.25,
                     xaxis=chart_axis(f"MACs (one scale for every variant; % of {comparison.baseline})",
                                 domain=[0, 0.44], range=bar_room([r.report.macs for r in ok], 1.6)),
                     xaxis2=chart_axis(f"params (% of {comparison.baseline})", domain=[0.56, 1],
                                  range=bar_room([r.report.params for r in ok], 1.6)),
                     yaxis=chart_axis("", autorange="reversed", type="category"),
                     yaxis2=chart_axis("", autorange="reversed", type="category", anchor="x2",
                                  matches="y", showticklabels=False),
                     margin={"l": 110, "r": 90, "t": 30, "b": 50})
    skipped = [r.variant for r in comparison.results if r.report is None]
    caption = (f"MACs (solid) and params (hatched) of every variant that applies, each "
               f"metric on one scale, labelled with the ratio to {comparison.baseline}."
               + (f" Not applicable: {', '.join(skipped)} (the reasons are under the table)."
                  if skipped else ""))
    numbers = numbers_table("variants", ["variant", "MACs", "MACs %", "params", "params %"],
                            ([r.variant, f"{r.report.macs:,}", ratio(r.macs_ratio),
                              f"{r.report.params:,}", ratio(r.params_ratio)] for r in ok))
    sections.append(Section("cost", "On one scale", figure("chart-cost", caption, numbers,
                                                           "Bar chart: " + caption),
                            ({"id": "chart-cost", "data": data, "layout": layout},)))
    if costing is not None and costing.device is not None:
        sections.append(roofline_section(labels, costing, what="variant"))
    lines = closed_form_lines(comparison)
    if explain:
        for r in ok:
            lines += [f"{r.variant}: {line}" for line in formula_lines(r.report)
                      if line.startswith(("MACs", "weights", "params"))]
    sections.append(Section("closed-forms", "Closed forms and notes",
                            macro_html("bullets", lines, "No closed form applies here.")))
    batch = next((layer_batch(r.report) for r in comparison.results if r.report is not None), 1)
    title = (f"every variant on {comparison.input.channels_last()}; ratios to {comparison.baseline}"
             + batch_text(batch))
    base = next(r for r in comparison.results if r.variant == comparison.baseline) \
        if any(r.variant == comparison.baseline for r in comparison.results) else None
    summary = [("variants", str(len(comparison.results))), ("applicable", str(len(ok)))]
    if base is not None and base.report is not None:
        summary.append((f"{comparison.baseline} MACs", thousands(base.report.macs)))
    return page(title, summary, sections, [CONVENTIONS])

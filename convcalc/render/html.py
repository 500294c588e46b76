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
are package files (convcalc/render/static). This module prepares the values (numbers
formatted, sort keys, the charts' data) and never writes a tag itself.

With `--device` (a `costing`), the roofline chart: the device's roof on log scales and every
row (variant) that does MACs on it at its arithmetic intensity. `net_html(..., extra=...)`
takes further sections, placed after it with their own entries in the contents.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from convcalc.errors import SpecError
from convcalc.graph import Graph, Group, Liveness, Node, liveness
from convcalc.render.columns import Column, pick, si, thousands
from convcalc.report import LayerReport, NetworkReport

if TYPE_CHECKING:
    from markupsafe import Markup

HERE = Path(__file__).resolve().parent

INSTALL = "pip install 'convcalc[html]'"
DTYPE = ("fp32", 4)
"""The element size the report turns elements into bytes with (the lead's --dtype replaces it)."""
MAX_LABELLED_BARS = 60
"""More bars than this: no value printed on each bar (the data table has them)."""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the page: an anchor, a heading, its HTML (made by the templates' macros),
    and the charts it holds."""

    id: str
    title: str
    body: str
    figures: tuple[dict[str, Any], ...] = ()


# --- plotly.js --------------------------------------------------------------------------------

CARTESIAN = "plotly-cartesian.min.js"
"""plotly.js's cartesian partial bundle (npm plotly.js-cartesian-dist-min, MIT; provenance in
static/README.md), packaged with convcalc: 1.5 MB where the full bundle is 4.8 MB."""
CARTESIAN_TRACES = frozenset({
    "bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
    "image", "pie", "scatter", "scatterternary", "violin"})
"""The trace types the cartesian bundle draws (its README; a browser test reads them from the
bundle itself). A figure with any other type takes the full bundle of the plotly package."""
FULL_INSTALL = "pip install plotly"


@dataclass(frozen=True, slots=True)
class Bundle:
    """The plotly.js a page embeds: its text, version, which build, and its license."""

    text: str
    version: str
    build: str
    license: str


def _version(text: str) -> tuple[str, str]:
    """`(build, version)` from a bundle's banner: `plotly.js (cartesian - minified) v4.1.1`."""
    found = re.search(r"plotly\.js(?: \(([a-z0-9]+)[^)]*\))? v([0-9][0-9A-Za-z.\-]*)",
                      text[:500])
    if found is None:
        return "full", "?"
    return found.group(1) or "full", found.group(2)


@cache
def plotly_js(types: frozenset[str]) -> Bundle:
    """plotly.js for charts of the trace `types`: the packaged cartesian bundle when it draws
    them all, else the full bundle of the plotly package (found without importing it).
    Missing: a one-line error that says how to install it (exit 2)."""
    packaged = HERE / "static" / CARTESIAN
    if types <= CARTESIAN_TRACES and packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
        build, version = _version(text)
        return Bundle(text, version, build, _static("plotly-cartesian.LICENSE.txt"))
    spec = importlib.util.find_spec("plotly")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            build, version = _version(text)
            return Bundle(text, version, build, "MIT license (Plotly, Inc.)")
    other = sorted(types - CARTESIAN_TRACES)
    why = (f"charts of type {', '.join(other)}, which the packaged cartesian bundle does not draw"
           if other else f"its charts (convcalc/render/static/{CARTESIAN} is missing)")
    raise SpecError(f"--format html needs plotly's full plotly.js for {why}: {FULL_INSTALL}")


# --- templates --------------------------------------------------------------------------------

@cache
def _environment() -> Any:
    """The Jinja2 environment (autoescaping on), or a one-line error that says how to install
    it (exit 2)."""
    try:
        import jinja2
    except ImportError:
        raise SpecError(f"--format html needs jinja2 (the report is written through its "
                        f"templates): {INSTALL}") from None
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                              autoescape=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def _macro(name: str) -> Any:
    """A macro of parts.html.j2: called with values, it returns escaped HTML (Markup)."""
    return getattr(_environment().get_template("parts.html.j2").module, name)


def _html(name: str, *args: Any) -> Markup:
    return cast("Markup", _macro(name)(*args))


@cache
def _static(name: str) -> str:
    """A package file of convcalc/render/static (the page's stylesheet and script)."""
    return (HERE / "static" / name).read_text(encoding="utf-8")


def ready() -> None:
    """Everything the report needs is installed (jinja2; plotly.js comes with convcalc), else
    one line saying how to install it, before any work."""
    _environment()


# --- pieces -----------------------------------------------------------------------------------

def _sort_value(value: Any) -> str:
    """What a cell sorts by: numbers as numbers, shapes by elements, fields by their largest
    axis, fractions as decimals; text as itself."""
    if type(value) is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return repr(float(value))
    if isinstance(value, Mapping) and "channels" in value:
        n = value["channels"]
        for s in value["spatial"]:
            n *= s
        return str(n)
    if isinstance(value, list | tuple):
        numbers = [float(Fraction(v)) if isinstance(v, str) else float(v) for v in value]
        return repr(max(numbers)) if numbers else ""
    return str(value)


def _numeric(column: Column, rows: Sequence[Mapping[str, Any]]) -> bool:
    for row in rows:
        v = column.raw(row)
        if v is not None:
            return not isinstance(v, str)
    return column.justify == "right"


def data_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, caption: str,
               total: Mapping[str, Any] | None = None, sortable: bool = True,
               table_id: str | None = None) -> Markup:
    """A table of rows through the column registry: shown values from each column's formatter,
    the raw value in data-v for sorting (the layer column sorts by position)."""
    kinds = [_numeric(c, rows) or c.key == "path" for c in columns]
    head = [(c.header, "num" if numeric else "text", c.justify)
            for c, numeric in zip(columns, kinds, strict=True)]
    plan = [(c.raw, c.show, c.justify, c.key in ("path", "variant")) for c in columns]
    body = []
    for i, row in enumerate(rows):
        cells: list[tuple[str, object, str | None, list[str]]] = []
        for raw, show, justify, is_name in plan:
            value = raw(row)
            lines = show(value).split("\n")
            if is_name:
                indent = int(row.get("depth", 0))
                cells.append((justify, i, f"{0.4 + indent}" if indent else None, lines))
            else:
                cells.append((justify, _sort_value(value), None, lines))
        body.append(cells)
    foot = None if total is None else [(c.justify, c.show(c.raw(total))) for c in columns]
    return _html("data_table", head, body, foot, caption, table_id, sortable)


def numbers_table(caption: str, headers: Sequence[str],
                  rows: Iterable[Sequence[object]]) -> Markup:
    """A chart's numbers as a plain table (its text alternative), folded under the chart."""
    return _html("numbers_table", caption, headers, rows)


def figure(chart_id: str, caption: str, numbers: Markup, description: str) -> Markup:
    return _html("figure", chart_id, caption, numbers, description)


def viewed(columns: Sequence[Column], view: Any) -> list[Column]:
    """The table's columns as `view` asks (the `View` every renderer gets: its `columns`, the
    registry's keys in order, after the name column; its `units`, k/M/G/T for the counts).
    No view, or `units` auto or none: every digit, as the report always wrote them."""
    from dataclasses import replace

    from convcalc.render.columns import COLUMNS
    from convcalc.render.layout import scaled

    chosen = list(columns)
    keys = getattr(view, "columns", None)
    if keys is not None:
        names = [c for c in chosen if c.key in ("path", "variant")]
        chosen = names + [COLUMNS[k] for k in keys
                          if k in COLUMNS and k not in ("path", "variant")]
    units: str = getattr(view, "units", "auto")
    if units in ("auto", "none"):
        return chosen

    def in_units(value: Any) -> str:
        return scaled(value, units)

    return [replace(c, show=in_units) if c.unit else c for c in chosen]


def batch_text(batch: int) -> str:
    """`, batch 32` for a title when the batch is not 1."""
    return f", batch {batch}" if batch != 1 else ""


def _layer_batch(report: LayerReport) -> int:
    return report.input_elements // report.input.elements if report.input.elements else 1


FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
        "size": 12, "color": "#111111"}
INK = "#1f4e79"
SECOND = "#b35900"


def _layout(**more: Any) -> dict[str, Any]:
    base = {"font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "margin": {"l": 60, "r": 80, "t": 30, "b": 90},
            "legend": {"orientation": "h", "x": 0, "y": 0.01, "yref": "container",
                       "yanchor": "bottom"},
            "hovermode": "closest"}
    base.update(more)
    return base


def _axis(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#dddddd", "zerolinecolor": "#999999",
            "linecolor": "#333333", "automargin": True, **more}


def _room(values: Sequence[int], factor: float = 1.3) -> list[float]:
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
        layout = _layout(height=max(260, 24 * n + 110), bargap=0.25,
                         xaxis=_axis("MACs", domain=[0, 0.46], range=_room(macs)),
                         xaxis2=_axis("params", domain=[0.54, 1], range=_room(params)),
                         yaxis=_axis("", autorange="reversed", type="category"),
                         yaxis2=_axis("", autorange="reversed", type="category", anchor="x2",
                                      showticklabels=False, matches="y"))
        axes = (("x", "y"), ("x2", "y2"))
    else:
        layout = _layout(height=460, bargap=0.1,
                         xaxis=_axis("layer (execution order)", anchor="y"),
                         yaxis=_axis("MACs", domain=[0.55, 1]),
                         xaxis2=_axis("layer (execution order)", anchor="y2", matches="x"),
                         yaxis2=_axis("params", domain=[0, 0.4]))
        axes = (("x", "y"), ("x2", "y2"))
    return {"id": chart_id, "layout": layout, "data": [
        bars(macs, "MACs", axes[0], INK, "", text_m),
        bars(params, "params (hatched)", axes[1], SECOND, "/", text_p)]}


# --- the page -----------------------------------------------------------------------------------

def _script_json(value: Any) -> str:
    """JSON that cannot close its <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def page(title: str, summary: Sequence[tuple[str, str]], sections: Sequence[Section],
         notes: Sequence[str]) -> str:
    """The whole document (templates/report.html.j2): styles, plotly.js (the smallest bundle
    that draws every chart, `plotly_js`), the sections, the charts' data, the page script."""
    from markupsafe import Markup

    from convcalc import __version__

    figures = [f for s in sections for f in s.figures]
    bundle = plotly_js(frozenset(t.get("type", "scatter") for f in figures for t in f["data"]))
    notice = bundle.license.replace("*/", "* /").replace("</", "<\\/")  # inside a comment
    config = {"displaylogo": False, "responsive": True, "scrollZoom": False,
              "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
    shown = [Section(s.id, s.title, Markup(s.body), s.figures) for s in sections]  # HTML made
    template = _environment().get_template("report.html.j2")  # by the macros
    return str(template.render(
        title=title, summary=summary, sections=shown, notes=notes, version=__version__,
        plotly_version=bundle.version, plotly_build=bundle.build, plotly=Markup(bundle.text),
        plotly_license=Markup(notice), css=Markup(_static("report.css")),
        script=Markup(_static("report.js")),
        data=Markup(_script_json({"figures": figures, "config": config}))))


# --- net ----------------------------------------------------------------------------------------

def _axes_names(rank: int) -> list[str]:
    return {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(rank, [f"axis {i}" for i in
                                                                        range(rank)])


def _fraction(value: Any) -> float:
    return float(Fraction(value)) if isinstance(value, str) else float(value)


def _powers_of_two(values: Sequence[float]) -> dict[str, Any]:
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


def rf_section(report: NetworkReport, table_rows: Sequence[Mapping[str, Any]]) -> Section:
    """Receptive-field size and jump after each row (`table_rows`: convcalc.render.rows'
    net_rows of the report)."""
    names = _axes_names(report.input.rank)
    if not names:
        return Section("rf", "Receptive field", _html("paragraph", "The input is a vector: no "
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
                     "x": x, "y": [_fraction(rf["jump"][i]) for rf in rows], "yaxis": "y2",
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
    layout = _layout(height=420, shapes=shapes, annotations=annotations,
                     xaxis=_axis("layer (execution order)"),
                     yaxis=_axis("receptive field size (input pixels)", rangemode="tozero"),
                     yaxis2=_axis("jump (input pixels between outputs)", overlaying="y",
                                  side="right", type="log", showgrid=False,
                                  **_powers_of_two([_fraction(rf["jump"][i]) for rf in rows
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
    layout = _layout(height=400, xaxis=_axis("step (execution order; merges are steps)"),
                     yaxis=_axis("activation elements alive", rangemode="tozero"),
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
    body = _html("memory", figure("chart-memory", caption, numbers, "Line chart: " + caption),
                 alive)
    fig = {"id": "chart-memory", "data": data, "layout": layout}
    return Section("memory", "Activation memory", body, (fig,))


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
    layout = _layout(height=420, shapes=shapes, annotations=annotations,
                     xaxis=_axis("op (forward in execution order, then backward in reverse)"),
                     yaxis=_axis("bytes in use", range=[0, 1.2 * max([*used, state, 1])]))
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
        return Section("roofline", "Roofline", _html("paragraph", "Nothing to bound."))
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
    layout = _layout(height=440,
                     xaxis=_axis("arithmetic intensity (MAC per byte moved, log scale)",
                                 type="log", exponentformat="SI"),
                     yaxis=_axis("attainable MAC/s (log scale)", type="log", exponentformat="SI",
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
    return Section("graph", "Graph", _html("graph", toolbar, members(None)))


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
    sections = [Section("layers", "Layers", _html("scroll", table))]

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
        sections.append(Section("formulas", "Formulas", _html("preformatted", lines)))
    summary = [("layers", f"{len(report.rows):,}"), ("params", thousands(totals["params"])),
               ("MACs", thousands(totals["macs"])), ("FLOPs", thousands(totals["flops"])),
               ("receptive field", "×".join(str(s) for s in rf_to_dict(
                   report.receptive_field)["size"]) or "–"),
               ("peak activation memory", f"{thousands(live.peak * report.batch)} elements "
                                          f"({si(live.peak * report.batch * dtype[1])}B in "
                                          f"{dtype[0]})")]
    summary += _time_summary(costing)
    if training is not None:
        summary += training_summary(training)
        title_extra = f"; training step ({training.options.optimizer}, {training.options.dtype})"
    else:
        title_extra = ""
    notes = [*(f"warning: {w}" for w in report.warnings), CONVENTIONS]
    title = (f"{report.name}: {report.input.channels_last()} → {report.output.channels_last()}"
             + batch_text(report.batch) + title_extra)
    return page(title, summary, sections, notes)


def _time_summary(costing: Any) -> list[tuple[str, str]]:
    """The summary's bound line when a device is given."""
    if costing is None or costing.device is None:
        return []
    from convcalc.render.columns import seconds_text

    return [(f"time ≥ on {costing.device.key} ({costing.dtype})",
             seconds_text(costing.bound().time_s))]


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
    sections = [Section("layers", "Layer", _html("scroll", table))]
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
                            _html("preformatted", formula_lines(report))))
    title = (f"{report.kind}" + (f" '{report.name}'" if report.name else "") +
             f": {report.input.channels_last()} → {report.output.channels_last()}"
             + batch_text(_layer_batch(report)))
    summary = [("params", thousands(report.params)), ("MACs", thousands(report.macs)),
               ("FLOPs", thousands(report.flops)),
               ("receptive field", "×".join(str(s) for s in rows[0]["receptive_field"]["size"])
                or "–"), *_time_summary(costing)]
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
    sections = [Section("layers", "Variants", _html("scroll", table))]
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
    layout = _layout(height=max(260, 30 * len(ok) + 120), bargap=0.25,
                     xaxis=_axis(f"MACs (one scale for every variant; % of {comparison.baseline})",
                                 domain=[0, 0.44], range=_room([r.report.macs for r in ok], 1.6)),
                     xaxis2=_axis(f"params (% of {comparison.baseline})", domain=[0.56, 1],
                                  range=_room([r.report.params for r in ok], 1.6)),
                     yaxis=_axis("", autorange="reversed", type="category"),
                     yaxis2=_axis("", autorange="reversed", type="category", anchor="x2",
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
                            _html("bullets", lines, "No closed form applies here.")))
    batch = next((_layer_batch(r.report) for r in comparison.results if r.report is not None), 1)
    title = (f"every variant on {comparison.input.channels_last()}; ratios to {comparison.baseline}"
             + batch_text(batch))
    base = next(r for r in comparison.results if r.variant == comparison.baseline) \
        if any(r.variant == comparison.baseline for r in comparison.results) else None
    summary = [("variants", str(len(comparison.results))), ("applicable", str(len(ok)))]
    if base is not None and base.report is not None:
        summary.append((f"{comparison.baseline} MACs", thousands(base.report.macs)))
    return page(title, summary, sections, [CONVENTIONS])


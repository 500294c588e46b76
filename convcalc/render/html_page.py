"""The HTML report's page: its templates, the plotly.js it embeds, and the document itself.

Takes the `Section`s a report is made of (their HTML made by the macros of
templates/parts.html.j2, their charts' data); gives the whole self-contained document (`page`)
through Jinja2 with autoescaping, with the smallest plotly.js bundle that draws every chart
(`plotly_js`). `ready` fails first, with the install line, when jinja2 is absent.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from convcalc.errors import SpecError

if TYPE_CHECKING:
    from markupsafe import Markup


HERE = Path(__file__).resolve().parent

INSTALL = "pip install 'convcalc[html]'"


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


def macro_html(name: str, *args: Any) -> Markup:
    return cast("Markup", _macro(name)(*args))


@cache
def _static(name: str) -> str:
    """A package file of convcalc/render/static (the page's stylesheet and script)."""
    return (HERE / "static" / name).read_text(encoding="utf-8")


def ready() -> None:
    """Everything the report needs is installed (jinja2; plotly.js comes with convcalc), else
    one line saying how to install it, before any work."""
    _environment()


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

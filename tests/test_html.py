"""`--format html`: the offline report, opened in a real headless browser (Debian's Chromium via
tests/browser.py; skipped with a message where it is absent): no console error, no request but
the file itself, the charts drawn, the graph with one box per node, a sortable table, and the
charts' screenshots close to committed thumbnails (loosely: a small mean difference of grey
levels, not pixel equality). Mermaid diagrams are drawn there too, with Mermaid itself."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.graph import network_graph
from convcalc.render.diagram import mermaid_warning, to_mermaid
from convcalc.render.rows import collapse, net_rows

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from browser import Browser, available
from generate import residual_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
SHOTS = Path(__file__).parent / "fixtures" / "screenshots"
JS = Path(__file__).parent / "js"
runner = CliRunner()
needs_html = pytest.mark.skipif(importlib.util.find_spec("jinja2") is None,
                                reason="the html extra is absent (pip install 'convcalc[html]')")
CARTESIAN_BANNER = "plotly.js (cartesian - minified) v"


@cache
def report(name: str) -> Any:
    return convcalc.analyze_network(str(ROOT / "examples" / f"{name}.yaml"))


def write_html(tmp: Path, name: str, args: list[str]) -> Path:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    path = tmp / f"{name}.html"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def outside_scripts(text: str) -> str:
    """The page without its <script> elements (plotly.js mentions URLs it never loads)."""
    return re.sub(r"<script\b.*?</script>", "", text, flags=re.S)


# --- without a browser --------------------------------------------------------------------------

@needs_html
def test_without_plotly_the_report_is_whole(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """issue 21: plotly.js's cartesian bundle comes with convcalc, so the plotly package is not
    needed: every command writes its report with it, and says so in the page."""
    from convcalc.render import html_page

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "plotly" else real(name, *a))
    html_page.plotly_js.cache_clear()
    try:
        for args in (["net", "examples/resnet18.yaml"], ["layer", "conv", "-i", "8x8x3",
                                                          "--kernel", "3", "--out", "4"],
                     ["compare", "-i", "8x8x4", "--kernel", "3", "--out", "8"], TRAIN_ARGS):
            text = write_html(tmp_path, args[0], [*args, "--format", "html"]).read_text()
            assert CARTESIAN_BANNER in text
            assert re.search(r"charts by plotly\.js v[0-9.]+ \(cartesian bundle\)", text)
    finally:
        html_page.plotly_js.cache_clear()


def _foreign_chart_page() -> str:
    """A page with a chart of a trace type the cartesian bundle does not draw (a Sankey)."""
    from convcalc.render.html_page import CARTESIAN_TRACES, Section, page

    assert "sankey" not in CARTESIAN_TRACES
    chart = {"id": "chart-x", "data": [{"type": "sankey"}], "layout": {}}
    return page("t", [], [Section("x", "X", "", (chart,))], [])


@needs_html
def test_a_chart_the_cartesian_bundle_lacks_takes_the_full_bundle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback: a trace type outside the cartesian bundle embeds the plotly package's full
    bundle; without plotly, one line names the type and how to install it."""
    from convcalc.errors import SpecError
    from convcalc.render import html_page

    html_page.plotly_js.cache_clear()
    try:
        if importlib.util.find_spec("plotly") is not None:
            text = _foreign_chart_page()
            assert CARTESIAN_BANNER not in text and "(full bundle)" in text
            assert re.search(r"/\*\*\n\* plotly\.js v[0-9]", text)
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "plotly" else real(name, *a))
        html_page.plotly_js.cache_clear()
        with pytest.raises(SpecError) as error:
            _foreign_chart_page()
        message = str(error.value)
        assert "\n" not in message and "sankey" in message and "pip install plotly" in message
    finally:
        html_page.plotly_js.cache_clear()


@needs_html
def test_the_resnet50_report_is_smaller(tmp_path: Path) -> None:
    """issue 21's done-when: the resnet50 report embeds the cartesian bundle (1.5 MB), not the
    full one (4.8 MB): 1.7 MB where it was 5.0 MB. The bundle's MIT notice is in the page."""
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["net", "resnet50", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert CARTESIAN_BANNER in text
    assert out.stat().st_size < 2_000_000
    notice = (ROOT / "convcalc" / "render" / "static" / "plotly-cartesian.LICENSE.txt").read_text()
    assert "Permission is hereby granted" in notice and notice.strip() in text


@needs_html
@pytest.mark.parametrize("name", EXAMPLES)
def test_page_is_self_contained(name: str, tmp_path: Path) -> None:
    text = write_html(tmp_path, name, ["net", f"examples/{name}.yaml", "--format", "html"]) \
        .read_text()
    rest = outside_scripts(text)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", rest, re.I)
    assert "<link" not in rest and "@import" not in text and "url(http" not in text
    assert re.findall(r"<script(?: [^>]*)?>", text) == [
        "<script>", '<script type="application/json" id="convcalc-data">', "<script>"]
    assert CARTESIAN_BANNER in text  # every chart drawn by the small bundle
    data = json.loads(re.search(r'id="convcalc-data">(.*?)</script>', text, re.S).group(1))
    assert [f["id"] for f in data["figures"]] == ["chart-cost", "chart-rf", "chart-memory"]
    r = report(name)
    assert text.count('<div class="node ') == len(network_graph(r).nodes)
    table = re.search(r'<table id="layers".*?</table>', text, re.S).group(0)
    assert table.count("<tr>") == len(r.rows) + 2  # the header, the rows, the total


def figures(text: str) -> dict[str, Any]:
    data = json.loads(re.search(r'id="convcalc-data">(.*?)</script>', text, re.S).group(1))
    return {f["id"]: f for f in data["figures"]}


@needs_html
def test_dtype_and_device_reach_the_report(tmp_path: Path) -> None:
    """--dtype sets the report's bytes, --batch its peak, --device adds the roofline chart:
    the roof, and every row that does MACs on it at its intensity (the JSON's numbers)."""
    from fractions import Fraction

    args = ["net", "examples/mobilenet_v2.yaml", "--dtype", "fp16", "--device", "l4",
            "--batch", "2"]
    text = write_html(tmp_path, "mv2", [*args, "--format", "html"]).read_text()
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    totals = data["totals"]
    figs = figures(text)
    assert list(figs) == ["chart-cost", "chart-rf", "chart-memory", "chart-roofline"]
    peak = totals["peak_activation_bytes"]
    from convcalc.render.columns import si
    assert f"{peak // 2:,} elements ({si(peak)}B in fp16)" in text
    roof, *points = figs["chart-roofline"]["data"]
    assert roof["y"][1] == float(Fraction(121, 2) * 10**12)  # L4: 121 dense fp16 TFLOPS / 2
    rows = [r for r in data["layers"] if r["macs"]]
    drawn = sorted(x for p in points for x in p["x"])
    assert drawn == sorted(float(Fraction(r["roofline"]["intensity"])) for r in rows)
    assert sum(len(p["x"]) for p in points if p["name"].startswith("memory")) == \
        sum(1 for r in rows if r["roofline"]["bound"] == "memory")
    assert "time ≥ on l4 (fp16)" in text
    plain = write_html(tmp_path, "plain", ["net", "examples/mobilenet_v2.yaml", "--format",
                                           "html"]).read_text()
    assert "chart-roofline" not in plain and "B in fp32)" in plain
    for cmd in (["layer", "dwsep", "-i", "56x56x128", "--kernel", "3", "--out", "128"],
                ["compare", "-i", "56x56x128", "--kernel", "3", "--out", "128"]):
        page = write_html(tmp_path, cmd[0], [*cmd, "--device", "h100", "--format", "html"])
        assert "chart-roofline" in figures(page.read_text())


@pytest.mark.parametrize("args", [
    ["net", "resnet18", "--format", "mermaid", "--dtype", "fp16"],
    ["net", "resnet18", "--format", "dot", "--device", "h100"],
    ["net", "resnet18", "--format", "html", "--conventions"],
    ["layer", "conv", "-i", "8x8x3", "--kernel", "3", "--out", "4", "--format", "html",
     "--convention", "thop"],
])
def test_options_a_picture_does_not_show_are_refused(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "not shown by --format" in result.stderr



def layers_table(text: str) -> str:
    return re.search(r'<table id="layers".*?</table>', text, re.S).group(0)


@needs_html
def test_without_jinja2_one_line_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from convcalc.render import html_page

    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    html_page._environment.cache_clear()
    try:
        result = runner.invoke(app, ["net", "examples/resnet18.yaml", "--format", "html"])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "needs jinja2" in result.stderr and "pip install 'convcalc[html]'" in result.stderr
    finally:
        html_page._environment.cache_clear()


@needs_html
def test_every_string_is_escaped_by_the_templates() -> None:
    """Autoescaping: text that looks like markup reaches the page as text, in cells, in data-v
    attributes, in captions and in the numbers' tables."""
    from convcalc.render.columns import Column
    from convcalc.render.html_tables import data_table, numbers_table

    nasty = """<script>alert("x")</script> & 'q'"""
    column = Column("path", "layer <b>", lambda r: r["path"], justify="left")
    other = Column("kind", "kind", lambda r: r["kind"], justify="left")
    table = str(data_table([{"path": nasty, "kind": nasty, "depth": 1}], [column, other],
                           caption=nasty, total={"path": nasty, "kind": ""}))
    assert "<script>" not in table and "<b>" not in table
    assert table.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;") == 5
    numbers = str(numbers_table(nasty, [nasty], [[nasty]]))
    assert "<script>" not in numbers and numbers.count("&lt;script&gt;") == 3


@needs_html
def test_the_compare_table_keeps_its_footnote_marks(tmp_path: Path) -> None:
    """issue 18: an inapplicable variant reads `n/a [1]` and a variant that set something the
    user did not carries `[a] [b]`, each pointing at its note under the table, as in the text
    table (octave cannot halve 9×9; dilated pads for itself)."""
    args = ["compare", "-i", "9x9x6", "--out", "8", "--kernel", "3"]
    text = write_html(tmp_path, "compare", [*args, "--format", "html"]).read_text()
    table = layers_table(text)
    assert ">n/a [1]" in table and ">[a] [b]</td>" in table
    notes = re.search(r'<section id="closed-forms".*?</section>', text, re.S).group(0)
    assert "<li>[1] octave does not apply: " in notes and "<li>[a] " in notes
    markdown = runner.invoke(app, [*args, "--format", "markdown"]).stdout
    assert "n/a [1]" in markdown and "[a]" in markdown  # the same marks as the text table


@needs_html
def test_the_report_says_its_batch(tmp_path: Path) -> None:
    text = write_html(tmp_path, "b", ["net", "resnet18", "--batch", "4", "--format", "html"]) \
        .read_text()
    assert "<title>resnet18: 224×224×3 → 1000, batch 4</title>" in text
    assert "<h1>resnet18: 224×224×3 → 1000, batch 4</h1>" in text
    one = write_html(tmp_path, "one", ["net", "resnet18", "--format", "html"]).read_text()
    assert "batch" not in re.search(r"<title>.*?</title>", one).group(0)
    layer = write_html(tmp_path, "l", ["layer", "conv", "-i", "8x8x3", "--kernel", "3", "--out",
                                       "4", "--batch", "2", "--format", "html"]).read_text()
    assert re.search(r"<title>conv: 8×8×3 → 6×6×4, batch 2</title>", layer)


@needs_html
def test_columns_and_units_reach_the_html_report(tmp_path: Path) -> None:
    """issue 18 item 4: --columns and --units shape the HTML report's table too."""
    page = write_html(tmp_path, "net", ["net", "resnet18", "--format", "html", "--columns",
                                        "macs,params", "--units", "M"]).read_text()
    table = layers_table(page)
    head = table.split("</thead>")[0]
    assert head.index("MACs") < head.index("params") and "RF" not in head
    assert "1,814.07 M" in table  # resnet18's MACs in M, as the text table writes them


@needs_html
def test_the_view_chooses_the_columns_and_units() -> None:
    """The interface the CLI's --columns/--units reach the report through: a view with
    `columns` (registry keys, after the layer column) and `units`."""
    from types import SimpleNamespace

    from convcalc.render.html import net_html

    r = report("resnet18")
    view = SimpleNamespace(width=None, units="M", columns=("macs", "params"))
    table = layers_table(net_html(r, network_graph(r), view=view))
    headers = re.findall(r'<th scope="col"[^>]*><button type="button">(.*?)</button>', table)
    assert headers == ["layer", "MACs", "params"]
    conv1 = re.search(r"<tr><td[^>]*>conv1</td>(.*?)</tr>", table).group(1)
    assert re.findall(r">([^<]*)</td>", conv1) == ["118.01 M", "0.01 M"]
    assert f'data-v="{r.rows[0].report.macs}"' in conv1  # sorting keeps the exact count
    plain = layers_table(net_html(r, network_graph(r)))
    assert "118,013,952" in plain and "MACs %" in plain


TRAIN_ARGS = ["net", "examples/mobilenet_v2.yaml", "--train", "--batch", "2", "--dtype", "bf16",
              "--device", "a100-80gb"]


@needs_html
def test_train_report_draws_the_training_step_memory(tmp_path: Path) -> None:
    """`net --train --format html`: the training step's memory chart holds the TrainingReport's
    timeline (forward then backward), its peak star and annotation say peak_bytes and where;
    the numbers table has every point; the header has the training totals."""
    from convcalc.training import train

    text = write_html(tmp_path, "train", [*TRAIN_ARGS, "--format", "html"]).read_text()
    figs = figures(text)
    assert list(figs) == ["chart-cost", "chart-rf", "chart-memory", "chart-training-memory",
                          "chart-roofline"]
    totals = json.loads(runner.invoke(app, [*TRAIN_ARGS, "--format", "json"]).stdout)["training"]
    timeline = train(convcalc.analyze_network(str(ROOT / "examples" / "mobilenet_v2.yaml"),
                                              batch=2), dtype="bf16").peak.timeline
    *lines, star = figs["chart-training-memory"]["data"]
    drawn = [(name.split(" ")[0], op, y) for t in lines
             for name, op, y in zip([t["name"]] * len(t["x"]), t["customdata"], t["y"],
                                    strict=True)]
    assert drawn == list(timeline)
    assert [x for t in lines for x in t["x"]] == list(range(len(timeline)))
    peak = totals["peak_bytes"]
    assert star["y"] == [peak] and max(y for *_, y in timeline) == peak
    assert timeline[star["x"][0]][2] == peak
    annotation = next(a for a in figs["chart-training-memory"]["layout"]["annotations"]
                      if a["text"].startswith("peak"))
    assert annotation["text"].startswith(f"peak {peak:,} bytes")
    assert annotation["text"].endswith(f"at {totals['peak_at']}")
    assert (annotation["x"], annotation["y"]) == (star["x"][0], peak)
    boundary = next(a for a in figs["chart-training-memory"]["layout"]["annotations"]
                    if a["text"] == "forward | backward")
    assert boundary["x"] == sum(1 for p, *_ in timeline if p == "forward") - 0.5
    section = re.search(r'<section[^>]*id="training-memory".*?</section>', text, re.S).group(0)
    assert section.count("<tr>") == len(timeline) + 1  # the header, one row per op
    summary = text[:text.index('id="layers"')]
    for key in ("forward_macs", "backward_macs", "saved_activation_bytes", "param_bytes",
                "grad_bytes", "optimizer_bytes", "peak_bytes"):
        assert f"{totals[key]:,}" in summary, key
    assert totals["fits"] is True and "fits in 80,000,000,000 bytes" in summary
    out = tmp_path / "r.html"
    result = runner.invoke(app, [*TRAIN_ARGS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "chart-training-memory" in figures(out.read_text())


# --- in the browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if importlib.util.find_spec("jinja2") is None:
        pytest.skip("the html extra is absent (pip install 'convcalc[html]')")
    why = available()
    if why:
        pytest.skip(f"no headless browser: {why}")
    with Browser(1280, 900) as b:
        yield b


def thumbnail(png: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("L").resize((320, 160))


def ink_mismatch(a: Any, b: Any) -> float:
    """How much of two pictures' ink (dark pixels) the other lacks, allowing a shift of a pixel
    or two (each mask compared with the other dilated): 0 the same drawing, 1 nothing shared."""
    from PIL import ImageChops, ImageFilter

    def ink(image: Any) -> Any:
        return image.point(lambda v: 255 if v < 170 else 0)

    ink_a, ink_b = ink(a), ink(b)
    wide_a, wide_b = ink_a.filter(ImageFilter.MaxFilter(5)), ink_b.filter(ImageFilter.MaxFilter(5))
    lost = ImageChops.subtract(ink_a, wide_b).histogram()[255] + \
        ImageChops.subtract(ink_b, wide_a).histogram()[255]
    total = ink_a.histogram()[255] + ink_b.histogram()[255]
    return lost / total if total else 0.0


def loosely_equal(name: str, png: bytes, request: pytest.FixtureRequest) -> None:
    """The chart looks like the committed thumbnail: at most 6 % of the ink differs (a moved
    bar, a missing line or a blank chart differ far more; anti-aliasing and a font's hinting
    much less)."""
    from PIL import Image

    shot = thumbnail(png)
    path = SHOTS / f"{name}.png"
    if request.config.getoption("--update-golden") or not path.exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot.save(path, optimize=True)
        if not request.config.getoption("--update-golden"):
            pytest.fail(f"missing {path}: written; review and commit it")
    reference = Image.open(path).convert("L")
    mismatch = ink_mismatch(shot, reference)
    assert mismatch <= 0.06, f"{name}: {mismatch:.0%} of the ink differs from {path}"


def test_the_screenshot_comparison_tells_charts_apart() -> None:
    """The loose comparison still sees a blank chart and another network's chart."""
    from PIL import Image

    memory = Image.open(SHOTS / "resnet50-chart-memory.png").convert("L")
    assert ink_mismatch(memory, memory) == 0
    assert ink_mismatch(memory, Image.new("L", memory.size, 255)) == 1
    assert ink_mismatch(memory, Image.open(SHOTS / "vgg16-chart-memory.png").convert("L")) > 0.2
    cost = Image.open(SHOTS / "resnet50-chart-cost.png").convert("L")
    assert ink_mismatch(cost, Image.open(SHOTS / "resnet18-chart-cost.png").convert("L")) > 0.08
    assert ink_mismatch(cost, Image.open(SHOTS / "mobilenet_v2-chart-cost.png").convert("L")) > 0.3


def check_clean(page: Any, path: Path) -> None:
    page.wait_for('document.body.getAttribute("data-charts") === "drawn"', timeout=120)
    page.browser.pump(0.2)
    assert page.console_errors == []
    assert page.requests == [path.resolve().as_uri()]


@pytest.mark.parametrize("name", EXAMPLES)
def test_net_report_in_the_browser(name: str, browser: Browser, tmp_path: Path,
                                   request: pytest.FixtureRequest) -> None:
    path = write_html(tmp_path, name, ["net", f"examples/{name}.yaml", "--format", "html"])
    page = browser.open(path)
    try:
        check_clean(page, path)
        r = report(name)
        graph = network_graph(r)
        stages = collapse(net_rows(r), 1, r)
        count = page.evaluate
        assert count("document.querySelectorAll('.js-plotly-plot').length") == 3
        assert count("document.querySelectorAll('#chart-cost .trace.bars .point').length") == \
            2 * len(stages)
        assert count("document.querySelectorAll('#chart-rf .scatterlayer .trace').length") >= 2
        assert count("document.querySelectorAll('#chart-memory .scatterlayer .trace').length") \
            == 3
        assert count("document.querySelectorAll('.graph .node').length") == len(graph.nodes)
        drawn_groups = sum(1 for g in graph.groups if any(True for _ in graph.children(g.id)))
        assert count("document.querySelectorAll('.graph details').length") == drawn_groups
        assert count("document.querySelectorAll('#layers tbody tr').length") == len(r.rows)
        # sorting by MACs, twice: the most expensive layer comes first
        page.evaluate("document.querySelectorAll('#layers th button')[4].click()")
        page.evaluate("document.querySelectorAll('#layers th button')[4].click()")
        first = count("document.querySelector('#layers tbody tr td').textContent")
        assert first == max(r.rows, key=lambda row: row.report.macs).path or \
            max(row.report.macs for row in r.rows) == next(
                row.report.macs for row in r.rows if row.path == first)
        for chart in ("chart-cost", "chart-memory"):
            loosely_equal(f"{name}-{chart}", page.screenshot(page.element_box(f"#{chart}")),
                          request)
    finally:
        page.close()


def test_the_packaged_bundle_draws_the_trace_types_it_is_chosen_for(browser: Browser,
                                                                     tmp_path: Path) -> None:
    """The trace types convcalc takes the cartesian bundle for are those the bundle registers
    (read from plotly.js itself in the page), and they hold every type the report draws."""
    from convcalc.render.html_page import CARTESIAN_TRACES

    path = write_html(tmp_path, "types", [*TRAIN_ARGS, "--format", "html"])
    page = browser.open(path)
    try:
        check_clean(page, path)
        registered = page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)")
        assert set(registered) == CARTESIAN_TRACES
        used = page.evaluate("JSON.parse(document.getElementById('convcalc-data').textContent)"
                             ".figures.map(function (f) { return f.data.map(function (t) {"
                             " return t.type; }); })")
        assert {t for types in used for t in types} <= CARTESIAN_TRACES
    finally:
        page.close()


def test_layer_and_compare_reports_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    cases = {"layer": ["layer", "dwsep", "-i", "12x12x3", "--kernel", "5", "--out", "256",
                       "--no-bias", "--format", "html"],
             "compare": ["compare", "-i", "12x12x3", "--kernel", "5", "--out", "256",
                         "--no-bias", "--format", "html"]}
    for name, args in cases.items():
        path = write_html(tmp_path, name, args)
        page = browser.open(path)
        try:
            check_clean(page, path)
            bars = page.evaluate("document.querySelectorAll('#chart-cost .trace.bars .point')"
                                 ".length")
            if name == "layer":
                assert bars == 2 * 2  # the depthwise and pointwise parts, MACs and params
            else:
                comparison = convcalc.compare.compare("12x12x3", {"out": 256, "kernel": 5,
                                                                   "bias": False})
                applicable = sum(1 for r in comparison.results if r.report is not None)
                assert bars == 2 * applicable
                text = page.evaluate("document.getElementById('closed-forms').textContent")
                assert "1/N + 1/K² (MobileNet) = 1/256 + 1/5² = 4.39 %" in text
        finally:
            page.close()


def test_the_roofline_chart_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    path = write_html(tmp_path, "roof", ["net", "examples/efficientnet_b0.yaml", "--device",
                                         "rtx-4090", "--dtype", "fp16", "--format", "html"])
    page = browser.open(path)
    try:
        check_clean(page, path)
        r = report("efficientnet_b0")
        assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 4
        points = page.evaluate("document.querySelectorAll('#chart-roofline .scatterlayer "
                               ".trace .point').length")
        assert points == sum(1 for row in r.rows if row.report.macs)
        caption = page.evaluate("document.querySelector('#roofline figcaption').textContent")
        assert "NVIDIA GeForce RTX 4090 in fp16" in caption and "lower bound" in caption
    finally:
        page.close()


def test_train_report_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    path = write_html(tmp_path, "train", [*TRAIN_ARGS, "--format", "html"])
    page = browser.open(path)
    try:
        check_clean(page, path)
        assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 5
        assert page.evaluate("document.querySelectorAll('#chart-training-memory .scatterlayer "
                             ".trace').length") == 3
        caption = page.evaluate("document.querySelector('#training-memory figcaption')"
                                ".textContent")
        assert "Peak" in caption and "backward" in caption
    finally:
        page.close()


def test_ten_thousand_layers_open_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    spec = tmp_path / "residual10000.yaml"
    spec.write_text(residual_spec(10_000))
    path = write_html(tmp_path, "big", ["net", str(spec), "--format", "html"])
    page = browser.open(path, timeout=180)
    try:
        check_clean(page, path)
        graph = network_graph(convcalc.analyze_network(str(spec)))
        assert page.evaluate("document.querySelectorAll('.graph .node').length") == \
            len(graph.nodes)
        assert page.evaluate("document.querySelectorAll('#layers tbody tr').length") == 10_000
    finally:
        page.close()


def test_mermaid_draws_every_example_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """Mermaid itself (tests/js/node_modules/mermaid) draws each example's diagram to SVG, with
    a drawn node per graph node."""
    bundle = JS / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if not bundle.exists():
        pytest.skip("tests/js/node_modules absent (npm ci --prefix tests/js)")
    graphs = {name: network_graph(report(name)) for name in EXAMPLES}
    too_big = {name for name, g in graphs.items() if mermaid_warning(to_mermaid(g))}
    # a diagram past Mermaid's defaults carries the warning, and Mermaid itself refuses it (one
    # error node); the folded diagram the warning suggests (--depth N) is drawn in full
    refused = {name: to_mermaid(graphs[name]) for name in too_big}
    for name in too_big:
        graphs[name] = next(folded for depth in range(4, 0, -1)
                            if not mermaid_warning(to_mermaid(folded := graphs[name].collapse(depth))))
    diagrams = {name: to_mermaid(g) for name, g in graphs.items()}
    page_file = tmp_path / "mermaid.html"
    page_file.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><script>" + bundle.read_text() +
        "</script></head><body><script>mermaid.initialize({startOnLoad: false});"
        f"window.diagrams = {json.dumps(diagrams)};</script></body></html>", encoding="utf-8")
    page = browser.open(page_file)
    try:
        for name, g in graphs.items():
            drawn = page.evaluate(
                f"mermaid.render('d{len(name)}x', window.diagrams[{json.dumps(name)}]).then("
                "function (r) { var box = document.createElement('div'); box.innerHTML = r.svg;"
                " return {nodes: box.querySelectorAll('g.node').length,"
                " clusters: box.querySelectorAll('g.cluster').length,"
                " error: r.svg.indexOf('Syntax error') >= 0}; })", await_promise=True)
            assert drawn["error"] is False, name
            assert drawn["nodes"] == len(g.nodes), name
        for name, text in refused.items():
            drawn = page.evaluate(
                f"mermaid.render('r{len(name)}x', {json.dumps(text)}).then(function (r) {{"
                " var box = document.createElement('div'); box.innerHTML = r.svg;"
                " return box.querySelectorAll('g.node').length; },"
                " function (e) { return -1; })", await_promise=True)
            assert drawn in (-1, 0, 1), name
        assert page.console_errors == []
        assert page.requests == [page_file.resolve().as_uri()]
    finally:
        page.close()

"""The text formats: every option honoured (--columns, --units, the batch), every cell encoded
for its grammar (Markdown, CSV, LaTeX, the terminal) so a hostile name changes neither a count
nor the structure of the output, long paths shortened rather than wrapped at 80 columns, and
every command's -h naming its formats and inputs."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.render.text import csv_cell, markdown_text

ROOT = Path(__file__).resolve().parent.parent
NASTY = ROOT / "tests" / "fixtures" / "nasty_names.yaml"
DENSENET = ROOT / "tests" / "fixtures" / "imported" / "torch" / "densenet121.yaml"
runner = CliRunner()

HOSTILE = """\
name: "n\\e[31m<b>|red"
input: 8x8x3
layers:
  - conv: {name: "c|y=1", out: 4, kernel: 3}
  - relu: {name: "=HYPERLINK(\\"http://x\\",\\"y\\")"}
  - conv: {name: "-2+3", out: 4, kernel: 1}
  - conv: {name: "<img src=x onerror=alert(1)>", out: 4, kernel: 1}
  - conv: {name: "@SUM(A1)`x`**b**[l](javascript:x)", out: 4, kernel: 1}
  - conv: {name: "+cmd", out: 4, kernel: 1}
  - conv: {name: "# head \\\\ _x_ ~~s~~ &amp;", out: 4, kernel: 1}
"""


def run(args: list[str], **kwargs: object) -> str:
    result = runner.invoke(app, args, **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(params=["hostile", "nasty"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "nasty":
        return NASTY
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def md_cells(line: str) -> list[str]:
    """A Markdown table row's cells, split at unescaped pipes (as GitHub does)."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_a_hostile_name_round_trips_through_every_format(spec: Path) -> None:
    """The counts are the same in every format and each format's structure is intact: CSV
    parses to the same number of columns per row and gives every layer; each Markdown row has
    as many cells as the header and no raw HTML; LaTeX is ASCII with balanced braces; the
    table has no control character."""
    data = json.loads(run(["net", str(spec), "-f", "json"]))
    paths = [row["path"] for row in data["layers"]]
    totals = data["totals"]

    rows = list(csv.reader(io.StringIO(run(["net", str(spec), "-f", "csv"]))))
    assert {len(r) for r in rows} == {len(rows[0])}
    assert len(rows) == len(paths) + 1
    header = rows[0]
    assert sum(int(r[header.index("params")]) for r in rows[1:]) == totals["params"]
    assert sum(int(r[header.index("macs")]) for r in rows[1:]) == totals["macs"]
    for cell, path in zip((r[0] for r in rows[1:]), paths, strict=True):
        assert cell in (path, "'" + path) or "\\x" in cell
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or re.fullmatch(r"-\d+", cell)

    markdown = run(["net", str(spec), "-f", "markdown"])
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    width = len(md_cells(table[0]))
    assert all(len(md_cells(line)) == width for line in table)
    assert len(table) == 2 + len(paths) + 1  # header, rule, layers, total
    assert "<img" not in markdown and "<b>" not in markdown and "<script" not in markdown
    assert "](" not in markdown.replace("\\](", "")
    assert f"| {totals['params']:,} |" in table[-1]

    latex = run(["net", str(spec), "-f", "latex"])
    assert latex.isascii()
    unescaped = re.sub(r"\\[{}]", "", latex)
    assert unescaped.count("{") == unescaped.count("}")
    assert f"{totals['macs']:,}" in latex

    text = run(["net", str(spec)])
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert f"{totals['params']:,}" in text


def test_csv_cells_are_neutralised_as_owasp_recommends() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "\rx", "a=b")] == [
        "'=1+1", "'+x", "'-x", "'@x", "'\\tx", "'\\rx", "a=b"]
    # numbers, fractions and per-axis values are data, not text
    assert [csv_cell(v) for v in (-3, "-3", "-1/2", "-2x-2", [-2, -2], 0)] == [
        -3, "-3", "-1/2", "-2x-2", "-2x-2", 0]


def test_negative_numbers_stay_numbers_in_csv() -> None:
    """diff's deltas are negative: CSV keeps them numeric."""
    rows = list(csv.DictReader(io.StringIO(run(["diff", "resnet50", "resnet18", "-f", "csv"]))))
    total = rows[-1]
    assert int(total["delta_params"]) < 0 and not total["delta_params"].startswith("'")


@pytest.mark.parametrize(("text", "shown"), [
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("a|b", "a\\|b"), ("`x`", "\\`x\\`"), ("[l](javascript:x)", "[l\\](javascript:x)"),
    ("**b**", "\\*\\*b\\*\\*"), ("_x_", "\\_x\\_"), ("conv_1", "conv_1"), ("[a] note", "[a] note"),
    ("a\nb", "a<br>b"), ("\x1b[2J", "\\\\x1b[2J")])
def test_markdown_cells_are_escaped(text: str, shown: str) -> None:
    assert markdown_text(text) == shown


# --- --columns and --units in every text format ------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "csv"])
def test_columns_choose_the_columns_of_every_text_format(fmt: str) -> None:
    out = run(["net", "resnet18", "--depth", "1", "--columns", "params,weights,flops", "-f", fmt])
    if fmt == "csv":
        assert out.splitlines()[0] == "path,params,weight_params,flops"
        return
    header = next(line for line in out.splitlines() if "params" in line and "weights" in line)
    assert re.findall(r"layer|params|weights|FLOPs|MACs|kind|RF", header) == [
        "layer", "params", "weights", "FLOPs"]


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv", "table"])
def test_compare_columns(fmt: str) -> None:
    out = run(["compare", "--input", "12x12x3", "--kernel", "5", "--out", "256", "--columns",
               "macs,ratio", "-f", fmt])
    header = next(line for line in out.splitlines()
                  if "variant" in line and ("MACs" in line or "macs" in line))
    assert "FLOPs" not in header and "flops" not in header and "params" not in header
    assert re.findall(r"MACs \\?%|MACs|macs_ratio|macs", header) in (["MACs", "MACs %"],
                                                                      ["MACs", "MACs \\%"],
                                                                  ["macs", "macs_ratio"])


def test_json_keeps_its_contract_whatever_columns_and_units_say() -> None:
    plain = run(["net", "resnet18", "-f", "json"])
    assert run(["net", "resnet18", "-f", "json", "--columns", "params", "--units", "M"]) == plain


def test_units_in_markdown_latex_and_csv() -> None:
    data = json.loads(run(["net", "resnet18", "-f", "json"]))
    first = data["layers"][0]
    markdown = run(["net", "resnet18", "--units", "M", "-f", "markdown"])
    assert "| 118.01 M |" in markdown
    assert "118.01 M" in run(["net", "resnet18", "--units", "M", "-f", "latex"])
    rows = list(csv.DictReader(io.StringIO(run(["net", "resnet18", "--units", "M", "-f",
                                                 "csv"]))))
    assert "macs_M" in rows[0] and "macs" not in rows[0]
    from fractions import Fraction

    assert Fraction(rows[0]["macs_M"]) * 10**6 == first["macs"]  # exact, no float
    assert rows[0]["rf_size"] == "7x7"  # not a count: unchanged
    assert "118,013,952" in run(["net", "resnet18", "--units", "none", "-f", "markdown"])


def test_layer_units_in_markdown() -> None:
    out = run(["layer", "conv", "--input", "224x224x3", "--kernel", "7", "--out", "64",
               "--stride", "2", "--padding", "3", "--units", "k", "-f", "markdown"])
    assert "118,013.95 k" in out


# --- the batch in every title and header ---------------------------------------------------

LAYER = ["layer", "conv", "--input", "12x12x3", "--kernel", "5", "--out", "8"]
COMPARE = ["compare", "--input", "12x12x4", "--kernel", "5", "--out", "8"]


@pytest.mark.parametrize("args", [LAYER, COMPARE, ["net", "resnet18", "--depth", "1"],
                                  ["net", "resnet18", "--by", "kind"],
                                  [*COMPARE, "--variants", "conv,grouped", "--sweep",
                                   "groups=1,2"]],
                         ids=["layer", "compare", "net", "by-kind", "sweep"])
def test_the_batch_is_in_every_title(args: list[str]) -> None:
    for fmt in ("table", "markdown", "latex"):
        assert "batch 32" in run([*args, "--batch", "32", "-f", fmt]), fmt
        assert not re.search(r"batch \d", run([*args, "-f", fmt])), fmt
    rows = list(csv.DictReader(io.StringIO(run([*args, "--batch", "32", "-f", "csv"]))))
    assert all(r["batch"] == "32" for r in rows)
    assert "batch" not in run([*args, "-f", "csv"]).splitlines()[0]


def test_batch_from_a_channels_first_input_is_in_the_title() -> None:
    """N×C×D×H×W gives the batch (four numbers without a spec's rank are ambiguous and refused:
    issue 22 item 7)."""
    out = run(["layer", "conv", "--input", "4x3x8x12x12", "--channels-first", "--kernel", "5",
               "--out", "8"])
    assert out.startswith("conv, batch 4")


# --- long paths at 80 columns ------------------------------------------------------------------

def test_long_paths_at_80_columns_are_shortened_not_wrapped() -> None:
    data = json.loads(run(["net", str(DENSENET), "-f", "json"]))
    n = len(data["layers"])
    out = run(["net", str(DENSENET), "--width", "80"])
    first = out.split("\n\n")[1]  # the first table: header, rule, one line per layer
    lines = first.splitlines()
    assert len(lines) == 2 + n
    assert all(len(line) <= 80 for line in out.splitlines())
    assert any(line.startswith(" …") and "layer16.conv2 " in line for line in lines)
    assert "names shortened from the left to fit 80 columns" in out
    longest = max(paths := [row["path"] for row in data["layers"]], key=len)
    assert len(longest) > 40 and f" {longest} " not in first
    assert f" {longest} " in out  # the second table, with fewer columns, has room for it
    piped = run(["net", str(DENSENET)])
    assert all(f" {p} " in piped for p in paths) and "…" not in piped


def test_shorten_name() -> None:
    from convcalc.render.layout import shorten_name

    path = "features.denseblock4.denselayer16.conv2"
    assert shorten_name(path, 40) == path
    assert shorten_name(path, 24) == "….denselayer16.conv2"
    assert shorten_name(path, 24, ascii=True) == "....denselayer16.conv2"
    assert shorten_name("  " + path, 16) == "  …layer16.conv2"
    assert all(len(shorten_name(path, w)) <= w for w in range(1, 45))


# --- help names the formats and the inputs --------------------------------------------------

@pytest.mark.parametrize(("command", "formats", "inputs"), [
    ("layer", ["table", "json", "csv", "markdown", "latex", "html"], []),
    ("compare", ["table", "json", "csv", "markdown", "latex", "html"], []),
    ("net", ["table", "json", "csv", "markdown", "latex", "mermaid", "dot", "html"],
     [".yaml", "bundled", ".onnx", "- for"]),
    ("diff", ["table", "json", "csv", "markdown", "latex", "mermaid", "dot"],
     [".yaml", "bundled", ".onnx", "- for"]),
    ("export", [], [".yaml", "bundled", ".onnx", "- for"]),
    ("solve", ["table", "json", "csv", "markdown", "latex"], []),
    ("kinds", ["table", "json", "csv", "markdown", "latex"], []),
    ("examples", ["table", "json", "csv", "markdown", "latex"], []),
])
def test_help_lists_formats_and_inputs(command: str, formats: list[str],
                                       inputs: list[str]) -> None:
    out = " ".join(run([command, "-h"], env={"COLUMNS": "200"}).split())
    for name in [*formats, *inputs]:
        assert name in out, (command, name)


# --- graphs: params beside MACs ---------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_nodes_carry_params_and_macs(fmt: str) -> None:
    out = run(["net", "resnet18", "--depth", "1", "-f", fmt])
    assert "9.41 k params · 118.01 M MACs" in out


def test_layer_table_honours_units() -> None:
    """issue 18 item 4 (found in review): the one-layer table printed whole counts under
    --units k while Markdown and CSV scaled them."""
    out = run(["layer", "conv", "--input", "120x120x3", "--kernel", "5", "--out", "8",
               "--units", "k"])
    assert "8,073.60 k" in out and "0.61 k" in out and "8,073,600" not in out
    whole = run(["layer", "conv", "--input", "120x120x3", "--kernel", "5", "--out", "8"])
    assert "8,073,600" in whole


def test_diff_deltas_follow_units() -> None:
    """issue 18 item 4 (found in review): `diff --units M` scaled the sides but left the Δ
    cells and the totals whole (+13,867,520 beside 11.69 M)."""
    out = run(["diff", "resnet18", "resnet50", "--units", "M", "--depth", "1"])
    assert "+13.87 M" in out and "+2,275.11 M" in out and "13,867,520" not in out
    assert " +98 " in out  # the layer count is a count of layers, never scaled
    assert "+13,867,520" in run(["diff", "resnet18", "resnet50"])

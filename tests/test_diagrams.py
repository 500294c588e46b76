"""`convcalc net --format mermaid|dot`: golden files, Mermaid's own parser (node, tests/js), a
structural check of the Mermaid grammar where node is absent, Graphviz where installed."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app
from convcalc.graph import Graph, network_graph
from convcalc.render.diagram import mermaid_text, node_lines, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
JS = Path(__file__).parent / "js"
NASTY = Path(__file__).parent / "fixtures" / "nasty_names.yaml"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
runner = CliRunner()


@cache
def graph_of(path: str, depth: int | None = None) -> Graph:
    g = network_graph(convcalc.analyze_network(path))
    return g if depth is None else g.collapse(depth)


def example(name: str) -> str:
    return str(ROOT / "examples" / f"{name}.yaml")


CASES = [(name, depth) for name in EXAMPLES for depth in (None, 1)] + [(str(NASTY), None)]


def case_path(name: str) -> str:
    return name if name.endswith(".yaml") else example(name)


# --- golden files -----------------------------------------------------------------------------

GOLDEN_CASES = [(f"net-{name}.{fmt}", ["net", f"examples/{name}.yaml", "--format", fmt, *extra])
                for name, extra in (("resnet18", []), ("unet_small", []),
                                    ("shufflenet_v2_x1_0", ["--depth", "2"]))
                for fmt in ("mermaid", "dot")]


@pytest.mark.parametrize(("name", "args"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_golden(name: str, args: list[str], request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    path = GOLDEN / f"{name}{'-depth2' if '--depth' in args else ''}.txt"
    if request.config.getoption("--update-golden"):
        path.write_text(result.stdout)
    assert path.exists(), f"missing golden file {path}; run with --update-golden"
    assert result.stdout == path.read_text()


# --- Mermaid ------------------------------------------------------------------------------------

_ID = r"(?:[ab]?[nbg][0-9]+|[ab])"  # a diff prefixes each side's ids with a or b
_LABEL = r'"[^"\n]*"'
MERMAID_LINES = [
    r"flowchart TD",
    r"---", r'title: "(?:[^"\\]|\\.)*"',
    rf"(?P<node>{_ID})(?:\(\[{_LABEL}\]\)|\(\({_LABEL}\)\)|\[/{_LABEL}\\\]|\[\[{_LABEL}\]\]"
    rf"|\[{_LABEL}\])",
    rf"subgraph (?P<group>{_ID})\[{_LABEL}\]",
    r"end",
    rf"(?P<source>{_ID}) -->\|{_LABEL}\| (?P<target>{_ID})",
    rf"class {_ID} (input|merge|split|block)",
    r"classDef (input|merge|split|block) [a-z0-9:#,-]+",
]


def structure(text: str) -> dict[str, int]:
    """Every line is one statement of the flowchart grammar we use; labels hold no quote, no
    bracket, no pipe, no # other than entity codes; ids are declared once; subgraphs close."""
    nodes: set[str] = set()
    groups: set[str] = set()
    edges = 0
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        match = next((m for p in MERMAID_LINES if (m := re.fullmatch(p, stripped))), None)
        assert match is not None, f"not a Mermaid statement: {line!r}"
        for label in re.findall(r'"([^"]*)"', stripped) if not stripped.startswith("title") else []:
            bare = re.sub(r"#[0-9]+;", "", label.replace("<br>", ""))
            assert not re.search(r"[\[\]{}()|<>;`\\#&]", bare), label
        found = match.groupdict()
        if found.get("node"):
            assert found["node"] not in nodes, f"duplicate id {found['node']}"
            nodes.add(found["node"])
        if found.get("group"):
            assert found["group"] not in groups and found["group"] not in nodes
            groups.add(found["group"])
            depth += 1
        if stripped == "end":
            depth -= 1
            assert depth >= 0
        if found.get("source"):
            assert found["source"] in nodes and found["target"] in nodes
            edges += 1
    assert depth == 0
    return {"vertices": len(nodes), "edges": edges, "subgraphs": len(groups)}


def expected(g: Graph) -> dict[str, int]:
    groups_used = {n.group for n in g.nodes}
    return {"vertices": len(g.nodes), "edges": len(g.edges),
            "subgraphs": sum(1 for grp in g.groups if grp.id in groups_used or any(
                other.parent == grp.id for other in g.groups))}


@pytest.mark.parametrize(("name", "depth"), CASES, ids=[f"{Path(n).stem}-{d}" for n, d in CASES])
def test_mermaid_structure(name: str, depth: int | None) -> None:
    g = graph_of(case_path(name), depth)
    assert structure(to_mermaid(g)) == expected(g)


def node_available() -> bool:
    return shutil.which("node") is not None and (JS / "node_modules" / "mermaid").is_dir()


def decode(label: str) -> str:
    """Mermaid's parser keeps entity codes as placeholders until it draws: undo them."""
    return re.sub(r"ﬂ°°([0-9]+)¶ß", lambda m: chr(int(m.group(1))), label)


def test_mermaid_parses_with_mermaid(tmp_path: Path) -> None:
    """Every example (every layer, and folded at --depth 1) and a spec of hostile names parse
    with Mermaid's grammar (the mermaid npm package under node), with the vertices, edges,
    subgraphs and labels the graph has."""
    if not node_available():
        pytest.skip("node or tests/js/node_modules absent (npm ci --prefix tests/js); the "
                    "structural check ran instead")
    files, graphs = [], []
    for i, (name, depth) in enumerate(CASES):
        g = graph_of(case_path(name), depth)
        path = tmp_path / f"{i}.mmd"
        path.write_text(to_mermaid(g))
        files.append(str(path))
        graphs.append(g)
    done = subprocess.run(["node", str(JS / "parse_mermaid.mjs"), *files], capture_output=True,
                          text=True, check=True, timeout=300)
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(files)
    for result, g in zip(results, graphs, strict=True):
        assert result["ok"], result
        assert result["type"] == "flowchart-v2"
        assert {k: result[k] for k in ("vertices", "edges", "subgraphs")} == expected(g)
        labels = [decode(label) for label in result["labels"]]
        assert labels == ["<br>".join(node_lines(n)) for n in g.nodes]


def test_mermaid_rejects_what_it_should() -> None:
    """The parser run is a real check: broken text fails it."""
    if not node_available():
        pytest.skip("node or tests/js/node_modules absent")
    bad = to_mermaid(graph_of(example("resnet18"))).replace('n1["conv1', 'n1["con"v1', 1)
    done = subprocess.run(["node", str(JS / "parse_mermaid.mjs"), "/dev/stdin"], input=bad,
                          capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(done.stdout)["ok"] is False
    with pytest.raises(AssertionError):
        structure(bad)


# --- DOT ----------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz absent (apt-get install graphviz)")
@pytest.mark.parametrize(("name", "depth"), CASES, ids=[f"{Path(n).stem}-{d}" for n, d in CASES])
def test_dot_renders_with_graphviz(name: str, depth: int | None) -> None:
    g = graph_of(case_path(name), depth)
    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(g), capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr
    svg = done.stdout
    assert svg.count('class="node"') == len(g.nodes)
    assert svg.count('class="edge"') == len(g.edges)
    assert svg.count('class="cluster"') == expected(g)["subgraphs"]
    texts = {html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    for n in g.nodes:  # every label line is drawn as a text line
        for line in node_lines(n):
            assert line in texts, line


# --- the command line ---------------------------------------------------------------------------

def test_cli_refusals() -> None:
    for args, words in [
        (["layer", "conv", "--input", "8x8x3", "--kernel", "3", "--out", "4", "--format",
          "mermaid"], "use it with `convcalc net`"),
        (["net", example("resnet18"), "--format", "dot", "--top", "3"], "--top is not used"),
        (["net", example("resnet18"), "--format", "mermaid", "--explain"], "--explain"),
        (["kinds", "--format", "dot"], "not used with `convcalc kinds`"),
        (["compare", "--input", "8x8x4", "--kernel", "3", "--out", "8", "--sweep",
          "kernel=1,3", "--format", "html"], "compare --sweep"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr
        assert result.stdout == ""


def test_mermaid_too_large_for_github_is_said(tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text("name: long\ninput: 8x8x4\nlayers:\n  - repeat: 600\n    body: [relu]\n")
    result = runner.invoke(app, ["net", str(spec), "--format", "mermaid"])
    assert result.exit_code == 0
    assert "600 edges (at most 500)" in result.stderr and "--depth" in result.stderr
    folded = runner.invoke(app, ["net", str(spec), "--format", "mermaid", "--depth", "0"])
    assert folded.exit_code == 0 and folded.stderr == ""


def test_docs_show_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/pictures.md's Mermaid block is the command's whole output, its DOT block the start."""
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "pictures.md").read_text()
    mermaid = runner.invoke(app, ["net", "examples/resnet18.yaml", "--format", "mermaid",
                                  "--depth", "1"]).stdout
    assert f"```mermaid\n{mermaid}```" in text
    dot = runner.invoke(app, ["net", "examples/unet_small.yaml", "--format", "dot", "--depth",
                              "1"]).stdout
    block = text.split("```dot\n", 1)[1].split("```", 1)[0]
    assert dot.startswith(block) and len(block.splitlines()) >= 10


# --- convcalc diff as a picture ----------------------------------------------------------------

DIFF_CASES = [(["mobilenet_v2", "mobilenet_v2", "--set-b", "width=0.75"], 1),
              (["resnet18", "resnet50"], 2), (["unet_small", str(NASTY)], 1)]


def diff_graphs(args: list[str], depth: int) -> tuple[Graph, Graph]:
    from convcalc.cli import parse_sets
    from convcalc.engine import analyze_network

    sets = parse_sets(args[3:4]) if len(args) > 2 else {}
    a = network_graph(analyze_network(args[0])).collapse(depth)
    b = network_graph(analyze_network(args[1], params=sets)).collapse(depth)
    return a, b


def run_diff(args: list[str], depth: int, fmt: str) -> str:
    done = runner.invoke(app, ["diff", *args, "--depth", str(depth), "--format", fmt])
    assert done.exit_code == 0, done.output
    return done.stdout


@pytest.mark.parametrize(("args", "depth"), DIFF_CASES, ids=["width", "resnets", "nasty"])
def test_diff_mermaid_holds_both_graphs(args: list[str], depth: int, tmp_path: Path) -> None:
    """`convcalc diff --format mermaid`: both graphs whole in one flowchart (two more
    subgraphs), ids kept apart, each node that differs from the other side's node at the same
    path labelled with the exact difference; Mermaid's parser accepts it where node is present."""
    a, b = diff_graphs(args, depth)
    text = run_diff(args, depth, "mermaid")
    want = {k: expected(a)[k] + expected(b)[k] for k in ("vertices", "edges", "subgraphs")}
    want["subgraphs"] += 2
    assert structure(text) == want
    by_path = {n.path: n for n in a.nodes if n.role in ("layer", "block") and n.path}
    from convcalc.render.columns import si

    for n in b.nodes:
        other = by_path.get(n.path) if n.role in ("layer", "block") and n.path else None
        if other is not None and other.macs != n.macs:
            d = n.macs - other.macs
            assert mermaid_text(f"Δ MACs {'+' if d > 0 else '−'}{si(abs(d))}") in text
    if node_available():
        path = tmp_path / "diff.mmd"
        path.write_text(text)
        done = subprocess.run(["node", str(JS / "parse_mermaid.mjs"), str(path)],
                              capture_output=True, text=True, check=True, timeout=120)
        result = json.loads(done.stdout)
        assert result["ok"], result
        assert {k: result[k] for k in ("vertices", "edges", "subgraphs")} == want


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz absent (apt-get install graphviz)")
@pytest.mark.parametrize(("args", "depth"), DIFF_CASES, ids=["width", "resnets", "nasty"])
def test_diff_dot_renders(args: list[str], depth: int) -> None:
    a, b = diff_graphs(args, depth)
    done = subprocess.run(["dot", "-Tsvg"], input=run_diff(args, depth, "dot"),
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    assert done.stdout.count('class="node"') == len(a.nodes) + len(b.nodes)
    assert done.stdout.count('class="edge"') == len(a.edges) + len(b.edges)


def test_diff_html_is_refused_before_the_work() -> None:
    done = runner.invoke(app, ["diff", "missing_a.yaml", "missing_b.yaml", "--format", "html"])
    assert done.exit_code == 2 and "not used with `convcalc diff`" in done.stderr


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_columns_refused_by_a_drawing_names_the_formats_that_take_it(fmt: str) -> None:
    # the hint said "use --format table, markdown, csv, latex or json": JSON ignores --columns
    # (it keeps its whole contract) and the HTML report, which takes it, was missing
    result = CliRunner().invoke(app, ["net", "resnet18", "--columns", "params", "-f", fmt])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith("use --format table, markdown, csv, latex or html")

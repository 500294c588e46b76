"""The house's floors: the package's imports, read from the source, keep one direction.

Every `import` and `from … import` of every module under convcalc/ is read with `ast`, the
ones inside functions (lazy imports) included, and the module graph must have no cycle and
break none of the rules in RULES.

Imports under `if TYPE_CHECKING:` are type-only: they never run (every such module has
`from __future__ import annotations`, checked below, so annotations stay strings), so they
cannot close a circle at import time nor make a floor depend on another's code. They are kept
apart: left out of the cycle check and the rules, and listed by `type_only_edges` so a reader
can see them. A renderer may name a data class of the analysis in an annotation; it may not
call the analysis.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "convcalc"

ANALYSIS = ("convcalc.engine", "convcalc.measure", "convcalc.levels", "convcalc.diff",
            "convcalc.compare", "convcalc.solve", "convcalc.graph", "convcalc.report",
            "convcalc.catalog", "convcalc.conventions", "convcalc.hardware", "convcalc.rf",
            "convcalc.netspec", "convcalc.network", "convcalc.bundled", "convcalc.sources",
            "convcalc.api", "convcalc.bridges", "convcalc.training")
"""Everything that computes (or reads specs): none of it imports a renderer."""

RULES: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    # who (a module or a package and its modules)   must not import        why
    (("convcalc.engine",),
     ("convcalc.bridges", "convcalc.render", "convcalc.cli", "convcalc.sources", "convcalc.api",
      "convcalc.conventions", "convcalc.hardware", "convcalc.training"),
     "the engine analyses Networks; what the user named becomes one above it"),
    (("convcalc.bridges",), ("convcalc.engine", "convcalc.api"),
     "an importer writes the spec a user would write; it checks it with convcalc.measure"),
    (("convcalc.render",),
     ("convcalc.engine", "convcalc.api", "convcalc.sources", "convcalc.conventions",
      "convcalc.hardware", "convcalc.training"),
     "renderers only format a result the command asked the library for"),
    (ANALYSIS, ("convcalc.render", "convcalc.cli"),
     "an analysis returns data; formatting is the renderers' job"),
    (("convcalc.netspec", "convcalc.network", "convcalc.bundled", "convcalc.spec",
      "convcalc.yamlio"),
     ("convcalc.engine", "convcalc.api", "convcalc.sources", "convcalc.bridges"),
     "the spec language parses; it does not analyse nor import"),
    (("convcalc.layers", "convcalc.formulas", "convcalc.shapes", "convcalc.report",
      "convcalc.errors", "convcalc.numbers", "convcalc.limits", "convcalc.rf"),
     ("convcalc.engine", "convcalc.netspec", "convcalc.network", "convcalc.sources",
      "convcalc.bridges", "convcalc.render", "convcalc.cli"),
     "the ground floor: layer kinds, formulas and report types know nothing above them"),
    # the floors inside the split modules (issue 21)
    (("convcalc.solve.size_rules", "convcalc.solve.request", "convcalc.solve.axis_search",
      "convcalc.solve.same_valid", "convcalc.solve.results"),
     ("convcalc.engine", "convcalc.solve.size_search", "convcalc.solve.budget_search",
      "convcalc.solve.chain_search"),
     "solve's rules, request and per-axis search are formulas; only the three searches build "
     "layers (with the engine)"),
    (("convcalc.bridges.onnx_nodes", "convcalc.bridges.onnx_rules",
      "convcalc.bridges.onnx_rules_conv", "convcalc.bridges.onnx_rules_layout",
      "convcalc.bridges.onnx_folding"),
     ("convcalc.bridges.onnx_shapes", "convcalc.bridges.onnx_import", "convcalc.bridges.to_spec",
      "convcalc.bridges.translate"),
     "the ONNX shape rules know the wire format, not the pass that runs them nor the import"),
    (("convcalc.bridges.export_leaves", "convcalc.bridges.export_classes",
      "convcalc.bridges.export_classes_tokens", "convcalc.bridges.export_names"),
     ("convcalc.bridges.pytorch_export",),
     "the export's parts know nothing of the writer that walks the levels"),
    (("convcalc.render.html_page", "convcalc.render.html_tables", "convcalc.render.html_charts"),
     ("convcalc.render.html", "convcalc.render.html_net_sections",
      "convcalc.render.html_training", "convcalc.render.html_roofline"),
     "the page, tables and chart style know no section nor the pages they make up"),
    (("convcalc.render.html_charts",), ("convcalc.render.html_page",),
     "chart data is plotly.js dictionaries: no template, no HTML"),
]

SPLIT_LIMIT = 600
"""issue 21: no module of these packages grows into the room everything lives in."""
SPLIT_PACKAGES = ("convcalc.bridges", "convcalc.render", "convcalc.solve")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    lazy: bool
    """Inside a function: runs when the function is called."""
    type_only: bool
    """Under `if TYPE_CHECKING:`: never runs."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _known(name: str) -> str | None:
    """The convcalc module a dotted name is (or lies in), None outside the package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def module_edges(name: str) -> list[Edge]:
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: list[Edge] = []

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for item in child.body:
                    visit_one(item, lazy, True)
                for item in child.orelse:
                    visit_one(item, lazy, type_only)
                continue
            visit_one(child, lazy, type_only)

    def visit_one(node: ast.AST, lazy: bool, type_only: bool) -> None:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from convcalc import formulas` imports the module convcalc.formulas
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        for target in targets:
            found = _known(target)
            if found is not None and found != name:
                edges.append(Edge(name, found, getattr(node, "lineno", 0), lazy, type_only))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        visit(node, inner, type_only)

    visit(tree, False, False)
    return edges


EDGES = [e for name in MODULES for e in module_edges(name)]
RUNTIME = [e for e in EDGES if not e.type_only]


def type_only_edges() -> list[Edge]:
    return [e for e in EDGES if e.type_only]


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a
    circle of module names."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return components


def test_the_walker_sees_lazy_and_type_only_imports() -> None:
    """The reader is not blind: known imports of each sort are found (else every other test
    here would pass on an empty graph)."""
    seen = {(e.source, e.target, e.lazy, e.type_only) for e in EDGES}
    assert ("convcalc.engine", "convcalc.netspec.walk", True, False) in seen  # lazy
    assert ("convcalc.engine", "convcalc.measure", False, False) in seen  # top level
    assert ("convcalc.engine", "convcalc.netspec.nodes", False, True) in seen  # type only
    assert len(MODULES) > 80 and len(RUNTIME) > 300


def test_no_import_cycle() -> None:
    cycles = find_cycles(RUNTIME)
    assert cycles == [], "import circles (lazy imports included): " + "; ".join(
        " ↔ ".join(c) for c in cycles)


@pytest.mark.parametrize("who, banned, why", RULES, ids=[r[0][0] for r in RULES])
def test_layering_rule(who: tuple[str, ...], banned: tuple[str, ...], why: str) -> None:
    broken = [f"{e.source}:{e.line} imports {e.target}" for e in RUNTIME
              if _within(e.source, who) and _within(e.target, banned)]
    assert broken == [], f"{why}: " + "; ".join(broken)


def test_type_only_imports_never_run() -> None:
    """A module that imports under TYPE_CHECKING postpones its annotations, so the names are
    never looked up when it runs (pydantic models, which evaluate annotations, import at run
    time)."""
    modules = {e.source for e in type_only_edges()}
    missing = [m for m in sorted(modules)
               if "from __future__ import annotations" not in MODULES[m].read_text("utf-8")]
    assert missing == []


def test_no_cycle_detector_is_blind() -> None:
    """The cycle finder finds a planted circle."""
    planted = [*RUNTIME, Edge("convcalc.shapes", "convcalc.engine", 0, False, False)]
    assert any("convcalc.engine" in c and "convcalc.shapes" in c for c in find_cycles(planted))


def test_no_module_of_the_split_packages_is_too_long() -> None:
    """issue 21: bridges/, render/ and solve/ keep each module under ~600 lines; a module that
    grows past it is split by concern, with names that explain themselves."""
    long = {name: n for name, path in MODULES.items() if _within(name, SPLIT_PACKAGES)
            and (n := len(path.read_text("utf-8").splitlines())) > SPLIT_LIMIT}
    assert long == {}, f"over {SPLIT_LIMIT} lines: {long}"
    assert sum(_within(name, SPLIT_PACKAGES) for name in MODULES) > 60  # the walker sees them


def test_the_split_rules_name_real_modules() -> None:
    """A rule about a module that does not exist holds for nothing: every name in RULES is a
    module or a package of convcalc."""
    named = {m for who, banned, _ in RULES for m in (*who, *banned)}
    assert sorted(m for m in named if m not in MODULES) == []

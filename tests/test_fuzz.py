"""Fuzzing the CLI: random specs and random argument lists never crash it.

Every run ends with exit code 0, 1 or 2, never a traceback, and a failure always says why on
stderr. Bounded for CI; `CONVCALC_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py` runs longer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc.bridges.pytorch_export import TORCH_TAKEN
from convcalc.cli import app
from convcalc.errors import ConvcalcError
from convcalc.layers import KINDS
from convcalc.limits import MAX_LAYERS

EXAMPLES = int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "150"))
runner = CliRunner()

FIELDS = ["out", "kernel", "stride", "padding", "dilation", "groups", "bias", "output_padding",
          "alpha_in", "alpha_out", "multiplier", "mid", "ceil_mode", "scale", "mode",
          "output_size", "name", "kind", "affine"]
WORDS = [*KINDS, "bn", "same", "valid", "nearest", "bilinear", "concat", "add", "auto",
         "residual", "branches", "split", "sequence", "repeat", "body", "paths", "shortcut",
         "merge", "sizes", "$out", "${out * 2}", "12x12x3", "0x1", "", "☃", "!!"]
numbers = st.one_of(st.sampled_from([0, 1, 2, 3, 4, -1, 7, 64, 10**9, 10**30, 2**63]),
                    st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.none())
scalars = st.one_of(numbers, st.sampled_from(WORDS), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from([*FIELDS, *WORDS]), inner, max_size=4)), max_leaves=12)
layer_fields = st.dictionaries(st.sampled_from(FIELDS), values, max_size=5)
entries = st.one_of(
    st.sampled_from(WORDS),
    st.builds(lambda k, f: {k: f}, st.sampled_from([*KINDS, "cnov"]), layer_fields),
    st.builds(lambda k, f: {"kind": k, **f}, st.sampled_from(list(KINDS)), layer_fields),
    st.builds(lambda n, b: {"repeat": n, "body": b}, numbers, st.lists(st.sampled_from(
        ["relu", "bn", {"conv": {"out": 4, "kernel": 3, "padding": 1}}]), max_size=3)),
    st.builds(lambda p, m: {"branches": {"merge": m, "paths": p}},
              st.lists(st.lists(st.sampled_from(["relu", {"pointwise": {"out": 4}}]),
                                max_size=2), max_size=3), st.sampled_from(["concat", "add", 3])),
    values,
)
specs = st.one_of(
    st.fixed_dictionaries({"input": st.one_of(st.sampled_from(
        ["12x12x3", "8x8x4", "1x1x100", "16x3", "4x8x8x2", "0x0", "x"]), values),
        "layers": st.lists(entries, max_size=6)},
        optional={"name": values, "defaults": st.dictionaries(st.sampled_from(FIELDS), values,
                                                              max_size=2),
                  "blocks": values, "junk": values}),
    values,
)


def assert_clean(result: Any) -> None:
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert result.stderr.strip(), "a failure says why"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs)
def test_random_specs_never_crash(spec: Any) -> None:
    text = yaml.safe_dump(spec, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        for fmt in ("table", "json"):
            assert_clean(runner.invoke(app, ["net", str(path), "--format", fmt]))


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        assert_clean(runner.invoke(app, ["net", str(path)]))


OPTIONS = ["--input", "-i", "--out", "--kernel", "--stride", "--padding", "--dilation",
           "--groups", "--no-bias", "--output-padding", "--alpha-in", "--alpha-out",
           "--multiplier", "--mid", "--ceil-mode", "--scale", "--mode", "--output-size",
           "--format", "--explain", "--channels-first", "--variants", "--baseline", "--sweep",
           "--parts", "--depth", "--top", "--name", "--help"]
TOKENS = ["3", "5", "0", "-1", "2,2", "3x5", "12x12x3", "8x8x4", "5x5x4", "same", "valid", "x",
          "json", "csv", "markdown", "table", "yaml", "1.5", "0.5", "conv,dwsep",
          "grouped:groups=2", "kernel=3,5", "alpha=0,0.5", "99999999999999999999", ""]


@settings(max_examples=EXAMPLES, deadline=None)
@given(command=st.sampled_from(["layer", "compare", "net", "kinds", "schema", "bogus"]),
       kind=st.sampled_from([*KINDS, "cnov", "examples/alexnet.yaml", "missing.yaml"]),
       rest=st.lists(st.one_of(st.sampled_from(OPTIONS), st.sampled_from(TOKENS),
                               st.text(max_size=6)), max_size=10))
def test_random_arguments_never_crash(command: str, kind: str, rest: list[str]) -> None:
    args = [command, *([kind] if command in ("layer", "net") else []), *rest]
    assert_clean(runner.invoke(app, args))


# --- hostile structures: every example refused (or answered) fast, in bounded memory -------

def _nested_keys(depth: int, kind: str) -> str:
    token = {"complex": "? ", "dash": "- ", "flow": "["}[kind]
    tail = "]" * depth if kind == "flow" else ""
    return f"input: 8x8x3\nlayers:\n  - {token * depth}relu{tail}\n"


def _aliases(cyclic: bool, fan: int, levels: int) -> str:
    lines = ["input: 8x8x3", "a0: &a0 [relu]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    if cyclic:
        lines.append("loop: &loop [relu, *loop]")
    lines.append(f"layers: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def _huge_int(digits: int, where: str) -> str:
    n = "9" * digits
    if where == "input":
        return f"input: 8x8x{n}\nlayers: [relu]\n"
    if where == "expr":
        return f"input: 8x8x3\nlayers:\n  - conv: {{out: '${{{n} * 2}}', kernel: 3}}\n"
    return f"input: 8x8x3\nlayers:\n  - conv: {{out: {n}, kernel: 3}}\n"


def _deep_expr(depth: int, op: str) -> str:
    body = {"neg": "-" * depth + "3", "paren": "(" * depth + "3" + ")" * depth,
            "sum": "+".join(["1"] * depth), "call": "max(" * depth + "1" + ", 2)" * depth}[op]
    return f"input: 8x8x3\nlayers:\n  - conv: {{out: '${{{body}}}', kernel: 1}}\n"


def _repeats(counts: list[int], doubling: int) -> str:
    lines = ["input: 8x8x3", "blocks:", "  d0: [relu]"]
    lines += [f"  d{i}: [d{i - 1}, d{i - 1}]" for i in range(1, doubling + 1)]
    body = f"[d{doubling}]"
    for n in reversed(counts):
        body = f"[{{repeat: {n}, body: {body}}}]"
    lines.append(f"layers: {body}")
    return "\n".join(lines) + "\n"


def _small_or_refused(text: str) -> bool:
    """The structures whose size (counted as the layer bound counts it: a copy of an empty body
    is one step) is refused at once (> MAX_LAYERS) or small enough to walk quickly (≤ 2¹²)."""
    import re

    counts = [int(n) for n in re.findall(r"repeat: (\d+)", text)]
    size = 2 ** (len(re.findall(r"^  d\d+:", text, re.M)) - 1)
    for n in reversed(counts):
        size = n * max(1, size) if n > 0 else 0
    return size > MAX_LAYERS or size <= 2**12


def _alias_chain(levels: int, where: str) -> str:
    """Nesting built from aliases, one level each (the event stream sees one node per alias)."""
    if where == "layers":
        lines = ["input: 8x8x3", "layers:", "  - relu", "  - &a0 [relu]"]
        lines += [f"  - &a{i} [*a{i - 1}]" for i in range(1, levels)]
    else:
        lines = ["input: 8x8x3", "layers: [relu]", "blocks:", "  b0: &a0 {layers: [relu]}"]
        lines += [f"  b{i}: &a{i} {{layers: [relu, *a{i - 1}]}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


hostile = st.one_of(
    st.builds(_nested_keys, st.integers(1, 3000), st.sampled_from(["complex", "dash", "flow"])),
    st.builds(_alias_chain, st.integers(1, 600), st.sampled_from(["layers", "blocks"])),
    st.builds(_aliases, st.booleans(), st.integers(1, 12), st.integers(1, 12)),
    st.builds(_huge_int, st.integers(1, 6000), st.sampled_from(["input", "expr", "field"])),
    st.builds(_deep_expr, st.integers(1, 400), st.sampled_from(["neg", "paren", "sum", "call"])),
    # huge structures are refused from their shape; those that fit stay small (≤ 2¹² layers
    # of doubling blocks times small repeats), so that walking them is quick too
    st.builds(_repeats, st.lists(st.sampled_from([0, 1, 2, 3, 10**6, 10**7, 2**62]), max_size=3),
              st.integers(0, 40)).filter(_small_or_refused),
)


@settings(max_examples=max(20, EXAMPLES // 3), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile)
def test_hostile_structures_are_bounded(text: str) -> None:
    import time
    import tracemalloc

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        started = time.perf_counter()
        tracemalloc.start()
        try:
            result = runner.invoke(app, ["net", str(path), "--format", "json"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.perf_counter() - started
    assert_clean(result)
    assert elapsed < 5.0, f"{elapsed:.1f} s"
    assert peak < 256 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


# --- hostile names through generated files: import and export read back with the same counts --

def _acceptable(name: str) -> bool:
    from convcalc.netspec.compiler import name_problem

    return name_problem(name) is None and "$" not in name and name.strip() == name


level_names = st.text(min_size=1, max_size=12).filter(_acceptable)
"""A level name the spec accepts: any text (quotes, colons, #, braces, unicode, keywords…)."""
model_names = st.one_of(st.text(min_size=1, max_size=12),
                        st.sampled_from(["\n", "a\rb", "\u2028", "x\x85", "defaults: {bias: false}",
                                         "#", "\"", "\\", "class", "0", "a b", "α"]))
"""A name a model may give its submodules (torch refuses '.', '' and its own attributes)."""


@settings(max_examples=max(10, EXAMPLES // 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(level_names, min_size=1, max_size=5, unique=True),
       network=level_names, residual=st.booleans())
def test_hostile_level_names_export_to_pytorch_with_the_same_counts(
        names: list[str], network: str, residual: bool) -> None:
    """Spec with random level names → `export` → exec → build(): the spec's parameters and
    output; where torch is present."""
    torch = pytest.importorskip("torch")
    from convcalc import analyze_network
    from convcalc.bridges.pytorch_export import export_pytorch

    layers: list[Any] = []
    for i, name in enumerate(names):
        body = [{"pointwise": {"out": 4, "name": name}}, "relu"]
        layers.append({"residual": {"body": body}} if residual and i else
                      {"sequence": {"name": name, "layers": body}})
    report = analyze_network({"name": network, "input": "4x4x4", "layers": layers})
    namespace: dict[str, Any] = {}
    exec(compile(export_pytorch(report, source=network), "<export>", "exec"), namespace)
    model = namespace["build"]()
    assert sum(p.numel() for p in model.parameters()) == report.totals()["params"]
    with torch.no_grad():
        assert tuple(model(torch.zeros(namespace["INPUT"])).shape) == (1, 4, 4, 4)


@settings(max_examples=max(10, EXAMPLES // 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(model_names.filter(lambda n: n and "." not in n and n not in TORCH_TAKEN),
                      min_size=1, max_size=4, unique=True),
       bias=st.lists(st.booleans(), min_size=4, max_size=4))
def test_hostile_submodule_names_import_to_yaml_with_the_same_counts(
        names: list[str], bias: list[bool]) -> None:
    """A torch model with random submodule names → `import --torch` → YAML text → read back
    by `net`: the YAML is the spec mapping, and the model's parameters."""
    torch = pytest.importorskip("torch")
    from convcalc import analyze_network
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import parse_shape
    from convcalc.yamlio import load_yaml_text

    model = torch.nn.Sequential()
    for i, name in enumerate(names):
        model.add_module(name, torch.nn.Conv2d(3 if i == 0 else 4, 4, 1, bias=bias[i]))
    try:
        imported = import_torch(model, parse_shape("4x4x3"))
    except ConvcalcError as e:  # a name fx cannot trace even under a stand-in: one line
        assert "\n" not in str(e)
        return
    assert load_yaml_text(imported.yaml) == imported.spec
    assert analyze_network(load_yaml_text(imported.yaml)).totals()["params"] == \
        sum(p.numel() for p in model.parameters())
    for line in imported.yaml.splitlines():
        assert line.isprintable() or not line, line

"""The spec loader (marks, limits and short-cuts of its own) reads YAML as PyYAML's safe loader does."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.errors import SpecError
from convcalc.yamlio import MarkedDict, MarkedList, load_yaml_text

# scalars whose YAML 1.1 reading is easy to get wrong: octal, hex, sexagesimal, underscores,
# booleans, nulls, floats, dates, merge keys, unicode digits
WORDS = ["010", "0x1f", "0o17", "0b101", "1_000", "+5", "-3", "0", "00", "12", "190:20:30",
         "yes", "No", "on", "~", "null", "1.5", ".inf", "1e3", "2001-01-01", "٣", "²", "abc",
         "$p", "${a + 1}", "<<", "=", "conv", ""]


def _scalar(word: str, quote: str) -> str:
    return f"{quote}{word}{quote}" if quote or not word else word or "''"


scalars = st.builds(_scalar, st.sampled_from(WORDS), st.sampled_from(["", "'", '"']))
keys = st.sampled_from(["a", "b", "out", "kernel", "1", "yes", "<<"])
flow = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(keys, inner), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}")),
    max_leaves=12)
tagged = st.sampled_from(["!!str 12", '!!int "7"', "!!float 1", "!!set {a, b}",
                          "!!omap [{a: 1}, {b: 2}]", "!!binary aGk=", "{<<: {a: 1}, b: 2}"])


def plain(value: Any) -> Any:
    """The data without marks, with types made visible (True vs 1)."""
    if isinstance(value, dict):
        return ("map", [(plain(k), plain(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [plain(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    return (type(value).__name__, value)


class Oracle(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader with YAML 1.2's booleans (true/false only) and no
    timestamps: what convcalc's loader must read, apart from the numbers it refuses."""


Oracle.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp",
                           "tag:yaml.org,2002:value", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Oracle.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(
    r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
Oracle.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(  # YAML 1.2's core schema
    r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
    r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


@settings(max_examples=300, deadline=None)
@given(first=flow, second=st.one_of(flow, tagged), anchored=st.booleans())
def test_reads_like_pyyaml_safe_load(first: str, second: str, anchored: bool) -> None:
    anchor = "&x " if anchored else ""
    text = f"root: {anchor}{first}\nitems:\n  - {second}\n  - {'*x' if anchored else first}\n"
    try:
        expected = yaml.load(text, Loader=Oracle)  # a safe loader
    except yaml.YAMLError:
        with pytest.raises(SpecError):
            load_yaml_text(text, "spec.yaml")
        return
    except TypeError:  # an unhashable key (a list or mapping as a key)
        with pytest.raises(SpecError):
            load_yaml_text(text, "spec.yaml")
        return
    try:
        got = load_yaml_text(text, "spec.yaml")
    except SpecError as e:
        # refused where PyYAML is lenient: duplicate keys, keys that are not text, and numbers
        # that YAML 1.1 reads differently from 1.2 (010, 0x1f, 1_000, 190:20:30)
        assert any(m in e.message for m in (
            "duplicate key", "mapping key must be text", "reads differently in YAML 1.1"))
        return
    assert plain(got) == plain(expected)


def test_marks_name_line_and_column_of_keys_and_items() -> None:
    text = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3}\n  -   relu\n"
    doc = load_yaml_text(text, "spec.yaml")
    assert isinstance(doc, MarkedDict)
    assert doc.marks == {"input": (1, 1), "layers": (2, 1)}
    layers = doc["layers"]
    assert isinstance(layers, MarkedList)
    assert layers.marks == [(3, 5), (4, 7)]
    assert layers[0]["conv"].marks == {"out": (3, 12), "kernel": (3, 20)}
    assert layers[0]["conv"] == {"out": 4, "kernel": 3}


@pytest.mark.parametrize(("text", "value"), [
    ("a: yes", "yes"), ("a: off", "off"), ("a: 2001-01-01", "2001-01-01"), ("a: true", True),
    ("a: 1e3", 1000.0), ("a: -7", -7), ("a: '010'", "010"),
])
def test_yaml_12_scalars(text: str, value: Any) -> None:
    got = load_yaml_text(text)["a"]
    assert got == value and type(got) in (type(value), __import__("convcalc.yamlio").yamlio.YamlFloat)


@pytest.mark.parametrize("word", ["010", "0x10", "0o7", "0b1", "1:1", "190:20:30", "1_000", "007"])
def test_yaml_11_numbers_are_refused_not_reread(word: str) -> None:
    with pytest.raises(SpecError, match=r"reads differently in YAML 1\.1 and 1\.2"):
        load_yaml_text(f"a: {word}")


def test_a_float_keeps_its_decimal() -> None:
    from fractions import Fraction

    from convcalc.numbers import from_float

    assert from_float(load_yaml_text("a: 0.1")["a"]) == Fraction(1, 10)
    assert from_float(load_yaml_text("a: 0.30000000000000000001")["a"]) == Fraction(
        30000000000000000001, 10**20)


def test_merge_keys_may_be_overridden_but_duplicates_not() -> None:
    doc = load_yaml_text("base: &b {out: 4, kernel: 3}\nx: {<<: *b, out: 8}\n")
    assert doc["x"] == {"out": 8, "kernel": 3}
    with pytest.raises(SpecError, match="duplicate key 'out'"):
        load_yaml_text("base: &b {kernel: 3}\nx: {<<: *b, out: 8, out: 9}\n")


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}", "a: &a [[1, [*a]]]"])
def test_alias_cycles_are_refused(text: str) -> None:
    with pytest.raises(SpecError, match="refers to a collection that contains it"):
        load_yaml_text(text)

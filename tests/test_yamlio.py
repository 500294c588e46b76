"""The spec loader (marks, limits and short-cuts of its own) reads YAML as PyYAML's safe loader does."""

from __future__ import annotations

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
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(first=flow, second=st.one_of(flow, tagged), anchored=st.booleans())
def test_reads_like_pyyaml_safe_load(first: str, second: str, anchored: bool) -> None:
    anchor = "&x " if anchored else ""
    text = f"root: {anchor}{first}\nitems:\n  - {second}\n  - {'*x' if anchored else first}\n"
    try:
        expected = yaml.safe_load(text)
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
        # refused where PyYAML is lenient: duplicate keys and keys that are not text
        assert "duplicate key" in e.message or "mapping key must be text" in e.message
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

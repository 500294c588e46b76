"""The importer as small passes (issue 21 item 1): each module small, documented, usable alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from convcalc import bridges
from convcalc.bridges import items, translate, yaml_writer
from convcalc.bridges.blocks import Blocks

PASSES = ("ops", "items", "fuse", "fuse_attention", "translate", "translate_tokens", "structure",
          "naming", "blocks", "yaml_writer", "to_spec", "torch_leaves")
HERE = Path(bridges.__file__).parent


@pytest.mark.parametrize("name", PASSES)
def test_pass_module_is_small_and_says_what_it_takes_and_gives(name: str) -> None:
    text = (HERE / f"{name}.py").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 600
    doc = ast.get_docstring(ast.parse(text))
    assert doc
    if name != "to_spec":
        assert "Takes:" in doc and "Gives:" in doc


def test_every_operator_handler_is_in_the_table() -> None:
    from convcalc.bridges import translate_tokens

    methods = {n[3:] for n in vars(translate.Translator) if n.startswith("op_")}
    token_ops = {n[3:] for n in vars(translate_tokens) if n.startswith("op_")}
    assert not methods & token_ops
    assert set(translate.HANDLERS) == methods | token_ops
    assert all(translate.HANDLERS[n] is getattr(translate.Translator, f"op_{n}") for n in methods)
    assert all(translate.HANDLERS[n] is getattr(translate_tokens, f"op_{n}") for n in token_ops)


def test_yaml_writer_alone_writes_items() -> None:
    relu = items.Leaf("relu", {})
    conv = items.Leaf("conv", {"out": 8, "kernel": 3})
    res = items.Residual([conv, relu], None)
    assert yaml_writer.item_mapping(res) == {"residual": {"body": [{"conv": {"out": 8,
                                                                              "kernel": 3}},
                                                                    "relu"]}}
    assert list(items.leaves([res])) == [conv, relu]
    assert items.leaf_count([res, relu]) == 3


def test_blocks_alone_children_of_split() -> None:
    a, b = items.Leaf("relu", {}), items.Leaf("identity", {})
    split = items.Split([[a], [b]], [4, 4])
    assert Blocks.children(split) == [[a], [b]]

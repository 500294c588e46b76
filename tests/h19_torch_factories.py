"""Hostile torch models for `convcalc import --torch` (issue 19): imported by the tests by
`module:factory`, from the tests folder. It prints when imported, as some model files do."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

print("model file imported: this must not reach the YAML on standard output")


def key_error() -> Any:
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: Any) -> Any:
            return {"a": self.conv(x)}["missing"]

    return Bad()


def fails_on_fake_tensors() -> Any:
    class Bad(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.view(-1, 7)  # traced fine, fails when run: 256 elements are not rows of 7

    return nn.Sequential(nn.Conv2d(3, 4, 1), Bad())


def newline_name() -> Any:
    model = nn.Sequential()
    model.add_module("a\nb", nn.Conv2d(3, 4, 3))
    return model


def bare_conv() -> Any:
    return nn.Conv2d(3, 8, 3, padding=1)


def printing() -> Any:
    print("factory called")

    class Loud(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: Any) -> Any:
            print("forward called")
            return torch.relu(self.conv(x))

    return Loud()


def odd_names() -> Any:
    """Submodule names that must reach the YAML escaped and read back the same (torch.fx
    alone cannot trace a model with some of them: a quote, a backslash, a keyword)."""
    model = nn.Sequential()
    for i, name in enumerate(["defaults: {bias: false}", "a\u2028b", "#x", "α", "a b", "-",
                              "true", "'q'", "\"q\"", "\u202e", "a\\b", "class", "x\x00",
                              "a\tb"]):
        block = nn.Sequential()
        block.add_module("conv", nn.Conv2d(3 if i == 0 else 4, 4, 3, padding=1, bias=i % 2 == 0))
        model.add_module(name, block)
    return model

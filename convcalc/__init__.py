"""convcalc: exact cost of convolution layers and CNNs (shapes, receptive field, params, MACs).

The public API is imported on first use, so `convcalc layer` does not pay for the network parser
and `import convcalc` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "analyze_layer": "convcalc.engine",
    "analyze_network": "convcalc.api",
    "load_network": "convcalc.sources",
    "ConvcalcError": "convcalc.errors",
    "ShapeError": "convcalc.errors",
    "SpecError": "convcalc.errors",
    "LayerReport": "convcalc.report",
    "NetworkReport": "convcalc.report",
    "Shape": "convcalc.shapes",
    "parse_shape": "convcalc.shapes",
    "compare": "convcalc.compare",
    "train": "convcalc.training",
}

__all__ = [
    "ConvcalcError",
    "LayerReport",
    "NetworkReport",
    "Shape",
    "ShapeError",
    "SpecError",
    "__version__",
    "analyze_layer",
    "analyze_network",
    "compare",
    "kinds",
    "load_network",
    "parse_shape",
    "solve",
    "train",
]

if TYPE_CHECKING:
    from convcalc import compare, solve
    from convcalc.api import analyze_network
    from convcalc.engine import analyze_layer
    from convcalc.errors import ConvcalcError, ShapeError, SpecError
    from convcalc.layers import KINDS as kinds
    from convcalc.report import LayerReport, NetworkReport
    from convcalc.shapes import Shape, parse_shape
    from convcalc.sources import load_network
    from convcalc.training import train


def __getattr__(name: str) -> Any:
    if name == "kinds":
        return importlib.import_module("convcalc.layers").KINDS
    if name in ("compare", "solve"):
        return importlib.import_module(f"convcalc.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'convcalc' has no attribute {name!r}")

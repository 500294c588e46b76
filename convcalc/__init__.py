"""convcalc: exact cost of convolution layers and CNNs (shapes, receptive field, params, MACs)."""

from __future__ import annotations

from convcalc.engine import analyze_layer, analyze_network
from convcalc.errors import ConvcalcError, ShapeError, SpecError
from convcalc.layers import KINDS as kinds
from convcalc.network import load_network
from convcalc.report import LayerReport, NetworkReport
from convcalc.shapes import Shape, parse_shape

__version__ = "0.1.0"

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
    "kinds",
    "load_network",
    "parse_shape",
]

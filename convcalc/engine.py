"""Analysis entry points: one layer on one input, and whole networks.

The network machinery (parser, walk) is imported only by `analyze_network`, so a one-layer
answer does not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcalc.errors import ConvcalcError, Location, SpecError
from convcalc.layers import LayerSpec
from convcalc.report import LayerReport
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import validate_layer

if TYPE_CHECKING:
    from convcalc.network import Network
    from convcalc.report import NetworkReport


def as_layer(spec: LayerSpec | Mapping[str, Any], location: Location | None = None) -> LayerSpec:
    if isinstance(spec, LayerSpec):
        return spec
    if isinstance(spec, Mapping):
        return validate_layer(spec, location)
    raise SpecError(f"a layer spec must be a mapping with a 'kind' or a layer model, got "
                    f"{type(spec).__name__}", location)


def run_layer(layer: LayerSpec, shape: Shape, location: Location | None = None,
              name: str | None = None) -> LayerReport:
    """layer.apply(shape), with the layer's location and `name` (its place in a network, else
    its own name) added to any error it raises."""
    try:
        return layer.apply(shape)
    except ConvcalcError as e:
        loc = location or Location()
        raise e.at(file=loc.file, line=loc.line, column=loc.column, path=loc.path,
                   name=name or loc.name or layer.name) from None


def analyze_layer(spec: LayerSpec | Mapping[str, Any], input: str | Shape | Mapping[str, Any],
                  *, channels_first: bool = False) -> LayerReport:
    """Analyse one layer. `spec`: a mapping with canonical fields or a layer model; `input`: a
    shape string such as "5x5x4" (H×W×C) or {"channels": 4, "spatial": [5, 5]}.

    Raises ConvcalcError (a ValueError) naming the field, the bad value and the rule.
    """
    shape = coerce_shape(input, channels_first=channels_first)
    return run_layer(as_layer(spec), shape)


def analyze_network(source: str | Path | Mapping[str, Any] | Network,
                    input: str | Shape | Mapping[str, Any] | None = None) -> NetworkReport:
    """Analyse a network: a YAML path, the YAML's content as a mapping, or a parsed Network.

    `input` overrides the spec's input shape. Returns a NetworkReport whose `.to_dict()` is the
    JSON of `convcalc net`.
    """
    from convcalc.network import Network, load_network
    from convcalc.rf import AxisRF
    from convcalc.walk import Walk

    net = source if isinstance(source, Network) else load_network(source)
    shape = coerce_shape(input) if input is not None else net.input
    if shape is None:
        raise SpecError("no input shape: give 'input: 224x224x3' in the spec or --input",
                        Location(file=net.file))
    walk = Walk()
    state = tuple(AxisRF.identity() for _ in shape.spatial)
    try:
        out, _ = walk.node(net.root, shape, state)
    except ConvcalcError as e:
        raise e.at(file=net.file) from None
    from convcalc.report import NetworkReport

    return NetworkReport(net.name, shape, out, tuple(walk.rows), tuple(walk.warnings))

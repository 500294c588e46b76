"""Layers and specs measured on their input, without the entry points' conveniences.

What the engine builds its reports on, and what an importer checks its spec with: one layer's
report from its fields and a `Shape` (no shape parsing, no batch), and the walk of a spec on
its own input (its rows, each with its output). Nothing here knows where a spec came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from convcalc.errors import ConvcalcError, Location
from convcalc.layers import LayerSpec
from convcalc.report import LayerReport
from convcalc.shapes import Shape
from convcalc.spec import validate_layer

if TYPE_CHECKING:
    from convcalc.netspec.walk import Walk


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


def layer_report(fields: Mapping[str, Any], shape: Shape) -> LayerReport:
    """One layer (a mapping with a `kind` and its fields) on `shape`. Raises ConvcalcError."""
    return run_layer(validate_layer(fields), shape)


def spec_walk(data: Mapping[str, Any]) -> Walk:
    """A spec's content (the YAML's mapping) walked on its own input with its defaults: the
    walk's `rows` are its layers in order, each with its report. Raises ConvcalcError."""
    from convcalc.netspec import resolve
    from convcalc.netspec.bound import check_layer_count
    from convcalc.netspec.compiler import compile_network
    from convcalc.netspec.walk import walk_network
    from convcalc.rf import AxisRF

    net = compile_network(dict(data), None)
    values, shape, _ = resolve(net)
    check_layer_count(net, values)
    state = tuple(AxisRF.identity() for _ in shape.spatial)
    walk, _out, _state, _tree = walk_network(net, run_layer, values, shape, state)
    return walk

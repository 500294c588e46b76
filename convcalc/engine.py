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
from convcalc.report import LayerReport, batched
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import validate_layer

if TYPE_CHECKING:
    from convcalc.netspec.nodes import Network
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
                  *, channels_first: bool = False, batch: int | None = None) -> LayerReport:
    """Analyse one layer. `spec`: a mapping with canonical fields or a layer model; `input`: a
    shape string such as "5x5x4" (H×W×C; with `channels_first` also PyTorch's "1x4x5x5",
    N×C×H×W) or {"channels": 4, "spatial": [5, 5]}. `batch` multiplies MACs and activations.

    Raises ConvcalcError (a ValueError) naming the field, the bad value and the rule.
    """
    shape, n = input_shape(input, channels_first, batch)
    return batched(run_layer(as_layer(spec), shape), n)


def input_shape(value: str | Shape | Mapping[str, Any], channels_first: bool,
                batch: int | None) -> tuple[Shape, int]:
    """The sample's shape and the batch (from `batch` or a batch axis in the shape)."""
    from convcalc.limits import MAX_INT
    from convcalc.shapes import parse_input

    if isinstance(value, str):
        shape, axis = parse_input(value, channels_first=channels_first)
    else:
        shape, axis = coerce_shape(value, channels_first=channels_first), None
    if batch is not None and (type(batch) is not int or not 1 <= batch <= MAX_INT):
        raise SpecError(f"batch must be a whole number from 1 to 2^63 − 1, got {batch!r}")
    if batch is not None and axis is not None and batch != axis:
        raise SpecError(f"the input's batch axis says {axis} and --batch says {batch}; give one")
    return shape, batch or axis or 1


def analyze_network(source: str | Path | Mapping[str, Any] | Network,
                    input: str | Shape | Mapping[str, Any] | None = None, *,
                    params: Mapping[str, Any] | None = None,
                    channels_first: bool | None = None,
                    batch: int | None = None) -> NetworkReport:
    """Analyse a network: a YAML path, the YAML's content as a mapping, or a parsed Network.

    `input` overrides the spec's input shape, `params` its parameters (as `--set` does; the key
    `input` sets the input too). Returns a NetworkReport whose `.to_dict()` is the JSON of
    `convcalc net`.
    """
    from convcalc.netspec import resolve
    from convcalc.netspec.bound import check_layer_count
    from convcalc.netspec.walk import walk_network
    from convcalc.network import Network, load_network
    from convcalc.report import NetworkReport
    from convcalc.rf import AxisRF

    if isinstance(source, str | Path) and str(source).lower().endswith(".onnx"):
        from convcalc.bridges.onnx_import import onnx_network

        given = None if input is None else coerce_shape(input, channels_first=bool(
            channels_first))
        source = onnx_network(str(source), given)
    net = source if isinstance(source, Network) else load_network(source)
    values, shape, axis = resolve(net, params, input, channels_first=channels_first)
    _, n = input_shape(shape, False, batch)  # checks --batch
    if axis is not None:
        if batch is not None and batch != axis:
            raise SpecError(f"the input's batch axis says {axis} and --batch says {batch}; "
                            "give one")
        n = axis
    check_layer_count(net, values)
    state = tuple(AxisRF.identity() for _ in shape.spatial)
    walk, out, out_state, tree = walk_network(net, run_layer, values, shape, state)
    report = NetworkReport(walk.name, shape, out, tuple(walk.rows),
                           (*net.warnings, *walk.warnings), tree, walk.levels, out_state, values)
    return report.batched(n)

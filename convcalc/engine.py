"""Analysis entry points: one layer on one input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcalc.errors import ConvcalcError, Location, SpecError
from convcalc.layers import LayerSpec
from convcalc.report import LayerReport
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import validate_layer


def as_layer(spec: LayerSpec | Mapping[str, Any], location: Location | None = None) -> LayerSpec:
    if isinstance(spec, LayerSpec):
        return spec
    if isinstance(spec, Mapping):
        return validate_layer(spec, location)
    raise SpecError(f"a layer spec must be a mapping with a 'kind' or a layer model, got "
                    f"{type(spec).__name__}", location)


def run_layer(layer: LayerSpec, shape: Shape, location: Location | None = None) -> LayerReport:
    """layer.apply(shape), with the layer's location added to any error it raises."""
    try:
        return layer.apply(shape)
    except ConvcalcError as e:
        loc = location or Location()
        raise e.at(file=loc.file, line=loc.line, column=loc.column, path=loc.path,
                   name=loc.name or layer.name) from None


def analyze_layer(spec: LayerSpec | Mapping[str, Any], input: str | Shape | Mapping[str, Any],
                  *, channels_first: bool = False) -> LayerReport:
    """Analyse one layer. `spec`: a mapping with canonical fields or a layer model; `input`: a
    shape string such as "5x5x4" (H×W×C) or {"channels": 4, "spatial": [5, 5]}.

    Raises ConvcalcError (a ValueError) naming the field, the bad value and the rule.
    """
    shape = coerce_shape(input, channels_first=channels_first)
    return run_layer(as_layer(spec), shape)

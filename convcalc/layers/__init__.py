"""Every layer kind, one model each, and the discriminated union that picks among them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from convcalc.layers.base import LayerSpec
from convcalc.layers.conv import Conv, Depthwise, Dilated, Grouped, Pointwise, PointwiseGroup
from convcalc.layers.octave import Octave
from convcalc.layers.pool import AdaptiveAvgPool, AvgPool, GlobalAvgPool, MaxPool
from convcalc.layers.separable import DWSep, SpatialSep
from convcalc.layers.shuffle_unit import ShuffleUnit
from convcalc.layers.simple import Activation, BatchNorm, Flatten, Linear, Shuffle, Upsample
from convcalc.layers.transposed import Transposed

MODELS: tuple[type[LayerSpec], ...] = (
    Conv, Pointwise, Grouped, Depthwise, Dilated, DWSep, SpatialSep, Transposed, PointwiseGroup,
    Shuffle, ShuffleUnit, Octave, MaxPool, AvgPool, GlobalAvgPool, AdaptiveAvgPool, Linear,
    BatchNorm, Activation, Flatten, Upsample,
)

AnyLayer = Annotated[
    Conv | Pointwise | Grouped | Depthwise | Dilated | DWSep | SpatialSep | Transposed
    | PointwiseGroup | Shuffle | ShuffleUnit | Octave | MaxPool | AvgPool | GlobalAvgPool
    | AdaptiveAvgPool | Linear | BatchNorm | Activation | Flatten | Upsample,
    Field(discriminator="kind"),
]

LAYER_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyLayer)

KIND_ALIASES = {
    "bn": "batchnorm", "batch_norm": "batchnorm", "deconv": "transposed",
    "conv_transpose": "transposed", "convtranspose": "transposed", "fc": "linear",
    "dense": "linear", "gap": "global_avgpool", "avg_pool": "avgpool", "max_pool": "maxpool",
    "separable": "dwsep", "depthwise_separable": "dwsep", "atrous": "dilated",
    "group_conv": "grouped", "pw": "pointwise", "dw": "depthwise", "channel_shuffle": "shuffle",
    "interpolate": "upsample",
}


def _kinds() -> dict[str, type[LayerSpec]]:
    table: dict[str, type[LayerSpec]] = {}
    for model in MODELS:
        literal = model.model_fields["kind"].annotation
        for value in getattr(literal, "__args__", ()):
            table[value] = model
    return table


KINDS: dict[str, type[LayerSpec]] = _kinds()


def canonical_kind(kind: str) -> str:
    """The canonical kind name for a kind or one of its aliases (unknown names pass through)."""
    return KIND_ALIASES.get(kind, kind)


__all__ = ["KINDS", "KIND_ALIASES", "LAYER_ADAPTER", "MODELS", "AnyLayer", "LayerSpec",
           "canonical_kind"]

"""Every layer kind, one model each, found by its `kind` tag.

The registry names the module and class of each kind and imports a module on first use: a
one-layer command pays for one family's models, not for all of them. `AnyLayer` (the
discriminated union, for JSON Schema) is built only when asked for.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from convcalc.layers.base import LayerSpec

ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
               "leaky_relu", "softmax", "identity")

REGISTRY: dict[str, tuple[str, str]] = {
    "conv": ("conv", "Conv"), "pointwise": ("conv", "Pointwise"),
    "grouped": ("conv", "Grouped"), "depthwise": ("conv", "Depthwise"),
    "dilated": ("conv", "Dilated"), "pointwise_group": ("conv", "PointwiseGroup"),
    "dwsep": ("separable", "DWSep"), "spatial_sep": ("separable", "SpatialSep"),
    "transposed": ("transposed", "Transposed"), "shuffle": ("simple", "Shuffle"),
    "shuffle_unit": ("shuffle_unit", "ShuffleUnit"), "octave": ("octave", "Octave"),
    "maxpool": ("pool", "MaxPool"), "avgpool": ("pool", "AvgPool"),
    "global_avgpool": ("pool", "GlobalAvgPool"), "adaptive_avgpool": ("pool", "AdaptiveAvgPool"),
    "linear": ("simple", "Linear"), "batchnorm": ("simple", "BatchNorm"),
    "flatten": ("simple", "Flatten"), "upsample": ("simple", "Upsample"),
    "se": ("se", "SqueezeExcitation"), "layernorm": ("layernorm", "LayerNorm"),
    "groupnorm": ("groupnorm", "GroupNorm"), "layer_scale": ("layer_scale", "LayerScale"),
    "stochastic_depth": ("stochastic_depth", "StochasticDepth"),
    "dropout": ("dropout", "Dropout"),
    "self_attention": ("attention", "SelfAttention"), "mlp": ("mlp", "TokenMLP"),
    "patch_merging": ("patch_merging", "PatchMerging"), "to_tokens": ("tokens", "ToTokens"),
    "to_map": ("tokens", "ToMap"), "take_token": ("tokens", "TakeToken"),
    "class_token": ("embedding", "ClassToken"), "pos_embedding": ("embedding", "PosEmbedding"),
    "uncounted": ("uncounted", "Uncounted"),
    **dict.fromkeys(ACTIVATIONS, ("simple", "Activation")),
}
"""kind → (module in convcalc.layers, model class). A test checks it against the models."""

KIND_ALIASES = {
    "bn": "batchnorm", "batch_norm": "batchnorm", "deconv": "transposed",
    "conv_transpose": "transposed", "convtranspose": "transposed", "fc": "linear",
    "dense": "linear", "gap": "global_avgpool", "avg_pool": "avgpool", "max_pool": "maxpool",
    "separable": "dwsep", "depthwise_separable": "dwsep", "atrous": "dilated",
    "group_conv": "grouped", "pw": "pointwise", "dw": "depthwise", "channel_shuffle": "shuffle",
    "interpolate": "upsample", "drop_path": "stochastic_depth", "squeeze_excitation": "se",
    "layer_norm": "layernorm", "ln": "layernorm", "group_norm": "groupnorm", "gn": "groupnorm",
    "mhsa": "self_attention", "attention": "self_attention", "msa": "self_attention",
    "window_attention": "self_attention", "cls_token": "class_token",
    "pos_embed": "pos_embedding", "position_embedding": "pos_embedding",
}


class _Kinds(Mapping[str, type[LayerSpec]]):
    """kind → model class, importing the model's module when first looked up."""

    def __init__(self) -> None:
        self._loaded: dict[str, type[LayerSpec]] = {}

    def __getitem__(self, kind: str) -> type[LayerSpec]:
        model = self._loaded.get(kind)
        if model is None:
            module, name = REGISTRY[kind]
            model = getattr(importlib.import_module(f"convcalc.layers.{module}"), name)
            self._loaded[kind] = model
        return model

    def __contains__(self, kind: object) -> bool:
        return kind in REGISTRY

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


KINDS: Mapping[str, type[LayerSpec]] = _Kinds()


def models() -> tuple[type[LayerSpec], ...]:
    """Every model class once, in registry order."""
    return tuple(dict.fromkeys(KINDS[k] for k in REGISTRY))


@functools.cache
def layer_adapter() -> TypeAdapter[Any]:
    """The discriminated union over every kind (for JSON Schema); built on first use."""
    union: Any = Union[models()]  # noqa: UP007 - a union built at run time
    annotated: Any = Annotated[union, Field(discriminator="kind")]
    return TypeAdapter(annotated)


def canonical_kind(kind: str) -> str:
    """The canonical kind name for a kind or one of its aliases (unknown names pass through)."""
    return KIND_ALIASES.get(kind, kind)


__all__ = ["ACTIVATIONS", "KINDS", "KIND_ALIASES", "REGISTRY", "LayerSpec", "canonical_kind",
           "layer_adapter", "models"]

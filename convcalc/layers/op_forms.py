"""How a layer is written in the user's model, where a peer tool's count depends on it.

A spec describes what a network computes; PyTorch counts the same for `nn.ReLU()` and
`F.relu(x)`, but the peer tools do not (ptflops counts a module's hook *and* its patched
functional, thop counts modules only, fvcore has no handle for `x.mean`). The optional field
`op` on a layer says which form the model uses; without it a layer is what `convcalc export
--to pytorch` writes (a module of the kind's torch class). `convcalc import` writes it.

- `module`: the kind's torch module (the default: `nn.ReLU`, `nn.AdaptiveAvgPool2d`, …);
- `function`: a call of the torch function (`F.relu(x)`, `F.max_pool2d`, `F.adaptive_avg_pool2d`,
  `F.interpolate`), no module of its own;
- `method`: a tensor method (`x.mean((2, 3))` for a global average pool, `x.relu()`,
  `x.sigmoid()`, `x.tanh()`, `x.softmax(1)`);
- `channels_last`: the plain torch module applied to channels-last data, between the model's
  permutes: a pointwise conv as `nn.Linear` (ConvNeXt's blocks), a layernorm as `nn.LayerNorm`
  (not a LayerNorm2d class).
"""

from __future__ import annotations

from typing import Literal

OpForm = Literal["module", "function", "method", "channels_last"]

ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
               "leaky_relu", "softmax")

FORMS: dict[str, tuple[str, ...]] = {
    "function": (*ACTIVATIONS, "maxpool", "avgpool", "global_avgpool", "adaptive_avgpool",
                 "upsample"),
    "method": ("relu", "sigmoid", "tanh", "softmax", "global_avgpool"),
    "channels_last": ("pointwise", "layernorm"),
}
"""The kinds each form other than `module` is allowed on (the parameter-free kinds a model can
call as a function or a method, and the kinds torch applies to channels-last data)."""


def check_form(kind: str, form: str | None, fields: dict[str, object]) -> None:
    """Raise ValueError when `form` cannot describe a layer of `kind` with these fields."""
    if form is None or form == "module":
        return
    allowed = FORMS[form]
    if kind not in allowed:
        raise ValueError(f"op: {form} is not a way to write a {kind} layer; it applies to "
                         f"{', '.join(allowed)}")
    if kind == "pointwise" and (fields.get("stride", 1) != 1 or fields.get("groups", 1) != 1):
        raise ValueError("op: channels_last (nn.Linear on channels-last data) needs stride 1 "
                         "and groups 1")

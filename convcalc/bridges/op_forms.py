"""Write a layer in the form its spec's `op` names (convcalc.layers.op_forms), for the export.

`convcalc export --to pytorch` writes every layer as the module of its kind; a layer the user's
model writes otherwise keeps that form in the export, so that a peer tool run on the exported
module counts what it counts on the user's model (and the conventions, which mirror the tools on
the export, stay exact):

- `op: function`: a `Function` module whose forward calls the torch function by name at call
  time (`F.relu`, `F.max_pool2d`, `F.adaptive_avg_pool2d`, `F.interpolate`, `torch.sigmoid`),
  as the model's code does, so a tool that patches the function sees the call, and a tool that
  hooks modules by type sees no module it knows;
- `op: method`: a `Method` module calling the tensor method (`x.mean((2, 3), keepdim=True)`,
  `x.relu()`);
- `op: channels_last`: the plain module (`nn.Linear`, `nn.LayerNorm`) between two permutes
  (the first made contiguous, as a model's channels-last layer gets its input).

Takes the module form the export made (its constructor and call); gives the written form.
"""

from __future__ import annotations

import re
from typing import Any

HELPERS: dict[str, str] = {
    "Function": '''
class Function(nn.Module):
    """A torch function the model calls where a module could be (F.relu(x), F.max_pool2d(x, 3)),
    looked up by name at each call, as the model's own code does."""

    def __init__(self, name, *args, **kwargs):
        super().__init__()
        self.name, self.args, self.kwargs = name, args, kwargs

    def forward(self, x):
        space = torch if self.name in ("sigmoid", "tanh") else nn.functional
        return getattr(space, self.name)(x, *self.args, **self.kwargs)
''',
    "Method": '''
class Method(nn.Module):
    """A tensor method the model calls (x.mean((2, 3), keepdim=True), x.relu())."""

    def __init__(self, name, *args, **kwargs):
        super().__init__()
        self.name, self.args, self.kwargs = name, args, kwargs

    def forward(self, x):
        return getattr(x, self.name)(*self.args, **self.kwargs)
''',
}

FUNCTIONS = {"MaxPool": "max_pool", "AvgPool": "avg_pool", "AdaptiveAvgPool": "adaptive_avg_pool",
             "Upsample": "interpolate", "ReLU": "relu", "ReLU6": "relu6",
             "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "SiLU": "silu",
             "Sigmoid": "sigmoid", "GELU": "gelu", "Tanh": "tanh", "LeakyReLU": "leaky_relu",
             "Softmax": "softmax"}
"""torch module class (without its 1d/2d/3d) → the torch function it calls, whose arguments
after the input are the module's own (positional and by keyword)."""

_CTOR = re.compile(r"nn\.([A-Za-z0-9]+?)([123]d)?\((.*)\)", re.S)


def _function_name(cls: str, dims: str | None) -> str:
    return FUNCTIONS[cls] + (dims or "")


def written(form: str | None, spec: Any, channels: int, rank: int, ctor: str,
            call: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(constructor, call, helpers) of a layer written in `form`; None for the module form."""
    if form is None or form == "module":
        return None
    if form == "channels_last":
        last = ", ".join(str(d) for d in (0, *range(2, rank + 2), 1))
        back = ", ".join(str(d) for d in (0, rank + 1, *range(1, rank + 1)))
        # contiguous, as the data a model's channels-last layer gets from the one before it
        # (ConvNeXt's Linear follows its LayerNorm): torch then runs the Linear as one addmm
        # (bias included, which ptflops-aten counts), not as mm + add as on a permuted view
        around = "{m}({x}.permute(" + last + ").contiguous()).permute(" + back + ")"
        return _channels_last_module(spec, channels), around, ()
    if form == "method" and spec.kind_name == "global_avgpool":
        dims = ", ".join(str(d) for d in range(2, rank + 2))
        return f"Method('mean', ({dims}{',' if rank == 1 else ''}), keepdim=True)", call, \
            ("Method",)
    found = _CTOR.fullmatch(ctor)
    if found is None:  # every kind op_forms allows has an nn.X(...) constructor
        raise ValueError(f"internal: no {form} form for {ctor}")
    cls, dims, args = found.groups()
    if form == "function":
        return f"Function({', '.join([repr(_function_name(cls, dims)), *_args(args)])})", \
            call, ("Function",)
    return f"Method({', '.join([repr(FUNCTIONS[cls]), *_args(args)])})", call, ("Method",)


def _args(args: str) -> list[str]:
    return [args] if args else []


def _channels_last_module(spec: Any, channels: int) -> str:
    """nn.Linear for a pointwise conv, nn.LayerNorm for a layernorm (their exact classes)."""
    if spec.kind_name == "pointwise":
        return f"nn.Linear({channels}, {spec.out}{'' if spec.bias else ', bias=False'})"
    if not spec.affine:
        return f"nn.LayerNorm({channels}, elementwise_affine=False)"
    return f"nn.LayerNorm({channels}{'' if spec.bias else ', bias=False'})"

"""The torch calls of the attention kinds as the export writes them, and every tool's rule for them.

The export (convcalc/bridges/export_classes_tokens.py, its `SelfAttention`, `TokenMLP`,
`PatchMerging`, `ClassToken`, `PosEmbedding` helpers) writes attention with explicit calls, never
`nn.MultiheadAttention` or `F.scaled_dot_product_attention`: so PyTorch's FlopCounterMode counts
the same with and without grad (no fused fast path runs; measured on vit_b_16, swin_t,
maxvit_t), and every tool sees the calls below. The calls, per kind, in forward order:

- `self_attention`: pad to whole windows, roll (shifted windows), partition into `b` groups of
  `t` tokens (reshape, permute; `.contiguous()`), `token_linear` qkv (+ `token_linear_bias`),
  `attention_scale` (`q * d ** -0.5`), `matmul` q·kᵀ, `position_bias` (`attn + table[index]`),
  `mask_add` (`attn + mask`, shifted windows; the mask is built from constants), `attention_softmax`
  (`attn.softmax(-1)`), `matmul` attention·v, `token_linear` proj (+ bias), the reverse
  partition, roll and crop;
- `mlp`: permute, `.contiguous()`, `token_linear` fc1 (+ bias), the activation module, fc2;
- `patch_merging`: permute, pad, four strided slices and `torch.cat`, `layernorm`
  (`nn.LayerNorm(4C)`), `token_linear` reduction (+ bias);
- `class_token`: the call `class_token` (`torch.cat` of the expanded parameter);
  `pos_embedding`: the call `pos_embedding` (`x + table`); `to_tokens` (`nn.Flatten(2)`),
  `to_map` (`nn.Unflatten`) and `take_token` (`x[:, :, i]`): the call `view`.

Pads, rolls, permutes, reshapes and slices compute nothing and no tool counts them: they are not
calls here. A token linear's input is a (b, t, C) or (1, …, C) tensor; its `Op` holds it as
`Shape(C, (b, rows / b))` (`lead` = b: torchinfo multiplies by the first dimension). The
`.contiguous()` before qkv and fc1 makes every token linear's input contiguous whatever the
layer before left, so torch always runs `aten.addmm` (a non-contiguous ≥3-D input runs `mm` and
a separate `add`, which ptflops' aten backend counts differently).

Rules per tool (each mirrors the tool's source and is checked against it run on the export,
tests/fixtures/peers/attention.json): `RULES[tool]`, one entry for every call of `OPS`.
calflops and DeepSpeed are not installable beside this torch: their rules for these calls are
derived from their source, not measured (see RULES).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

from convcalc.conventions.ops import KIND_OPS, Op, make
from convcalc.report import LayerReport
from convcalc.shapes import Shape

OPS = ("token_linear", "token_linear_bias", "matmul", "attention_scale", "position_bias",
       "mask_add", "attention_softmax", "layernorm", "class_token", "pos_embedding", "view")
"""The torch calls only the attention kinds make."""

OP_CAUSE = {
    "token_linear": "skipped", "token_linear_bias": "bias", "matmul": "skipped",
    "attention_scale": "elementwise", "position_bias": "elementwise", "mask_add": "elementwise",
    "attention_softmax": "activation", "layernorm": "normalization", "class_token": "skipped",
    "pos_embedding": "elementwise", "view": "skipped",
}
"""The cause of a difference on each call (base.OP_CAUSE takes these)."""


# --- the calls of each kind ----------------------------------------------------------------------

def token_linear_ops(part: LayerReport, bias: bool, lead: int = 1) -> list[Op]:
    """`nn.Linear` at every token of a report part (`layers.mlp.token_linear`): `lead` is the
    input tensor's first dimension (the windows of an attention, else 1)."""
    rows = prod(part.input.spatial)
    inp = Shape(part.input.channels, (lead, rows // lead))
    out = Shape(part.output.channels, (lead, rows // lead))
    ops = [make("token_linear", inp, out, macs=part.macs, bias=bias)]
    if bias:
        ops.append(make("token_linear_bias", inp, out, bias=True))
    return ops


def _self_attention(spec: Any, r: LayerReport) -> list[Op]:
    parts = {p.name: p for p in r.parts}
    qkv, scores, context, proj = parts["qkv"], parts["scores"], parts["context"], parts["proj"]
    padded = qkv.input.spatial
    from convcalc.layers.base import per_axis

    if spec.window is None:
        lead = 1
    else:
        windows = per_axis(spec.window, len(padded), "window")
        lead = prod(n // w for n, w in zip(padded, windows, strict=True))
    scores_shape = scores.output
    ops = [*token_linear_ops(qkv, spec.bias, lead),
           make("attention_scale", qkv.input, qkv.input),          # q · d^-½, T·C elements
           make("matmul", qkv.output, scores_shape, macs=scores.macs)]
    if spec.position_bias:  # kernel: the window, whose table the module holds
        ops.append(make("position_bias", scores_shape, scores_shape,
                        kernel=tuple(per_axis(spec.window, len(padded), "window"))))
    if spec.window is not None and spec.partition == "window" and _shifted(spec, padded):
        ops.append(make("mask_add", scores_shape, scores_shape))
    ops += [make("attention_softmax", scores_shape, scores_shape),
            make("matmul", scores_shape, context.output, macs=context.macs),
            *token_linear_ops(proj, spec.proj_bias, lead)]
    return ops


def _shifted(spec: Any, padded: tuple[int, ...]) -> bool:
    """Whether any axis rolls (the export drops a shift where the window covers the map)."""
    from convcalc.layers.base import per_axis

    rank = len(padded)
    windows, shifts = per_axis(spec.window, rank, "window"), per_axis(spec.shift, rank, "shift")
    return any(s and w < n for s, w, n in zip(shifts, windows, padded, strict=True))


def _mlp(spec: Any, r: LayerReport) -> list[Op]:
    fc1, act, fc2 = r.parts
    return [*token_linear_ops(fc1, spec.bias), make(spec.activation, act.input, act.output),
            *token_linear_ops(fc2, spec.bias)]


def _patch_merging(spec: Any, r: LayerReport) -> list[Op]:
    _, norm, reduction = r.parts
    return [make("layernorm", norm.input, norm.output, affine=True, bias=True),
            *token_linear_ops(reduction, spec.bias)]


KIND_OPS.update({
    "self_attention": _self_attention, "mlp": _mlp, "patch_merging": _patch_merging,
    "class_token": lambda spec, r: [make("class_token", r.input, r.output)],
    "pos_embedding": lambda spec, r: [make("pos_embedding", r.input, r.output,
                                           operands=(r.input, r.input))],
    **dict.fromkeys(("to_tokens", "to_map", "take_token"),
                    lambda spec, r: [make("view", r.input, r.output)]),
})
"""The attention kinds join ops.KIND_OPS: one table of every kind's calls."""


# --- convcalc's own other ops ------------------------------------------------------------------

def _numel(op: Op) -> int:
    return op.n_out


def _none(op: Op) -> int:
    return 0


def _layernorm(op: Op) -> int:
    """4 per element, + 1 for γ, + 1 for β (other_ops.norm)."""
    return op.n_in * (4 + (1 if op.affine else 0) + (1 if op.bias else 0))


OTHER_OPS: dict[str, tuple[str, Callable[[Op], int]]] = {
    "attention_scale": ("multiply", _numel), "position_bias": ("add", _numel),
    "mask_add": ("add", _numel), "attention_softmax": ("activation", _numel),
    "layernorm": ("normalization", _layernorm), "pos_embedding": ("add", _numel),
    **dict.fromkeys(("token_linear", "token_linear_bias", "matmul", "class_token", "view"),
                    ("", _none)),
}
"""Other ops of the attention calls (other_ops.OTHER_OPS takes these): the scale is one multiply
per q element, each bias, mask or positional add one add per element, the softmax one
activation per score, layer norm as every norm. The shifted-window mask is built from constants
(its few ops on the mask, not on the data, are not counted)."""


# --- every tool's rules ------------------------------------------------------------------------

Rule = Callable[[Op], int]


def _macs(op: Op) -> int:
    """PyTorch's count: rows · in · out for a token linear, the matmul's b·h·t·n·d."""
    return op.macs


def _flops(op: Op) -> int:
    return 2 * op.macs


def _lead_weight(op: Op) -> int:
    """torchinfo: numel(weight) · output.shape[0] (its first dimension, the windows)."""
    return op.input.channels * op.output.channels * op.input.spatial[0]


def _lead_bias(op: Op) -> int:
    """torchinfo: numel(bias) · output.shape[0]."""
    return op.output.channels * op.input.spatial[0]


def _layernorm_params(op: Op) -> int:
    """torchinfo: numel(weight) + numel(bias), once (a 4-D input's first dimension is 1)."""
    return op.input.channels * ((1 if op.affine else 0) + (1 if op.bias else 0))


def _rules(counted: dict[str, Rule]) -> dict[str, Rule]:
    return {op: counted.get(op, _none) for op in OPS}


RULES: dict[str, dict[str, Rule]] = {
    # FlopCounterMode: addmm/mm and bmm (the matmuls), nothing else
    "torch": _rules({"token_linear": _flops, "matmul": _flops}),
    # pytorch backend: linear_flops_counter_hook (pytorch_ops.py:35-43): (in·out + out) · rows
    # (the bias per row); torch.matmul patched (pytorch_engine.py:435-437, pytorch_ops.py:385-387:
    # numel(a) · b[-1]); nn.LayerNorm has bn_flops_counter_hook (pytorch_ops.py:51-57, 304):
    # numel(x), not doubled (a LayerNorm has no `affine` attribute). `*`, `+` and
    # Tensor.softmax are not patched.
    "ptflops": _rules({"token_linear": _macs, "token_linear_bias": _numel, "matmul": _macs,
                       "layernorm": lambda op: op.n_in}),
    # aten backend: aten.addmm with its bias (every token linear's input is contiguous: addmm),
    # aten.bmm for the matmuls (aten_ops.py:23-54, 109-116)
    "ptflops-aten": _rules({"token_linear": _macs, "token_linear_bias": _numel,
                            "matmul": _macs}),
    # linear_flop_jit (rows·in·out), matmul_flop_jit (jit_handles.py:99-124: numel(a) · b[-1]),
    # norm_flop_counter for aten::layer_norm (5 per element with a weight); aten::mul, add,
    # softmax, pow, neg, pad, roll: no handle (the warning), 0
    "fvcore": _rules({"token_linear": _macs, "matmul": _macs,
                      "layernorm": lambda op: op.n_in * (5 if op.affine else 4)}),
    # count_linear: in_features · numel(y); count_normalization for nn.LayerNorm: 2·numel,
    # ×2 with elementwise_affine (basic_hooks.py:60-69); functional matmuls are never seen
    "thop": _rules({"token_linear": _macs,
                    "layernorm": lambda op: 2 * op.n_in * (2 if op.affine else 1)}),
    # by parameters (layer_info.py:225-245): weight and bias × output.shape[0]; a LayerNorm
    # its 2·4C; ClassToken's `token`, PosEmbedding's `table` and SelfAttention's
    # `relative_position_bias_table` are not named weight or bias: 0
    "torchinfo": _rules({"token_linear": _lead_weight, "token_linear_bias": _lead_bias,
                         "layernorm": _layernorm_params}),
    # calflops 0.3.2 and DeepSpeed's FlopsProfiler, derived from their source (calflops
    # pytorch_ops.py `_patch_functionals`, `_patch_tensor_methods`; DeepSpeed profiler.py, the
    # same lists), not measured: neither installs beside torch 2.13.0 here. nn.Linear calls the
    # patched F.linear (`_linear_flops_compute`: numel(x) · out MACs, 2· as FLOPs, no bias, as
    # for `linear`); torch.matmul is patched (`_matmul_flops_compute`: numel(a) · b[-1] MACs,
    # 2· as FLOPs); nn.LayerNorm calls the patched F.layer_norm (FLOPs numel · 5 with a weight,
    # as for `layernorm2d`); `Tensor.softmax`, `torch.roll`, `F.pad` and the operators `*`, `+`
    # are not patched: 0
    **{tool: _rules({"token_linear": _macs, "matmul": _macs})
       for tool in ("calflops", "deepspeed")},
    **{tool: _rules({"token_linear": _flops, "matmul": _flops,
                     "layernorm": lambda op: op.n_in * (5 if op.affine else 4)})
       for tool in ("calflops-flops", "deepspeed-flops")},
}
"""tool → a rule for every attention call."""


def nonleaf_params(row: Sequence[Op]) -> int:
    """Parameters the export holds in a module with children (SelfAttention's
    `relative_position_bias_table`, ∏(2w−1)·heads): torchinfo's `Params size` leaves them out
    (it sums leaf modules, model_statistics.py:31-41)."""
    return sum(prod(2 * w - 1 for w in op.kernel) * (op.input.channels // prod(op.kernel))
               for op in row if op.op == "position_bias")


__all__ = ["OPS", "OP_CAUSE", "OTHER_OPS", "RULES", "nonleaf_params", "token_linear_ops"]

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

from convcalc.conventions.op_forms import by_form
from convcalc.conventions.ops import KIND_OPS, Op, make
from convcalc.report import LayerReport
from convcalc.shapes import Shape

OPS = ("token_linear", "token_linear_bias", "matmul", "attention_scale", "position_bias",
       "mask_add", "attention_softmax", "layernorm", "class_token", "pos_embedding", "view",
       "cosine_normalize", "logit_scale")
"""The torch calls only the attention kinds make."""

OP_CAUSE = {
    "token_linear": "skipped", "token_linear_bias": "bias", "matmul": "skipped",
    "attention_scale": "elementwise", "position_bias": "elementwise", "mask_add": "elementwise",
    "attention_softmax": "activation", "layernorm": "normalization", "class_token": "skipped",
    "pos_embedding": "elementwise", "view": "skipped", "cosine_normalize": "normalization",
    "logit_scale": "elementwise",
}
"""The cause of a difference on each call (base.OP_CAUSE takes these)."""


# --- the calls of each kind ----------------------------------------------------------------------

def token_linear_ops(part: LayerReport, bias: bool, lead: int = 1, form: str = "module",
                     once: bool = False) -> list[Op]:
    """`nn.Linear` at every token of a report part (`layers.mlp.token_linear`): `lead` is the
    input tensor's first dimension (the windows of an attention, else 1); `form` "function"
    for `F.linear(x, weight, bias)` (Swin V2's qkv); `once` for the position-bias MLP (its MACs
    are then one pass's, whatever the batch)."""
    rows = prod(part.input.spatial)
    inp = Shape(part.input.channels, (lead, rows // lead))
    out = Shape(part.output.channels, (lead, rows // lead))
    ops = [make("token_linear", inp, out, macs=part.macs, bias=bias, form=form, once=once)]
    if bias:
        ops.append(make("token_linear_bias", inp, out, bias=True, form=form, once=once))
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
    if spec.cosine:  # Swin V2: F.linear (the k bias zeroed), F.normalize(q), F.normalize(k)
        heads = parts["logit_scale"].weight_params
        ops = [*token_linear_ops(qkv, spec.bias, lead, form="function"),
               make("cosine_normalize", qkv.input, qkv.input, heads=heads),
               make("matmul", qkv.output, scores_shape, macs=scores.macs),
               make("logit_scale", scores_shape, scores_shape, heads=heads)]
    else:
        ops = [*token_linear_ops(qkv, spec.bias, lead),
               make("attention_scale", qkv.input, qkv.input),          # q · d^-½, T·C elements
               make("matmul", qkv.output, scores_shape, macs=scores.macs)]
    if spec.bias_mlp is not None:
        ops += _bias_mlp(parts["cpb_mlp"])
        ops.append(make("position_bias", scores_shape, scores_shape))
    elif spec.position_bias:  # kernel: the window, whose table the module holds
        ops.append(make("position_bias", scores_shape, scores_shape,
                        kernel=tuple(per_axis(spec.window, len(padded), "window"))))
    if spec.window is not None and spec.partition == "window" and _shifted(spec, padded):
        ops.append(make("mask_add", scores_shape, scores_shape))
    ops += [make("attention_softmax", scores_shape, scores_shape),
            make("matmul", scores_shape, context.output, macs=context.macs),
            *token_linear_ops(proj, spec.proj_bias, lead)]
    return ops


def _bias_mlp(mlp: LayerReport) -> list[Op]:
    """Swin V2's position bias, once per pass on the (1, 2w−1, …, rank) coordinate table: the
    `cpb_mlp` modules nn.Linear(rank, h), nn.ReLU(inplace=True), nn.Linear(h, heads, no bias),
    then the gather, `torch.sigmoid` (a torch function: `form` method) and `16 *` (an operator)
    on the heads·n² biases; the add to the scores follows (`position_bias`)."""
    fc1, relu, fc2, gather = mlp.parts
    return [*token_linear_ops(fc1, True, once=True),
            make("relu", relu.input, relu.output, once=True),
            *token_linear_ops(fc2, False, once=True),
            make("sigmoid", gather.output, gather.output, form="method", once=True),
            make("mul", gather.output, gather.output, operands=(Shape(1, (1,) * gather.output.rank),
                                                                 gather.output), once=True)]


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
    parts = {p.name: p for p in r.parts}
    norm = parts["norm"]
    ops = [make("layernorm", norm.input, norm.output, affine=True, bias=True)]
    linear = token_linear_ops(parts["reduction"], spec.bias)
    # Swin V2 (`norm: after`): the linear, then LayerNorm(out)
    return linear + ops if spec.norm == "after" else ops + linear


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


def _cosine_normalize(op: Op) -> int:
    """F.normalize of q and of k, each T·C elements in T·heads rows of d: the L2 norm (d
    squares and d adds per row, the sqrt), its clamp_min(ε) (one per row) and the division (one
    per element): 2·(3·T·C + T·heads)."""
    rows = op.n_in // (op.input.channels // op.heads) if op.heads else 0
    return 2 * (3 * op.n_in + rows)


OTHER_OPS: dict[str, tuple[str, Callable[[Op], int]]] = {
    "attention_scale": ("multiply", _numel), "position_bias": ("add", _numel),
    "mask_add": ("add", _numel), "attention_softmax": ("activation", _numel),
    "layernorm": ("normalization", _layernorm), "pos_embedding": ("add", _numel),
    "cosine_normalize": ("normalization", _cosine_normalize), "logit_scale": ("multiply", _numel),
    **dict.fromkeys(("token_linear", "token_linear_bias", "matmul", "class_token", "view"),
                    ("", _none)),
}
"""Other ops of the attention calls (other_ops.OTHER_OPS takes these): the scale is one multiply
per q element, each bias, mask or positional add one add per element, the softmax one
activation per score, layer norm as every norm; Swin V2's cosine attention L2-normalises q and k
(`_cosine_normalize`) and multiplies each score by its head's scale. The shifted-window mask is
built from constants and Swin V2's position-bias MLP runs on its coordinate table (`once`): their
ops, not on the data, are not counted (other_ops skips a `once` call)."""


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
    # F.linear is not patched (pytorch_engine.py:349 is commented out): Swin V2's qkv, written
    # F.linear(x, weight, bias), counts 0
    "ptflops": _rules({"token_linear": by_form(_macs), "token_linear_bias": by_form(_numel),
                       "matmul": _macs, "layernorm": lambda op: op.n_in}),
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
    # (Swin V2's qkv, F.linear, runs no module: 0)
    "thop": _rules({"token_linear": by_form(_macs),
                    "layernorm": lambda op: 2 * op.n_in * (2 if op.affine else 1)}),
    # by parameters (layer_info.py:225-245): weight and bias × output.shape[0]; a LayerNorm
    # its 2·4C; ClassToken's `token`, PosEmbedding's `table` and SelfAttention's
    # `relative_position_bias_table` are not named weight or bias: 0; Swin V2's qkv module never
    # runs (its forward calls F.linear on the weights): 0, and Swin V2's `logit_scale` is no
    # weight or bias either
    "torchinfo": _rules({"token_linear": by_form(_lead_weight),
                         "token_linear_bias": by_form(_lead_bias),
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
    """Parameters torchinfo's `Params size` leaves out (it sums the leaf modules that ran,
    model_statistics.py:31-41): those the export holds in a module with children
    (SelfAttention's `relative_position_bias_table`, ∏(2w−1)·heads, and Swin V2's
    `logit_scale`, heads) and those of a module that never runs (Swin V2's `qkv`, whose weights
    SelfAttention passes to F.linear: in·out, + out with a bias)."""
    n = 0
    for op in row:
        if op.op == "position_bias" and op.kernel:
            n += prod(2 * w - 1 for w in op.kernel) * (op.input.channels // prod(op.kernel))
        elif op.op == "logit_scale":
            n += op.heads
        elif op.op == "token_linear" and op.form == "function":
            n += op.input.channels * op.output.channels
        elif op.op == "token_linear_bias" and op.form == "function":
            n += op.output.channels
    return n


__all__ = ["OPS", "OP_CAUSE", "OTHER_OPS", "RULES", "nonleaf_params", "token_linear_ops"]

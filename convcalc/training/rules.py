"""What each layer kind costs in backward and keeps for it: one rule per kind, measured.

Every rule reads the facts the engine already reports for a layer (its LayerReport, batched,
and its spec) and two facts of autograd: whether the layer's input needs a gradient
(`input_grad`) and whether its parameters do (`trainable`). It says which tensors autograd keeps
for backward (PyTorch 2.13, train mode, CPU) and which gradients the layer computes.

The rules were found by measuring torch (scripts/measure_training.py, saved_tensors_hooks with
one storage counted once; tests/fixtures/training_kinds.json), and are checked against it:

- conv kinds and transposed keep their input whenever the op is recorded (its input or its
  weight needs a gradient; a frozen conv too); linear only when its weight needs a gradient
  (addmm keeps mat1 for grad-weight alone); `padding: same` with an odd total padding on an axis
  keeps the zero-padded copy torch makes instead. Each gradient costs the forward MACs (groups
  included): grad-input when the input needs a gradient, grad-weight when trainable.
- batch norm: input + per-channel mean and inverse std (fp32); layer norm: input + mean and
  rstd per position; group norm: input + mean and rstd per (sample, group).
- ReLU, sigmoid, tanh, softmax keep their output; ReLU6 (hardtanh), Hardswish, Hardsigmoid, SiLU,
  GELU, LeakyReLU their input; identity, flatten, shuffle, upsample, global average pooling
  nothing; average and adaptive pooling their input; max pooling its input and int64 indices.
- dropout: a noise tensor of the input's size and dtype (CPU; CUDA's fused kernel keeps a bool
  mask of one byte per element instead); stochastic depth its per-sample noise (N elements,
  one for mode "batch"); layer scale (γ·x) its input when γ is trainable.
- mul (a gate): each operand whose partner needs a gradient; add and concat nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, Literal

from convcalc.errors import SpecError
from convcalc.report import LayerReport

Dtype = Literal["act", "f32", "i64", "bool"]
"""An element's type: the activations' (float32, or bf16/fp16 in mixed precision), float32
statistics, int64 indices, bool masks."""


@dataclass(frozen=True, slots=True)
class Private:
    """A tensor a layer makes and keeps for backward that no other layer sees."""

    what: str
    elements: int
    dtype: Dtype = "act"


@dataclass(frozen=True, slots=True)
class Saves:
    """What one layer keeps for backward and what its backward computes.

    `input` / `output`: it keeps its input's / its output's storage (shared with the layers
    that produce and read it: counted once over the network). `private`: tensors only it has.
    `internal`: tensors between the parts of a composite layer (its own outputs, counted once).
    """

    input: bool = False
    output: bool = False
    private: tuple[Private, ...] = ()
    grad_input_macs: int = 0
    grad_weight_macs: int = 0
    parts: tuple[Saves, ...] = field(default=())

    @property
    def backward_macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs


Rule = Callable[[LayerReport, Any, bool, bool], Saves]
"""(report, spec or None for a composite's part, input needs grad, params trainable)."""


def _conv(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """conv kinds, transposed: grad-input and grad-weight each cost the forward MACs. Torch's
    convolution node keeps input and weight whenever it exists (one backward formula for
    both gradients): a frozen conv whose input needs a gradient still keeps its input."""
    return _product(report, spec, input_grad, trainable, input_grad or trainable)


def _linear(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """linear (addmm): keeps its input only for the weight's gradient."""
    return _product(report, spec, input_grad, trainable, trainable)


def _product(report: LayerReport, spec: Any, input_grad: bool, trainable: bool,
             keeps: bool) -> Saves:
    gi = report.macs if input_grad else 0
    gw = report.macs if trainable else 0
    if not keeps:
        return Saves(grad_input_macs=gi)
    padded = _same_padded(report, spec)
    if padded is not None:
        return Saves(private=(Private("zero-padded input", padded),), grad_input_macs=gi,
                     grad_weight_macs=gw)
    return Saves(input=True, grad_input_macs=gi, grad_weight_macs=gw)


def _same_padded(report: LayerReport, spec: Any) -> int | None:
    """Elements of the padded copy torch keeps for `padding: same` with an odd total padding
    on some axis (torch pads the odd part in a copy, then convolves symmetrically)."""
    if spec is None or getattr(spec, "padding", None) != "same":
        return None
    shape = report.input
    kernel, dilation = spec.kernel, spec.dilation
    rank = shape.rank
    ks = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    ds = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    extra = [d * (k - 1) % 2 for k, d in zip(ks, ds, strict=True)]
    if not any(extra):
        return None
    batch = report.input_elements // shape.elements
    return batch * shape.channels * prod(n + e for n, e in zip(shape.spatial, extra, strict=True))


def _any(input_grad: bool, trainable: bool) -> bool:
    return input_grad or trainable


def _batch(report: LayerReport) -> int:
    return report.input_elements // report.input.elements


def _batchnorm(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    if not _any(input_grad, trainable):
        return Saves()
    c = report.input.channels
    return Saves(input=True, private=(Private("mean", c, "f32"), Private("invstd", c, "f32")))


def _layernorm(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    if not _any(input_grad, trainable):
        return Saves()
    n = report.input_elements // report.input.channels
    return Saves(input=True, private=(Private("mean", n, "f32"), Private("rstd", n, "f32")))


def _groupnorm(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    if not _any(input_grad, trainable):
        return Saves()
    n = _batch(report) * spec.groups
    return Saves(input=True, private=(Private("mean", n, "f32"), Private("rstd", n, "f32")))


def _keeps_input(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    return Saves(input=input_grad)


def _keeps_output(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    return Saves(output=input_grad)


def _nothing(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    return Saves()


def _maxpool(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    if not input_grad:
        return Saves()
    return Saves(input=True, private=(Private("indices", report.output_elements, "i64"),))


def _adaptive(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    # an output of 1 per axis is a mean (torch takes that path), which keeps nothing
    if report.output.elements == report.output.channels:
        return Saves()
    return Saves(input=input_grad)


def _dropout(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    if not input_grad or spec is None or spec.p == 0:
        return Saves()
    return Saves(private=(Private("noise", report.input_elements),))


def _stochastic_depth(report: LayerReport, spec: Any, input_grad: bool,
                      trainable: bool) -> Saves:
    if not input_grad or spec is None or spec.p == 0:
        return Saves()
    n = _batch(report) if spec.mode == "row" else 1
    return Saves(private=(Private("noise", n),))


def _layer_scale(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    return Saves(input=trainable)


def sequence(parts: Sequence[LayerReport], input_grad: bool, trainable: bool,
             specs: Sequence[Any] | None = None) -> Saves:
    """A composite whose parts run one after the other: the parts' rules, with the tensors
    between them (part i's output = part i+1's input) kept once, as the composite's own."""
    kept: list[Private] = []
    saved_input = False
    grad = input_grad
    gi = gw = 0
    done: list[Saves] = []
    for i, part in enumerate(parts):
        part_trainable = trainable and part.params > 0
        s = rule_for(part.kind)(part, specs[i] if specs else None, grad, part_trainable)
        done.append(s)
        gi += s.grad_input_macs
        gw += s.grad_weight_macs
        kept += s.private
        if s.input:
            if i == 0:
                saved_input = True
            else:
                _keep(kept, f"{parts[i - 1].name or parts[i - 1].kind} output",
                      parts[i - 1].output_elements)
        if s.output:
            _keep(kept, f"{part.name or part.kind} output", part.output_elements)
        grad = grad or part_trainable
    return Saves(input=saved_input, private=tuple(kept), grad_input_macs=gi,
                 grad_weight_macs=gw, parts=tuple(done))


def _keep(kept: list[Private], what: str, elements: int) -> None:
    if all(p.what != what for p in kept):
        kept.append(Private(what, elements))


def _composite(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    return sequence(report.parts, input_grad, trainable)


def _se(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """Squeeze-and-excitation: pool → fc1 → act → fc2 → gate, then scale · x: the mul keeps x
    when the scale needs a gradient and the scale when x does."""
    *branch, _mul = report.parts
    inner = sequence(branch, input_grad, trainable)
    scale_grad = input_grad or (trainable and any(p.params for p in branch))
    kept = list(inner.private)
    if input_grad:
        gate = branch[-1]
        _keep(kept, f"{gate.name or gate.kind} output", gate.output_elements)
    return Saves(input=inner.input or scale_grad, private=tuple(kept),
                 grad_input_macs=inner.grad_input_macs, grad_weight_macs=inner.grad_weight_macs,
                 parts=inner.parts)


def _octave(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """Octave conv as convcalc's export runs it: x split (views) into its high and low
    channels; the low part average-pooled 2×2; with stride 2 both pooled (again); high→low
    reads the high part pooled once more; low→high is upsampled and added. Each conv keeps
    its input when trainable, each pool its input when that needs a gradient."""
    from convcalc.formulas import octave_split

    by_name = {p.name: p for p in report.parts}
    hh, hl, lh, ll = (by_name.get(n) for n in ("high→high", "high→low", "low→high", "low→low"))
    shape, batch = report.input, _batch(report.parts[0])  # its own input_elements are mixed
    h_in, l_in = octave_split(shape.channels, spec.alpha_in)
    stride2 = spec.stride == 2
    half = prod(n // 2 for n in shape.spatial)
    quarter = prod(n // 2 // 2 for n in shape.spatial)
    kept: list[Private] = []
    saves_x = False
    x = Private("x", 0)
    xh = Private("high pooled", batch * h_in * half) if stride2 else x
    xl = (Private("low pooled twice", batch * l_in * quarter) if stride2
          else Private("low pooled", batch * l_in * half))

    def keep(tensor: Private) -> None:
        nonlocal saves_x
        if tensor is x:
            saves_x = True
        else:
            _keep(kept, tensor.what, tensor.elements)

    if input_grad and l_in:
        keep(x)  # pool(x_low) keeps its input, a view of x
        if stride2:
            keep(Private("low pooled", batch * l_in * half))
    if input_grad and stride2 and h_in:
        keep(x)
    gi = gw = 0
    for conv, tensor in ((hh, xh), (lh, xl), (hl, None), (ll, xl)):
        if conv is None:
            continue
        t = trainable and conv.params > 0
        gi += conv.macs if input_grad else 0
        gw += conv.macs if t else 0
        if tensor is None:  # high→low: pool(xh) keeps xh, the conv keeps the pooled one
            if input_grad:
                keep(xh)
            if t or input_grad:
                keep(Private("high→low input", conv.input_elements))
        elif t or input_grad:
            keep(tensor)
    return Saves(input=saves_x, private=tuple(kept), grad_input_macs=gi, grad_weight_macs=gw)


def _patch_merging(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """Swin's patch merging: space to depth (slices and a concat: keeps nothing), then the
    layernorm and the linear by their rules; the concat's output is the layernorm's input, a
    tensor of the layer's own."""
    s2d, *rest = report.parts
    inner = sequence(rest, input_grad, trainable)
    kept = list(inner.private)
    if inner.input:
        kept.insert(0, Private(f"{s2d.name or s2d.kind} output", s2d.output_elements))
    return Saves(private=tuple(kept), grad_input_macs=inner.grad_input_macs,
                 grad_weight_macs=inner.grad_weight_macs, parts=(Saves(), *inner.parts))


def _attention(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """Self-attention as convcalc's export runs it (explicit matmuls): the qkv linear keeps its
    tokens (a copy of the map, windowed and padded) for its weight's gradient; q·kᵀ keeps q
    and k, the softmax its output (the attention), attention·v the attention and v, each
    operand only for its partner's gradient; the proj linear keeps its input (a copy) for its
    weight's. A relative position bias (a parameter gathered by a buffer index, added) keeps
    nothing. Each matmul's gradient w.r.t. each operand that needs one costs its forward MACs.

    Swin V2 (measured the same way): cosine attention normalises q and k first, which keeps
    the qkv output (all three thirds: q and k are views of it) and, for each of q and k, its
    norms and their clamped copy (one value per token and head); q·kᵀ then keeps the
    normalised q and k; × exp(logit scale) keeps the scale (heads values) for the scores'
    gradient and the scores for the scale's. The bias MLP keeps its ReLU's output (once per
    pass, not per sample) for its weights' gradients and the sigmoid's output (heads·n²), and
    its backward costs both linears' weight gradients and the second's input gradient."""
    qkv, scores, *mid, context, proj = report.parts
    table = [p for p in mid if p.kind == "position_bias"]
    mlp = next((p for p in mid if p.kind == "bias_mlp"), None)
    scale = next((p for p in mid if p.kind == "logit_scale"), None)
    softmax = next(p for p in mid if p.kind == "softmax")
    qkv_w = trainable and qkv.params > 0
    table_w = trainable and any(p.params for p in table)
    mlp_w = trainable and mlp is not None and mlp.params > 0
    scale_w = trainable and scale is not None
    proj_w = trainable and proj.params > 0
    kept: list[Private] = []
    gi = qkv.macs if input_grad else 0
    gw = (qkv.macs if qkv_w else 0) + (proj.macs if proj_w else 0)
    if qkv_w:
        kept.append(Private("qkv input (tokens)", qkv.input_elements))
    qkv_grad = input_grad or qkv_w  # q, k and v need a gradient
    third = qkv.output_elements // 3
    if qkv_grad and scale is not None:
        per_token = third // (qkv.output.channels // 3) * scale.params  # tokens·heads
        kept.append(Private("qkv output (q, k normalised)", qkv.output_elements))
        kept += [Private(f"{t} {what}", per_token) for t in ("q", "k")
                 for what in ("norms", "clamped norms")]
    if qkv_grad:
        q, k = ("q normalised", "k normalised") if scale is not None else ("q", "k")
        kept += [Private(q, third), Private(k, third)]
        gi += 2 * scores.macs
    if scale is not None:
        if qkv_grad:
            kept.append(Private("logit scale", scale.params))
        if scale_w:
            kept.append(Private("scores (q·kᵀ)", scores.output_elements))
    if mlp_w and mlp is not None:
        fc1, relu, fc2, bias = mlp.parts
        kept += [Private("bias MLP hidden", relu.output_elements),
                 Private("bias (sigmoid output)", bias.output_elements)]
        gw += fc1.macs + fc2.macs
        gi += fc2.macs
    attn_grad = qkv_grad or table_w or mlp_w or scale_w
    if attn_grad:
        kept.append(Private("attention (softmax output)", softmax.output_elements))
        gi += context.macs  # w.r.t. the attention
    if attn_grad:
        kept.append(Private("v", third))  # for the attention's gradient
    if qkv_grad:
        gi += context.macs  # w.r.t. v
    if proj_w:
        kept.append(Private("proj input", proj.input_elements))
    if attn_grad:
        gi += proj.macs
    return Saves(private=tuple(kept), grad_input_macs=gi, grad_weight_macs=gw)


RULES: dict[str, Rule] = {
    **dict.fromkeys(("conv", "pointwise", "grouped", "depthwise", "dilated", "pointwise_group",
                     "transposed"), _conv),
    "linear": _linear,
    "dwsep": _composite, "spatial_sep": _composite, "shuffle_unit": _composite,
    "se": _se, "octave": _octave,
    "batchnorm": _batchnorm, "layernorm": _layernorm, "groupnorm": _groupnorm,
    **dict.fromkeys(("relu", "sigmoid", "tanh", "softmax"), _keeps_output),
    **dict.fromkeys(("relu6", "hardswish", "hardsigmoid", "silu", "gelu", "leaky_relu",
                     "avgpool"), _keeps_input),
    **dict.fromkeys(("identity", "flatten", "shuffle", "upsample", "global_avgpool"), _nothing),
    "adaptive_avgpool": _adaptive, "maxpool": _maxpool,
    "dropout": _dropout, "stochastic_depth": _stochastic_depth, "layer_scale": _layer_scale,
    # token kinds: views, a cat with a parameter, an add of one; none keeps a tensor
    **dict.fromkeys(("to_tokens", "to_map", "take_token", "class_token", "pos_embedding"),
                    _nothing),
    "mlp": _composite, "patch_merging": _patch_merging, "self_attention": _attention,
}
"""kind → rule. A test checks every kind of convcalc.layers.REGISTRY has one."""

VIEWS = frozenset({"identity", "flatten", "take_token"})
"""Kinds whose output in train mode is their input's storage (a view, or the tensor itself):
a consumer that keeps a token taken by take_token keeps the whole sequence's storage."""


UNMEASURED: frozenset[str] = frozenset({"uncounted"})
"""Kinds whose training rules are not measured against autograd yet (only `uncounted`, an
operator an import could not read, since the attention kinds were measured): --train refuses
such a kind by name rather than guess what autograd keeps for it."""


def check_measured(kinds: Iterable[str]) -> None:
    """Every kind has a measured rule, or one line naming those that have none (before any
    work)."""
    missing = sorted(set(kinds) - set(RULES))
    if missing:
        raise SpecError(f"--train: what autograd keeps and computes for {', '.join(missing)} is "
                        "not measured yet, and convcalc does not guess it; every other kind's "
                        "training cost is exact (README: Training)")


def rule_for(kind: str) -> Rule:
    check_measured((kind,))
    return RULES[kind]


def is_view(report: LayerReport, spec: Any) -> bool:
    """Whether the layer's output is its input's storage in train mode (flatten, identity;
    dropout and stochastic depth with p = 0 return their input)."""
    if report.kind in VIEWS:
        return True
    return report.kind in ("dropout", "stochastic_depth") and spec is not None and spec.p == 0


def layer_saves(report: LayerReport, spec: Any, input_grad: bool, trainable: bool) -> Saves:
    """The rule of the layer's kind applied to it."""
    return rule_for(report.kind)(report, spec, input_grad, trainable)

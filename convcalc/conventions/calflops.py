"""`calflops` and `calflops-flops`: calflops 0.3.2, `calculate_flops(m, input_shape=(1, C, H, W),
output_as_string=False)`, which returns (FLOPs, MACs, params).

It patches functionals and tensor methods (`pytorch_ops.py:452-525`); each patched call adds its
(FLOPs, MACs) to the module running it, and the totals sum them (`utils.py:253-281`). MACs are
non-zero for convolutions and linear layers only; FLOPs are 2·MACs, plus the convolution bias,
plus one per element for norms, several activations, pooling and upsampling. Operators (`a +
b`, `a * b`) and `torch.cat` are not patched. It prints `fwd MACs: 1.81 GMACs` and
`fwd FLOPs: 3.64 GFLOPS`.

Its own output-size formula for a convolution takes 'same' as ⌊D·(K−1)/2⌋ on both sides
(lines 96-113), one position short per axis for an even kernel; a transposed convolution divides
its per-group filter count by the groups a second time (line 161) and takes the bias over a
*forward*-conv output size (lines 150-155, 167-169). It fails on a model without parameters
(`next(model.parameters())`, `flops_counter.py:121`: StopIteration) and on an `nn.Upsample`
whose `scale_factor` is a tuple of more than one axis (line 250: `tuple ** int`, TypeError), which
is how the export writes every 2-D and 3-D upsample.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from convcalc.conventions import attention_ops
from convcalc.conventions.base import Convention, numel_in, table, zero
from convcalc.conventions.op_forms import by_form
from convcalc.conventions.ops import Op

VERSION = "0.3.2"


def conv_positions(op: Op) -> int:
    """`_conv_flops_compute`'s output size (pytorch_ops.py:96-113): padding 'valid' → 0,
    'same' → ⌊D·(K−1)/2⌋ each side, then ⌊(L + 2P − (D·(K−1)+1))/S⌋ + 1 per axis."""
    pads: Sequence[int]
    if op.padding == "valid":
        pads = (0,) * op.input.rank
    elif isinstance(op.padding, str):  # 'same'
        pads = [d * (k - 1) // 2 for d, k in zip(op.dilation, op.kernel, strict=True)]
    else:
        pads = op.padding
    return prod((n + 2 * p - (d * (k - 1) + 1)) // s + 1 for n, p, d, k, s in
                zip(op.input.spatial, pads, op.dilation, op.kernel, op.stride, strict=True))


def conv_macs(op: Op) -> int:
    """∏K · C_in · (C_out // G) per output position (pytorch_ops.py:115-118)."""
    return prod(op.kernel) * op.input.channels * (op.output.channels // op.groups) * \
        conv_positions(op)


def conv_flops(op: Op) -> int:
    """2 · MACs (pytorch_ops.py:119)."""
    return 2 * conv_macs(op)


def conv_bias(op: Op) -> int:
    """C_out per output position of its own formula (pytorch_ops.py:121-123)."""
    return op.output.channels * conv_positions(op)


def conv_transpose_macs(op: Op) -> int:
    """`_conv_trans_flops_compute` (pytorch_ops.py:128-171): out_channels = weight.shape[1],
    already C_out/G, and `filters_per_channel = out_channels // groups` divides by G again
    (line 161): ∏K · C_in · ((C_out/G) // G) per input position. 0 for a depthwise one."""
    per_group = op.output.channels // op.groups
    return prod(op.kernel) * op.input.channels * (per_group // op.groups) * \
        prod(op.input.spatial)


def conv_transpose_flops(op: Op) -> int:
    """2 · its MACs."""
    return 2 * conv_transpose_macs(op)


def conv_transpose_bias(op: Op) -> int:
    """weight.shape[1] (= C_out/G) × a forward-conv output size of the input,
    ⌊(L + 2P − (D·(K−1)+1))/S⌋ + 1 per axis (lines 150-155, 167-169), not the real output."""
    assert not isinstance(op.padding, str)  # a transposed conv's padding is whole numbers
    dims = [(n + 2 * p - (d * (k - 1) + 1)) // s + 1 for n, p, d, k, s in
            zip(op.input.spatial, op.padding, op.dilation, op.kernel, op.stride, strict=True)]
    return op.output.channels // op.groups * prod(dims)


def linear_macs(op: Op) -> int:
    """`_linear_flops_compute` (pytorch_ops.py:37-40): numel(x) · out; the bias is ignored."""
    return op.n_in * op.output.channels


def linear_flops(op: Op) -> int:
    """2 · MACs (no bias, ever)."""
    return 2 * linear_macs(op)


def batchnorm(op: Op) -> int:
    """`_batch_norm_flops_compute`, eval (pytorch_ops.py:174-189): numel, ×2 with a weight."""
    return op.n_in * (2 if op.affine else 1)


def norm(op: Op) -> int:
    """`_layer_norm_flops_compute`, `_group_norm_flops_compute` (pytorch_ops.py:192-211):
    numel · (5 with a weight, else 4)."""
    return op.n_in * (5 if op.affine else 4)


def fails(per_row: Sequence[Sequence[Op]], params: int) -> str | None:
    """calflops 0.3.2's errors on a network built by the export."""
    if params == 0:
        return ("StopIteration at flops_counter.py:121: next(model.parameters()) on a model "
                "without parameters")
    for ops in per_row:
        for op in ops:
            if op.op == "upsample" and len(op.scale) > 1 and not op.size:
                return ("TypeError at pytorch_ops.py:250: its F.interpolate rule computes "
                        "scale_factor ** rank on a per-axis tuple")
    return None


UNCOUNTED = ["hardswish", "hardsigmoid", "sigmoid", "tanh", "identity",
             "add", "mul", "layer_scale", "cat", "split", "flatten", "channel_shuffle",
             "dropout", "stochastic_depth"]
"""Not patched, or operators. (ReLU6 calls F.hardtanh, not patched; F.relu6 is patched, line
470, and counts where a model calls it: FLOP_RULES.)"""

FLOP_RULES = {
    "linear": linear_flops, "batchnorm": batchnorm, "layernorm2d": norm, "groupnorm": norm,
    # activations, pooling: numel(x) (pytorch_ops.py:43-80), the patched functional, which a
    # module calls and a model may call itself (`op: function`); a tensor method (`op:
    # method`: x.mean, x.relu) is not patched: 0
    **dict.fromkeys(("relu", "silu", "gelu", "leaky_relu", "softmax", "maxpool", "avgpool",
                     "adaptive_avgpool"), by_form(numel_in, numel_in)),
    "relu6": by_form(zero, numel_in),
}

CALFLOPS = Convention(
    tool="calflops", package="calflops", version=VERSION, unit="MACs",
    call="calculate_flops(m, input_shape=(1, C, H, W), output_as_string=False)[1]",
    rules=table({"conv": conv_macs, "conv_transpose": conv_transpose_macs,
                 "linear": linear_macs, **attention_ops.RULES["calflops"]},
                ["conv_bias", "conv_transpose_bias", "linear_bias", "batchnorm", "layernorm2d",
                 "groupnorm", "relu", "silu", "gelu", "leaky_relu", "softmax", "maxpool",
                 "avgpool", "adaptive_avgpool", "upsample", "relu6", *UNCOUNTED]),
    label=lambda value: "fwd MACs",
    causes={"conv": "same_padding", "conv_transpose": "transposed_groups"},
    fails=fails,
)

CALFLOPS_FLOPS = Convention(
    tool="calflops-flops", package="calflops", version=VERSION, unit="FLOPs",
    call="calculate_flops(m, input_shape=(1, C, H, W), output_as_string=False)[0]",
    rules=table({
        "conv": conv_flops, "conv_bias": conv_bias,
        "conv_transpose": conv_transpose_flops, "conv_transpose_bias": conv_transpose_bias,
        **FLOP_RULES,
        # `_upsample_flops_compute` (pytorch_ops.py:229-251): numel(x); the product with the
        # scale factor is computed and thrown away (`flops * …` without `=`, lines 246-250);
        # given size=…, int(∏size) (its first branch, as DeepSpeed's)
        "upsample": lambda op: prod(op.size) if op.size else numel_in(op),
        **attention_ops.RULES["calflops-flops"],
    }, ["linear_bias", *UNCOUNTED]),
    label=lambda value: "fwd FLOPs",
    # upsampling to a size counts int(∏size) per call, whatever the batch (derived, as above)
    batched={"upsample": lambda op, n: prod(op.size) if op.size else n * numel_in(op)},
    causes={"conv": "same_padding", "conv_transpose": "transposed_groups"},
    fails=fails,
)

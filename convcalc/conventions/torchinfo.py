"""`torchinfo`: torchinfo 1.8.0, `summary(m, input_data=x).total_mult_adds`.

The total sums the leaf modules (`model_statistics.py:31-34`) of a count made from each module's
*parameters*, not from its op (`layer_info.py:225-245`): for each parameter named exactly
`weight` or `bias`, numel(param) · N · ∏(output spatial) when the class name contains "Conv",
else numel(param) · N. So a conv is PyTorch's MACs plus its bias adds, a transposed conv is its
weights times its *output* positions, a norm layer counts its 2·C parameters, a linear layer
its weights and biases once, and every module without such parameters (activations, pools,
upsampling, the export's LayerScale whose parameter is `gamma`, merges) counts 0. Printed as
`Total mult-adds (Units.GIGABYTES): 1.81` on Python 3.11 (`model_statistics.py:118`).
"""

from __future__ import annotations

from math import prod

from convcalc.conventions.base import Convention, numel_out, table, torch_macs
from convcalc.conventions.ops import Op


def conv_transpose(op: Op) -> int:
    """numel(weight) · ∏(output spatial): C_in · (C_out/G) · ∏K per *output* position."""
    return op.input.channels * (op.output.channels // op.groups) * prod(op.kernel) * \
        prod(op.output.spatial)


def linear(op: Op) -> int:
    """numel(weight) · N = in · out (one row: the batch is the only factor)."""
    return op.input.channels * op.output.channels


def linear_bias(op: Op) -> int:
    """numel(bias) · N = out."""
    return op.output.channels


def norm(op: Op) -> int:
    """numel(weight) + numel(bias): C each when present (no "Conv" in the class name)."""
    c = op.input.channels
    return (c if op.affine else 0) + (c if op.bias else 0)


TORCHINFO = Convention(
    tool="torchinfo", package="torchinfo", version="1.8.0", unit="MACs",
    call="summary(m, input_data=x).total_mult_adds",
    rules=table({
        "conv": torch_macs,            # numel(weight)·∏out = C_out·(C_in/G)·∏K·∏out
        "conv_bias": numel_out,        # numel(bias)·∏out = C_out·∏out
        "conv_transpose": conv_transpose, "conv_transpose_bias": numel_out,
        "linear": linear, "linear_bias": linear_bias,
        "batchnorm": norm, "layernorm2d": norm, "groupnorm": norm,
    }, [
        "relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
        "leaky_relu", "softmax", "identity", "maxpool", "avgpool", "adaptive_avgpool",
        "upsample", "add", "mul", "layer_scale", "cat", "split", "flatten", "channel_shuffle",
        "dropout", "stochastic_depth",
    ]),
    label=lambda value: "Total mult-adds",
)

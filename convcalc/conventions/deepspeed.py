"""`deepspeed` and `deepspeed-flops`: DeepSpeed 0.19.8's FlopsProfiler, `get_model_profile(m,
input_shape=(1, C, H, W), as_string=False)`, which returns (FLOPs, MACs, params).

The same design as calflops (whose source says it is "inspired by ptflops and deepspeed
profiling", `calculate_pipline.py:16`), the same patched functionals (`profiler.py:890-973`), and
the same rules, except where 0.19.8 fixed calflops' bugs: a transposed convolution counts
PyTorch's MACs and its bias over the true output size (`profiler.py:614-662`), an upsample
counts numel(x) · ∏scale_factor (`profiler.py:720-746`), and a model without parameters works
(`profiler.py:1243-1250`). Its output size for a 'same'-padded convolution is calflops'
(`profiler.py:568-611`). It prints `fwd MACs per GPU: 1.81 GMACs` and `fwd flops per GPU:
3.64 G`.
"""

from __future__ import annotations

from math import prod

from convcalc.conventions import attention_ops
from convcalc.conventions.base import Convention, numel_out, table, torch_flops, torch_macs
from convcalc.conventions.calflops import (
    FLOP_RULES,
    UNCOUNTED,
    conv_bias,
    conv_flops,
    conv_macs,
    linear_macs,
)
from convcalc.conventions.ops import Op

VERSION = "0.19.8"


def upsample(op: Op) -> int:
    """`_upsample_flops_compute` (profiler.py:720-746): int(numel(x) · ∏scale_factor) for a
    tuple, numel(x) · scale^(ndim−2) for the octave's scalar 2.0."""
    if op.size:  # size=…: int(∏size), one sample's one channel (the same function, read)
        return prod(op.size)
    return op.n_in * (prod(op.scale) if op.scale else (1 << op.input.rank))


DEEPSPEED = Convention(
    tool="deepspeed", package="deepspeed", version=VERSION, unit="MACs",
    call="get_model_profile(m, input_shape=(1, C, H, W), as_string=False)[1]",
    rules=table({"conv": conv_macs, "conv_transpose": torch_macs, "linear": linear_macs,
                 **attention_ops.RULES["deepspeed"]},
                ["conv_bias", "conv_transpose_bias", "linear_bias", "batchnorm", "layernorm2d",
                 "groupnorm", "relu", "silu", "gelu", "leaky_relu", "softmax", "maxpool",
                 "avgpool", "adaptive_avgpool", "upsample", "relu6", *UNCOUNTED]),
    label=lambda value: "fwd MACs per GPU",
    causes={"conv": "same_padding"},
)

DEEPSPEED_FLOPS = Convention(
    tool="deepspeed-flops", package="deepspeed", version=VERSION, unit="FLOPs",
    call="get_model_profile(m, input_shape=(1, C, H, W), as_string=False)[0]",
    rules=table({
        "conv": conv_flops, "conv_bias": conv_bias,
        # PyTorch's MACs ×2, and C_out per real output position for the bias (lines 630-660)
        "conv_transpose": torch_flops, "conv_transpose_bias": numel_out,
        **FLOP_RULES,
        "upsample": upsample,
        **attention_ops.RULES["deepspeed-flops"],
    }, ["linear_bias", *UNCOUNTED]),
    label=lambda value: "fwd flops per GPU",
    # upsampling to a size counts int(∏size) per call, whatever the batch (derived)
    batched={"upsample": lambda op, n: prod(op.size) if op.size else n * upsample(op)},
    causes={"conv": "same_padding"},
)

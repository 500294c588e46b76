"""`fvcore`: fvcore 0.1.5.post20221221, `FlopCountAnalysis(model, (x,)).total()`.

It traces the model with `torch.jit.trace` and counts aten ops by handle (`flop_count.py:26-44`):
"we count one fused multiply-add as one flop" (`flop_count.py:55`), so its conv and linear
counts are PyTorch's MACs, bias ignored. Ops in `_IGNORED_OPS` are skipped silently
(`jit_analysis.py:28-87`: relu, dropout, cat, flatten, …); every other op without a handle is
skipped with the warning `Unsupported operator aten::X encountered n time(s)`
(`jit_analysis.py:494-501, 577-581`): every activation but ReLU, max and average pooling,
adds and muls, 1-D and 3-D upsampling and adaptive pooling, and a convolution whose padding is
the string 'same' or 'valid' (traced as `aten::_convolution_mode`, not `aten::_convolution`).
The total is printed under `#flops` (`print_model_statistics.py:622`). fvcore counts the mode
it is given; the harness, like these rules, uses eval mode.
"""

from __future__ import annotations

from convcalc.conventions import attention_ops
from convcalc.conventions.base import Convention, table, torch_macs
from convcalc.conventions.ops import Op


def conv(op: Op) -> int:
    """`conv_flop_jit` on `aten::_convolution` (jit_handles.py:127-171): PyTorch's MACs. An
    int padding traces to `aten::_convolution`; 'same' / 'valid' to `aten::_convolution_mode`,
    which has no handle: 0 (and the warning)."""
    return 0 if isinstance(op.padding, str) else op.macs


def batchnorm(op: Op) -> int:
    """`batchnorm_flop_jit` in eval mode (jit_handles.py:251-258): numel(x), ×2 with affine."""
    return op.n_in * (2 if op.affine else 1)


def norm(op: Op) -> int:
    """`norm_flop_counter(2)` for aten::layer_norm and aten::group_norm (flop_count.py:37-38,
    jit_handles.py:230-248): numel(x) · (5 with a weight, else 4)."""
    return op.n_in * (5 if op.affine else 4)


def adaptive_avgpool(op: Op) -> int:
    """`elementwise_flop_counter(1, 0)` on aten::adaptive_avg_pool2d (flop_count.py:42):
    numel(x). The 1-D and 3-D ops have no handle: 0, nor has aten::mean (a model's
    `x.mean((2, 3))`, `op: method`)."""
    return op.n_in if op.input.rank == 2 and op.form != "method" else 0


def upsample(op: Op) -> int:
    """aten::upsample_nearest2d: numel(y); aten::upsample_bilinear2d: 4·numel(y)
    (flop_count.py:40-41). Linear 1-D, trilinear and 1-D/3-D nearest have no handle: 0."""
    if op.input.rank != 2:
        return 0
    return {"nearest": 1, "bilinear": 4}.get(op.mode, 0) * op.n_out


FVCORE = Convention(
    tool="fvcore", package="fvcore", version="0.1.5.post20221221", unit="MACs",
    call="FlopCountAnalysis(m, (x,)).total()",
    rules=table({
        "conv": conv, "conv_transpose": torch_macs,
        "linear": torch_macs,   # linear_flop_jit (jit_handles.py:99-110): numel(x)·out
        "batchnorm": batchnorm, "layernorm2d": norm, "groupnorm": norm,
        "adaptive_avgpool": adaptive_avgpool, "upsample": upsample,
        **attention_ops.RULES["fvcore"],
    }, [
        "conv_bias", "conv_transpose_bias", "linear_bias",   # bias ignored
        "relu",                                               # _IGNORED_OPS (jit_analysis.py:65-66)
        "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh", "leaky_relu",
        "softmax", "maxpool", "avgpool", "add", "mul", "layer_scale",   # no handle
        "identity", "cat", "split", "flatten", "channel_shuffle", "dropout",
        "stochastic_depth",                                   # nothing traced, or ignored
    ]),
    label=lambda value: "#flops",
    causes={"conv": "skipped"},
)

"""`ptflops` and `ptflops-aten`: ptflops 0.7.5, `get_model_complexity_info(model, (C, H, W),
as_strings=False, backend=...)`.

Backend `pytorch` (the `ptflops` convention): forward hooks on modules whose exact type is in
`MODULES_MAPPING` (`pytorch_ops.py:271-324`, looked up by `type(m)`, `pytorch_engine.py:311-314`)
**plus** patched functionals and tensor methods (`pytorch_engine.py:348-390, 434-456`), all
summed into one total (`pytorch_engine.py:69-71`). A module whose hook and whose functional are
both live is counted twice (ReLU, GELU, pooling, Upsample). Operators (`a + b`, `a * b`) do not
go through the patched attributes and count nothing; the export writes every merge that way.

Backend `aten` (`ptflops-aten`): a dispatch mode that counts `aten.convolution`, `aten.mm`,
`aten.addmm` and `aten.bmm` only (`aten_ops.py:109-116`): PyTorch's MACs plus the bias adds.

Both print the total with a magnitude word: `GMac`, `MMac`, `KMac` or `Mac`
(`ptflops/utils.py:13-39`).
"""

from __future__ import annotations

from math import prod

from convcalc.conventions import attention_ops
from convcalc.conventions.base import (
    OPS,
    Convention,
    numel_in,
    numel_out,
    table,
    torch_macs,
)
from convcalc.conventions.op_forms import by_form
from convcalc.conventions.ops import Op

VERSION = "0.7.5"


def label(value: int) -> str:
    """`flops_to_string(flops)` with no units (utils.py:22-30): the largest of G/M/K that fits."""
    for power, word in ((9, "GMac"), (6, "MMac"), (3, "KMac")):
        if value // 10**power > 0:
            return word
    return "Mac"


def norm_hook(op: Op) -> int:
    """`bn_flops_counter_hook` (pytorch_ops.py:51-57), for BatchNorm and GroupNorm: numel(x),
    ×2 when `module.affine`."""
    return op.n_in * (2 if op.affine else 1)


def hook_and_functional(op: Op) -> int:
    """ReLU, GELU: the module hook counts numel(y) (pytorch_ops.py:30-32, 323-324) and the
    patched F.relu / F.gelu numel(x) again (pytorch_engine.py:350, 354)."""
    return op.n_out + op.n_in


def pool_twice(op: Op) -> int:
    """MaxPool, AvgPool, AdaptiveAvgPool: the hook counts numel(x) (pytorch_ops.py:46-48) and the
    patched F.max_pool / F.avg_pool / F.adaptive_avg_pool numel(x) again (pytorch_engine.py:356-379)."""
    return 2 * op.n_in


def upsample(op: Op) -> int:
    """Upsample: the hook counts numel(y) (pytorch_ops.py:21-27) and the patched F.interpolate
    numel(x) · ∏scale_factor (a tuple of one per axis as the export writes it; the octave's
    scalar 2.0 gives 2.0^rank) (pytorch_ops.py:351-382)."""
    if op.size:  # size=…: numel(y) twice (measured with ptflops on nn.Upsample(size=…))
        return 2 * op.n_out
    factor = prod(op.scale) if op.scale else (1 << op.input.rank)
    return op.n_out + op.n_in * factor


def upsample_function(op: Op) -> int:
    """`F.interpolate` called by the model: the patched functional's count only (`upsample`
    without the module hook's numel(y))."""
    return upsample(op) - op.n_out


def layernorm(op: Op) -> int:
    """nn.LayerNorm on channels-last data (`op: channels_last`): `bn_flops_counter_hook`
    (pytorch_ops.py:51-57, 307) counts numel(x) once, as nn.LayerNorm has no `affine`
    attribute (its flag is `elementwise_affine`). A LayerNorm2d subclass has no hook: 0."""
    return op.n_in if op.form == "channels_last" else 0


PTFLOPS = Convention(
    tool="ptflops", package="ptflops", version=VERSION, unit="MACs",
    call="get_model_complexity_info(m, (C, H, W), as_strings=False, backend='pytorch')",
    rules=table({
        # conv_flops_counter_hook (pytorch_ops.py:60-92): ∏K·C_in·(C_out/G) per output position
        # (transposed: per input position, lines 76-78), then C_out per output for the bias
        "conv": torch_macs, "conv_bias": numel_out,
        "conv_transpose": torch_macs, "conv_transpose_bias": numel_out,
        # linear_flops_counter_hook (pytorch_ops.py:35-43): (in·out + out)·rows; rows = 1 after
        # the export's torch.flatten (F.linear itself is not patched: line 349 is commented out)
        "linear": torch_macs, "linear_bias": numel_out,
        "batchnorm": norm_hook, "groupnorm": norm_hook,
        # a call written as a function (`op: function`) meets the patched functional only;
        # a tensor method (`op: method`: x.relu(), x.mean()) is never patched: 0
        "relu": by_form(hook_and_functional, numel_in),
        "gelu": by_form(hook_and_functional, numel_in),
        # hook only: nn.ReLU6 calls F.hardtanh, not patched (line 281); F.relu6 is
        "relu6": by_form(numel_out, numel_in),
        "leaky_relu": by_form(numel_out),   # hook only: F.leaky_relu not patched (line 280)
        "silu": by_form(numel_in, numel_in),  # no hook; patched F.silu (pytorch_engine.py:389-390)
        "softmax": by_form(numel_in, numel_in),  # no hook; patched F.softmax (:381-382)
        "maxpool": by_form(pool_twice, numel_in), "avgpool": by_form(pool_twice, numel_in),
        "adaptive_avgpool": by_form(pool_twice, numel_in),
        "upsample": by_form(upsample, upsample_function),
        **attention_ops.RULES["ptflops"],
        # the export's LayerNorm2d subclasses nn.LayerNorm: no hook for the exact type, and
        # F.layer_norm is not patched (pytorch_engine.py:311-314); nn.LayerNorm itself has one
        "layernorm2d": layernorm,
    }, [
        # not in MODULES_MAPPING and not patched
        "hardswish", "hardsigmoid", "sigmoid", "tanh", "identity",
        # operators (`+`, `*`: only torch.add / Tensor.add / torch.mul are patched, lines
        # 451-456), and calls that compute nothing
        "add", "mul", "layer_scale", "cat", "split", "flatten", "channel_shuffle", "dropout",
        "stochastic_depth",
    ]),
    label=label,
    one_sample=True,  # get_model_complexity_info builds a (1, C, H, W) input
)

PTFLOPS_ATEN = Convention(
    tool="ptflops-aten", package="ptflops", version=VERSION, unit="MACs",
    call="get_model_complexity_info(m, (C, H, W), as_strings=False, backend='aten')",
    rules=table({
        # aten.convolution (aten_ops.py:71-106): N·∏w per output (forward) or input (transposed)
        # position, + C_out per output position for the bias
        "conv": torch_macs, "conv_bias": numel_out,
        "conv_transpose": torch_macs, "conv_transpose_bias": numel_out,
        # aten.addmm / aten.mm (aten_ops.py:23-54): rows·in·out (+ rows·out with a bias)
        "linear": torch_macs, "linear_bias": numel_out,
        **attention_ops.RULES["ptflops-aten"],
    }, [op for op in OPS if op not in ("conv", "conv_bias", "conv_transpose",
                                       "conv_transpose_bias", "linear", "linear_bias",
                                       *attention_ops.OPS)]),
    label=label,
    one_sample=True,  # get_model_complexity_info builds a (1, C, H, W) input
)

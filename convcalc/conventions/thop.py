"""`thop`: thop 0.1.1.post2209072238 (its metadata says 0.1.1-2209072238), `thop.profile(m,
inputs=(x,))`.

Forward hooks on modules whose exact type is in `register_hooks` (`profile.py:21-66`, looked up
by `type(m)`, `profile.py:180-188`); nothing functional is ever counted, so every operator merge
of the export is 0, and so are torchvision-style subclasses (the export's LayerNorm2d) and
modules it has no rule for (GroupNorm, SiLU, GELU, …). The total walks the module tree, taking
each hooked module's own count (`profile.py:214-233`); a module called twice (the octave's
pool) adds twice. Totals are float64 sums (`profile.py:174, 215`), exact for the integer counts
below 2⁵³; it prints no word beside them, its README names the value `macs`.
"""

from __future__ import annotations

from math import prod

from convcalc.conventions import attention_ops
from convcalc.conventions.base import Convention, table
from convcalc.conventions.op_forms import by_form
from convcalc.conventions.ops import Op


def conv(op: Op) -> int:
    """`count_convNd` → `calculate_conv2d_flops` (basic_hooks.py:22-34, calc_func.py:28-34):
    numel(y) · (C_in/G) · ∏K for every ConvNd and ConvTransposeNd, bias ignored. For a
    transposed conv that is over its *output*: PyTorch's count × P_out/P_in."""
    return op.n_out * (op.input.channels // op.groups) * prod(op.kernel)


def linear(op: Op) -> int:
    """`count_linear` (basic_hooks.py:140-147, calc_func.py:90-91): in_features · numel(y)."""
    return op.input.channels * op.n_out


def batchnorm(op: Op) -> int:
    """`count_normalization` (basic_hooks.py:60-69, calc_func.py:43-45): 2·numel(x), ×2 again
    when affine: 4·numel for an ordinary BatchNorm."""
    return 2 * op.n_in * (2 if op.affine else 1)


def softmax(op: Op) -> int:
    """`count_softmax` (basic_hooks.py:98-103, calc_func.py:57-62): rows · (3f − 1), f the size
    of `dim` (1, the channels), rows = numel / f."""
    f = op.input.channels
    return op.n_in // f * (3 * f - 1)


def avgpool(op: Op) -> int:
    """`count_avgpool` (basic_hooks.py:106-111): numel(y)."""
    return op.n_out


def adaptive_avgpool(op: Op, batch: int = 1) -> int:
    """`count_adap_avgpool` (basic_hooks.py:114-121, calc_func.py:69-72):
    int((∏(in_i / out_i) + 1) · numel(y)), in float64 and truncated, as thop computes it (on a
    batch, numel(y) holds every sample: truncated once)."""
    if op.form in ("function", "method"):
        return 0
    kernel = 1.0
    for n_in, n_out in zip(op.input.spatial, op.output.spatial, strict=True):
        kernel *= float(n_in) / float(n_out)
    return int((kernel + 1) * (batch * op.n_out))


def layernorm(op: Op) -> int:
    """nn.LayerNorm on channels-last data (`op: channels_last`): `count_normalization`
    (basic_hooks.py:60-69): 2·numel(x), ×2 with `elementwise_affine`. A LayerNorm2d subclass
    has no rule: 0."""
    if op.form != "channels_last":
        return 0
    return 2 * op.n_in * (2 if op.affine else 1)


UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}


def upsample(op: Op) -> int:
    """`count_upsample` (basic_hooks.py:125-136, calc_func.py:75-87): numel(y) × 1 (nearest),
    5 (linear), 11 (bilinear), 259 (bicubic); any other mode, trilinear included, 0 with a
    warning."""
    return UPSAMPLE.get(op.mode, 0) * op.n_out


THOP = Convention(
    tool="thop", package="thop", version="0.1.1.post2209072238", unit="MACs",
    call="thop.profile(m, inputs=(x,))[0]",
    rules=table({
        "conv": conv, "conv_transpose": conv, "linear": linear, "batchnorm": batchnorm,
        # a function or a tensor method (`op: function`, `op: method`) is no module: 0
        "softmax": by_form(softmax), "avgpool": by_form(avgpool),
        "adaptive_avgpool": adaptive_avgpool, "upsample": by_form(upsample),
        "layernorm2d": layernorm, **attention_ops.RULES["thop"],
    }, [
        "conv_bias", "conv_transpose_bias", "linear_bias",   # bias ignored
        "relu", "relu6", "maxpool", "dropout",                # zero_ops (profile.py:38-43, 54)
        "leaky_relu",                                         # count_relu returns 0 (calc_func.py:47-49)
        "groupnorm",                                          # no rule for the type
        "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh", "identity",
        "flatten", "channel_shuffle", "stochastic_depth", "layer_scale",
        "add", "mul", "cat", "split",                         # functional: never counted
    ]),
    label=lambda value: "macs",
    batched={"adaptive_avgpool": adaptive_avgpool},
)

"""One layer of a spec as the PyTorch module an exported file builds, per kind.

Takes a layer model and its input `Shape`; gives a `Leaf`: the constructor's code (`nn.Conv2d(…)`,
a written class such as `SelfAttention(…)`, or an `nn.Sequential` of a composite's parts), how
`forward` calls it, and the helper classes it needs. `LEAVES` is the table from kind to writer
(conv-like, pools, norms and activations, composites, tokens): this bridge is where torch's
names for each kind live; an op form (convcalc.bridges.op_forms) rewrites a leaf when the spec
names one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc.bridges.op_forms import written
from convcalc.shapes import Shape


@dataclass(frozen=True, slots=True)
class Leaf:
    """One layer in torch: the constructor's code and how forward calls it (`{m}`, `{x}`)."""

    ctor: str
    call: str = "{m}({x})"
    helpers: tuple[str, ...] = ()


def _ax(value: Any) -> str:
    """A per-axis field as torch takes it: 3 → 3, [3, 5] → (3, 5)."""
    if isinstance(value, list | tuple):
        return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _num(value: Fraction | int | float) -> str:
    return repr(float(value))


def _dim(kind: str, rank: int) -> str:
    return f"nn.{kind}{max(rank, 1)}d"


def _conv(rank: int, cin: int, out: int, kernel: Any, *, stride: Any = 1, padding: Any = 0,
          dilation: Any = 1, groups: int = 1, bias: bool = True) -> str:
    args = [str(cin), str(out), _ax(kernel)]
    if stride != 1:
        args.append(f"stride={_ax(stride)}")
    if padding != 0:
        args.append(f"padding={_ax(padding)}")
    if dilation != 1:
        args.append(f"dilation={_ax(dilation)}")
    if groups != 1:
        args.append(f"groups={groups}")
    if not bias:
        args.append("bias=False")
    return f"{_dim('Conv', rank)}({', '.join(args)})"


def sequential_code(parts: list[tuple[str, str]]) -> str:
    inner = ", ".join(f"({name!r}, {ctor})" for name, ctor in parts)
    return f"nn.Sequential(OrderedDict([{inner}]))"


ACTIVATIONS = {"relu": "nn.ReLU()", "relu6": "nn.ReLU6()", "hardswish": "nn.Hardswish()",
               "hardsigmoid": "nn.Hardsigmoid()", "silu": "nn.SiLU()", "sigmoid": "nn.Sigmoid()",
               "gelu": "nn.GELU()", "tanh": "nn.Tanh()", "leaky_relu": "nn.LeakyReLU()",
               "softmax": "nn.Softmax(dim=1)", "identity": "nn.Identity()"}
ACTIVATION_CLASSES = {k: v.split("(")[0] for k, v in ACTIVATIONS.items()}


def leaf(spec: Any, inp: Shape) -> Leaf:
    """The torch module for one layer model on its input (dispatch on the layer's kind: this
    bridge is where torch's names for each kind live)."""
    kind = spec.kind_name
    if kind not in LEAVES:
        from convcalc.errors import SpecError

        raise SpecError(f"export: layer kind {kind!r} has no PyTorch module (an operator an "
                        f"import could not read: {getattr(spec, 'operator', kind)})")
    made = LEAVES[kind](spec, inp)
    form = written(getattr(spec, "op", None), spec, inp.channels, inp.rank, made.ctor, made.call)
    return made if form is None else Leaf(*form)


def _conv_leaf(spec: Any, inp: Shape) -> Leaf:
    return Leaf(_conv(inp.rank, inp.channels, spec.out, spec.kernel, stride=spec.stride,
                      padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
                      bias=spec.bias))


def _pointwise_leaf(spec: Any, inp: Shape) -> Leaf:
    return Leaf(_conv(inp.rank, inp.channels, spec.out, 1, stride=spec.stride,
                      groups=spec.groups, bias=spec.bias))


def _depthwise_leaf(spec: Any, inp: Shape) -> Leaf:
    c = inp.channels
    return Leaf(_conv(inp.rank, c, c * spec.multiplier, spec.kernel, stride=spec.stride,
                      padding=spec.padding, dilation=spec.dilation, groups=c, bias=spec.bias))


def _dwsep_leaf(spec: Any, inp: Shape) -> Leaf:
    c, mid = inp.channels, inp.channels * spec.multiplier
    return Leaf(sequential_code([
        ("depthwise", _conv(inp.rank, c, mid, spec.kernel, stride=spec.stride,
                            padding=spec.padding, dilation=spec.dilation, groups=c,
                            bias=spec.bias)),
        ("pointwise", _conv(inp.rank, mid, spec.out, 1, bias=spec.bias))]))


def _spatial_sep_leaf(spec: Any, inp: Shape) -> Leaf:
    report = spec.apply(inp)
    parts = []
    rank = inp.rank
    for axis, part in enumerate(report.parts):

        def along(v: Any, axis: int = axis, fill: int = 1) -> list[int]:
            vals = [v] * rank if isinstance(v, int) else list(v)
            return [vals[axis] if j == axis else fill for j in range(rank)]

        pad: Any = spec.padding if isinstance(spec.padding, str) else along(spec.padding, fill=0)
        parts.append((str(axis), _conv(rank, part.input.channels, part.output.channels,
                                    along(spec.kernel), stride=along(spec.stride), padding=pad,
                                    dilation=along(spec.dilation), bias=spec.bias)))
    return Leaf(sequential_code(parts))


def _transposed_leaf(spec: Any, inp: Shape) -> Leaf:
    args = [str(inp.channels), str(spec.out), _ax(spec.kernel)]
    for name, default in (("stride", 1), ("padding", 0), ("output_padding", 0),
                          ("dilation", 1), ("groups", 1)):
        value = getattr(spec, name)
        if value != default:
            args.append(f"{name}={_ax(value)}")
    if not spec.bias:
        args.append("bias=False")
    return Leaf(f"{_dim('ConvTranspose', inp.rank)}({', '.join(args)})")


def _shuffle_unit_leaf(spec: Any, inp: Shape) -> Leaf:
    report = spec.apply(inp)
    g1, _, dw, g2 = report.parts
    pad = [k // 2 for k in ([spec.kernel] if isinstance(spec.kernel, int) else spec.kernel)]
    padding: Any = pad[0] if isinstance(spec.kernel, int) else pad
    rank = inp.rank
    return Leaf(sequential_code([
        ("gconv1", _conv(rank, inp.channels, g1.output.channels, 1, groups=spec.groups,
                         bias=spec.bias)),
        ("shuffle", f"ChannelShuffle({spec.groups})"),
        ("depthwise", _conv(rank, dw.input.channels, dw.output.channels, spec.kernel,
                            stride=spec.stride, padding=padding, groups=dw.input.channels,
                            bias=spec.bias)),
        ("gconv2", _conv(rank, g2.input.channels, g2.output.channels, 1, groups=spec.groups,
                         bias=spec.bias)),
    ]), helpers=("ChannelShuffle",))


def _octave_leaf(spec: Any, inp: Shape) -> Leaf:
    from convcalc import formulas as F

    h_in, l_in = F.octave_split(inp.channels, spec.alpha_in)
    h_out, l_out = F.octave_split(spec.out, spec.alpha_out)
    return Leaf(f"Octave({h_in}, {l_in}, {h_out}, {l_out}, {_ax(spec.kernel)}, "
                f"{_ax(spec.padding)}, {spec.stride}, {spec.bias}, {inp.rank})", helpers=("Octave",))


def _pool_leaf(name: str) -> Callable[[Any, Shape], Leaf]:
    def make(spec: Any, inp: Shape) -> Leaf:
        args = [_ax(spec.kernel)]
        if spec.stride is not None:
            args.append(f"stride={_ax(spec.stride)}")
        if spec.padding != 0:
            args.append(f"padding={_ax(spec.padding)}")
        if getattr(spec, "dilation", 1) != 1:
            args.append(f"dilation={_ax(spec.dilation)}")
        if spec.ceil_mode:
            args.append("ceil_mode=True")
        return Leaf(f"{_dim(name, inp.rank)}({', '.join(args)})")

    return make


def _adaptive_leaf(spec: Any, inp: Shape) -> Leaf:
    size = getattr(spec, "output_size", 1)
    return Leaf(f"{_dim('AdaptiveAvgPool', inp.rank)}({_ax(size)})")


def _linear_leaf(spec: Any, inp: Shape) -> Leaf:
    call = "{m}(torch.flatten({x}, 1))" if inp.rank else "{m}({x})"
    bias = "" if spec.bias else ", bias=False"
    return Leaf(f"nn.Linear({inp.elements}, {spec.out}{bias})", call)


def _bn_leaf(spec: Any, inp: Shape) -> Leaf:
    affine = "" if spec.affine else ", affine=False"
    return Leaf(f"{_dim('BatchNorm', inp.rank)}({inp.channels}{affine})")


def _layernorm_leaf(spec: Any, inp: Shape) -> Leaf:
    args = [str(inp.channels)]
    if not spec.affine:
        args.append("elementwise_affine=False")
    elif not spec.bias:
        args.append("bias=False")
    return Leaf(f"LayerNorm2d({', '.join(args)})", helpers=("LayerNorm2d",))


def _groupnorm_leaf(spec: Any, inp: Shape) -> Leaf:
    affine = "" if spec.affine else ", affine=False"
    return Leaf(f"nn.GroupNorm({spec.groups}, {inp.channels}{affine})")


def _upsample_leaf(spec: Any, inp: Shape) -> Leaf:
    size = tuple(spec.target(inp))
    mode = ("linear", "bilinear", "trilinear")[inp.rank - 1] if spec.mode == "linear" \
        else spec.mode
    if any(m % n for n, m in zip(inp.spatial, size, strict=True)):
        return Leaf(f"nn.Upsample(size={size!r}, mode={mode!r})")
    # a whole factor on every axis (a scale, or a size that is one) is written as the factor:
    # the same output and interpolation weights as size=…
    scales = [m // n for n, m in zip(inp.spatial, size, strict=True)]
    factor = "(" + ", ".join(f"{float(s)!r}" for s in scales) + ("," if len(scales) == 1 else "") + ")"
    return Leaf(f"nn.Upsample(scale_factor={factor}, mode={mode!r})")


def _se_leaf(spec: Any, inp: Shape) -> Leaf:
    from math import floor

    c = inp.channels
    s = spec.squeeze if spec.squeeze is not None else max(1, floor(spec.ratio * c))
    return Leaf(f"SqueezeExcitation({c}, {s}, {inp.rank}, {ACTIVATION_CLASSES[spec.activation]}, "
                f"{ACTIVATION_CLASSES[spec.gate]})", helpers=("SqueezeExcitation",))


def _fixed(code: str) -> Callable[[Any, Shape], Leaf]:
    return lambda spec, inp: Leaf(code)


def _attention_leaf(spec: Any, inp: Shape) -> Leaf:
    from convcalc.layers.base import per_axis

    c = inp.channels
    heads = spec.heads if spec.heads is not None else c // spec.head_dim
    args = [str(c), str(heads)]
    if spec.window is not None:
        args.append(f"window={list(per_axis(spec.window, inp.rank, 'window'))!r}")
        if spec.partition == "grid":
            args.append("grid=True")
        elif spec.shift != 0:
            args.append(f"shift={list(per_axis(spec.shift, inp.rank, 'shift'))!r}")
    if spec.position_bias and spec.bias_mlp is None:
        args.append("position_bias=True")
    if not spec.bias:
        args.append("bias=False")
    if not spec.proj_bias:
        args.append("proj_bias=False")
    if spec.cosine:
        args.append("cosine=True")
    if spec.bias_mlp is not None:
        args.append(f"bias_mlp={spec.bias_mlp}")
    return Leaf(f"SelfAttention({', '.join(args)})", helpers=("SelfAttention",))


def _mlp_leaf(spec: Any, inp: Shape) -> Leaf:
    report = spec.apply(inp)
    fc1, _, fc2 = report.parts
    bias = "" if spec.bias else ", bias=False"
    return Leaf(f"TokenMLP({inp.channels}, {fc1.output.channels}, {fc2.output.channels}, "
                f"{ACTIVATION_CLASSES[spec.activation]}{bias})", helpers=("TokenMLP",))


def _patch_merging_leaf(spec: Any, inp: Shape) -> Leaf:
    out = spec.out if spec.out is not None else 2 * inp.channels
    bias = ", bias=True" if spec.bias else ""
    after = ", norm_after=True" if spec.norm == "after" else ""
    return Leaf(f"PatchMerging({inp.channels}, {out}{bias}{after})", helpers=("PatchMerging",))


def _to_map_leaf(spec: Any, inp: Shape) -> Leaf:
    size = (spec.size,) if isinstance(spec.size, int) else tuple(spec.size)
    return Leaf(f"nn.Unflatten(2, {size!r})")


LEAVES: dict[str, Callable[[Any, Shape], Leaf]] = {
    "conv": _conv_leaf, "grouped": _conv_leaf, "dilated": _conv_leaf,
    "pointwise": _pointwise_leaf, "pointwise_group": _pointwise_leaf,
    "depthwise": _depthwise_leaf, "dwsep": _dwsep_leaf, "spatial_sep": _spatial_sep_leaf,
    "transposed": _transposed_leaf,
    "shuffle": lambda s, i: Leaf(f"ChannelShuffle({s.groups})", helpers=("ChannelShuffle",)),
    "shuffle_unit": _shuffle_unit_leaf, "octave": _octave_leaf,
    "maxpool": _pool_leaf("MaxPool"), "avgpool": _pool_leaf("AvgPool"),
    "global_avgpool": _adaptive_leaf, "adaptive_avgpool": _adaptive_leaf,
    "linear": _linear_leaf, "batchnorm": _bn_leaf, "flatten": lambda s, i: Leaf("nn.Flatten(1)"),
    "upsample": _upsample_leaf, "se": _se_leaf, "layernorm": _layernorm_leaf,
    "groupnorm": _groupnorm_leaf,
    "layer_scale": lambda s, i: Leaf(f"LayerScale({i.channels}, {i.rank}, {_num(s.init)})",
                                     helpers=("LayerScale",)),
    "stochastic_depth": lambda s, i: Leaf(f"StochasticDepth({_num(s.p)}, {s.mode!r})",
                                          helpers=("StochasticDepth",)),
    "dropout": lambda s, i: Leaf(f"nn.Dropout(p={_num(s.p)})"),
    **{k: _fixed(code) for k, code in ACTIVATIONS.items()},
    "self_attention": _attention_leaf, "mlp": _mlp_leaf, "patch_merging": _patch_merging_leaf,
    "to_tokens": lambda s, i: Leaf("nn.Flatten(2)"), "to_map": _to_map_leaf,
    "take_token": lambda s, i: Leaf(f"TakeToken({s.index})", helpers=("TakeToken",)),
    "class_token": lambda s, i: Leaf(f"ClassToken({i.channels}, {s.count})",
                                     helpers=("ClassToken",)),
    "pos_embedding": lambda s, i: Leaf(f"PosEmbedding({(i.channels, *i.spatial)!r})",
                                       helpers=("PosEmbedding",)),
}

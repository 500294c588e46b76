"""Export an analysed network as a PyTorch module: one readable file that imports only torch.

Every level of the spec (a named block, a repeat copy, a branch path) becomes a submodule named
as the spec names it, so convcalc's `layer2.0.conv1` is `model.get_submodule("layer2.0.conv1")`
(and `model.layer2[0].conv1` where the names are Python words); a name torch refuses (one of
nn.Module's attributes, such as `half`) gets a `_` added (`torch_names`). Python names in the
file (build()'s variables, the classes) are made from the spec's names but unique in the file,
ASCII, and never a keyword, a builtin or a name the file uses (`nn`, `torch`, `INPUT`, …).
A level whose layers simply follow each other is an `nn.Sequential`; one with residual adds,
branches, splits or gates gets a small class whose `forward` says how its modules combine.
Layers become the torch modules of the same name (`nn.Conv2d`, `nn.BatchNorm2d`, …); composite
kinds become `nn.Sequential`s of their parts or a short class written out in the file
(squeeze-and-excitation, octave conv).

The file defines `build()` (returns the module) and `INPUT` (the input tensor's shape, batch 1).
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc.bridges.op_forms import HELPERS as FORM_HELPERS
from convcalc.bridges.op_forms import written
from convcalc.report import NetworkReport
from convcalc.shapes import Shape
from convcalc.tree import TBranches, TLayer, TNode, TResidual, TSeq, TSplit

# --- helper classes, written into the file when used -----------------------------------------

HELPERS: dict[str, str] = {
    "Level": '''
class Level(nn.Module):
    """A level of the network: its modules in order; a subclass's forward combines them."""

    def __init__(self, modules):
        super().__init__()
        for name, module in modules:
            self.add_module(name, module)
''',
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels at each position of an N×C×… tensor (ConvNeXt's)."""

    def forward(self, x):
        if x.dim() == 2:
            return super().forward(x)
        last = [0, *range(2, x.dim()), 1]  # permute, not movedim: torch.onnx writes it
        back = [0, x.dim() - 1, *range(1, x.dim() - 1)]
        return super().forward(x.permute(*last)).permute(*back)
''',
    "ChannelShuffle": '''
class ChannelShuffle(nn.ChannelShuffle):
    """nn.ChannelShuffle as reshape, transpose, reshape (the same permutation), which
    torch.onnx.export can write. Like nn.ChannelShuffle it returns a new tensor, never a view."""

    def forward(self, x):
        b, c = x.shape[:2]
        g = self.groups
        y = x.reshape(b, g, c // g, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
        return y if g > 1 else y.clone()  # a new tensor, as nn.ChannelShuffle's, even for 1 group
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """Multiply each channel by a learnt factor γ (C parameters)."""

    def __init__(self, channels, rank, init):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels,) + (1,) * rank, float(init)))

    def forward(self, x):
        return self.gamma * x
''',
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """Drop the input with probability p in training (per sample for mode "row"); identity in
    eval mode (torchvision.ops.StochasticDepth)."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        keep = 1.0 - self.p
        noise = x.new_empty(shape).bernoulli_(keep)
        return x * noise / keep if keep > 0.0 else x * noise
''',
    "SqueezeExcitation": '''
class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation as torchvision.ops.SqueezeExcitation: global average pool, 1×1
    conv, activation, 1×1 conv, gate; the gate multiplies the input."""

    def __init__(self, channels, squeeze, rank, activation, gate):
        super().__init__()
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1]
        self.avgpool = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[rank - 1](1)
        self.fc1 = conv(channels, squeeze, 1)
        self.activation = activation()
        self.fc2 = conv(squeeze, channels, 1)
        self.scale_activation = gate()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x
''',
    "Octave": '''
class Octave(nn.Module):
    """Octave convolution (Chen et al. 2019) on one tensor whose last `l_in` channels are the
    low-frequency part: paths high→high, high→low, low→high, low→low; low maps live at half
    resolution inside the layer (2×2 average pooling in, nearest ×2 upsampling out)."""

    def __init__(self, h_in, l_in, h_out, l_out, kernel, padding, stride, bias, rank):
        super().__init__()
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1]
        self.h_in, self.l_in, self.l_out, self.stride = h_in, l_in, l_out, stride

        def path(a, b, with_bias):
            return conv(a, b, kernel, padding=padding, bias=bias and with_bias) if a and b else None

        self.hh = path(h_in, h_out, True)
        self.hl = path(h_in, l_out, not l_in)
        self.lh = path(l_in, h_out, False)
        self.ll = path(l_in, l_out, True)
        self.pool = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[rank - 1](2)
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")

    def forward(self, x):
        xh, xl = x[:, : self.h_in], x[:, self.h_in:]
        xl = self.pool(xl) if self.l_in else None
        if self.stride == 2:
            xh = self.pool(xh)
            xl = self.pool(xl) if xl is not None else None
        yh = self.hh(xh) if self.hh is not None else 0
        if self.lh is not None:
            yh = yh + self.up(self.lh(xl))
        outs = [yh]
        if self.l_out:
            yl = self.hl(self.pool(xh)) if self.hl is not None else 0
            if self.ll is not None:
                yl = yl + self.ll(xl)
            outs.append(self.up(yl))
        return torch.cat(outs, dim=1)
''',
    "ClassToken": """
class ClassToken(nn.Module):
    \"\"\"Prepend `count` learnt tokens to an N×C×L sequence (ViT's class token).\"\"\"

    def __init__(self, channels, count=1):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, channels, count))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=2)
""",
    "PosEmbedding": """
class PosEmbedding(nn.Module):
    \"\"\"Add a learnt table, one C-vector per position (ViT's pos_embedding).\"\"\"

    def __init__(self, shape):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        return x + self.table
""",
    "TakeToken": """
class TakeToken(nn.Module):
    \"\"\"One token of an N×C×L sequence as an N×C vector (ViT's class token to the head).\"\"\"

    def __init__(self, index=0):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[:, :, self.index]
""",
    "TokenMLP": """
class TokenMLP(nn.Module):
    \"\"\"Linear, activation, linear over the channels at each position of an N×C×… tensor.\"\"\"

    def __init__(self, channels, hidden, out, activation, bias=True):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden, bias=bias)
        self.activation = activation()
        self.fc2 = nn.Linear(hidden, out, bias=bias)

    def forward(self, x):
        # contiguous: every linear then runs one addmm, whatever layout the layer before left
        last = [0, *range(2, x.dim()), 1]
        back = [0, x.dim() - 1, *range(1, x.dim() - 1)]
        x = x.permute(*last).contiguous()
        return self.fc2(self.activation(self.fc1(x))).permute(*back)
""",
    "PatchMerging": """
class PatchMerging(nn.Module):
    \"\"\"Swin's patch merging: each 2×2 block to 4·C channels (the map padded to even sizes),
    LayerNorm, linear 4C → out.\"\"\"

    def __init__(self, channels, out, bias=False, norm_after=False):
        super().__init__()
        self.norm_after = norm_after  # Swin V2: the linear, then LayerNorm(out)
        self.norm = nn.LayerNorm(out if norm_after else 4 * channels)
        self.reduction = nn.Linear(4 * channels, out, bias=bias)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        h, w = x.shape[1], x.shape[2]
        x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                      -1)
        if self.norm_after:
            return self.norm(self.reduction(x)).permute(0, 3, 1, 2)
        return self.reduction(self.norm(x)).permute(0, 3, 1, 2)
""",
    "SelfAttention": """
class SelfAttention(nn.Module):
    \"\"\"Multi-head self-attention over the positions of an N×C×… tensor, or within windows
    (shifted and masked, Swin) or over a grid (MaxViT), with an optional relative-position bias
    table or made by an MLP from the offsets (Swin V2), and Swin V2's scaled cosine attention.
    Both products are explicit matmuls, which FlopCounterMode counts.\"\"\"

    def __init__(self, channels, heads, window=None, shift=None, grid=False,
                 position_bias=False, bias=True, proj_bias=True, cosine=False, bias_mlp=None):
        super().__init__()
        self.heads, self.window, self.shift, self.grid = heads, window, shift, grid
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.proj = nn.Linear(channels, channels, bias=proj_bias)
        self.relative_position_bias_table = None
        self.cpb_mlp = None
        self.logit_scale = None
        if cosine:  # torchvision's ShiftedWindowAttentionV2
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        if bias_mlp is not None:
            self.cpb_mlp = nn.Sequential(nn.Linear(len(window), bias_mlp), nn.ReLU(inplace=True),
                                         nn.Linear(bias_mlp, heads, bias=False))
            axes = [torch.arange(-(w - 1), w, dtype=torch.float32) / max(w - 1, 1) * 8
                    for w in window]
            table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)[None]
            table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0
            self.register_buffer("relative_coords_table", table, persistent=False)
        if position_bias or bias_mlp is not None:
            rows = 1
            for w in window:
                rows *= 2 * w - 1
            if bias_mlp is None:
                self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, heads))
            grids = torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")
            coords = torch.stack(grids).flatten(1)
            rel = coords[:, :, None] - coords[:, None, :]
            index = torch.zeros(rel.shape[1:], dtype=torch.long)
            for axis, w in enumerate(window):
                index = index * (2 * w - 1) + rel[axis] + w - 1
            self.register_buffer("relative_position_index", index, persistent=False)

    def _pairs(self, sizes, window):
        pairs = []
        for s, w in zip(sizes, window):
            pairs += [w, s // w] if self.grid else [s // w, w]
        return pairs

    def _order(self, rank):
        groups = [1 + 2 * i + (1 if self.grid else 0) for i in range(rank)]
        tokens = [1 + 2 * i + (0 if self.grid else 1) for i in range(rank)]
        return [0, *groups, *tokens, 2 * rank + 1]

    def _partition(self, x, sizes, window):
        n, c, rank = x.shape[0], x.shape[-1], len(sizes)
        count = 1
        for w in window:
            count *= w
        x = x.reshape(n, *self._pairs(sizes, window), c)
        return x.permute(*self._order(rank)).reshape(-1, count, c)

    def _departition(self, x, n, sizes, window):
        rank, c = len(sizes), x.shape[-1]
        pairs, order = self._pairs(sizes, window), self._order(rank)
        x = x.reshape(n, *[pairs[i - 1] for i in order[1:-1]], c)
        return x.permute(*[order.index(i) for i in range(len(order))]).reshape(n, *sizes, c)

    def _mask(self, sizes, window, shift):
        ids = torch.zeros(1, *sizes, 1)
        for axis, (s, w, sh) in enumerate(zip(sizes, window, shift)):
            if sh:
                label = torch.zeros(s)
                label[s - w: s - sh] = 1.0
                label[s - sh:] = 2.0
                view = [1] * (len(sizes) + 2)
                view[axis + 1] = s
                ids = ids * 3.0 + label.reshape(view)
        win = self._partition(ids, sizes, window)[..., 0]
        return (win[:, :, None] != win[:, None, :]).to(torch.float32) * -100.0

    def forward(self, x):
        n, c = x.shape[:2]
        sizes = list(x.shape[2:])
        rank = len(sizes)
        dims = list(range(1, rank + 1))
        x = x.permute(0, *range(2, rank + 2), 1)
        window = list(self.window) if self.window is not None else sizes
        padded, shift = sizes, [0] * rank
        if not self.grid:
            pads = [(-s) % w for s, w in zip(sizes, window)]
            flat = []
            for p in reversed(pads):
                flat += [0, p]
            x = nn.functional.pad(x, [0, 0] + flat)
            padded = [s + p for s, p in zip(sizes, pads)]
            shift = [0 if w >= s else sh for sh, w, s in
                     zip(self.shift or [0] * rank, window, padded)]
        if any(shift):
            x = torch.roll(x, [-s for s in shift], dims=dims)
        xw = self._partition(x, padded, window).contiguous()  # one addmm (as TokenMLP)
        b, t, _ = xw.shape
        d = c // self.heads
        if self.logit_scale is None:
            qkv = self.qkv(xw)
        else:  # V2 (torchvision's): the k third of the bias zeroed, so F.linear, not the module
            qkv_bias = self.qkv.bias
            if qkv_bias is not None:
                qkv_bias = qkv_bias.clone()
                qkv_bias[c:2 * c].zero_()
            qkv = nn.functional.linear(xw, self.qkv.weight, qkv_bias)
        qkv = qkv.reshape(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.logit_scale is not None:
            normalize = nn.functional.normalize
            attn = torch.matmul(normalize(q, dim=-1), normalize(k, dim=-1).transpose(-2, -1))
            attn = attn * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # log 100
        else:
            attn = torch.matmul(q * d ** -0.5, k.transpose(-2, -1))
        if self.relative_position_bias_table is not None:
            table = self.relative_position_bias_table[self.relative_position_index.flatten()]
            attn = attn + table.reshape(t, t, -1).permute(2, 0, 1)
        if self.cpb_mlp is not None:
            table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.heads)
            table = table[self.relative_position_index.flatten()]
            attn = attn + 16 * torch.sigmoid(table.reshape(t, t, -1).permute(2, 0, 1).contiguous())
        if any(shift):
            mask = self._mask(padded, window, shift).to(attn.dtype)
            attn = attn + mask.repeat(n, 1, 1)[:, None]
        out = torch.matmul(attn.softmax(-1), v).transpose(1, 2).reshape(b, t, c)
        x = self._departition(self.proj(out), n, padded, window)
        if any(shift):
            x = torch.roll(x, shift, dims=dims)
        x = x[(slice(None), *[slice(0, s) for s in sizes])]
        return x.permute(0, rank + 1, *dims)
""",
}


HELPERS.update(FORM_HELPERS)


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


def _seq(parts: list[tuple[str, str]]) -> str:
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
    return Leaf(_seq([
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
    return Leaf(_seq(parts))


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
    return Leaf(_seq([
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


# --- levels: one submodule each ---------------------------------------------------------------

_TORCH_ATTRIBUTES = """
    __add__ __annotations__ __call__ __class__ __delattr__ __delitem__ __dict__ __dir__
    __doc__ __eq__ __format__ __ge__ __getattr__ __getattribute__ __getitem__ __getstate__
    __gt__ __hash__ __iadd__ __imul__ __init__ __init_subclass__ __iter__ __le__ __len__
    __lt__ __module__ __mul__ __ne__ __new__ __reduce__ __reduce_ex__ __repr__ __rmul__
    __setattr__ __setitem__ __setstate__ __sizeof__ __str__ __subclasshook__ __weakref__
    T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl
    _compiled_call_impl _forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs
    _forward_pre_hooks _forward_pre_hooks_with_kwargs _get_abs_string_index _get_backward_hooks
    _get_backward_pre_hooks _get_item_by_idx _get_name _is_full_backward_hook
    _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
    _maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set
    _parameters _register_load_state_dict_pre_hook _register_state_dict_hook
    _replicate_for_data_parallel _save_to_state_dict _slow_forward _state_dict_hooks
    _state_dict_pre_hooks _version _wrapped_call_impl add_module append apply bfloat16 buffers
    call_super_init children compile cpu cuda double dump_patches eval extend extra_repr float
    forward get_buffer get_extra_state get_parameter get_submodule half insert ipu
    load_state_dict modules mtia named_buffers named_children named_modules named_parameters
    parameters pop register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad
"""
TORCH_TAKEN = frozenset(_TORCH_ATTRIBUTES.split())
"""The attributes of an nn.Module, nn.Sequential or nn.ModuleList (torch 2.13, a test keeps the
list in step): `add_module` refuses a submodule of one of these names (KeyError), as it refuses
a name with a dot or an empty one."""


def torch_names(names: list[str]) -> list[str]:
    """The names a level's submodules are registered under in torch: the spec's own, except one
    torch refuses (empty, with a `.`, an nn.Module attribute such as `half`, `forward` or
    `training`), which becomes the name with each `.` as `_` and a `_`
    added until it is free in its level (`half` → `half_`, `a.b` → `a_b_`)."""

    def refused(name: str) -> bool:
        return not name or "." in name or name in TORCH_TAKEN

    taken = {n for n in names if not refused(n)}
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        candidate = name
        if refused(name) or name in seen:
            candidate = name.replace(".", "_") + "_"
            while refused(candidate) or candidate in taken or candidate in seen:
                candidate += "_"
        seen.add(candidate)
        out.append(candidate)
    return out


def _ref(name: str) -> str:
    # only plain ASCII words become attributes: Python folds other identifiers (NFKC: x² is x2)
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name):
        return f"self.{name}"
    return f"self._modules[{name!r}]"


_FILE_NAMES = frozenset({"OrderedDict", "torch", "nn", "INPUT", "build", "Level", *HELPERS})
"""Module-level names of the written file."""
_RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | \
    frozenset(keyword.softkwlist) | _FILE_NAMES
"""What a class or a variable of build() must never be called: a keyword, a builtin, or a name
the file defines or imports."""


def _camel(label: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", label) or ["Block"]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name if name[0].isalpha() else f"Block{name}"


@dataclass
class _Writer:
    report: NetworkReport
    helpers: dict[str, None] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    """class name → its code."""
    by_forward: dict[str, str] = field(default_factory=dict)
    """forward code → class name (levels with the same forward share a class)."""
    lines: list[str] = field(default_factory=list)
    """build()'s body: one assignment per level, innermost first."""
    counter: int = 0
    idents: set[str] = field(default_factory=lambda: set(_RESERVED))
    """Python names taken: classes (module level) and build()'s variables, one pool so that no
    variable ever shadows a class, a builtin or an import."""
    registered: dict[int, str] = field(default_factory=dict)
    """id(node) → the name its module is registered under in its level (see torch_names)."""

    def ident(self, base: str) -> str:
        """A fresh ASCII identifier from `base` (`a-b` → `a_b`, then `a_b_2`, …)."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "m"
        if base[0].isdigit():
            base = f"m_{base}"
        name, n = base, 1
        while name in self.idents:
            n += 1
            name = f"{base}_{n}"
        self.idents.add(name)
        return name

    def members(self, nodes: tuple[TNode, ...]) -> list[TNode]:
        """The submodules of a level, in order: layers and sub-levels, transparent nodes opened."""
        out: list[TNode] = []
        for node in nodes:
            if isinstance(node, TLayer) or (isinstance(node, TSeq) and node.level):
                out.append(node)
            elif isinstance(node, TSeq):
                out += self.members(node.children)
            elif isinstance(node, TResidual):
                out += self.members(node.body.children)
                if node.shortcut is not None:
                    out.append(node.shortcut)
            else:
                out += list(node.paths)
        return out

    def plain(self, nodes: tuple[TNode, ...]) -> bool:
        """Layers and sub-levels called one after the other: an nn.Sequential does it."""
        for node in nodes:
            if isinstance(node, TLayer):
                row = self.report.rows[node.row]
                if leaf(row.spec, row.report.input).call != "{m}({x})":
                    return False
            elif isinstance(node, TSeq):
                if not node.level and not self.plain(node.children):
                    return False
            else:
                return False
        return True

    def name_of(self, node: TNode) -> str:
        if isinstance(node, TLayer):
            return self.report.rows[node.row].parts[-1]
        assert isinstance(node, TSeq)
        return node.path[-1]

    def module(self, node: TNode) -> str:
        """The expression that builds `node`'s module (sub-levels were assigned to variables)."""
        if isinstance(node, TLayer):
            row = self.report.rows[node.row]
            made = leaf(row.spec, row.report.input)
            for h in made.helpers:
                self.helpers[h] = None
            if not row.trainable and row.report.params:
                # `trainable: false` in the spec: frozen as convcalc's training step counts it
                return f"{made.ctor}.requires_grad_(False)"
            return made.ctor
        assert isinstance(node, TSeq)
        return self.level(node.children, node.label, node.path)

    def call(self, node: TNode, x: str) -> str:
        ref = _ref(self.registered[id(node)])
        if isinstance(node, TLayer):
            row = self.report.rows[node.row]
            return leaf(row.spec, row.report.input).call.format(m=ref, x=x)
        return f"{ref}({x})"

    def forward(self, nodes: tuple[TNode, ...], x: str, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, TLayer) or (isinstance(node, TSeq) and node.level):
                out.append(f"{x} = {self.call(node, x)}")
            elif isinstance(node, TSeq):
                self.forward(node.children, x, out)
            elif isinstance(node, TResidual):
                self.counter += 1
                saved = f"identity{self.counter}"
                out.append(f"{saved} = {x}")
                self.forward(node.body.children, x, out)
                short = saved if node.shortcut is None else self.call(node.shortcut, saved)
                out.append(f"{x} = {x} + {short}")
            elif isinstance(node, TBranches):
                calls = [self.call(p, x) for p in node.paths]
                if node.merge == "concat":
                    out.append(f"{x} = torch.cat([{', '.join(calls)}], dim=1)")
                elif node.merge == "first":
                    # every path runs; the first goes on, the others are extra outputs
                    out.append(f"{x} = [{', '.join(calls)}][0]")
                else:
                    out.append(f"{x} = {(' + ' if node.merge == 'add' else ' * ').join(calls)}")
            else:
                assert isinstance(node, TSplit)
                self.counter += 1
                parts = [f"part{self.counter}_{i}" for i in range(len(node.paths))]
                out.append(f"{', '.join(parts)} = torch.split({x}, {list(node.sizes)}, dim=1)")
                calls = [self.call(p, v) for p, v in zip(node.paths, parts, strict=True)]
                out.append(f"{x} = torch.cat([{', '.join(calls)}], dim=1)")

    def level(self, children: tuple[TNode, ...], label: str, path: tuple[str, ...]) -> str:
        members = self.members(children)
        names = torch_names([self.name_of(m) for m in members])
        built = [(name, self.module(m)) for name, m in zip(names, members, strict=True)]
        self.registered.update((id(m), name) for name, m in zip(names, members, strict=True))
        self.counter = 0
        body: list[str] = []
        self.forward(children, "x", body)
        plain = self.plain(children)
        var = self.ident("_".join(path) or "model")
        if plain and path:
            expr = _seq(built)
        else:
            cls = self.class_for(label if path else self.report.name, body, not path)
            inner = ",\n    ".join(f"({name!r}, {ctor})" for name, ctor in built)
            expr = f"{cls}([\n    {inner},\n])" if built else f"{cls}([])"
        self.lines.append(f"{var} = {expr}")
        return var

    def class_for(self, label: str, body: list[str], top: bool) -> str:
        self.helpers["Level"] = None
        code = "\n".join(f"        {line}" for line in body)
        found = self.by_forward.get(code)
        if found is not None and not top:
            return found
        base = _camel(label)
        name, n = base, 1
        while name in self.idents:
            n += 1
            name = f"{base}{n}"
        self.idents.add(name)
        text = f"The {self.report.name} network." if top else f"A `{label}` block."
        doc = f"    {text!r}\n"
        self.classes[name] = (f"\nclass {name}(Level):\n{doc}\n    def forward(self, x):\n"
                              f"{code}\n        return x\n")
        if not top:
            self.by_forward[code] = name
        return name


def _doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring, on one line: backslashes, line breaks and
    every other character that is not printable written as escapes, quotes escaped (`\\"`:
    no closing quotes, and the docstring reads back as the name)."""
    text = "".join(ch if ch.isprintable() and ch != "\\" else
                   ch.encode("unicode_escape").decode("ascii") for ch in str(text))
    return text.replace('"', '\\"')


def export_pytorch(report: NetworkReport, source: str | None = None) -> str:
    """The Python source of a PyTorch module equal to `report`'s network."""
    from convcalc import __version__

    writer = _Writer(report)
    top = writer.level(report.tree.children, report.name, ())
    totals = report.totals()
    shape = (1, report.input.channels, *report.input.spatial)
    head = [
        f'"""{_doc_text(report.name)}, written by convcalc {__version__}'
        + (f" from {_doc_text(source)}" if source else "") + '.',
        "",
        f"Input {report.input.channels_last()} (H×W×C), output {report.output.channels_last()}; "
        f"{totals['params']:,} parameters and",
        f"{totals['macs']:,} multiply-accumulates (FlopCounterMode FLOPs / 2) at batch 1.",
        "Submodules are named as the spec names its layers: "
        "model.get_submodule(\"<convcalc path>\")",
        "(a name torch refuses, an nn.Module attribute such as half, gets a _ added).",
        '"""',
        "",
        "from collections import OrderedDict",
        "",
        "import torch",
        "from torch import nn",
        "",
        f"INPUT = {shape!r}",
        '"""The input tensor\'s shape: batch, channels, then the spatial axes."""',
    ]
    helpers = [HELPERS[h] for h in HELPERS if h in writer.helpers]
    build = ["", "", "def build():", '    """The network as an nn.Module."""']
    build += [f"    {line}".replace("\n", "\n    ") for line in writer.lines]
    build.append(f"    return {top}")
    return "\n".join([*head, "", *helpers, *writer.classes.values(), *build]) + "\n"

"""The classes an exported PyTorch file defines when it uses them, as source text.

`HELPERS`: every class by name, in the order the file writes them: `Level` (a level of the
network) and the conv-family composites and norms here (LayerNorm2d, ChannelShuffle,
LayerScale, StochasticDepth, SqueezeExcitation, Octave), then the token kinds'
(convcalc.bridges.export_classes_tokens), then the op forms' (convcalc.bridges.op_forms).
"""

from __future__ import annotations

from convcalc.bridges.export_classes_tokens import TOKEN_CLASSES
from convcalc.bridges.op_forms import HELPERS as FORM_HELPERS

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
}

HELPERS.update(TOKEN_CLASSES)
HELPERS.update(FORM_HELPERS)

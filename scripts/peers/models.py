"""Model factories for run_peers.py: each returns a list of (name, nn.Module, input (C, H, W)).

    single_layers()  one op per model, on a small input, wrapped as `Probe(layer)` so the op's
                     qualified name is always "layer" (functional ops live in the probe's forward)
    networks()       the torchvision classifiers (weights=None) at 3x224x224 and a DCGAN generator
    examples(), kinds(), attention()
                     convcalc specs as `convcalc export` writes them: every example but the
                     attention ones, one-layer specs of every kind, and the attention kinds'
                     probes with vit_b_16, swin_t and maxvit_t

Parameter-free probes carry one empty parameter (`torch.empty(0)`, 0 elements): calflops 0.3.2
calls `next(model.parameters())` unconditionally (calflops/flops_counter.py:121) and raises
StopIteration on a model without parameters. The empty parameter adds 0 to every count any tool
or PyTorch makes. `bare_relu` is the one probe without it, to record calflops' failure itself.

torch and torchvision are imported only when a factory is called.
"""

from __future__ import annotations

import sys
import types
from typing import Any

Entry = tuple[str, Any, tuple[int, int, int]]

SMALL = (8, 16, 16)


def torchvision() -> Any:
    """torchvision 0.28.0 beside the CPU torch: its compiled ops do not load, the models do."""
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(name, types.ModuleType(name))
    import torchvision as tv

    return tv


def _modules() -> dict[str, Any]:
    """The probe classes, defined once torch is imported."""
    import torch
    from torch import nn

    class Probe(nn.Module):
        """y = layer(x); an empty parameter when the layer has none (see the module docstring)."""

        def __init__(self, layer: nn.Module, empty_param: bool = True) -> None:
            super().__init__()
            self.layer = layer
            if empty_param and not any(True for _ in layer.parameters()):
                self.empty = nn.Parameter(torch.empty(0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x)

    class ResidualPlus(nn.Module):
        """out = f(x); out = out + x  (Tensor.__add__)."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.layer = nn.Conv2d(c, c, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.layer(x)
            out = out + x
            return out

    class ResidualInplace(ResidualPlus):
        """out = f(x); out += x  (Tensor.__iadd__), as torchvision's BasicBlock and Bottleneck."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.layer(x)
            out += x
            return out

    class ResidualTorchAdd(ResidualPlus):
        """out = torch.add(f(x), x)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.add(self.layer(x), x)

    class ResidualAddMethod(ResidualPlus):
        """out = f(x).add(x)  (the Tensor.add method)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x).add(x)

    class GateMul(nn.Module):
        """x * torch.sigmoid(conv1x1(x))  (Tensor.__mul__)."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.layer = nn.Conv2d(c, c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(self.layer(x))

    class GateTorchMul(GateMul):
        """torch.mul(x, torch.sigmoid(conv1x1(x)))."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.mul(x, torch.sigmoid(self.layer(x)))

    class LayerScale(nn.Module):
        """x * gamma, gamma an nn.Parameter of shape (C, 1, 1) (ConvNeXt's layer scale)."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.gamma

    class Concat(nn.Module):
        """torch.cat([x, x], dim=1)."""

        def __init__(self) -> None:
            super().__init__()
            self.empty = nn.Parameter(torch.empty(0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, x], dim=1)

    class Split(Concat):
        """a, b = torch.split(x, C/2, dim=1); torch.cat([b, a], dim=1)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = torch.split(x, x.shape[1] // 2, dim=1)
            return torch.cat([b, a], dim=1)

    class Chunk(Concat):
        """a, b = x.chunk(2, dim=1); torch.cat([b, a], dim=1)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x.chunk(2, dim=1)
            return torch.cat([b, a], dim=1)

    return {cls.__name__: cls for cls in (Probe, ResidualPlus, ResidualInplace, ResidualTorchAdd,
                                          ResidualAddMethod, GateMul, GateTorchMul, LayerScale,
                                          Concat, Split, Chunk)}


def single_layers() -> list[Entry]:
    """One op per model; input 8x16x16 unless the entry says otherwise."""
    import torch
    from torch import nn

    tv = torchvision()
    from torchvision.models.convnext import LayerNorm2d
    from torchvision.ops import SqueezeExcitation, StochasticDepth
    from torchvision.ops.misc import Permute

    torch.manual_seed(0)
    m = _modules()
    probe = m["Probe"]
    c = SMALL[0]
    layers: list[tuple[str, Any]] = [
        ("conv", nn.Conv2d(c, 16, 3, padding=1)),
        ("conv_nobias", nn.Conv2d(c, 16, 3, padding=1, bias=False)),
        ("conv_stride2", nn.Conv2d(c, 16, 3, stride=2, padding=1)),
        ("conv_grouped_g4", nn.Conv2d(c, 16, 3, padding=1, groups=4)),
        ("conv_depthwise", nn.Conv2d(c, c, 3, padding=1, groups=c)),
        ("conv_dilated_d2", nn.Conv2d(c, 16, 3, padding=2, dilation=2)),
        ("conv_pointwise", nn.Conv2d(c, 16, 1)),
        ("convT_s2", nn.ConvTranspose2d(c, 4, 4, stride=2, padding=1)),
        ("convT_s2_nobias", nn.ConvTranspose2d(c, 4, 4, stride=2, padding=1, bias=False)),
        ("convT_s2_g2", nn.ConvTranspose2d(c, 4, 4, stride=2, padding=1, groups=2)),
        ("convT_s2_g2_nobias", nn.ConvTranspose2d(c, 4, 4, stride=2, padding=1, groups=2, bias=False)),
        ("linear", nn.Sequential(nn.Flatten(), nn.Linear(c * 16 * 16, 10))),
        ("linear_nobias", nn.Sequential(nn.Flatten(), nn.Linear(c * 16 * 16, 10, bias=False))),
        ("batchnorm", nn.BatchNorm2d(c)),
        ("batchnorm_noaffine", nn.BatchNorm2d(c, affine=False)),
        ("layernorm2d_tv", LayerNorm2d(c)),
        ("layernorm_permute", nn.Sequential(Permute([0, 2, 3, 1]), nn.LayerNorm(c), Permute([0, 3, 1, 2]))),
        ("layernorm_permute_noaffine",
         nn.Sequential(Permute([0, 2, 3, 1]), nn.LayerNorm(c, elementwise_affine=False),
                       Permute([0, 3, 1, 2]))),
        ("groupnorm", nn.GroupNorm(4, c)),
        ("groupnorm_noaffine", nn.GroupNorm(4, c, affine=False)),
        ("relu", nn.ReLU()),
        ("relu_inplace", nn.ReLU(inplace=True)),
        ("relu6", nn.ReLU6()),
        ("silu", nn.SiLU()),
        ("gelu", nn.GELU()),
        ("hardswish", nn.Hardswish()),
        ("sigmoid", nn.Sigmoid()),
        ("hardsigmoid", nn.Hardsigmoid()),
        ("tanh", nn.Tanh()),
        ("leakyrelu", nn.LeakyReLU(0.1)),
        ("softmax", nn.Softmax(dim=1)),
        ("dropout", nn.Dropout(0.5)),
        ("identity", nn.Identity()),
        ("maxpool_k2", nn.MaxPool2d(2)),
        ("maxpool_k3s2p1", nn.MaxPool2d(3, 2, 1)),
        ("avgpool_k2", nn.AvgPool2d(2)),
        ("adaptiveavgpool_1", nn.AdaptiveAvgPool2d(1)),
        ("adaptiveavgpool_6", nn.AdaptiveAvgPool2d(6)),
        ("upsample_nearest_x2", nn.Upsample(scale_factor=2, mode="nearest")),
        ("upsample_bilinear_x2", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
        ("channelshuffle_g4", nn.ChannelShuffle(4)),
        ("flatten", nn.Flatten()),
        ("squeeze_excitation", SqueezeExcitation(c, 2)),
        ("stochastic_depth", StochasticDepth(0.2, "row")),
    ]
    out: list[Entry] = [(name, probe(layer), SMALL) for name, layer in layers]
    out += [
        ("residual_plus", m["ResidualPlus"](c), SMALL),
        ("residual_iadd", m["ResidualInplace"](c), SMALL),
        ("residual_torch_add", m["ResidualTorchAdd"](c), SMALL),
        ("residual_add_method", m["ResidualAddMethod"](c), SMALL),
        ("gate_mul_sigmoid", m["GateMul"](c), SMALL),
        ("gate_torch_mul_sigmoid", m["GateTorchMul"](c), SMALL),
        ("layer_scale", m["LayerScale"](c), SMALL),
        ("concat", m["Concat"](), SMALL),
        ("split", m["Split"](), SMALL),
        ("chunk", m["Chunk"](), SMALL),
        ("bare_relu", probe(nn.ReLU(), empty_param=False), SMALL),
    ]
    del tv
    return out


def dcgan_generator() -> Any:
    """The DCGAN generator (Radford et al. 2015, fig. 1; PyTorch's DCGAN tutorial): z 100x1x1 ->
    3x64x64 through four stride-2 ConvTranspose2d(k4, p1), BN + ReLU between, Tanh at the end."""
    from torch import nn

    nz, ngf, nc = 100, 64, 3
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )


TORCHVISION = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large",
               "efficientnet_b0", "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121",
               "regnet_y_400mf", "convnext_tiny")


def networks() -> list[Entry]:
    """The torchvision classifiers (weights=None, 3x224x224) and the DCGAN generator (100x1x1)."""
    import torch

    tv = torchvision()
    torch.manual_seed(0)
    out: list[Entry] = [(name, getattr(tv.models, name)(weights=None), (3, 224, 224))
                        for name in TORCHVISION]
    out.append(("dcgan_generator", dcgan_generator(), (100, 1, 1)))
    return out


IMPORTED = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large",
            "efficientnet_b0", "shufflenet_v2_x1_0", "squeezenet1_1", "googlenet", "densenet121",
            "inception_v3", "regnet_y_400mf", "convnext_tiny", "mnasnet1_0")
"""The torchvision classifiers the imported-model checks cover (tests/test_op_forms.py): the
importer tests' fourteen and MnasNet (its global pool is `x.mean([2, 3])`)."""


def imported() -> list[SourcedEntry]:
    """Each of IMPORTED as `convcalc import --torch torchvision.models:NAME` builds it: the
    factory called without arguments (weights=None, random init), eval mode, at 3x224x224
    (Inception v3: 3x299x299). `source` names the command's target and input."""
    import torch

    tv = torchvision()
    out: list[SourcedEntry] = []
    for name in IMPORTED:
        size = 299 if name == "inception_v3" else 224
        torch.manual_seed(0)
        out.append((name, getattr(tv.models, name)().eval(), (3, size, size),
                    {"torch": f"torchvision.models:{name}", "input": f"{size}x{size}x3"}))
    return out


def smoke() -> list[Entry]:
    """Two tiny models for a quick run of the harness."""
    return [e for e in single_layers() if e[0] in ("conv", "convT_s2")]


# ---------------------------------------------------------------- convcalc specs, as convcalc exports them

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

SourcedEntry = tuple[str, Any, tuple[int, ...], dict[str, Any]]


def exported(source: str | dict[str, Any]) -> tuple[Any, tuple[int, ...]]:
    """A convcalc spec (a YAML path or the spec as a mapping) as `convcalc export --to pytorch`
    writes it, built: the module and its input (C, spatial...) at batch 1. convcalc is imported
    from this checkout (setup.sh installs it into the peer venv)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    torchvision()  # ptflops imports it: its stubs must be in place before (see torchvision())
    from convcalc.bridges.pytorch_export import export_pytorch
    from convcalc.engine import analyze_network

    report = analyze_network(str(ROOT / source) if isinstance(source, str) else source)
    namespace: dict[str, Any] = {"__name__": f"convcalc_export_{report.name}"}
    exec(compile(export_pytorch(report), f"<convcalc export {report.name}>", "exec"), namespace)
    return namespace["build"](), tuple(namespace["INPUT"][1:])


def examples() -> list[SourcedEntry]:
    """Every examples/*.yaml, exported by convcalc and built in torch (`source` records the spec
    so the tests can analyse the same file)."""
    import torch

    torch.manual_seed(0)
    out: list[SourcedEntry] = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        rel = str(path.relative_to(ROOT))
        model, chw = exported(rel)
        out.append((path.stem, model, chw, {"spec": rel}))
    return out


X8 = "16x16x8"
"""The probes' input, H×W×C (8 channels of 16×16, as single_layers()' 8×16×16)."""
CARRIER = {"kind": "layer_scale"}
"""Put in front of a parameter-free layer: calflops 0.3.2 cannot profile a model without
parameters (StopIteration at flops_counter.py:121), and a layer scale (`gamma * x`, C
parameters named gamma) counts 0 in every tool (its own probe `layer_scale` shows it)."""

# name -> (input, layers); one convcalc kind per probe (a few variants of each), every kind
# convcalc has, the merges, and 1-D / 3-D forms of the common ones
KIND_PROBES: dict[str, tuple[str, list[Any]]] = {
    "conv": (X8, [{"kind": "conv", "out": 16, "kernel": 3, "padding": 1}]),
    "conv_nobias": (X8, [{"kind": "conv", "out": 16, "kernel": 3, "padding": 1, "bias": False}]),
    "conv_stride2": (X8, [{"kind": "conv", "out": 16, "kernel": 3, "stride": 2, "padding": 1}]),
    "conv_rect": (X8, [{"kind": "conv", "out": 12, "kernel": [3, 5], "padding": [1, 2]}]),
    "conv_same": (X8, [{"kind": "conv", "out": 12, "kernel": [3, 5], "padding": "same"}]),
    "conv_same_even": (X8, [{"kind": "conv", "out": 12, "kernel": 4, "padding": "same", "bias": False}]),
    "conv_valid": (X8, [{"kind": "conv", "out": 12, "kernel": 3, "padding": "valid"}]),
    "conv_groups2_dil2": (X8, [{"kind": "conv", "out": 16, "kernel": 3, "dilation": 2, "groups": 2}]),
    "conv_1d": ("32x8", [{"kind": "conv", "out": 16, "kernel": 5, "stride": 2}]),
    "conv_3d": ("6x8x8x4", [{"kind": "conv", "out": 8, "kernel": 3, "padding": 1}]),
    "pointwise": (X8, [{"kind": "pointwise", "out": 16}]),
    "pointwise_nobias": (X8, [{"kind": "pointwise", "out": 16, "bias": False}]),
    "grouped": (X8, [{"kind": "grouped", "out": 16, "kernel": 3, "groups": 4, "padding": 1}]),
    "depthwise": (X8, [{"kind": "depthwise", "kernel": 3, "padding": 1}]),
    "depthwise_m2_s2": (X8, [{"kind": "depthwise", "kernel": 3, "multiplier": 2, "stride": 2,
                              "bias": False}]),
    "dilated": (X8, [{"kind": "dilated", "out": 16, "kernel": 3, "dilation": 2, "padding": 2}]),
    "dwsep": (X8, [{"kind": "dwsep", "out": 16, "kernel": 3, "padding": 1}]),
    "dwsep_nobias_s2": (X8, [{"kind": "dwsep", "out": 16, "kernel": 3, "padding": 1, "stride": 2,
                              "bias": False}]),
    "spatial_sep": (X8, [{"kind": "spatial_sep", "out": 16, "kernel": 3, "mid": 12}]),
    "transposed": (X8, [{"kind": "transposed", "out": 4, "kernel": 4, "stride": 2, "padding": 1}]),
    "transposed_nobias": (X8, [{"kind": "transposed", "out": 4, "kernel": 4, "stride": 2, "padding": 1,
                                "bias": False}]),
    "transposed_g2": (X8, [{"kind": "transposed", "out": 4, "kernel": 4, "stride": 2, "padding": 1,
                            "groups": 2}]),
    "transposed_depthwise": (X8, [{"kind": "transposed", "out": 8, "kernel": 2, "stride": 2,
                                   "groups": 8}]),
    "transposed_outpad_dil": (X8, [{"kind": "transposed", "out": 6, "kernel": 3, "stride": 2,
                                    "padding": 1, "output_padding": 1, "dilation": 2}]),
    "transposed_rect": (X8, [{"kind": "transposed", "out": 4, "kernel": [2, 3], "stride": [2, 1]}]),
    "transposed_s1": (X8, [{"kind": "transposed", "out": 4, "kernel": 3}]),
    "transposed_1d": ("10x8", [{"kind": "transposed", "out": 4, "kernel": 4, "stride": 2, "padding": 1}]),
    "transposed_3d": ("4x4x4x4", [{"kind": "transposed", "out": 4, "kernel": 2, "stride": 2}]),
    "pointwise_group": (X8, [{"kind": "pointwise_group", "out": 16, "groups": 4}]),
    "shuffle": (X8, [CARRIER, {"kind": "shuffle", "groups": 4}]),
    "shuffle_unit": ("16x16x12", [{"kind": "shuffle_unit", "out": 24, "groups": 3}]),
    "shuffle_unit_s2_bias": ("16x16x12", [{"kind": "shuffle_unit", "out": 24, "groups": 2, "stride": 2,
                                           "bias": True}]),
    "octave": (X8, [{"kind": "octave", "out": 16, "kernel": 3, "padding": 1}]),
    "octave_stride2": (X8, [{"kind": "octave", "out": 16, "kernel": 3, "padding": 1, "stride": 2}]),
    "octave_first": (X8, [{"kind": "octave", "out": 16, "kernel": 3, "padding": 1, "alpha_in": 0}]),
    "octave_last_nobias": (X8, [{"kind": "octave", "out": 16, "kernel": 3, "padding": 1,
                                 "alpha_out": 0, "bias": False}]),
    "maxpool": (X8, [CARRIER, {"kind": "maxpool", "kernel": 2}]),
    "maxpool_k3s2p1_ceil": ("15x15x8", [CARRIER, {"kind": "maxpool", "kernel": 3, "stride": 2,
                                                  "padding": 1, "ceil_mode": True}]),
    "maxpool_dil2": (X8, [CARRIER, {"kind": "maxpool", "kernel": 3, "dilation": 2}]),
    "maxpool_1d": ("32x8", [CARRIER, {"kind": "maxpool", "kernel": 3, "stride": 2}]),
    "avgpool": (X8, [CARRIER, {"kind": "avgpool", "kernel": 2}]),
    "avgpool_k3s2p1_ceil": ("15x15x8", [CARRIER, {"kind": "avgpool", "kernel": 3, "stride": 2,
                                                  "padding": 1, "ceil_mode": True}]),
    "avgpool_3d": ("4x8x8x4", [CARRIER, {"kind": "avgpool", "kernel": 2}]),
    "global_avgpool": (X8, [CARRIER, {"kind": "global_avgpool"}]),
    "adaptive_avgpool_6": (X8, [CARRIER, {"kind": "adaptive_avgpool", "output_size": 6}]),
    "adaptive_avgpool_3x5": (X8, [CARRIER, {"kind": "adaptive_avgpool", "output_size": [3, 5]}]),
    "global_avgpool_1d": ("32x8", [CARRIER, {"kind": "global_avgpool"}]),
    "adaptive_avgpool_3d": ("4x6x6x4", [CARRIER, {"kind": "adaptive_avgpool", "output_size": 2}]),
    "linear": (X8, [{"kind": "linear", "out": 10}]),
    "linear_nobias": (X8, [{"kind": "linear", "out": 10, "bias": False}]),
    "linear_vector": ("100", [{"kind": "linear", "out": 10}]),
    "batchnorm": (X8, [{"kind": "batchnorm"}]),
    "batchnorm_noaffine": (X8, [CARRIER, {"kind": "batchnorm", "affine": False}]),
    "batchnorm_1d": ("32x8", [{"kind": "batchnorm"}]),
    "batchnorm_vector": ("100", [{"kind": "batchnorm"}]),
    "layernorm": (X8, [{"kind": "layernorm"}]),
    "layernorm_noaffine": (X8, [CARRIER, {"kind": "layernorm", "affine": False}]),
    "layernorm_nobias": (X8, [{"kind": "layernorm", "bias": False}]),
    "groupnorm": (X8, [{"kind": "groupnorm", "groups": 4}]),
    "groupnorm_noaffine": (X8, [CARRIER, {"kind": "groupnorm", "groups": 4, "affine": False}]),
    "se": (X8, [{"kind": "se", "squeeze": 2}]),
    "se_silu_hardsigmoid": (X8, [{"kind": "se", "ratio": 0.25, "activation": "silu",
                                  "gate": "hardsigmoid"}]),
    "se_relu6": ("8x8x16", [{"kind": "se", "squeeze": 4, "activation": "relu6"}]),
    "se_hardswish": ("8x8x16", [{"kind": "se", "squeeze": 4, "activation": "hardswish"}]),
    "se_gelu": ("8x8x16", [{"kind": "se", "squeeze": 4, "activation": "gelu"}]),
    "layer_scale": (X8, [{"kind": "layer_scale"}]),
    "stochastic_depth": (X8, [CARRIER, {"kind": "stochastic_depth", "p": 0.2}]),
    "dropout": (X8, [CARRIER, {"kind": "dropout", "p": 0.5}]),
    **{act: (X8, [CARRIER, {"kind": act}]) for act in (
        "relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
        "leaky_relu", "softmax", "identity")},
    "relu_alone": (X8, [{"kind": "relu"}]),
    "relu_vector": ("100", [CARRIER, {"kind": "relu"}]),
    "flatten": (X8, [CARRIER, {"kind": "flatten"}]),
    "upsample_nearest": (X8, [CARRIER, {"kind": "upsample", "scale": 2}]),
    "upsample_bilinear": (X8, [CARRIER, {"kind": "upsample", "scale": 2, "mode": "bilinear"}]),
    "upsample_nearest_2x3": (X8, [CARRIER, {"kind": "upsample", "scale": [2, 3]}]),
    "upsample_bilinear_x3": ("5x5x8", [CARRIER, {"kind": "upsample", "scale": 3, "mode": "linear"}]),
    "upsample_linear_1d": ("10x8", [CARRIER, {"kind": "upsample", "scale": 2, "mode": "linear"}]),
    "upsample_trilinear_3d": ("4x4x4x4", [CARRIER, {"kind": "upsample", "scale": 2,
                                                    "mode": "trilinear"}]),
    "upsample_nearest_3d": ("4x4x4x4", [CARRIER, {"kind": "upsample", "scale": 2}]),
    # merges: residual adds, branch adds, gates (broadcast), concatenation, channel split
    "residual_identity": (X8, [{"residual": {"body": [
        {"kind": "conv", "out": 8, "kernel": 3, "padding": 1, "bias": False}]}}]),
    "residual_projection": (X8, [{"residual": {"body": [
        {"kind": "conv", "out": 16, "kernel": 3, "stride": 2, "padding": 1, "bias": False}],
        "shortcut": "auto"}}]),
    "branches_add3": (X8, [{"branches": {"merge": "add", "paths": [
        [{"kind": "pointwise", "out": 8}], [{"kind": "conv", "out": 8, "kernel": 3, "padding": 1}],
        []]}}]),
    "branches_mul_gate": (X8, [{"branches": {"merge": "mul", "paths": [
        [], [{"kind": "global_avgpool"}, {"kind": "pointwise", "out": 8}, {"kind": "sigmoid"}]]}}]),
    "branches_mul_spatial": (X8, [{"branches": {"merge": "mul", "paths": [
        [], [{"kind": "pointwise", "out": 1}, {"kind": "sigmoid"}]]}}]),
    "branches_concat": (X8, [{"branches": {"merge": "concat", "paths": [
        [{"kind": "pointwise", "out": 4}], [{"kind": "conv", "out": 4, "kernel": 3, "padding": 1}]]}}]),
    "split": (X8, [{"split": {"sizes": [4, 4], "paths": [
        [], [{"kind": "pointwise", "out": 4}, {"kind": "relu"}]]}}]),
}


def kinds() -> list[SourcedEntry]:
    """One-layer (or one-merge) convcalc specs of every kind, exported and built."""
    import torch

    torch.manual_seed(0)
    out: list[SourcedEntry] = []
    for name, (shape, layers) in KIND_PROBES.items():
        spec = {"name": name, "input": shape, "layers": layers}
        model, chw = exported(spec)
        out.append((name, model, chw, {"spec": spec}))
    return out


# the attention kinds (issue 22, item 4): small specs of every kind and its variants (global,
# windowed with padding, shift and mask, grid, 1-D and 3-D, biases off, a position-bias table),
# each after a layer that leaves channel-first memory and after one that leaves channels-last
# memory (the layer norm of a pre-norm block), and the three attention examples
ATTENTION_PROBES: dict[str, tuple[str, list[Any]]] = {
    "vit_tiny": ("4x4x16", [
        {"kind": "to_tokens"}, {"kind": "class_token"}, {"kind": "pos_embedding"},
        {"kind": "self_attention", "heads": 2}, {"kind": "mlp", "ratio": 2},
        {"residual": {"body": [{"kind": "layernorm"}, {"kind": "self_attention", "heads": 4}]}},
        {"residual": {"body": [{"kind": "layernorm"}, {"kind": "mlp", "ratio": 4}]}},
        {"kind": "take_token"}, {"kind": "linear", "out": 10}]),
    "attention_map_nobias": ("4x4x16", [{"kind": "self_attention", "heads": 4, "bias": False,
                                         "proj_bias": False}]),
    "attention_window_pad_shift": ("6x6x16", [{"kind": "self_attention", "heads": 2,
                                               "window": 4, "shift": 2,
                                               "position_bias": True}]),
    "attention_window_shift": ("8x8x16", [{"kind": "layernorm"}, {
        "kind": "self_attention", "heads": 2, "window": 4, "shift": 2}]),
    "attention_window_rect": ("8x6x8", [{"kind": "self_attention", "heads": 1,
                                         "window": [4, 3], "shift": [0, 1],
                                         "position_bias": True}]),
    "attention_grid": ("8x8x16", [{"kind": "self_attention", "head_dim": 8, "window": 2,
                                   "partition": "grid", "position_bias": True, "bias": False}]),
    "attention_1d": ("12x8", [{"kind": "self_attention", "heads": 2, "window": 4, "shift": 1}]),
    "attention_3d": ("4x4x4x8", [{"kind": "self_attention", "heads": 2, "window": 2}]),
    "mlp_gelu": ("4x4x16", [{"kind": "mlp", "ratio": 4}]),
    "mlp_relu_nobias_out": ("4x4x16", [{"kind": "mlp", "hidden": 24, "out": 8,
                                        "activation": "relu", "bias": False}]),
    "mlp_silu_tokens": ("10x8", [{"kind": "mlp", "hidden": 12, "activation": "silu"}]),
    "mlp_hardswish_3d": ("2x4x4x8", [{"kind": "mlp", "ratio": 2, "activation": "hardswish"}]),
    "mlp_tanh": ("10x8", [{"kind": "layernorm"}, {"kind": "mlp", "ratio": 2,
                                                    "activation": "tanh"}]),
    "patch_merging": ("6x6x8", [{"kind": "patch_merging"}]),
    "patch_merging_odd_bias": ("5x7x8", [{"kind": "patch_merging", "out": 12, "bias": True}]),
    "class_token_2": ("10x8", [{"kind": "class_token", "count": 2}]),
    "pos_embedding_map": ("4x4x8", [{"kind": "pos_embedding"}]),
    "tokens_and_back": ("4x4x8", [CARRIER, {"kind": "to_tokens"}, {"kind": "to_map",
                                                                  "size": [4, 4]}]),
    "take_token_3": ("10x8", [CARRIER, {"kind": "take_token", "index": 3}]),
    # Swin V2: scaled cosine attention (F.linear qkv with the k bias zeroed, F.normalize, a
    # logit scale per head), the position-bias MLP on the coordinate table (once per pass), alone
    # and together, shifted, padded, 1-D; patch merging with the norm after the reduction
    "attention_cosine": ("8x8x16", [{"kind": "self_attention", "heads": 2, "window": 4,
                                     "cosine": True}]),
    "attention_v2_shift": ("8x8x16", [{"kind": "layernorm"}, {
        "kind": "self_attention", "heads": 2, "window": 4, "shift": 2, "cosine": True,
        "bias_mlp": 32}]),
    "attention_v2_pad_nobias": ("6x6x16", [{"kind": "self_attention", "heads": 4, "window": 4,
                                            "shift": 2, "cosine": True, "bias_mlp": 16,
                                            "bias": False, "proj_bias": False}]),
    "attention_bias_mlp": ("8x6x8", [{"kind": "self_attention", "heads": 1, "window": [4, 3],
                                      "bias_mlp": 24}]),
    "attention_v2_1d": ("12x8", [{"kind": "self_attention", "heads": 2, "window": 4, "shift": 1,
                                  "cosine": True, "bias_mlp": 16}]),
    "patch_merging_after": ("6x6x8", [{"kind": "patch_merging", "norm": "after"}]),
    "patch_merging_after_odd_bias": ("5x7x8", [{"kind": "patch_merging", "out": 12,
                                                "bias": True, "norm": "after"}]),
}
ATTENTION_EXAMPLES = ("vit_b_16", "swin_t", "maxvit_t", "swin_v2_t")


def attention() -> list[SourcedEntry]:
    """The attention probes and the four attention examples, exported and built."""
    import torch

    torch.manual_seed(0)
    out: list[SourcedEntry] = []
    for name, (shape, layers) in ATTENTION_PROBES.items():
        spec = {"name": name, "input": shape, "layers": layers}
        model, chw = exported(spec)
        out.append((name, model, chw, {"spec": spec}))
    for name in ATTENTION_EXAMPLES:
        rel = f"examples/{name}.yaml"
        model, chw = exported(rel)
        out.append((name, model, chw, {"spec": rel}))
    return out


ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
               "leaky_relu", "softmax")

# name -> (input, layers): a layer in each form a model may write it in (convcalc's `op`:
# function, method, channels_last; see convcalc/layers/op_forms.py)
FORM_PROBES: dict[str, tuple[str, list[Any]]] = {
    **{f"{act}_function": (X8, [CARRIER, {"kind": act, "op": "function"}]) for act in ACTIVATIONS},
    **{f"{act}_method": (X8, [CARRIER, {"kind": act, "op": "method"}])
       for act in ("relu", "sigmoid", "tanh", "softmax")},
    "maxpool_function": (X8, [CARRIER, {"kind": "maxpool", "kernel": 2, "op": "function"}]),
    "maxpool_k3s2p1_function": (X8, [CARRIER, {"kind": "maxpool", "kernel": 3, "stride": 2,
                                               "padding": 1, "op": "function"}]),
    "avgpool_function": (X8, [CARRIER, {"kind": "avgpool", "kernel": 3, "stride": 1,
                                        "padding": 1, "op": "function"}]),
    "global_avgpool_function": (X8, [CARRIER, {"kind": "global_avgpool", "op": "function"}]),
    "adaptive_avgpool_6_function": (X8, [CARRIER, {"kind": "adaptive_avgpool",
                                                   "output_size": 6, "op": "function"}]),
    "global_avgpool_method": (X8, [CARRIER, {"kind": "global_avgpool", "op": "method"}]),
    "global_avgpool_method_1d": ("32x8", [CARRIER, {"kind": "global_avgpool", "op": "method"}]),
    "upsample_nearest_function": (X8, [CARRIER, {"kind": "upsample", "scale": 2,
                                                 "op": "function"}]),
    "upsample_bilinear_function": (X8, [CARRIER, {"kind": "upsample", "scale": 2,
                                                  "mode": "bilinear", "op": "function"}]),
    "pointwise_channels_last": (X8, [{"kind": "pointwise", "out": 16, "op": "channels_last"}]),
    "pointwise_channels_last_nobias": (X8, [{"kind": "pointwise", "out": 16, "bias": False,
                                             "op": "channels_last"}]),
    "pointwise_channels_last_1d": ("32x8", [{"kind": "pointwise", "out": 16,
                                             "op": "channels_last"}]),
    "layernorm_channels_last": (X8, [{"kind": "layernorm", "op": "channels_last"}]),
    "layernorm_channels_last_noaffine": (X8, [CARRIER, {"kind": "layernorm", "affine": False,
                                                        "op": "channels_last"}]),
    "layernorm_channels_last_nobias": (X8, [{"kind": "layernorm", "bias": False,
                                             "op": "channels_last"}]),
    # ConvNeXt's block: depthwise 7×7, then LayerNorm, Linear 4C, GELU, Linear C on channels-last
    # data, a layer scale, added to the input
    "convnext_block": (X8, [{"residual": {"body": [
        {"kind": "depthwise", "kernel": 7, "padding": 3},
        {"kind": "layernorm", "op": "channels_last"},
        {"kind": "pointwise", "out": 32, "op": "channels_last"}, {"kind": "gelu"},
        {"kind": "pointwise", "out": 8, "op": "channels_last"}, {"kind": "layer_scale"}]}}]),
    # GoogLeNet's BasicConv2d and Inception's pools: F.relu and F.max_pool2d / F.avg_pool2d
    "basic_conv_function": (X8, [
        {"kind": "conv", "out": 8, "kernel": 3, "padding": 1, "bias": False},
        {"kind": "batchnorm"}, {"kind": "relu", "op": "function"},
        {"kind": "maxpool", "kernel": 3, "stride": 2, "op": "function"}]),
}


def forms() -> list[SourcedEntry]:
    """The FORM_PROBES specs, exported (each layer in its form) and built."""
    import torch

    torch.manual_seed(0)
    out: list[SourcedEntry] = []
    for name, (shape, layers) in FORM_PROBES.items():
        spec = {"name": name, "input": shape, "layers": layers}
        model, chw = exported(spec)
        out.append((name, model, chw, {"spec": spec}))
    return out

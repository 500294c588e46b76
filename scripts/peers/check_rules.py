"""Re-derive every peer tool's total for the single-layer fixtures from docs/peer-tools.md's rules.

    python scripts/peers/check_rules.py [tests/fixtures/peers/layers.json]

Pure Python, no torch: each fixture model is described here by its ops and their shapes (the
facts of the model as models.py builds it), each tool by one rule per op kind (a formula of those
shapes, with the file:line of the tool's source it mirrors in docs/peer-tools.md). The check
asserts, for every model and tool, that the rules give exactly the total and the parameter count
the real tool reported, and that PyTorch's FlopCounterMode MACs follow from the same shapes (so
the shapes themselves are right). Every op kind must have a rule in every tool's table: a missing
rule is an error, not a silent zero. Exit status 0 when all agree, 1 otherwise.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "peers" / "layers.json"


def prod(xs: tuple[int, ...]) -> int:
    return math.prod(xs)


# ---------------------------------------------------------------- ops and their shapes

@dataclass(frozen=True)
class Op:
    """One op of a model: its kind (the torch construct that runs it) and its shape facts.

    shape: (C, H, W) of the op's input (batch 1). Conv-like ops carry their hyper-parameters.
    """

    kind: str
    shape: tuple[int, ...]
    cout: int = 0
    k: int = 1
    s: int = 1
    p: int = 0
    d: int = 1
    g: int = 1
    bias: bool = False
    affine: bool = False
    out_hw: tuple[int, ...] = ()   # adaptive pool output size
    mode: str = ""                 # upsample mode
    scale: float = 0.0             # upsample scale factor (float, as nn.Upsample stores it)
    dim_size: int = 0              # softmax: size of the reduced dimension
    out_features: int = 0          # linear: in_features is shape[-1], rows the other dims
    params: int = 0                # parameters the op's module owns (torch's count)
    out: tuple[int, ...] = ()      # the measured output shape (C, H, W), where the trace knows it
    operands: tuple[tuple[int, ...], ...] = ()  # elementwise ops: the operands' full shapes

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def cin(self) -> int:
        return self.shape[0]

    @property
    def in_hw(self) -> tuple[int, ...]:
        return self.shape[1:]

    def conv_hw(self) -> tuple[int, ...]:
        """Output size of a (forward) convolution or pooling: ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1."""
        return tuple((h + 2 * self.p - self.d * (self.k - 1) - 1) // self.s + 1 for h in self.in_hw)

    def convT_hw(self) -> tuple[int, ...]:
        """Output size of a transposed convolution: (H − 1)s − 2p + d(k − 1) + 1."""
        return tuple((h - 1) * self.s - 2 * self.p + self.d * (self.k - 1) + 1 for h in self.in_hw)

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.out:
            return self.out
        kind = self.kind
        if kind == "nn.Conv2d":
            return (self.cout, *self.conv_hw())
        if kind == "nn.ConvTranspose2d":
            return (self.cout, *self.convT_hw())
        if kind in ("nn.MaxPool2d", "nn.AvgPool2d"):
            return (self.cin, *self.conv_hw())
        if kind == "nn.AdaptiveAvgPool2d":
            return (self.cin, *self.out_hw)
        if kind == "nn.Upsample":
            return (self.cin, *(int(h * self.scale) for h in self.in_hw))
        if kind == "nn.Linear":
            return (*self.shape[:-1], self.out_features)
        if kind == "torch.cat":
            return (2 * self.cin, *self.in_hw)
        return self.shape

    @property
    def out_numel(self) -> int:
        return prod(self.out_shape)


def conv(cin: int, cout: int, k: int, hw: tuple[int, int] = (16, 16), *, s: int = 1, p: int = 0,
         d: int = 1, g: int = 1, bias: bool = True) -> Op:
    return Op("nn.Conv2d", (cin, *hw), cout=cout, k=k, s=s, p=p, d=d, g=g, bias=bias,
              params=cout * (cin // g) * k * k + (cout if bias else 0))


def convT(cin: int, cout: int, k: int, hw: tuple[int, int] = (16, 16), *, s: int = 1, p: int = 0,
          g: int = 1, bias: bool = True) -> Op:
    return Op("nn.ConvTranspose2d", (cin, *hw), cout=cout, k=k, s=s, p=p, g=g, bias=bias,
              params=cin * (cout // g) * k * k + (cout if bias else 0))


def norm(kind: str, shape: tuple[int, ...], affine: bool) -> Op:
    return Op(kind, shape, affine=affine, params=2 * shape[0] if affine else 0)


def op(kind: str, shape: tuple[int, ...] = (8, 16, 16), **kw: Any) -> Op:
    return Op(kind, shape, **kw)


X = (8, 16, 16)


@dataclass(frozen=True)
class Model:
    ops: tuple[Op, ...]
    extra_params: int = 0          # parameters held by a non-leaf (or rule-less) module itself
    extra_params_kind: str = ""    # how that parameter is held, for the tools' param rules
    errors: dict[str, str] = field(default_factory=dict)  # tool -> expected error prefix


def M(*ops: Op, **kw: Any) -> Model:
    return Model(tuple(ops), **kw)


SE = (op("nn.AdaptiveAvgPool2d", X, out_hw=(1, 1)), conv(8, 2, 1, (1, 1)), op("nn.ReLU", (2, 1, 1)),
      conv(2, 8, 1, (1, 1)), op("nn.Sigmoid", (8, 1, 1)), op("torch.Tensor.__mul__", X))

MODELS: dict[str, Model] = {
    "conv": M(conv(8, 16, 3, p=1)),
    "conv_nobias": M(conv(8, 16, 3, p=1, bias=False)),
    "conv_stride2": M(conv(8, 16, 3, s=2, p=1)),
    "conv_grouped_g4": M(conv(8, 16, 3, p=1, g=4)),
    "conv_depthwise": M(conv(8, 8, 3, p=1, g=8)),
    "conv_dilated_d2": M(conv(8, 16, 3, p=2, d=2)),
    "conv_pointwise": M(conv(8, 16, 1)),
    "convT_s2": M(convT(8, 4, 4, s=2, p=1)),
    "convT_s2_nobias": M(convT(8, 4, 4, s=2, p=1, bias=False)),
    "convT_s2_g2": M(convT(8, 4, 4, s=2, p=1, g=2)),
    "convT_s2_g2_nobias": M(convT(8, 4, 4, s=2, p=1, g=2, bias=False)),
    "linear": M(op("nn.Flatten"), op("nn.Linear", (2048,), out_features=10, bias=True, params=20490)),
    "linear_nobias": M(op("nn.Flatten"), op("nn.Linear", (2048,), out_features=10, params=20480)),
    "batchnorm": M(norm("nn.BatchNorm2d", X, True)),
    "batchnorm_noaffine": M(norm("nn.BatchNorm2d", X, False)),
    "layernorm2d_tv": M(norm("tv.LayerNorm2d", X, True)),
    "layernorm_permute": M(op("tv.Permute"), norm("nn.LayerNorm", X, True), op("tv.Permute")),
    "layernorm_permute_noaffine": M(op("tv.Permute"), norm("nn.LayerNorm", X, False), op("tv.Permute")),
    "groupnorm": M(norm("nn.GroupNorm", X, True)),
    "groupnorm_noaffine": M(norm("nn.GroupNorm", X, False)),
    "relu": M(op("nn.ReLU")),
    "relu_inplace": M(op("nn.ReLU")),
    "relu6": M(op("nn.ReLU6")),
    "silu": M(op("nn.SiLU")),
    "gelu": M(op("nn.GELU")),
    "hardswish": M(op("nn.Hardswish")),
    "sigmoid": M(op("nn.Sigmoid")),
    "hardsigmoid": M(op("nn.Hardsigmoid")),
    "tanh": M(op("nn.Tanh")),
    "leakyrelu": M(op("nn.LeakyReLU")),
    "softmax": M(op("nn.Softmax", dim_size=8)),
    "dropout": M(op("nn.Dropout")),
    "identity": M(op("nn.Identity")),
    "maxpool_k2": M(op("nn.MaxPool2d", k=2, s=2)),
    "maxpool_k3s2p1": M(op("nn.MaxPool2d", k=3, s=2, p=1)),
    "avgpool_k2": M(op("nn.AvgPool2d", k=2, s=2)),
    "adaptiveavgpool_1": M(op("nn.AdaptiveAvgPool2d", out_hw=(1, 1))),
    "adaptiveavgpool_6": M(op("nn.AdaptiveAvgPool2d", out_hw=(6, 6))),
    "upsample_nearest_x2": M(op("nn.Upsample", mode="nearest", scale=2.0)),
    "upsample_bilinear_x2": M(op("nn.Upsample", mode="bilinear", scale=2.0)),
    "channelshuffle_g4": M(op("nn.ChannelShuffle")),
    "flatten": M(op("nn.Flatten")),
    "squeeze_excitation": M(*SE),
    "stochastic_depth": M(op("tv.StochasticDepth")),
    "residual_plus": M(conv(8, 8, 3, p=1, bias=False), op("torch.Tensor.__add__")),
    "residual_iadd": M(conv(8, 8, 3, p=1, bias=False), op("torch.Tensor.__iadd__")),
    "residual_torch_add": M(conv(8, 8, 3, p=1, bias=False), op("torch.add")),
    "residual_add_method": M(conv(8, 8, 3, p=1, bias=False), op("torch.Tensor.add")),
    "gate_mul_sigmoid": M(conv(8, 8, 1), op("torch.sigmoid"), op("torch.Tensor.__mul__")),
    "gate_torch_mul_sigmoid": M(conv(8, 8, 1), op("torch.sigmoid"), op("torch.mul")),
    "layer_scale": M(op("torch.Tensor.__mul__"), extra_params=8, extra_params_kind="gamma"),
    "concat": M(op("torch.cat")),
    "split": M(op("torch.split"), op("torch.cat")),
    "chunk": M(op("torch.Tensor.chunk"), op("torch.cat")),
    "bare_relu": M(op("nn.ReLU"), errors={"calflops": "StopIteration", "calflops-flops": "StopIteration"}),
}


# ---------------------------------------------------------------- the rules

Rule = Callable[[Op], int | float]
ZERO: Rule = lambda o: 0  # noqa: E731
# ops no tool counts: each tool's source has no rule that reaches them (docs/peer-tools.md)
ZERO_KINDS = ("nn.Hardswish", "nn.Sigmoid", "nn.Hardsigmoid", "nn.Tanh", "nn.Dropout", "nn.Identity",
              "nn.ChannelShuffle", "nn.Flatten", "tv.Permute", "tv.StochasticDepth", "torch.sigmoid",
              "torch.Tensor.__add__", "torch.Tensor.__iadd__", "torch.Tensor.__mul__", "torch.cat",
              "torch.split", "torch.Tensor.chunk",
              # seen outside leaf modules in the torchvision networks (check_networks.py)
              "torch.flatten", "torch.Tensor.flatten", "torch.Tensor.size", "torch.Tensor.view",
              "torch.transpose", "torch.Tensor.contiguous", "torch.Tensor.mean")
# functionals the torchvision networks call outside a leaf module (DenseNet, MobileNetV2)
F_RELU, F_ADAPTIVE = "torch.nn.functional.relu", "torch.nn.functional.adaptive_avg_pool2d"


def zeros(*kinds: str) -> dict[str, Rule]:
    return dict.fromkeys(kinds, ZERO)


def fcm_conv(o: Op) -> int:
    """PyTorch (and fvcore, ptflops-aten): N·∏w·∏(out positions; input positions if transposed)."""
    if o.kind == "nn.ConvTranspose2d":
        return o.cin * (o.cout // o.g) * o.k ** 2 * prod(o.in_hw)
    return o.cout * (o.cin // o.g) * o.k ** 2 * prod(o.conv_hw())


def bias_out(o: Op) -> int:
    """One add per output element when the conv has a bias."""
    return o.out_numel if o.bias else 0


def linear_macs(o: Op) -> int:
    """rows · in_features · out_features: every leading dimension is a row."""
    return o.numel * o.out_features


def left_aligned_numel(o: Op) -> int:
    """ptflops' and calflops' elementwise count: the two shapes lined up from the *first* dimension
    (missing ones taken as 1), the larger size taken on each; a scalar counts the other's numel.
    Equal to the broadcast numel when the shapes agree; larger when a shorter shape broadcasts."""
    if len(o.operands) < 2:
        return o.numel
    a, b = o.operands[0], o.operands[1]
    n = max(len(a), len(b))
    return prod(tuple(max(a[i] if i < len(a) else 1, b[i] if i < len(b) else 1) for i in range(n)))


ALL_KINDS = {o.kind for m in MODELS.values() for o in m.ops} | set(ZERO_KINDS) | {F_RELU, F_ADAPTIVE}

FLOP_COUNTER: dict[str, Rule] = {
    **zeros(*(ALL_KINDS - {"nn.Conv2d", "nn.ConvTranspose2d", "nn.Linear"})),
    "nn.Conv2d": fcm_conv, "nn.ConvTranspose2d": fcm_conv, "nn.Linear": linear_macs,
}

PTFLOPS: dict[str, Rule] = {
    **zeros(*ZERO_KINDS, "tv.LayerNorm2d"),
    "nn.Conv2d": lambda o: fcm_conv(o) + bias_out(o),
    "nn.ConvTranspose2d": lambda o: fcm_conv(o) + bias_out(o),
    "nn.Linear": lambda o: linear_macs(o) + (o.out_numel if o.bias else 0),
    "nn.BatchNorm2d": lambda o: o.numel * (2 if o.affine else 1),
    "nn.GroupNorm": lambda o: o.numel * (2 if o.affine else 1),
    "nn.LayerNorm": lambda o: o.numel,               # nn.LayerNorm has no `affine` attribute
    "nn.ReLU": lambda o: 2 * o.numel,                # module hook + patched F.relu
    "nn.GELU": lambda o: 2 * o.numel,                # module hook + patched F.gelu
    "nn.ReLU6": lambda o: o.numel,                   # hook only: ReLU6 calls F.hardtanh
    "nn.LeakyReLU": lambda o: o.numel,               # hook only: F.leaky_relu not patched
    "nn.SiLU": lambda o: o.numel,                    # patched F.silu only: no module hook
    "nn.Softmax": lambda o: o.numel,                 # patched F.softmax only
    "nn.MaxPool2d": lambda o: 2 * o.numel,           # hook on input + patched F.max_pool2d
    "nn.AvgPool2d": lambda o: 2 * o.numel,
    "nn.AdaptiveAvgPool2d": lambda o: 2 * o.numel,
    "nn.Upsample": lambda o: o.out_numel + o.numel * o.scale ** 2,  # hook + patched F.interpolate
    **dict.fromkeys(("torch.add", "torch.Tensor.add", "torch.mul"), left_aligned_numel),
    F_RELU: lambda o: o.numel, F_ADAPTIVE: lambda o: o.numel,      # patched functionals
}

PTFLOPS_ATEN: dict[str, Rule] = {
    **zeros(*(ALL_KINDS - {"nn.Conv2d", "nn.ConvTranspose2d", "nn.Linear"})),
    "nn.Conv2d": lambda o: fcm_conv(o) + bias_out(o),
    "nn.ConvTranspose2d": lambda o: fcm_conv(o) + bias_out(o),
    "nn.Linear": lambda o: linear_macs(o) + (o.out_numel if o.bias else 0),
}

FVCORE: dict[str, Rule] = {
    **zeros(*ZERO_KINDS, "nn.ReLU", "nn.ReLU6", "nn.SiLU", "nn.GELU", "nn.LeakyReLU", "nn.Softmax",
            "nn.MaxPool2d", "nn.AvgPool2d", "torch.add", "torch.Tensor.add", "torch.mul", F_RELU),
    "nn.Conv2d": fcm_conv, "nn.ConvTranspose2d": fcm_conv, "nn.Linear": linear_macs,
    F_ADAPTIVE: lambda o: o.numel,
    "nn.BatchNorm2d": lambda o: o.numel * (2 if o.affine else 1),   # eval-mode rule
    "nn.LayerNorm": lambda o: o.numel * (5 if o.affine else 4),
    "tv.LayerNorm2d": lambda o: o.numel * (5 if o.affine else 4),
    "nn.GroupNorm": lambda o: o.numel * (5 if o.affine else 4),
    "nn.AdaptiveAvgPool2d": lambda o: o.numel,
    "nn.Upsample": lambda o: o.out_numel * {"nearest": 1, "bilinear": 4}[o.mode],
}


def thop_adaptive(o: Op) -> int:
    """thop: int((∏(in_i / out_i) + 1) · out_numel), computed in float64 as thop does."""
    kernel = 1.0
    for h_in, h_out in zip(o.in_hw, o.out_hw, strict=True):
        kernel *= float(h_in) / float(h_out)
    return int((kernel + 1) * o.out_numel)


THOP: dict[str, Rule] = {
    **zeros(*ZERO_KINDS, "nn.ReLU", "nn.ReLU6", "nn.SiLU", "nn.GELU", "nn.LeakyReLU", "nn.MaxPool2d",
            "tv.LayerNorm2d", "nn.GroupNorm", "torch.add", "torch.Tensor.add", "torch.mul", F_RELU,
            F_ADAPTIVE),
    "nn.Conv2d": lambda o: o.out_numel * (o.cin // o.g) * o.k ** 2,
    "nn.ConvTranspose2d": lambda o: o.out_numel * (o.cin // o.g) * o.k ** 2,   # over the output
    "nn.Linear": lambda o: o.shape[-1] * o.out_numel,
    "nn.BatchNorm2d": lambda o: 2 * o.numel * (2 if o.affine else 1),
    "nn.LayerNorm": lambda o: 2 * o.numel * (2 if o.affine else 1),
    "nn.Softmax": lambda o: (o.numel // o.dim_size) * (3 * o.dim_size - 1),
    "nn.AvgPool2d": lambda o: o.out_numel,
    "nn.AdaptiveAvgPool2d": thop_adaptive,
    "nn.Upsample": lambda o: o.out_numel * {"nearest": 1, "bilinear": 11}[o.mode],
}
# module types thop has a rule for: only these count their parameters (profile.py:199-203)
THOP_HOOKED = {"nn.Conv2d", "nn.ConvTranspose2d", "nn.Linear", "nn.BatchNorm2d", "nn.LayerNorm",
               "nn.Softmax", "nn.ReLU", "nn.ReLU6", "nn.LeakyReLU", "nn.MaxPool2d", "nn.AvgPool2d",
               "nn.AdaptiveAvgPool2d", "nn.Dropout", "nn.Upsample"}


def torchinfo_rule(o: Op) -> int:
    """torchinfo: Σ over params named weight/bias: numel · (N·out positions if 'Conv' in the class
    name, else N)."""
    if o.kind in ("nn.Conv2d", "nn.ConvTranspose2d"):
        return o.params * prod(o.out_shape[1:])
    return o.params


TORCHINFO: dict[str, Rule] = dict.fromkeys(ALL_KINDS, torchinfo_rule)


def calflops_convT_macs(o: Op) -> int:
    """calflops 0.3.2: weight.shape[1] (= Cout/G) divided by groups again."""
    return o.k ** 2 * o.cin * ((o.cout // o.g) // o.g) * prod(o.in_hw)


def mac_rules(convT_macs: Rule) -> dict[str, Rule]:
    return {
        **zeros(*(ALL_KINDS - {"nn.Conv2d", "nn.ConvTranspose2d", "nn.Linear"})),
        "nn.Conv2d": fcm_conv, "nn.ConvTranspose2d": convT_macs, "nn.Linear": linear_macs,
    }


def flop_rules(macs: dict[str, Rule], convT_bias: Rule, upsample: Rule, elementwise: Rule) -> dict[str, Rule]:
    return {
        **zeros(*ZERO_KINDS, "nn.ReLU6"),
        "nn.Conv2d": lambda o: 2 * macs["nn.Conv2d"](o) + bias_out(o),
        "nn.ConvTranspose2d": lambda o: 2 * macs["nn.ConvTranspose2d"](o) + convT_bias(o),
        "nn.Linear": lambda o: 2 * linear_macs(o),
        "nn.BatchNorm2d": lambda o: o.numel * (2 if o.affine else 1),
        "nn.LayerNorm": lambda o: o.numel * (5 if o.affine else 4),
        "tv.LayerNorm2d": lambda o: o.numel * (5 if o.affine else 4),
        "nn.GroupNorm": lambda o: o.numel * (5 if o.affine else 4),
        **dict.fromkeys(("nn.ReLU", "nn.SiLU", "nn.GELU", "nn.LeakyReLU", "nn.Softmax", "nn.MaxPool2d",
                         "nn.AvgPool2d", "nn.AdaptiveAvgPool2d", F_RELU, F_ADAPTIVE), lambda o: o.numel),
        **dict.fromkeys(("torch.add", "torch.Tensor.add", "torch.mul"), elementwise),
        "nn.Upsample": upsample,
    }


CALFLOPS = mac_rules(calflops_convT_macs)
CALFLOPS_FLOPS = flop_rules(
    CALFLOPS,
    # bias over a *forward-conv* output size from the input, times weight.shape[1] = Cout/G
    lambda o: (o.cout // o.g) * prod(o.conv_hw()) if o.bias else 0,
    lambda o: o.numel,  # the scale-factor product is computed and thrown away
    left_aligned_numel,
)
DEEPSPEED = mac_rules(fcm_conv)
DEEPSPEED_FLOPS = flop_rules(DEEPSPEED, bias_out, lambda o: int(o.numel * o.scale ** 2),
                             lambda o: o.numel)  # the broadcast shape (torch.broadcast_shapes)

RULES: dict[str, dict[str, Rule]] = {
    "ptflops": PTFLOPS, "ptflops-aten": PTFLOPS_ATEN, "fvcore": FVCORE, "thop": THOP,
    "torchinfo": TORCHINFO, "calflops": CALFLOPS, "calflops-flops": CALFLOPS_FLOPS,
    "deepspeed": DEEPSPEED, "deepspeed-flops": DEEPSPEED_FLOPS,
}


def params(tool: str, model: Model) -> int:
    """The parameter count each tool reports: all of them, except thop (only modules with a rule)."""
    if tool == "thop":
        return sum(o.params for o in model.ops if o.kind in THOP_HOOKED)
    return sum(o.params for o in model.ops) + model.extra_params


def total(rules: dict[str, Rule], model: Model) -> int | float:
    value: int | float = 0
    for o in model.ops:
        if o.kind not in rules:
            raise KeyError(f"no rule for {o.kind}")
        value += rules[o.kind](o)
    return int(value) if float(value).is_integer() else value


# ---------------------------------------------------------------- the check

def check(fixture: Path) -> list[str]:
    data = json.loads(fixture.read_text())
    problems: list[str] = []
    missing = sorted(set(data["models"]) - set(MODELS))
    problems += [f"{name}: no op description in check_rules.MODELS" for name in missing]
    for tool, rules in RULES.items():
        uncovered = sorted(ALL_KINDS - rules.keys())
        if uncovered:
            problems.append(f"{tool}: no rule for {uncovered}")
    if problems:
        return problems
    for name, record in data["models"].items():
        model = MODELS[name]
        fcm = total(FLOP_COUNTER, model)
        if fcm != record["flop_counter"]["macs"]:
            problems.append(f"{name}: FlopCounterMode measured {record['flop_counter']['macs']}, "
                            f"shapes give {fcm}")
        if sum(o.params for o in model.ops) + model.extra_params != record["torch_params"]:
            problems.append(f"{name}: torch has {record['torch_params']} params, the description "
                            f"{sum(o.params for o in model.ops) + model.extra_params}")
        for tool, rules in RULES.items():
            got = record["tools"][tool]
            expected_error = model.errors.get(tool)
            if expected_error or "error" in got:
                if not (expected_error and got.get("error", "").startswith(expected_error)):
                    problems.append(f"{name} / {tool}: expected error {expected_error!r}, "
                                    f"got {got.get('error', got.get('value'))!r}")
                continue
            derived = total(rules, model)
            if derived != got["value"]:
                problems.append(f"{name} / {tool}: measured {got['value']}, rules give {derived}")
            if params(tool, model) != got["params"]:
                problems.append(f"{name} / {tool}: reports {got['params']} params, rules give "
                                f"{params(tool, model)}")
    return problems


def main(argv: list[str]) -> int:
    fixture = Path(argv[1]) if len(argv) > 1 else FIXTURE
    problems = check(fixture)
    for line in problems:
        print(line)
    n_models = len(json.loads(fixture.read_text())["models"])
    checks = n_models * (len(RULES) * 2 + 2)
    print(f"{n_models} models x {len(RULES)} tools: "
          + ("all rules agree with the measured totals and params" if not problems
             else f"{len(problems)} disagreements") + f" ({checks} comparisons)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

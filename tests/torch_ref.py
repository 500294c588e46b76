"""PyTorch as the reference: build a layer spec in torch, measure shape, params and MACs.

Used live by the tests when torch is installed, and by scripts/make_fixtures.py to write the
committed fixtures the suite checks everywhere else. Needs torch only when called.
"""

from __future__ import annotations

import random
from typing import Any

Spec = dict[str, Any]


def _axes(value: Any, rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def build(spec: Spec, rank: int, channels: int) -> Any:
    """The torch module for a convcalc layer spec (conv, transposed, maxpool, avgpool)."""
    import torch

    nn = torch.nn
    kind = spec["kind"]
    if kind == "conv":
        cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1]
        padding = spec.get("padding", 0)
        return cls(channels, spec["out"], _axes(spec["kernel"], rank),
                   stride=_axes(spec.get("stride", 1), rank),
                   padding=padding if isinstance(padding, str) else _axes(padding, rank),
                   dilation=_axes(spec.get("dilation", 1), rank), groups=spec.get("groups", 1),
                   bias=spec.get("bias", True))
    if kind == "transposed":
        cls = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[rank - 1]
        return cls(channels, spec["out"], _axes(spec["kernel"], rank),
                   stride=_axes(spec.get("stride", 1), rank),
                   padding=_axes(spec.get("padding", 0), rank),
                   output_padding=_axes(spec.get("output_padding", 0), rank),
                   dilation=_axes(spec.get("dilation", 1), rank), groups=spec.get("groups", 1),
                   bias=spec.get("bias", True))
    if kind == "maxpool":
        cls = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[rank - 1]
        stride = spec.get("stride")
        return cls(_axes(spec["kernel"], rank),
                   stride=None if stride is None else _axes(stride, rank),
                   padding=_axes(spec.get("padding", 0), rank),
                   dilation=_axes(spec.get("dilation", 1), rank),
                   ceil_mode=spec.get("ceil_mode", False))
    if kind == "avgpool":
        cls = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[rank - 1]
        stride = spec.get("stride")
        return cls(_axes(spec["kernel"], rank),
                   stride=None if stride is None else _axes(stride, rank),
                   padding=_axes(spec.get("padding", 0), rank),
                   ceil_mode=spec.get("ceil_mode", False))
    raise ValueError(f"no torch builder for {kind}")


def measure(spec: Spec, inp: dict[str, Any]) -> dict[str, Any]:
    """{"output": {...}, "params": n, "macs": n} as torch sees it, or {"error": "..."}."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    rank = len(inp["spatial"])
    try:
        module = build(spec, rank, inp["channels"])
        x = torch.zeros(1, inp["channels"], *inp["spatial"])
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = module(x)
    except (RuntimeError, ValueError) as e:
        return {"error": str(e).splitlines()[0][:160]}
    if y.numel() == 0:
        # ConvTranspose with groups > 1 skips PyTorch's own "output size too small" check and
        # returns an empty tensor where groups = 1 refuses the same layer; convcalc refuses both.
        return {"error": f"empty output {list(y.shape)}"}
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return {
        "output": {"channels": int(y.shape[1]), "spatial": [int(n) for n in y.shape[2:]]},
        "params": sum(p.numel() for p in module.parameters()),
        "macs": flops // 2,
    }


def random_case(rng: random.Random) -> tuple[Spec, dict[str, Any]]:
    """A random layer and input, biased towards the corners where tools disagree."""
    rank = rng.choice([1, 2, 2, 2, 3])
    small = rank == 3
    spatial = [rng.randint(1, 6 if small else 14) for _ in range(rank)]
    kind = rng.choice(["conv", "conv", "transposed", "transposed", "maxpool", "avgpool"])

    def axes(lo: int, hi: int) -> int | list[int]:
        if rng.random() < 0.6:
            return rng.randint(lo, hi)
        return [rng.randint(lo, hi) for _ in range(rank)]

    spec: Spec = {"kind": kind}
    if kind in ("conv", "transposed"):
        groups = rng.choice([1, 1, 2, 3, 4])
        cin = groups * rng.randint(1, 3) if rng.random() < 0.85 else rng.randint(1, 8)
        cout = groups * rng.randint(1, 3) if rng.random() < 0.85 else rng.randint(1, 8)
        spec.update(out=cout, kernel=axes(1, 4 if small else 5), groups=groups,
                    bias=rng.random() < 0.5)
        if rng.random() < 0.6:
            spec["stride"] = axes(1, 3)
        if rng.random() < 0.5:
            spec["dilation"] = axes(1, 3)
        if kind == "conv":
            r = rng.random()
            if r < 0.15:
                spec["padding"] = "same"
            elif r < 0.2:
                spec["padding"] = "valid"
            elif r < 0.7:
                spec["padding"] = axes(0, 3)
        else:
            if rng.random() < 0.6:
                spec["padding"] = axes(0, 3)
            if rng.random() < 0.6:
                spec["output_padding"] = axes(0, 2)
        inp = {"channels": cin, "spatial": spatial}
    else:
        spec["kernel"] = axes(1, 4)
        if rng.random() < 0.7:
            spec["stride"] = axes(1, 3)
        if rng.random() < 0.6:
            spec["padding"] = axes(0, 2)
        if kind == "maxpool" and rng.random() < 0.5:
            spec["dilation"] = axes(1, 3)
        if rng.random() < 0.5:
            spec["ceil_mode"] = True
        inp = {"channels": rng.randint(1, 4), "spatial": spatial}
    return spec, inp


# --- whole networks ----------------------------------------------------------------------------


def _module_for(spec: Any, in_shape: Any, *, avg_for_max: bool = False) -> Any:
    """A torch module for one convcalc layer model, given its input Shape."""
    import torch

    nn = torch.nn
    kind = spec.kind
    rank = len(in_shape.spatial)
    c = in_shape.channels
    conv_cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1] if rank else None

    def conv(cin: int, cout: int, kernel: Any, *, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1, bias: bool = True) -> Any:
        return conv_cls(cin, cout, _axes(kernel, rank), stride=_axes(stride, rank),
                        padding=padding if isinstance(padding, str) else _axes(padding, rank),
                        dilation=_axes(dilation, rank), groups=groups, bias=bias)

    if kind in ("conv", "grouped", "dilated"):
        return conv(c, spec.out, spec.kernel, stride=spec.stride, padding=spec.padding,
                    dilation=spec.dilation, groups=spec.groups, bias=spec.bias)
    if kind in ("pointwise", "pointwise_group"):
        return conv(c, spec.out, 1, stride=spec.stride, groups=spec.groups, bias=spec.bias)
    if kind == "depthwise":
        return conv(c, c * spec.multiplier, spec.kernel, stride=spec.stride,
                    padding=spec.padding, dilation=spec.dilation, groups=c, bias=spec.bias)
    if kind == "dwsep":
        mid = c * spec.multiplier
        return nn.Sequential(conv(c, mid, spec.kernel, stride=spec.stride, padding=spec.padding,
                                  dilation=spec.dilation, groups=c, bias=spec.bias),
                             conv(mid, spec.out, 1, bias=spec.bias))
    if kind in ("transposed", "maxpool", "avgpool"):
        data = spec.model_dump(exclude={"name"})
        if kind == "maxpool" and avg_for_max:
            data = {k: v for k, v in data.items() if k != "dilation"} | {"kind": "avgpool"}
            if spec.dilation not in (1, [1] * rank):
                return nn.MaxPool2d(1)  # not used in RF tests
        return build(data, rank, c)
    if kind in ("global_avgpool", "adaptive_avgpool"):
        size = 1 if kind == "global_avgpool" else _axes(spec.output_size, rank)
        return (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[rank - 1](size)
    if kind == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(in_shape.elements, spec.out,
                                                     bias=spec.bias))
    if kind == "flatten":
        return nn.Flatten()
    if kind == "batchnorm":
        return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[max(rank, 1) - 1](
            c, affine=spec.affine)
    if kind == "upsample":
        modes = {"nearest": "nearest", "linear": ("linear", "bilinear", "trilinear")[rank - 1],
                 "bilinear": "bilinear", "trilinear": "trilinear"}
        scale = tuple(float(s) for s in _axes(spec.scale, rank))
        return nn.Upsample(scale_factor=scale, mode=modes[spec.mode])
    if kind == "shuffle":
        return nn.ChannelShuffle(spec.groups)
    if kind == "octave":
        return _Octave(spec, in_shape)
    acts = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish,
            "hardsigmoid": nn.Hardsigmoid, "silu": nn.SiLU, "sigmoid": nn.Sigmoid,
            "gelu": nn.GELU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU,
            "dropout": nn.Dropout, "identity": nn.Identity}
    if kind in acts:
        return acts[kind]()
    if kind == "softmax":
        return nn.Softmax(dim=1)
    raise NotImplementedError(kind)


def _octave_class() -> Any:
    import torch

    nn = torch.nn
    from convcalc import formulas as F

    class Octave(nn.Module):  # type: ignore[misc]
        """Octave conv on one tensor: low channels pooled in, upsampled out (free ops)."""

        def __init__(self, spec: Any, in_shape: Any) -> None:
            super().__init__()
            rank = len(in_shape.spatial)
            self.h_in, self.l_in = F.octave_split(in_shape.channels, spec.alpha_in)
            self.h_out, self.l_out = F.octave_split(spec.out, spec.alpha_out)
            self.stride = spec.stride
            k, p = _axes(spec.kernel, rank), _axes(spec.padding, rank)

            def conv(a: int, b: int, bias: bool) -> Any:
                if a == 0 or b == 0:
                    return None
                return nn.Conv2d(a, b, k, padding=p, bias=spec.bias and bias)

            self.hh = conv(self.h_in, self.h_out, True)
            self.hl = conv(self.h_in, self.l_out, not self.l_in)
            self.lh = conv(self.l_in, self.h_out, False)
            self.ll = conv(self.l_in, self.l_out, True)
            self.pool = nn.AvgPool2d(2)
            self.up = nn.Upsample(scale_factor=2.0, mode="nearest")

        def forward(self, x: Any) -> Any:
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

    return Octave


def _Octave(spec: Any, in_shape: Any) -> Any:
    return _octave_class()(spec, in_shape)


def build_network(net: Any, report: Any, *, avg_for_max: bool = False) -> tuple[Any, list[Any]]:
    """A torch module mirroring a parsed convcalc Network, and (row, module) for every leaf in
    row order, to compare per-layer shapes with hooks. Shapes are threaded like the engine does;
    torch itself checks that every layer accepts what it is given."""
    import torch

    from convcalc.network import BranchesNode, LayerNode, ResidualNode, SeqNode
    from convcalc.shapes import Shape

    nn = torch.nn
    rows = list(report.rows)
    position = 0
    leaves: list[Any] = []

    class Seq(nn.Module):  # type: ignore[misc]
        def __init__(self, items: list[Any]) -> None:
            super().__init__()
            self.items = nn.ModuleList(items)

        def forward(self, x: Any) -> Any:
            for m in self.items:
                x = m(x)
            return x

    class Residual(nn.Module):  # type: ignore[misc]
        def __init__(self, body: Any, shortcut: Any) -> None:
            super().__init__()
            self.body, self.shortcut = body, shortcut

        def forward(self, x: Any) -> Any:
            return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)

    class Branches(nn.Module):  # type: ignore[misc]
        def __init__(self, paths: list[Any], merge: str, sizes: list[int] | None) -> None:
            super().__init__()
            self.paths, self.merge, self.sizes = nn.ModuleList(paths), merge, sizes

        def forward(self, x: Any) -> Any:
            inputs = torch.split(x, self.sizes, dim=1) if self.sizes else [x] * len(self.paths)
            outs = [p(i) for p, i in zip(self.paths, inputs, strict=True)]
            if self.merge == "concat":
                return torch.cat(outs, dim=1)
            total = outs[0]
            for o in outs[1:]:
                total = total + o
            return total

    def leaf() -> tuple[Any, Any]:
        nonlocal position
        row = rows[position]
        position += 1
        module = _module_for(row.spec, row.report.input, avg_for_max=avg_for_max)
        leaves.append((row, module))
        return module, row.report.output

    def make(node: Any, shape: Any) -> tuple[Any, Any]:
        if isinstance(node, LayerNode):
            return leaf()
        if isinstance(node, SeqNode):
            items = []
            for child in node.children:
                module, shape = make(child, shape)
                items.append(module)
            return Seq(items), shape
        if isinstance(node, ResidualNode):
            body, out = make(node.body, shape)
            if node.shortcut is None:
                return Residual(body, None), out
            if node.shortcut == "auto":
                if out == shape:
                    return Residual(body, None), out
                conv, _ = leaf()
                bn, _ = leaf()
                return Residual(body, Seq([conv, bn])), out
            short, _ = make(node.shortcut, shape)
            return Residual(body, short), out
        if isinstance(node, BranchesNode):
            made = [make(p, shape) for p in node.paths]
            outs = [m[1] for m in made]
            merged = (Shape(sum(o.channels for o in outs), outs[0].spatial)
                      if node.merge == "concat" else outs[0])
            return Branches([m[0] for m in made], node.merge, None), merged
        n = len(node.paths)
        sizes = list(node.sizes) if node.sizes else [shape.channels // n] * n
        made = [make(p, shape.with_channels(c)) for p, c in zip(node.paths, sizes, strict=True)]
        outs = [m[1] for m in made]
        return (Branches([m[0] for m in made], "concat", sizes),
                Shape(sum(o.channels for o in outs), outs[0].spatial))

    model, _ = make(net.root, report.input)
    assert position == len(rows), "every row becomes a torch module"
    return model, leaves


def measure_network(model: Any, leaves: list[Any], shape: Any) -> dict[str, Any]:
    """Torch's view of a network: per-layer output shapes, total params and MACs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    seen: dict[int, list[int]] = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: seen.__setitem__(k, list(o.shape)))
             for k, (_, m) in enumerate(leaves)]
    model.eval()
    x = torch.zeros(1, shape.channels, *shape.spatial)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    for h in hooks:
        h.remove()
    flops = counter.get_total_flops()
    return {"output": list(y.shape), "params": sum(p.numel() for p in model.parameters()),
            "macs": flops // 2, "layer_shapes": [seen.get(k) for k in range(len(leaves))]}


def gradient_supports(net: Any, report: Any, positions: list[list[int]],
                      dust: float = 1e-9) -> list[Any]:
    """For each output position (one index per spatial axis), the [lo, hi] per axis of the input
    positions whose gradient is non-zero: PyTorch's view of the receptive field.

    Weights are positive (1/fan-in), activations become identities and max-pools average pools,
    so no gradient vanishes by accident: the support is exactly what the unit depends on.
    """
    import torch

    model, _leaves = build_network(net, report, avg_for_max=True)
    acts = (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Tanh, torch.nn.Sigmoid, torch.nn.Hardswish,
            torch.nn.SiLU, torch.nn.GELU, torch.nn.LeakyReLU, torch.nn.Hardsigmoid)

    def neutral(module: Any) -> None:
        for name, child in module.named_children():
            if isinstance(child, acts):
                setattr(module, name, torch.nn.Identity())
            else:
                neutral(child)

    neutral(model)
    with torch.no_grad():
        for p_name, p in model.named_parameters():
            if p_name.endswith("bias"):
                p.zero_()
            elif p.dim() > 1:
                p.fill_(1.0 / p[0].numel())
    model.eval()
    model.double()
    shape = report.input
    out: list[Any] = []
    for pos in positions:
        x = torch.ones(1, shape.channels, *shape.spatial, dtype=torch.float64,
                       requires_grad=True)
        y = model(x)
        y[(0, 0, *pos)].backward()
        grad = x.grad[0].abs().sum(dim=0)
        # float dust: bilinear ×3 gives a source tap weight of ~1e-16 where the exact weight is 0
        grad = torch.where(grad > grad.max() * dust, grad, torch.zeros_like(grad))
        support = []
        for axis in range(len(shape.spatial)):
            others = [d for d in range(grad.dim()) if d != axis]
            mask = grad.amax(dim=others) > 0 if others else grad > 0
            idx = torch.nonzero(mask).flatten()
            support.append([int(idx.min()), int(idx.max())] if len(idx) else None)
        out.append(support)
    return out


def random_stack(rng: random.Random) -> dict[str, Any]:
    """A random 1-D or 2-D stack of conv, dilated, transposed, pooling and upsampling layers, as a
    network mapping, on an input long enough to keep the tested units away from the borders."""
    rank = rng.choice([1, 1, 2])
    length = 160 if rank == 1 else 48
    layers: list[Any] = []
    size = length
    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(["conv", "conv", "dilated", "transposed", "transposed", "avgpool",
                           "maxpool", "upsample"])
        k = rng.randint(1, 5)
        if kind == "conv":
            s = rng.randint(1, 3)
            layer = {"conv": {"out": 2, "kernel": k, "stride": s, "padding": rng.randint(0, 2)}}
        elif kind == "dilated":
            layer = {"dilated": {"out": 2, "kernel": max(k, 2), "dilation": rng.randint(2, 3),
                                 "padding": rng.randint(0, 3)}}
        elif kind == "transposed":
            s = rng.randint(1, 3)
            d = rng.choice([1, 1, 2])
            layer = {"transposed": {"out": 2, "kernel": k, "stride": s, "dilation": d,
                                    "padding": rng.randint(0, max(0, (k - 1) * d // 2))}}
        elif kind in ("avgpool", "maxpool"):
            k = rng.randint(2, 4)
            layer = {kind: {"kernel": k, "stride": rng.randint(1, k),
                            "padding": rng.randint(0, k // 2)}}
        else:
            layer = {"upsample": {"scale": rng.randint(2, 3),
                                  "mode": rng.choice(["nearest", "bilinear" if rank == 2
                                                      else "linear"])}}
        layers.append(layer)
        size = max(size, 1)
    return {"name": "random", "input": {"channels": 1, "spatial": [length] * rank},
            "layers": layers}


def interior_positions(report: Any, count: int = 4) -> list[list[int]]:
    """Output positions (the same index on every axis) whose field lies at least one field-width
    inside the input on every axis, spread over the output: there no layer's padding cuts what
    the unit sees, and the border-free receptive field is what PyTorch's gradient shows."""
    last = report.rows[-1].receptive_field
    out = report.output.spatial
    size = max(a.size for a in last)
    good = []
    for p in range(min(out)):
        ok = True
        for axis, length in enumerate(report.input.spatial):
            iv = last[axis].interval(p)
            if iv is None or iv[0] < size or iv[1] > length - 1 - size:
                ok = False
        if ok:
            good.append(p)
    step = max(1, len(good) // count)
    return [[p] * len(out) for p in good[::step][:count]]


def stack_cases(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` random stacks with their interior positions and PyTorch's gradient supports."""
    import convcalc
    from convcalc.network import load_network

    cases: list[dict[str, Any]] = []
    while len(cases) < count:
        spec = random_stack(rng)
        try:
            report = convcalc.analyze_network(spec)
        except convcalc.ConvcalcError:
            continue
        positions = interior_positions(report)
        if positions:
            supports = gradient_supports(load_network(spec), report, positions)
            cases.append({"spec": spec, "positions": positions, "supports": supports})
    return cases

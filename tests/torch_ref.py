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


def build_network(net: Any, report: Any, *, avg_for_max: bool = False) -> tuple[Any, list[Any]]:
    """The network as `convcalc export` writes it in torch, and (row, module) for every row, to
    compare per-layer shapes with hooks. `avg_for_max` turns max-pools into average pools of
    the same geometry (for gradient supports, where max would pick one input)."""
    import torch

    from convcalc.bridges.pytorch_export import export_pytorch

    del net  # the report carries the expanded network
    namespace: dict[str, Any] = {}
    exec(compile(export_pytorch(report), f"<export {report.name}>", "exec"), namespace)
    model = namespace["build"]()
    if avg_for_max:
        nn = torch.nn
        avg = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}
        for name, module in list(model.named_modules()):
            if type(module) in avg:
                parent, _, child = name.rpartition(".")
                pooled = avg[type(module)](module.kernel_size, module.stride, module.padding,
                                           ceil_mode=module.ceil_mode)
                model.get_submodule(parent).add_module(child, pooled)
    leaves = [(row, model.get_submodule(row.path)) for row in report.rows]
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


def row_supports(net: Any, report: Any, rows: list[int], dust: float = 1e-9) -> list[Any]:
    """For each row index, the [lo, hi] per axis of the input pixels on which the centre
    position of that row's output depends, over all its channels (convcalc's field is the
    union over channels: concat and octave outputs see different fields per channel):
    PyTorch's gradient, clipped to the image as gradients are. Weights and input are random
    and positive (a fixed seed), biases zero, activations identities, max-pools average pools:
    nothing cancels or vanishes by accident (a LayerNorm on a constant input, or uniform
    weights after it, would). `dust` drops float noise below that share of the largest
    gradient (bilinear upsampling's exact zeros come out as 1e-17); 0 keeps everything."""
    import torch

    model, leaves = build_network(net, report, avg_for_max=True)
    acts = (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Tanh, torch.nn.Hardswish, torch.nn.SiLU,
            torch.nn.GELU, torch.nn.LeakyReLU)
    gates = (torch.nn.Sigmoid, torch.nn.Hardsigmoid)
    for name, module in list(model.named_modules()):
        parent, _, child = name.rpartition(".")
        if isinstance(module, acts):
            model.get_submodule(parent).add_module(child, torch.nn.Identity())
        elif isinstance(module, gates):
            # a gate stays bounded (as the identity, gated trunks square at every block and
            # overflow) and strictly increasing (a hard sigmoid's flat ends have no gradient)
            model.get_submodule(parent).add_module(child, torch.nn.Sigmoid())
    generator = torch.Generator().manual_seed(20261201)
    with torch.no_grad():
        for p_name, p in model.named_parameters():
            if p_name.endswith("bias"):
                p.zero_()
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_((torch.rand(p.shape, generator=generator) + 0.5) / fan_in)
    model.eval()
    model.double()
    shape = report.input
    x0 = torch.rand(1, shape.channels, *shape.spatial, generator=generator,
                    dtype=torch.float64) + 0.5
    out: list[Any] = []
    for index in rows:
        row, _ = leaves[index]
        module = model.get_submodule(row.path)
        seen: list[Any] = []
        hook = module.register_forward_hook(lambda mod, i, o, seen=seen: seen.append(o))
        x = x0.clone().requires_grad_(True)
        model(x)
        hook.remove()
        centre = tuple(n // 2 for n in seen[0].shape[2:])
        seen[0][(0, slice(None), *centre)].sum().backward()
        grad = x.grad[0].abs().sum(dim=0)
        assert bool(torch.isfinite(grad).all()), f"{row.path}: the gradient is not finite"
        grad = torch.where(grad > grad.max() * dust, grad, torch.zeros_like(grad))
        support = []
        for axis in range(len(shape.spatial)):
            others = [d for d in range(grad.dim()) if d != axis]
            mask = grad.amax(dim=others) > 0 if others else grad > 0
            idx = torch.nonzero(mask).flatten()
            support.append([int(idx.min()), int(idx.max())] if len(idx) else None)
        out.append({"row": row.path, "position": list(centre), "support": support})
    return out


def spread_rows(report: Any, count: int = 8) -> list[int]:
    """Up to `count` row indices with a spatial output larger than 1×…×1, spread over the
    network, the last one included. (A 1×…×1 map's unit sees everything the network reads,
    and which border pixels a strided layer never reads is a border effect the field leaves
    out: squeezenet's 3×3 stride-2 stem never reads pixel 223.)"""
    spatial = [i for i, r in enumerate(report.rows) if any(n > 1 for n in r.report.output.spatial)]
    if not spatial:
        return []
    step = max(1, len(spatial) // count)
    chosen = spatial[::step][:count - 1]
    return sorted({*chosen, spatial[-1]})


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

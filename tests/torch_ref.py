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

"""convcalc's other-ops definitions applied to what torch really runs (the check's reference).

The exported network runs once under a TorchDispatchMode that records every aten call with its
arguments and result: which norms, activations, pools, upsamplings, adds and multiplies run, how
often, and on which shapes (broadcasts included) is torch's, not convcalc's bookkeeping. The
definitions (docs: convcalc/conventions/other_ops.py) are then applied to those calls. Imports
torch only inside the function.
"""

from __future__ import annotations

import weakref
from math import ceil, floor, prod
from typing import Any

ACTIVATIONS = {"relu", "hardtanh", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
               "leaky_relu", "_softmax"}
BATCH_NORM = {"_native_batch_norm_legit_no_training", "native_batch_norm",
              "_native_batch_norm_legit"}
IGNORED = {"convolution", "addmm", "mm", "view", "_unsafe_view", "permute", "clone", "t",
           "slice", "cat", "split", "split_with_sizes", "channel_shuffle", "native_channel_shuffle",
           "detach", "alias", "expand", "copy_", "empty", "transpose", "reshape", "unsqueeze",
           "squeeze", "_to_copy", "lift_fresh", "contiguous", "flatten", "native_dropout", "dropout",
           "pixel_shuffle", "as_strided", "movedim", "new_empty", "bernoulli_", "fill_", "zeros",
           "_reshape_alias", "select", "unbind", "chunk", "max_pool2d", "squeeze_",
           "constant_pad_nd", "as_strided_", "bmm", "roll", "index"}


def _bins(n_in: int, n_out: int) -> int:
    """PyTorch's adaptive pooling: bin i spans floor(i·L/O) .. ceil((i+1)·L/O)."""
    return sum(ceil((i + 1) * n_in / n_out) - floor(i * n_in / n_out) for i in range(n_out))


def other_ops(model: Any, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Other ops by category of one forward pass of `model` on a batch of one."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    calls: list[tuple[str, tuple[Any, ...], Any]] = []
    # work on the data only: a call counts when one of its tensors derives from the input (a
    # shifted-window attention builds its mask from constants each forward: not counted)
    data: dict[int, weakref.ref[Any]] = {}

    def is_data(value: Any) -> bool:
        found = data.get(id(value))
        return found is not None and found() is value

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            flat = [*args, *[a for v in args if isinstance(v, list | tuple) for a in v]]
            if any(is_data(a) for a in flat):
                for o in out if isinstance(out, tuple | list) else (out,):
                    if isinstance(o, torch.Tensor):
                        data[id(o)] = weakref.ref(o)
                calls.append((func.overloadpacket.__name__, tuple(args), out))
            return out

    model.eval()
    x = torch.rand(1, *input_shape)
    data[id(x)] = weakref.ref(x)
    with torch.no_grad(), Record():
        model(x)
    by = dict.fromkeys(("normalization", "activation", "pooling", "add", "multiply", "upsample"), 0)
    unknown: set[str] = set()
    for name, args, out in calls:
        first = out[0] if isinstance(out, tuple) else out
        if name in BATCH_NORM:
            by["normalization"] += 2 * args[0].numel()
        elif name in ("native_layer_norm", "native_group_norm"):
            # native_layer_norm(x, shape, weight, bias, eps); native_group_norm(x, weight, bias, …)
            weight, bias = args[2:4] if name == "native_layer_norm" else args[1:3]
            by["normalization"] += args[0].numel() * (4 + (weight is not None) + (bias is not None))
        elif name in ACTIVATIONS:
            by["activation"] += first.numel()
        elif name.startswith("max_pool") and name.endswith("with_indices"):
            by["pooling"] += (prod(args[1]) - 1) * first.numel()
        elif name in ("avg_pool2d", "avg_pool3d"):
            by["pooling"] += prod(args[1]) * first.numel()
        elif name == "mean":
            by["pooling"] += args[0].numel()
        elif name.startswith("_adaptive_avg_pool"):
            x = args[0]
            total = x.shape[1]
            for n_in, n_out in zip(x.shape[2:], first.shape[2:], strict=True):
                total *= _bins(n_in, n_out)
            by["pooling"] += total
        elif name.startswith("upsample_"):
            if "nearest" not in name:
                by["upsample"] += (2 ** (first.dim() - 1) - 1) * first.numel()
        elif name == "linalg_vector_norm":  # F.normalize (Swin V2's q, k): a square, an add
            by["normalization"] += 2 * args[0].numel()
        elif name in ("clamp_min", "div"):  # … its clamp_min(ε) per row, the division
            by["normalization"] += first.numel()
        elif name == "add":
            by["add"] += first.numel()
        elif name == "mul":
            by["multiply"] += first.numel()
        elif name not in IGNORED:
            unknown.add(name)
    if unknown:
        raise AssertionError(f"aten calls without an other-ops definition here: {sorted(unknown)}")
    return by

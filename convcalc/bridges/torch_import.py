"""Read a PyTorch module into the op graph (convcalc.bridges.graph), by torch.fx tracing.

`module:factory` names a callable that returns an `nn.Module` (`torchvision.models:resnet50`).
The module is traced symbolically (torch.fx, torchvision's StochasticDepth and LayerNorm2d kept
whole: `torch_trace`), run once on a zero tensor of the given input shape (batch 1, eval mode,
no gradients) to learn every tensor's shape, and each traced call becomes the ONNX-style op it
is (`nn.Conv2d` → Conv, `torch.cat` → Concat, `x.permute` → Transpose, …: `torch_reader`).
Parameters are read for their shapes only. The user's torch is imported; convcalc never
depends on it.
"""

from __future__ import annotations

import contextlib
import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from convcalc.bridges.graph import Graph
from convcalc.bridges.torch_leaves import is_leaf as is_attention_leaf
from convcalc.bridges.torch_reader import _Reader
from convcalc.bridges.torch_trace import (
    _NO_TORCH,
    _first_line,
    _is_channel_shuffle,
    _is_layer_norm_2d,
    _is_stochastic_depth,
    _is_torch_layer,
    _propagate,
    _restore,
    _snake,
    _split_target,
    _stand_ins,
    build_model,
    load_factory,
)
from convcalc.errors import SpecError
from convcalc.shapes import Shape

__all__ = ["build_model", "import_torch", "load_factory", "load_torch"]


def load_torch(target: str | Callable[[], Any] | Any, input: Shape) -> Graph:
    """The op graph of a torch module (or of what a factory returns) on `input` (H×W×C)."""
    if isinstance(target, str):
        _split_target(target)
    try:
        import torch
        import torch.fx
    except ImportError:
        raise SpecError(_NO_TORCH) from None

    # the user's code may print (at import, in the factory, in forward): never into the YAML
    # that `convcalc import` writes on standard output
    with contextlib.redirect_stdout(sys.stderr):
        model = target if isinstance(target, torch.nn.Module) else build_model(target)
        model = model.eval()
        label = target if isinstance(target, str) else type(model).__name__
        return _trace(model, label, input)


def _trace(model: Any, label: str, input: Shape) -> Graph:
    import torch
    import torch.fx

    def is_leaf_module(self: Any, m: Any, qualname: str) -> bool:
        if is_attention_leaf(m):
            return True
        if _is_stochastic_depth(m) or _is_layer_norm_2d(m) or _is_channel_shuffle(m) or \
                _is_torch_layer(m):
            return True
        return bool(torch.fx.Tracer.is_leaf_module(self, m, qualname))

    # made by type(), not a class statement: without torch installed, torch.fx.Tracer is Any to
    # the type checker, and mypy --strict refuses a class statement that subclasses Any
    tracer_class = type("Tracer", (torch.fx.Tracer,), {"is_leaf_module": is_leaf_module})
    tracer = tracer_class()
    if tracer.is_leaf_module(model, ""):
        # a bare layer (nn.Conv2d): a network of that one layer, named after its class
        model = torch.nn.Sequential(OrderedDict([(_snake(type(model).__name__), model)]))
    renamed: list[tuple[Any, str, str]] = []
    try:
        try:
            traced = tracer.trace(model)
            gm = torch.fx.GraphModule(tracer.root, traced)
        except Exception:
            # fx writes forward as Python: a submodule named with a quote, a backslash or a
            # keyword breaks it. Once more with stand-in names (the first error if it still fails)
            renamed = _stand_ins(model)
            if not renamed:
                raise
            try:
                tracer = tracer_class()
                traced = tracer.trace(model)
                gm = torch.fx.GraphModule(tracer.root, traced)
            except Exception:
                _restore(renamed)
                renamed = []
                tracer = tracer_class()
                tracer.trace(model)  # raises the first error again, with the model's names
                raise
    except torch.fx.proxy.TraceError as e:
        raise SpecError(f"--torch {label}: torch.fx cannot trace it ({_first_line(e)}); a "
                        "forward that branches on tensor values cannot be written as a spec")\
            from None
    except Exception as e:  # the user's forward ran under tracing: its error, in one line
        raise SpecError(f"--torch {label}: torch.fx cannot trace it: {type(e).__name__}: "
                        f"{_first_line(e)}") from None
    finally:
        _restore(renamed)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise SpecError(f"--torch {label}: forward takes {len(placeholders)} inputs; convcalc "
                        "reads models with one")
    try:
        _propagate(gm, (1, input.channels, *input.spatial))
    except Exception as e:  # the user's forward, run on fake tensors: its error, in one line
        raise SpecError(f"--torch {label}: the model does not run on input "
                        f"{input.channels_last()} (batch 1): {type(e).__name__}: "
                        f"{_first_line(e)}") from None
    graph = _Reader(gm, label).read()
    if renamed:
        back = {stand: original for _, stand, original in renamed}

        def path(parts: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(back.get(p, p) for p in parts)

        for node in graph.nodes:
            node.scope = path(node.scope)
            node.name = ".".join(path(tuple(node.name.split("."))))
        graph.classes = {path(k): v for k, v in graph.classes.items()}
    return graph




def import_torch(target: str | Callable[[], Any] | Any, input: Shape, *,
                 strict: bool = False) -> Any:
    """The spec a user would write for a torch module (a `to_spec.Imported`)."""
    from convcalc.bridges.to_spec import build_spec

    source = target if isinstance(target, str) else None
    return build_spec(load_torch(target, input), strict=strict, source=source)

"""Load a torch model and give torch.fx what it needs to trace it: the leaf policy and shapes.

Takes: `module:factory` (or `path/file.py:factory`), or the callable itself. Gives: the model
in eval mode (`load_factory`, `build_model`); the modules traced as one call each
(`_is_stochastic_depth`, `_is_layer_norm_2d`, `_is_channel_shuffle`); stand-in names for
submodules fx cannot write as code and their restoration (`_stand_ins`, `_restore`); every fx
node's output shape from one run on fake tensors (`_propagate`). The user's torch is imported;
convcalc never depends on it.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convcalc.errors import SpecError

_NO_TORCH = ("PyTorch is not installed (convcalc needs it only for --torch; install "
             "torch==2.13.0)")

# Traced as one call each (their forward is an implementation detail, and LayerNorm2d's may
# branch on the input's rank): StochasticDepth (torchvision's or one like it) and LayerNorm2d.


def load_factory(target: str) -> Callable[[], Any]:
    """The callable that `package.module:factory` names (found from the current directory too,
    as `python -m` finds it), or `path/to/file.py:factory`."""
    module_name, attr = _split_target(target)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SpecError(_NO_TORCH) from None
    try:
        module = _import(module_name)
    except SpecError:
        raise
    except Exception as e:  # the user's module: any error importing it is theirs to see
        raise SpecError(f"--torch {target}: cannot import {module_name}: "
                        f"{type(e).__name__}: {_first_line(e)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SpecError(f"--torch {target}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"--torch {target}: {attr} is not callable")
    return obj  # type: ignore[no-any-return]


def _split_target(target: str) -> tuple[str, str]:
    """`package.module:factory` as (module, factory); checked before torch is imported, so a
    typo is named as such whether torch is installed or not."""
    module_name, colon, attr = target.rpartition(":")
    if not colon or not module_name or not attr:
        raise SpecError(f"--torch {target!r}: write package.module:factory (a callable that "
                        "returns an nn.Module), e.g. torchvision.models:resnet50, or "
                        "file.py:factory")
    return module_name, attr


def _import(module_name: str) -> Any:
    """A module by dotted name (the current directory first on the path) or a .py file."""
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise SpecError(f"--torch {module_name}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise SpecError(f"--torch {module_name}: cannot load it as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(path.stem, module)
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(module_name)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else "")[:300]


def build_model(target: str | Callable[[], Any]) -> Any:
    """The nn.Module the factory returns, in eval mode."""
    import torch

    factory = load_factory(target) if isinstance(target, str) else target
    label = target if isinstance(target, str) else getattr(target, "__name__", "factory")
    try:
        model = factory()
    except Exception as e:  # the user's factory raised: say what, in one line
        raise SpecError(f"--torch {label}: the factory raised {type(e).__name__}: "
                        f"{_first_line(e)}") from None
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"--torch {label}: the factory returned {type(model).__name__}, not an "
                        "nn.Module")
    return model.eval()


_FX_SAFE = re.compile(r"[A-Za-z0-9_]+")


def _stand_ins(model: Any) -> list[tuple[Any, str, str]]:
    """Give every submodule whose name torch.fx may not write as code (a quote, a backslash, a
    line break, a keyword: fx's generated forward is Python) a stand-in name, in place, for the
    trace; (parent, stand-in, original) for each, to put the names back (`_restore`) and to
    read the graph with the model's own names."""
    import keyword

    renamed: list[tuple[Any, str, str]] = []
    for _, parent in list(model.named_modules(remove_duplicate=False)):
        names = list(parent._modules)
        if all(_FX_SAFE.fullmatch(n) and not keyword.iskeyword(n) for n in names):
            continue
        items = list(parent._modules.items())
        parent._modules.clear()
        for name, child in items:
            key = name
            if not (_FX_SAFE.fullmatch(name) and not keyword.iskeyword(name)):
                key = f"convcalc_stand_in_{len(renamed)}"
                while key in names:
                    key += "_"
                renamed.append((parent, key, name))
            parent._modules[key] = child
    return renamed


def _restore(renamed: list[tuple[Any, str, str]]) -> None:
    for parent in {id(p): p for p, _, _ in renamed}.values():
        back = {stand: original for p, stand, original in renamed if p is parent}
        items = list(parent._modules.items())
        parent._modules.clear()
        for name, child in items:
            parent._modules[back.get(name, name)] = child


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"\W+", "_", s).strip("_").lower() or "layer"


def _propagate(gm: Any, shape: tuple[int, ...]) -> None:
    """Every node's output shape in `node.meta["tensor_meta"]` (a tensor or a tuple of them),
    from one run on fake tensors: shapes without arithmetic, the weights used as they are."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    def run_node(self: Any, n: Any) -> Any:
        result = torch.fx.Interpreter.run_node(self, n)
        if isinstance(result, torch.Tensor):
            n.meta["tensor_meta"] = result
        elif isinstance(result, tuple | list) and result and \
                all(isinstance(r, torch.Tensor) for r in result):
            n.meta["tensor_meta"] = tuple(result)
        return result

    # made by type() for the type checker's sake, as load_torch's Tracer
    shapes = type("Shapes", (torch.fx.Interpreter,), {"run_node": run_node})
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    # a forward that fails on fake tensors is reported in one line (the caller's); torch would
    # also log the traceback of the failing meta kernel on stderr
    log = logging.getLogger("torch._subclasses.fake_tensor")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        with torch.no_grad(), mode:
            shapes(gm).run(torch.zeros(shape))
    finally:
        log.setLevel(level)


def _is_stochastic_depth(m: Any) -> bool:
    """torchvision's StochasticDepth or one like it (a `convcalc export`'s): drop rate p, mode."""
    return type(m).__name__ == "StochasticDepth" and hasattr(m, "p") and hasattr(m, "mode")


def _is_channel_shuffle(m: Any) -> bool:
    """nn.ChannelShuffle or a subclass (a `convcalc export`'s writes it as reshape/transpose)."""
    import torch

    return isinstance(m, torch.nn.ChannelShuffle)


def _is_layer_norm_2d(m: Any) -> bool:
    """A LayerNorm over the channels of an N×C×… tensor: torchvision's, timm's, a `convcalc
    export`'s (an nn.LayerNorm subclass called LayerNorm2d whose forward moves the channels
    last and back)."""
    import torch

    return isinstance(m, torch.nn.LayerNorm) and type(m).__name__ == "LayerNorm2d"



def _is_torch_layer(m: Any) -> bool:
    """A module that is (or subclasses) a torch layer convcalc reads as that layer: conv (1/2/3-D,
    transposed), linear, norms, pooling, activations, dropout, upsample. A subclass (torchvision's
    Conv3DSimple is an nn.Conv3d) is traced as one call and read as its torch base, whatever its
    own forward does; its real output shape still comes from running it, so a forward that
    changes the shape is caught by the import's shape check, never counted wrong. A subclass
    with modules of its own is traced through (its children are layers of their own)."""
    import torch

    nn = torch.nn
    layers = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm,
              nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm,
              nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
              nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd,
              nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh,
              nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Softmax, nn.modules.dropout._DropoutNd,
              nn.Upsample, nn.Identity, nn.Flatten)
    return isinstance(m, layers) and next(iter(m.children()), None) is None

"""Read a PyTorch module into the op graph (convcalc.bridges.graph), by torch.fx tracing.

`module:factory` names a callable that returns an `nn.Module` (`torchvision.models:resnet50`).
The module is traced symbolically (torch.fx, torchvision's StochasticDepth and LayerNorm2d kept
whole), run once on a zero tensor of the given input shape (batch 1, eval mode, no gradients)
to learn every tensor's shape, and each traced call becomes the ONNX-style op it is
(`nn.Conv2d` → Conv, `torch.cat` → Concat, `x.permute` → Transpose, …). Parameters are read for
their shapes only. The user's torch is imported; convcalc never depends on it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import operator
import os
import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convcalc.bridges.graph import Const, Dims, Graph, Node
from convcalc.errors import SpecError
from convcalc.shapes import Shape

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
        if _is_stochastic_depth(m) or _is_layer_norm_2d(m) or _is_channel_shuffle(m):
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
    with torch.no_grad(), mode:
        shapes(gm).run(torch.zeros(shape))


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


def _form(node: Any) -> str:
    """How forward calls an fx node: `module`, `function` (one of torch.nn.functional's, the
    attributes peer tools patch) or `method` (a tensor method or another torch function)."""
    import torch

    if node.op == "call_module":
        return "module"
    target = node.target
    name = getattr(target, "__name__", None)
    if node.op == "call_function" and name and \
            getattr(torch.nn.functional, name, None) is target:
        return "function"
    return "method"


def _meta_shape(node: Any) -> Dims | None:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    return tuple(int(d) for d in meta.shape)


def _pair(value: Any, rank: int) -> list[int]:
    if isinstance(value, int):
        return [value] * rank
    return [int(v) for v in value]


class _Reader:
    def __init__(self, gm: Any, label: str) -> None:
        self.gm = gm
        self.label = label
        self.modules = dict(gm.named_modules())
        self.nodes: list[Node] = []
        self.shapes: dict[str, Dims] = {}
        self.constants: dict[str, Const] = {}
        self.classes: dict[tuple[str, ...], str] = {}
        self.tensor: dict[str, str] = {}  # fx node name → tensor name
        self.counter = 0

    def read(self) -> Graph:
        graph_input = ""
        output = ""
        notes: list[str] = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                graph_input = n.name
                self.tensor[n.name] = n.name
                self.shapes[n.name] = _meta_shape(n) or ()
            elif n.op == "get_attr":
                value = _attr(self.gm, n.target)
                self.constant(n.name, value)
            elif n.op == "output":
                result = n.args[0]
                while isinstance(result, tuple | list) and result:
                    if len(result) > 1:
                        notes.append("forward returns several tensors; convcalc follows the "
                                     "first")
                    result = result[0]
                if isinstance(result, dict):
                    result = next(iter(result.values()))
                output = self.ref(result)
            else:
                self.record(n)
                self.visit(n)
        name = type(self.gm).__name__ if self.label is None else self.label
        short = str(name).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        return Graph(short, self.nodes, graph_input, output, self.shapes, self.constants,
                     notes, self.classes)

    def record(self, n: Any) -> None:
        for path, cls in n.meta.get("nn_module_stack", {}).values():
            key = tuple(str(path).split(".")) if path else ()
            self.classes.setdefault(key, getattr(cls, "__name__", str(cls)))

    # -- tensors and constants

    def constant(self, name: str, value: Any) -> str:
        import torch

        if isinstance(value, torch.Tensor):
            values = None
            if value.numel() <= 64:
                values = tuple(v.item() for v in value.detach().reshape(-1))
            self.constants[name] = Const(tuple(int(d) for d in value.shape), values)
        else:
            self.constants[name] = Const((), (value,))
        self.tensor[name] = name
        return name

    def fresh(self, base: str, value: Any) -> str:
        self.counter += 1
        return self.constant(f"{base}#const{self.counter}", value)

    def ref(self, arg: Any) -> str:
        """The tensor name of an fx argument (a node), or a constant made for a number."""
        import torch

        if isinstance(arg, torch.fx.Node):
            if arg.name not in self.tensor:
                raise SpecError(f"--torch {self.label}: {arg.name} ({arg.op} {arg.target}) is "
                                "not a tensor convcalc can follow")
            return self.tensor[arg.name]
        return self.fresh("value", arg)

    def emit(self, n: Any, op: str, inputs: list[str], attrs: dict[str, Any] | None = None,
             *, scope: tuple[str, ...] | None = None, module: str | None = None,
             out: str | None = None) -> str:
        name = out or n.name
        shape = _meta_shape(n)
        if shape is not None and name not in self.shapes:
            self.shapes[name] = shape
        if scope is None:
            stack = list(n.meta.get("nn_module_stack", {}).values())
            scope = tuple(str(stack[-1][0]).split(".")) if stack and stack[-1][0] else ()
        self.nodes.append(Node(op, str(n.target) if n.op == "call_module" else n.name, inputs,
                               [name], attrs or {}, scope, module, _form(n)))
        self.tensor[n.name] = name
        return name

    # -- dispatch

    def visit(self, n: Any) -> None:
        import torch

        if n.op == "call_module":
            self.module(n, self.modules[n.target])
            return
        target = n.target
        if target is operator.getitem:
            self.getitem(n)
            return
        name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        if _meta_shape(n) is None and not isinstance(n.meta.get("tensor_meta"), tuple | list):
            return  # sizes, dims, Python numbers: shape arithmetic, not data
        handler = FUNCTIONS.get(name.rstrip("_"))
        if handler is None:
            tensors = [a for a in n.args if isinstance(a, torch.fx.Node) and a.name in
                       self.tensor]
            self.emit(n, name, [self.ref(a) for a in tensors])
            return
        handler(self, n)

    def getitem(self, n: Any) -> None:
        import torch

        source, index = n.args
        if isinstance(source, torch.fx.Node) and source.name in self.tensor and \
                f"{self.tensor[source.name]}#0" in self.shapes:
            self.tensor[n.name] = f"{self.tensor[source.name]}#{index}"
            return
        if isinstance(source, torch.fx.Node) and source.name in self.tensor and \
                _meta_shape(n) is not None:
            self.slice(n, self.ref(source), index)

    def slice(self, n: Any, x: str, index: Any) -> None:
        items = index if isinstance(index, tuple) else (index,)
        starts, ends, axes = [], [], []
        for axis, item in enumerate(items):
            if item is Ellipsis:
                break
            if not isinstance(item, slice) or item.step not in (None, 1):
                self.emit(n, "Gather", [x])
                return
            if item == slice(None):
                continue
            size = self.shapes[x][axis]
            starts.append(0 if item.start is None else int(item.start))
            ends.append(size if item.stop is None else int(item.stop))
            axes.append(axis)
        if not axes:
            self.tensor[n.name] = x
            return
        self.emit(n, "Slice", [x, self.fresh("starts", _tensor(starts)),
                               self.fresh("ends", _tensor(ends)),
                               self.fresh("axes", _tensor(axes))])

    def module(self, n: Any, m: Any) -> None:
        import torch

        nn = torch.nn
        scope = tuple(str(n.target).split("."))
        cls = type(m).__name__
        self.classes[scope] = cls
        x = self.ref(n.args[0]) if n.args else self.ref(next(iter(n.kwargs.values())))

        def emit(op: str, inputs: list[str], attrs: dict[str, Any] | None = None) -> None:
            self.emit(n, op, inputs, attrs, scope=scope, module=cls)

        def param(p: Any, what: str) -> str:
            return "" if p is None else self.constant(f"{n.target}.{what}", p)

        if isinstance(m, nn.modules.conv._ConvNd):
            rank = len(m.kernel_size)
            attrs: dict[str, Any] = {"kernel_shape": list(m.kernel_size),
                                     "strides": list(m.stride), "dilations": list(m.dilation),
                                     "group": m.groups}
            if isinstance(m.padding, str):
                attrs["auto_pad"] = "SAME_UPPER" if m.padding == "same" else "VALID"
            else:
                attrs["pads"] = list(m.padding) * 2
            if m.transposed:
                attrs["output_padding"] = list(m.output_padding)
            emit("ConvTranspose" if m.transposed else "Conv",
                 [x, param(m.weight, "weight"), param(m.bias, "bias")], attrs)
            del rank
        elif isinstance(m, nn.Linear):
            emit("Gemm", [x, param(m.weight, "weight"), param(m.bias, "bias")], {"transB": 1})
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            emit("BatchNormalization", [x, param(m.weight, "weight"), param(m.bias, "bias")])
        elif _is_layer_norm_2d(m):
            rank = len(self.shapes[x])
            first = self.emit(n, "Transpose", [x], {"perm": [0, *range(2, rank), 1]},
                              scope=scope, out=f"{n.name}#in")
            self.shapes[first] = (self.shapes[x][0], *self.shapes[x][2:], self.shapes[x][1])
            mid = self.emit(n, "LayerNormalization", [first, param(m.weight, "weight"),
                                                      param(m.bias, "bias")], {"axis": -1},
                            scope=scope, module=cls, out=f"{n.name}#ln")
            self.shapes[mid] = self.shapes[first]
            self.emit(n, "Transpose", [mid], {"perm": [0, rank - 1, *range(1, rank - 1)]},
                      scope=scope)
        elif isinstance(m, nn.LayerNorm):
            emit("LayerNormalization", [x, param(m.weight, "weight"), param(m.bias, "bias")],
                 {"axis": -len(m.normalized_shape)})
        elif isinstance(m, nn.GroupNorm):
            emit("GroupNormalization", [x, param(m.weight, "weight"), param(m.bias, "bias")],
                 {"num_groups": m.num_groups})
        elif isinstance(m, nn.ReLU6):
            emit("Clip", [x], {"min": 0.0, "max": 6.0})
        elif isinstance(m, nn.Hardsigmoid):
            emit("HardSigmoid", [x], {"alpha": 1 / 6, "beta": 0.5})
        elif isinstance(m, nn.Softmax):
            emit("Softmax", [x], {"axis": -1 if m.dim is None else m.dim})
        elif isinstance(m, nn.modules.dropout._DropoutNd):
            emit("Dropout", [x], {"ratio": m.p})
        elif isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d):
            if m.return_indices:
                emit("MaxPoolWithIndices", [x])
                return
            self.pool(n, "MaxPool", x, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                      m.dilation, scope=scope, module=cls)
        elif isinstance(m, nn.AvgPool1d | nn.AvgPool2d | nn.AvgPool3d):
            self.pool(n, "AveragePool", x, m.kernel_size, m.stride, m.padding, m.ceil_mode, 1,
                      scope=scope, module=cls)
        elif isinstance(m, nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool3d):
            emit("AdaptiveAveragePool", [x], {"output_size": list(_meta_shape(n)[2:])})  # type: ignore[index]
        elif isinstance(m, nn.AdaptiveMaxPool1d | nn.AdaptiveMaxPool2d | nn.AdaptiveMaxPool3d) \
                and all(d == 1 for d in _meta_shape(n)[2:]):  # type: ignore[index]
            emit("GlobalMaxPool", [x])
        elif isinstance(m, nn.Upsample):
            mode = "nearest" if m.mode == "nearest" else "linear"
            emit("Resize", [x], {"mode": mode})
        elif isinstance(m, nn.ChannelShuffle):
            emit("ChannelShuffle", [x], {"groups": m.groups})
        elif isinstance(m, nn.Flatten | nn.Unflatten):
            emit("Reshape", [x])
        elif _is_stochastic_depth(m):
            emit("StochasticDepth", [x], {"p": m.p, "mode": m.mode})
        elif cls in MODULE_OPS:
            emit(MODULE_OPS[cls], [x])
        else:
            emit(cls, [x])

    def pool(self, n: Any, op: str, x: str, kernel: Any, stride: Any, padding: Any,
             ceil: bool, dilation: Any, *, scope: tuple[str, ...] | None = None,
             module: str | None = None) -> None:
        rank = len(self.shapes[x]) - 2
        k = _pair(kernel, rank)
        s = k if stride is None or stride == [] else _pair(stride, rank)
        attrs = {"kernel_shape": k, "strides": s, "pads": _pair(padding, rank) * 2,
                 "dilations": _pair(dilation, rank), "ceil_mode": int(bool(ceil))}
        self.emit(n, op, [x], attrs, scope=scope, module=module)


MODULE_OPS = {"ReLU": "Relu", "Hardswish": "HardSwish", "Sigmoid": "Sigmoid", "Tanh": "Tanh",
              "LeakyReLU": "LeakyRelu", "GELU": "Gelu", "SiLU": "Silu", "Identity": "Identity"}


def _attr(gm: Any, target: str) -> Any:
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _tensor(values: list[int]) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.int64)


def _arg(n: Any, i: int, name: str, default: Any = None) -> Any:
    if len(n.args) > i:
        return n.args[i]
    return n.kwargs.get(name, default)


def _tensors(r: _Reader, n: Any) -> list[str]:
    import torch

    out = []
    for a in n.args:
        if isinstance(a, torch.fx.Node):
            out.append(r.ref(a))
        elif isinstance(a, int | float) and not isinstance(a, bool):
            out.append(r.fresh("value", float(a)))
    return out


def _binary(op: str) -> Callable[[_Reader, Any], None]:
    def run(r: _Reader, n: Any) -> None:
        r.emit(n, op, _tensors(r, n)[:2])

    return run


def _unary(op: str, **attrs: Any) -> Callable[[_Reader, Any], None]:
    def run(r: _Reader, n: Any) -> None:
        r.emit(n, op, [r.ref(n.args[0])], dict(attrs))

    return run


def _cat(r: _Reader, n: Any) -> None:
    tensors = _arg(n, 0, "tensors")
    dim = _arg(n, 1, "dim", 0)
    r.emit(n, "Concat", [r.ref(t) for t in tensors], {"axis": dim})


def _reshape(r: _Reader, n: Any) -> None:
    r.emit(n, "Reshape", [r.ref(n.args[0])])


def _permute(r: _Reader, n: Any) -> None:
    dims = n.args[1:] if len(n.args) > 2 else _arg(n, 1, "dims")
    if isinstance(dims, int):
        dims = [dims]
    rank = len(r.shapes[r.ref(n.args[0])])
    r.emit(n, "Transpose", [r.ref(n.args[0])], {"perm": [int(d) % rank for d in dims]})


def _transpose(r: _Reader, n: Any) -> None:
    x = r.ref(n.args[0])
    rank = len(r.shapes[x])
    a, b = int(_arg(n, 1, "dim0")) % rank, int(_arg(n, 2, "dim1")) % rank
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    r.emit(n, "Transpose", [x], {"perm": perm})


def _split(r: _Reader, n: Any) -> None:
    x = r.ref(n.args[0])
    metas = n.meta.get("tensor_meta")
    name = n.target if isinstance(n.target, str) else n.target.__name__
    dim = _arg(n, 2, "dim", 0) if name in ("split", "chunk") else 0
    if not isinstance(metas, tuple | list):
        return
    rank = len(r.shapes[x])
    outs = [f"{n.name}#{i}" for i in range(len(metas))]
    for o, meta in zip(outs, metas, strict=True):
        r.shapes[o] = tuple(int(d) for d in meta.shape)
    stack = list(n.meta.get("nn_module_stack", {}).values())
    scope = tuple(str(stack[-1][0]).split(".")) if stack and stack[-1][0] else ()
    r.nodes.append(Node("Split", n.name, [x], outs, {"axis": int(dim) % rank}, scope))
    r.tensor[n.name] = n.name


def _mean(r: _Reader, n: Any) -> None:
    x = r.ref(n.args[0])
    dims = _arg(n, 1, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    keep = bool(_arg(n, 2, "keepdim", False))
    r.emit(n, "ReduceMean", [x], {"axes": dims, "keepdims": int(keep)})


def _clip(lo: float, hi: float) -> Callable[[_Reader, Any], None]:
    return _unary("Clip", min=lo, max=hi)


def _softmax(r: _Reader, n: Any) -> None:
    r.emit(n, "Softmax", [r.ref(n.args[0])], {"axis": _arg(n, 1, "dim", -1)})


def _dropout(r: _Reader, n: Any) -> None:
    r.emit(n, "Dropout", [r.ref(n.args[0])], {"ratio": _arg(n, 1, "p", 0.5)})


def _functional_pool(op: str) -> Callable[[_Reader, Any], None]:
    def run(r: _Reader, n: Any) -> None:
        x = r.ref(n.args[0])
        kernel = _arg(n, 1, "kernel_size")
        stride = _arg(n, 2, "stride")
        padding = _arg(n, 3, "padding", 0)
        if op == "MaxPool":
            dilation = _arg(n, 4, "dilation", 1)
            ceil = _arg(n, 5, "ceil_mode", False)
        else:
            dilation, ceil = 1, _arg(n, 4, "ceil_mode", False)
        r.pool(n, op, x, kernel, stride, padding, ceil, dilation)

    return run


def _adaptive(r: _Reader, n: Any) -> None:
    shape = _meta_shape(n)
    assert shape is not None
    r.emit(n, "AdaptiveAveragePool", [r.ref(n.args[0])], {"output_size": list(shape[2:])})


def _interpolate(r: _Reader, n: Any) -> None:
    mode = _arg(n, 3, "mode", "nearest")
    r.emit(n, "Resize", [r.ref(n.args[0])], {"mode": "nearest" if mode == "nearest" else
                                                     "linear"})


def _linear(r: _Reader, n: Any) -> None:
    x, w = r.ref(n.args[0]), r.ref(_arg(n, 1, "weight"))
    b = _arg(n, 2, "bias")
    r.emit(n, "Gemm", [x, w, r.ref(b) if b is not None else ""], {"transB": 1})


def _layer_norm(r: _Reader, n: Any) -> None:
    shape = _arg(n, 1, "normalized_shape")
    w, b = _arg(n, 2, "weight"), _arg(n, 3, "bias")
    r.emit(n, "LayerNormalization", [r.ref(n.args[0]), r.ref(w) if w is not None else "",
                                     r.ref(b) if b is not None else ""], {"axis": -len(shape)})


def _stochastic_depth(r: _Reader, n: Any) -> None:
    r.emit(n, "StochasticDepth", [r.ref(n.args[0])], {"p": _arg(n, 1, "p", 0.0),
                                                       "mode": _arg(n, 2, "mode", "row")})


def _channel_shuffle(r: _Reader, n: Any) -> None:
    r.emit(n, "ChannelShuffle", [r.ref(n.args[0])], {"groups": int(_arg(n, 1, "groups"))})


def _identity(r: _Reader, n: Any) -> None:
    r.tensor[n.name] = r.ref(n.args[0])


FUNCTIONS: dict[str, Callable[[_Reader, Any], None]] = {
    "add": _binary("Add"), "iadd": _binary("Add"), "mul": _binary("Mul"),
    "imul": _binary("Mul"), "sub": _binary("Sub"), "truediv": _binary("Div"),
    "div": _binary("Div"), "cat": _cat, "concat": _cat, "concatenate": _cat,
    "flatten": _reshape, "view": _reshape, "reshape": _reshape, "squeeze": _reshape,
    "unsqueeze": _reshape, "permute": _permute, "transpose": _transpose,
    "contiguous": _identity, "clone": _identity, "detach": _identity,
    "chunk": _split, "split": _split, "mean": _mean,
    "relu": _unary("Relu"), "relu6": _clip(0.0, 6.0), "silu": _unary("Silu"),
    "gelu": _unary("Gelu"), "hardswish": _unary("HardSwish"),
    "hardsigmoid": _unary("HardSigmoid", alpha=1 / 6, beta=0.5), "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"), "leaky_relu": _unary("LeakyRelu"), "softmax": _softmax,
    "dropout": _dropout, "max_pool1d": _functional_pool("MaxPool"),
    "max_pool2d": _functional_pool("MaxPool"), "max_pool3d": _functional_pool("MaxPool"),
    "avg_pool1d": _functional_pool("AveragePool"), "avg_pool2d": _functional_pool("AveragePool"),
    "avg_pool3d": _functional_pool("AveragePool"), "adaptive_avg_pool1d": _adaptive,
    "adaptive_avg_pool2d": _adaptive, "adaptive_avg_pool3d": _adaptive,
    "interpolate": _interpolate, "linear": _linear, "layer_norm": _layer_norm,
    "stochastic_depth": _stochastic_depth, "channel_shuffle": _channel_shuffle,
    "native_channel_shuffle": _channel_shuffle,
}


def import_torch(target: str | Callable[[], Any] | Any, input: Shape, *,
                 strict: bool = False) -> Any:
    """The spec a user would write for a torch module (a `to_spec.Imported`)."""
    from convcalc.bridges.to_spec import build_spec

    source = target if isinstance(target, str) else None
    return build_spec(load_torch(target, input), strict=strict, source=source)

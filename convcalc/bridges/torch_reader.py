"""Read a traced torch.fx GraphModule into the op graph (convcalc.bridges.graph).

Takes: a GraphModule whose nodes carry their output shapes (`torch_trace._propagate`). Gives:
a `Graph`: each traced call becomes the ONNX-style op it is (`nn.Conv2d` → Conv, `torch.cat` →
Concat, `x.permute` → Transpose, …), one table entry per function (`FUNCTIONS`). Parameters are
read for their shapes only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from convcalc.bridges.graph import Const, Dims, Graph, Node
from convcalc.bridges.torch_outputs import dropped_results, output_tensors
from convcalc.bridges.torch_trace import _is_layer_norm_2d, _is_stochastic_depth
from convcalc.errors import SpecError


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
        outputs: list[tuple[str, str]] = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                graph_input = n.name
                self.tensor[n.name] = n.name
                self.shapes[n.name] = _meta_shape(n) or ()
            elif n.op == "get_attr":
                value = _attr(self.gm, n.target)
                self.constant(n.name, value)
            elif n.op == "output":
                outputs = [(name, self.ref(node))
                           for name, node in output_tensors(n.args[0], self.label)]
            else:
                self.record(n)
                self.visit(n)
        name = type(self.gm).__name__ if self.label is None else self.label
        short = str(name).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        graph = Graph(short, self.nodes, graph_input, "", self.shapes, self.constants, [],
                      self.classes)
        graph.add_outputs(outputs + dropped_results(self.nodes, [t for _, t in outputs]))
        return graph

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
                               [name], attrs or {}, scope, module))
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
        elif isinstance(m, nn.modules.instancenorm._InstanceNorm):
            # one group per channel; the running statistics (track_running_stats) are buffers
            emit("GroupNormalization", [x, param(m.weight, "weight"), param(m.bias, "bias")],
                 {"num_groups": self.shapes[x][1]})
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
            emit("Resize", [x], {"mode": mode, **({"by_size": True} if m.size else {})})
        elif isinstance(m, nn.ChannelShuffle):
            emit("ChannelShuffle", [x], {"groups": m.groups})
        elif isinstance(m, nn.Flatten | nn.Unflatten):
            emit("Reshape", [x])
        elif _is_stochastic_depth(m):
            emit("StochasticDepth", [x], {"p": m.p, "mode": m.mode})
        elif (op := _module_op(m)) is not None:
            emit(op, [x])
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


def _module_op(m: Any) -> str | None:
    """The op of a torch activation module or of a subclass of one (by its torch base)."""
    for base in type(m).__mro__:
        if base.__name__ in MODULE_OPS and base.__module__.startswith("torch.nn"):
            return MODULE_OPS[base.__name__]
    return None


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
    attrs: dict[str, Any] = {"mode": "nearest" if mode == "nearest" else "linear"}
    if _arg(n, 1, "size") is not None:
        attrs["by_size"] = True
    r.emit(n, "Resize", [r.ref(n.args[0])], attrs)


def _linear(r: _Reader, n: Any) -> None:
    x, w = r.ref(n.args[0]), r.ref(_arg(n, 1, "weight"))
    b = _arg(n, 2, "bias")
    r.emit(n, "Gemm", [x, w, r.ref(b) if b is not None else ""], {"transB": 1})


def _conv(transposed: bool) -> Callable[[_Reader, Any], None]:
    """F.conv1d/2d/3d and F.conv_transpose1d/2d/3d with their weight (and bias) as module
    attributes (get_attr nodes): the Conv or ConvTranspose their arguments spell."""

    def run(r: _Reader, n: Any) -> None:
        weight, b = _arg(n, 1, "weight"), _arg(n, 2, "bias")
        if getattr(weight, "op", None) != "get_attr" or \
                getattr(b, "op", "get_attr") != "get_attr":
            # a weight computed in forward: not a parameter convcalc can read as a layer's
            r.emit(n, str(n.target.__name__), [r.ref(n.args[0])])
            return
        x, w = r.ref(n.args[0]), r.ref(weight)
        kernel = list(r.shapes[w][2:] if w in r.shapes else r.constants[w].shape[2:])
        rank = len(kernel)
        names = ("stride", "padding", "output_padding", "groups", "dilation") if transposed \
            else ("stride", "padding", "dilation", "groups")
        given = {name: _arg(n, 3 + i, name) for i, name in enumerate(names)}
        attrs: dict[str, Any] = {"kernel_shape": kernel,
                                 "strides": _pair(given["stride"] or 1, rank),
                                 "dilations": _pair(given["dilation"] or 1, rank),
                                 "group": int(given["groups"] or 1)}
        padding = given["padding"] or 0
        if isinstance(padding, str):
            attrs["auto_pad"] = "SAME_UPPER" if padding == "same" else "VALID"
        else:
            attrs["pads"] = _pair(padding, rank) * 2
        if transposed:
            attrs["output_padding"] = _pair(given["output_padding"] or 0, rank)
        r.emit(n, "ConvTranspose" if transposed else "Conv",
               [x, w, r.ref(b) if b is not None else ""], attrs)

    return run


def _batch_norm(r: _Reader, n: Any) -> None:
    """F.batch_norm(x, running_mean, running_var, weight, bias, …): weight absent = not affine."""
    w, b = _arg(n, 3, "weight"), _arg(n, 4, "bias")
    r.emit(n, "BatchNormalization", [r.ref(n.args[0]), r.ref(w) if w is not None else "",
                                     r.ref(b) if b is not None else ""])


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
    "conv1d": _conv(False), "conv2d": _conv(False), "conv3d": _conv(False),
    "conv_transpose1d": _conv(True), "conv_transpose2d": _conv(True),
    "conv_transpose3d": _conv(True), "batch_norm": _batch_norm,
    "stochastic_depth": _stochastic_depth, "channel_shuffle": _channel_shuffle,
    "native_channel_shuffle": _channel_shuffle,
}

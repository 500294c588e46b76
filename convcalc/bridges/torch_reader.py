"""Read a traced torch.fx GraphModule into the op graph (convcalc.bridges.graph).

Takes: a GraphModule whose nodes carry their output shapes (`torch_trace._propagate`). Gives:
a `Graph`: each traced call becomes the ONNX-style op it is (`nn.Conv2d` → Conv, `torch.cat` →
Concat, `x.permute` → Transpose, …), one table entry per function (`FUNCTIONS`). Parameters are
read for their shapes only.
"""

from __future__ import annotations

import operator
from typing import Any

from convcalc.bridges.graph import Const, Dims, Graph, Node, shortened
from convcalc.bridges.torch_functions import FUNCTIONS, _meta_shape, _pair, _tensor, softmax_dim
from convcalc.bridges.torch_leaves import read_leaf
from convcalc.bridges.torch_outputs import dropped_results, output_tensors
from convcalc.bridges.torch_trace import _is_layer_norm_2d, _is_stochastic_depth
from convcalc.errors import SpecError


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
        self.notes: list[str] = []
        self.own_forward: dict[str, list[str]] = {}  # subclass of a torch layer → its modules

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
        for what, where in self.own_forward.items():
            self.notes.append(
                f"{shortened(what)} has a forward of its own, read as its torch base: what else "
                f"it computes is not counted ({len(where)}: {shortened(', '.join(where[:3]))}"
                f"{', …' if len(where) > 3 else ''})")
        name = type(self.gm).__name__ if self.label is None else self.label
        short = str(name).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        graph = Graph(short, self.nodes, graph_input, "", self.shapes, self.constants, self.notes,
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
        dots = [i for i, item in enumerate(items) if item is Ellipsis]
        if dots:  # x[..., :4]: the items after `...` index the last axes
            fill = len(self.shapes[x]) - (len(items) - 1)
            items = (*items[:dots[0]], *(slice(None),) * fill, *items[dots[0] + 1:])
        starts, ends, axes = [], [], []
        for axis, item in enumerate(items):
            if isinstance(item, int) and not isinstance(item, bool) and \
                    all(i == slice(None) for i in items[:axis]):
                # x[:, 0]: one index along an axis (ViT's class token), as ONNX's Gather
                self.emit(n, "Gather", [x, self.fresh("index", _tensor(item))], {"axis": axis})
                return
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
        base = next(c for c in type(m).__mro__ if c.__module__.startswith("torch.nn"))
        if base is not nn.Module and getattr(type(m), "forward", None) is not \
                getattr(base, "forward", None) and \
                not _is_layer_norm_2d(m):  # read as its torch base: say so, not silently
            self.own_forward.setdefault(f"{cls} (an nn.{base.__name__})", []).append(
                str(n.target))
        x = self.ref(n.args[0]) if n.args else self.ref(next(iter(n.kwargs.values())))

        def emit(op: str, inputs: list[str], attrs: dict[str, Any] | None = None) -> None:
            self.emit(n, op, inputs, attrs, scope=scope, module=cls)

        def param(p: Any, what: str) -> str:
            return "" if p is None else self.constant(f"{n.target}.{what}", p)

        if read_leaf(self, n, m, x, scope, cls):
            return
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
            emit("Softmax", [x], {"axis": softmax_dim(m.dim, len(self.shapes.get(x, ())))})
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

"""The torch functions and tensor methods a traced module calls, as ops of the graph: one
handler per function name, in a table (`FUNCTIONS`), used by convcalc.bridges.torch_reader.

Takes: an fx call_function / call_method node and the reader (`torch_reader._Reader`: its
tensors, shapes and constants). Gives: the graph node that call is (`torch.cat` → Concat,
`x.permute` → Transpose, `F.scaled_dot_product_attention` → ScaledDotProductAttention, …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convcalc.bridges.graph import Const, Dims, Node

_Reader = Any  # torch_reader._Reader (not imported: it imports this module)

def _meta_shape(node: Any) -> Dims | None:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    return tuple(int(d) for d in meta.shape)


def _pair(value: Any, rank: int) -> list[int]:
    if isinstance(value, int):
        return [value] * rank
    return [int(v) for v in value]


def _tensor(values: list[int] | int) -> Any:
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
        if isinstance(a, torch.fx.Node) and a.name not in r.tensor and \
                _meta_shape(a) is None:
            # a number computed from sizes (`(c // heads) ** -0.5`): a scalar, value unknown
            r.counter += 1
            r.constants[f"value#const{r.counter}"] = Const(())
            out.append(f"value#const{r.counter}")
        elif isinstance(a, torch.fx.Node):
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


def softmax_dim(dim: Any, rank: int) -> int:
    """The axis torch's softmax takes: `dim`, or without one (F.softmax(x), nn.Softmax()) its
    legacy rule (torch.nn.functional._get_softmax_dim): 0 at rank 0, 1 or 3, else 1."""
    if dim is not None:
        return int(dim)
    return 0 if rank in (0, 1, 3) else 1


def _softmax(r: _Reader, n: Any) -> None:
    x = r.ref(n.args[0])
    r.emit(n, "Softmax", [x], {"axis": softmax_dim(_arg(n, 1, "dim"), len(r.shapes.get(x, ())))})


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


def _sdpa(r: _Reader, n: Any) -> None:
    q, k, v = (_arg(n, i, name) for i, name in enumerate(("query", "key", "value")))
    r.emit(n, "ScaledDotProductAttention", [r.ref(q), r.ref(k), r.ref(v)])


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
    "conv1d": _conv(False), "conv2d": _conv(False), "conv3d": _conv(False),
    "conv_transpose1d": _conv(True), "conv_transpose2d": _conv(True),
    "conv_transpose3d": _conv(True), "batch_norm": _batch_norm,
    # attention written out (q @ kᵀ, softmax, @ v) or fused: read by fuse_attention
    "matmul": _binary("MatMul"), "bmm": _binary("MatMul"),
    "scaled_dot_product_attention": _sdpa,
}

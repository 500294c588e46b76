"""Read an ONNX file into the op graph (convcalc.bridges.graph): shapes, not weights.

The file's protobuf is walked at the wire level, by small reads: the model is copied without the
data of its large initializers (their dims and types stay), which is never read, so a 100 MB
model is never held in memory, let alone twice; only the graph's structure and small constants
are parsed by `onnx`. ONNX's shape inference then gives every tensor's shape (the input's dynamic
dims set from `--input`), and the small integer computations a TorchScript export leaves in
the graph (Shape → Gather → Div → Slice …) are evaluated here, so a channel split or a flatten
is seen for what it is.

Needs the optional `onnx` package (`pip install 'convcalc[onnx]'`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from convcalc.bridges.graph import Const, Dims, Graph, Node
from convcalc.errors import SpecError
from convcalc.shapes import Shape

INSTALL_HINT = "reading ONNX needs the onnx package: pip install 'convcalc[onnx]'"
SMALL_BYTES = 1024
"""Initializer data up to this size is kept (shapes, scales, split sizes); larger is dropped."""
SMALL_ELEMENTS = 64
"""Constants with at most this many elements keep their values in the graph."""
MIN_OPSET = 7


class _Chunks:
    """Random access to a file by small reads, a few 64 KiB blocks kept: the fields around the
    weights are read, the weights themselves never (neither read nor mapped into memory)."""

    BLOCK = 1 << 16
    KEEP = 8

    def __init__(self, handle: Any, size: int) -> None:
        self.handle = handle
        self.size = size
        self.blocks: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self.size

    def block(self, index: int) -> bytes:
        data = self.blocks.get(index)
        if data is None:
            self.handle.seek(index * self.BLOCK)
            data = self.handle.read(self.BLOCK)
            if len(self.blocks) >= self.KEEP:
                del self.blocks[next(iter(self.blocks))]
            self.blocks[index] = data
        return data

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            start, stop = key.start or 0, min(key.stop, self.size)
            if stop - start > self.BLOCK:
                self.handle.seek(start)
                return self.handle.read(stop - start)
            first, last = start // self.BLOCK, (stop - 1) // self.BLOCK
            data = b"".join(self.block(i) for i in range(first, last + 1))
            offset = first * self.BLOCK
            return data[start - offset:stop - offset]
        return self.block(key // self.BLOCK)[key % self.BLOCK]


class _Bad(Exception):
    """The bytes are not a well-formed protobuf message."""


def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _Bad("truncated")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Bad("a malformed number")


def _fields(buf: Any, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, value start, value end, tag start) of each field."""
    pos = start
    while pos < end:
        tag = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Bad("field number 0")
        if wire == 0:
            value = pos
            _, pos = _varint(buf, pos, end)
        elif wire == 1:
            value, pos = pos, pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos, end)
            value, pos = pos, pos + size
        elif wire == 5:
            value, pos = pos, pos + 4
        else:
            raise _Bad(f"wire type {wire}")
        if pos > end:
            raise _Bad("truncated")
        yield number, wire, value, pos, tag


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


# field numbers (onnx.proto3)
_MODEL_GRAPH, _MODEL_IR, _MODEL_OPSET = 7, 1, 8
_GRAPH_INITIALIZER = 5
_TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}  # float, int32, string, int64, raw, double, uint64 data
_MODEL_WIRE = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2}


def _strip_tensor(buf: Any, start: int, end: int) -> tuple[bytes, bool]:
    """A TensorProto without its large data fields; True when something was dropped."""
    parts: list[bytes] = []
    dropped = False
    for number, _wire, value, stop, tag in _fields(buf, start, end):
        if number in _TENSOR_DATA and stop - value > SMALL_BYTES:
            dropped = True
            continue
        parts.append(bytes(buf[tag:stop]))
    return b"".join(parts), dropped


def _strip_graph(buf: Any, start: int, end: int) -> tuple[bytes, set[int]]:
    parts: list[bytes] = []
    stripped: set[int] = set()
    index = 0
    for number, wire, value, stop, tag in _fields(buf, start, end):
        if number == _GRAPH_INITIALIZER and wire == 2:
            tensor, dropped = _strip_tensor(buf, value, stop)
            if dropped:
                stripped.add(index)
            index += 1
            parts.append(_len_field(number, tensor))
        else:
            parts.append(bytes(buf[tag:stop]))
    return b"".join(parts), stripped


def strip_model(buf: Any) -> tuple[bytes, set[int]]:
    """The ModelProto bytes without large initializer data, and which initializers lost it."""
    parts: list[bytes] = []
    stripped: set[int] = set()
    seen: set[int] = set()
    end = len(buf)
    for number, wire, value, stop, tag in _fields(buf, 0, end):
        expected = _MODEL_WIRE.get(number)
        if expected is not None and expected != wire:
            raise _Bad(f"field {number} has wire type {wire}")
        seen.add(number)
        if number == _MODEL_GRAPH:
            graph, stripped = _strip_graph(buf, value, stop)
            parts.append(_len_field(number, graph))
        else:
            parts.append(bytes(buf[tag:stop]))
    if _MODEL_GRAPH not in seen or _MODEL_IR not in seen:
        raise _Bad("no graph" if _MODEL_GRAPH not in seen else "no IR version")
    return b"".join(parts), stripped


def read_model(path: str) -> tuple[Any, set[str]]:
    """The parsed ModelProto without large weights, and the names of the stripped initializers."""
    try:
        import onnx
    except ImportError:
        raise SpecError(INSTALL_HINT) from None
    from google.protobuf.message import DecodeError

    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise SpecError(f"{path}: not an ONNX model: the file is empty")
            data, stripped = strip_model(_Chunks(handle, size))
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    except _Bad as e:
        raise SpecError(f"{path}: not an ONNX model (or a truncated one): {e}") from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as e:
        raise SpecError(f"{path}: not an ONNX model (or a truncated one): {e}") from None
    inits = model.graph.initializer
    names = {inits[i].name for i in stripped if i < len(inits)}
    return model, names


def _opset(model: Any, path: str) -> int:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    version = None
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            version = entry.version
    if version is None:
        if not model.opset_import:
            raise SpecError(f"{path}: not an ONNX model: it names no operator set")
        version = newest
    if not MIN_OPSET <= version <= newest:
        raise SpecError(f"{path}: ONNX operator set {version} is not supported: this onnx "
                        f"({onnx.__version__}) reads opsets {MIN_OPSET} to {newest}")
    return int(version)


def _dims(type_proto: Any) -> tuple[int | str | None, ...] | None:
    if not type_proto.HasField("tensor_type"):
        return None
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return None
    out: list[int | str | None] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return tuple(out)


def _set_input(model: Any, name: str, dims: tuple[int | str | None, ...],
               input: Shape | None, path: str) -> Dims:
    """Fix the data input's dims: batch 1, the rest from `--input` where given or dynamic."""
    rank = len(dims)
    if rank < 2:
        raise SpecError(f"{path}: input '{name}' has rank {rank}; convcalc needs N×C or "
                        "N×C×spatial")
    if input is not None:
        if input.rank != rank - 2:
            raise SpecError(f"{path}: input '{name}' is {_show(dims)} ({rank - 2} spatial axes);"
                            f" --input {input.channels_last()} has {input.rank}")
        want: list[int] = [1, input.channels, *input.spatial]
        for i, (d, w) in enumerate(zip(dims, want, strict=True)):
            if i and isinstance(d, int) and d != w:
                axis = "channels" if i == 1 else f"spatial axis {i - 2}"
                raise SpecError(f"{path}: --input {input.channels_last()} does not fit input "
                                f"'{name}' {_show(dims)}: {axis} is {d} in the model")
        fixed = tuple(want)
    else:
        free = [i for i, d in enumerate(dims) if i and not isinstance(d, int)]
        if free:
            raise SpecError(f"{path}: input '{name}' has dynamic dims {_show(dims)}: give "
                            "--input (H×W×C, e.g. --input 224x224x3)")
        fixed = (1, *(int(d) for d in dims[1:]))  # type: ignore[arg-type]
    for graph_input in model.graph.input:
        if graph_input.name == name:
            shape = graph_input.type.tensor_type.shape
            for d, value in zip(shape.dim, fixed, strict=True):
                d.Clear()
                d.dim_value = value
    return fixed


def _show(dims: tuple[int | str | None, ...]) -> str:
    return "×".join("?" if d is None else str(d) for d in dims)


def _attr(a: Any) -> Any:
    import onnx

    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


def scope_of(name: str) -> tuple[str, ...]:
    """The module path in a TorchScript-exported node name: `/layer1/layer1.0/conv1/Conv` →
    ("layer1", "0", "conv1"). Each scope level names its module by its full path or by its
    attribute name; the path is rebuilt from both."""
    if not name.startswith("/"):
        return ()
    segments = [s for s in name.split("/") if s][:-1]
    path: list[str] = []
    previous: str | None = None
    for segment in segments:
        if previous is not None and segment.startswith(previous + "."):
            path += segment[len(previous) + 1:].split(".")
        else:
            path += segment.split(".")
        previous = segment
    return tuple(p for p in path if p)


# --- the small integer computations of shapes --------------------------------------------------

def _evaluate(op: str, ins: list[Any], in_shapes: list[Dims | None], attrs: dict[str, Any],
              out_shape: Dims | None) -> Any:
    """A node's output (a numpy array) from small constant inputs (shape arithmetic), or None.
    `ins` holds numpy arrays (None: not a known constant)."""
    import numpy as np

    def arr(i: int) -> Any:
        if i >= len(ins) or ins[i] is None:
            raise KeyError(i)
        return ins[i]

    try:
        if op == "Shape":
            shape = in_shapes[0]
            if shape is None:
                return None
            start, end = attrs.get("start", 0), attrs.get("end")
            return np.array(shape[start:end], dtype=np.int64)
        if op == "Identity":
            out = arr(0)
        elif op == "Cast":
            import onnx

            out = arr(0).astype(onnx.helper.tensor_dtype_to_np_dtype(attrs["to"]))
        elif op == "Gather":
            out = np.take(arr(0), arr(1), axis=attrs.get("axis", 0))
        elif op in ("Unsqueeze", "Squeeze", "Reshape", "Flatten"):
            if out_shape is None:
                return None
            out = arr(0).reshape(out_shape)
        elif op == "Expand":
            out = arr(0) * np.ones(tuple(arr(1)), dtype=arr(0).dtype)
        elif op == "Concat":
            out = np.concatenate([np.atleast_1d(arr(i)) for i in range(len(ins))],
                                 axis=attrs.get("axis", 0))
        elif op in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Equal"):
            a, b = arr(0), arr(1)
            if op == "Div" and a.dtype.kind in "iu" and b.dtype.kind in "iu":
                out = (np.trunc(a / b)).astype(a.dtype)
            else:
                out = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
                       "Max": np.maximum, "Min": np.minimum, "Equal": np.equal}[op](a, b)
        elif op in ("Neg", "Floor", "Ceil"):
            out = {"Neg": np.negative, "Floor": np.floor, "Ceil": np.ceil}[op](arr(0))
        elif op == "Slice":
            data = arr(0)
            starts, ends = [int(v) for v in arr(1).reshape(-1)], [int(v) for v in
                                                                   arr(2).reshape(-1)]
            axes = [int(v) for v in ins[3].reshape(-1)] if len(ins) > 3 and ins[3] is not None \
                else list(range(len(starts)))
            steps = [int(v) for v in ins[4].reshape(-1)] if len(ins) > 4 and ins[4] is not None \
                else [1] * len(starts)
            index = [slice(None)] * data.ndim
            for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
                index[a] = slice(s, e, st)
            out = data[tuple(index)]
        elif op == "Range":
            out = np.arange(arr(0).item(), arr(1).item(), arr(2).item())
        else:
            return None
    except (KeyError, ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
        return None
    out = np.asarray(out)
    return out if out.size <= SMALL_ELEMENTS else None


def _array(tensor: Any) -> Any:
    from onnx import numpy_helper

    n = 1
    for d in tensor.dims:
        n *= d
    return numpy_helper.to_array(tensor) if n <= SMALL_ELEMENTS else None


def _const_nodes(g: Any, shapes: dict[str, Dims], stripped: set[str]
                 ) -> tuple[dict[str, Const], dict[str, Any], list[Any]]:
    """Every constant of the graph (initializers, Constant nodes and what is computed from them
    and from known shapes), their small values as arrays, and the nodes left to analyse."""
    import numpy as np
    import onnx

    constants: dict[str, Const] = {}
    arrays: dict[str, Any] = {}
    for t in g.initializer:
        constants[t.name] = Const(tuple(int(d) for d in t.dims))
        if t.name not in stripped:
            a = _array(t)
            if a is not None:
                arrays[t.name] = a
    rest = []
    for n in g.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            for a in n.attribute:
                if a.name == "value":
                    value = _array(a.t)
                    dims: Dims = tuple(int(d) for d in a.t.dims)
                else:
                    value = np.array(onnx.helper.get_attribute_value(a))
                    dims = value.shape
                constants[n.output[0]] = Const(dims)
                if value is not None:
                    arrays[n.output[0]] = value
            continue
        ins = list(n.input)
        known = bool(ins) and all(not i or i in constants for i in ins)
        if n.op_type == "Shape" and ins and ins[0] in shapes:
            known = True
        if known and n.domain in ("", "ai.onnx") and len(n.output) == 1:
            if n.op_type == "Identity":
                constants[n.output[0]] = constants[ins[0]]
                if ins[0] in arrays:
                    arrays[n.output[0]] = arrays[ins[0]]
                continue
            attrs = {a.name: _attr(a) for a in n.attribute}
            value = _evaluate(n.op_type, [arrays.get(i) for i in ins],
                              [constants[i].shape if i in constants else shapes.get(i)
                               for i in ins], attrs, shapes.get(n.output[0]))
            if value is not None:
                constants[n.output[0]] = Const(tuple(int(d) for d in value.shape))
                arrays[n.output[0]] = value
                continue
        rest.append(n)
    for name, value in arrays.items():
        constants[name] = Const(constants[name].shape,
                                tuple(v.item() for v in np.asarray(value).reshape(-1)))
    return constants, arrays, rest


def _infer(model: Any, path: str) -> Any:
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=True,
                                                 data_prop=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpecError(f"{path}: ONNX shape inference failed: {first[:300]}") from None


def _shapes(g: Any, source: str, in_dims: Dims) -> dict[str, Dims]:
    shapes: dict[str, Dims] = {source: in_dims}
    for info in [*g.value_info, *g.output]:
        d = _dims(info.type)
        if d is not None and all(isinstance(v, int) for v in d):
            shapes[info.name] = tuple(int(v) for v in d)  # type: ignore[arg-type]
    return shapes


def load_onnx(path: str, input: Shape | None = None) -> Graph:
    """The op graph of an ONNX file, every tensor's shape known (`input` fixes dynamic dims)."""
    model, stripped = read_model(path)  # first: it says how to get onnx when it is missing
    import onnx
    from onnx import numpy_helper

    _opset(model, path)
    graph = model.graph
    if not graph.node:
        raise SpecError(f"{path}: the ONNX graph is empty (no nodes)")
    init_names = {t.name for t in graph.initializer}
    data_inputs = [i for i in graph.input if i.name not in init_names]
    if len(data_inputs) != 1:
        listed = ", ".join(i.name for i in data_inputs) or "none"
        raise SpecError(f"{path}: convcalc reads models with one input; this one has "
                        f"{len(data_inputs)} ({listed})")
    source = data_inputs[0]
    dims = _dims(source.type)
    if dims is None:
        raise SpecError(f"{path}: input '{source.name}' has no tensor shape")
    in_dims = _set_input(model, source.name, dims, input, path)
    del graph.value_info[:]
    for out in graph.output:
        out.type.tensor_type.ClearField("shape")
    # Shape inference and the evaluation of shape arithmetic feed each other (a Slice's end
    # computed from a Shape): alternate until every data tensor has its shape.
    for _ in range(8):
        g = _infer(model, path).graph
        shapes = _shapes(g, source.name, in_dims)
        constants, arrays, rest = _const_nodes(g, shapes, stripped)
        unknown = [o for n in rest for o in n.output if o and o not in shapes]
        fresh = [name for name in arrays if name not in init_names]
        if not unknown or not fresh:
            break
        del model.graph.node[:]
        model.graph.node.extend(rest)
        for name in fresh:
            model.graph.initializer.append(numpy_helper.from_array(arrays[name], name))
            init_names.add(name)
    nodes: list[Node] = []
    for n in rest:
        attrs = {a.name: _attr(a) for a in n.attribute if a.type != onnx.AttributeProto.TENSOR}
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        nodes.append(Node(op, n.name, list(n.input), list(n.output), attrs, scope_of(n.name)))
    output = g.output[0].name
    result = Graph(_model_name(graph.name, path), nodes, source.name, output, shapes, constants)
    if len(g.output) > 1:
        others = ", ".join(o.name for o in g.output[1:])
        result.notes.append(f"the model has {len(g.output)} outputs; convcalc follows the first "
                            f"({output}) and leaves out {others}")
    _note_folding(result)
    return result


def _model_name(name: str, path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    candidate = stem if not name or name in ("main_graph", "torch_jit", "torch-jit-export") \
        else name
    return re.sub(r"[\x00-\x1f\x7f]", "", candidate) or "model"


def _note_folding(graph: Graph) -> None:
    """Say so when BatchNorm looks folded into the convs (an eval-mode TorchScript export):
    no normalization left, and convs whose weights the exporter made (`onnx::Conv_…`)."""
    if any(n.op == "BatchNormalization" for n in graph.nodes):
        return
    folded = [n for n in graph.nodes if n.op == "Conv" and len(n.inputs) > 2 and n.inputs[2]
              and n.inputs[1].startswith("onnx::")]
    if folded:
        graph.notes.append(
            f"{len(folded)} convs carry weights and biases made at export and the graph has no "
            "BatchNormalization: BatchNorm was probably folded into the convs (an eval-mode "
            "export). Parameters are the graph's (each folded BatchNorm's 2·C γ, β became the "
            "conv's C biases); MACs are unaffected")


def import_onnx(path: str, input: Shape | None = None, *, strict: bool = False) -> Any:
    """The spec a user would write for an ONNX file (a `to_spec.Imported`)."""
    from convcalc.bridges.to_spec import build_spec

    return build_spec(load_onnx(path, input), strict=strict, source=os.path.basename(path))


def onnx_network(path: str, input: Shape | None = None) -> Any:
    """An ONNX file as a compiled network (what `convcalc net FILE.onnx` analyses); the
    importer's notes and warnings become the network's warnings."""
    from dataclasses import replace

    from convcalc.network import parse_network

    imported = import_onnx(path, input)
    net = parse_network(imported.spec, path)
    return replace(net, warnings=(*imported.notes, *imported.warnings, *net.warnings))

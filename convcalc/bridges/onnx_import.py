"""Read an ONNX file into the op graph (convcalc.bridges.graph): shapes, not weights.

The protobuf is read by convcalc's own wire-format reader (convcalc.bridges.onnx_proto), from a
memory map: the weights are neither read nor copied, and the `onnx` package is not needed.
convcalc's shape rules (convcalc.bridges.onnx_shapes) then give every tensor's shape (the
input's dynamic dims set from `--input`), folding the small integer computations a TorchScript
export leaves in the graph (Shape → Gather → Div → Slice …), so a channel split or a flatten is
seen for what it is. External data is resolved in the model's own folder, and read only when a
count needs a value from it.
"""

from __future__ import annotations

import mmap
import os
import re
import stat
from typing import Any

from convcalc.bridges.graph import Const, Dims, Graph, Node, escaped, printable
from convcalc.bridges.onnx_proto import (
    LimitError,
    ModelInfo,
    ProtoError,
    Tensor,
    ValueInfo,
    decode_raw,
    tensor_values,
)
from convcalc.bridges.onnx_shapes import GraphError, Inference, Value
from convcalc.bridges.unfold_bn import note_folding
from convcalc.errors import SpecError
from convcalc.shapes import Shape

SMALL_ELEMENTS = 64
"""Constants with at most this many elements give their values to the graph (when read)."""
MIN_OPSET = 7
MAX_OPSET = 28
"""The newest ONNX operator set convcalc reads (onnx 1.23's)."""


def _open(path: str) -> tuple[Any, int]:
    """The file's bytes as a read-only memory map (a regular file only), and its size."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise SpecError(f"{printable(path)}: cannot read: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(f"{printable(path)}: cannot read: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"{printable(path)}: not an ONNX model: not a regular file")
        if info.st_size == 0:
            raise SpecError(f"{printable(path)}: not an ONNX model: the file is empty")
        try:
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ), info.st_size
        except (OSError, ValueError) as e:
            raise SpecError(f"{printable(path)}: cannot read: {e}") from None
    finally:
        os.close(fd)


def read_model(path: str) -> tuple[ModelInfo, Any]:
    """The model's structure (no weight data) and the mapped file its tensors point into."""
    buf, _ = _open(path)
    try:
        return _parse(buf), buf
    except ProtoError as e:
        raise SpecError(f"{printable(path)}: not an ONNX model (or a truncated one): {e}") from None
    except LimitError as e:
        raise SpecError(f"{printable(path)}: {e}") from None


def _parse(buf: Any) -> ModelInfo:
    from convcalc.bridges.onnx_proto import read_model as read

    return read(buf)


def _opset(model: ModelInfo, path: str) -> int:
    version = None
    for domain, v in model.opsets.items():
        if domain in ("", "ai.onnx"):
            version = v
    if version is None:
        if not model.opset_entries:
            raise SpecError(f"{printable(path)}: not an ONNX model: it names no operator set")
        raise SpecError(f"{printable(path)}: the model names no ONNX operator set (only "
                        f"{', '.join(sorted(model.opsets)) or 'none'})")
    if not MIN_OPSET <= version <= MAX_OPSET:
        raise SpecError(f"{printable(path)}: ONNX operator set {version} is not supported: convcalc reads "
                        f"opsets {MIN_OPSET} to {MAX_OPSET}")
    return int(version)


def external_files(path: str) -> list[str]:
    """The files beside the model that its tensors keep their data in (external data), for
    `-o` to refuse as it refuses the model; none when the file is not a model (the import says
    why)."""
    try:
        model, _ = read_model(path)
    except SpecError:
        return []
    tensors = list(model.graph.initializers)
    for node in model.graph.nodes:
        for a in node.attributes:
            tensors += [v for v in (a.value if isinstance(a.value, list) else [a.value])
                        if isinstance(v, Tensor)]
    folder = os.path.dirname(path)
    return sorted({os.path.join(folder, t.external["location"]) for t in tensors
                   if t.external and t.external.get("location")})


def spatial_rank(path: str) -> int | None:
    """The spatial axes of the model's one data input (2 for N×C×H×W), read from the file's
    structure alone; None where the file does not say (the import then says why)."""
    try:
        model, _ = read_model(path)
    except SpecError:
        return None
    names = {t.name for t in model.graph.initializers}
    data = [i for i in model.graph.inputs if i.name not in names]
    if len(data) != 1 or data[0].dims is None or len(data[0].dims) < 2:
        return None
    return len(data[0].dims) - 2


def _set_input(name: str, dims: tuple[int | str | None, ...], input: Shape | None,
               path: str) -> Dims:
    """Fix the data input's dims: batch 1, the rest from `--input` where given or dynamic."""
    rank = len(dims)
    if rank < 2:
        raise SpecError(f"{printable(path)}: input '{printable(name)}' has rank {rank}; "
                        "convcalc needs N×C or N×C×spatial")
    if input is not None:
        if input.rank != rank - 2:
            raise SpecError(f"{printable(path)}: input '{printable(name)}' is {_show(dims)} "
                            f"({rank - 2} spatial axes); the input {input.channels_last()} "
                            f"(--input or --set input) has {input.rank}")
        want: list[int] = [1, input.channels, *input.spatial]
        for i, (d, w) in enumerate(zip(dims, want, strict=True)):
            if i and isinstance(d, int) and d != w:
                axis = "channels" if i == 1 else f"spatial axis {i - 2}"
                raise SpecError(f"{printable(path)}: the input {input.channels_last()} (--input or "
                                f"--set input) does not fit input '{printable(name)}' "
                                f"{_show(dims)}: {axis} is {d} in the model")
        return tuple(want)
    free = [i for i, d in enumerate(dims) if i and not isinstance(d, int)]
    if free:
        raise SpecError(f"{printable(path)}: input '{printable(name)}' has dynamic dims {_show(dims)}: give "
                        "--input (H×W×C, e.g. --input 224x224x3)")
    return (1, *(int(d) for d in dims[1:]))  # type: ignore[arg-type]


def _show(dims: tuple[int | str | None, ...]) -> str:
    return "×".join("?" if d is None else str(d) for d in dims)


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


# --- tensors: read when needed, from the file or its external data --------------------------

class _Tensors:
    """Reads a tensor's values on demand: from the mapped file, or from its external data file
    (resolved in the model's folder, refused outside it)."""

    def __init__(self, buf: Any, path: str) -> None:
        self.buf = buf
        self.path = path
        self.folder = os.path.dirname(os.path.abspath(path))

    def value(self, t: Tensor) -> Value:
        return Value(t.dims, t.dtype, load=lambda: self.read(t))

    def read(self, t: Tensor) -> list[Any] | None:
        if t.elements > FOLD_VALUES:
            return None
        try:
            if t.external is not None:
                return decode_raw(self.external(t), t)
            return tensor_values(self.buf, t)
        except (ProtoError, LimitError) as e:
            raise SpecError(f"{printable(self.path)}: {e}") from None

    def external(self, t: Tensor) -> bytes:
        where = f"{printable(self.path)}: tensor '{printable(t.name)}'"
        location = t.external.get("location", "") if t.external else ""
        if not location:
            raise SpecError(f"{where}: external data without a location")
        parts = re.split(r"[/\\]", location)
        if os.path.isabs(location) or ".." in parts or re.match(r"^[A-Za-z]:", location):
            raise SpecError(f"{where}: external data '{printable(location)}' is outside the model's folder "
                            "(convcalc reads only relative paths below it)")
        full = os.path.join(self.folder, location)
        real, top = os.path.realpath(full), os.path.realpath(self.folder)
        if os.path.commonpath([real, top]) != top:
            raise SpecError(f"{where}: external data '{printable(location)}' leads outside the model's "
                            "folder")
        try:
            offset = int(t.external.get("offset", "0") or 0)  # type: ignore[union-attr]
            length = t.external.get("length")  # type: ignore[union-attr]
            size = int(length) if length else None
        except ValueError:
            raise SpecError(f"{where}: external data offset or length is not a number") from None
        try:
            fd = os.open(real, os.O_RDONLY)
        except OSError as e:
            raise SpecError(f"{where}: cannot read external data '{printable(location)}': "
                            f"{e.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SpecError(f"{where}: external data '{printable(location)}' is not a regular file")
            need = size if size is not None else info.st_size - offset
            if offset < 0 or need < 0 or offset + need > info.st_size:
                raise SpecError(f"{where}: external data '{printable(location)}' is {info.st_size} bytes; "
                                f"the tensor needs {need} from offset {offset}")
            if need > FOLD_VALUES * 8:
                raise SpecError(f"{where}: external data of {need} bytes is larger than the "
                                "small constants convcalc reads")
            data = os.pread(fd, need, offset)
        finally:
            os.close(fd)
        return data


FOLD_VALUES = 1 << 16
"""Elements of one stored tensor whose values are read (only when a count needs them)."""


def _const(value: Value) -> Const:
    def load() -> tuple[Any, ...] | None:
        v = value.values()
        return tuple(v) if v is not None else None

    if value.elements > SMALL_ELEMENTS:
        return Const(value.dims)
    return Const(value.dims, load=load)


def load_onnx(path: str, input: Shape | None = None, *, unfold_bn: bool = False) -> Graph:
    """The op graph of an ONNX file, every tensor's shape known (`input` fixes dynamic dims)."""
    model, buf = read_model(path)
    _opset(model, path)
    graph = model.graph
    if not graph.nodes:
        raise SpecError(f"{printable(path)}: the ONNX graph is empty (no nodes)")
    if not graph.outputs:
        raise SpecError(f"{printable(path)}: the ONNX graph has no outputs")
    if graph.sparse:
        raise SpecError(f"{printable(path)}: the graph has sparse initializers, which convcalc does not "
                        "read")
    tensors = _Tensors(buf, path)
    constants: dict[str, Value] = {}
    for t in graph.initializers:
        if not t.name:
            raise SpecError(f"{printable(path)}: an initializer has no name")
        if t.name in constants:
            raise SpecError(f"{printable(path)}: two initializers are named '{printable(t.name)}'")
        constants[t.name] = tensors.value(t)
    data_inputs = [i for i in graph.inputs if i.name not in constants]
    if len(data_inputs) != 1:
        listed = ", ".join(printable(i.name) for i in data_inputs[:10]) or "none"
        raise SpecError(f"{printable(path)}: convcalc reads models with one input; this one has "
                        f"{len(data_inputs)} ({listed})")
    source = data_inputs[0]
    if source.dims is None:
        raise SpecError(f"{printable(path)}: input '{printable(source.name)}' has no tensor shape")
    in_dims = _set_input(source.name, source.dims, input, path)
    # the file's own shapes, for operators no rule here follows, only while they still hold
    stated = _stated(graph.value_info) if tuple(source.dims[1:]) == in_dims[1:] else {}
    inference = Inference({source.name: in_dims}, constants, stated)
    inference.tensor_value = tensors.value
    try:
        rest = inference.run(graph.nodes)
    except GraphError as e:
        raise SpecError(f"{printable(path)}: {e}") from None
    except (ProtoError, LimitError) as e:
        raise SpecError(f"{printable(path)}: {e}") from None
    output = graph.outputs[0].name
    for o in graph.outputs:
        if o.name not in inference.shapes and o.name not in inference.constants:
            what = "is not computed by any node" if o.name not in inference.writer else \
                "has a shape convcalc cannot work out"
            raise SpecError(f"{printable(path)}: the graph's output '{printable(o.name)}' {what}")
    nodes: list[Node] = []
    for n in rest:
        attrs = {a.name: a.value for a in n.attributes if a.type in (1, 2, 3, 6, 7, 8)}
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        nodes.append(Node(op, n.name, list(n.inputs), list(n.outputs), attrs, scope_of(n.name)))
    consts = {name: _const(v) for name, v in inference.constants.items()}
    shapes = {k: v for k, v in inference.shapes.items() if k not in consts}
    result = Graph(_model_name(graph.name, path), nodes, source.name, output, shapes, consts)
    # every data output is kept (a constant one costs nothing): the first goes on
    result.add_outputs([(o.name, o.name) for o in graph.outputs
                        if o.name == output or o.name not in consts])
    note_folding(result, unfold=unfold_bn)
    return result


def _stated(infos: list[ValueInfo]) -> dict[str, Dims]:
    """The static shapes the file states for its tensors (used only where no rule applies)."""
    out: dict[str, Dims] = {}
    for info in infos:
        if info.dims is not None and all(isinstance(d, int) for d in info.dims):
            out[info.name] = tuple(int(d) for d in info.dims)  # type: ignore[arg-type]
    return out


def _model_name(name: str, path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    candidate = stem if not name or name in ("main_graph", "torch_jit", "torch-jit-export") \
        else name
    return re.sub(r"[\x00-\x1f\x7f]", "", candidate) or "model"


def import_onnx(path: str, input: Shape | None = None, *, strict: bool = False,
                unfold_bn: bool = False) -> Any:
    """The spec a user would write for an ONNX file (a `to_spec.Imported`); `unfold_bn`
    writes BatchNorm folded at export back as conv + BatchNorm (convcalc.bridges.unfold_bn)."""
    from convcalc.bridges.to_spec import build_spec

    return build_spec(load_onnx(path, input, unfold_bn=unfold_bn), strict=strict,
                      source=os.path.basename(path))


def onnx_network(path: str, input: Shape | None = None, *, strict: bool = False) -> Any:
    """An ONNX file as a compiled network (what `convcalc net FILE.onnx` analyses); the
    importer's notes and warnings become the network's warnings."""
    from dataclasses import replace

    from convcalc.network import parse_network

    imported = import_onnx(path, input, strict=strict)
    net = parse_network(imported.spec, path)
    return replace(net, warnings=(*map(escaped, (*imported.notes, *imported.warnings)),
                                 *net.warnings))  # a report warning is one line

"""Read the ONNX messages convcalc needs from protobuf's wire format, without the onnx package.

Only what a count needs is decoded: the model's operator sets, the graph's nodes (op type,
domain, name, inputs, outputs, attributes), its inputs and outputs (name and static dims) and
its initializers' names, types and dims. A tensor's data is never copied at read time: it stays
a span of the file (or an external-data reference) and is decoded only when a count needs its
values (a Reshape's shape, a Slice's starts), and only when it is small. Everything else
(doc strings, value_info, metadata, functions, subgraphs' contents) is skipped unread.

The file is memory-mapped: the scan touches the bytes around the weights, never the weights.
Every malformed byte sequence (a truncated number, a length past its message, a field with the
wrong wire type, a name that is not UTF-8) is a `ProtoError` with a short reason; counts that
would make the graph big (nodes, initializers, attribute values, dims) are checked while
scanning, before anything is built. Field numbers are onnx.proto's (IR version 10).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from convcalc.bridges.graph import printable
from convcalc.limits import MAX_LAYERS

MAX_RANK = 64
"""Dims of one tensor (ONNX has no limit; PyTorch's is 64)."""
MAX_ATTR_VALUES = 1 << 16
"""Values in one list attribute (kernel_shape, pads, perm ... hold a few)."""
MAX_NODE_IO = 1 << 16
"""Inputs or outputs of one node."""
MAX_SMALL_VALUES = 1 << 16
"""Values decoded from one tensor (the small constants a count needs)."""


class ProtoError(Exception):
    """The bytes are not a well-formed ONNX protobuf message (the message says why)."""


class LimitError(Exception):
    """The model is larger than a documented limit (the message names it)."""


# --- wire format -------------------------------------------------------------------------------

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    """An unsigned varint at `pos` and the position after it."""
    result = shift = 0
    while True:
        if pos >= end:
            raise ProtoError("a number is cut short")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("a number is longer than 10 bytes")


def signed(n: int) -> int:
    """A varint read as int64 (negative numbers are written as 10-byte two's complement)."""
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


def fields(buf: Any, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, a, b) of each field in buf[start:end]: for a varint a is the
    value; for the other wire types a:b is the value's bytes."""
    pos = start
    while pos < end:
        byte = buf[pos]
        if byte < 0x80:
            key, pos = byte, pos + 1
        else:
            key, pos = varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("a field numbered 0")
        if wire == VARINT:
            value, pos = varint(buf, pos, end)
            yield number, wire, value, pos
            continue
        if wire == LEN:
            byte = buf[pos] if pos < end else 0x80
            if byte < 0x80:
                size, pos = byte, pos + 1
            else:
                size, pos = varint(buf, pos, end)
            value = pos
            pos += size
        elif wire == I64:
            value, pos = pos, pos + 8
        elif wire == I32:
            value, pos = pos, pos + 4
        else:
            raise ProtoError(f"wire type {wire} (field {number}) is not one protobuf writes")
        if pos > end:
            raise ProtoError(f"field {number} runs past the end of its message")
        yield number, wire, value, pos


def _want(number: int, wire: int, allowed: tuple[int, ...], where: str) -> None:
    if wire not in allowed:
        raise ProtoError(f"{where} field {number} has wire type {wire}")


def _text(buf: Any, a: int, b: int, what: str) -> str:
    try:
        return bytes(buf[a:b]).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtoError(f"{what} is not UTF-8 text") from None


def _ints(buf: Any, number: int, wire: int, a: int, b: int, out: list[int], where: str,
          limit: int) -> None:
    """Append a repeated int64 field's values (packed or not)."""
    if wire == VARINT:
        out.append(signed(a))
    elif wire == LEN:
        pos = a
        while pos < b:
            value, pos = varint(buf, pos, b)
            out.append(signed(value))
            if len(out) > limit:
                break
    else:
        _want(number, wire, (VARINT, LEN), where)
    if len(out) > limit:
        raise LimitError(f"{where} has more than {limit:,} values")


def _floats(buf: Any, number: int, wire: int, a: int, b: int, out: list[float], where: str,
            limit: int) -> None:
    if wire == I32:
        out.append(struct.unpack("<f", bytes(buf[a:b]))[0])
    elif wire == LEN:
        if (b - a) % 4:
            raise ProtoError(f"{where} holds a partial float")
        if len(out) + (b - a) // 4 > limit:
            raise LimitError(f"{where} has more than {limit:,} values")
        out.extend(struct.unpack(f"<{(b - a) // 4}f", bytes(buf[a:b])))
    else:
        _want(number, wire, (I32, LEN), where)
    if len(out) > limit:
        raise LimitError(f"{where} has more than {limit:,} values")


# --- the messages --------------------------------------------------------------------------------

# TensorProto.DataType: (struct code, bytes) of the types whose values a count may need
DTYPES: dict[int, tuple[str, int]] = {1: ("f", 4), 2: ("B", 1), 3: ("b", 1), 4: ("H", 2),
                                      5: ("h", 2), 6: ("i", 4), 7: ("q", 8), 9: ("?", 1),
                                      10: ("e", 2), 11: ("d", 8), 12: ("I", 4), 13: ("Q", 8)}
FLOAT_TYPES = {1, 10, 11, 16}
TYPE_NAMES = {0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
              6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double",
              12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"}


@dataclass(slots=True)
class Tensor:
    """A TensorProto: name, dims, element type, and where its data is (never read here)."""

    name: str
    dims: tuple[int, ...]
    dtype: int
    span: tuple[int, int]
    """The message's bytes in the file (the data is decoded from there when needed)."""
    external: dict[str, str] | None = None
    """The external_data entries (location, offset, length) when data_location is EXTERNAL."""

    @property
    def elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


def read_tensor(buf: Any, start: int, end: int, where: str) -> Tensor:
    name = ""
    dims: list[int] = []
    dtype = 0
    external: dict[str, str] = {}
    location = 0
    for number, wire, a, b in fields(buf, start, end):
        if number == 1:
            _ints(buf, number, wire, a, b, dims, f"{where}'s dims", MAX_RANK)
        elif number == 2:
            _want(number, wire, (VARINT,), where)
            dtype = signed(a)
        elif number == 8:
            _want(number, wire, (LEN,), where)
            name = _text(buf, a, b, f"{where}'s name")
        elif number == 14:
            _want(number, wire, (VARINT,), where)
            location = a
        elif number == 13:
            _want(number, wire, (LEN,), where)
            key, value = _entry(buf, a, b, where)
            if len(external) > 16:
                raise ProtoError(f"{where} has too many external_data entries")
            external[key] = value
        elif number in (4, 5, 6, 7, 9, 10, 11):
            _want(number, wire, (LEN,) if number in (6, 9) else (LEN, VARINT, I32, I64), where)
    if any(d < 0 for d in dims):
        raise ProtoError(f"{where} '{printable(name)}' has a negative dim")
    return Tensor(name, tuple(dims), dtype, (start, end), external if location == 1 else None)


def _entry(buf: Any, start: int, end: int, where: str) -> tuple[str, str]:
    """A StringStringEntryProto: (key, value)."""
    key = value = ""
    for number, wire, a, b in fields(buf, start, end):
        if number in (1, 2):
            _want(number, wire, (LEN,), where)
            text = _text(buf, a, b, f"{where}'s external_data")
            if number == 1:
                key = text
            else:
                value = text
    return key, value


def tensor_values(buf: Any, tensor: Tensor) -> list[Any]:
    """The values of a tensor stored in the file (flattened), at most MAX_SMALL_VALUES."""
    n = tensor.elements
    if n > MAX_SMALL_VALUES:
        raise LimitError(f"tensor '{printable(tensor.name)}' has {n:,} values")
    start, end = tensor.span
    values: list[Any] = []
    raw: bytes | None = None
    for number, wire, a, b in fields(buf, start, end):
        if number == 9:
            raw = bytes(buf[a:b])
        elif number == 4:
            _floats(buf, number, wire, a, b, values, "float_data", n)
        elif number in (5, 7, 11):
            _ints(buf, number, wire, a, b, values, "int data", n)
        elif number == 10:
            if wire == I64:
                values.append(struct.unpack("<d", bytes(buf[a:b]))[0])
            elif wire == LEN and (b - a) % 8 == 0 and (b - a) // 8 <= n:
                values.extend(struct.unpack(f"<{(b - a) // 8}d", bytes(buf[a:b])))
            else:
                raise ProtoError("double_data is malformed")
    if raw is not None:
        return decode_raw(raw, tensor)
    if tensor.dtype == 9:
        values = [bool(v) for v in values]
    elif tensor.dtype in (6, 5, 3):  # int32_data holds the narrow signed types as int32
        values = [((v & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000 for v in values]
    elif tensor.dtype == 10:  # float16 in int32_data: the bit pattern
        values = [struct.unpack("<e", struct.pack("<H", v & 0xFFFF))[0] for v in values]
    if len(values) != n:
        raise ProtoError(f"tensor '{printable(tensor.name)}' holds {len(values)} values for dims "
                         f"{list(tensor.dims)}")
    return values


def decode_raw(raw: bytes, tensor: Tensor) -> list[Any]:
    n = tensor.elements
    code = DTYPES.get(tensor.dtype)
    if code is None:
        raise ProtoError(f"tensor '{printable(tensor.name)}' has element type "
                         f"{TYPE_NAMES.get(tensor.dtype, tensor.dtype)}, whose values convcalc "
                         "does not read")
    if len(raw) != n * code[1]:
        raise ProtoError(f"tensor '{printable(tensor.name)}' holds {len(raw)} bytes for {n} "
                         f"{TYPE_NAMES[tensor.dtype]} values")
    return list(struct.unpack(f"<{n}{code[0]}", raw))


@dataclass(slots=True)
class Attribute:
    name: str
    type: int
    value: Any


ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_GRAPH = 1, 2, 3, 4, 5
ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS, ATTR_TENSORS, ATTR_GRAPHS = 6, 7, 8, 9, 10
ATTR_TYPES = {1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats",
              7: "ints", 8: "strings", 9: "tensors", 10: "graphs", 11: "sparse tensor",
              12: "sparse tensors", 13: "type", 14: "types"}


def read_attribute(buf: Any, start: int, end: int, where: str) -> Attribute:
    name = ""
    kind = 0
    value: Any = None
    ints: list[int] = []
    floats: list[float] = []
    strings: list[str] = []
    seen: set[int] = set()
    for number, wire, a, b in fields(buf, start, end):
        seen.add(number)
        if number == 1:
            _want(number, wire, (LEN,), where)
            name = _text(buf, a, b, f"{where}: an attribute name")
        elif number == 20:
            _want(number, wire, (VARINT,), where)
            kind = a
        elif number == 2:
            _want(number, wire, (I32,), where)
            value = struct.unpack("<f", bytes(buf[a:b]))[0]
        elif number == 3:
            _want(number, wire, (VARINT,), where)
            value = signed(a)
        elif number == 4:
            _want(number, wire, (LEN,), where)
            value = bytes(buf[a:b]).decode("utf-8", "replace")
        elif number == 5:
            _want(number, wire, (LEN,), where)
            value = read_tensor(buf, a, b, f"{where}: attribute '{printable(name)}'")
        elif number == 6:
            _want(number, wire, (LEN,), where)
            value = (a, b)  # a subgraph: never read
        elif number == 7:
            _floats(buf, number, wire, a, b, floats, f"{where}: attribute '{printable(name)}'",
                    MAX_ATTR_VALUES)
        elif number == 8:
            _ints(buf, number, wire, a, b, ints, f"{where}: attribute '{printable(name)}'", MAX_ATTR_VALUES)
        elif number == 9:
            _want(number, wire, (LEN,), where)
            strings.append(bytes(buf[a:b]).decode("utf-8", "replace"))
            if len(strings) > MAX_ATTR_VALUES:
                raise LimitError(f"{where}: attribute '{printable(name)}' has more than "
                                 f"{MAX_ATTR_VALUES:,} values")
    if not kind:  # IR < 3 left the type out: read it from the field that is set
        kind = (ATTR_FLOATS if 7 in seen else ATTR_INTS if 8 in seen else ATTR_STRINGS
                if 9 in seen else ATTR_FLOAT if 2 in seen else ATTR_INT if 3 in seen else
                ATTR_STRING if 4 in seen else ATTR_TENSOR if 5 in seen else ATTR_GRAPH
                if 6 in seen else 0)
    if kind == ATTR_INTS:
        value = ints
    elif kind == ATTR_FLOATS:
        value = floats
    elif kind == ATTR_STRINGS:
        value = strings
    elif kind == ATTR_FLOAT and value is None:
        value = 0.0
    elif kind == ATTR_INT and value is None:
        value = 0
    elif kind == ATTR_STRING and value is None:
        value = ""
    if kind in (ATTR_FLOAT, ATTR_INT) and not isinstance(value, float if kind == ATTR_FLOAT
                                                         else int):
        raise ProtoError(f"{where}: attribute '{printable(name)}' is declared {ATTR_TYPES[kind]} but "
                         "holds another type")
    return Attribute(name, kind, value)


@dataclass(slots=True)
class NodeInfo:
    op_type: str
    domain: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: list[Attribute]


_NODE_FIELDS = {1: "input", 2: "output", 3: "name", 4: "op type", 7: "domain"}


def read_node(buf: Any, start: int, end: int, index: int) -> NodeInfo:
    where = f"node {index}"
    op = domain = name = ""
    inputs: list[str] = []
    outputs: list[str] = []
    attrs: list[Attribute] = []
    for number, wire, a, b in fields(buf, start, end):
        if number in (1, 2, 3, 4, 7):
            _want(number, wire, (LEN,), where)
            text = _text(buf, a, b, f"{where}'s {_NODE_FIELDS[number]}")
            if number == 1:
                inputs.append(text)
            elif number == 2:
                outputs.append(text)
            elif number == 3:
                name = text
                where = f"node {index} '{printable(name)}'"
            elif number == 4:
                op = text
            else:
                domain = text
            if len(inputs) > MAX_NODE_IO or len(outputs) > MAX_NODE_IO:
                raise LimitError(f"{where} has more than {MAX_NODE_IO:,} inputs or outputs")
        elif number == 5:
            _want(number, wire, (LEN,), where)
            attrs.append(read_attribute(buf, a, b, where))
            if len(attrs) > MAX_NODE_IO:
                raise LimitError(f"{where} has more than {MAX_NODE_IO:,} attributes")
    if not op:
        raise ProtoError(f"{where} has no op type")
    return NodeInfo(op, domain, name, inputs, outputs, attrs)


@dataclass(slots=True)
class ValueInfo:
    """A graph input or output: its name, element type and dims (int, a named dim, or None)."""

    name: str
    elem_type: int
    dims: tuple[int | str | None, ...] | None


def read_value_info(buf: Any, start: int, end: int, where: str) -> ValueInfo:
    name = ""
    elem = 0
    dims: tuple[int | str | None, ...] | None = None
    for number, wire, a, b in fields(buf, start, end):
        if number == 1:
            _want(number, wire, (LEN,), where)
            name = _text(buf, a, b, f"{where}'s name")
        elif number == 2:
            _want(number, wire, (LEN,), where)
            for n2, w2, a2, b2 in fields(buf, a, b):  # TypeProto
                if n2 == 1:  # tensor_type
                    _want(n2, w2, (LEN,), where)
                    for n3, w3, a3, b3 in fields(buf, a2, b2):
                        if n3 == 1:
                            _want(n3, w3, (VARINT,), where)
                            elem = a3
                        elif n3 == 2:
                            _want(n3, w3, (LEN,), where)
                            dims = _shape(buf, a3, b3, where)
    return ValueInfo(name, elem, dims)


def _shape(buf: Any, start: int, end: int, where: str) -> tuple[int | str | None, ...]:
    dims: list[int | str | None] = []
    for number, wire, a, b in fields(buf, start, end):
        if number != 1:
            continue
        _want(number, wire, (LEN,), where)
        if len(dims) >= MAX_RANK:
            raise LimitError(f"{where} has more than {MAX_RANK} dims")
        dim: int | str | None = None
        for n2, w2, a2, b2 in fields(buf, a, b):
            if n2 == 1:
                _want(n2, w2, (VARINT,), where)
                value = signed(a2)
                dim = value if value > 0 else None
            elif n2 == 2:
                _want(n2, w2, (LEN,), where)
                dim = _text(buf, a2, b2, f"{where}'s dim name") or None
        dims.append(dim)
    return tuple(dims)


@dataclass(slots=True)
class GraphInfo:
    name: str
    nodes: list[NodeInfo]
    initializers: list[Tensor]
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    value_info: list[ValueInfo]
    sparse: int = 0
    """Sparse initializers (convcalc does not read them)."""


def read_graph(buf: Any, start: int, end: int) -> GraphInfo:
    """The graph, its node and initializer counts checked against the layer limit as they are
    scanned (a file with too many nodes is refused before one node is decoded)."""
    where = "the graph"
    spans: dict[int, array[int]] = {n: array("q") for n in (1, 5, 11, 12, 13)}
    name = ""
    sparse = 0
    pos = start
    node_spans = spans[1]
    limit = 2 * MAX_LAYERS
    while pos < end:  # fields() inlined: a graph may hold a million nodes
        number = buf[pos]
        if number == 0x0A:  # a node: the common case, kept short
            size = buf[pos + 1] if pos + 1 < end else 0x80
            if size < 0x80:
                a = pos + 2
                pos = a + size
            else:
                size, a = varint(buf, pos + 1, end)
                pos = a + size
            node_spans.append(a)
            node_spans.append(pos)
            if len(node_spans) > limit:
                raise LimitError(f"the graph has more than {MAX_LAYERS:,} nodes (the layer "
                                 "limit)")
            continue
        if number < 0x80 and number & 7 == LEN and pos + 1 < end and buf[pos + 1] < 0x80:
            a = pos + 2
            b = a + buf[pos + 1]
            number >>= 3
        else:
            key, after = varint(buf, pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise ProtoError("a field numbered 0")
            if wire != LEN and (number in spans or number == 2):
                raise ProtoError(f"{where} field {number} has wire type {wire}")
            if wire == LEN:
                size, a = varint(buf, after, end)
                b = a + size
            elif wire == VARINT:
                _, pos = varint(buf, after, end)
                continue
            elif wire in (I64, I32):
                a, b = after, after + (8 if wire == I64 else 4)
            else:
                raise ProtoError(f"wire type {wire} (field {number}) is not one protobuf writes")
        if b > end:
            raise ProtoError(f"field {number} runs past the end of its message")
        pos = b
        group = spans.get(number)
        if group is not None:
            group.append(a)
            group.append(b)
            if len(group) > 2 * MAX_LAYERS:
                what = {1: "nodes", 5: "initializers"}.get(number, "inputs or outputs")
                raise LimitError(f"the graph has more than {MAX_LAYERS:,} {what} (the layer "
                                 "limit)")
        elif number == 2:
            name = _text(buf, a, b, "the graph's name")
        elif number == 15:
            sparse += 1

    if pos > end:
        raise ProtoError("a node runs past the end of the graph")

    def each(number: int) -> Iterator[tuple[int, int, int]]:
        group = spans[number]
        for i in range(0, len(group), 2):
            yield i // 2, group[i], group[i + 1]

    nodes = [read_node(buf, a, b, i) for i, a, b in each(1)]
    inits = [read_tensor(buf, a, b, f"initializer {i}") for i, a, b in each(5)]
    inputs = [read_value_info(buf, a, b, f"graph input {i}") for i, a, b in each(11)]
    outputs = [read_value_info(buf, a, b, f"graph output {i}") for i, a, b in each(12)]
    infos = [read_value_info(buf, a, b, f"value_info {i}") for i, a, b in each(13)]
    return GraphInfo(name, nodes, inits, inputs, outputs, infos, sparse)


@dataclass(slots=True)
class ModelInfo:
    ir_version: int
    opsets: dict[str, int]
    graph: GraphInfo
    opset_entries: int = 0
    functions: list[str] = field(default_factory=list)


def read_model(buf: Any) -> ModelInfo:
    """A ModelProto from the bytes (a bytes object, a memoryview or an mmap)."""
    end = len(buf)
    ir = None
    graph: tuple[int, int] | None = None
    opsets: dict[str, int] = {}
    entries = 0
    for number, wire, a, b in fields(buf, 0, end):
        if number == 1:
            _want(number, wire, (VARINT,), "the model")
            ir = signed(a)
        elif number == 7:
            _want(number, wire, (LEN,), "the model")
            graph = (a, b)
        elif number == 8:
            _want(number, wire, (LEN,), "the model")
            entries += 1
            if entries > 1000:
                raise ProtoError("the model names more than 1,000 operator sets")
            domain, version = "", 0
            for n2, w2, a2, b2 in fields(buf, a, b):
                if n2 == 1:
                    _want(n2, w2, (LEN,), "an operator set")
                    domain = _text(buf, a2, b2, "an operator set's domain")
                elif n2 == 2:
                    _want(n2, w2, (VARINT,), "an operator set")
                    version = signed(a2)
            opsets[domain] = version
        elif number in (2, 3, 4, 6, 14, 20, 25, 26):
            _want(number, wire, (LEN,), "the model")
        elif number == 5:
            _want(number, wire, (VARINT,), "the model")
    if graph is None:
        raise ProtoError("no graph")
    if ir is None:
        raise ProtoError("no IR version")
    return ModelInfo(ir, opsets, read_graph(buf, *graph), entries)

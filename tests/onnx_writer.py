"""A tiny writer of ONNX protobuf bytes for tests, without the onnx package: enough to build
valid and hostile models field by field (field numbers from onnx.proto).

    model(graph([node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
                [value("x", [1, 3, 8, 8])], [value("y")], [tensor("w", [8, 3, 3, 3])]))
"""

from __future__ import annotations

import struct
from typing import Any


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field."""
    data = payload.encode() if isinstance(payload, str) else payload
    return key(number, 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def packed(number: int, values: list[int]) -> bytes:
    return ld(number, b"".join(varint(v) for v in values))


FLOAT, INT64, INT32 = 1, 7, 6


def tensor(name: str, dims: list[int], dtype: int = FLOAT, values: list[Any] | None = None,
           raw: bytes | None = None, external: dict[str, str] | None = None) -> bytes:
    """A TensorProto: zeros as raw data unless values (or raw bytes, or external data) are
    given."""
    out = packed(1, dims) + vi(2, dtype) + ld(8, name)
    if external is not None:
        out += b"".join(ld(13, ld(1, k) + ld(2, v)) for k, v in external.items()) + vi(14, 1)
        return out
    if raw is None:
        n = 1
        for d in dims:
            n *= d
        code = {FLOAT: "f", INT64: "q", INT32: "i", 11: "d", 9: "?"}[dtype]
        raw = struct.pack(f"<{n}{code}", *(values if values is not None else [0] * n))
    return out + ld(9, raw)


def attr(name: str, value: Any) -> bytes:
    """An AttributeProto, its type read from the Python value (bytes: a TensorProto)."""
    out = ld(1, name)
    if isinstance(value, bool | int):
        return out + vi(20, 2) + vi(3, int(value))
    if isinstance(value, float):
        return out + vi(20, 1) + key(2, 5) + struct.pack("<f", value)
    if isinstance(value, str):
        return out + vi(20, 3) + ld(4, value)
    if isinstance(value, bytes):
        return out + vi(20, 4) + ld(5, value)
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return out + vi(20, 7) + packed(8, value)
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return out + vi(20, 6) + ld(7, struct.pack(f"<{len(value)}f", *value))
    if isinstance(value, list):
        return out + vi(20, 8) + b"".join(ld(9, v) for v in value)
    raise TypeError(value)


def node(op: str, inputs: list[str], outputs: list[str], name: str = "", domain: str = "",
         **attrs: Any) -> bytes:
    out = b"".join(ld(1, i) for i in inputs) + b"".join(ld(2, o) for o in outputs)
    if name:
        out += ld(3, name)
    out += ld(4, op)
    if domain:
        out += ld(7, domain)
    return out + b"".join(ld(5, attr(k, v)) for k, v in attrs.items())


def value(name: str, dims: list[Any] | None = None, elem: int = FLOAT) -> bytes:
    """A ValueInfoProto: dims are ints, names (dynamic) or None (unknown)."""
    tensor_type = vi(1, elem)
    if dims is not None:
        shape = b""
        for d in dims:
            dim = vi(1, d) if isinstance(d, int) else ld(2, d) if isinstance(d, str) else b""
            shape += ld(1, dim)
        tensor_type += ld(2, shape)
    return ld(1, name) + ld(2, ld(1, tensor_type))


def graph(nodes: list[bytes], inputs: list[bytes], outputs: list[bytes],
          inits: list[bytes] | None = None, name: str = "g") -> bytes:
    return (b"".join(ld(1, n) for n in nodes) + ld(2, name)
            + b"".join(ld(5, t) for t in inits or [])
            + b"".join(ld(11, i) for i in inputs) + b"".join(ld(12, o) for o in outputs))


def model(g: bytes, opset: int = 17, ir: int = 8) -> bytes:
    return vi(1, ir) + ld(2, "tests") + ld(7, g) + ld(8, ld(1, "") + vi(2, opset))


def simple(nodes: list[bytes], inits: list[bytes], shape: list[Any], out: str = "y",
           opset: int = 17) -> bytes:
    """A model with input x of `shape` and output `out`."""
    return model(graph(nodes, [value("x", shape)], [value(out)], inits), opset)

"""ONNX shape rules of the operators with weights: convolutions, pools and matrix products.

Conv, ConvTranspose (with ONNX's auto_pad and pads), the pools (windowed and global), Gemm,
MatMul and Einsum. Takes a node, its `Attrs` and its inputs' shapes; gives its outputs'
shapes, after checking that a weight fits its input and its attributes (else `GraphError`).
"""

from __future__ import annotations

from convcalc.bridges.onnx_nodes import (
    Attrs,
    Dims,
    GraphError,
    broadcast,
    dims_text,
    node_label,
    tensor_label,
)
from convcalc.bridges.onnx_proto import NodeInfo
from convcalc.bridges.onnx_rules import POOLS, RuleBook


def pads_for(n: NodeInfo, at: Attrs, spatial: Dims, kernel: list[int], strides: list[int],
             dil: list[int], transposed: bool = False) -> list[int]:
    rank = len(spatial)
    auto = at.string("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise GraphError(f"{node_label(n)}: auto_pad '{auto}' is not one of NOTSET, SAME_UPPER, "
                         "SAME_LOWER, VALID")
    pads = at.ints("pads")
    if pads is not None and auto != "NOTSET":
        raise GraphError(f"{node_label(n)}: pads and auto_pad {auto} are both given")
    if auto == "VALID":
        return [0] * (2 * rank)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(rank):
            size = spatial[i] * strides[i] if transposed else -(-spatial[i] // strides[i])
            if transposed:
                total = max(0, strides[i] * (spatial[i] - 1) + (kernel[i] - 1) * dil[i] + 1
                            - size)
            else:
                total = max(0, (size - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1
                            - spatial[i])
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return [p[0] for p in out] + [p[1] for p in out]
    pads = pads if pads is not None else [0] * (2 * rank)
    if len(pads) != 2 * rank or any(p < 0 for p in pads):
        raise GraphError(f"{node_label(n)}: pads {pads} must be {2 * rank} numbers ≥ 0 (begin and "
                         f"end of {rank} spatial axes)")
    return pads


def _axes_attr(n: NodeInfo, at: Attrs, name: str, rank: int, default: int) -> list[int]:
    v = at.ints(name)
    v = [default] * rank if v is None else v
    if len(v) != rank or any(x < 1 for x in v):
        raise GraphError(f"{node_label(n)}: {name} {v} must be {rank} numbers ≥ 1")
    return v


def window(n: NodeInfo, at: Attrs, x: Dims, kernel: list[int]) -> tuple[Dims, list[int]]:
    """The spatial output of a conv or a pool, and its pads (begin…end)."""
    rank = len(x) - 2
    strides = _axes_attr(n, at, "strides", rank, 1)
    dil = _axes_attr(n, at, "dilations", rank, 1)
    pads = pads_for(n, at, x[2:], kernel, strides, dil)
    ceil = at.integer("ceil_mode", 0) if n.op_type in POOLS else 0
    out = []
    for i in range(rank):
        span = x[2 + i] + pads[i] + pads[rank + i] - dil[i] * (kernel[i] - 1) - 1
        if span < 0:
            raise GraphError(f"{node_label(n)}: the kernel ({dil[i] * (kernel[i] - 1) + 1} with "
                             f"dilation) is larger than spatial axis {i} "
                             f"({x[2 + i]} + padding {pads[i] + pads[rank + i]})")
        # ONNX's rule (onnx.shape_inference): no PyTorch-style drop of a last window that
        # would start in the end padding; convcalc's own walk then checks the layer against it
        out.append((-(-span // strides[i]) if ceil else span // strides[i]) + 1)
    return tuple(out), pads


class ConvRules(RuleBook):
    """The rules of the operators with weights (the weight is a constant of the file)."""

    def weight(self, n: NodeInfo, index: int, what: str) -> Dims:
        t = n.inputs[index]
        if t in self.shapes:
            raise GraphError(f"{node_label(n)}: its {what} '{tensor_label(t)}' is computed from the "
                             "input (an activation), not a weight; convcalc counts weights only")
        d = self.dims(t)
        if d is None:
            raise GraphError(f"{node_label(n)}: its {what} '{tensor_label(t)}' has no known shape")
        return d

    def rule_Conv(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        w = self.weight(n, 1, "weight")
        group = at.integer("group", 1)
        _check_rank(n, x, w)
        if group < 1 or x[1] % group or w[0] % group:
            raise GraphError(f"{node_label(n)}: group {group} must divide the input's {x[1]} "
                             f"channels and the weight's {w[0]} outputs")
        if w[1] * group != x[1]:
            raise GraphError(f"{node_label(n)}: weight {dims_text(w)} takes {w[1] * group} input channels "
                             f"(group {group}); the input has {x[1]}")
        _check_kernel(n, at, w)
        self.bias(n, 2, w[0])
        spatial, _ = window(n, at, x, list(w[2:]))
        return [(x[0], w[0], *spatial)]

    def bias(self, n: NodeInfo, index: int, size: int) -> None:
        if len(n.inputs) > index and n.inputs[index]:
            d = self.weight(n, index, "bias")
            if d != (size,):
                raise GraphError(f"{node_label(n)}: bias '{tensor_label(n.inputs[index])}' is "
                                 f"{dims_text(d)}; it must be {size}")

    def rule_ConvTranspose(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                           ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        w = self.weight(n, 1, "weight")
        group = at.integer("group", 1)
        rank = len(x) - 2
        _check_rank(n, x, w)
        if group < 1 or w[0] != x[1] or x[1] % group:
            raise GraphError(f"{node_label(n)}: weight {dims_text(w)} takes {w[0]} input channels; the "
                             f"input has {x[1]} (group {group})")
        _check_kernel(n, at, w)
        self.bias(n, 2, w[1] * group)
        k = list(w[2:])
        strides = _axes_attr(n, at, "strides", rank, 1)
        dil = _axes_attr(n, at, "dilations", rank, 1)
        out_pad = at.ints("output_padding") or [0] * rank
        if len(out_pad) != rank or any(p < 0 for p in out_pad):
            raise GraphError(f"{node_label(n)}: output_padding {out_pad} must be {rank} numbers ≥ 0")
        given = at.ints("output_shape")
        if given is not None:
            given = given[-rank:] if len(given) >= rank else None
            if given is None or any(g < 1 for g in given):
                raise GraphError(f"{node_label(n)}: output_shape {at.ints('output_shape')} must end "
                                 f"with {rank} sizes ≥ 1")
            return [(x[0], w[1] * group, *given)]
        pads = pads_for(n, at, x[2:], k, strides, dil, transposed=True)
        if at.string("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
            return [(x[0], w[1] * group, *(x[2 + i] * strides[i] for i in range(rank)))]
        spatial = tuple(strides[i] * (x[2 + i] - 1) + out_pad[i] + (k[i] - 1) * dil[i] + 1
                        - pads[i] - pads[rank + i] for i in range(rank))
        if any(s < 1 for s in spatial):
            raise GraphError(f"{node_label(n)}: its output would be {dims_text(spatial)}")
        return [(x[0], w[1] * group, *spatial)]

    def rule_MaxPool(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                     ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        kernel = at.ints("kernel_shape")
        if kernel is None or len(kernel) != len(x) - 2 or any(k < 1 for k in kernel):
            raise GraphError(f"{node_label(n)}: kernel_shape {kernel} must be {len(x) - 2} numbers "
                             "≥ 1")
        spatial, _ = window(n, at, x, kernel)
        out = (*x[:2], *spatial)
        return [out, out]

    rule_AveragePool = rule_MaxPool
    rule_LpPool = rule_MaxPool

    def rule_GlobalAveragePool(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                               ) -> list[Dims | None] | None:
        x = shapes[0]
        assert x is not None
        return [(*x[:2], *[1] * (len(x) - 2))]

    rule_GlobalMaxPool = rule_GlobalAveragePool
    rule_GlobalLpPool = rule_GlobalAveragePool

    def rule_Gemm(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]) -> list[Dims | None] | None:
        a, b = shapes[0], shapes[1]
        if a is None or b is None:
            return None
        if len(a) != 2 or len(b) != 2:
            raise GraphError(f"{node_label(n)}: Gemm multiplies matrices; got {dims_text(a)} and "
                             f"{dims_text(b)}")
        m, k = (a[1], a[0]) if at.integer("transA", 0) else a
        k2, nn = (b[1], b[0]) if at.integer("transB", 0) else b
        if k != k2:
            raise GraphError(f"{node_label(n)}: {dims_text(a)} and {dims_text(b)} do not multiply")
        return [(m, nn)]

    def rule_Einsum(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        """The explicit form `ab,bc->ac` (MaxViT's attention products); no ellipsis."""
        raw = at.string("equation", "")
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        eq = text.replace(" ", "")
        if "->" not in eq or "..." in eq or any(s is None for s in shapes):
            return None
        if eq.count("->") != 1 or len(set(eq.split("->")[1])) != len(eq.split("->")[1]):
            raise GraphError(f"{node_label(n)}: equation {text[:60]!r} is not one of the form "
                             "ab,bc->ac (one arrow, each output axis once)")
        left, out = eq.split("->")
        terms = left.split(",")
        if len(terms) != len(shapes):
            raise GraphError(f"{node_label(n)}: equation {text!r} names {len(terms)} inputs, the "
                             f"node has {len(shapes)}")
        sizes: dict[str, int] = {}
        for term, dims in zip(terms, shapes, strict=True):
            assert dims is not None
            if len(term) != len(dims):
                raise GraphError(f"{node_label(n)}: {term!r} has {len(term)} axes, the input "
                                 f"{dims_text(dims)}")
            for letter, d in zip(term, dims, strict=True):
                if sizes.setdefault(letter, d) != d and 1 not in (d, sizes[letter]):
                    raise GraphError(f"{node_label(n)}: axis {letter!r} is {sizes[letter]} and {d}")
                sizes[letter] = max(sizes[letter], d)
        if any(letter not in sizes for letter in out):
            raise GraphError(f"{node_label(n)}: output axis of {text!r} not in its inputs")
        return [tuple(sizes[letter] for letter in out)]

    def rule_MatMul(self, n: NodeInfo, at: Attrs, shapes: list[Dims | None]
                    ) -> list[Dims | None] | None:
        a, b = shapes[0], shapes[1]
        if a is None or b is None:
            return None
        if not a or not b:
            raise GraphError(f"{node_label(n)}: MatMul needs tensors of rank ≥ 1")
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        if a2[-1] != b2[-2]:
            raise GraphError(f"{node_label(n)}: {dims_text(a)} and {dims_text(b)} do not multiply")
        batch = broadcast(n, [a2[:-2], b2[:-2]])
        out = (*batch, a2[-2], b2[-1])
        if len(a) == 1:
            out = (*out[:-2], out[-1])
        if len(b) == 1:
            out = out[:-1]
        return [out]


def _check_rank(n: NodeInfo, x: Dims, w: Dims) -> None:
    """A conv's input and weight: N×C×spatial and O×I×kernel, one rank, at least 3."""
    if len(x) < 3 or len(w) != len(x):
        raise GraphError(f"{node_label(n)}: input {dims_text(x)} and weight {dims_text(w)} need "
                         "the same rank, at least 3")


def _check_kernel(n: NodeInfo, at: Attrs, w: Dims) -> None:
    """A conv's `kernel_shape`, where given, is its weight's."""
    kernel = at.ints("kernel_shape")
    if kernel is not None and list(kernel) != list(w[2:]):
        raise GraphError(f"{node_label(n)}: kernel_shape {kernel} differs from the weight's "
                         f"{list(w[2:])}")

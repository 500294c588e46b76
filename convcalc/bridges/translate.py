"""Translate: one handler per operator, in a table (`HANDLERS`), as fvcore's handles.

Takes: the fused node list. Gives: `BuilderState.ops`, the convcalc layers, merges and splits
the nodes are (with the layouts and aliases of their tensors); an operator convcalc cannot count
becomes an identity, named in `uncounted`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from convcalc.bridges import translate_tokens as tokens
from convcalc.bridges.fuse import Fuser
from convcalc.bridges.graph import Dims, Node, printable
from convcalc.bridges.ops import ACTS, BIAS_KINDS, Op
from convcalc.bridges.translate_tokens import keep_view, uncounted


def _axes(values: Iterable[int]) -> int | list[int]:
    v = [int(x) for x in values]
    return v[0] if v and all(x == v[0] for x in v) else v


class Translator(Fuser):
    """The nodes → ops pass."""

    def data_inputs(self, n: Node) -> list[str]:
        """The node's data inputs by their own names (shapes and layouts are looked up by
        these; `real` gives the tensor they stand for once no-op nodes are gone)."""
        return [t for t in n.inputs if self.is_data(t)]

    def add(self, role: str, n: Node, inputs: list[str], outputs: list[str], kind: str = "",
            comment: str | None = None, **fields: Any) -> Op:
        op = Op(role, [self.real(t) for t in inputs], outputs, n, kind, fields, comment=comment)
        op.pos = len(self.ops)
        self.ops.append(op)
        for o in outputs:
            self.producer[o] = op
        return op

    def same_layout(self, n: Node, x: str) -> None:
        for o in n.outputs[:1]:
            self.layout[o] = self.layout.get(x, tuple(range(len(self.raw(x)))))
            keep_view(self, x, o)

    def layer(self, n: Node, x: str, kind: str, comment: str | None = None, **fields: Any) -> Op:
        out = n.outputs[0]
        self.same_layout(n, x)
        return self.add("layer", n, [x], [out], kind, comment, **fields)

    def identity(self, n: Node, x: str) -> None:
        self.alias[n.outputs[0]] = x
        self.same_layout(n, x)

    def need_canonical(self, n: Node, x: str) -> None:
        lay = self.layout.get(x)
        if lay is not None and lay != tuple(range(len(lay))):
            raise self.fail(n, "runs on a permuted tensor (channels not second); convcalc "
                               "follows this op only in N×C×… layout")

    def convert(self, n: Node) -> None:
        ins = self.data_inputs(n)
        op = n.op
        if op in ("Identity", "Dropout") and len(ins) == 1:
            if ins[0] != n.inputs[0]:  # Dropout(constant, ratio=the input): no data flows
                raise self.fail(n, f"its data {printable(n.inputs[0])!r} is a constant and its "
                                   "ratio is computed from the input; convcalc reads Dropout "
                                   "on data")
            if op == "Dropout":
                ratio = self.const(n.inputs[1]) if len(n.inputs) > 1 and n.inputs[1] else None
                p = ratio[0] if ratio else n.attrs.get("ratio", 0.5)
                self.layer(n, ins[0], "dropout", p=_round(p))
            else:
                self.identity(n, ins[0])
            return
        if not ins:
            raise self.fail(n, "has no data input")
        x = ins[0]
        if op in ACTS and op != "Softmax":
            self.layer(n, x, ACTS[op])
            return
        handler = HANDLERS.get(op)
        if handler is not None:
            handler(self, n, x, ins)
            return
        self.unknown(n, x, ins)

    def unknown(self, n: Node, x: str, ins: list[str]) -> None:
        outs = [o for o in n.outputs if o]
        if len(ins) == 1 and len(outs) == 1 and self.g.shape(outs[0]) == self.raw(x):
            self.uncountable(n)
            self.layer(n, x, "identity", comment=f"{n.op}: not counted")
            return
        shapes = " and ".join("×".join(map(str, self.raw(t))) for t in ins)
        out_shape = self.g.shape(outs[0]) if outs else None
        after = "×".join(map(str, out_shape)) if out_shape else "?"
        if len(ins) == 1 and len(outs) == 1 and out_shape:
            uncounted(self, n, x, outs[0], out_shape)  # kept for its shape, named in a warning
            return
        raise self.fail(n, f"convcalc has no layer kind for this operator ({shapes} → {after})")

    # convolutions

    def conv_geometry(self, n: Node, rank: int) -> tuple[Any, Any, Any, Any]:
        strides = n.attrs.get("strides", [1] * rank)
        dil = n.attrs.get("dilations", [1] * rank)
        pads = n.attrs.get("pads", [0] * (2 * rank))
        auto = n.attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if any(s != 1 for s in strides) or auto == "SAME_LOWER":
                raise self.fail(n, f"auto_pad {auto} with stride {list(strides)}: convcalc "
                                   "writes 'same' padding only as PyTorch does (stride 1, extra "
                                   "on the right)")
            padding: Any = "same"
        elif auto == "VALID":
            padding = 0
        else:
            begin, end = list(pads[:rank]), list(pads[rank:])
            if begin != end:
                raise self.fail(n, f"pads {list(pads)} differ at the start and the end of an "
                                   "axis; convcalc's padding is symmetric")
            padding = _axes(begin)
        return _axes(strides), padding, _axes(dil), n.attrs.get("group", 1)

    def op_Conv(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        w = self.raw(n.inputs[1])
        rank = len(w) - 2
        cin = self.canon(x).channels
        out, kernel = w[0], _axes(n.attrs.get("kernel_shape", w[2:]))
        stride, padding, dilation, groups = self.conv_geometry(n, rank)
        bias = len(n.inputs) > 2 and bool(n.inputs[2])
        fields: dict[str, Any] = {}
        if groups == cin and groups > 1 and out % cin == 0:
            kind = "depthwise"
            fields["kernel"] = kernel
            if out // cin != 1:
                fields["multiplier"] = out // cin
        elif kernel == 1 and padding == 0 and dilation == 1:
            kind = "pointwise"
            fields["out"] = out
        else:
            kind = "conv"
            fields.update(out=out, kernel=kernel)
        if stride != 1:
            fields["stride"] = stride
        if kind != "pointwise" and padding != 0:
            fields["padding"] = padding
        if kind != "pointwise" and dilation != 1:
            fields["dilation"] = dilation
        if kind != "depthwise" and groups != 1:
            fields["groups"] = groups
        fields["bias"] = bias
        self.layer(n, x, kind, **fields)

    def op_ConvTranspose(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        w = self.raw(n.inputs[1])
        rank = len(w) - 2
        groups = n.attrs.get("group", 1)
        kernel = list(n.attrs.get("kernel_shape", w[2:]))
        op_pad = list(n.attrs.get("output_padding", [0] * rank))
        if "output_shape" in n.attrs:
            # ONNX: the pads are computed from output_shape (total padding T per axis, the
            # larger half at the start unless SAME_UPPER): PyTorch's padding ⌈T/2⌉ and an
            # output_padding of T mod 2 give the same output.
            geometry = {k: v for k, v in n.attrs.items() if k not in ("pads", "auto_pad")}
            stride, _, dilation, _ = self.conv_geometry(Node(n.op, n.name, n.inputs, n.outputs,
                                                             geometry), rank)
            want = list(n.attrs["output_shape"])[-rank:]
            total = [s * (i - 1) + p + d * (k - 1) + 1 - o for i, s, p, d, k, o in zip(
                self.canon(x).spatial, _list(stride, rank), op_pad, _list(dilation, rank),
                kernel, want, strict=True)]
            upper = n.attrs.get("auto_pad", "NOTSET") == "SAME_UPPER"
            if any(t < 0 for t in total) or (upper and any(t % 2 for t in total)):
                raise self.fail(n, f"output_shape {want} needs padding {total} (negative, or "
                                   "more at the end than at the start), which convcalc's "
                                   "transposed conv cannot write")
            padding: Any = _axes(-(-t // 2) for t in total)
            op_pad = [p + t % 2 for p, t in zip(op_pad, total, strict=True)]
        else:
            stride, padding, dilation, _ = self.conv_geometry(n, rank)
            if padding == "same":
                raise self.fail(n, "auto_pad on a transposed conv")
        fields: dict[str, Any] = {"out": w[1] * groups, "kernel": _axes(kernel)}
        if stride != 1:
            fields["stride"] = stride
        if padding != 0:
            fields["padding"] = padding
        if _axes(op_pad) != 0:
            fields["output_padding"] = _axes(op_pad)
        if dilation != 1:
            fields["dilation"] = dilation
        if groups != 1:
            fields["groups"] = groups
        fields["bias"] = len(n.inputs) > 2 and bool(n.inputs[2])
        self.layer(n, x, "transposed", **fields)

    def op_Gemm(self, n: Node, x: str, ins: list[str]) -> None:
        if not self.is_data(n.inputs[0]) or len(ins) != 1:
            raise self.fail(n, "multiplies two data tensors (attention-style); convcalc counts "
                               "matrix products only against weights")
        if n.attrs.get("transA", 0):
            raise self.fail(n, "transA=1: the input is transposed")
        w = self.raw(n.inputs[1])
        out = w[0] if n.attrs.get("transB", 0) else w[-1]
        bias = len(n.inputs) > 2 and bool(n.inputs[2])
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        if len(raw) == 2 and lay == (0, 1):
            self.layer(n, x, "linear", out=out, bias=bias)
        elif len(raw) > 2 and lay[-1] == 1:
            self.layer(n, x, "pointwise", out=out, bias=bias)
        else:
            raise self.fail(n, "contracts an axis that is not the channels")

    def op_MatMul(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) != 1 or not self.is_data(n.inputs[0]) or len(self.raw(n.inputs[1])) != 2:
            raise self.fail(n, "a product of two data tensors (or of a batch of matrices); "
                               "convcalc counts matrix products only against a weight matrix")
        n2 = Node("Gemm", n.name, n.inputs[:2], n.outputs, {"transB": 0}, n.scope, n.module)
        self.op_Gemm(n2, x, ins)

    # normalisation

    def op_BatchNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        affine = len(n.inputs) > 1 and bool(n.inputs[1])
        if affine:
            self.layer(n, x, "bn")
        else:
            self.layer(n, x, "bn", affine=False)

    def op_LayerNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", -1) % len(raw)
        if axis != len(raw) - 1 or lay[axis] != 1:
            raise self.fail(n, "normalizes over more than the channels (convcalc's layernorm is "
                               "over the C channels at each position)")
        fields: dict[str, Any] = {}
        if not (len(n.inputs) > 1 and n.inputs[1]):
            fields["affine"] = False
        elif not (len(n.inputs) > 2 and n.inputs[2]):
            fields["bias"] = False
        self.layer(n, x, "layernorm", **fields)

    def op_GroupNormalization(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        fields: dict[str, Any] = {"groups": n.attrs["num_groups"]}
        if not (len(n.inputs) > 1 and n.inputs[1]):
            fields["affine"] = False
        self.layer(n, x, "groupnorm", **fields)

    # activations

    def act(self, n: Node, x: str, kind: str) -> None:
        self.layer(n, x, kind)

    def op_Clip(self, n: Node, x: str, ins: list[str]) -> None:
        lo = n.attrs.get("min")
        hi = n.attrs.get("max")
        if len(n.inputs) > 1 and n.inputs[1]:
            v = self.const(n.inputs[1])
            lo = v[0] if v else None
        if len(n.inputs) > 2 and n.inputs[2]:
            v = self.const(n.inputs[2])
            hi = v[0] if v else None
        if lo == 0 and hi == 6:
            self.act(n, x, "relu6")
        elif lo == 0 and (hi is None or math.isinf(hi)):
            self.act(n, x, "relu")
        else:
            self.unknown(n, x, [x])

    def op_Softmax(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", -1) % len(raw)
        if lay[axis] != 1:
            self.unknown(n, x, [x])
            return
        self.act(n, x, "softmax")

    # pooling and resampling

    def pool(self, n: Node, x: str, kind: str) -> None:
        self.need_canonical(n, x)
        rank = len(self.raw(x)) - 2
        kernel = _axes(n.attrs["kernel_shape"])
        stride, padding, dilation, _ = self.conv_geometry(n, rank)
        if padding == "same":
            raise self.fail(n, "auto_pad on a pooling layer")
        fields: dict[str, Any] = {"kernel": kernel}
        if stride != kernel:
            fields["stride"] = stride
        if padding != 0:
            fields["padding"] = padding
        if kind == "maxpool" and dilation != 1:
            fields["dilation"] = dilation
        if n.attrs.get("ceil_mode", 0):
            fields["ceil_mode"] = True
        self.layer(n, x, kind, **fields)

    def op_MaxPool(self, n: Node, x: str, ins: list[str]) -> None:
        if len([o for o in n.outputs if o]) > 1:
            raise self.fail(n, "returns indices")
        self.pool(n, x, "maxpool")

    def op_AveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.pool(n, x, "avgpool")

    def op_GlobalAveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "global_avgpool")

    def op_GlobalMaxPool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "global_avgpool", comment="GlobalMaxPool: as global_avgpool (the same "
                                                   "shape and field, no MACs either)")

    def op_AdaptiveAveragePool(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        size = _axes(n.attrs["output_size"])
        if size == 1:
            self.layer(n, x, "global_avgpool")
        else:
            self.layer(n, x, "adaptive_avgpool", output_size=size)

    def op_ReduceMean(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        raw = self.raw(x)
        axes = n.attrs.get("axes")
        if axes is None and len(n.inputs) > 1 and n.inputs[1]:
            axes = self.const(n.inputs[1])
        if axes is None or sorted(int(a) % len(raw) for a in axes) != list(range(2, len(raw))):
            raise self.fail(n, "averages over other axes than the spatial ones")
        pooled = self.layer(n, x, "global_avgpool")
        if not n.attrs.get("keepdims", 1):
            # the mean drops the spatial axes: a pool to 1×…×1, then a flatten
            mid = n.outputs[0] + "#pooled"
            pooled.outputs = [mid]
            del self.producer[n.outputs[0]]
            self.producer[mid] = pooled
            self.g.shapes[mid] = (*raw[:2], *[1] * (len(raw) - 2))
            self.layout[mid] = tuple(range(len(raw)))
            self.layout[n.outputs[0]] = (0, 1)
            self.add("layer", n, [mid], [n.outputs[0]], "flatten")

    def op_Resize(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        a, b = self.raw(x), self.raw(n.outputs[0])
        if a[:2] != b[:2]:
            raise self.fail(n, f"resizes {'×'.join(map(str, a))} to {'×'.join(map(str, b))}; "
                               "convcalc's upsample keeps the batch and the channels")
        # to a size when the model asks for one (F.interpolate(size=…), ONNX Resize's `sizes`
        # input) or when no whole scale gives the output; by a whole scale otherwise
        by_size = bool(n.attrs.get("by_size")) or (n.op == "Resize" and len(n.inputs) > 3
                                                   and bool(n.inputs[3]))
        fields: dict[str, Any] = {}
        if by_size or any(o % i for i, o in zip(a[2:], b[2:], strict=True)):
            fields["size"] = _axes(b[2:])
        else:
            fields["scale"] = _axes(o // i for i, o in zip(a[2:], b[2:], strict=True))
        mode = str(n.attrs.get("mode", "nearest"))
        comment = None
        if mode not in ("nearest", "linear", "bilinear"):
            comment = f"{mode} resize: as linear (the same shape, no MACs)"
        if mode != "nearest":
            fields["mode"] = "linear"
        self.layer(n, x, "upsample", comment=comment, **fields)

    op_Upsample = op_Resize

    # reshapes

    def flatten_or(self, n: Node, x: str) -> None:
        a, b = self.raw(x), self.raw(n.outputs[0])
        if b == a:
            self.identity(n, x)
            return
        if tokens.to_tokens(self, n, x):
            return
        if len(b) == 2 and b[0] == a[0] and b[1] == math.prod(a[1:]):
            if len(a) > 2:
                self.need_canonical(n, x)
                self.layout[n.outputs[0]] = (0, 1)
                self.add("layer", n, [x], [n.outputs[0]], "flatten")
            else:
                self.identity(n, x)
            return
        raise self.fail(n, f"reshapes {'×'.join(map(str, a))} to {'×'.join(map(str, b))}; "
                           "convcalc follows reshapes that flatten to N×features")

    def op_Flatten(self, n: Node, x: str, ins: list[str]) -> None:
        self.flatten_or(n, x)

    op_Reshape = op_Flatten
    op_Squeeze = op_Flatten
    op_Unsqueeze = op_Flatten

    def op_Transpose(self, n: Node, x: str, ins: list[str]) -> None:
        if x in self.views:
            tokens.view_transpose(self, n, x)
            return
        raw = self.raw(x)
        perm = list(n.attrs.get("perm", list(range(len(raw)))[::-1]))
        if perm[0] != 0:
            raise self.fail(n, "moves the batch axis")
        lay = self.layout.get(x, tuple(range(len(raw))))
        self.alias[n.outputs[0]] = x
        self.layout[n.outputs[0]] = tuple(lay[p] for p in perm)

    def op_Slice(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        if len(raw) > 1 and self.channel_range(n, raw) == (0, raw[1]) and \
                self.raw(n.outputs[0]) == raw:
            self.identity(n, x)  # the whole tensor
            return
        if self.raw(n.outputs[0]) == raw:
            self.unknown(n, x, ins)
            return
        raise self.fail(n, f"{self.slice_text(n, x)}: convcalc reads a slice only as one path "
                           "of a channel split (slices of the channels that together cover "
                           "them, each concatenated back)")

    def op_ChannelShuffle(self, n: Node, x: str, ins: list[str]) -> None:
        self.need_canonical(n, x)
        self.layer(n, x, "shuffle", groups=n.attrs["groups"])

    def op_StochasticDepth(self, n: Node, x: str, ins: list[str]) -> None:
        fields: dict[str, Any] = {"p": _round(n.attrs.get("p", 0))}
        if n.attrs.get("mode", "row") != "row":
            fields["mode"] = n.attrs["mode"]
        self.layer(n, x, "stochastic_depth", **fields)

    def op_Split(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(x)
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", 0) % len(raw)
        if lay[axis] != 1:
            raise self.fail(n, "splits another axis than the channels")
        sizes = [self.raw(o)[axis] for o in n.outputs]
        op = self.add("split", n, [x], list(n.outputs))
        op.sizes = sizes
        for o in n.outputs:
            self.layout[o] = lay

    # element-wise merges

    def merge(self, n: Node, ins: list[str], role: str) -> None:
        out = self.raw(n.outputs[0])
        self.add(role, n, ins, [n.outputs[0]])
        self.layout[n.outputs[0]] = self.layout.get(ins[0], tuple(range(len(out))))
        keep_view(self, ins[0], n.outputs[0])
        for t in ins:
            if self.layout.get(t, tuple(range(len(self.raw(t))))) != \
                    self.layout[n.outputs[0]] and len(self.raw(t)) == len(out):
                raise self.fail(n, "combines tensors in different layouts")

    def op_Outputs(self, n: Node, x: str, ins: list[str]) -> None:
        """The model's outputs joined (`Graph.add_outputs`): the first goes on, the others are
        outputs of their own (`branches` with `merge: first`)."""
        tensors = list(dict.fromkeys(self.real(t) for t in ins))
        if len(tensors) == 1:
            self.identity(n, x)
            return
        self.add("first", n, tensors, [n.outputs[0]])
        self.same_layout(n, x)

    def op_Add(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 2:
            self.merge(n, ins, "add")
            return
        self.constant_operand(n, x, "Add")

    def op_Sum(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 1:
            self.identity(n, x)
        else:
            self.merge(n, ins, "add")

    def op_Mul(self, n: Node, x: str, ins: list[str]) -> None:
        if len(ins) == 2:
            self.merge(n, ins, "mul")
            return
        self.constant_operand(n, x, "Mul")

    def constant_operand(self, n: Node, x: str, what: str) -> None:
        """x ⊙ a constant: a learnt factor per channel (layer scale), or something uncounted."""
        other = [t for t in n.inputs if t and t != x and t in self.g.constants]
        c = self.g.constants[other[0]] if other else None
        canon = self.canon(x)
        if c is not None and what == "Mul" and c.elements == canon.channels > 1 and \
                _per_channel(c.shape, self.raw(x), self.layout.get(x)):
            self.layer(n, x, "layer_scale")
            return
        if c is not None and what == "Add" and tokens.pos_embedding(self, n, x, c.shape):
            return
        if c is not None and what == "Add" and c.elements == canon.channels > 1:
            prev = self.producer.get(self.real(x))
            if prev is not None and prev.role == "layer" and prev.kind in BIAS_KINDS and \
                    prev.fields.get("bias") is False and self.single_use(x):
                prev.fields["bias"] = True
                self.identity(n, x)
                return
        self.unknown(n, x, [x])

    def single_use(self, t: str) -> bool:
        return sum(t in (self.real(i) for i in n.inputs) for n in self.g.nodes) <= 1

    def op_Concat(self, n: Node, x: str, ins: list[str]) -> None:
        raw = self.raw(n.outputs[0])
        lay = self.layout.get(x, tuple(range(len(raw))))
        axis = n.attrs.get("axis", 1) % len(raw)
        if len(ins) == 1 and raw != self.raw(x):
            tokens.class_token(self, n, x)
            return
        if lay[axis] != 1:
            raise self.fail(n, "concatenates along another axis than the channels")
        if len(ins) == 1:
            self.identity(n, x)
            return
        self.merge(n, ins, "concat")


Handler = Callable[[Translator, Node, str, list[str]], None]
HANDLERS: dict[str, Handler] = {
    "Conv": Translator.op_Conv,
    "ConvTranspose": Translator.op_ConvTranspose,
    "Gemm": Translator.op_Gemm,
    "MatMul": Translator.op_MatMul,
    "BatchNormalization": Translator.op_BatchNormalization,
    "LayerNormalization": Translator.op_LayerNormalization,
    "GroupNormalization": Translator.op_GroupNormalization,
    "Clip": Translator.op_Clip,
    "Softmax": Translator.op_Softmax,
    "MaxPool": Translator.op_MaxPool,
    "AveragePool": Translator.op_AveragePool,
    "GlobalAveragePool": Translator.op_GlobalAveragePool,
    "GlobalMaxPool": Translator.op_GlobalMaxPool,
    "AdaptiveAveragePool": Translator.op_AdaptiveAveragePool,
    "ReduceMean": Translator.op_ReduceMean,
    "Resize": Translator.op_Resize,
    "Upsample": Translator.op_Upsample,
    "Flatten": Translator.op_Flatten,
    "Unsqueeze": Translator.op_Unsqueeze,
    "Squeeze": Translator.op_Squeeze,
    "Reshape": Translator.op_Reshape,
    "Transpose": Translator.op_Transpose,
    "Slice": Translator.op_Slice,
    "ChannelShuffle": Translator.op_ChannelShuffle,
    "StochasticDepth": Translator.op_StochasticDepth,
    "Split": Translator.op_Split,
    "Add": Translator.op_Add,
    "Sum": Translator.op_Sum,
    "Mul": Translator.op_Mul,
    "Concat": Translator.op_Concat,
    "Outputs": Translator.op_Outputs,
    "SelfAttention": tokens.op_SelfAttention,
    "PatchMerging": tokens.op_PatchMerging,
    "Partition": tokens.op_Partition,
    "Departition": tokens.op_Departition,
    "Gather": tokens.op_Gather,
}
"""One handler per ONNX operator (the activations in `ACTS` are one generic handler)."""


def _per_channel(shape: Dims, raw: Dims, lay: tuple[int, ...] | None) -> bool:
    """A constant that broadcasts along the channel axis only."""
    lay = lay or tuple(range(len(raw)))
    full = (1,) * (len(raw) - len(shape)) + tuple(shape)
    big = [i for i, d in enumerate(full) if d != 1]
    return len(big) == 1 and lay[big[0]] == 1


def _list(value: Any, rank: int) -> list[int]:
    return [value] * rank if isinstance(value, int) else list(value)


def _round(p: Any) -> Any:
    value = float(p)
    r = round(value, 6)
    return int(r) if r == int(r) else r

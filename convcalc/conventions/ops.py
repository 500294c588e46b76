"""The torch form of a network: the calls `convcalc export --to pytorch` makes, with their shapes.

A peer tool counts what runs in torch, so a convention needs to know which torch calls each
layer becomes. The export is the one torch form of a spec (convcalc/bridges/pytorch_export.py):
this module says, for every convcalc kind, which calls its module makes in `forward`, in order,
and builds them from the exact facts convcalc already has (the layer model `row.spec`, the
report's shapes and parts). No torch is imported and nothing is measured here.

An `Op` is one such call: `op` names it (the torch module or function, below), `input` and
`output` are its shapes at batch 1, `macs` is what PyTorch's FlopCounterMode counts for it (as
multiply-accumulates: conv, transposed conv, linear; 0 otherwise). A conv's or linear's bias add
is a separate op (`conv_bias`, `conv_transpose_bias`, `linear_bias`) that carries the layer's
fields too: torch fuses it into the same call, but every tool that counts it does so on its own.

The calls (`op`: the torch module or function, and the convcalc kinds that make it):

- `conv`, `conv_bias`: `nn.ConvNd` (conv, pointwise, grouped, depthwise, dilated,
  pointwise_group, and the parts of dwsep, spatial_sep, shuffle_unit, octave and se);
- `conv_transpose`, `conv_transpose_bias`: `nn.ConvTransposeNd` (transposed);
- `linear`, `linear_bias`: `nn.Linear`, after `torch.flatten(x, 1)` on a map (linear);
- `batchnorm`: `nn.BatchNormNd`; `groupnorm`: `nn.GroupNorm`; `layernorm2d`: the export's
  `LayerNorm2d(nn.LayerNorm)`, a subclass that calls `permute` and `F.layer_norm` (layernorm);
- `relu`, `relu6`, `hardswish`, `hardsigmoid`, `silu`, `sigmoid`, `gelu`, `tanh`, `leaky_relu`,
  `softmax`, `identity`: `nn.ReLU` … `nn.Softmax(dim=1)`, `nn.Identity` (the activations, and
  se's activation and gate);
- `maxpool`, `avgpool`: `nn.MaxPoolNd`, `nn.AvgPoolNd` (and the octave's 2×2 average pools);
  `adaptive_avgpool`: `nn.AdaptiveAvgPoolNd` (global_avgpool, adaptive_avgpool, se);
- `upsample`: `nn.Upsample(scale_factor=(s, …), mode)`, one factor per axis (upsample); the
  octave's is `nn.Upsample(scale_factor=2.0)`, a float (`scale` is then empty);
- `add`: the operator `a + b` (residual adds, `merge: add`, the octave's path sums); `mul`: the
  operator `a * b`, broadcasting (`merge: mul`, se's `scale * x`); `layer_scale`: the export's
  `LayerScale`, `self.gamma * x` with a parameter named `gamma`;
- `cat`, `split`, `flatten`, `channel_shuffle`, `dropout`, `stochastic_depth`: `torch.cat`,
  `torch.split`, `nn.Flatten`, the export's `ChannelShuffle(nn.ChannelShuffle)` (reshape,
  transpose, reshape), `nn.Dropout`, the export's
  `StochasticDepth` (the identity in eval mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from convcalc import formulas as F
from convcalc.report import LayerReport, NetworkReport
from convcalc.shapes import Shape
from convcalc.tree import TBranches, TLayer, TNode, TResidual, TSeq, TSplit

Axes = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Op:
    """One torch call: what runs (`op`), on what (`input`, `output`, batch 1), and its fields."""

    op: str
    input: Shape
    output: Shape
    n_in: int
    """numel of the input at batch 1."""
    n_out: int
    macs: int = 0
    """PyTorch FlopCounterMode's count for this call, in MACs (its FLOPs / 2)."""
    groups: int = 1
    kernel: Axes = ()
    stride: Axes = ()
    padding: Axes | str = ()
    """Per-axis ints as the module holds them, or the string 'same' / 'valid'."""
    dilation: Axes = ()
    output_padding: Axes = ()
    bias: bool = False
    affine: bool = False
    mode: str = ""
    scale: Axes = ()
    """Upsampling factors per axis (empty: the octave's scalar `scale_factor=2.0`)."""
    size: Axes = ()
    """F.interpolate's `size` (the output's spatial sizes) when the export passes one."""
    operands: tuple[Shape, ...] = ()
    """An elementwise op's two operands (their shapes, batch 1), in the order written."""
    form: str = "module"
    """How the model writes the call (the layer's `op`, convcalc.conventions.op_forms):
    module, function, method or channels_last."""
    heads: int = 0
    """An attention call's heads (Swin V2's cosine attention: its norms' rows, its logit
    scale's parameters)."""
    once: bool = False
    """Run once per forward pass on parameters or buffers, not on the samples (Swin V2's
    position-bias MLP on its coordinate table): a batch does not multiply it, and it is not
    work on the data (no other ops)."""


def make(op: str, inp: Shape, out: Shape, **fields: Any) -> Op:
    return Op(op, inp, out, inp.elements, out.elements, **fields)


def _axes(value: int | Sequence[int], rank: int) -> Axes:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _padding(value: int | Sequence[int] | str, rank: int) -> Axes | str:
    return value if isinstance(value, str) else _axes(value, rank)


# --- layers ------------------------------------------------------------------------------------

def conv_ops(part: LayerReport, *, kernel: int | Sequence[int], stride: int | Sequence[int] = 1,
             padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
             groups: int = 1, bias: bool) -> list[Op]:
    """`nn.ConvNd(...)` as the export writes it for a report (a layer or a part): the
    convolution, then its bias add when it has one."""
    rank = part.input.rank
    conv = make("conv", part.input, part.output, macs=part.macs, groups=groups,
                kernel=_axes(kernel, rank), stride=_axes(stride, rank),
                padding=_padding(padding, rank), dilation=_axes(dilation, rank), bias=bias)
    if not bias:
        return [conv]
    return [conv, make("conv_bias", part.input, part.output, groups=groups, kernel=conv.kernel,
                       stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                       bias=True)]


def _conv(spec: Any, r: LayerReport) -> list[Op]:
    return conv_ops(r, kernel=spec.kernel, stride=spec.stride, padding=spec.padding,
                    dilation=spec.dilation, groups=spec.groups, bias=spec.bias)


def _pointwise(spec: Any, r: LayerReport) -> list[Op]:
    return conv_ops(r, kernel=1, stride=spec.stride, groups=spec.groups, bias=spec.bias)


def _depthwise(spec: Any, r: LayerReport) -> list[Op]:
    return conv_ops(r, kernel=spec.kernel, stride=spec.stride, padding=spec.padding,
                    dilation=spec.dilation, groups=r.input.channels, bias=spec.bias)


def _dwsep(spec: Any, r: LayerReport) -> list[Op]:
    dw, pw = r.parts
    return [*conv_ops(dw, kernel=spec.kernel, stride=spec.stride, padding=spec.padding,
                      dilation=spec.dilation, groups=dw.input.channels, bias=spec.bias),
            *conv_ops(pw, kernel=1, bias=spec.bias)]


def _spatial_sep(spec: Any, r: LayerReport) -> list[Op]:
    rank = r.input.rank
    k, s, d = (_axes(v, rank) for v in (spec.kernel, spec.stride, spec.dilation))
    pad = spec.padding if isinstance(spec.padding, str) else _axes(spec.padding, rank)
    ops: list[Op] = []
    for axis, part in enumerate(r.parts):

        def along(v: Axes, fill: int = 1, axis: int = axis) -> Axes:
            return tuple(v[axis] if j == axis else fill for j in range(rank))

        ops += conv_ops(part, kernel=along(k), stride=along(s), dilation=along(d),
                        padding=pad if isinstance(pad, str) else along(pad, 0), bias=spec.bias)
    return ops


def _shuffle_unit(spec: Any, r: LayerReport) -> list[Op]:
    g1, shuffle, dw, g2 = r.parts
    kernel = _axes(spec.kernel, r.input.rank)
    return [*conv_ops(g1, kernel=1, groups=spec.groups, bias=spec.bias),
            make("channel_shuffle", shuffle.input, shuffle.output),
            *conv_ops(dw, kernel=kernel, stride=spec.stride, padding=tuple(k // 2 for k in kernel),
                      groups=dw.input.channels, bias=spec.bias),
            *conv_ops(g2, kernel=1, groups=spec.groups, bias=spec.bias)]


def _half(shape: Shape, channels: int | None = None) -> Shape:
    return Shape(shape.channels if channels is None else channels,
                 tuple(n // 2 for n in shape.spatial))


def _octave(spec: Any, r: LayerReport) -> list[Op]:
    """The export's `Octave.forward`: slice, pool the low part (and both for stride 2), the four
    paths, `yh + up(lh(xl))`, `hl(pool(xh)) + ll(xl)`, `up(yl)`, `torch.cat`."""
    rank = r.input.rank
    h_in, l_in = F.octave_split(r.input.channels, spec.alpha_in)
    parts = {p.name: p for p in r.parts}
    kernel, padding = _axes(spec.kernel, rank), _axes(spec.padding, rank)

    def pool(x: Shape) -> Op:
        two = (2,) * rank
        return make("avgpool", x, _half(x), kernel=two, stride=two, padding=(0,) * rank)

    def up(x: Shape) -> Op:
        return make("upsample", x, Shape(x.channels, tuple(2 * n for n in x.spatial)),
                    mode="nearest")

    def conv(name: str, with_bias: bool) -> list[Op]:
        part = parts.get(name)
        if part is None:
            return []
        return conv_ops(part, kernel=kernel, padding=padding, bias=spec.bias and with_bias)

    def add(shape: Shape) -> Op:
        return make("add", shape, shape, operands=(shape, shape))

    xh = Shape(h_in, r.input.spatial)
    ops: list[Op] = []
    xl = None
    if l_in:
        ops.append(pool(Shape(l_in, r.input.spatial)))
        xl = ops[-1].output
    if spec.stride == 2:
        ops.append(pool(xh))
        xh = ops[-1].output
        if xl is not None:
            ops.append(pool(xl))
            xl = ops[-1].output
    ops += conv("high→high", True)
    if "low→high" in parts:
        lh = parts["low→high"]
        ops += conv("low→high", False)
        ops.append(up(lh.output))
        ops.append(add(ops[-1].output))
    low_out = parts.get("high→low") or parts.get("low→low")
    if low_out is not None:
        if "high→low" in parts:
            ops.append(pool(xh))
            ops += conv("high→low", not l_in)
        if "low→low" in parts:
            ops += conv("low→low", True)
            if "high→low" in parts:
                ops.append(add(low_out.output))
        ops.append(up(low_out.output))
        ops.append(make("cat", r.output, r.output))
    else:
        ops.append(make("cat", r.output, r.output))
    return ops


def _transposed(spec: Any, r: LayerReport) -> list[Op]:
    rank = r.input.rank
    fields = {"groups": spec.groups, "kernel": _axes(spec.kernel, rank),
              "stride": _axes(spec.stride, rank), "padding": _axes(spec.padding, rank),
              "dilation": _axes(spec.dilation, rank),
              "output_padding": _axes(spec.output_padding, rank), "bias": spec.bias}
    ops = [make("conv_transpose", r.input, r.output, macs=r.macs, **fields)]
    if spec.bias:
        ops.append(make("conv_transpose_bias", r.input, r.output, **fields))
    return ops


def _pool(op: str) -> Callable[[Any, LayerReport], list[Op]]:
    def ops(spec: Any, r: LayerReport) -> list[Op]:
        rank = r.input.rank
        kernel = _axes(spec.kernel, rank)
        return [make(op, r.input, r.output, kernel=kernel,
                     stride=kernel if spec.stride is None else _axes(spec.stride, rank),
                     padding=_axes(spec.padding, rank),
                     dilation=_axes(getattr(spec, "dilation", 1), rank))]

    return ops


def _linear(spec: Any, r: LayerReport) -> list[Op]:
    flat = Shape(r.input.elements, ())
    ops = [make("linear", flat, r.output, macs=r.macs, bias=spec.bias)]
    if spec.bias:
        ops.append(make("linear_bias", flat, r.output, bias=True))
    return ops


def _upsample(spec: Any, r: LayerReport) -> list[Op]:
    rank = r.input.rank
    mode = spec.mode
    if mode == "linear":  # the export picks torch's name by rank
        mode = ("linear", "bilinear", "trilinear")[rank - 1]
    factors = [m // n for n, m in zip(r.input.spatial, r.output.spatial, strict=True)]
    if any(m % n for n, m in zip(r.input.spatial, r.output.spatial, strict=True)):
        # no whole factor: the export passes size=…
        return [make("upsample", r.input, r.output, mode=mode, size=r.output.spatial)]
    return [make("upsample", r.input, r.output, mode=mode, scale=tuple(factors))]


def _se(spec: Any, r: LayerReport) -> list[Op]:
    pool, fc1, act, fc2, gate, _scale = r.parts
    return [make("adaptive_avgpool", pool.input, pool.output),
            *conv_ops(fc1, kernel=1, bias=True),
            make(spec.activation, act.input, act.output),
            *conv_ops(fc2, kernel=1, bias=True),
            make(spec.gate, gate.input, gate.output),
            make("mul", r.input, r.output, operands=(gate.output, r.input))]


def _one(op: str, **fields: Any) -> Callable[[Any, LayerReport], list[Op]]:
    return lambda spec, r: [make(op, r.input, r.output, **fields)]


def _norm(op: str) -> Callable[[Any, LayerReport], list[Op]]:
    return lambda spec, r: [make(op, r.input, r.output, affine=spec.affine,
                                 bias=spec.affine and getattr(spec, "bias", True))]


ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu", "tanh",
               "leaky_relu", "softmax", "identity")

KIND_OPS: dict[str, Callable[[Any, LayerReport], list[Op]]] = {
    "conv": _conv, "grouped": _conv, "dilated": _conv,
    "pointwise": _pointwise, "pointwise_group": _pointwise, "depthwise": _depthwise,
    "dwsep": _dwsep, "spatial_sep": _spatial_sep, "shuffle_unit": _shuffle_unit,
    "octave": _octave, "transposed": _transposed,
    "maxpool": _pool("maxpool"), "avgpool": _pool("avgpool"),
    "global_avgpool": _one("adaptive_avgpool"), "adaptive_avgpool": _one("adaptive_avgpool"),
    "linear": _linear, "batchnorm": _norm("batchnorm"), "layernorm": _norm("layernorm2d"),
    "groupnorm": _norm("groupnorm"), "upsample": _upsample, "se": _se,
    "layer_scale": lambda spec, r: [make("layer_scale", r.input, r.output,
                                         operands=(Shape(r.input.channels, (1,) * r.input.rank),
                                                   r.input))],
    "stochastic_depth": _one("stochastic_depth"), "dropout": _one("dropout"),
    "flatten": _one("flatten"), "shuffle": _one("channel_shuffle"),
    **{act: _one(act) for act in ACTIVATIONS},
}
"""convcalc kind → the torch calls of its exported module (export_leaves.LEAVES, call by call);
the attention kinds join from convcalc.conventions.attention_ops."""


def has_rules(report: NetworkReport) -> bool:
    """Whether every layer of `report` has its torch calls here (the attention kinds' are in
    convcalc.conventions.attention_ops, which joins them to KIND_OPS)."""
    return all(row.spec is None or row.spec.kind_name in KIND_OPS for row in report.rows)


def layer_ops(spec: Any, report: LayerReport) -> list[Op]:
    """The torch calls of one layer as the export writes it."""
    rule = KIND_OPS.get(spec.kind_name)
    if rule is None:
        from convcalc.errors import SpecError

        known = sorted(k for k in KIND_OPS if k not in ACTIVATIONS)
        raise SpecError(f"--conventions, --convention: no peer-tool rules for layer kind "
                        f"{spec.kind_name!r}; kinds with rules: {', '.join(known)} and the "
                        f"activations")
    from convcalc.conventions.op_forms import written

    return written(getattr(spec, "op", None), rule(spec, report))


# --- merges ------------------------------------------------------------------------------------

def _broadcast(a: Shape, b: Shape) -> Shape:
    return Shape(max(a.channels, b.channels),
                 tuple(max(x, y) for x, y in zip(a.spatial, b.spatial, strict=True)))


def merge_ops(node: TNode) -> list[Op]:
    """The torch calls that join a node's paths, as the export's forward writes them:
    `x = x + identity`, `a + b + …`, `a * b * …` (left to right), `torch.cat`, `torch.split`."""
    if isinstance(node, TResidual):
        short = node.shortcut.output if node.shortcut is not None else node.input
        return [make("add", node.output, node.output, operands=(node.body.output, short))]
    if isinstance(node, TBranches):
        outs = [p.output for p in node.paths]
        if node.merge == "concat":
            return [make("cat", node.output, node.output)]
        if node.merge == "first":
            return []  # the export lists the paths' outputs and goes on with the first
        ops = []
        acc = outs[0]
        for nxt in outs[1:]:
            res = _broadcast(acc, nxt)
            ops.append(make(node.merge, res, res, operands=(acc, nxt)))
            acc = res
        return ops
    if isinstance(node, TSplit):
        return [make("split", node.input, node.input), make("cat", node.output, node.output)]
    return []


def network_ops(report: NetworkReport) -> list[list[Op]]:
    """Per row, the torch calls that row's layer makes, followed by the merges that run right
    after it (a merge belongs to the last layer that ran before it; merges before any layer
    belong to the first layer). Every call of the exported forward is in exactly one list, but
    for a network without layers, whose merges (`unplaced_ops`) have no row."""
    per_row: list[list[Op]] = []
    append = per_row.append
    # equal layers on equal inputs make equal calls: one list, shared (the counts memoise on
    # it), so 100,000 repeated layers cost a lookup each. A list-valued field makes a spec
    # unhashable: such a layer gets its own list.
    shared: dict[tuple[Any, Shape], list[Op]] = {}
    for row in report.rows:
        spec, layer = row.spec, row.report
        try:
            ops = shared.get((spec, layer.input))
        except TypeError:
            append(layer_ops(spec, layer))
            continue
        if ops is None:
            ops = shared[(spec, layer.input)] = layer_ops(spec, layer)
        append(ops)
    if report.tree is None or not per_row:
        return per_row
    early: list[Op] = []
    joined: dict[tuple[int, tuple[Op, ...]], list[Op]] = {}  # equal layer + equal merge: shared
    for last, ops in _merges(report.tree, -1):
        if last < 0:
            early += ops
            continue
        key = (id(per_row[last]), tuple(ops))
        found = joined.get(key)
        if found is None:  # a new list: the layer's own may be shared with other rows
            found = joined[key] = per_row[last] + ops
        per_row[last] = found
    if early:
        per_row[0] = early + per_row[0]
    return per_row


def unplaced_ops(report: NetworkReport) -> list[Op]:
    """The merges of a network without layers (x + x of an empty residual body): no row holds
    them, the totals do."""
    if report.rows or report.tree is None:
        return []
    return [op for _, ops in _merges(report.tree, -1) for op in ops]


def _merges(node: TNode, last: int) -> Iterator[tuple[int, list[Op]]]:
    """(index of the last row run before the merge, the merge's ops), in forward order: rows
    are numbered in the order the export's forward runs them, so the last row seen is the last
    layer that ran. `last` is -1 before any layer."""
    stack: list[tuple[TNode, int]] = [(node, 0)]
    # an explicit stack (not recursion): 100,000 layers in a sequence are one level, but a
    # deep nest of blocks should not meet Python's recursion limit either
    while stack:
        current, state = stack.pop()
        if isinstance(current, TLayer):
            last = current.row
            continue
        if state == 1:  # the node's children are done: its merge runs now
            ops = merge_ops(current)
            if ops:
                yield last, ops
            continue
        children = _children(current)
        if isinstance(current, TResidual | TBranches | TSplit):
            stack.append((current, 1))
        stack.extend((c, 0) for c in reversed(children))


def _children(node: TNode) -> tuple[TNode, ...]:
    if isinstance(node, TSeq):
        return node.children
    if isinstance(node, TResidual):
        return (node.body,) if node.shortcut is None else (node.body, node.shortcut)
    if isinstance(node, TBranches | TSplit):
        return node.paths
    return ()

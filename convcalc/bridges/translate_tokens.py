"""Translate the token and attention operators: handlers for translate's table (`HANDLERS`).

Takes: a node and its data input, through the `Translator` (convcalc.bridges.translate).
Gives: the convcalc layer it is: `self_attention` (the importers' `SelfAttention`: an
nn.MultiheadAttention, a Swin or MaxViT attention module, or an attention fused from MatMul /
Softmax / Transpose / Reshape by convcalc.bridges.fuse_attention), `patch_merging`,
`to_tokens` (a reshape N×C×H×W → N×C×(H·W)), `class_token` (a concatenation of learnt tokens
before the sequence), `pos_embedding` (a learnt table the size of the sequence, added),
`take_token` (one token of a sequence, `Gather`), and MaxViT's window partitions (`Partition`,
`Departition`, a swap of their axes), read as the map they cut (`ops.View`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from convcalc.bridges.graph import Node, printable, shortened
from convcalc.bridges.ops import BuilderState, View

if TYPE_CHECKING:
    from convcalc.bridges.translate import Translator


def keep_view(b: BuilderState, x: str, out: str) -> None:
    """A token-wise op on windows keeps them windows (the same B×G×P axes)."""
    view = b.views.get(x)
    if view is None:
        return
    a, o = b.g.shape(x), b.g.shape(out)
    if a is not None and o is not None and a[:-1] == o[:-1]:
        b.views[out] = view


def _layout(t: Translator, x: str) -> tuple[int, ...]:
    return t.layout.get(x, tuple(range(len(t.raw(x)))))


def _channels_last(t: Translator, n: Node, x: str) -> None:
    lay = _layout(t, x)
    if len(lay) < 3 or lay[-1] != 1:
        raise t.fail(n, f"runs on a {'×'.join(map(str, t.raw(x)))} tensor whose last axis is "
                        "not the channels (convcalc reads attention on N×…×C, features last)")


def op_SelfAttention(t: Translator, n: Node, x: str, ins: list[str]) -> None:
    """Multi-head self-attention over a sequence or map, channels last."""
    _channels_last(t, n, x)
    a = n.attrs
    c = t.canon(x).channels
    fields: dict[str, Any] = {}
    if "head_dim" in a:
        if int(a["head_dim"]) < 1 or c % a["head_dim"]:
            raise t.fail(n, f"head_dim {a['head_dim']} does not divide the {c} channels")
        fields["head_dim"] = a["head_dim"]
    else:
        heads = int(a.get("heads", 0))
        if heads < 1 or c % heads:
            raise t.fail(n, f"{heads} heads do not divide the {c} channels")
        fields["heads"] = heads
    window = a.get("window")
    view = t.views.get(x)
    if view is not None:
        size = t.canon(x).spatial
        partition = "grid" if view.swapped else "window"
        side = [n_ // view.p for n_ in size] if view.swapped else [view.p] * len(size)
        if window is None:
            window = side[0] if len(set(side)) == 1 else side
        elif ([window] * len(size) if isinstance(window, int) else list(window)) != side:
            raise t.fail(n, f"a window of {window} on {partition}s of {side}")
        fields["window"] = window
        if partition != "window":
            fields["partition"] = partition
    elif window is not None:
        fields["window"] = window
        if a.get("shift", 0) not in (0, [0] * len(t.canon(x).spatial)):
            fields["shift"] = a["shift"]
    for key in ("position_bias", "cosine"):
        if a.get(key):
            fields[key] = True
    if a.get("bias_mlp"):
        fields["bias_mlp"] = a["bias_mlp"]
    for key in ("bias", "proj_bias"):
        if not a.get(key, True):
            fields[key] = False
    t.layer(n, x, "self_attention", **fields)


def op_PatchMerging(t: Translator, n: Node, x: str, ins: list[str]) -> None:
    """Swin's patch merging on N×H×W×C."""
    _channels_last(t, n, x)
    c = t.canon(x)
    if c.rank != 2:
        raise t.fail(n, f"patch merging needs a map N×H×W×C, got {'×'.join(map(str, t.raw(x)))}")
    fields: dict[str, Any] = {}
    if n.attrs.get("out", 2 * c.channels) != 2 * c.channels:
        fields["out"] = n.attrs["out"]
    if n.attrs.get("bias"):
        fields["bias"] = True
    if n.attrs.get("norm", "before") != "before":
        fields["norm"] = n.attrs["norm"]
    t.layer(n, x, "patch_merging", **fields)


def op_Partition(t: Translator, n: Node, x: str, ins: list[str]) -> None:
    """MaxViT's WindowPartition: N×C×H×W → N×(H/p·W/p)×p²×C, read as the same map."""
    t.need_canonical(n, x)
    raw, out = t.raw(x), t.raw(n.outputs[0])
    p = int(n.attrs.get("p", 0))
    if len(raw) != 4 or p < 1 or raw[2] % p or raw[3] % p or \
            out != (raw[0], (raw[2] // p) * (raw[3] // p), p * p, raw[1]):
        raise t.fail(n, f"partitions {'×'.join(map(str, raw))} into {'×'.join(map(str, out))}, "
                        f"not windows of {p}×{p}")
    t.alias[n.outputs[0]] = x
    t.layout[n.outputs[0]] = (0, 2, 3, 1)
    t.views[n.outputs[0]] = View(tuple(raw[2:]), p)


def op_Departition(t: Translator, n: Node, x: str, ins: list[str]) -> None:
    """MaxViT's WindowDepartition: the windows back into the map N×C×H×W they were."""
    view = t.views.get(x)
    out = t.raw(n.outputs[0])
    if view is None or out[2:] != view.spatial or out[1] != t.raw(x)[-1]:
        raise t.fail(n, "departitions a tensor that is not a map cut into windows")
    t.alias[n.outputs[0]] = x
    t.layout[n.outputs[0]] = tuple(range(len(out)))


def view_transpose(t: Translator, n: Node, x: str) -> None:
    """G and P of a windowed map exchanged: windows become grids and back."""
    view = t.views[x]
    perm = list(n.attrs.get("perm", []))
    if perm != [0, 2, 1, 3]:
        raise t.fail(n, f"permutes a map cut into windows by {perm}; convcalc follows the "
                        "exchange of windows and positions (MaxViT's grid) only")
    t.alias[n.outputs[0]] = x
    t.layout[n.outputs[0]] = _layout(t, x)
    t.views[n.outputs[0]] = View(view.spatial, view.p, not view.swapped)


def to_tokens(t: Translator, n: Node, x: str) -> bool:
    """A reshape N×C×H×W → N×C×(H·W) in N×C×… layout: `to_tokens`; and back, N×C×L →
    N×C×H×W: `to_map`."""
    a, b = t.raw(x), t.raw(n.outputs[0])
    lay = _layout(t, x)
    if lay != tuple(range(len(a))) or len(a) < 3 or len(b) < 3 or tuple(b[:2]) != tuple(a[:2]):
        return False
    if len(a) > 3 and len(b) == 3 and b[2] == math.prod(a[2:]):
        t.layout[n.outputs[0]] = (0, 1, 2)
        t.add("layer", n, [x], [n.outputs[0]], "to_tokens")
        return True
    if len(a) == 3 and len(b) > 3 and a[2] == math.prod(b[2:]):
        t.layout[n.outputs[0]] = tuple(range(len(b)))
        size = list(b[2:])
        t.add("layer", n, [x], [n.outputs[0]], "to_map", size=size[0] if len(size) == 1 else size)
        return True
    return False


def class_token(t: Translator, n: Node, x: str) -> None:
    """cat(learnt tokens, sequence) along the sequence's axis: `class_token`."""
    raw, out = t.raw(x), t.raw(n.outputs[0])
    lay = _layout(t, x)
    axis = n.attrs.get("axis", 1) % len(out)
    others = [i for i in n.inputs if i and i != x]
    if len(raw) != 3 or lay[axis] != 2 or n.inputs[-1] != x or \
            any(i not in t.g.constants for i in others):
        raise t.fail(n, "concatenates constants to data other than learnt tokens before a "
                        "sequence (N×L×C, the tokens first)")
    count = out[axis] - raw[axis]
    if count < 1:
        raise t.fail(n, "concatenates nothing before the sequence")
    t.layer(n, x, "class_token", **({"count": count} if count != 1 else {}))


def pos_embedding(t: Translator, n: Node, x: str, shape: tuple[int, ...]) -> bool:
    """x + a learnt table as large as one sample of x: `pos_embedding`."""
    raw = t.raw(x)
    full = (1,) * (len(raw) - len(shape)) + tuple(shape)
    if len(raw) < 3 or full[0] != 1 or full[1:] != tuple(raw[1:]):
        return False
    t.layer(n, x, "pos_embedding")
    return True


def op_Gather(t: Translator, n: Node, x: str, ins: list[str]) -> None:
    """One token of a sequence N×L×C (ViT's x[:, 0]): `take_token`."""
    raw = t.raw(x)
    lay = _layout(t, x)
    axis = int(n.attrs.get("axis", 0)) % len(raw)
    index = t.const(n.inputs[1]) if len(n.inputs) > 1 else None
    shape = t.g.shape(n.inputs[1]) if len(n.inputs) > 1 and n.inputs[1] else None
    if len(raw) != 3 or lay[axis] != 2 or index is None or len(index) != 1 or shape != () or \
            not raw[axis] or not isinstance(index[0], int):
        t.unknown(n, x, ins)
        return
    position = int(index[0]) % raw[axis]
    t.layout[n.outputs[0]] = (0, 1)
    fields: dict[str, Any] = {"index": position} if position else {}
    t.add("layer", n, [x], [n.outputs[0]], "take_token", None, **fields)


def uncounted(t: Translator, n: Node, x: str, out: str, shape: tuple[int, ...]) -> None:
    """An operator convcalc cannot read that changes the shape: an `uncounted` layer of the
    model's output shape (0 params, 0 MACs), named in the import's warning (`--strict` refuses
    it there). Its output is read in N×C×… order, or in its input's order at the same rank."""
    t.uncountable(n)
    lay = _layout(t, x)
    t.layout[out] = lay if len(lay) == len(shape) else tuple(range(len(shape)))
    t.views.pop(out, None)
    canon = t.canon(out)
    text = "x".join(str(v) for v in (*canon.spatial, canon.channels))
    op = printable(n.op, 200).replace("$", "\\x24")  # `$` would read as a parameter
    op = op if len(op) <= 200 else op[:199] + "…"  # escapes lengthen it: the field's limit
    t.add("layer", n, [x], [out], "uncounted", f"{shortened(n.op)}: not counted", operator=op,
          output=text)

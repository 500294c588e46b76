"""Attention-era torch modules read whole (torch.fx leaves), each as one op of the graph.

Takes: a traced module call (`_Reader.module` in convcalc.bridges.torch_reader) whose module is
one of these. Gives: the graph node it stands for, in the op vocabulary translate reads:

- `nn.MultiheadAttention` (self-attention: the same tensor as query, key and value, batch
  first) → `SelfAttention` {heads, bias, proj_bias};
- torchvision's `ShiftedWindowAttention` / `ShiftedWindowAttentionV2` (Swin) → `SelfAttention`
  {heads, window, shift, position_bias; V2: cosine, bias_mlp}: their forward calls a
  `torch.fx.wrap`ped function on weights and a bias computed from an index buffer;
- torchvision's `PatchMerging` / `PatchMergingV2` → `PatchMerging` {out, bias, norm};
- MaxViT's `RelativePositionalMultiHeadAttention` → `SelfAttention` {head_dim, window,
  position_bias}, and its `WindowPartition`, `SwapAxes`, `WindowDepartition` → `Partition`,
  `Transpose`, `Departition` (the windows of a map as B×G×P×C, which translate reads as the
  map they came from: block attention, or grid attention once G and P are swapped).

Modules are known by their class name and the attributes read here (a copy of torchvision's
class in the user's code is read the same way); their forward is never run by this module.
"""

from __future__ import annotations

from typing import Any

from convcalc.bridges.graph import shortened

_SWIN_ATTENTION = ("ShiftedWindowAttention", "ShiftedWindowAttentionV2")
_MERGING = ("PatchMerging", "PatchMergingV2")
_MAXVIT = ("RelativePositionalMultiHeadAttention", "WindowPartition", "WindowDepartition",
           "SwapAxes")
LEAF_CLASSES = (*_SWIN_ATTENTION, *_MERGING, *_MAXVIT)


def is_leaf(m: Any) -> bool:
    """Whether the tracer keeps this module whole (one of the classes above)."""
    name = type(m).__name__
    if name in _SWIN_ATTENTION:
        return all(hasattr(m, a) for a in ("qkv", "proj", "window_size", "shift_size",
                                           "num_heads"))
    if name in _MERGING:
        return hasattr(m, "reduction") and hasattr(m, "norm")
    if name == "RelativePositionalMultiHeadAttention":
        return all(hasattr(m, a) for a in ("to_qkv", "merge", "n_heads", "head_dim", "size"))
    if name == "SwapAxes":
        return hasattr(m, "a") and hasattr(m, "b")
    return name in ("WindowPartition", "WindowDepartition")


def _bias(linear: Any) -> bool:
    return getattr(linear, "bias", None) is not None


def _axes(values: Any) -> Any:
    v = [int(x) for x in values] if isinstance(values, list | tuple) else [int(values)]
    return v[0] if all(x == v[0] for x in v) else v


def leaf_op(m: Any, args: tuple[Any, ...], same_tensor: bool) -> tuple[str, dict[str, Any]] | None:
    """The op and attributes of a module call, or None when it is none of these modules.

    `args` are the call's arguments after the data tensor; `same_tensor`, for
    nn.MultiheadAttention, whether query, key and value are one tensor. Raises ValueError with
    what makes the module unreadable (cross-attention, sequence-first, other key widths)."""
    import torch

    name = type(m).__name__
    if isinstance(m, torch.nn.MultiheadAttention):
        if not same_tensor:
            raise ValueError("cross-attention (query, key and value differ): convcalc's "
                             "self_attention reads one sequence")
        if not m.batch_first:
            raise ValueError("batch_first=False (sequence first): convcalc reads batch-first "
                             "attention")
        if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
            raise ValueError("kdim/vdim other than embed_dim, add_bias_kv or add_zero_attn: "
                             "not a plain self-attention")
        return "SelfAttention", {"heads": m.num_heads, "bias": m.in_proj_bias is not None,
                                 "proj_bias": _bias(m.out_proj)}
    if not is_leaf(m):
        return None
    if name in _SWIN_ATTENTION:
        attrs: dict[str, Any] = {"heads": int(m.num_heads), "window": _axes(m.window_size),
                                 "shift": _axes(m.shift_size), "bias": _bias(m.qkv),
                                 "proj_bias": _bias(m.proj)}
        if hasattr(m, "cpb_mlp"):  # V2: scaled cosine attention, a continuous position bias
            attrs["cosine"] = True
            attrs["bias_mlp"] = int(m.cpb_mlp[0].out_features)
        else:
            attrs["position_bias"] = True
        return "SelfAttention", attrs
    if name in _MERGING:
        width = m.reduction.in_features
        norm_width = m.norm.normalized_shape[-1] if hasattr(m.norm, "normalized_shape") else 0
        return "PatchMerging", {"out": int(m.reduction.out_features), "bias": _bias(m.reduction),
                                "norm": "before" if norm_width == width else "after"}
    if name == "RelativePositionalMultiHeadAttention":
        return "SelfAttention", {"head_dim": int(m.head_dim), "window": int(m.size),
                                 "position_bias": True, "bias": _bias(m.to_qkv),
                                 "proj_bias": _bias(m.merge)}
    if name == "WindowPartition":
        return "Partition", {"p": int(args[0])}
    if name == "WindowDepartition":
        return "Departition", {}
    return "SwapAxes", {"axes": [int(m.a), int(m.b)]}


def read_leaf(reader: Any, n: Any, m: Any, x: str, scope: tuple[str, ...], cls: str) -> bool:
    """Emit the node of a module call into the reader's graph; False when the module is none
    of these. A module of these classes that cannot be read (cross-attention, …) is kept as an
    operator of its class's name (not counted, named in the import's warning), with a note."""
    import torch

    args = tuple(n.args[1:])
    nodes = [a for a in (*n.args, *n.kwargs.values()) if isinstance(a, torch.fx.Node)]
    try:
        found = leaf_op(m, args, same_tensor=len({a.name for a in nodes}) == 1)
    except ValueError as e:
        reader.notes.append(f"{shortened(str(n.target))} ({cls}): {e}; left uncounted")
        found = (cls, {})
    if found is None:
        return False
    op, attrs = found
    shape = reader.shapes[x]
    if isinstance(m, torch.nn.MultiheadAttention):
        # (output, weights): the output is what getitem 0 takes (its shape is the input's)
        out = f"{n.name}#0"
        reader.shapes[out] = shape
        reader.nodes.append(_node(op, n, [x], out, attrs, scope, cls))
        reader.tensor[n.name] = n.name
        return True
    if op == "SwapAxes":
        rank = len(shape)
        perm = list(range(rank))
        a, b = (int(v) % rank for v in attrs["axes"])
        perm[a], perm[b] = perm[b], perm[a]
        op, attrs = "Transpose", {"perm": perm}
    reader.emit(n, op, [x], attrs, scope=scope, module=cls)
    return True


def _node(op: str, n: Any, inputs: list[str], out: str, attrs: dict[str, Any],
          scope: tuple[str, ...], cls: str) -> Any:
    from convcalc.bridges.graph import Node

    return Node(op, str(n.target), inputs, [out], attrs, scope, cls)

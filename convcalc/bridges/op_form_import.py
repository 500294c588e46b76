"""The importer's pass that writes each layer's `op` (convcalc.layers.op_forms): how the model
calls it, where a peer tool's count depends on it.

Takes: the layers of the spec being written (`items.Leaf`, each with the op graph's node it came
from). Gives: the same layers, with `op` set where the model's form is not the module the
export would write:

- `function`: torch.fx saw a call of a `torch.nn.functional` function (`F.relu`,
  `F.adaptive_avg_pool2d`, `F.max_pool2d`, `F.interpolate`), the form ptflops and calflops
  patch and thop never sees;
- `method`: a tensor method (`x.mean([2, 3])`, `x.relu()`) or a `torch.*` function
  (`torch.mean`, `torch.relu`), which no peer tool patches; an ONNX `ReduceMean` (only a mean
  exports as one);
- `channels_last`: an `nn.Linear` (ONNX: Gemm or MatMul) contracting the channels of a
  channels-last tensor, the import's pointwise conv; a plain `nn.LayerNorm` on channels-last
  data (torch.fx only: in ONNX a LayerNorm2d class and ConvNeXt's permute + nn.LayerNorm are
  the same three nodes).

A form is written only on the kinds it may describe (`FORMS`); elsewhere the layer stays as
the export writes it, which every count of a parameter-free kind it cannot describe agrees with.
"""

from __future__ import annotations

from collections.abc import Iterable

from convcalc.bridges.items import Leaf
from convcalc.layers.op_forms import FORMS


def form_of(leaf: Leaf) -> str | None:
    """The form the model writes `leaf` in, when it is not the module form (else None)."""
    if leaf.op is None:
        return None
    node = leaf.op.node
    if leaf.kind == "pointwise" and node.op in ("Gemm", "MatMul"):
        return "channels_last"
    if leaf.kind == "layernorm":
        plain = node.form == "module" and node.module == "LayerNorm"
        return "channels_last" if plain else None
    form = node.form
    if form is None and node.op == "ReduceMean":
        form = "method"
    if form in ("function", "method") and leaf.kind in FORMS[form]:
        return form
    return None


def write_forms(layers: Iterable[Leaf]) -> None:
    """Set `op` on every layer the model writes in another form than a module."""
    for leaf in layers:
        form = form_of(leaf)
        if form is not None:
            leaf.fields["op"] = form

"""The importer's pass that writes each layer's `op` (convcalc.layers.op_forms): how the model
calls it, where a peer tool's count depends on it.

Takes: the layers of the spec being written (`items.Leaf`, each with the op graph's node it came
from). Gives: the same layers, with `op` set where the model's form is not the module the
export would write:

- `function`: torch.fx saw a call of a `torch.nn.functional` function (`F.relu`,
  `F.adaptive_avg_pool2d`, `F.max_pool2d`, `F.interpolate`), the form ptflops and calflops
  patch and thop never sees; in ONNX, a parameter-free op named after a module that holds
  other modules (torch's exporter names each node by the module that ran it: `/conv1/Relu`
  beside `/conv1/conv/Conv` is BasicConv2d's `F.relu`, `/GlobalAveragePool` the model's own
  forward);
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

from collections.abc import Iterable, Set

from convcalc.bridges.graph import Graph
from convcalc.bridges.items import Leaf
from convcalc.layers.op_forms import FORMS


def containers(graph: Graph) -> set[tuple[str, ...]]:
    """The module paths that hold other modules (every proper prefix of a node's scope)."""
    return {n.scope[:i] for n in graph.nodes for i in range(len(n.scope))}


def form_of(leaf: Leaf, holders: Set[tuple[str, ...]] = frozenset()) -> str | None:
    """The form the model writes `leaf` in, when it is not the module form (else None).
    `holders`: the graph's `containers`, for a source that does not say (ONNX)."""
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
    elif form is None and node.scope in holders:
        # ONNX names a node by the module that ran it: a parameter-free op whose module holds
        # other modules was called in that module's forward (a function), not as a module
        form = "function"
    if form in ("function", "method") and leaf.kind in FORMS[form]:
        return form
    return None


def write_forms(layers: Iterable[Leaf], graph: Graph) -> None:
    """Set `op` on every layer the model writes in another form than a module."""
    holders = containers(graph)
    for leaf in layers:
        form = form_of(leaf, holders)
        if form is not None:
            leaf.fields["op"] = form

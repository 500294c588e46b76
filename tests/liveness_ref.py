"""Peak activation memory measured on the torch graph, independently of convcalc's graph model.

The network is built as `convcalc export` writes it, traced with torch.fx (each layer row's
module a leaf, so the graph's steps are the rows, the residual adds, the cats, the splits and
their getitems, and the flatten a linear calls), and run node by node in fx's order. Every
tensor a node returns is recorded; its memory is its storage (a view shares its base's storage:
a split's parts, a flatten, the identity that dropout is in eval mode). A storage is alive from
the node that first returns it to the last node that reads any tensor on it (the graph's output
node keeps the result alive to the end). Sizes are storage bytes / element size, batch 1.
"""

from __future__ import annotations

from typing import Any


def fx_liveness(report: Any) -> dict[str, Any]:
    """{"peak": elements, "peak_at": fx node, "alive_at_peak": sorted sizes, "rows": {row path:
    [during, after]}, "order": row paths in fx order}."""
    import torch
    import torch.fx
    from torch_ref import build_network

    model, _ = build_network(None, report)
    model.eval()
    row_paths = {row.path for row in report.rows}

    class RowTracer(torch.fx.Tracer):  # type: ignore[misc]
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return qualname in row_paths

    graph = RowTracer().trace(model)
    module = torch.fx.GraphModule(model, graph)
    weights = {p.untyped_storage().data_ptr() for p in module.parameters()}
    weights |= {b.untyped_storage().data_ptr() for b in module.buffers()}
    values: dict[Any, Any] = {}

    class Recorder(torch.fx.Interpreter):  # type: ignore[misc]
        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            values[n] = out  # held: no storage is freed and reused while we measure
            return out

    x = torch.randn(1, report.input.channels, *report.input.spatial)
    with torch.no_grad():
        Recorder(module).run(x)

    def tensors(value: Any) -> list[Any]:
        if isinstance(value, torch.Tensor):
            return [value]
        if isinstance(value, list | tuple):
            return [t for v in value for t in tensors(v)]
        return []

    nodes = list(graph.nodes)
    end = len(nodes)
    born: dict[int, int] = {}
    size: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, n in enumerate(nodes):
        for t in tensors(values.get(n)):
            key = t.untyped_storage().data_ptr()
            if key in weights or key in born:
                continue
            born[key] = i
            size[key] = t.untyped_storage().nbytes() // t.element_size()
        for source in n.all_input_nodes:
            for t in tensors(values.get(source)):
                key = t.untyped_storage().data_ptr()
                if key in born:
                    last[key] = end if n.op == "output" else max(last.get(key, -1), i)
    during = []
    after = []
    for i in range(len(nodes)):
        alive = [k for k in born if born[k] <= i <= max(last.get(k, -1), born[k])]
        during.append(sum(size[k] for k in alive))
        after.append(sum(size[k] for k in alive if max(last.get(k, -1), born[k]) > i))
    peak = max(during)
    at = during.index(peak)
    held = sorted((size[k] for k in born if born[k] <= at <= max(last.get(k, -1), born[k])),
                  reverse=True)
    rows = {}
    order = []
    for i, n in enumerate(nodes):
        if n.op == "call_module" and n.target in row_paths:
            rows[n.target] = [during[i], after[i]]
            order.append(n.target)
    target = nodes[at].target
    return {"peak": peak, "peak_at": getattr(target, "__name__", str(target)), "alive_at_peak": held,
            "rows": rows, "order": order}

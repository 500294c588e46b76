"""BatchNorm folded into the convs at export: say what the counts then describe, and, asked
(`convcalc import --unfold-bn`), write the source model's conv + BatchNorm back.

An eval-mode TorchScript export (`torch.onnx.export(model.eval(), …)` with constant folding,
its default) folds each BatchNorm into the conv before it: the graph has no
BatchNormalization, and each such conv has new weights and a bias the exporter made
(initializers named `onnx::Conv_…`). PyTorch's count (MACs) is the same, but the parameters
and every peer tool's total are the folded graph's: the normalization the tools count is gone,
and the conv's bias adds are new.

Takes: the op graph of an ONNX file. Gives: the note that says so (in the import's comments and
on standard error, and among `convcalc net FILE.onnx`'s warnings) and, with `unfold`, the graph
with each folded conv written as a conv without bias followed by a BatchNormalization of its
channels, as torchvision's models (and most conv + BatchNorm pairs) are written.
"""

from __future__ import annotations

from convcalc.bridges.graph import Const, Graph, Node

SOURCE_NUMBERS = (
    "for the source model's numbers, export it with "
    "training=torch.onnx.TrainingMode.PRESERVE or do_constant_folding=False, import the "
    "model itself with --torch, or import this file with --unfold-bn")


def folded_convs(graph: Graph) -> list[Node]:
    """The convs BatchNorm looks folded into: none when the graph has a BatchNormalization;
    else every conv with a bias whose weights the exporter made (`onnx::…`)."""
    if any(n.op == "BatchNormalization" for n in graph.nodes):
        return []
    return [n for n in graph.nodes if n.op == "Conv" and len(n.inputs) > 2 and n.inputs[2]
            and n.inputs[1].startswith("onnx::")]


def note_folding(graph: Graph, *, unfold: bool = False) -> None:
    """Say what the import describes when BatchNorm looks folded; with `unfold`, unfold it."""
    folded = folded_convs(graph)
    if not folded:
        if unfold:  # asked for, and nothing to do: say so rather than nothing
            graph.notes.append(
                "--unfold-bn: no conv looks like a BatchNorm was folded into it (the graph has "
                "a BatchNormalization, or no conv has a bias made at export, named onnx::…); "
                "nothing unfolded")
        return
    if unfold:
        for node in folded:
            _unfold(graph, node)
        graph.notes.append(
            f"{len(folded)} convs carry weights and biases made at export and the graph has no "
            "BatchNormalization: BatchNorm was folded into them (an eval-mode export). Written "
            "unfolded (--unfold-bn): each as a conv without bias followed by a BatchNorm, as "
            "the source model most likely is, so parameters and --conventions describe that "
            "model")
        return
    graph.notes.append(
        f"{len(folded)} convs carry weights and biases made at export and the graph has no "
        "BatchNormalization: BatchNorm was probably folded into the convs (an eval-mode "
        "export). Parameters are the graph's (each folded BatchNorm's 2·C γ, β became the "
        "conv's C biases); MACs are unaffected. --conventions counts this folded graph, not "
        f"the source model: no tool sees the {len(folded)} BatchNorms it counts there, and "
        "ptflops (both backends), torchinfo and the calflops and DeepSpeed FLOPs count the "
        "convs' new bias adds; "
        + SOURCE_NUMBERS)


def _unfold(graph: Graph, conv: Node) -> None:
    """conv(x, W, b) → y  as  conv(x, W) → y#conv, BatchNormalization(y#conv, γ, β, μ, σ²) → y."""
    out = conv.outputs[0]
    channels = graph.shapes[out][1]
    mid = f"{out}#unfolded"
    graph.shapes[mid] = graph.shapes[out]
    stats = []
    for what in ("weight", "bias", "running_mean", "running_var"):
        name = f"{mid}.bn.{what}"
        graph.constants[name] = Const((channels,))
        stats.append(name)
    conv.inputs = conv.inputs[:2]
    conv.outputs = [mid]
    scope = (*conv.scope[:-1], f"{conv.scope[-1]}_bn") if conv.scope else ()
    norm = Node("BatchNormalization", f"{conv.name}#bn", [mid, *stats], [out], {}, scope,
                conv.module, conv.form)
    graph.nodes.insert(graph.nodes.index(conv) + 1, norm)

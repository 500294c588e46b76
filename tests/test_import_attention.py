"""Importing attention models (issue 22, item 3): torchvision's ViT, Swin and MaxViT through
torch.fx and through ONNX, the handlers and the attention fusion alone, partial reports, and
hostile attention graphs.

The reference is PyTorch itself: params = Σ p.numel(); MACs = FlopCounterMode's FLOPs / 2 with
every matmul counted. Under torch.no_grad() nn.MultiheadAttention takes its fused fast path,
whose q·kᵀ and attention·v FlopCounterMode does not see (vit_b_16: 11.27 G instead of 17.56 G),
and with grad the CPU's flash kernel hides them too; so the model runs in eval mode with grad
enabled and scaled_dot_product_attention forced to its math backend (plain matmuls), which
gives torchvision's documented 17.56 / 4.49 / 5.56 GFLOPS for vit_b_16 / swin_t / maxvit_t.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcalc.bridges.graph import Const, Graph, Node
from convcalc.bridges.to_spec import Builder, build_spec
from convcalc.cli import app
from convcalc.engine import analyze_network
from convcalc.errors import ConvcalcError

runner = CliRunner()
MODELS = ("vit_b_16", "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t")
BUNDLED = ("vit_b_16", "swin_t", "maxvit_t")


def totals(spec: Any) -> tuple[int, int]:
    t = analyze_network(spec).totals()
    return t["params"], t["macs"]


def torch_reference(model: Any, shape: tuple[int, ...]) -> tuple[int, int]:
    """Σ numel, and FlopCounterMode's MACs with every matmul seen (see the module docstring)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False)
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        model(torch.zeros(1, *shape))
    flops = int(counter.get_total_flops())
    assert flops % 2 == 0
    return params, flops // 2


def torchvision_model(name: str) -> Any:
    pytest.importorskip("torch", reason="needs PyTorch")
    try:
        from tests.torchvision_ref import import_torchvision

        tv = import_torchvision()
    except ImportError:
        pytest.skip("needs torchvision")
    return getattr(tv.models, name)(weights=None).eval()


# --- torchvision's models through torch.fx -----------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_torchvision_attention_model_imports_exactly(name: str) -> None:
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    model = torchvision_model(name)
    imported = import_torch(model, Shape(3, (224, 224)))
    assert imported.warnings == []
    got = totals(imported.spec)
    assert got == torch_reference(model, (3, 224, 224))
    if name in BUNDLED:
        assert got == totals(name)  # the bundled example, written by hand


def test_vit_import_reads_the_kinds() -> None:
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    imported = import_torch(torchvision_model("vit_b_32"), Shape(3, (224, 224)))
    text = imported.yaml
    for kind in ("to_tokens", "class_token", "pos_embedding", "self_attention: {heads: 12}",
                 "take_token"):
        assert kind in text


# --- attention written in torch: matmuls, softmax, F.scaled_dot_product_attention -------------

def _written_attention(fused: bool) -> Any:
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    nn = torch.nn
    F = torch.nn.functional

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim, bias=False)

        def forward(self, x: Any) -> Any:
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            if fused:
                x = F.scaled_dot_product_attention(q, k, v)
            else:
                attn = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
                x = attn.softmax(dim=-1) @ v
            return self.proj(x.transpose(1, 2).reshape(b, n, c))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, 32, 4, stride=4)
            self.norm = nn.LayerNorm(32)
            self.attn = Attention(32, 4)
            self.head = nn.Linear(32, 10)

        def forward(self, x: Any) -> Any:
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = x + self.attn(self.norm(x))
            return self.head(x[:, 0])

    return Net().eval()


@pytest.mark.parametrize("fused", [False, True], ids=["matmuls", "sdpa"])
def test_attention_written_in_torch_is_fused(fused: bool) -> None:
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    model = _written_attention(fused)
    imported = import_torch(model, Shape(3, (16, 16)))
    assert "self_attention: {name: attn, heads: 4, proj_bias: false}" in imported.yaml
    assert totals(imported.spec) == torch_reference(model, (3, 16, 16))


# --- ONNX, exported by torch.onnx.export (the TorchScript exporter) ----------------------------

def _export(model: Any, shape: tuple[int, ...], path: Path, fold: bool = True) -> Path:
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    pytest.importorskip("onnx", reason="torch.onnx.export needs onnx")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False,
                          opset_version=17, do_constant_folding=fold)
    return path


def test_small_vit_onnx_imports_exactly(tmp_path: Path) -> None:
    torchvision_model("vit_b_16")  # skips without torchvision
    from torchvision.models.vision_transformer import VisionTransformer

    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                              hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    path = _export(model, (3, 32, 32), tmp_path / "vit.onnx")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "self_attention: {heads: 4}" in result.stdout
    assert "warning" not in result.stdout
    from convcalc.yamlio import load_yaml_text

    spec = load_yaml_text(result.stdout, "vit.yaml")
    assert totals(spec) == torch_reference(model, (3, 32, 32))


def test_vit_b_16_onnx_imports_exactly(tmp_path: Path) -> None:
    from convcalc.bridges.onnx_import import import_onnx

    model = torchvision_model("vit_b_16")
    path = _export(model, (3, 224, 224), tmp_path / "vit_b_16.onnx")
    imported = import_onnx(str(path))
    assert imported.warnings == []
    assert totals(imported.spec) == totals("vit_b_16") == (86_567_656, 17_563_828_224)


def test_maxvit_t_onnx_imports_exactly(tmp_path: Path) -> None:
    """Block and grid attention from ONNX: the partitions (reshape, transpose, reshape) read as
    the map, the products as Einsum. Exported without constant folding: with it, the exporter
    folds the convs' BatchNorms (parameters change, MACs do not) and expands each bias table to
    heads×49×49 constants (convcalc still counts the table, (2·7−1)²·heads)."""
    from convcalc.bridges.onnx_import import import_onnx

    model = torchvision_model("maxvit_t")
    path = _export(model, (3, 224, 224), tmp_path / "maxvit_t.onnx", fold=False)
    imported = import_onnx(str(path))
    assert imported.warnings == []
    assert "partition: grid, position_bias: true" in imported.yaml
    assert totals(imported.spec) == totals("maxvit_t") == (30_919_624, 5_558_046_720)


# --- the handlers alone ------------------------------------------------------------------------

def _graph(nodes: list[Node], shapes: dict[str, tuple[int, ...]], output: str,
           constants: dict[str, Const] | None = None) -> Graph:
    return Graph("g", nodes, "x", output, shapes, constants or {})


def _kinds(graph: Graph) -> list[tuple[str, dict[str, Any]]]:
    b = Builder(graph, False)
    b.build_ops()
    return [(op.kind, op.fields) for op in b.ops]


def test_self_attention_handler_on_channels_last_sequence() -> None:
    nodes = [Node("Transpose", "t", ["x"], ["a"], {"perm": [0, 2, 1]}),
             Node("SelfAttention", "attn", ["a"], ["y"], {"heads": 4, "proj_bias": False})]
    g = _graph(nodes, {"x": (1, 32, 49), "a": (1, 49, 32), "y": (1, 49, 32)}, "y")
    assert _kinds(g) == [("self_attention", {"heads": 4, "proj_bias": False})]
    imported = build_spec(g)
    assert imported.spec["layers"][0] == {"self_attention": {"name": "attn", "heads": 4,
                                                             "proj_bias": False}}


def test_self_attention_handler_refuses_channels_first_and_bad_heads() -> None:
    g = _graph([Node("SelfAttention", "attn", ["x"], ["y"], {"heads": 4})],
               {"x": (1, 32, 7, 7), "y": (1, 32, 7, 7)}, "y")
    with pytest.raises(ConvcalcError, match="whose last axis is not the channels"):
        _kinds(g)
    nodes = [Node("Transpose", "t", ["x"], ["a"], {"perm": [0, 2, 1]}),
             Node("SelfAttention", "attn", ["a"], ["y"], {"heads": 5})]
    g = _graph(nodes, {"x": (1, 32, 49), "a": (1, 49, 32), "y": (1, 49, 32)}, "y")
    with pytest.raises(ConvcalcError, match="5 heads do not divide the 32 channels"):
        _kinds(g)


def test_window_partition_is_read_as_the_map_and_swap_makes_a_grid() -> None:
    nodes = [Node("Partition", "part", ["x"], ["p"], {"p": 4}),
             Node("Transpose", "swap", ["p"], ["s"], {"perm": [0, 2, 1, 3]}),
             Node("SelfAttention", "attn", ["s"], ["a"], {"head_dim": 8, "window": 2}),
             Node("Transpose", "back", ["a"], ["b"], {"perm": [0, 2, 1, 3]}),
             Node("Departition", "dep", ["b"], ["y"])]
    shapes = {"x": (1, 16, 8, 8), "p": (1, 4, 16, 16), "s": (1, 16, 4, 16),
              "a": (1, 16, 4, 16), "b": (1, 4, 16, 16), "y": (1, 16, 8, 8)}
    assert _kinds(_graph(nodes, shapes, "y")) == [
        ("self_attention", {"head_dim": 8, "window": 2, "partition": "grid"})]
    # without the swap: windows of p = 4
    window = [nodes[0], Node("SelfAttention", "attn", ["p"], ["b"], {"head_dim": 8}), nodes[4]]
    assert _kinds(_graph(window, shapes, "y")) == [("self_attention",
                                                    {"head_dim": 8, "window": 4})]


def test_token_steps_from_their_ops() -> None:
    """to_tokens (reshape), class_token (concat of a constant), pos_embedding (add of a table
    as large as the sequence), take_token (gather), to_map (reshape back)."""
    nodes = [Node("Reshape", "flat", ["x"], ["t"]),
             Node("Transpose", "tr", ["t"], ["s"], {"perm": [0, 2, 1]}),
             Node("Concat", "cat", ["cls", "s"], ["c"], {"axis": 1}),
             Node("Add", "pos", ["c", "table"], ["e"]),
             Node("Gather", "first", ["e", "zero"], ["y"], {"axis": 1})]
    shapes = {"x": (1, 8, 4, 4), "t": (1, 8, 16), "s": (1, 16, 8), "c": (1, 17, 8),
              "e": (1, 17, 8), "y": (1, 8)}
    consts = {"cls": Const((1, 1, 8)), "table": Const((1, 17, 8)), "zero": Const((), (0,))}
    assert [k for k, _ in _kinds(_graph(nodes, shapes, "y", consts))] == [
        "to_tokens", "class_token", "pos_embedding", "take_token"]
    back = [Node("Reshape", "flat", ["x"], ["t"]), Node("Reshape", "map", ["t"], ["y"])]
    assert _kinds(_graph(back, {"x": (1, 8, 4, 4), "t": (1, 8, 16), "y": (1, 8, 2, 8)}, "y")) \
        == [("to_tokens", {}), ("to_map", {"size": [2, 8]})]


def test_patch_merging_handler() -> None:
    nodes = [Node("Transpose", "t", ["x"], ["a"], {"perm": [0, 2, 3, 1]}),
             Node("PatchMerging", "merge", ["a"], ["y"], {"out": 16, "bias": False,
                                                           "norm": "after"})]
    g = _graph(nodes, {"x": (1, 8, 6, 6), "a": (1, 6, 6, 8), "y": (1, 3, 3, 16)}, "y")
    assert _kinds(g) == [("patch_merging", {"norm": "after"})]


# --- the attention fusion alone, on graphs written here ----------------------------------------

def _attention_graph(c: int = 8, heads: int = 2, tokens: int = 4, proj_out: int | None = None,
                     rank2: bool = False) -> Graph:
    """conv-free ViT-style attention as an exporter writes it, on a sequence x → y."""
    d = c // heads if c % heads == 0 else 1
    w = {"wqkv": Const((c, 3 * c)), "bqkv": Const((3 * c,)), "wo": Const((c, proj_out or c)),
         "bo": Const((proj_out or c,)), "i0": Const((), (0,)), "i1": Const((), (1,)),
         "i2": Const((), (2,)), "scale": Const((), (0.5,))}
    t = tokens
    if rank2:
        shapes = {"x": (1, c, t), "s": (1, t, c), "m": (1, t, 3 * c), "mb": (1, t, 3 * c),
                  "r": (t, 3, c), "rt": (3, t, c), "q": (t, c), "k": (t, c), "v": (t, c),
                  "kt": (c, t), "sc": (t, t), "sm": (t, t), "ctx": (t, c), "cr": (1, t, c),
                  "o": (1, t, c), "y": (1, t, c)}
        perm: list[int] = [1, 0, 2]
        kperm = [1, 0]
    else:
        shapes = {"x": (1, c, t), "s": (1, t, c), "m": (1, t, 3 * c), "mb": (1, t, 3 * c),
                  "r": (1, t, 3, heads, d), "rt": (3, 1, heads, t, d), "q": (1, heads, t, d),
                  "k": (1, heads, t, d), "v": (1, heads, t, d), "kt": (1, heads, d, t),
                  "sc": (1, heads, t, t), "sm": (1, heads, t, t), "ctx": (1, heads, t, d),
                  "cr": (1, t, heads * d), "o": (1, t, proj_out or c),
                  "y": (1, t, proj_out or c)}
        perm = [2, 0, 3, 1, 4]
        kperm = [0, 1, 3, 2]
    nodes = [Node("Transpose", "tok", ["x"], ["s"], {"perm": [0, 2, 1]}),
             Node("MatMul", "attn/qkv", ["s", "wqkv"], ["m"]),
             Node("Add", "attn/qkv_bias", ["bqkv", "m"], ["mb"]),
             Node("Reshape", "attn/split", ["mb"], ["r"]),
             Node("Transpose", "attn/heads", ["r"], ["rt"], {"perm": perm}),
             Node("Gather", "attn/q", ["rt", "i0"], ["q"], {"axis": 0}),
             Node("Gather", "attn/k", ["rt", "i1"], ["k"], {"axis": 0}),
             Node("Gather", "attn/v", ["rt", "i2"], ["v"], {"axis": 0}),
             Node("Transpose", "attn/kt", ["k"], ["kt"], {"perm": kperm}),
             Node("MatMul", "attn/scores", ["q", "kt"], ["sc0"]),
             Node("Mul", "attn/scale", ["sc0", "scale"], ["sc"]),
             Node("Softmax", "attn/softmax", ["sc"], ["sm"], {"axis": -1}),
             Node("MatMul", "attn/context", ["sm", "v"], ["ctx"]),
             Node("Reshape", "attn/merge", ["ctx"], ["cr"]),
             Node("MatMul", "attn/proj", ["cr", "wo"], ["o"]),
             Node("Add", "attn/proj_bias", ["o", "bo"], ["y"])]
    shapes["sc0"] = shapes["sc"]
    return Graph("attention", nodes, "x", "y", shapes, w)


def test_attention_fusion_alone() -> None:
    g = _attention_graph()
    b = Builder(g, False)
    fused = b.fuse_attention(b.reachable(g.nodes))
    assert [n.op for n in fused] == ["Transpose", "SelfAttention"]
    assert fused[1].inputs == ["s"] and fused[1].outputs == ["y"]
    assert fused[1].attrs == {"heads": 2, "bias": True, "proj_bias": True}
    assert build_spec(_attention_graph()).spec["layers"] == [
        {"self_attention": {"name": "attn/softmax", "heads": 2}}]


def test_partition_fusion_alone() -> None:
    """Reshape → Transpose → Reshape into windows and back: Partition and Departition."""
    nodes = [Node("Reshape", "cut", ["x"], ["r"]),
             Node("Transpose", "move", ["r"], ["t"], {"perm": [0, 2, 4, 3, 5, 1]}),
             Node("Reshape", "windows", ["t"], ["w"]),
             Node("LayerNormalization", "ln", ["w", "g"], ["n"], {"axis": -1}),
             Node("Reshape", "uncut", ["n"], ["u"]),
             Node("Transpose", "back", ["u"], ["b"], {"perm": [0, 5, 1, 3, 2, 4]}),
             Node("Reshape", "map", ["b"], ["y"])]
    shapes = {"x": (1, 8, 6, 4), "r": (1, 8, 3, 2, 2, 2), "t": (1, 3, 2, 2, 2, 8),
              "w": (1, 6, 4, 8), "n": (1, 6, 4, 8), "u": (1, 3, 2, 2, 2, 8),
              "b": (1, 8, 3, 2, 2, 2), "y": (1, 8, 6, 4)}
    g = _graph(nodes, shapes, "y", {"g": Const((8,))})
    b = Builder(g, False)
    fused = b.fuse_partitions(g.nodes)
    assert [(n.op, n.attrs) for n in fused] == [("Partition", {"p": 2}),
                                                ("LayerNormalization", {"axis": -1}),
                                                ("Departition", {})]
    assert build_spec(g).spec["layers"] == [{"layernorm": {"name": "ln", "bias": False}}]
    # a transpose that is not a window cut stays as it was
    other = [*nodes[:1], Node("Transpose", "move", ["r"], ["t"], {"perm": [0, 1, 2, 3, 5, 4]}),
             *nodes[2:]]
    assert [n.op for n in b.fuse_partitions(other)][:3] == ["Reshape", "Transpose", "Reshape"]


def test_einsum_shape_rule() -> None:
    from convcalc.bridges.onnx_import import load_onnx
    from tests import onnx_writer as w

    def load(equation: str, tmp: Path) -> Any:
        path = tmp / "einsum.onnx"
        path.write_bytes(w.model(w.graph(
            [w.node("Einsum", ["x", "k"], ["y"], name="e", equation=equation)],
            [w.value("x", [1, 2, 3, 4])], [w.value("y")], [w.tensor("k", [1, 2, 5, 4])])))
        return load_onnx(str(path))

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert load("bhid,bhjd->bhij", Path(tmp)).shapes["y"] == (1, 2, 3, 5)
        with pytest.raises(ConvcalcError, match=r"axis 'd' is 4 and 5|axis 'j'"):
            load("bhid,bhdj->bhij", Path(tmp))


def test_attention_fusion_leaves_other_softmaxes() -> None:
    g = _graph([Node("Softmax", "sm", ["x"], ["y"], {"axis": 1})], {"x": (1, 8), "y": (1, 8)},
               "y")
    b = Builder(g, False)
    assert [n.op for n in b.fuse_attention(g.nodes)] == ["Softmax"]


def test_hostile_attention_scores_of_rank_2() -> None:
    with pytest.raises(ConvcalcError, match=r"attention scores of shape 4×4: convcalc reads "
                                            r"…×heads×T×n"):
        build_spec(_attention_graph(rank2=True))


def test_hostile_attention_projections_that_do_not_fit() -> None:
    """An output projection C → 2C is no self_attention: the ops stay unfused, and the first
    one convcalc cannot follow (the heads' reshape) is named in one line."""
    with pytest.raises(ConvcalcError) as e:
        build_spec(_attention_graph(proj_out=16))
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("attn/split (Reshape): reshapes 1×4×24 to 1×4×3×2×4")


def test_hostile_onnx_attention_files(tmp_path: Path) -> None:
    """The same hostile graphs as ONNX files (tests/onnx_writer.py, no onnx needed): one line,
    exit 1, no traceback."""
    from tests import onnx_writer as w

    def save(g: Graph, name: str) -> Path:
        inits = [w.tensor(k, list(v.shape), values=list(v.values) if v.values else None)
                 for k, v in g.constants.items() if k.startswith(("w", "b"))]
        inits += [w.tensor(k, [], dtype=w.INT64, values=[int(v.values[0])])  # type: ignore[index]
                  for k, v in g.constants.items() if k.startswith("i")]
        inits.append(w.tensor("scale", [], values=[0.5]))
        nodes = []
        for n in g.nodes:
            ins = list(n.inputs)
            if n.op == "Reshape":
                shape = f"{n.name}/shape"
                inits.append(w.tensor(shape, [len(g.shapes[n.outputs[0]])], dtype=w.INT64,
                                      values=list(g.shapes[n.outputs[0]])))
                ins.append(shape)
            nodes.append(w.node(n.op, ins, n.outputs, name=n.name, **n.attrs))
        path = tmp_path / name
        path.write_bytes(w.model(w.graph(nodes, [w.value("x", list(g.shapes["x"]))],
                                         [w.value("y")], inits)))
        return path

    good = save(_attention_graph(), "good.onnx")
    result = runner.invoke(app, ["import", str(good)])
    assert result.exit_code == 0, result.output
    assert 'self_attention: {name: "attn/softmax", heads: 2}' in result.stdout
    for graph, message in ((_attention_graph(rank2=True), "attention scores of shape 4×4"),
                           (_attention_graph(proj_out=16), "attn/split (Reshape): reshapes")):
        path = save(graph, "bad.onnx")
        result = runner.invoke(app, ["import", str(path)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert message in result.stderr and result.stderr.count("\n") == 1


# --- partial reports ---------------------------------------------------------------------------

def _partial_model() -> Any:
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PixelShuffle(2), nn.Conv2d(4, 8, 3),
                         nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10)).eval()


def test_partial_report_keeps_the_layers_before_and_after() -> None:
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    model = _partial_model()
    imported = import_torch(model, Shape(3, (16, 16)))
    message = ("1 operator convcalc cannot count, left uncounted (0 params, 0 MACs; the totals "
               "exclude it): PixelShuffle ×1 (1)")
    assert imported.warnings == [message]
    assert f"# warning: {message}\n" in imported.yaml
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in imported.spec["layers"]]
    assert kinds == ["conv", "uncounted", "conv", "relu", "flatten", "linear"]
    report = analyze_network(imported.spec)
    # PixelShuffle has no parameters and FlopCounterMode counts nothing for it: exact here
    assert totals(imported.spec) == torch_reference(model, (3, 16, 16))
    assert any("the totals exclude its cost" in w for w in report.warnings)
    with pytest.raises(ConvcalcError, match=r"^--strict: 1 operator convcalc cannot count"):
        import_torch(model, Shape(3, (16, 16)), strict=True)


def test_strict_on_net_and_import_cli(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="needs PyTorch")
    module = tmp_path / "partial_net.py"
    module.write_text("import torch\nfrom torch import nn\n\ndef build():\n    return "
                      "nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PixelShuffle(2))\n")
    for command in ("net", "import"):
        args = [command, f"{module}:build", "--input", "8x8x3"] if command == "net" else \
            [command, "--torch", f"{module}:build", "--input", "8x8x3"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "PixelShuffle ×1" in result.stderr + result.stdout
        result = runner.invoke(app, [*args, "--strict"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.stderr.splitlines()[-1].startswith(
            "convcalc: error: --strict: 1 operator convcalc cannot count")


# --- the README's run: the committed import of vit_b_16 -----------------------------------------

FIXTURE = Path(__file__).parent / "fixtures" / "imported" / "attention" / "vit_b_16.yaml"


def test_committed_vit_import_is_the_bundled_example() -> None:
    """Without torch: the README's import (scripts/make_import_fixtures.py vit_b_16) has the
    bundled example's totals and layers."""
    from convcalc.yamlio import load_yaml_text

    spec = load_yaml_text(FIXTURE.read_text(), str(FIXTURE))
    ours, bundled = analyze_network(spec).totals(), analyze_network("vit_b_16").totals()
    assert ours == bundled


def test_committed_vit_import_is_a_fresh_one() -> None:
    torchvision_model("vit_b_16")  # skips without torch or torchvision
    from convcalc.bridges.torch_import import import_torch
    from convcalc.shapes import Shape

    fresh = import_torch("torchvision.models:vit_b_16", Shape(3, (224, 224))).yaml
    assert fresh == FIXTURE.read_text()

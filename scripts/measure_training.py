"""Measure what a training step costs in PyTorch: what autograd saves, and the backward's MACs.

    /work/venv-full/bin/python scripts/measure_training.py          # writes both fixtures
    ... measure_training.py --no-kinds [EXAMPLE...]   # the examples only (a subset: a test)
    ... measure_training.py --token-kinds [NAME...]  # the token kinds' specs (TOKEN_KINDS, or
                                            # those named) only, merged into training_kinds.json
    ... measure_training.py --profile    # torch.profiler's memory peaks: training_profile.json
    ... measure_training.py --live       # live storages walked on torch: training_live.json
    (needs torch==2.13.0 CPU; convcalc from this checkout)

Every network is built the one way convcalc builds a spec in torch (`convcalc export --to
pytorch`), in train mode, on a random input of batch 2 that needs no gradient (as a data batch),
and run forward then `output.sum().backward()`. Measured:

- saved tensors: `torch.autograd.graph.saved_tensors_hooks` sees every tensor autograd packs
  for backward; each storage is counted once (keyed by `untyped_storage().data_ptr()` and its
  `nbytes()`: views of one storage, and a tensor saved by several nodes, count once).
  Parameters are not activations: a storage that is a parameter's is left out (so is one of a
  module buffer, e.g. batch norm's running statistics, which native_batch_norm also packs).
  Each storage is attributed to the module that was running when it was first packed.
- MACs: `FlopCounterMode` with a corrected `convolution_backward` formula
  (`custom_mapping`): torch 2.13's formula drops the groups in the weight gradient
  (`conv_flop_count(t(x), t(grad_out), t(grad_weight))` is the dense count), so a depthwise
  conv's weight gradient is counted C times. Corrected: the dense count divided by groups,
  which is the layer's forward MACs. The backward's matrix products are split into grad-input
  and grad-weight by their output shape (a Linear weight's shape or its transpose is a weight
  gradient). A forward op that runs during backward (activation checkpointing) is recompute.
- FlopCounterMode's own number (its default formulas): the "torch convention".

Writes tests/fixtures/training_kinds.json (every one-layer spec of
tests/fixtures/peers/kinds.json, with attribution per row) and
tests/fixtures/training_examples.json (every examples/*.yaml: as is, with early layers
frozen, and with blocks checkpointed).
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 2
KINDS_OUT = ROOT / "tests" / "fixtures" / "training_kinds.json"
EXAMPLES_OUT = ROOT / "tests" / "fixtures" / "training_examples.json"

TOKEN_KINDS: dict[str, dict[str, Any]] = {
    "to_tokens": {"name": "to_tokens", "input": "4x4x8",
                  "layers": [{"kind": "layer_scale"}, {"kind": "to_tokens"}]},
    "to_map": {"name": "to_map", "input": "4x4x8",
               "layers": [{"kind": "to_tokens"}, {"kind": "layer_scale"},
                          {"kind": "to_map", "size": [4, 4]}]},
    "take_token": {"name": "take_token", "input": "4x4x8",
                   "layers": [{"kind": "to_tokens"}, {"kind": "layer_scale"},
                              {"kind": "take_token"}]},
    "class_token": {"name": "class_token", "input": "4x4x8",
                    "layers": [{"kind": "to_tokens"}, {"kind": "class_token"}]},
    "pos_embedding": {"name": "pos_embedding", "input": "4x4x8",
                      "layers": [{"kind": "to_tokens"}, {"kind": "pos_embedding"}]},
    "mlp": {"name": "mlp", "input": "4x4x8",
            "layers": [{"kind": "to_tokens"}, {"kind": "mlp", "hidden": 16}]},
    "patch_merging": {"name": "patch_merging", "input": "4x4x8",
                      "layers": [{"kind": "patch_merging"}]},
    "patch_merging_odd": {"name": "patch_merging_odd", "input": "5x3x8",
                          "layers": [{"kind": "layer_scale"}, {"kind": "patch_merging"}]},
    "self_attention": {"name": "self_attention", "input": "4x4x8",
                       "layers": [{"kind": "self_attention", "heads": 2}]},
    "self_attention_window": {"name": "self_attention_window", "input": "4x4x8",
                              "layers": [{"kind": "layer_scale"},
                                         {"kind": "self_attention", "heads": 2, "window": 2,
                                          "shift": 1, "position_bias": True}]},
    "self_attention_padded": {"name": "self_attention_padded", "input": "5x5x8",
                              "layers": [{"kind": "self_attention", "heads": 2, "window": 2}]},
    "self_attention_grid": {"name": "self_attention_grid", "input": "4x4x8",
                            "layers": [{"kind": "self_attention", "head_dim": 4, "window": 2,
                                        "partition": "grid", "bias": False,
                                        "proj_bias": False}]},
    # Swin V2: scaled cosine attention and the position-bias MLP, PatchMergingV2
    "self_attention_v2": {"name": "self_attention_v2", "input": "4x4x8",
                          "layers": [{"kind": "layer_scale"},
                                     {"kind": "self_attention", "heads": 2, "window": 2,
                                      "shift": 1, "cosine": True, "bias_mlp": 16}]},
    "self_attention_v2_padded": {"name": "self_attention_v2_padded", "input": "5x5x8",
                                 "layers": [{"kind": "self_attention", "heads": 2, "window": 2,
                                             "cosine": True, "bias_mlp": 16}]},
    "self_attention_cosine": {"name": "self_attention_cosine", "input": "4x4x8",
                              "layers": [{"kind": "self_attention", "heads": 2,
                                          "cosine": True, "bias": False}]},
    "patch_merging_v2": {"name": "patch_merging_v2", "input": "4x4x8",
                         "layers": [{"kind": "patch_merging", "norm": "after"}]},
    "patch_merging_v2_odd": {"name": "patch_merging_v2_odd", "input": "5x3x8",
                             "layers": [{"kind": "layer_scale"},
                                        {"kind": "patch_merging", "norm": "after"}]},
}
"""One-layer specs of the token kinds (tests/fixtures/peers/kinds.json has none): a token
sequence made by to_tokens (a view), a layer_scale before a kind whose input would otherwise
need no gradient."""

VARIANTS: dict[str, dict[str, dict[str, list[str]]]] = {
    # example → variant name → {"freeze": [...], "checkpoint": [...]} (convcalc paths)
    "resnet18": {"frozen_stem": {"freeze": ["conv1", "bn1", "layer1"]},
                 "checkpoint_layers": {"checkpoint": ["layer2", "layer3"]},
                 "frozen_and_checkpoint": {"freeze": ["conv1", "bn1"],
                                           "checkpoint": ["layer4"]}},
    "mobilenet_v2": {"frozen_early": {"freeze": ["stem", "b1", "b2", "b3"]},
                     "checkpoint_blocks": {"checkpoint": ["b3", "b4"]},
                     "frozen_middle": {"freeze": ["b5", "b6"]}},
    "efficientnet_b0": {"checkpoint_stage": {"checkpoint": ["stage2.0", "stage2.1"]}},
    "convnext_tiny": {"frozen_stem": {"freeze": ["stem"]}},
    # (a checkpointed attention block is not measured: Counter files a matmul recomputed during
    # backward under grad-input, not recompute; the totals agree, the split does not)
    "swin_t": {"frozen_early": {"freeze": ["features.0", "features.1", "features.2"]}},
    "swin_v2_t": {"frozen_early": {"freeze": ["features.0", "features.1", "features.2"]}},
    "lraspp_mobilenet_v3_large": {"frozen_backbone": {"freeze": ["backbone"]}},
}


def exported(spec: Any) -> tuple[Any, Any]:
    """The torch module `convcalc export --to pytorch` writes for `spec`, and convcalc's
    report of it (batch 1)."""
    from convcalc.bridges.pytorch_export import export_pytorch
    from convcalc.engine import analyze_network

    report = analyze_network(spec)
    namespace: dict[str, Any] = {"__name__": f"convcalc_export_{report.name}"}
    exec(compile(export_pytorch(report), f"<convcalc export {report.name}>", "exec"), namespace)
    return namespace["build"](), report


class Counter:
    """FlopCounterMode's formulas, wrapped to split MACs by phase and by gradient."""

    def __init__(self, linear_weights: set[tuple[int, ...]]) -> None:
        self.phase = "forward"
        self.linear_weights = linear_weights
        self.macs = {"forward": 0, "grad_input": 0, "grad_weight": 0, "recompute": 0,
                     "raw_conv_grad_weight": 0}

    def mapping(self) -> dict[Any, Callable[..., int]]:
        import torch
        from torch.utils import flop_counter as fc

        aten = torch.ops.aten
        mapping: dict[Any, Callable[..., int]] = {}
        for op, formula in fc.flop_registry.items():
            if op is aten.convolution_backward:
                continue
            mapping[op] = self.forward_op(op, formula)
        mapping[aten.convolution_backward] = self.conv_backward
        return mapping

    def forward_op(self, op: Any, formula: Callable[..., int]) -> Callable[..., int]:
        import torch
        from torch.utils._pytree import tree_map
        from torch.utils.flop_counter import get_shape

        products = {torch.ops.aten.mm, torch.ops.aten.addmm, torch.ops.aten.bmm}

        def count(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
            flops = int(formula(*args, out_val=out_val, **kwargs))
            if self.phase == "forward":
                self.macs["forward"] += flops // 2
            elif op in products:
                shape = tuple(tree_map(get_shape, out_val))
                gradient = "grad_weight" if (shape in self.linear_weights
                                             or shape[::-1] in self.linear_weights) else "grad_input"
                self.macs[gradient] += flops // 2
            else:
                self.macs["recompute"] += flops // 2
            return flops

        count._get_raw = True  # type: ignore[attr-defined]
        return count

    def conv_backward(self, grad_out: Any, x: Any, w: Any, bias: Any, stride: Any,
                      padding: Any, dilation: Any, transposed: bool, output_padding: Any,
                      groups: int, output_mask: Any, out_val: Any = None, **kwargs: Any) -> int:
        """torch's conv_backward_flop with the groups in the weight gradient: each gradient
        costs the layer's forward count (dense count / groups for the weight's)."""
        from torch.utils._pytree import tree_map
        from torch.utils.flop_counter import conv_flop_count, get_shape

        go, xs, ws = (list(get_shape(t)) for t in (grad_out, x, w))
        out = tree_map(get_shape, out_val)

        def t(shape: list[int]) -> list[int]:
            return [shape[1], shape[0], *shape[2:]]

        flops = 0
        if output_mask[0]:
            gi = conv_flop_count(go, ws, list(out[0]), not transposed)
            self.macs["grad_input"] += gi // 2
            flops += gi
        if output_mask[1]:
            gw_shape = list(out[1])
            dense = (conv_flop_count(t(go), t(xs), t(gw_shape), transposed=False) if transposed
                     else conv_flop_count(t(xs), t(go), t(gw_shape), transposed=False))
            assert dense % (2 * groups) == 0
            self.macs["grad_weight"] += dense // groups // 2
            self.macs["raw_conv_grad_weight"] += dense // 2
            flops += dense // groups
        return flops

    conv_backward._get_raw = True  # type: ignore[attr-defined]


@contextmanager
def module_stack(model: Any) -> Iterator[list[str]]:
    """The names of the modules running now, innermost last (forward only)."""
    stack: list[str] = []
    handles = []

    def leave(module: Any, args: Any, output: Any) -> None:
        stack.pop()

    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(
            lambda m, a, name=name: stack.append(name)))  # returns None: input unchanged
        handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for h in handles:
            h.remove()


def storage_key(t: Any) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def measure(spec: Any, *, freeze: tuple[str, ...] = (), checkpoint: tuple[str, ...] = (),
            input_grad: bool = False, rows: bool = False) -> dict[str, Any]:
    """One training step of `spec` at batch 2, as torch runs it."""
    import torch
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model, report = exported(spec)
    model.train()
    for path in freeze:
        for p in model.get_submodule(path).parameters():
            p.requires_grad_(False)
    for path in checkpoint:
        sub = model.get_submodule(path)
        sub.forward = (lambda *a, f=sub.forward: torch_checkpoint(
            f, *a, use_reentrant=False))
    x = torch.randn(BATCH, report.input.channels, *report.input.spatial)
    if input_grad:
        x.requires_grad_(True)
    params = {storage_key(p)[0] for p in model.parameters()}
    buffers = {storage_key(b)[0] for b in model.buffers()}
    linear_weights = {tuple(m.weight.shape) for m in model.modules()
                      if isinstance(m, torch.nn.Linear)}
    row_paths = {r.path for r in report.rows}

    saved: dict[tuple[int, int], dict[str, Any]] = {}
    kept: list[Any] = []
    param_saves = buffer_saves = 0

    def owner(stack: list[str]) -> str:
        for name in reversed(stack):
            if name in row_paths:
                return name
        return stack[-1] if stack else ""

    def run(counter: FlopCounterMode | None, count: Counter | None) -> Any:
        nonlocal param_saves, buffer_saves
        with module_stack(model) as stack:

            def pack(t: Any) -> Any:
                nonlocal param_saves, buffer_saves
                ptr, nbytes = storage_key(t)
                if ptr in params:
                    param_saves += 1
                elif ptr in buffers:
                    buffer_saves += 1
                elif (ptr, nbytes) not in saved:
                    saved[(ptr, nbytes)] = {"bytes": nbytes, "dtype": str(t.dtype).split(".")[-1],
                                            "shape": list(t.shape), "module": owner(stack)}
                kept.append(t)
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                y = model(x)
        if count is not None:
            count.phase = "backward"
        if y.requires_grad:  # else nothing needs a gradient: no backward
            y.sum().backward()
        return y

    count = Counter(linear_weights)
    with FlopCounterMode(display=False, custom_mapping=count.mapping()) as corrected:
        y = run(corrected, count)
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    first = dict(saved)
    model.zero_grad(set_to_none=True)
    kept.clear()
    saved.clear()
    with FlopCounterMode(display=False) as raw:
        run(raw, None)
    saved_bytes = sum(s["bytes"] for s in first.values())
    assert saved_bytes == sum(s["bytes"] for s in saved.values()), "both runs save the same"
    result: dict[str, Any] = {
        "output": list(y.shape),
        "forward_macs": count.macs["forward"],
        "backward_macs": count.macs["grad_input"] + count.macs["grad_weight"],
        "grad_input_macs": count.macs["grad_input"],
        "grad_weight_macs": count.macs["grad_weight"],
        "recompute_macs": count.macs["recompute"],
        "corrected_flops": corrected.get_total_flops(),
        "flop_counter_flops": raw.get_total_flops(),
        "saved_activation_bytes": saved_bytes,
        "params_with_grad": sum(g.numel() for g in grads.values()),
    }
    assert corrected.get_total_flops() == 2 * sum(
        v for k, v in count.macs.items() if k != "raw_conv_grad_weight")
    if rows:
        per: dict[str, list[dict[str, Any]]] = {}
        for s in first.values():
            per.setdefault(s["module"], []).append(
                {"bytes": s["bytes"], "dtype": s["dtype"], "shape": s["shape"]})
        result["saved_by_module"] = per
    return result


PROFILE_OUT = ROOT / "tests" / "fixtures" / "training_profile.json"
CATEGORIES = ("parameter", "optimizer_state", "input", "temporary", "activation", "gradient",
              "autograd_detail", "unknown")
"""torch.profiler._memory_profiler's categories, in the order of its timeline's columns."""


def profiler_peak(spec: Any) -> dict[str, Any]:
    """The CPU memory of a training step (forward, `sum().backward()`) as torch.profiler's
    memory events see it: the peak of the bytes in use (parameters included, no optimizer
    state), and the bytes by category at that moment. Kernels' scratch space (im2col and
    col2im buffers of CPU convolutions) is in it, mostly as "unknown"."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import MemoryProfileTimeline

    torch.manual_seed(0)
    model, report = exported(spec)
    model.train()
    x = torch.randn(BATCH, report.input.channels, *report.input.spatial)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        model(x).sum().backward()
    timeline = MemoryProfileTimeline(prof._memory_profile())
    _times, sizes = timeline._coalesce_timeline("cpu")
    totals = [sum(row[1:]) for row in sizes]
    at = max(range(len(totals)), key=totals.__getitem__)
    return {"peak_bytes": totals[at],
            "at_peak": dict(zip(CATEGORIES, (int(v) for v in sizes[at][1:]), strict=True))}


LIVE_OUT = ROOT / "tests" / "fixtures" / "training_live.json"


def live_peak(spec: Any, *, freeze: tuple[str, ...] = (),
              checkpoint: tuple[str, ...] = ()) -> dict[str, Any]:
    """The peak of live storages over a training step, walked on torch itself: every tensor an
    aten op returns (forward and backward, under a TorchDispatchMode) holds its storage until
    its last tensor dies (weakref.finalize; autograd keeps a saved tensor's object alive), each
    storage counted once. Parameters, buffers and the input are left out (they live before and
    after); parameters' gradients are in. Kernels' internal scratch is not an op's output, so
    it is not in it: this is the liveness of the autograd graph's tensors alone."""
    import weakref

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    class Live(TorchDispatchMode):
        def __init__(self, fixed: set[int]) -> None:
            super().__init__()
            self.count: dict[int, int] = {}
            self.size: dict[int, int] = {}
            self.fixed = fixed
            self.used = self.peak = self.ops = 0
            self.at = ""

        def free(self, ptr: int) -> None:
            self.count[ptr] -= 1
            if not self.count[ptr]:
                self.used -= self.size.pop(ptr)
                del self.count[ptr]

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            self.ops += 1
            for t in tree_flatten(out)[0]:
                if not isinstance(t, torch.Tensor):
                    continue
                storage = t.untyped_storage()
                ptr = storage.data_ptr()
                if ptr in self.fixed or storage.nbytes() == 0:
                    continue
                if ptr not in self.count:
                    self.count[ptr] = 0
                    self.size[ptr] = storage.nbytes()
                    self.used += storage.nbytes()
                self.count[ptr] += 1
                weakref.finalize(t, self.free, ptr)
            if self.used > self.peak:
                self.peak, self.at = self.used, f"op {self.ops}: {func}"
            return out

    torch.manual_seed(0)
    model, report = exported(spec)
    model.train()
    for path in freeze:
        for p in model.get_submodule(path).parameters():
            p.requires_grad_(False)
    for path in checkpoint:
        sub = model.get_submodule(path)
        sub.forward = (lambda *a, f=sub.forward: torch_checkpoint(f, *a, use_reentrant=False))
    x = torch.randn(BATCH, report.input.channels, *report.input.spatial)
    fixed = {storage_key(t)[0] for t in (*model.parameters(), *model.buffers(), x)}
    mode = Live(fixed)
    with mode:
        model(x).sum().backward()
    return {"peak_bytes": mode.peak, "input_bytes": x.untyped_storage().nbytes(),
            "param_bytes": sum(p.untyped_storage().nbytes() for p in model.parameters()),
            "at": mode.at}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    kinds = json.loads((ROOT / "tests" / "fixtures" / "peers" / "kinds.json").read_text())
    out_kinds: dict[str, Any] = {}
    if "--live" in sys.argv:  # the live-storage walk only
        live = {p.stem: live_peak(str(p)) for p in sorted((ROOT / "examples").glob("*.yaml"))}
        for name, variants in VARIANTS.items():
            for variant, opts in variants.items():
                live[f"{name}:{variant}"] = {**opts, **live_peak(
                    str(ROOT / "examples" / f"{name}.yaml"), freeze=tuple(opts.get("freeze", ())),
                    checkpoint=tuple(opts.get("checkpoint", ())))}
        LIVE_OUT.write_text(json.dumps({"made_by": "scripts/measure_training.py --live",
                                        "torch": torch.__version__, "batch": BATCH,
                                        "date": datetime.date.today().isoformat(),
                                        "networks": live}, indent=1) + "\n")
        return
    if "--profile" in sys.argv:  # the profiler's peaks only
        profiled = {p.stem: profiler_peak(str(p)) for p in sorted((ROOT / "examples").glob("*.yaml"))}
        PROFILE_OUT.write_text(json.dumps({"made_by": "scripts/measure_training.py --profile",
                                           "torch": torch.__version__, "batch": BATCH,
                                           "date": datetime.date.today().isoformat(),
                                           "networks": profiled}, indent=1) + "\n")
        return
    if "--token-kinds" in sys.argv:  # the token kinds only, merged into the kinds' fixture
        fixture = json.loads(KINDS_OUT.read_text())
        named = [a for a in sys.argv[1:] if not a.startswith("--")]
        for name, spec in TOKEN_KINDS.items():
            if named and name not in named:
                continue
            fixture["models"][name] = {"spec": spec,
                                       "input_needs_grad": measure(spec, input_grad=True,
                                                                   rows=True),
                                       "input_no_grad": measure(spec, rows=True)}
        KINDS_OUT.write_text(json.dumps(fixture, indent=1) + "\n")
        return
    args = [a for a in sys.argv[1:] if a != "--no-kinds"]
    for name, record in kinds["models"].items():
        if "--no-kinds" in sys.argv:
            break
        spec = record["source"]["spec"]
        out_kinds[name] = {"spec": spec, "input_needs_grad": measure(spec, input_grad=True,
                                                                     rows=True),
                           "input_no_grad": measure(spec, rows=True)}
        m = out_kinds[name]["input_no_grad"]
        print(f"{name}: saved {m['saved_activation_bytes']:,} B, backward "
              f"{m['backward_macs']:,}", file=sys.stderr)
    stamp = {"made_by": "scripts/measure_training.py", "torch": torch.__version__,
             "date": datetime.date.today().isoformat(), "batch": BATCH}
    if out_kinds:
        KINDS_OUT.write_text(json.dumps({**stamp, "models": out_kinds}, indent=1) + "\n")
    out: dict[str, Any] = {}
    only = set(args)
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        if only and path.stem not in only:
            continue
        rel = str(path.relative_to(ROOT))
        entry: dict[str, Any] = {"spec": rel, "plain": measure(str(path))}
        for variant, opts in VARIANTS.get(path.stem, {}).items():
            entry[variant] = {**opts, **measure(str(path), freeze=tuple(opts.get("freeze", ())),
                                                checkpoint=tuple(opts.get("checkpoint", ())))}
        out[path.stem] = entry
        p = entry["plain"]
        print(f"{path.stem}: fwd {p['forward_macs']:,} bwd {p['backward_macs']:,} "
              f"(FlopCounterMode {p['flop_counter_flops']:,} FLOPs) saved "
              f"{p['saved_activation_bytes']:,} B", file=sys.stderr)
    if only and EXAMPLES_OUT.exists():  # a subset: merged into the measured networks
        out = {**json.loads(EXAMPLES_OUT.read_text())["networks"], **out}
    EXAMPLES_OUT.write_text(json.dumps({**stamp, "networks": out}, indent=1) + "\n")


if __name__ == "__main__":
    main()

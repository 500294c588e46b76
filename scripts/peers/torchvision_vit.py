"""torchvision's own vit_b_16 (weights=None, eval, 1×3×224×224) counted by PyTorch and the peer tools.

    python scripts/peers/torchvision_vit.py -o tests/fixtures/peers/torchvision_vit.json

Why the tools differ on ViT: torchvision's `nn.MultiheadAttention` runs three different ways,
and a counter sees only the calls that reach it. Recorded here:

- `documented`: the GFLOPS torchvision's weights publish (`ViT_B_16_Weights.IMAGENET1K_V1.meta`,
  "_ops", in GMACs), i.e. every matmul: the patch conv, qkv, q·kᵀ, attention·v, out proj, MLP,
  head;
- `flop_counter_grad`: FlopCounterMode with grad enabled (eval): attention goes through
  `F.multi_head_attention_forward`, its projections are `addmm`s, but q·kᵀ and attention·v run
  inside `F.scaled_dot_product_attention`, which on CPU dispatches to an aten op
  FlopCounterMode has no formula for (`uncounted` lists it): those two matmuls disappear;
- `flop_counter_no_grad`: under `torch.no_grad()` in eval `nn.MultiheadAttention` takes its fused
  fast path, one `aten._native_multi_head_attention` call without a formula: qkv, q·kᵀ,
  attention·v and the out projection all disappear; the MLPs, the patch conv and the head remain;
- fvcore, ptflops (both backends), thop and torchinfo as each is usually called.

Each FlopCounterMode record holds its total (FLOPs and MACs), its count by aten op, and the aten
ops that ran without a formula (`uncounted`, with how often). torch and torchvision are imported
inside main(); torchvision's compiled ops are stubbed as in models.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MATMUL_LIKE = ("mm", "addmm", "bmm", "baddbmm", "convolution", "_native_multi_head_attention",
               "_scaled_dot_product_flash_attention_for_cpu",
               "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
               "_scaled_dot_product_cudnn_attention", "scaled_dot_product_attention")
"""aten ops that multiply matrices (or hold matmuls inside): those FlopCounterMode has no formula
for are listed as `uncounted`."""


def flop_counter(model: Any, x: Any, grad: bool) -> dict[str, Any]:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    ran: collections.Counter[str] = collections.Counter()

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            ran[func.overloadpacket.__name__] += 1
            return func(*args, **(kwargs or {}))

    with torch.set_grad_enabled(grad), FlopCounterMode(display=False) as counter, Record():
        model(x)
    flops = int(counter.get_total_flops())
    by_op = {str(op): int(n) // 2 for op, n in counter.get_flop_counts()["Global"].items()}
    counted = {op.split(".")[-1] for op in by_op}
    uncounted = {op: n for op, n in sorted(ran.items()) if op in MATMUL_LIKE and op not in counted}
    return {"flops": flops, "macs": flops // 2, "by_op_macs": by_op, "uncounted": uncounted}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)

    import models
    import run_peers
    import torch

    tv = models.torchvision()
    torch.manual_seed(0)
    model = tv.models.vit_b_16(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    meta = tv.models.ViT_B_16_Weights.IMAGENET1K_V1.meta
    record: dict[str, Any] = {
        "model": "torchvision.models.vit_b_16(weights=None), eval, input 1×3×224×224",
        "documented_gmacs": meta["_ops"],
        "params": sum(p.numel() for p in model.parameters()),
        "flop_counter_grad": flop_counter(model, x, True),
        "flop_counter_no_grad": flop_counter(model, x, False),
        "tools": {},
    }
    for runner in ("fvcore", "ptflops", "ptflops-aten", "thop", "torchinfo"):
        for tool, result in run_peers.run_tool(runner, model, (3, 224, 224)).items():
            result.pop("per_module", None)
            record["tools"][tool] = result
    data = {"environment": run_peers.environment(), "vit_b_16": record}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""`torch`: PyTorch 2.13.0's `torch.utils.flop_counter.FlopCounterMode`, the reference.

`FlopCounterMode().get_total_flops()` counts 2 FLOPs per multiply-accumulate of convolutions
(transposed ones over the input positions, `flop_counter.py:131-172`), `mm`/`addmm` (linear)
and matmuls, and nothing else: no bias, no norm, no activation, no pooling. Its table's header
names the column `FLOP` (`flop_counter.py:860`). convcalc's MACs are exactly its FLOPs / 2.
"""

from __future__ import annotations

from convcalc.conventions import attention_ops
from convcalc.conventions.base import OPS, Convention, table, torch_flops

TORCH = Convention(
    tool="torch", package="torch", version="2.13.0", unit="FLOPs",
    call="FlopCounterMode().get_total_flops()",
    rules=table({"conv": torch_flops, "conv_transpose": torch_flops, "linear": torch_flops,
                 **attention_ops.RULES["torch"]},
                [op for op in OPS if op not in ("conv", "conv_transpose", "linear",
                                                *attention_ops.OPS)]),
    label=lambda value: "FLOP",
)

"""`torch` for a training step: PyTorch 2.13.0's FlopCounterMode over forward + backward.

Its `convolution_backward` formula (`flop_counter.py`, `conv_backward_flop`) counts the weight
gradient as `conv_flop_count(t(x), t(grad_out), t(grad_weight))`: the dense count, without the
groups, so a grouped conv's weight gradient is counted G times (a depthwise conv's C times).
Everything else it counts exactly: FLOPs = 2 × (forward + backward + recompute MACs) + 2 × Σ
over trainable convs of (G − 1) × their MACs. Measured equal on every bundled example
(tests/fixtures/training_examples.json, `flop_counter_flops`).
"""

from __future__ import annotations

from typing import Any

from convcalc.conventions.ops import network_ops
from convcalc.report import NetworkReport


def grouped_overcount_macs(report: NetworkReport, training: Any) -> int:
    """Σ over the convs whose weight gets a gradient of (groups − 1) × MACs."""
    over = 0
    for row, ops in zip(training.rows, network_ops(report), strict=True):
        if row.trainable:
            over += sum((op.groups - 1) * op.macs for op in ops
                        if op.op in ("conv", "conv_transpose"))
    return over


def torch_training_flops(report: NetworkReport, training: Any) -> tuple[int, dict[str, int]]:
    """FlopCounterMode's number for the step and its difference from the exact FLOPs."""
    t = training.totals()
    exact = 2 * (t["forward_macs"] + t["backward_macs"] + t["recompute_macs"])
    over = 2 * grouped_overcount_macs(report, training)
    return exact + over, {"grouped_grad_weight": over}

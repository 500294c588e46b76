"""The "×3" rule of thumb for a training step (DeepSpeed's flops profiler and most papers):
training FLOPs = 3 × forward FLOPs (backward = 2 × forward: one grad-input and one grad-weight
per forward MAC).

Exact for every layer that computes both gradients; it overcounts where autograd computes
less: the first layer (the input needs no gradient: no grad-input) and everything before the
first trainable layer, frozen layers (no grad-weight); and it leaves out the forward a
checkpointed block runs again in backward.
"""

from __future__ import annotations

from typing import Any


def times_three_flops(training: Any) -> tuple[int, dict[str, int]]:
    """3 × forward FLOPs and its difference from the exact FLOPs, by cause."""
    t = training.totals()
    forward = t["forward_macs"]
    return 6 * forward, {
        "no_grad_input": 2 * (forward - t["grad_input_macs"]),
        "no_grad_weight": 2 * (forward - t["grad_weight_macs"]),
        "recompute": -2 * t["recompute_macs"],
    }

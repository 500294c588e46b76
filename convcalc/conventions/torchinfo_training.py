"""torchinfo 1.8.0's "Forward/backward pass size" against what a training step keeps.

torchinfo prints 2 × the outputs of every leaf module with parameters ("x2 for gradients",
`model_statistics.py:33-35`; convcalc.conventions.torchinfo.sizes). Autograd keeps something
else: the inputs of convs and norms, the outputs of ReLUs, pooling indices, norm statistics,
dropout noise, each storage once; parameter-free layers count. The difference from
`saved_activation_bytes` is split into its two halves and what autograd keeps.
"""

from __future__ import annotations

from typing import Any

from convcalc.conventions.ops import network_ops
from convcalc.conventions.torchinfo import sizes
from convcalc.report import NetworkReport


def torchinfo_pass_bytes(report: NetworkReport, training: Any,
                         element_bytes: int) -> tuple[int, dict[str, int]]:
    """torchinfo's Forward/backward pass size (bytes) and its difference from the bytes
    autograd keeps, by cause."""
    params = sum(r.report.params for r in report.rows)
    per_sample = report.input.elements
    fb = sizes(network_ops(report), per_sample, params, report.batch,
               element_bytes).forward_backward_bytes
    saved = training.walk.saved_activation_bytes
    return fb, {"outputs_of_layers_with_parameters": fb // 2, "x2_for_gradients": fb // 2,
                "tensors_autograd_keeps": -saved}

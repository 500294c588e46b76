"""`--conventions --train`: what other conventions say a training step costs, beside convcalc's
exact count, each with its difference broken down by cause (the causes sum to the
difference). One module per convention in convcalc/conventions/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcalc.report import NetworkReport


@dataclass(frozen=True, slots=True)
class TrainingCount:
    convention: str
    counts: str
    """What the convention counts, in its own words."""
    unit: str
    value: int
    reference: int
    """convcalc's exact count in the same unit (training FLOPs, or saved activation bytes)."""
    reference_name: str
    difference: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"convention": self.convention, "counts": self.counts, "unit": self.unit, "value": self.value,
                "reference": self.reference, "reference_name": self.reference_name,
                "difference": dict(self.difference)}


def training_conventions(report: NetworkReport, training: Any) -> list[TrainingCount]:
    """torch's FlopCounterMode, the ×3 rule, torchinfo's Forward/backward pass size."""
    from convcalc.conventions.times_three import times_three_flops
    from convcalc.conventions.torch_training import torch_training_flops
    from convcalc.conventions.torchinfo_training import torchinfo_pass_bytes
    from convcalc.training.saved import DTYPE_BYTES

    t = training.totals()
    flops = 2 * (t["forward_macs"] + t["backward_macs"] + t["recompute_macs"])
    out = []
    for name, counts, (value, diff) in (
            ("torch", "FlopCounterMode 2.13.0, forward + backward",
             torch_training_flops(report, training)),
            ("×3", "3 × forward FLOPs", times_three_flops(training))):
        out.append(TrainingCount(name, counts, "FLOPs", value, flops, "training FLOPs", diff))
    value, diff = torchinfo_pass_bytes(report, training, DTYPE_BYTES[training.options.dtype])
    out.append(TrainingCount("torchinfo", "1.8.0 Forward/backward pass size", "bytes", value,
                             t["saved_activation_bytes"], "saved activation bytes", diff))
    for c in out:
        assert c.value - c.reference == sum(c.difference.values()), c.convention
    return out

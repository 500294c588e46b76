"""Memory of the model state in a training step: parameters, gradients, optimizer state.

fp32: parameters 4 bytes each, gradients 4 per trainable parameter, the optimizer's fp32 state
per trainable parameter (SGD none, SGD with momentum one buffer, Adam/AdamW two: exp_avg and
exp_avg_sq). Mixed precision (bf16, fp16) with fp32 master weights, as ZeRO (Rajbhandari et
al. 2020, §3.1) counts it: 2-byte working weights and gradients, a 4-byte master copy of every
trainable weight, the optimizer's state in fp32 (Adam: 2 + 2 + 4 + 8 = 16 bytes per
parameter). Frozen parameters have no gradient, master copy or optimizer state.
"""

from __future__ import annotations

from dataclasses import dataclass

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
"""optimizer → fp32 state tensors per trainable parameter."""
DTYPES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True, slots=True)
class StateMemory:
    param_bytes: int
    grad_bytes: int
    optimizer_bytes: int

    @property
    def total(self) -> int:
        return self.param_bytes + self.grad_bytes + self.optimizer_bytes


def state_memory(params: int, trainable: int, *, dtype: str = "fp32",
                 optimizer: str = "adam") -> StateMemory:
    """Bytes of the parameters, their gradients and the optimizer's state."""
    states = OPTIMIZERS[optimizer]
    if dtype == "fp32":
        return StateMemory(4 * params, 4 * trainable, 4 * states * trainable)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return StateMemory(2 * params + 4 * trainable, 2 * trainable, 4 * states * trainable)

"""Training beside inference: the exact cost of a training step over the facts the engine
reports (convcalc.engine), never inside it.

`train(report, ...)` takes an analysed, batched network and gives a TrainingReport: per row the
backward MACs (grad-input + grad-weight) and the bytes autograd keeps, and totals under the JSON
key "training". The rules per kind are in `rules`, the walk in `saved`, the model state in
`memory`, the peak in `schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcalc.errors import SpecError
from convcalc.report import NetworkReport
from convcalc.training.memory import DTYPES, OPTIMIZERS, StateMemory, state_memory
from convcalc.training.saved import DTYPE_BYTES, RowTraining, TrainingWalk, walk
from convcalc.training.schedule import Peak, peak

__all__ = [
    "DTYPES",
    "OPTIMIZERS",
    "TrainingOptions",
    "TrainingReport",
    "layer_training",
    "train",
]


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    freeze: tuple[str, ...] = ()
    checkpoint: tuple[str, ...] = ()
    optimizer: str = "adam"
    dtype: str = "fp32"


@dataclass(frozen=True)
class TrainingReport:
    """A training step of one network: rows (in the report's order) and totals."""

    options: TrainingOptions
    forward_macs: int
    walk: TrainingWalk
    state: StateMemory
    peak: Peak
    device: Any = None
    """A convcalc.hardware.devices.Device: its memory says whether the step fits, its peak
    gives a lower bound on the step's time."""

    @property
    def rows(self) -> tuple[RowTraining, ...]:
        return self.walk.rows

    def totals(self) -> dict[str, Any]:
        gi = sum(r.grad_input_macs for r in self.rows)
        gw = sum(r.grad_weight_macs for r in self.rows)
        return {
            "forward_macs": self.forward_macs,
            "backward_macs": gi + gw,
            "grad_input_macs": gi,
            "grad_weight_macs": gw,
            "recompute_macs": self.walk.recompute_macs,
            "saved_activation_bytes": self.walk.saved_activation_bytes,
            "param_bytes": self.state.param_bytes,
            "grad_bytes": self.state.grad_bytes,
            "optimizer_bytes": self.state.optimizer_bytes,
            "peak_bytes": self.peak.bytes,
            "peak_at": f"{self.peak.at} ({self.peak.phase})",
            "optimizer": self.options.optimizer,
            "dtype": self.options.dtype,
            "frozen": list(self.options.freeze),
            "checkpoint": list(self.options.checkpoint),
            **self.device_totals(gi + gw),
        }

    def device_totals(self, backward_macs: int) -> dict[str, Any]:
        """With a device: whether the step's peak fits its memory, and the compute bound of
        the step's time ((forward + backward + recompute MACs) / the dtype's dense peak)."""
        if self.device is None:
            return {}
        from convcalc.report import exact

        out: dict[str, Any] = {"device": self.device.key,
                               "device_memory_bytes": self.device.memory,
                               "fits": (None if self.device.memory is None
                                        else self.peak.bytes <= self.device.memory)}
        if self.options.dtype in self.device.dtypes:
            macs = self.forward_macs + backward_macs + self.walk.recompute_macs
            out["time_lower_bound_s"] = exact(
                macs / self.device.peak(self.options.dtype).macs_per_s)
        return out

    def row_dict(self, path: str) -> dict[str, int] | None:
        for r in self.rows:
            if r.path == path:
                return {"backward_macs": r.backward_macs, "grad_input_macs": r.grad_input_macs,
                        "grad_weight_macs": r.grad_weight_macs, "saved_bytes": r.saved_bytes}
        return None


def _check_paths(report: NetworkReport, paths: Sequence[str], option: str) -> None:
    """Every path names a row or a block of rows (one line naming the option otherwise)."""
    known = [r.path for r in report.rows]
    for p in paths:
        if not any(k == p or k.startswith(p + ".") for k in known):
            from convcalc.spec import suggest

            levels = sorted({".".join(r.parts[:i]) for r in report.rows
                             for i in range(1, len(r.parts) + 1)})
            raise SpecError(f"{option} {p!r}: no layer or block of {report.name} has this path"
                            f"{suggest(p, levels)}")


def train(report: NetworkReport, *, freeze: Sequence[str] = (), checkpoint: Sequence[str] = (),
          optimizer: str = "adam", dtype: str = "fp32", device: Any = None) -> TrainingReport:
    """The training step of an analysed network at its batch (see the module docstring)."""
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"--optimizer {optimizer!r} is not known; one of: "
                        f"{', '.join(OPTIMIZERS)}")
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"--dtype {dtype!r} is not known for training; one of: "
                        f"{', '.join(DTYPES)}")
    _check_paths(report, freeze, "--freeze")
    _check_paths(report, checkpoint, "--checkpoint")
    options = TrainingOptions(tuple(freeze), tuple(checkpoint), optimizer, dtype)
    w = walk(report, frozen=freeze, checkpoint=checkpoint, dtype=dtype)
    params = sum(r.report.params for r in report.rows)
    trainable_by_row = {r.path: r2.trainable for r, r2 in zip(report.rows, w.rows, strict=True)}
    trainable = sum(r.report.params for r in report.rows if trainable_by_row[r.path])
    state = state_memory(params, trainable, dtype=dtype, optimizer=optimizer)
    grad_per = state.grad_bytes // trainable if trainable else 0
    grads = {r.path: r.report.params * grad_per for r in report.rows if trainable_by_row[r.path]}
    best = peak(w, state.param_bytes + state.optimizer_bytes, grads, DTYPE_BYTES[dtype])
    return TrainingReport(options, sum(r.report.macs for r in report.rows), w, state, best,
                          device)


def layer_training(report: Any, spec: Any = None, *, batch: int = 1, input_grad: bool = True,
                   trainable: bool = True, dtype: str = "fp32") -> dict[str, int]:
    """One layer's training facts as it sits inside a network (by default its input needs a
    gradient and its parameters are trained): backward MACs and the bytes it keeps (its input
    and output counted whole, as if no neighbour kept them)."""
    from convcalc.training.rules import layer_saves
    from convcalc.training.saved import FIXED_BYTES

    if dtype not in DTYPE_BYTES:
        raise SpecError(f"--dtype {dtype!r} is not known for training; one of: "
                        f"{', '.join(DTYPES)}")
    act = DTYPE_BYTES[dtype]
    s = layer_saves(report, spec, input_grad, trainable and report.params > 0)
    saved = sum(p.elements * (act if p.dtype == "act" else FIXED_BYTES[p.dtype])
                for p in s.private)
    saved += report.input.elements * batch * act if s.input else 0
    saved += report.output.elements * batch * act if s.output else 0
    return {"backward_macs": s.backward_macs, "grad_input_macs": s.grad_input_macs,
            "grad_weight_macs": s.grad_weight_macs, "saved_bytes": saved}

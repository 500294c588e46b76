"""Does a training step fit a device, and the largest batch that does.

The memory at each moment of a step is affine in the batch: every activation, gradient and
kept tensor is N × (its size per sample), while parameters, their gradients, optimizer state
and per-channel statistics are fixed. So peak(N) = max over the schedule's moments of
(a_i + N·b_i), a convex function of N: the line through peak(1) and peak(2) is a lower bound,
solved exactly for the memory; the answer is then confirmed (peak(B) ≤ memory < peak(B + 1))
and walked down (or up) while it is not: the moment of the peak may move with N.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcalc.errors import SpecError
from convcalc.report import NetworkReport
from convcalc.training import TrainingReport, train

MAX_BATCH = 2**40


@dataclass(frozen=True, slots=True)
class BatchFit:
    """The largest batch whose training step fits `memory` bytes (0: not even one sample)."""

    batch: int
    memory: int
    peak_bytes: int
    """The step's peak at `batch` (at batch 1 when nothing fits)."""
    next_peak_bytes: int
    """The peak at batch + 1 (which does not fit)."""
    fixed_bytes: int
    per_sample_bytes: int
    """peak(2) − peak(1) and peak(1) − that: the line the search starts from."""
    training: TrainingReport


def largest_batch(report: NetworkReport, memory: int, *, freeze: Sequence[str] = (),
                  checkpoint: Sequence[str] = (), optimizer: str = "adam",
                  dtype: str = "fp32") -> BatchFit:
    """The largest N with peak(N) ≤ memory, for `report` analysed at batch 1."""
    if report.batch != 1:
        raise SpecError("solve batch finds the batch: give the network without --batch")

    def step(n: int) -> TrainingReport:
        return train(report.batched(n), freeze=freeze, checkpoint=checkpoint,
                     optimizer=optimizer, dtype=dtype)

    one = step(1)
    slope = step(2).peak.bytes - one.peak.bytes
    fixed = one.peak.bytes - slope
    if one.peak.bytes > memory:
        return BatchFit(0, memory, one.peak.bytes, one.peak.bytes, fixed, slope, one)
    guess = MAX_BATCH if slope <= 0 else max(1, min(MAX_BATCH, (memory - fixed) // slope))
    at = step(guess)
    while at.peak.bytes > memory and guess > 1:  # convex: the line was optimistic
        guess = max(1, min(guess - 1, guess * memory // at.peak.bytes))
        at = step(guess)
    after = step(guess + 1)
    while after.peak.bytes <= memory and guess < MAX_BATCH:
        guess, at = guess + 1, after
        after = step(guess + 1)
    return BatchFit(guess, memory, at.peak.bytes, after.peak.bytes, fixed, slope, at)

"""What `convcalc solve` answers: `Solution` (one answer) and `Solved` (one question's answers).

Takes the values the searches found; gives frozen records with raw numbers and their `to_dict`
(what `--format json` prints), and `formula_text` / `spec_value`, the two ways an answer is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from convcalc.report import Formula
from convcalc.shapes import Shape

# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Solution:
    """One answer: layer-spec fields (scalar when equal on every axis), what it produces, and
    the formulas and warnings that show it. `layers` and `sizes` describe a chain."""

    values: dict[str, Any]
    output: Shape | None
    spatial: tuple[int, ...]
    formulas: tuple[Formula, ...] = ()
    warnings: tuple[str, ...] = ()
    params: int | None = None
    macs: int | None = None
    layers: tuple[dict[str, Any], ...] = ()
    sizes: tuple[tuple[int, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.values)
        if self.layers:
            data["layers"] = [dict(layer) for layer in self.layers]
            data["sizes"] = [spec_value(s) for s in self.sizes]
        data["output"] = _shape_dict(self.output, self.spatial)
        if self.params is not None:
            data.update(params=self.params, macs=self.macs)
        data.update(formulas=[formula_text(f) for f in self.formulas],
                    warnings=list(self.warnings))
        return data


@dataclass(frozen=True, slots=True)
class Solved:
    """The answer to one `solve` question: every solution counted, the first `limit` listed,
    and, when there is none, the nearest achievable ones."""

    mode: str
    kind: str
    input: Shape | None
    input_spatial: tuple[int, ...]
    target: dict[str, Any]
    bounds: dict[str, Any]
    fields: tuple[str, ...]
    count: int
    solutions: tuple[Solution, ...]
    nearest: tuple[Solution, ...]
    reason: str | None = None
    """Why no completion reaches the target, where one bound says it (`stride 2 gives at most
    112 from 224`)."""
    notes: tuple[str, ...] = ()
    """What the question was taken to mean (TensorFlow's SAME, dilation 1 unless given)."""

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "kind": self.kind,
                "input": _shape_dict(self.input, self.input_spatial), "target": self.target,
                "bounds": self.bounds, "count": self.count,
                "solutions": [s.to_dict() for s in self.solutions],
                "nearest": [s.to_dict() for s in self.nearest],
                "reason": self.reason, "notes": list(self.notes)}


def formula_text(f: Formula, show: Callable[[Any], str] = str) -> str:
    """`H_out = ⌊(28 − 9 + 2·4)/1⌋ + 1 = 28`: the formula with its numbers, and its value."""
    middle = f" = {f.substituted}" if f.substituted != str(f.value) else ""
    return f"{f.metric}{middle} = {show(f.value)}"


def _shape_dict(shape: Shape | None, spatial: Sequence[int]) -> dict[str, Any]:
    if shape is not None:
        return shape.to_dict()
    return {"channels": None, "spatial": list(spatial)}


def spec_value(values: Sequence[int]) -> int | list[int]:
    """As a layer spec writes a per-axis field: a scalar when every axis agrees, else a list."""
    return values[0] if len(set(values)) == 1 else list(values)


def target_dict(spatial: Sequence[int] | None, max_macs: int | None = None,
            max_params: int | None = None, divisor: int | None = None) -> dict[str, Any]:
    return {"spatial": None if spatial is None else list(spatial), "max_macs": max_macs,
            "max_params": max_params, "divisor": divisor}

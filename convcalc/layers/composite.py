"""Helpers for layers made of parts: parts are analysed in sequence, totals are their sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from convcalc.errors import ConvcalcError
from convcalc.report import LayerReport
from convcalc.rf import Path
from convcalc.shapes import Shape

Step = tuple[str, Callable[[Shape], LayerReport]]


def sequential_path(parts: Sequence[LayerReport]) -> Path:
    """One path that runs through every part's (single) path in order."""
    return tuple(step for part in parts for path in part.rf_paths[:1] for step in path)


def in_part(error: ConvcalcError, part: str) -> ConvcalcError:
    """Re-raise a part's error with the part named in the message."""
    return type(error)(f"in part '{part}': {error.message}", error.location)


def run_parts(shape: Shape, steps: Sequence[Step]) -> list[LayerReport]:
    """Analyse parts in sequence, each on the previous one's output; an error names its part."""
    parts: list[LayerReport] = []
    current = shape
    for label, step in steps:
        try:
            part = step(current)
        except ConvcalcError as e:
            raise in_part(e, label) from None
        parts.append(part)
        current = part.output
    return parts

"""Helpers for layers made of parts: parts are analysed in sequence, totals are their sums."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc.errors import ConvcalcError
from convcalc.report import LayerReport
from convcalc.rf import Path


def sequential_path(parts: Sequence[LayerReport]) -> Path:
    """One path that runs through every part's (single) path in order."""
    return tuple(step for part in parts for path in part.rf_paths[:1] for step in path)


def in_part(error: ConvcalcError, part: str) -> ConvcalcError:
    """Re-raise a part's error with the part named in the message."""
    return type(error)(f"in part '{part}': {error.message}", error.location)

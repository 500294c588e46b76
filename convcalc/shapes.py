"""Feature-map shapes: channels plus a spatial tuple, and parsing of `12x12x3`-style notation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from convcalc.errors import SpecError

_SEPARATORS = re.compile(r"\s*[x×X*,]\s*")
MAX_RANK = 3


@dataclass(frozen=True, slots=True)
class Shape:
    """One sample's feature map: `channels` and `spatial` = (L), (H, W) or (D, H, W); () for a vector."""

    channels: int
    spatial: tuple[int, ...]

    @property
    def rank(self) -> int:
        """Number of spatial axes."""
        return len(self.spatial)

    @property
    def elements(self) -> int:
        """channels · ∏spatial: the number of activation values."""
        return self.channels * prod(self.spatial)

    def with_channels(self, channels: int) -> Shape:
        return Shape(channels, self.spatial)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "spatial": list(self.spatial)}

    def channels_last(self) -> str:
        """The documents' notation, H×W×C (spatial axes first)."""
        return "×".join(str(n) for n in (*self.spatial, self.channels))


def parse_shape(text: str, *, channels_first: bool = False) -> Shape:
    """Parse `12x12x3` (H×W×C), `5x4` (L×C), `16x112x112x3` (D×H×W×C) or `100` (a vector).

    With `channels_first`, the first number is the channel count: `8x7x7` = 8 channels of 7×7.
    `x`, `×`, `*` and `,` all separate numbers.
    """
    raw = text.strip()
    parts = [p for p in _SEPARATORS.split(raw) if p != ""] if raw else []
    allowed = "write H×W×C such as 12x12x3 (also L×C, D×H×W×C, or a channel count alone)"
    if not parts:
        raise SpecError(f"empty shape; {allowed}")
    numbers: list[int] = []
    for part in parts:
        if not re.fullmatch(r"[0-9_]+", part):
            raise SpecError(f"bad shape {text!r}: {part!r} is not a whole number; {allowed}")
        numbers.append(int(part))
    if len(numbers) > MAX_RANK + 1:
        raise SpecError(f"bad shape {text!r}: {len(numbers) - 1} spatial axes; at most {MAX_RANK}")
    if any(n < 1 for n in numbers):
        raise SpecError(f"bad shape {text!r}: every size must be ≥ 1")
    if len(numbers) == 1:
        return Shape(numbers[0], ())
    if channels_first:
        return Shape(numbers[0], tuple(numbers[1:]))
    return Shape(numbers[-1], tuple(numbers[:-1]))


def coerce_shape(value: object, *, channels_first: bool = False) -> Shape:
    """A Shape from a Shape, a shape string, or a mapping `{"channels": 4, "spatial": [5, 5]}`."""
    if isinstance(value, Shape):
        return value
    if isinstance(value, str):
        return parse_shape(value, channels_first=channels_first)
    if isinstance(value, Mapping):
        unknown = set(value) - {"channels", "spatial"}
        if unknown:
            raise SpecError(f"input: unknown key(s) {sorted(unknown)}; allowed: channels, spatial")
        channels = value.get("channels")
        spatial = value.get("spatial", [])
        if type(channels) is not int or channels < 1:
            raise SpecError(f"input: channels must be a whole number ≥ 1, got {channels!r}")
        if not isinstance(spatial, list | tuple) or any(
            type(n) is not int or n < 1 for n in spatial
        ):
            raise SpecError(f"input: spatial must be a list of whole numbers ≥ 1, got {spatial!r}")
        if len(spatial) > MAX_RANK:
            raise SpecError(f"input: {len(spatial)} spatial axes; at most {MAX_RANK}")
        return Shape(channels, tuple(spatial))
    raise SpecError(
        f"input must be a shape string like '12x12x3' or a mapping with channels and spatial, "
        f"got {type(value).__name__}"
    )

"""Feature-map shapes: channels plus a spatial tuple, and parsing of `12x12x3`-style notation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from convcalc.errors import SpecError
from convcalc.frozen import fast_init
from convcalc.limits import MAX_INT
from convcalc.numbers import NumberError, parse_whole, shown, type_word, value_text

MAX_RANK = 3


@fast_init
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


_SHAPE = re.compile(r"[0-9]+(?:[x×X][0-9]+)*")


def parse_shape(text: str, *, channels_first: bool = False) -> Shape:
    """Parse `12x12x3` (H×W×C), `5x4` (L×C), `16x112x112x3` (D×H×W×C) or `100` (a vector).

    With `channels_first`, the first number is the channel count: `8x7x7` = 8 channels of 7×7.
    Numbers are separated by `x` (or `×`); nothing else is a shape.
    """
    allowed = "write H×W×C such as 12x12x3 (also L×C, D×H×W×C, or a channel count alone)"
    if not isinstance(text, str):
        raise SpecError(f"a shape is text such as 12x12x3, got {type_word(text)}")
    raw = text.strip()
    if not raw:
        raise SpecError(f"empty shape; {allowed}")
    if not _SHAPE.fullmatch(raw):
        hint = " (separate the sizes with x, not commas)" if "," in raw else ""
        raise SpecError(f"bad shape {shown(text)}{hint}; {allowed}")
    numbers: list[int] = []
    for part in re.split(r"[x×X]", raw):
        try:
            numbers.append(parse_whole(part))
        except NumberError as e:
            raise SpecError(f"bad shape {shown(text)}: {e}; {allowed}") from None
    if len(numbers) > MAX_RANK + 1:
        raise SpecError(f"bad shape {shown(text)}: {len(numbers) - 1} spatial axes; at most "
                        f"{MAX_RANK}")
    if any(n < 1 for n in numbers):
        raise SpecError(f"bad shape {shown(text)}: every size must be ≥ 1")
    if len(numbers) == 1:
        return Shape(numbers[0], ())
    if channels_first:
        return Shape(numbers[0], tuple(numbers[1:]))
    return Shape(numbers[-1], tuple(numbers[:-1]))


def parse_input(text: str, *, channels_first: bool = False,
                rank: int | None = None) -> tuple[Shape, int | None]:
    """A shape and, with `channels_first`, the batch of PyTorch's own layouts: `1x3x224x224`
    (N×C×H×W) and `1x3x16x112x112` (N×C×D×H×W). Three numbers channels first are C×H×W,
    two C×L. Four numbers are N×C×H×W on a 2-D network and C×D×H×W on a 3-D one (`rank`, the
    spatial axes of the spec's own input); when the rank is not known, a leading 1 is the
    batch (PyTorch's `1x3x224x224`) and any other four numbers are refused with both readings
    named, never guessed (`3x16x112x112` is a 3-channel clip or a batch of 3)."""
    if channels_first and isinstance(text, str):
        sizes = re.split(r"[x×X]", text.strip())
        if len(sizes) in (4, 5) and _SHAPE.fullmatch(text.strip()):
            numbers = [_whole(text, size) for size in sizes]
            if len(sizes) == 4 and rank == 3:
                return parse_shape(text, channels_first=True), None
            if len(sizes) == 4 and rank is None and numbers[0] != 1:
                c, d, h, w = numbers
                raise SpecError(
                    f"{shown(text)} with --channels-first is ambiguous: N×C×H×W (a batch of "
                    f"{c} of {d} channels, {h}×{w}) or C×D×H×W ({c} channels, {d}×{h}×{w}); "
                    f"write 1x{text.strip()} for one {d}×{h}×{w} sample (N×C×D×H×W), or "
                    f"{d}x{h}x{w} with --batch {c} for the batch")
            shape = parse_shape("x".join(sizes[1:]), channels_first=True)
            if numbers[0] < 1:
                raise SpecError(f"bad shape {shown(text)}: the batch must be ≥ 1")
            return shape, numbers[0]
    return parse_shape(text, channels_first=channels_first), None


def _whole(text: str, size: str) -> int:
    try:
        return parse_whole(size)
    except NumberError as e:
        raise SpecError(f"bad shape {shown(text)}: {e}") from None


def looks_channels_first(shape: Shape) -> bool:
    """An H×W×C reading that is probably C×H×W written first-channel-first (3x224x224): a
    first spatial size of 1, 3 or 4 and many more "channels" than that, the other sizes
    equal to the channel count (a square image)."""
    return (shape.rank >= 2 and shape.spatial[0] in (1, 3, 4) and shape.channels >= 16
            and all(n == shape.channels for n in shape.spatial[1:]))


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
        if type(channels) is not int or not 1 <= channels <= MAX_INT:
            raise SpecError(f"input: channels must be a whole number from 1 to 2^63 − 1, got "
                            f"{value_text(channels)}")
        if not isinstance(spatial, list | tuple) or any(
            type(n) is not int or not 1 <= n <= MAX_INT for n in spatial
        ):
            raise SpecError("input: spatial must be a list of whole numbers from 1 to 2^63 − 1, "
                            f"got {value_text(spatial)}")
        if len(spatial) > MAX_RANK:
            raise SpecError(f"input: {len(spatial)} spatial axes; at most {MAX_RANK}")
        return Shape(channels, tuple(spatial))
    raise SpecError(
        f"input must be a shape string like '12x12x3' or a mapping with channels and spatial, "
        f"got {type_word(value)}"
    )

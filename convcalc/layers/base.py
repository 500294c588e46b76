"""The base of every layer model, its field types, and helpers shared by the layer modules."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from convcalc.errors import Location, ShapeError
from convcalc.layers.op_forms import OpForm, check_form
from convcalc.limits import MAX_INT
from convcalc.report import LayerReport
from convcalc.shapes import Shape

# strict mode (model_config) makes these refuse booleans, floats and numeric strings
PosInt = Annotated[int, Field(ge=1, le=MAX_INT)]
GroupCount = Annotated[int, Field(ge=2, le=MAX_INT)]
"""Groups of a kind that is grouped by definition (grouped, pointwise_group): at least 2."""
NonNegInt = Annotated[int, Field(ge=0, le=MAX_INT)]
PosAxes = PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)]
NonNegAxes = NonNegInt | Annotated[list[NonNegInt], Field(min_length=1, max_length=3)]
Padding = NonNegAxes | Literal["same", "valid"]
Bias = bool


def _to_fraction(value: Any) -> Fraction:
    """α as an exact fraction: 0.125 → 1/8 (via its decimal text), "1/8" → 1/8."""
    result = _exact(value)
    if not 0 <= result < 1:
        raise ValueError(f"must be in [0, 1), got {_text(value)}")
    return result


def _text(value: Any) -> str:
    from convcalc.numbers import value_text

    return value_text(value) if not isinstance(value, float) else repr(value)


Alpha = Annotated[
    Fraction,
    PlainValidator(_to_fraction),
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "minimum": 0, "exclusiveMaximum": 1}),
]


def _exact(value: Any) -> Fraction:
    """A number as an exact fraction (0.125 → 1/8 via its decimal text; "1/8"; 1e-6)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float | str):
        from convcalc.numbers import NumberError, from_float, parse_number

        try:
            return Fraction(from_float(value) if isinstance(value, float)
                            else parse_number(value))
        except NumberError as e:
            raise ValueError(str(e)) from None
    from convcalc.numbers import type_word

    raise ValueError(f"expected a number, got {type_word(value)}")


def _probability(value: Any) -> Fraction:
    result = _exact(value)
    if not 0 <= result <= 1:
        raise ValueError(f"must be in [0, 1], got {_text(value)}")
    return result


def _positive(value: Any) -> Fraction:
    result = _exact(value)
    if result <= 0:
        raise ValueError(f"must be > 0, got {_text(value)}")
    return result


Probability = Annotated[
    Fraction, PlainValidator(_probability), PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
Positive = Annotated[
    Fraction, PlainValidator(_positive), PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def axis_names(rank: int) -> tuple[str, ...]:
    return AXIS_NAMES.get(rank, tuple(f"axis{i}" for i in range(rank)))


class LayerSpec(BaseModel):
    """Base of every layer kind. The first docstring line of a subclass is its meaning."""

    # defer_build: a model's validator is built on first use, so a one-layer command pays for
    # one kind's schema, not for all of them (the largest share of start-up time otherwise)
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True,
                              defer_build=True)

    name: str | None = None
    op: OpForm | None = None
    """How the model writes this layer, where a peer tool's count depends on it
    (convcalc.layers.op_forms); None: as `convcalc export` writes it (a module)."""
    composite: ClassVar[bool] = False

    @model_validator(mode="after")
    def _op_form(self) -> LayerSpec:
        check_form(self.kind_name, self.op, dict(self))
        return self

    @property
    def kind_name(self) -> str:
        return str(getattr(self, "kind"))  # noqa: B009 - every subclass declares `kind`

    def apply(self, shape: Shape) -> LayerReport:
        """Analyse this layer on an input of `shape`."""
        raise NotImplementedError


def fit_error(field: str, message: str) -> ShapeError:
    """A layer that does not fit its input (exit code 1), naming the field."""
    return ShapeError(message, Location(field=field))


def per_axis(value: int | Sequence[int], rank: int, field: str) -> tuple[int, ...]:
    """Broadcast a scalar to every spatial axis; check a list has one value per axis."""
    if isinstance(value, int):
        return (value,) * rank
    if len(value) != rank:
        raise fit_error(field, f"{field}={list(value)} has {len(value)} axes but the input has "
                               f"{rank} spatial axes; give one value or {rank}")
    return tuple(value)


def need_spatial(shape: Shape, kind: str) -> None:
    if shape.rank == 0:
        raise fit_error("input", f"{kind} needs a spatial input (L×C, H×W×C or D×H×W×C), got a "
                                 f"vector of {shape.channels}")


def dot(values: Sequence[int]) -> str:
    """Numbers joined by a middle dot, as the documents write products."""
    return "·".join(str(v) for v in values)


def check_divides(groups: int, channels: int, field: str, what: str) -> None:
    if channels % groups:
        raise fit_error(field, f"groups={groups} must divide the {what} ({channels})")

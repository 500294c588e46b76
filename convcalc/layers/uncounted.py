"""An operator an import could not read, kept for its output shape: it counts nothing."""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import Field, field_validator

from convcalc.layers.base import LayerSpec
from convcalc.report import Formula, LayerReport, leaf
from convcalc.rf import TapMap
from convcalc.shapes import Shape, parse_shape


class Uncounted(LayerSpec):
    """A model's operator convcalc cannot count (an import writes it where it could not read
    one, unless --strict): `output` is the shape the model gives it (H×W×C, L×C or C),
    `operator` its operator's name. 0 params and 0 MACs, said so: the totals exclude whatever it costs.
    Every output position is taken to see the whole input."""

    kind: Literal["uncounted"] = "uncounted"
    operator: str = Field(min_length=1, max_length=200)
    output: str

    @field_validator("operator")
    @classmethod
    def _visible(cls, value: str) -> str:
        # It reaches terminals, reports and comments: a newline or a bidi control in it
        # would break or reorder their lines (an import writes such characters escaped).
        bad = [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
        if bad:
            escaped = bad[0].encode("unicode_escape").decode()
            raise ValueError(f"{bad[0]!a} is not allowed (write the text {escaped} "
                             "instead, as an import does)")
        return value

    @field_validator("output")
    @classmethod
    def _shape(cls, value: str) -> str:
        parse_shape(value)
        return value

    def apply(self, shape: Shape) -> LayerReport:
        out = parse_shape(self.output)
        paths = (((tuple(TapMap.bins(n, [(0, n)]) for n in shape.spatial)),),) \
            if shape.spatial else ()
        return leaf(self.kind, self.name, shape, out, paths=paths, formulas=[
            Formula("params", f"not counted ({self.operator})", "0", 0),
            Formula("MACs", f"not counted ({self.operator})", "0", 0)], warnings=[
                f"{self.operator}: not counted (convcalc cannot read this operator); the totals "
                "exclude its cost"])

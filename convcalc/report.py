"""Reports: immutable rows of exact ints. No display strings; renderers format them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from convcalc.frozen import fast_init
from convcalc.rf import AxisRF, Path, RFState, advance_state
from convcalc.shapes import Shape


def exact(value: Fraction | int | None) -> int | str | None:
    """JSON form of an exact number: an int when whole, else a string like "1/2"."""
    if value is None:
        return None
    if isinstance(value, int) or value.denominator == 1:
        return int(value)
    return f"{value.numerator}/{value.denominator}"


def _ratio(numerator: int, denominator: int) -> int | str:
    """exact(Fraction(n, d)) without building a Fraction in the common whole case."""
    if numerator % denominator == 0:
        return numerator // denominator
    value = Fraction(numerator, denominator)
    return f"{value.numerator}/{value.denominator}"


def _axis_dict(axis: AxisRF) -> tuple[int, int | str, int | str | None]:
    if axis.period == 1 and axis.whole is None:  # one interval (the common case)
        lo, hi = axis.lo[0], axis.hi[0]
        if lo is not None and hi is not None:
            return hi - lo + 1, axis.advance, _ratio(lo + hi, 2)
    return axis.size, _ratio(axis.advance, axis.period), exact(axis.start)


def rf_to_dict(state: RFState) -> dict[str, list[Any]]:
    """Receptive field per axis: size (int), jump and start (int or "p/q")."""
    axes = [_axis_dict(a) for a in state]
    return {
        "size": [a[0] for a in axes],
        "jump": [a[1] for a in axes],
        "start": [a[2] for a in axes],
    }


@dataclass(frozen=True, slots=True)
class Formula:
    """One metric's formula: symbols, the same with numbers substituted, and the exact value."""

    metric: str
    symbolic: str
    substituted: str
    value: int | Fraction


FormulaSource = Sequence[Formula] | Callable[[], Sequence[Formula]]


@fast_init
@dataclass(frozen=True, slots=True)
class LayerReport:
    """What one layer costs and sees. Composite layers carry their parts; totals are their sums."""

    kind: str
    name: str | None
    input: Shape
    output: Shape
    weight_params: int
    bias_params: int
    macs: int
    input_elements: int
    output_elements: int
    access_cost: int
    parts: tuple[LayerReport, ...] = ()
    explain: FormulaSource = field(default=(), repr=False, compare=False)
    """The formulas with numbers substituted, or a function that makes them (made on demand:
    most reports in a network are never explained)."""
    rf_paths: tuple[Path, ...] = field(default=(), repr=False)
    warnings: tuple[str, ...] = ()
    """What the layer does that a user may not expect (input pixels that ⌊·⌋ leaves unread)."""
    once: bool = False
    """Computed once per forward pass whatever the batch (Swin V2's position-bias MLP runs on
    its coordinate table, not on the samples): a batch leaves its MACs and tensors as they are."""

    @property
    def formulas(self) -> tuple[Formula, ...]:
        source = self.explain
        return tuple(source() if callable(source) else source)

    @property
    def receptive_field(self) -> RFState:
        """This layer's own field (the identity threaded through its paths)."""
        return single_layer_rf(self.input.rank, self.rf_paths)

    @property
    def params(self) -> int:
        """Learnable parameters: weights + bias."""
        return self.weight_params + self.bias_params

    @property
    def flops(self) -> int:
        """FLOPs = 2 · MACs (one multiply and one add per MAC)."""
        return 2 * self.macs

    @property
    def weight_elements(self) -> int:
        return self.params

    @property
    def activation_elements(self) -> int:
        """Activation values read and written: input + output elements."""
        return self.input_elements + self.output_elements

    def leaves(self) -> list[LayerReport]:
        """The innermost layers: self if it has no parts."""
        if not self.parts:
            return [self]
        return [leaf for part in self.parts for leaf in part.leaves()]

    def memory(self) -> dict[str, int]:
        return {
            "input_elements": self.input_elements,
            "output_elements": self.output_elements,
            "weight_elements": self.weight_elements,
            "activation_elements": self.activation_elements,
            "access_cost": self.access_cost,
        }

    def to_dict(self, receptive_field: RFState | None = None) -> dict[str, Any]:
        """The JSON contract of one layer (`receptive_field` replaces the layer's own)."""
        rf = self.receptive_field if receptive_field is None else receptive_field
        # the properties (params, flops, memory()) spelt out: this runs once per row of a
        # network's JSON
        params = self.weight_params + self.bias_params
        ins, outs = self.input_elements, self.output_elements
        return {
            "kind": self.kind,
            "name": self.name,
            "input": {"channels": self.input.channels, "spatial": list(self.input.spatial)},
            "output": {"channels": self.output.channels, "spatial": list(self.output.spatial)},
            "params": params,
            "weight_params": self.weight_params,
            "bias_params": self.bias_params,
            "macs": self.macs,
            "flops": 2 * self.macs,
            "receptive_field": rf_to_dict(rf),
            "memory": {"input_elements": ins, "output_elements": outs,
                       "weight_elements": params, "activation_elements": ins + outs,
                       "access_cost": self.access_cost},
            "parts": [p.to_dict() for p in self.parts] if self.parts else [],
            "warnings": list(self.all_warnings() if self.parts else self.warnings),
        }

    def all_warnings(self) -> tuple[str, ...]:
        """This layer's warnings and its parts' (named by part)."""
        own = list(self.warnings)
        for part in self.parts:
            own += [f"{part.name or part.kind}: {w}" for w in part.all_warnings()]
        return tuple(own)


def batched(report: LayerReport, n: int) -> LayerReport:
    """The report for a batch of n samples: MACs and activations × n, parameters as they are."""
    if n == 1 or report.once:
        return report
    parts = tuple(batched(p, n) for p in report.parts)
    ins, outs = report.input_elements * n, report.output_elements * n
    access = (sum(p.access_cost for p in parts) if parts
              else ins + outs + report.weight_params + report.bias_params)
    macs = sum(p.macs for p in parts) if parts else report.macs * n
    return replace(report, macs=macs, input_elements=ins, output_elements=outs,
                   access_cost=access, parts=parts)


def single_layer_rf(rank: int, paths: Sequence[Path]) -> RFState:
    """The field of one layer on its own: the identity state threaded through its paths."""
    state: RFState = tuple(AxisRF.identity() for _ in range(rank))
    return advance_state(state, paths)[0]


def leaf(kind: str, name: str | None, shape: Shape, output: Shape, *, weight_params: int = 0,
         bias_params: int = 0, macs: int = 0, paths: Sequence[Path] = (),
         formulas: FormulaSource = (), input_elements: int | None = None,
         output_elements: int | None = None, warnings: Sequence[str] = (),
         once: bool = False) -> LayerReport:
    """A report for a layer with no parts; memory follows from its shapes and weights."""
    ins = shape.elements if input_elements is None else input_elements
    outs = output.elements if output_elements is None else output_elements
    return LayerReport(
        kind=kind, name=name, input=shape, output=output, weight_params=weight_params,
        bias_params=bias_params, macs=macs,
        input_elements=ins, output_elements=outs,
        access_cost=ins + outs + weight_params + bias_params,
        explain=formulas if callable(formulas) else tuple(formulas), rf_paths=tuple(paths),
        warnings=tuple(warnings), once=once,
    )


def composite(kind: str, name: str | None, shape: Shape, output: Shape,
              parts: Sequence[LayerReport], *, paths: Sequence[Path],
              formulas: Sequence[Formula] = (), input_elements: int | None = None,
              output_elements: int | None = None) -> LayerReport:
    """A report whose counts are the sums of its parts (never stored twice)."""

    def explain() -> tuple[Formula, ...]:
        names = " + ".join(p.name or p.kind for p in parts)
        extra = formulas() if callable(formulas) else formulas
        return (
            Formula("params", names, " + ".join(str(p.params) for p in parts),
                    sum(p.params for p in parts)),
            Formula("MACs", names, " + ".join(str(p.macs) for p in parts),
                    sum(p.macs for p in parts)),
            *extra,
        )

    return LayerReport(
        kind=kind, name=name, input=shape, output=output,
        weight_params=sum(p.weight_params for p in parts),
        bias_params=sum(p.bias_params for p in parts),
        macs=sum(p.macs for p in parts),
        input_elements=shape.elements if input_elements is None else input_elements,
        output_elements=output.elements if output_elements is None else output_elements,
        access_cost=sum(p.access_cost for p in parts),
        parts=tuple(parts), explain=explain, rf_paths=tuple(paths),
    )


@fast_init
@dataclass(frozen=True, slots=True)
class NetRow:
    """One layer of a network: its report, hierarchical path, and cumulative receptive field."""

    path: str
    report: LayerReport
    receptive_field: RFState
    spec: Any = field(default=None, repr=False, compare=False)
    """The layer model the row was computed from (not serialised)."""
    parts: tuple[str, ...] = ()
    """The path's levels (`("layer2", "0", "conv1")`); names never contain dots, so
    `".".join(parts) == path`."""
    input_field: RFState = field(default=(), repr=False, compare=False)
    """The receptive field of the layer's input (what its own field grows from)."""
    trainable: bool = field(default=True, compare=False)
    """False when the spec says `trainable: false` on the layer or a block around it: training
    treats it as frozen (not serialised: inference counts do not depend on it)."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, **self.report.to_dict(self.receptive_field)}


TOTAL_KEYS = ("params", "weight_params", "bias_params", "macs", "flops", "activation_elements",
              "access_cost")


@dataclass(frozen=True, slots=True)
class NetworkReport:
    """A whole network: rows in order, the output shape, warnings; totals are computed.

    `tree` is the expanded structure (convcalc.tree), `levels` each named level's own output and
    receptive field (what a `--depth` subtotal shows), `receptive_field` the network's."""

    name: str
    input: Shape
    output: Shape
    rows: tuple[NetRow, ...]
    warnings: tuple[str, ...] = ()
    tree: Any = field(default=None, repr=False, compare=False)
    levels: Mapping[tuple[str, ...], Any] = field(default_factory=dict, repr=False,
                                                  compare=False)
    receptive_field: RFState = ()
    params: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    batch: int = 1
    """Samples per forward pass: MACs and activations count all of them, parameters once."""

    def batched(self, n: int) -> NetworkReport:
        """This report for a batch of n samples (rows and totals scale, parameters do not)."""
        if n == 1:
            return self
        rows = tuple(NetRow(r.path, batched(r.report, n), r.receptive_field, r.spec, r.parts,
                            r.input_field, r.trainable) for r in self.rows)
        return replace(self, rows=rows, batch=self.batch * n)

    def totals(self) -> dict[str, int]:
        """Sums over the rows (never stored): params, MACs, FLOPs, memory."""
        sums = dict.fromkeys(TOTAL_KEYS, 0)
        for row in self.rows:
            r = row.report
            sums["params"] += r.params
            sums["weight_params"] += r.weight_params
            sums["bias_params"] += r.bias_params
            sums["macs"] += r.macs
            sums["activation_elements"] += r.activation_elements
            sums["access_cost"] += r.access_cost
        sums["flops"] = 2 * sums["macs"]
        sums["layers"] = len(self.rows)
        sums["batch"] = self.batch
        return sums

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `convcalc net`."""
        return {
            "name": self.name,
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
            "layers": [row.to_dict() for row in self.rows],
            "totals": self.totals(),
            "warnings": list(self.warnings),
        }

"""Conventions: the totals each peer FLOP counter prints for a network, and why they differ.

`convcalc net SPEC --conventions` reproduces, exactly, the total that PyTorch's FlopCounterMode,
ptflops (both backends), fvcore, thop, torchinfo, calflops and DeepSpeed print for the same
network built in torch the way `convcalc export --to pytorch` writes it, and splits each one's
difference from PyTorch's count by cause. Each tool is one module of rules over the torch calls
of the export (convcalc.conventions.ops); no torch is imported. docs/conventions.md explains the
causes; docs/peer-tools.md has each tool's source lines and the measurements.

    analysis = convcalc.conventions.analyse(report)      # a NetworkReport
    analysis.count("fvcore").value                         # 314193216 for MobileNet v2
    analysis.count("fvcore").difference                    # {"normalization": 13356224, ...}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from convcalc.conventions.base import CAUSES, Convention, Count, count
from convcalc.conventions.calflops import CALFLOPS, CALFLOPS_FLOPS
from convcalc.conventions.deepspeed import DEEPSPEED, DEEPSPEED_FLOPS
from convcalc.conventions.fvcore import FVCORE
from convcalc.conventions.ops import Op, network_ops, unplaced_ops
from convcalc.conventions.other_ops import CATEGORIES, OtherOps, other_ops
from convcalc.conventions.ptflops import PTFLOPS, PTFLOPS_ATEN
from convcalc.conventions.thop import THOP
from convcalc.conventions.torch_fcm import TORCH
from convcalc.conventions.torchinfo import TORCHINFO
from convcalc.errors import SpecError
from convcalc.report import LayerReport, NetRow, NetworkReport
from convcalc.tree import TLayer, TSeq

CONVENTIONS: dict[str, Convention] = {c.tool: c for c in (
    TORCH, PTFLOPS, PTFLOPS_ATEN, FVCORE, THOP, TORCHINFO, CALFLOPS, CALFLOPS_FLOPS, DEEPSPEED,
    DEEPSPEED_FLOPS)}
"""Every tool name of the contract, in the order they are printed."""

TOOLS = tuple(CONVENTIONS)


def convention(tool: str) -> Convention:
    """The convention of a tool name; an unknown name is a SpecError with the closest name."""
    found = CONVENTIONS.get(tool)
    if found is None:
        from convcalc.spec import suggest

        raise SpecError(f"option --convention: unknown tool {tool!r}{suggest(tool, list(TOOLS))}; "
                        f"one of {', '.join(TOOLS)}")
    return found


@dataclass
class Analysis:
    """A network's torch calls (computed once) and every count made from them."""

    report: NetworkReport
    ops: Sequence[Sequence[Op]]
    """One sample's calls, whatever the report's batch."""
    params: int
    unplaced: Sequence[Op] = ()
    """Merges of a network without layers: in the totals, in no row."""
    batch: int = 1
    """The samples each tool is given (the report's --batch)."""
    _counts: dict[str, Count] = field(default_factory=dict)

    def count(self, tool: str) -> Count:
        """What `tool` prints for this network, per row and by cause."""
        if tool not in self._counts:
            self._counts[tool] = count(convention(tool), self.ops, self.params, self.unplaced,
                                       self.batch)
        return self._counts[tool]

    def counts(self, tools: Iterable[str] = TOOLS) -> list[Count]:
        return [self.count(t) for t in tools]

    @cached_property
    def other_ops(self) -> OtherOps:
        return other_ops(self.ops, self.unplaced, self.batch)


def analyse(report: NetworkReport) -> Analysis:
    """The torch calls of a network as the export writes it, ready to be counted (on the
    report's batch: each tool given that many samples)."""
    params = sum(row.report.params for row in report.rows)
    return Analysis(report, per_sample(network_ops(report), report.batch), params,
                    unplaced_ops(report), report.batch)


def per_sample(ops: list[list[Op]], batch: int) -> list[list[Op]]:
    """One sample's calls from a batched report's: the MACs of a call that runs per sample
    divided by the batch (the report multiplied them); shared lists stay shared."""
    if batch == 1:
        return ops
    done: dict[int, list[Op]] = {}
    out = []
    for row in ops:
        found = done.get(id(row))
        if found is None:
            found = done[id(row)] = [op if op.once or not op.macs else
                                     replace(op, macs=op.macs // batch) for op in row]
        out.append(found)
    return out


def layer_network(spec: Any, report: LayerReport, batch: int = 1) -> NetworkReport:
    """One layer as a network of one (for `convcalc layer --conventions`); `report` is for
    `batch` samples."""
    path = report.name or report.kind
    row = NetRow(path, report, report.receptive_field, spec, (path,))
    tree = TSeq((TLayer(0, report.input, report.output),), (), "network", False, report.input,
                report.output)
    return NetworkReport(path, report.input, report.output, (row,), (), tree, {},
                         report.receptive_field, batch=batch)


@dataclass(frozen=True)
class Peers:
    """What `--conventions`, `--convention TOOL` and the `other_ops` column show, counted: the
    result a command hands to its renderer (convcalc.render.conventions_view), which only
    formats it."""

    name: str
    """The network's name (the tools table's title)."""
    torch: Count
    """PyTorch FlopCounterMode's count, the reference of every difference."""
    picked: Count | None
    """`--convention TOOL`'s count (per row and in total), else None."""
    table: tuple[Count, ...]
    """The rows of the tools table after the usual output (empty: no table)."""
    every: tuple[Count, ...]
    """`--conventions`: every tool, for the JSON's `"conventions"` (else empty)."""
    other_ops: OtherOps
    causes: tuple[str, ...] = tuple(CAUSES)
    forms: Mapping[str, int] = field(default_factory=dict)
    """Layers the spec says the model writes otherwise than as a module (its `op`), by form."""


def net_peers(report: NetworkReport, *, every: bool, tool: str | None) -> Peers:
    """`convcalc net` with `--conventions` (`every`), `--convention TOOL` and/or the
    `other_ops` column."""
    chosen = convention(tool).tool if tool is not None else None
    analysis = analyse(report)
    table = TOOLS if every else tuple(dict.fromkeys(("torch", chosen))) if chosen else ()
    return Peers(report.name, analysis.count("torch"),
                 analysis.count(chosen) if chosen else None, tuple(analysis.counts(table)),
                 tuple(analysis.counts(TOOLS)) if every else (), analysis.other_ops,
                 forms=op_forms(report))


def op_forms(report: NetworkReport) -> dict[str, int]:
    """How many layers the spec says are written as a function, a method or channels-last."""
    found: dict[str, int] = {}
    for row in report.rows:
        form = getattr(row.spec, "op", None)
        if form is not None and form != "module":
            found[form] = found.get(form, 0) + 1
    return found


def layer_peers(spec: Any, report: LayerReport, *, every: bool, tool: str | None,
                batch: int = 1) -> Peers:
    """`convcalc layer` with `--conventions` and/or `--convention TOOL`: the layer as a network
    of one (`report` for `batch` samples)."""
    chosen = convention(tool).tool if tool is not None else None
    analysis = analyse(layer_network(spec, report, batch))
    table = TOOLS if every else tuple(dict.fromkeys(("torch", chosen or "torch")))
    return Peers(analysis.report.name, analysis.count("torch"),
                 analysis.count(chosen) if chosen else None, tuple(analysis.counts(table)),
                 tuple(analysis.counts(TOOLS)) if every else (), analysis.other_ops)


def conventions_json(analysis: Analysis, tools: Iterable[str] = TOOLS) -> list[dict[str, Any]]:
    """The contract's `"conventions"`: [{tool, version, value, label, difference}]."""
    return [c.to_dict() for c in analysis.counts(tools)]


def totals_json(analysis: Analysis) -> Mapping[str, Any]:
    """Other ops over the network: the total and by category."""
    ops = analysis.other_ops
    return {"other_ops": ops.total, "other_ops_by_category": dict(ops.by_category)}


__all__ = ["CATEGORIES", "CAUSES", "CONVENTIONS", "TOOLS", "Analysis", "Convention", "Count",
           "OtherOps", "Peers", "analyse", "convention", "conventions_json", "layer_network",
           "layer_peers", "net_peers", "totals_json"]

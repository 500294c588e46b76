"""What a convention is, and the one generic count every convention shares.

A convention (one per peer tool name) is a table of rules, one per torch call of the exported
network (convcalc.conventions.ops): the number that tool adds to its total for that call, as a
formula of the call's shapes and fields, mirroring one line of the tool's source (named in each
rule's docstring; docs/peer-tools.md has the measurements that confirm it). The count below
applies the rules call by call and never looks at a kind itself: the tables do.

The difference from PyTorch's count is split by cause: each call's count minus what PyTorch's
FlopCounterMode counts for the same call (in the tool's unit: MACs, or FLOPs = 2·MACs for a
FLOPs tool), filed under the cause the convention gives that call. The causes therefore sum to
the tool's value minus PyTorch's, exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from convcalc.conventions import attention_ops
from convcalc.conventions.ops import Op

Rule = Callable[[Op], int]

CAUSES: dict[str, str] = {
    "bias": "bias adds of convolutions and linear layers (one add per output element)",
    "normalization": "batch, layer and group norm (PyTorch counts none of them)",
    "activation": "activation functions",
    "pooling": "max, average and adaptive average pooling",
    "upsample": "upsampling (nearest, (bi/tri)linear)",
    "elementwise": "residual adds, gates and other elementwise products",
    "transposed_side": "transposed convolutions counted over their output positions (PyTorch "
                       "counts the input side: ≈ stride^rank × too many)",
    "transposed_groups": "transposed convolutions whose per-group filter count is divided by "
                         "the groups a second time",
    "same_padding": "convolutions with padding='same' whose output size is recomputed with "
                    "symmetric padding ⌊D·(K−1)/2⌋ (one position short per axis for an even "
                    "kernel)",
    "per_sample": "nn.Linear applied at every position of channels-last data (ConvNeXt's "
                  "blocks), its weights counted once per sample, not per position",
    "skipped": "operators PyTorch counts and the tool does not see",
    "batch": "the samples of a batch the tool does not count: its call builds an input of one "
             "sample (ptflops), so at --batch N it prints one sample's count",
}
"""Every cause a difference is filed under, in the order they are printed."""

OP_CAUSE: dict[str, str] = {
    "conv": "skipped", "conv_transpose": "transposed_side", "linear": "skipped",
    "conv_bias": "bias", "conv_transpose_bias": "bias", "linear_bias": "bias",
    "batchnorm": "normalization", "layernorm2d": "normalization", "groupnorm": "normalization",
    **dict.fromkeys(("relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu",
                     "tanh", "leaky_relu", "softmax", "identity"), "activation"),
    "maxpool": "pooling", "avgpool": "pooling", "adaptive_avgpool": "pooling",
    "upsample": "upsample",
    "add": "elementwise", "mul": "elementwise", "layer_scale": "elementwise",
    **dict.fromkeys(("cat", "split", "flatten", "channel_shuffle", "dropout",
                     "stochastic_depth"), "skipped"),
    **attention_ops.OP_CAUSE,
}
"""The cause of a difference on each torch call; a convention overrides it where its reason is
another (fvcore's same-padding conv is skipped, calflops' transposed conv divides twice)."""

OPS = tuple(OP_CAUSE)
"""Every torch call the export makes: each convention has a rule for every one of them."""


@dataclass(frozen=True, slots=True)
class Convention:
    """How one peer tool counts: its name (the contract's), the package and version its rules
    mirror, the unit and word it prints, and a rule and a cause for every torch call."""

    tool: str
    package: str
    version: str
    unit: Literal["MACs", "FLOPs"]
    call: str
    """How the total is obtained from the tool (its API call)."""
    rules: Mapping[str, Rule]
    label: Callable[[int], str]
    """The word the tool prints beside its total (it may depend on the magnitude)."""
    causes: Mapping[str, str] = field(default_factory=dict)
    """Overrides of OP_CAUSE for this tool."""
    fails: Callable[[Sequence[Sequence[Op]], int], str | None] = lambda ops, params: None
    """The error the tool raises on this network (the calls, the parameter count), or None."""
    one_sample: bool = False
    """The tool's call builds its own input of one sample (ptflops' (C, H, W)): at --batch N it
    prints the batch-1 count. Otherwise it is given the N samples and counts every call on them
    N times (`batched`), a call that runs once per pass (`Op.once`) once."""
    batched: Mapping[str, Callable[[Op, int], int]] = field(default_factory=dict)
    """A call whose count on N samples is not N times its count on one (thop's float
    truncation of an adaptive pool, calflops' upsampling to a size): (call, N) → count."""

    def cause(self, op: str) -> str:
        return self.causes.get(op) or OP_CAUSE[op]


@dataclass(frozen=True, slots=True)
class Count:
    """One tool's count of one network: the total it prints, per row, and the difference from
    PyTorch's count (in the tool's unit) by cause. `value` is None when the tool fails on the
    network; `error` then says how."""

    tool: str
    version: str
    label: str
    unit: str
    value: int | None
    rows: tuple[int, ...]
    difference: Mapping[str, int]
    reference: int
    """PyTorch FlopCounterMode's count in the tool's unit (MACs, or FLOPs)."""
    error: str | None = None

    def to_dict(self, *, difference: bool = True) -> dict[str, object]:
        """The JSON contract: tool, version, value, label (and difference by cause)."""
        out: dict[str, object] = {"tool": self.tool, "version": self.version,
                                  "value": self.value, "label": self.label}
        if difference:
            out["difference"] = dict(self.difference)
        if self.error is not None:
            out["error"] = self.error
        return out


def count(convention: Convention, per_row: Sequence[Sequence[Op]], params: int,
          unplaced: Sequence[Op] = (), batch: int = 1) -> Count:
    """Apply a convention's rules to every call, row by row: the total, the rows, the causes.
    `unplaced` calls (a network without layers) count in the total only. The calls are one
    sample's; `batch` samples are what the tool and PyTorch are given (Convention.one_sample,
    Convention.batched)."""
    scale = 2 if convention.unit == "FLOPs" else 1
    cause_of = {op: convention.cause(op) for op in OPS}
    rules = convention.rules if batch == 1 else _at_batch(convention, batch)
    rows: list[int] = []
    diff: dict[str, int] = {}
    reference = 0
    # rows that share one list of calls (equal layers, see ops.network_ops) are counted once
    memo: dict[int, tuple[int, int, list[tuple[str, int]]]] = {}
    for ops in per_row:
        found = memo.get(id(ops))
        if found is None:
            value = torch_total = 0
            causes: list[tuple[str, int]] = []
            for op in ops:
                n = rules[op.op](op)
                value += n
                torch = scale * op.macs * (1 if op.once else batch)
                torch_total += torch
                if n != torch:
                    if convention.one_sample and not op.once and batch > 1:
                        # the samples the tool does not see, then its own difference on one
                        causes.append(("batch", scale * op.macs * (1 - batch)))
                        torch = scale * op.macs
                    if n != torch:
                        causes.append((cause_of[op.op], n - torch))
            found = memo[id(ops)] = (value, torch_total, causes)
        rows.append(found[0])
        reference += found[1]
        for cause, n in found[2]:
            diff[cause] = diff.get(cause, 0) + n
    total = sum(rows)
    for op in unplaced:  # merges: no MACs, so no batch cause
        n, torch = rules[op.op](op), scale * op.macs
        total += n
        reference += torch
        if n != torch:
            diff[cause_of[op.op]] = diff.get(cause_of[op.op], 0) + n - torch
    error = convention.fails([*per_row, unplaced], params)
    ordered = {c: diff[c] for c in CAUSES if diff.get(c)}
    label = convention.label(total)
    return Count(convention.tool, convention.version, label, convention.unit,
                 None if error else total, tuple(rows), {} if error else ordered, reference,
                 error)


def _at_batch(convention: Convention, batch: int) -> dict[str, Rule]:
    """The rules on `batch` samples: one sample's (one_sample), else N times one sample's but
    for a call that runs once per pass and the calls the convention counts otherwise."""
    rules = convention.rules
    if convention.one_sample:
        return dict(rules)

    def on_batch(op_name: str) -> Rule:
        one, special = rules[op_name], convention.batched.get(op_name)

        def rule(op: Op) -> int:
            if op.once:
                return one(op)
            return special(op, batch) if special is not None else batch * one(op)

        return rule

    return {op: on_batch(op) for op in rules}


def zero(op: Op) -> int:
    """Not counted."""
    return 0


def torch_macs(op: Op) -> int:
    """PyTorch's own count of the call (FlopCounterMode FLOPs / 2)."""
    return op.macs


def torch_flops(op: Op) -> int:
    """2 · PyTorch's MACs (a FLOPs tool that counts the call as PyTorch does)."""
    return 2 * op.macs


def numel_in(op: Op) -> int:
    """numel of the input."""
    return op.n_in


def numel_out(op: Op) -> int:
    """numel of the output."""
    return op.n_out


def table(counted: Mapping[str, Rule], uncounted: Sequence[str]) -> dict[str, Rule]:
    """A convention's full rule table: the calls it counts, and the ones it does not (named, so
    that a call without a rule is an error here, never a silent zero)."""
    named = [*counted, *uncounted]
    missing = set(OPS) - set(named)
    unknown = set(named) - set(OPS)
    twice = {op for op in named if named.count(op) > 1}
    if missing or unknown or twice:
        raise KeyError(f"rule table: missing {sorted(missing)}, unknown {sorted(unknown)}, "
                       f"twice {sorted(twice)}")
    return {op: counted.get(op, zero) for op in OPS}

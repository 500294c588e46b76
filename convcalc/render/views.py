"""What each command shows, per format: text for JSON/CSV/Markdown, renderables for tables."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from fractions import Fraction
from typing import Any

from convcalc.render.columns import LAYER_ROWS, pick, thousands
from convcalc.render.rows import layer_rows
from convcalc.render.text import to_csv, to_json, to_markdown
from convcalc.report import Formula, LayerReport, NetworkReport


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


CONVENTIONS = (
    "MACs = multiply-accumulates; FLOPs = 2·MACs; bias adds are not in MACs; "
    "transposed convs counted from the input side (as PyTorch's FlopCounterMode)."
)

LAYER_METRICS = ["kind", "input", "output", "params", "weight_params", "bias_params", "macs",
                 "flops", "rf_size", "rf_jump", "rf_start", "input_elements", "output_elements",
                 "access_cost"]


def formula_value(f: Formula) -> str:
    if isinstance(f.value, Fraction):
        return f"{float(f.value):.2f} %" if "%" in f.metric else f"{float(f.value):.6g}"
    return thousands(f.value)


def formula_lines(report: LayerReport, prefix: str = "") -> list[str]:
    """`MACs = K_h·K_w·(C_in/G)·C_out·H_out·W_out = 5·5·3·256·8·8 = 1,228,800`, parts first."""
    out: list[str] = []
    for part in report.parts:
        out += formula_lines(part, f"{prefix}{part.name or part.kind}: ")
    for f in report.formulas:
        sub = f.substituted
        middle = f" = {sub}" if sub and sub != str(f.value) else ""
        out.append(f"{prefix}{f.metric} = {f.symbolic}{middle} = {formula_value(f)}")
    return out


def layer_view(report: LayerReport, fmt: Format, *, explain: bool = False) -> str | list[Any]:
    """The `convcalc layer` output: a string, or a list of rich renderables for `table`."""
    rows = layer_rows(report)
    if fmt is Format.json:
        data = report.to_dict()
        if explain:
            data["explain"] = formula_lines(report)
        return to_json(data) + "\n"
    if fmt is Format.csv:
        return to_csv(rows, pick(["path", *LAYER_ROWS[1:], "weight_params", "bias_params",
                                  "flops", "rf_start"]))
    notes: list[str] = [*(formula_lines(report) if explain else []), CONVENTIONS]
    if fmt is Format.markdown:
        return to_markdown(rows, pick(LAYER_ROWS), notes=notes)
    from convcalc.render import table

    title = f"{report.kind}" + (f" '{report.name}'" if report.name else "")
    items: list[Any] = [table.metric_table(rows[0], pick(LAYER_METRICS), title)]
    if report.parts:
        items.append(table.rows_table(rows[1:], pick(["path", "output", "params", "macs",
                                                     "rf_size", "rf_jump"]),
                                      title="parts", bar_key="macs"))
    if explain:
        items.append(table.lines(formula_lines(report)))
    items.append(table.lines([CONVENTIONS], style="dim"))
    return items


def plain_lines(items: Sequence[str]) -> str:
    return "".join(f"{i}\n" for i in items)


NET_COLUMNS = ["path", "kind", "output", "params", "macs", "macs_share", "rf_size"]
NET_CSV = ["path", "kind", "input", "output", "params", "weight_params", "bias_params", "macs",
           "flops", "rf_size", "rf_jump", "rf_start", "activations", "access_cost"]


def net_view(report: NetworkReport, fmt: Format, *, depth: int | None = None,
             top_k: int | None = None, explain: bool = False) -> str | list[Any]:
    """The `convcalc net` output. JSON is always the full contract; --depth and --top shape the
    human formats and CSV."""
    from convcalc.render.rows import collapse, net_rows, top

    if fmt is Format.json:
        return to_json(report.to_dict()) + "\n"
    totals = report.totals()
    rows = net_rows(report)
    if depth is not None:
        rows = collapse(rows, depth, totals["macs"])
    shown = top(rows, top_k) if top_k else rows
    total_row = {"path": "total", "kind": "",
                 "output": report.output.to_dict(), "params": totals["params"],
                 "macs": totals["macs"], "flops": totals["flops"], "macs_share": Fraction(100),
                 "memory": {"activation_elements": totals["activation_elements"],
                            "access_cost": totals["access_cost"]},
                 "receptive_field": rows[-1]["receptive_field"] if rows else None}
    if fmt is Format.csv:
        return to_csv(shown, pick(NET_CSV))
    title = (f"{report.name}: {report.input.channels_last()} → {report.output.channels_last()}"
             + (f", top {top_k} layers by MACs" if top_k else ""))
    notes = [f"warning: {w}" for w in report.warnings]
    notes.append(f"totals: {thousands(totals['params'])} params, {thousands(totals['macs'])} MACs"
                 f", {thousands(totals['flops'])} FLOPs")
    notes.append(CONVENTIONS)
    if explain:
        notes += [f"{r.path}: {line}" for r in report.rows
                  for line in formula_lines(r.report) if line.startswith(("MACs", "weights"))]
    if fmt is Format.markdown:
        return to_markdown([*shown, total_row], pick(NET_COLUMNS), title=title, notes=notes)
    from convcalc.render import table

    return [table.rows_table(shown, pick(NET_COLUMNS), title=title, bar_key="macs",
                             total=total_row, drop=["kind", "macs_share", "rf_size"]),
            table.lines(notes[:-2] + notes[-1:] if not explain else notes, style="dim")]

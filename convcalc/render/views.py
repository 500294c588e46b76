"""What each command shows, per format: text for JSON/CSV/Markdown, renderables for tables."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from fractions import Fraction
from typing import Any

from convcalc.render.columns import LAYER_ROWS, pick, thousands
from convcalc.render.rows import layer_rows
from convcalc.render.text import to_csv, to_json, to_markdown
from convcalc.report import Formula, LayerReport


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

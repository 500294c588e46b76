"""What the text views (convcalc.render.views) and the HTML report (convcalc.render.html) both
show: the counting conventions' line, a layer's formulas with their numbers, a network's
default columns, and compare's rows with their footnote marks and closed forms."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcalc.numbers import decimal_text
from convcalc.render.columns import seconds_text, thousands
from convcalc.render.rows import layer_rows
from convcalc.report import Formula, LayerReport

CONVENTIONS = (
    "MACs = multiply-accumulates; FLOPs = 2·MACs; bias adds are not in MACs; "
    "transposed convs counted from the input side (as PyTorch's FlopCounterMode)."
)

def formula_value(f: Formula) -> str:
    if isinstance(f.value, Fraction):
        return f"{decimal_text(f.value)} %" if "%" in f.metric else decimal_text(f.value, 6)
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


NET_COLUMNS = ["path", "kind", "output", "params", "macs", "macs_share", "rf_size"]

COMPARE_COLUMNS = ["variant", "output", "params", "macs", "flops", "rf_size", "activations",
                   "access_cost", "params_ratio", "macs_ratio", "error"]


def _percent_row(data: dict[str, Any], r: Any) -> dict[str, Any]:
    data["params_ratio"] = r.params_ratio
    data["macs_ratio"] = r.macs_ratio
    return data


def _letters(n: int) -> str:
    """a, b, …, z, aa, ab, …: the marks of the defaults' footnotes."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(97 + r) + out
    return out


def compare_rows(comparison: Any, parts: bool, *, footnotes: bool = False) -> list[dict[str, Any]]:
    """One row per variant (and its parts with `parts`); an inapplicable variant carries its
    reason, or with `footnotes` a marker `n/a [k]` pointing at the k-th reason; a variant that
    set something the user did not (dilated's padding) carries `[a]` marks to its notes."""
    rows: list[dict[str, Any]] = []
    failed = 0
    marked = 0
    for r in comparison.results:
        marks = []
        for _ in r.defaults:
            marks.append(f"[{_letters(marked)}]")
            marked += 1
        if r.report is None:
            failed += 1
            rows.append({"variant": r.variant, "kind": r.spec.get("kind"), "depth": 0,
                         "error": " ".join([f"n/a [{failed}]" if footnotes else r.error, *marks]),
                         "_failed": True})
            continue
        for i, row in enumerate(layer_rows(r.report, parts=parts)):
            if i == 0:
                _percent_row(row, r)
                row["variant"] = r.variant
                row["error"] = " ".join(marks) if footnotes and marks else None
            else:
                row["variant"] = row["path"].split(".", 1)[1]
            rows.append(row)
    return rows


def closed_form_lines(comparison: Any) -> list[str]:
    out = [f"[{i}] {r.variant} does not apply: {r.error}" for i, r in
           enumerate((r for r in comparison.results if r.report is None), start=1)]
    marked = 0
    for r in comparison.results:
        for note in r.defaults:
            out.append(f"[{_letters(marked)}] {r.variant}: {note}")
            marked += 1
    for c in comparison.closed_forms:
        got = ("; measured " + decimal_text(100 * c.measured) + " %" if c.measured is not None
               else "; not measured (its output differs from the conv's)")
        out.append(f"{c.variant}: MACs / {c.reference} = {c.formula} = {c.numbers} = "
                   f"{decimal_text(100 * c.ratio)} %{got}")
        if c.why is not None and c.measured is not None:
            out.append(f"{c.variant}: measured {decimal_text(100 * c.measured)} %, not "
                       f"{decimal_text(100 * c.ratio)} %: {c.why} = "
                       f"{decimal_text(100 * c.measured)} %")
    return out


# --- --train: the training step's totals (every format's summary, the html header) ----------

SUMMARY = [
    ("forward_macs", "forward MACs"),
    ("backward_macs", "backward MACs (grad-input + grad-weight)"),
    ("grad_input_macs", "grad-input MACs"),
    ("grad_weight_macs", "grad-weight MACs"),
    ("recompute_macs", "recompute MACs (checkpointing)"),
    ("saved_activation_bytes", "saved activation bytes (what autograd keeps)"),
    ("param_bytes", "parameter bytes"),
    ("grad_bytes", "gradient bytes"),
    ("optimizer_bytes", "optimizer state bytes"),
    ("peak_bytes", "peak bytes (model of the forward + backward schedule)"),
]


def summary_rows(training: Any) -> list[dict[str, str]]:
    """A TrainingReport's totals as (metric, value) rows, numbers formatted."""
    t = training.totals()
    rows = [{"metric": label, "value": thousands(t[key])} for key, label in SUMMARY]
    rows.append({"metric": "peak at", "value": t["peak_at"]})
    rows.append({"metric": "optimizer, dtype", "value": f"{t['optimizer']}, {t['dtype']}"})
    if "device" in t:
        memory = t["device_memory_bytes"]
        fits = ("its memory depends on the configuration" if memory is None else
                f"{'fits' if t['fits'] else 'does not fit'} in {thousands(memory)} bytes")
        rows.append({"metric": f"on {t['device']}", "value": fits})
        if "time_lower_bound_s" in t:
            rows.append({"metric": "time ≥ (MACs / dense peak)",
                         "value": seconds_text(t["time_lower_bound_s"])})
    return rows

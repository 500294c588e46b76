"""What each command shows, per format: text for JSON/CSV/Markdown, renderables for tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from convcalc.numbers import decimal_text
from convcalc.render.columns import LAYER_ROWS, pick, thousands
from convcalc.render.formats import PICTURES, Format
from convcalc.render.rows import layer_rows
from convcalc.render.text import to_csv, to_json, to_markdown
from convcalc.report import Formula, LayerReport, NetworkReport, exact, rf_to_dict


def fraction_label(value: Any) -> str:
    """A swept value as a column label: 0.125 stays 0.125, 1/3 stays 1/3."""
    if isinstance(value, Fraction):
        for places in range(1, 7):
            if (value * 10**places).denominator == 1:
                return decimal_text(value, places)
        return f"{value.numerator}/{value.denominator}"
    return str(value)

CONVENTIONS = (
    "MACs = multiply-accumulates; FLOPs = 2·MACs; bias adds are not in MACs; "
    "transposed convs counted from the input side (as PyTorch's FlopCounterMode)."
)

LAYER_METRICS = ["kind", "input", "output", "params", "weight_params", "bias_params", "macs",
                 "flops", "rf_size", "rf_jump", "rf_start", "input_elements", "output_elements",
                 "access_cost"]


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


def layer_view(report: LayerReport, fmt: Format, *, explain: bool = False) -> str | list[Any]:
    """The `convcalc layer` output: a string, or a list of rich renderables for `table`."""
    if fmt in PICTURES:
        from convcalc.render.pictures import layer_picture

        return layer_picture(report, fmt, explain=explain)
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



COMPACT_JSON_ROWS = 2000
"""Networks with more rows than this are written as one-line JSON (same keys and values)."""

NET_COLUMNS = ["path", "kind", "output", "params", "macs", "macs_share", "rf_size"]
NET_CSV = ["path", "kind", "input", "output", "params", "weight_params", "bias_params", "macs",
           "flops", "rf_size", "rf_jump", "rf_start", "activations", "access_cost"]


def net_view(report: NetworkReport, fmt: Format, *, depth: int | None = None,
             top_k: int | None = None, explain: bool = False) -> str | list[Any]:
    """The `convcalc net` output. JSON is always the full contract; --depth and --top shape the
    human formats and CSV."""
    from convcalc.render.rows import collapse, net_rows, top

    if fmt in PICTURES:
        from convcalc.render.pictures import net_picture

        return net_picture(report, fmt, depth=depth, top_k=top_k, explain=explain)
    if fmt is Format.json:
        return to_json(report.to_dict(), compact=len(report.rows) > COMPACT_JSON_ROWS) + "\n"
    totals = report.totals()
    rows = net_rows(report)
    if depth is not None:
        rows = collapse(rows, depth, report)
    shown = top(rows, top_k) if top_k else rows
    total_row = {"path": "total", "kind": "",
                 "output": report.output.to_dict(), "params": totals["params"],
                 "macs": totals["macs"], "flops": totals["flops"], "macs_share": Fraction(100),
                 "memory": {"activation_elements": totals["activation_elements"],
                            "access_cost": totals["access_cost"]},
                 "receptive_field": rf_to_dict(report.receptive_field)}
    if fmt is Format.csv:
        return to_csv(shown, pick(NET_CSV))
    title = (f"{report.name}: {report.input.channels_last()} → {report.output.channels_last()}"
             + (f", top {top_k} layers by MACs" if top_k else ""))
    warnings = [f"warning: {w}" for w in report.warnings]
    explained = [f"{r.path}: {line}" for r in report.rows if explain
                 for line in formula_lines(r.report) if line.startswith(("MACs", "weights"))]
    totals_line = (f"totals: {thousands(totals['params'])} params, "
                   f"{thousands(totals['macs'])} MACs, {thousands(totals['flops'])} FLOPs")
    if fmt is Format.markdown:
        return to_markdown([*shown, total_row], pick(NET_COLUMNS), title=title,
                           notes=[*warnings, totals_line, CONVENTIONS, *explained])
    from convcalc.render import table

    # the table has a total row, so no totals line under it
    return [table.rows_table(shown, pick(NET_COLUMNS), title=title, bar_key="macs",
                             total=total_row, drop=["kind", "macs_share", "rf_size"]),
            table.lines([*warnings, CONVENTIONS, *explained], style="dim")]


COMPARE_COLUMNS = ["variant", "output", "params", "macs", "flops", "rf_size", "activations",
                   "access_cost", "params_ratio", "macs_ratio", "error"]


def _percent_row(data: dict[str, Any], r: Any) -> dict[str, Any]:
    data["params_ratio"] = r.params_ratio
    data["macs_ratio"] = r.macs_ratio
    return data


def compare_rows(comparison: Any, parts: bool, *, footnotes: bool = False) -> list[dict[str, Any]]:
    """One row per variant (and its parts with `parts`); an inapplicable variant carries its
    reason, or with `footnotes` a marker `n/a [k]` pointing at the k-th reason."""
    rows: list[dict[str, Any]] = []
    failed = 0
    for r in comparison.results:
        if r.report is None:
            failed += 1
            rows.append({"variant": r.variant, "kind": r.spec.get("kind"), "depth": 0,
                         "error": f"n/a [{failed}]" if footnotes else r.error})
            continue
        for i, row in enumerate(layer_rows(r.report, parts=parts)):
            if i == 0:
                _percent_row(row, r)
                row["variant"] = r.variant
            else:
                row["variant"] = row["path"].split(".", 1)[1]
            rows.append(row)
    return rows


def closed_form_lines(comparison: Any) -> list[str]:
    out = [f"[{i}] {r.variant} does not apply: {r.error}" for i, r in
           enumerate((r for r in comparison.results if r.report is None), start=1)]
    for variant, formula, closed, measured in comparison.closed_forms:
        got = "" if measured is None else f"; measured {decimal_text(100 * measured)} %"
        out.append(f"{variant}: MACs / {comparison.baseline} = {formula} = "
                   f"{decimal_text(100 * closed)} %{got}")
    return out


def compare_view(comparison: Any, fmt: Format, *, parts: bool = False,
                 explain: bool = False) -> str | list[Any]:
    """The `convcalc compare` output."""
    if fmt in PICTURES:
        from convcalc.render.pictures import compare_picture

        return compare_picture(comparison, fmt, parts=parts, explain=explain)
    if fmt is Format.json:
        return to_json(comparison.to_dict()) + "\n"
    rows = compare_rows(comparison, parts, footnotes=fmt is not Format.csv)
    if fmt is Format.csv:
        return to_csv(rows, pick([*COMPARE_COLUMNS[:-1], "rf_jump", "weight_params",
                                  "bias_params", "error"]))
    title = (f"every variant on {comparison.input.channels_last()}; ratios to "
             f"{comparison.baseline}")
    columns = pick(COMPARE_COLUMNS if any(r.report is None for r in comparison.results)
                   else COMPARE_COLUMNS[:-1])
    notes = closed_form_lines(comparison)
    if explain:
        for r in comparison.results:
            if r.report is not None:
                notes += [f"{r.variant}: {line}" for line in formula_lines(r.report)
                          if line.startswith(("MACs", "weights", "params"))]
    notes.append(CONVENTIONS)
    if fmt is Format.markdown:
        return to_markdown(rows, columns, title=title, notes=notes)
    from convcalc.render import table

    return [table.rows_table(rows, columns, title=title, bar_key="macs",
                             drop=["activations", "access_cost", "flops", "rf_size",
                                   "params_ratio"]),
            table.lines(notes[:-1]), table.lines(notes[-1:], style="dim")]


def sweep_view(result: Any, fmt: Format) -> str | list[Any]:
    """A matrix: variant × swept value, each cell MACs and the ratio to the baseline."""
    if fmt in PICTURES:
        from convcalc.render.pictures import text_only

        text_only(fmt, "compare --sweep")
    if fmt is Format.json:
        return to_json(result.to_dict()) + "\n"
    labels = [fraction_label(v) for v in result.values]
    variants = [r.variant for r in result.comparisons[0].results]
    matrix: list[dict[str, Any]] = []
    for i, name in enumerate(variants):
        row: dict[str, Any] = {"variant": name, "depth": 0}
        for label, comp in zip(labels, result.comparisons, strict=True):
            r = comp.results[i]
            row[f"macs@{label}"] = None if r.report is None else r.report.macs
            row[f"ratio@{label}"] = r.macs_ratio
        matrix.append(row)
    from convcalc.render.columns import Column, percent_text, si

    def cell(label: str) -> Column:
        def show(v: Any) -> str:
            macs, ratio = v
            if macs is None:
                return "n/a"
            return f"{si(macs)}\n{percent_text(None if ratio is None else 100 * ratio)}"

        return Column(f"macs@{label}", f"{result.field}={label}",
                      lambda r: (r[f"macs@{label}"], r[f"ratio@{label}"]), show)

    if fmt is Format.csv:
        def getter(key: str, as_ratio: bool) -> Callable[[Mapping[str, Any]], Any]:
            def get(r: Mapping[str, Any]) -> Any:
                value = r[key]
                return exact(value) if as_ratio and value is not None else value

            return get

        raw = [pick(["variant"])[0]]
        for label in labels:
            raw += [Column(f"macs@{label}", f"macs@{label}", getter(f"macs@{label}", False)),
                    Column(f"ratio@{label}", f"ratio@{label}", getter(f"ratio@{label}", True))]
        return to_csv(matrix, raw)
    columns = [pick(["variant"])[0], *(cell(label) for label in labels)]
    title = f"MACs (and % of {result.comparisons[0].baseline}) as {result.field} varies"
    if fmt is Format.markdown:
        return to_markdown(matrix, columns, title=title, notes=[CONVENTIONS])
    from convcalc.render import table

    return [table.rows_table(matrix, columns, title=title), table.lines([CONVENTIONS],
                                                                         style="dim")]

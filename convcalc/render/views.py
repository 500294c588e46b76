"""What each command shows, per format: text for JSON/CSV/Markdown, renderables for tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from convcalc.numbers import decimal_text
from convcalc.render.columns import LAYER_ROWS, Column, pick, seconds_text, thousands
from convcalc.render.common import (
    COMPARE_COLUMNS,
    CONVENTIONS,
    NET_COLUMNS,
    closed_form_lines,
    compare_rows,
    formula_lines,
)
from convcalc.render.formats import PICTURES, Format
from convcalc.render.layout import Settings
from convcalc.render.rows import layer_rows
from convcalc.render.text import text_table, to_csv, to_json
from convcalc.report import LayerReport, NetworkReport, exact, rf_to_dict


def fraction_label(value: Any) -> str:
    """A swept value as a column label: 0.125 stays 0.125, 1/3 stays 1/3."""
    if isinstance(value, Fraction):
        for places in range(1, 7):
            if (value * 10**places).denominator == 1:
                return decimal_text(value, places)
        return f"{value.numerator}/{value.denominator}"
    return str(value)

LAYER_METRICS = ["kind", "input", "output", "params", "weight_params", "bias_params", "macs",
                 "flops", "rf_size", "rf_jump", "rf_start", "input_elements", "output_elements",
                 "access_cost"]


def field_lines(row: Any) -> list[str]:
    """The receptive-field recurrence of a network row with its numbers (Distill: r_out = r_in
    + (K_eff − 1)·j_in, j_out = j_in·S), where the field is one interval before and after
    (conv and pooling chains); where it is not, what it is."""
    from convcalc.report import rf_to_dict
    from convcalc.rf import AxisRF

    before: tuple[AxisRF, ...] = row.input_field
    after: tuple[AxisRF, ...] = row.receptive_field
    if not before or before == after:
        return []
    lines: dict[str, list[str]] = {}
    names = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(len(after), ())
    for ax, a, b in zip(names, before, after, strict=False):
        plain = (a.period == b.period == 1 and a.whole is None and b.whole is None
                 and a.advance and b.advance % a.advance == 0 and (b.size - a.size) % a.advance == 0)
        if plain:
            keff = (b.size - a.size) // a.advance + 1
            text = (f"RF = r_in + (K_eff − 1)·j_in = {a.size} + ({keff} − 1)·{a.advance} = "
                    f"{b.size}; jump = j_in·S = {a.advance}·{b.advance // a.advance} = "
                    f"{b.advance}")
        else:
            d = rf_to_dict((b,))
            text = (f"RF {d['size'][0]} (the largest over one period of output phases), jump "
                    f"{d['jump'][0]}: the exact field, not Distill's recurrence")
        lines.setdefault(text, []).append(ax)
    return [f"{'/'.join(axes)}: {text}" for text, axes in lines.items()]


def layer_data(report: LayerReport, *, explain: bool = False,
               costing: Any = None) -> dict[str, Any]:
    """`convcalc layer --format json`: the report, and with `--dtype`/`--device` its bytes,
    peak activation memory, torchinfo's sizes and roofline."""
    data = report.to_dict()
    if costing is not None:
        data.update(costing.row(0, report))
        data.update({k: v for k, v in costing.totals(report.params).items() if k != "param_bytes"})
    if explain:
        data["explain"] = formula_lines(report)
    return data


def costing_lines(costing: Any, batch: int = 1) -> list[str]:
    """The peak activation memory and torchinfo's size lines, for the human formats."""
    lines: list[str] = []
    peak = costing.peak
    if peak is not None:
        alive = ", ".join(f"{at} {thousands(n)}" for at, n in peak.alive[:4])
        more = len(peak.alive) - 4
        lines.append(f"peak activation memory ({costing.dtype}{f', batch {batch}' if batch > 1 else ''}"
                     f"): {thousands(peak.bytes)} bytes while {peak.at} runs; alive: {alive}"
                     + (f" and {more} more" if more > 0 else ""))
    if costing.torchinfo is not None:
        lines.append(f"torchinfo 1.8.0 would print: {'; '.join(costing.torchinfo.lines())}")
    return lines


def roofline_line(costing: Any) -> str:
    """One layer's bound in words: bytes moved, both roofs, which binds."""
    r = costing.rooflines[0]
    return (f"on {costing.device.name} in {costing.dtype}: {r.traffic:,} bytes moved at least; "
            f"compute ≥ {seconds_text(r.compute_s)}, memory ≥ {seconds_text(r.memory_s)}: "
            f"{r.bound}-bound (ridge {decimal_text(r.ridge)} MAC/byte); a lower bound, not a "
            "prediction")


def batch_text(batch: int) -> str:
    """`, batch 32` for a title when the batch is not 1 (MACs and activations are × N)."""
    return f", batch {batch:,}" if batch != 1 else ""


def layer_view(report: LayerReport, fmt: Format, *, explain: bool = False,
               costing: Any = None, settings: Settings | None = None,
               batch: int = 1, view: Any = None) -> str | list[Any]:
    """The `convcalc layer` output: a string, or blocks for the table layout. `settings`:
    --units for the text formats; `batch` goes in the titles; `view` (--columns, --units)
    reaches the drawing formats (the table layout gets it in _emit)."""
    if fmt in PICTURES:
        from convcalc.render.pictures import layer_picture

        return layer_picture(report, fmt, explain=explain, costing=costing, view=view)
    rows = layer_rows(report)
    extra_metrics: list[str] = []
    if costing is not None:
        rows[0].update(costing.row(0, report))
        extra_metrics = ["activation_bytes", "param_bytes"]
        if costing.device is not None:
            extra_metrics += ["intensity", "bound", "time"]
    if fmt is Format.json:
        return to_json(layer_data(report, explain=explain, costing=costing)) + "\n"
    if fmt is Format.csv:
        return to_csv(rows, pick(["path", *LAYER_ROWS[1:], "weight_params", "bias_params",
                                  "flops", "rf_start", *extra_metrics]), settings=settings,
                      batch=batch)
    title = f"{report.kind}" + (f" '{report.name}'" if report.name else "") + batch_text(batch)
    warned = [f"warning: {w}" for w in report.all_warnings()]
    bound = [roofline_line(costing)] if costing is not None and costing.device else []
    notes: list[str] = [*warned, *(costing_lines(costing) if costing is not None else []),
                        *bound, *(formula_lines(report) if explain else []), CONVENTIONS]
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, rows, pick(LAYER_ROWS), title=title if batch != 1 else None,
                          notes=notes, settings=settings)
    from convcalc.render import layout as table

    items: list[Any] = [table.metric_table(rows[0], pick([*LAYER_METRICS, *extra_metrics]),
                                           title,
                                           settings.units if settings is not None else "auto")]
    if report.parts:
        items.append(table.rows_table(rows[1:], pick(["path", "output", "params", "macs",
                                                     "rf_size", "rf_jump"]),
                                      title="parts", bar_key="macs"))
    if warned:
        items.append(table.lines(warned))
    if costing is not None:
        items.append(table.lines(costing_lines(costing)))
    if costing is not None and costing.device is not None:
        items.append(table.lines([roofline_line(costing)]))
    if explain:
        items.append(table.lines(formula_lines(report)))
    items.append(table.lines([CONVENTIONS], style="dim"))
    return items



ExtraColumn = tuple[Column, Sequence[Any], Any]
"""A column added to a network's table: the column, one raw value per row, the total's value."""

COMPACT_JSON_ROWS = 2000
"""Networks with more rows than this are written as one-line JSON (same keys and values)."""

NET_EXTRA = ["flops", "activations", "access_cost", "rf_jump"]
"""Shown when the table has room for them (and always when the output is not a terminal)."""
NET_CSV = ["path", "kind", "input", "output", "params", "weight_params", "bias_params", "macs",
           "flops", "rf_size", "rf_jump", "rf_start", "activations", "access_cost"]


def net_data(report: NetworkReport, costing: Any = None) -> dict[str, Any]:
    """`convcalc net --format json`: the report, and with `--dtype`/`--device` each row's bytes
    and roofline and the totals' parameter bytes, peak activation memory, torchinfo's sizes
    and roofline time."""
    data = report.to_dict()
    if costing is not None:
        for i, row in enumerate(data["layers"]):
            row.update(costing.row(i, report.rows[i].report))
        data["totals"].update(costing.totals(report.totals()["params"]))
    return data


def net_view(report: NetworkReport, fmt: Format, *, depth: int | None = None,
             top_k: int | None = None, explain: bool = False,
             costing: Any = None,
             extra_columns: Sequence[ExtraColumn] = (),
             settings: Settings | None = None, view: Any = None) -> str | list[Any]:
    """The `convcalc net` output. JSON is always the full contract; --depth and --top shape the
    human formats and CSV, `settings` (--columns, --units) the text formats. `costing`
    (convcalc.hardware.costing) adds bytes and time; `extra_columns` adds columns after the
    usual ones: (column, one value per row, the total)."""
    from convcalc.render.rows import collapse, net_rows, top

    if fmt in PICTURES:
        from convcalc.render.pictures import net_picture

        return net_picture(report, fmt, depth=depth, top_k=top_k, explain=explain,
                           costing=costing, view=view)
    if fmt is Format.json:
        data = net_data(report, costing)
        return to_json(data, compact=len(report.rows) > COMPACT_JSON_ROWS) + "\n"
    totals = report.totals()
    rows = net_rows(report)
    cost_cols: list[str] = []
    if costing is not None:
        for i, row in enumerate(rows):
            row.update(costing.row(i, report.rows[i].report))
        cost_cols = ["activation_bytes", *(["bound", "time"] if costing.device else [])]
    for column, values, _total in extra_columns:
        for row, value in zip(rows, values, strict=True):
            row[column.key] = value
    if depth is not None:
        rows = collapse(rows, depth, report)
    shown = top(rows, top_k) if top_k else rows
    total_row = {"path": "total", "kind": "",
                 "output": report.output.to_dict(), "params": totals["params"],
                 "weight_params": totals["weight_params"], "bias_params": totals["bias_params"],
                 "macs": totals["macs"], "flops": totals["flops"], "macs_share": Fraction(100),
                 "memory": {"activation_elements": totals["activation_elements"],
                            "access_cost": totals["access_cost"]},
                 "receptive_field": rf_to_dict(report.receptive_field),
                 **{column.key: total for column, _values, total in extra_columns}}
    extra = [column for column, _values, _total in extra_columns]
    if costing is not None:
        t = costing.totals(totals["params"])
        total_row["activation_bytes"] = totals["activation_elements"] * costing.size
        if costing.device is not None:
            total_row["roofline"] = {"time_s": t["roofline_time_s"]}
    if fmt is Format.csv:
        return to_csv(shown, [*pick([*NET_CSV, *cost_cols, *(["intensity"] if "time" in cost_cols
                                                              else [])]), *extra],
                      settings=settings, batch=report.batch)
    title = (f"{report.name}: {report.input.channels_last()} → {report.output.channels_last()}"
             + batch_text(report.batch) + (f", top {top_k} layers by MACs" if top_k else ""))
    warnings = [f"warning: {w}" for w in report.warnings]
    explained = [f"{r.path}: {line}" for r in report.rows if explain
                 for line in [*(x for x in formula_lines(r.report)
                                if x.startswith(("MACs", "weights"))), *field_lines(r)]]
    totals_line = (f"totals: {thousands(totals['params'])} params, "
                   f"{thousands(totals['macs'])} MACs, {thousands(totals['flops'])} FLOPs")
    if costing is not None:
        totals_line += (f"; {costing.dtype}: {thousands(totals['params'] * costing.size)} "
                        "parameter bytes")
        if costing.device is not None:
            t = costing.totals(totals["params"])
            totals_line += (f"; on {costing.device.name}: at least "
                            f"{seconds_text(t['roofline_time_s'])} (the roofline bound, of which "
                            f"{seconds_text(t['roofline_memory_bound_s'])} in memory-bound "
                            "layers; a lower bound, not a prediction)")
    columns = [*pick([*NET_COLUMNS, *cost_cols]), *extra]
    memory = costing_lines(costing, report.batch) if costing is not None else []
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, [*shown, total_row], columns, title=title,
                          notes=[*warnings, totals_line, *memory, CONVENTIONS, *explained],
                          settings=settings)
    from convcalc.render import layout as table

    # the table has a total row, so no totals line under it
    blocks: list[Any] = [table.rows_table(shown, columns, title=title, bar_key="macs",
                                          total=total_row, drop=["kind", "macs_share", "rf_size"],
                                          extra=pick(NET_EXTRA))]
    if costing is not None:
        blocks.append(table.lines([totals_line, *memory]))
    if warnings:
        blocks.append(table.lines(warnings))
    if explained:
        blocks.append(table.lines(explained))
    blocks.append(table.lines([CONVENTIONS], style="dim"))
    return blocks


def contrast_lines(comparison: Any, applied: list[Any], costing: Any) -> list[str]:
    """Per variant, MACs against time: "dwsep: 22.80× fewer MACs than conv; memory-bound; by
    the roofline at most 1.35× faster on A100 80GB in fp16"."""
    base = next((i for i, r in enumerate(applied) if r.variant == comparison.baseline), None)
    if base is None:
        return []
    b_macs, b_time = applied[base].report.macs, costing.rooflines[base].time_s
    out = [f"on {costing.device.name} in {costing.dtype} (roofline lower bounds: "
           f"{comparison.baseline} ≥ {seconds_text(b_time)}):"]
    for i, r in enumerate(applied):
        if i == base or not r.report.macs or not b_macs:
            continue
        line = costing.rooflines[i]
        fewer = Fraction(b_macs, r.report.macs)
        faster = b_time / line.time_s if line.time_s else None
        macs = (f"the same MACs as {comparison.baseline}" if fewer == 1 else
                f"{decimal_text(fewer)}× fewer MACs than {comparison.baseline}" if fewer > 1
                else f"{decimal_text(1 / fewer)}× more MACs than {comparison.baseline}")
        speed = ("" if faster is None else "no faster" if faster == 1 else
                 f"at most {decimal_text(faster)}× faster" if faster > 1 else
                 f"at least {decimal_text(1 / faster)}× slower")
        out.append(f"  {r.variant}: {macs}; {line.bound}-bound; {speed} (if both ran at their "
                   "roofs)")
    return out


def compare_view(comparison: Any, fmt: Format, *, parts: bool = False,
                 explain: bool = False, costing: Any = None, settings: Settings | None = None,
                 batch: int = 1, view: Any = None) -> str | list[Any]:
    """The `convcalc compare` output. `costing` has one roofline per variant that applies;
    `settings` (--columns, --units) shapes the text formats; `batch` goes in the title; `view`
    reaches the drawing formats."""
    if fmt in PICTURES:
        from convcalc.render.pictures import compare_picture

        return compare_picture(comparison, fmt, parts=parts, explain=explain,
                               costing=costing, view=view)
    applied = [r for r in comparison.results if r.report is not None]
    by_variant = {r.variant: i for i, r in enumerate(applied)}
    if fmt is Format.json:
        data = comparison.to_dict()
        if costing is not None:
            for v in data["variants"]:
                if v["variant"] in by_variant:
                    i = by_variant[v["variant"]]
                    v.update(costing.row(i, applied[i].report))
        return to_json(data) + "\n"
    rows = compare_rows(comparison, parts, footnotes=fmt is not Format.csv)
    if costing is not None:
        for row in rows:
            if row.get("depth") == 0 and row.get("variant") in by_variant:
                i = by_variant[row["variant"]]
                row.update(costing.row(i, applied[i].report))
    if fmt is Format.csv:
        cost = ([] if costing is None else ["activation_bytes", "param_bytes",
                                            *(["intensity", "bound", "time"] if costing.device
                                              else [])])
        return to_csv(rows, pick([*COMPARE_COLUMNS[:-1], "rf_jump", "weight_params",
                                  "bias_params", *cost, "error"]), settings=settings,
                      batch=batch)
    title = (f"every variant on {comparison.input.channels_last()}{batch_text(batch)}; ratios "
             f"to {comparison.baseline}")
    noted = any(r.report is None or r.defaults for r in comparison.results)
    columns = pick(COMPARE_COLUMNS if noted else COMPARE_COLUMNS[:-1])
    if costing is not None and costing.device is not None:
        columns = [*columns[:4], *pick(["bound", "time"]), *columns[4:]]
    notes = closed_form_lines(comparison)
    if costing is not None and costing.device is not None:
        notes += contrast_lines(comparison, applied, costing)
    if explain:
        for r in comparison.results:
            if r.report is not None:
                notes += [f"{r.variant}: {line}" for line in formula_lines(r.report)
                          if line.startswith(("MACs", "weights", "params"))]
    notes.append(CONVENTIONS)
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, rows, columns, title=title, notes=notes, settings=settings)
    from convcalc.render import layout as table

    main = [c for c in columns if c.key not in ("flops", "activations", "access_cost")]
    extra = [c for c in columns if c.key in ("flops", "activations", "access_cost")]
    return [table.rows_table(rows, main, title=title, bar_key="macs", drop=["rf_size"],
                             extra=extra),
            table.lines(notes[:-1]), table.lines(notes[-1:], style="dim")]


def sweep_view(result: Any, fmt: Format, batch: int = 1) -> str | list[Any]:
    """A matrix: variant × swept value, each cell MACs and the ratio to the baseline."""
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
        return to_csv(matrix, raw, batch=batch)
    columns = [pick(["variant"])[0], *(cell(label) for label in labels)]
    title = (f"MACs (and % of {result.comparisons[0].baseline}) as {result.field} varies"
             + batch_text(batch))
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, matrix, columns, title=title, notes=[CONVENTIONS])
    from convcalc.render import layout as table

    return [table.rows_table(matrix, columns, title=title), table.lines([CONVENTIONS],
                                                                         style="dim")]


def examples_view(entries: list[dict[str, Any]], fmt: Format) -> str | list[Any]:
    """`convcalc examples`: the bundled networks with their input and totals."""
    from convcalc.render.columns import Column, shape_text

    if fmt is Format.json:
        return to_json({"examples": entries}) + "\n"
    columns = [Column("name", "example", lambda r: r["name"], justify="left"),
               Column("input", "input", lambda r: r["input"], shape_text),
               Column("params", "params", lambda r: r["total_params"], thousands, unit=True),
               Column("macs", "MACs", lambda r: r["macs"], thousands, unit=True),
               Column("description", "description", lambda r: r["description"],
                      justify="left", wrap="words")]
    if fmt is Format.csv:
        return to_csv(entries, columns)
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, entries, columns)
    from convcalc.render import layout

    return [layout.rows_table(entries, columns, title="examples (convcalc net NAME)"),
            layout.lines(["bundled with convcalc; copy one to start your own: "
                          "convcalc examples -f json lists their files"], style="dim")]


def by_kind_view(report: NetworkReport, groups: list[dict[str, Any]], fmt: Format,
                 costing: Any = None, settings: Settings | None = None) -> str | list[Any]:
    """`convcalc net --by kind`: cost per layer kind (with `costing`: bytes and bound too)."""
    from convcalc.render.columns import Column

    if fmt is Format.json:
        data = report.to_dict()
        data["by_kind"] = [{**g, "macs_share": exact(g["macs_share"] / 100)} for g in groups]
        if costing is not None:
            data["totals"].update(costing.totals(report.totals()["params"]))
        return to_json(data, compact=len(report.rows) > COMPACT_JSON_ROWS) + "\n"
    kind = Column("kind", "kind", lambda r: r["kind"], justify="left")
    layers = Column("layers", "layers", lambda r: r["layers"], str)
    mem = Column("activations", "act. elems", lambda r: r["activation_elements"], thousands,
                 unit=True)
    cost = [] if costing is None else pick(["activation_bytes",
                                            *(["bound", "time"] if costing.device else [])])
    columns = [kind, layers, *pick(["params", "macs", "macs_share"]), mem, *cost]
    notes = []
    if costing is not None and costing.device is not None:
        t = seconds_text(costing.totals(report.totals()["params"])["roofline_time_s"])
        where = f"on {costing.device.name} in {costing.dtype}"
        if any(row.report.parts for row in report.rows):
            notes.append(f"{where}: a composite layer's parts are bounded here as separate "
                         "kernels (their intermediate written and read back), so the kinds can "
                         f"add up to more than the network's bound, at least {t}, which takes "
                         "each composite as fused; lower bounds, not predictions")
        else:
            notes.append(f"{where}: the kinds' bounds add up to the network's, at least {t}; "
                         "lower bounds, not predictions")
    if fmt is Format.csv:
        return to_csv(groups, [kind, layers, *pick(["params", "macs", "flops"]), mem, *cost],
                      settings=settings, batch=report.batch)
    title = (f"{report.name}{batch_text(report.batch)}: cost by layer kind (composite layers by "
             "their parts)")
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, groups, columns, title=title, notes=[*notes, CONVENTIONS],
                          settings=settings)
    from convcalc.render import layout as table

    return [table.rows_table(groups, columns, title=title, bar_key="macs"),
            *([table.lines(notes)] if notes else []), table.lines([CONVENTIONS], style="dim")]


DIFF_COLUMNS = ["path", "kind", "a_output", "b_output", "a_params", "b_params", "delta_params",
                "a_macs", "b_macs", "delta_macs", "ratio_macs"]


def diff_view(diff: Any, fmt: Format, sources: tuple[str, str] | None = None,
              settings: Settings | None = None) -> str | list[Any]:
    """`convcalc diff`: totals, then the levels side by side with deltas; `sources` (what the
    user named: files or examples) label the sides where it is not the network's name."""
    from convcalc.render.columns import COLUMNS, Column, ratio_percent, shape_text

    if fmt is Format.json:
        return to_json(diff.to_dict()) + "\n"
    a, b = diff.a.name, diff.b.name
    if a == b:
        a, b = "a", "b"

    from convcalc.render.layout import scaled

    fixed = settings.units if settings is not None and settings.units not in ("auto", "none") \
        else None

    def count(v: Any) -> str:
        """--units k|M|G|T for every count of the diff (the deltas too); whole otherwise."""
        return thousands(v) if fixed is None else scaled(v, fixed)

    def signed(v: Any) -> str:
        return "" if v is None else ("+" if v > 0 else "") + count(v)

    cols = [COLUMNS["path"], COLUMNS["kind"],
            Column("a_output", f"{a} output", lambda r: r["a_output"], shape_text),
            Column("b_output", f"{b} output", lambda r: r["b_output"], shape_text),
            Column("a_params", f"{a} params", lambda r: r["a_params"], thousands, unit=True),
            Column("b_params", f"{b} params", lambda r: r["b_params"], thousands, unit=True),
            Column("delta_params", "Δ params", lambda r: r["delta_params"], signed),
            Column("a_macs", f"{a} MACs", lambda r: r["a_macs"], thousands, unit=True),
            Column("b_macs", f"{b} MACs", lambda r: r["b_macs"], thousands, unit=True),
            Column("delta_macs", "Δ MACs", lambda r: r["delta_macs"], signed),
            Column("ratio_macs", "MACs b/a", lambda r: r["ratio_macs"], ratio_percent)]
    t = diff.totals()
    total = {"path": "total", "kind": "", "depth": 0, "a_output": diff.a.output.to_dict(),
             "b_output": diff.b.output.to_dict(), "a_params": t["params"]["a"],
             "b_params": t["params"]["b"], "delta_params": t["params"]["delta"],
             "a_macs": t["macs"]["a"], "b_macs": t["macs"]["b"], "delta_macs": t["macs"]["delta"],
             "ratio_macs": None if t["macs"]["a"] == 0 else Fraction(t["macs"]["b"],
                                                                     t["macs"]["a"])}
    levels = list(diff.rows) if diff.depth > 0 else []  # depth 0: the totals say it all
    if fmt is Format.csv:
        return to_csv([*levels, total], cols, settings=settings)
    title = (f"{diff.a.name} ({diff.a.input.channels_last()}) vs {diff.b.name} "
             f"({diff.b.input.channels_last()})")
    metric = Column("metric", "", lambda r: r["metric"], justify="left")
    summary_cols = [metric, Column("a", a, lambda r: r["a"]), Column("b", b, lambda r: r["b"]),
                    Column("delta", "Δ", lambda r: r["delta"]),
                    Column("ratio", "b/a", lambda r: r["ratio"], ratio_percent)]
    names = {"params": "params", "macs": "MACs", "flops": "FLOPs",
             "activation_elements": "act. elems", "layers": "layers"}
    summary = [{"metric": names[k],
                "a": thousands(v["a"]) if k == "layers" else count(v["a"]),
                "b": thousands(v["b"]) if k == "layers" else count(v["b"]),
                "delta": (("+" if v["delta"] > 0 else "") + thousands(v["delta"]))
                if k == "layers" else signed(v["delta"]),
                "ratio": None if v["ratio"] is None else Fraction(v["ratio"])}
               for k, v in t.items()]
    sizes = [rf_to_dict(r.receptive_field)["size"] for r in (diff.a, diff.b)]
    summary += [{"metric": "output", "a": shape_text(diff.a.output.to_dict()),
                 "b": shape_text(diff.b.output.to_dict()), "delta": "", "ratio": None},
                {"metric": "RF", "a": "×".join(map(str, sizes[0])),
                 "b": "×".join(map(str, sizes[1])), "delta": "", "ratio": None}]
    where = [f" from {src}" if src not in (report.name, "") else ""
             for src, report in zip(sources or ("", ""), (diff.a, diff.b), strict=True)]
    sides = (f"{a} = {diff.a.name}{_set_text(diff.a)}{where[0]}; "
             f"{b} = {diff.b.name}{_set_text(diff.b)}{where[1]}")
    if fmt in (Format.markdown, Format.latex):
        out = text_table(fmt, summary, summary_cols, title=title, notes=[sides])
        if levels:
            out += "\n" + text_table(fmt, [*levels, total], cols,
                                      title=f"levels {diff.depth} deep", settings=settings)
        return out
    from convcalc.render import layout as table

    blocks: list[Any] = [table.rows_table(summary, summary_cols, title=title)]
    if levels:
        blocks.append(table.rows_table(levels, cols, title=f"levels {diff.depth} deep",
                                       total=total, drop=["kind", "a_output", "b_output"]))
    blocks += [table.lines([sides]), table.lines([CONVENTIONS], style="dim")]
    return blocks


def _set_text(report: NetworkReport) -> str:
    """The parameters a network was analysed with, for the legend: ` (width=3/4)`."""
    if not report.params:
        return ""
    return " (" + ", ".join(f"{k}={fraction_label(v)}"
                            for k, v in report.params.items()) + ")"

"""`--train`: a training step's columns (backward MACs, saved bytes) and its summary, in every
format. JSON carries the raw ints: each layer's "training" and the totals under "training"."""

from __future__ import annotations

from typing import Any

from convcalc.render.columns import Column, thousands
from convcalc.render.formats import Format
from convcalc.report import NetworkReport

BACKWARD = Column("backward_macs", "bwd MACs", lambda r: r.get("backward_macs"), thousands,
                  unit=True)
SAVED = Column("saved_bytes", "saved B", lambda r: r.get("saved_bytes"), thousands, unit=True)

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
    t = training.totals()
    rows = [{"metric": label, "value": thousands(t[key])} for key, label in SUMMARY]
    rows.append({"metric": "peak at", "value": t["peak_at"]})
    rows.append({"metric": "optimizer, dtype", "value": f"{t['optimizer']}, {t['dtype']}"})
    return rows


def net_training_output(report: NetworkReport, training: Any, fmt: Format, *,
                        depth: int | None = None, top_k: int | None = None,
                        explain: bool = False, costing: Any = None) -> str | list[Any]:
    """`convcalc net --train` in `fmt`."""
    from convcalc.render.text import to_json
    from convcalc.render.views import net_data, net_view

    per_row = {r.path: r for r in training.rows}
    if fmt is Format.json:
        data = net_data(report, costing)
        for row in data["layers"]:
            row["training"] = training.row_dict(row["path"])
        data["training"] = training.totals()
        return to_json(data) + "\n"
    backward = [per_row[r.path].backward_macs for r in report.rows]
    saved = [per_row[r.path].saved_bytes for r in report.rows]
    totals = training.totals()
    extra = [(BACKWARD, backward, totals["backward_macs"]),
             (SAVED, saved, sum(saved))]
    shown = net_view(report, fmt, depth=depth, top_k=top_k, explain=explain, costing=costing,
                     extra_columns=extra)
    title = f"training step at batch {report.batch}"
    metric = Column("metric", "training", lambda r: r["metric"], justify="left")
    value = Column("value", "value", lambda r: r["value"])
    rows = summary_rows(training)
    if fmt is Format.csv:
        return shown  # the rows' columns; the totals are in --format json
    if fmt in (Format.markdown, Format.latex):
        from convcalc.render.text import text_table

        assert isinstance(shown, str)
        return shown + "\n" + text_table(fmt.value, rows, [metric, value], title=title)
    from convcalc.render import layout

    assert isinstance(shown, list)
    table = layout.Table(title, rows, [(metric, "name"), (value, "core")], header=False)
    return [*shown, table]

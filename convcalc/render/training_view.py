"""`--train`: a training step's columns (backward MACs, saved bytes) and its summary, in every
format. JSON carries the raw ints: each layer's "training" and the totals under "training"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc.render.columns import Column, thousands
from convcalc.render.common import summary_rows
from convcalc.render.formats import Format
from convcalc.report import NetworkReport

BACKWARD = Column("backward_macs", "bwd MACs", lambda r: r.get("backward_macs"), thousands,
                  unit=True)
SAVED = Column("saved_bytes", "saved B", lambda r: r.get("saved_bytes"), thousands, unit=True)


def net_training_output(report: NetworkReport, training: Any, fmt: Format, *,
                        depth: int | None = None, top_k: int | None = None,
                        explain: bool = False, costing: Any = None,
                        conventions: Sequence[Any] | None = None,
                        settings: Any = None) -> str | list[Any]:
    """`convcalc net --train` in `fmt` (with `--conventions`: the training conventions the
    command counted, convcalc.training.conventions; `settings`: --columns and --units)."""
    from convcalc.render.text import to_json
    from convcalc.render.views import net_data, net_view

    per_row = {r.path: r for r in training.rows}
    counts = list(conventions or [])
    if fmt is Format.html:
        from convcalc.render.pictures import net_picture

        return net_picture(report, fmt, depth=depth, top_k=top_k, explain=explain,
                           costing=costing, training=training)
    if fmt is Format.json:
        data = net_data(report, costing)
        for row in data["layers"]:
            row["training"] = training.row_dict(row["path"])
        data["training"] = training.totals()
        if conventions is not None:
            data["training"]["conventions"] = [c.to_dict() for c in counts]
        return to_json(data) + "\n"
    backward = [per_row[r.path].backward_macs for r in report.rows]
    saved = [per_row[r.path].saved_bytes for r in report.rows]
    totals = training.totals()
    extra = [(BACKWARD, backward, totals["backward_macs"]),
             (SAVED, saved, sum(saved))]
    shown = net_view(report, fmt, depth=depth, top_k=top_k, explain=explain, costing=costing,
                     extra_columns=extra, settings=settings)
    title = f"training step at batch {report.batch}"
    metric = Column("metric", "training", lambda r: r["metric"], justify="left")
    value = Column("value", "value", lambda r: r["value"])
    rows = summary_rows(training)
    conv_rows = [{"convention": c.convention, "counts": c.counts, "value": c.value, "reference": c.reference,
                  "difference": c.value - c.reference,
                  "causes": ", ".join(f"{k} {v:+,}" for k, v in c.difference.items() if v),
                  "unit": c.unit} for c in counts]
    conv_columns = [Column("convention", "convention", _getter("convention"), justify="left"),
                    Column("counts", "counts", _getter("counts"), justify="left",
                           wrap="words"),
                    Column("value", "says", _getter("value"), thousands, unit=True),
                    Column("reference", "exact", _getter("reference"), thousands, unit=True),
                    Column("unit", "unit", _getter("unit"), justify="left"),
                    Column("difference", "difference", _getter("difference"), thousands,
                           unit=True),
                    Column("causes", "by cause", _getter("causes"), justify="left",
                           wrap="words")]
    if fmt is Format.csv:
        return shown  # the rows' columns; the totals are in --format json
    if fmt in (Format.markdown, Format.latex):
        from convcalc.render.text import text_table

        assert isinstance(shown, str)
        out = shown + "\n" + text_table(fmt.value, rows, [metric, value], title=title)
        if counts:
            out += "\n" + text_table(fmt.value, conv_rows, conv_columns,
                                      title="training conventions")
        return out
    from convcalc.render import layout

    assert isinstance(shown, list)
    table = layout.Table(title, rows, [(metric, "name"), (value, "core")], header=False)
    blocks = [*shown, table]
    if counts:
        blocks.append(layout.rows_table(conv_rows, conv_columns, title="training conventions"))
    return blocks


def solve_batch_data(fit: Any, device: Any, source: str) -> dict[str, Any]:
    """`convcalc solve batch --format json`: raw ints."""
    return {
        "network": source,
        "device": device.key,
        "memory_bytes": fit.memory,
        "batch": fit.batch,
        "peak_bytes": fit.peak_bytes,
        "next_peak_bytes": fit.next_peak_bytes,
        "peak_at": f"{fit.training.peak.at} ({fit.training.peak.phase})",
        "fixed_bytes": fit.fixed_bytes,
        "per_sample_bytes": fit.per_sample_bytes,
        "optimizer": fit.training.options.optimizer,
        "dtype": fit.training.options.dtype,
    }


def solve_batch_view(fit: Any, device: Any, source: str, fmt: Format) -> str | list[Any]:
    """The largest batch whose training step fits the device, with the numbers that say so."""
    from convcalc.render.text import text_table, to_csv, to_json

    data = solve_batch_data(fit, device, source)
    if fmt is Format.json:
        return to_json(data) + "\n"
    title = (f"{source} on {device.name}: largest training batch {fit.batch:,}"
             if fit.batch else f"{source} on {device.name}: not even batch 1 fits")
    rows = [
        {"metric": "largest batch", "value": thousands(fit.batch)},
        {"metric": "device memory (bytes)", "value": thousands(fit.memory)},
        {"metric": f"peak at batch {max(fit.batch, 1):,}", "value": thousands(fit.peak_bytes)},
        {"metric": f"peak at batch {fit.batch + 1:,}", "value": thousands(fit.next_peak_bytes)},
        {"metric": "peak at", "value": data["peak_at"]},
        {"metric": "per sample (peak(2) − peak(1))", "value": thousands(fit.per_sample_bytes)},
        {"metric": "fixed (peak(1) − per sample)", "value": thousands(fit.fixed_bytes)},
        {"metric": "optimizer, dtype", "value": f"{data['optimizer']}, {data['dtype']}"},
    ]
    metric = Column("metric", "", lambda r: r["metric"], justify="left")
    value = Column("value", "value", lambda r: r["value"])
    if fmt is Format.csv:
        return to_csv([data], [Column(k, k, _getter(k)) for k in data])
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt.value, rows, [metric, value], title=title)
    from convcalc.render import layout

    note = ("the model's peak (convcalc.training.schedule): kernels' scratch space, the CUDA "
            "context and the allocator's reserve are not in it; device memory is the vendor's "
            "GB as 10⁹ bytes")
    return [layout.Table(title, rows, [(metric, "name"), (value, "core")], header=False),
            layout.lines([note], style="dim")]


def _getter(key: str) -> Any:
    return lambda row: row[key]


LAYER_SUMMARY = [("backward_macs", "backward MACs (grad-input + grad-weight)"),
                 ("grad_input_macs", "grad-input MACs"), ("grad_weight_macs", "grad-weight MACs"),
                 ("saved_bytes", "saved bytes (what autograd keeps)")]
LAYER_NOTE = ("training: as a layer inside a network (its input needs a gradient, its "
              "parameters are trained); PyTorch 2.13's saved tensors")


def layer_training_output(report: Any, training: dict[str, int], fmt: Format, *,
                          explain: bool = False, costing: Any = None, settings: Any = None,
                          batch: int = 1) -> str | list[Any]:
    """`convcalc layer --train` in `fmt`: the layer's output and its training facts
    (`settings`: --columns and --units of the text formats; `batch` in the title)."""
    from convcalc.render.layout import scaled
    from convcalc.render.text import text_table, to_csv, to_json
    from convcalc.render.views import layer_data, layer_view

    if fmt is Format.json:
        data = layer_data(report, explain=explain, costing=costing)
        data["training"] = training
        return to_json(data) + "\n"
    if fmt is Format.csv:
        return to_csv([training], [Column(k, k, _getter(k), unit=True) for k in training],
                      settings=settings)
    units = getattr(settings, "units", "auto")
    fixed = units not in ("auto", "none")
    rows = [{"metric": label,
             "value": scaled(training[key], units) if fixed else thousands(training[key])}
            for key, label in LAYER_SUMMARY]
    metric = Column("metric", "training", lambda r: r["metric"], justify="left")
    value = Column("value", "value", lambda r: r["value"])
    shown = layer_view(report, fmt, explain=explain, costing=costing, settings=settings,
                       batch=batch)
    if fmt in (Format.markdown, Format.latex):
        assert isinstance(shown, str)
        return shown + "\n" + text_table(fmt.value, rows, [metric, value], title=LAYER_NOTE)
    from convcalc.render import layout

    assert isinstance(shown, list)
    return [*shown, layout.Table(LAYER_NOTE, rows, [(metric, "name"), (value, "core")],
                                 header=False)]


def compare_training_output(comparison: Any, training: dict[str, dict[str, int]], fmt: Format,
                            shown: str | list[Any], settings: Any = None) -> str | list[Any]:
    """`convcalc compare --train`: each variant's backward MACs and saved bytes (a
    depthwise-separable block keeps two tensors where a conv keeps one)."""
    import json

    from convcalc.render.text import text_table, to_csv, to_json

    if fmt is Format.json:
        assert isinstance(shown, str)
        data = json.loads(shown)
        for v in data["variants"]:
            v["training"] = training.get(v["variant"])
        return to_json(data) + "\n"
    rows = [{"variant": name, **t} for name, t in training.items()]
    columns = [Column("variant", "variant", lambda r: r["variant"], justify="left"),
               Column("backward_macs", "bwd MACs", _getter("backward_macs"), thousands,
                      unit=True),
               Column("grad_input_macs", "grad-input", _getter("grad_input_macs"), thousands,
                      unit=True),
               Column("grad_weight_macs", "grad-weight", _getter("grad_weight_macs"), thousands,
                      unit=True),
               SAVED]
    if fmt is Format.csv:
        return to_csv(rows, columns, settings=settings)
    if fmt in (Format.markdown, Format.latex):
        assert isinstance(shown, str)
        return shown + "\n" + text_table(fmt.value, rows, columns, title=LAYER_NOTE,
                                          settings=settings)
    from convcalc.render import layout

    assert isinstance(shown, list)
    return [*shown, layout.rows_table(rows, columns, title=LAYER_NOTE, bar_key="saved_bytes")]

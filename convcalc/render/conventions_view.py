"""`--conventions` and `--convention TOOL`: what each peer tool prints, beside the usual output.

JSON (the contract): `--conventions` adds a top-level `"conventions": [{"tool", "version",
"value", "label", "difference": {cause: int}}]`; `--convention TOOL` adds `"convention":
{"tool", "version", "value", "label"}` to `totals` and the tool's count to every row as
`"convention"`. Either adds convcalc's own `"other_ops"` to every row and to `totals` (with
`"other_ops_by_category"`). A tool that cannot count the network has `"value": null` and an
`"error"`. For `convcalc layer` (one layer as a network of one) the layer's object itself gets
`"conventions"`, `"convention"` and `"other_ops"`.

Table, Markdown and CSV: the usual output, then (with `--conventions`) one row per tool: tool,
version, its total, the word it prints beside it, the difference from PyTorch's count in the
tool's unit, and that difference by cause; `--convention TOOL` adds a column with the tool's
count per row (and its total) to the network's table.

The counting is done before: the command asks convcalc.conventions for the result (`net_peers`,
`layer_peers`: a `Peers`) and hands it here; this module only formats it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from convcalc.numbers import decimal_text
from convcalc.render.columns import COLUMNS, Column, thousands
from convcalc.render.formats import Format
from convcalc.render.text import text_table, to_csv, to_json
from convcalc.report import LayerReport, NetworkReport

if TYPE_CHECKING:
    from convcalc.conventions import Count, Peers


def signed(value: int | None) -> str:
    """+13,356,224 / −1,000 / 0 (display only)."""
    if value is None:
        return ""
    return f"{value:+,}".replace("-", "−") if value else "0"


def breakdown_text(count: Count) -> str:
    """`normalization +13,356,224, pooling +62,720`; the error when the tool fails."""
    if count.error is not None:
        return f"fails: {count.error}"
    return ", ".join(f"{cause} {signed(n)}" for cause, n in count.difference.items())


def ratio_text(count: Count) -> str:
    if count.value is None:
        return "fails"
    if not count.reference:
        return ""
    return f"{decimal_text(Fraction(count.value, count.reference), 3)}×"


def conventions_rows(counts: Sequence[Count], causes: Sequence[str]) -> list[dict[str, Any]]:
    """One row per tool (raw values; the columns format them)."""
    rows = []
    for c in counts:
        difference = None if c.value is None else c.value - c.reference
        rows.append({"tool": c.tool, "version": c.version, "value": c.value, "label": c.label,
                     "unit": c.unit, "reference": c.reference, "difference": difference,
                     "ratio": ratio_text(c), "causes": breakdown_text(c), "error": c.error,
                     **{f"cause_{k}": (None if c.value is None else c.difference.get(k, 0))
                        for k in causes}, "depth": 0})
    return rows


def _col(key: str, header: str, show: Callable[[Any], str] = str,
         justify: Literal["left", "right"] = "right") -> Column:
    return Column(key, header, lambda r: r.get(key), show, justify)


def _cause(cause: str) -> Column:
    """A CSV column per cause, headed by the cause's name."""
    key = f"cause_{cause}"
    return Column(cause, cause, lambda r: r.get(key))


SHOWN = [
    _col("tool", "tool", justify="left"), _col("version", "version", justify="left"),
    _col("value", "total", thousands), _col("label", "printed as", justify="left"),
    _col("ratio", "vs PyTorch"), _col("difference", "difference", signed),
    _col("causes", "by cause", justify="left"),
]


def raw_columns(causes: Sequence[str]) -> list[Column]:
    """The CSV's columns: every field raw, one column per cause."""
    return [
        _col("tool", "tool"), _col("version", "version"), _col("value", "value"),
        _col("label", "label"), _col("unit", "unit"), _col("reference", "torch"),
        _col("difference", "difference"),
        *(_cause(k) for k in causes),
        _col("error", "error"),
    ]


def notes(peers: Peers) -> list[str]:
    torch = peers.torch
    return [f"difference: the tool's total minus PyTorch FlopCounterMode's in the tool's unit "
            f"({thousands(torch.value // 2 if torch.value else 0)} MACs, or "
            f"{thousands(torch.value)} FLOPs for a FLOPs tool), for the network built as "
            "`convcalc export --to pytorch` writes it; causes in docs/conventions.md.",
            f"other ops (convcalc's count of norm, activation, pooling, add, multiply and "
            f"upsample work): {thousands(peers.other_ops.total)}",
            *_forms(peers)]


def _forms(peers: Peers) -> list[str]:
    """The layers whose `op` says how the model writes them (they are built that way)."""
    if not peers.forms:
        return []
    listed = ", ".join(f"{form} ×{n:,}" for form, n in peers.forms.items())
    return [f"op: {listed} (layers written as the model writes them: a torch function, a "
            "tensor method, a module on channels-last data); every other layer is the module "
            "`convcalc export` writes"]


def conventions_section(peers: Peers, fmt: Format) -> str | list[Any]:
    """The table of tools (`peers.table`) after the usual output."""
    counts = peers.table
    rows = conventions_rows(counts, peers.causes)
    title = f"what each peer tool prints for {peers.name}"
    if fmt is Format.csv:
        return to_csv(rows, raw_columns(peers.causes))
    if fmt in (Format.markdown, Format.latex):
        return text_table(fmt, rows, SHOWN, title=title, notes=notes(peers))
    from convcalc.render import layout as table

    # the causes go under the table, one line per tool: a column of them would not fit
    causes = [f"  {c.tool}: {breakdown_text(c)}" for c in counts
              if c.difference or c.error is not None]
    return [table.rows_table(rows, SHOWN[:-1], title=title, drop=["version", "ratio"]),
            *([table.lines(["by cause:", *causes])] if causes else []),
            table.lines(notes(peers), style="dim")]


def _join(first: str | list[Any], second: str | list[Any]) -> str | list[Any]:
    if isinstance(first, str):
        assert isinstance(second, str)
        return first + "\n" + second
    assert isinstance(second, list)
    return [*first, *second]


def _count_json(count: Count) -> dict[str, Any]:
    return count.to_dict(difference=False)


def net_output(report: NetworkReport, peers: Peers, fmt: Format, *,
               depth: int | None = None, top_k: int | None = None,
               explain: bool = False, costing: Any = None,
               other_ops_column: bool = False) -> str | list[Any]:
    """`convcalc net` with `--conventions`, `--convention TOOL` and/or the `other_ops` column
    (`--columns …,other_ops`): `peers` from convcalc.conventions' net_peers; `costing` as
    `net_view`."""
    from convcalc.render.views import COMPACT_JSON_ROWS, net_data, net_view

    picked = peers.picked
    if fmt is Format.json:
        data = net_data(report, costing)
        other = peers.other_ops
        for i, row in enumerate(data["layers"]):
            row["other_ops"] = other.rows[i]
            if picked is not None:
                row["convention"] = None if picked.value is None else picked.rows[i]
        data["totals"]["other_ops"] = other.total
        data["totals"]["other_ops_by_category"] = dict(other.by_category)
        if picked is not None:
            data["totals"]["convention"] = _count_json(picked)
        if peers.every:
            data["conventions"] = [c.to_dict() for c in peers.every]
        return to_json(data, compact=len(report.rows) > COMPACT_JSON_ROWS) + "\n"
    extra: list[tuple[Column, Sequence[Any], Any]] = []
    if picked is not None:
        values = [None] * len(picked.rows) if picked.value is None else list(picked.rows)
        extra.append((Column("convention", picked.tool, lambda r: r.get("convention"),
                             thousands), values, picked.value))
    if other_ops_column:
        other = peers.other_ops
        extra.append((COLUMNS["other_ops"], list(other.rows), other.total))
    out = net_view(report, fmt, depth=depth, top_k=top_k, explain=explain, extra_columns=extra,
                   costing=costing)
    if peers.table:
        return _join(out, conventions_section(peers, fmt))
    return out


def layer_output(report: LayerReport, peers: Peers, fmt: Format, *, explain: bool = False,
                 costing: Any = None) -> str | list[Any]:
    """`convcalc layer` with `--conventions` and/or `--convention TOOL`: `peers` from
    convcalc.conventions' layer_peers (the layer as a network of one); `costing` as
    `layer_view`."""
    from convcalc.render.views import layer_data, layer_view

    if fmt is Format.json:
        data = layer_data(report, explain=explain, costing=costing)
        data["other_ops"] = peers.other_ops.total
        if peers.picked is not None:
            data["convention"] = _count_json(peers.picked)
        if peers.every:
            data["conventions"] = [c.to_dict() for c in peers.every]
        return to_json(data) + "\n"
    out = layer_view(report, fmt, explain=explain, costing=costing)
    return _join(out, conventions_section(peers, fmt))

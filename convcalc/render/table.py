"""Rich tables: the only module besides the CLI that imports rich."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from convcalc.render.columns import Column


def bar(value: int, largest: int, width: int = 12) -> str:
    """A bar of block characters proportional to value/largest (eighths for the tail)."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, value * width * 8 // largest)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


class FitTable:
    """A table that fits the console when rendered: numbers are never cut; optional columns are
    dropped (in `drop` order) and the layer-name column folds when the width runs out."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
                 title: str | None, bar_key: str | None, total: Mapping[str, Any] | None,
                 drop: Sequence[str]) -> None:
        self.rows, self.columns, self.title = rows, list(columns), title
        self.bar_key, self.total, self.drop = bar_key, total, list(drop)

    def _cells(self, row: Mapping[str, Any], c: Column) -> str:
        text = c.show(c.raw(row))
        if c.key in ("path", "variant"):
            text = "  " * int(row.get("depth", 0)) + text
        return text

    def _widths(self, columns: Sequence[Column]) -> dict[str, int]:
        every = [*self.rows, *([self.total] if self.total else [])]
        return {c.key: max([len(c.header), *(len(line) for r in every
                                             for line in self._cells(r, c).splitlines() or [""])])
                for c in columns}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        columns = list(self.columns)
        bar_width = 12 if self.bar_key else 0
        drop = list(self.drop)

        def needed() -> int:
            widths = self._widths(columns)
            folding = {"path"}
            fixed = sum(w for k, w in widths.items() if k not in folding)
            flexible = sum(min(w, 18) for k, w in widths.items() if k in folding)
            edges = 6  # the box edges, the bar column's padding and rich's own margin
            return fixed + flexible + 2 * len(columns) + edges + (bar_width + 2 if bar_width else 0)

        # the bar shows proportions at a glance: secondary columns go first, then the bar shrinks
        while needed() > width:
            if drop:
                victim = drop.pop(0)
                columns = [c for c in columns if c.key != victim]
            elif bar_width > 6:
                bar_width = 6
            elif bar_width:
                bar_width = 0
            else:
                break
        yield build_table(self.rows, columns, title=self.title,
                          bar_key=self.bar_key if bar_width else None, bar_width=bar_width,
                          total=self.total)


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
               title: str | None = None, bar_key: str | None = None,
               total: Mapping[str, Any] | None = None, drop: Sequence[str] = ()) -> FitTable:
    """One table row per row; `bar_key` adds a bar scaled to the largest value; columns in
    `drop` go first, in order, when the console is too narrow."""
    return FitTable(rows, columns, title=title, bar_key=bar_key, total=total, drop=drop)


def build_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
                title: str | None, bar_key: str | None, bar_width: int,
                total: Mapping[str, Any] | None) -> Table:
    table = Table(title=Text(title) if title is not None else None, box=box.SIMPLE_HEAD,
                  pad_edge=False, title_justify="left")
    folding = ("path", "fields", "meaning")
    for c in columns:
        table.add_column(c.header, justify=c.justify, no_wrap=c.key not in folding,
                         overflow="fold" if c.key in folding else "ellipsis")
    largest = max((int(r.get(bar_key) or 0) for r in rows), default=0) if bar_key else 0
    if bar_key:
        table.add_column("", justify="left", no_wrap=True, style="cyan", max_width=bar_width)
    for row in rows:
        cells: list[RenderableType] = []
        for c in columns:
            text = c.show(c.raw(row))
            if c.key in ("path", "variant"):
                text = "  " * int(row.get("depth", 0)) + text
            cells.append(Text(text, style="dim" if row.get("depth") else ""))
        if bar_key:
            cells.append(bar(int(row.get(bar_key) or 0), largest, bar_width))
        table.add_row(*cells, style="red" if row.get("error") else None)
    if total is not None:
        table.add_section()
        cells = [Text(c.show(c.raw(total)), style="bold") for c in columns]
        if bar_key:
            cells.append("")
        table.add_row(*cells)
    return table


def metric_table(row: Mapping[str, Any], columns: Sequence[Column], title: str) -> Table:
    """One layer, one metric per line: the registry's columns read vertically."""
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, title_justify="left",
                  show_header=False, pad_edge=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for c in columns:
        table.add_row(Text(c.header), Text(c.show(c.raw(row))))
    return table


def lines(texts: Sequence[str], style: str = "") -> Group:
    return Group(*(Text(t, style=style) for t in texts))


def make_console(*, stderr: bool = False, width: int | None = None,
                 color: bool | None = None) -> Console:
    """A console; tests pass a width and color=False for stable golden files."""
    return Console(stderr=stderr, width=width, no_color=color is False,
                   color_system=None if color is False else "auto",
                   highlight=False, soft_wrap=False)

"""Rich tables: the only module besides the CLI that imports rich."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
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


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
               title: str | None = None, bar_key: str | None = None,
               total: Mapping[str, Any] | None = None) -> Table:
    """One table row per row; `bar_key` adds a bar column scaled to the largest value."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for c in columns:
        table.add_column(c.header, justify=c.justify, no_wrap=c.key not in ("error", "fields", "meaning"),
                         overflow="fold" if c.key in ("path", "error", "fields", "meaning") else "ellipsis")
    largest = max((int(r.get(bar_key) or 0) for r in rows), default=0) if bar_key else 0
    if bar_key:
        table.add_column("", justify="left", no_wrap=True, style="cyan")
    for row in rows:
        cells: list[RenderableType] = []
        for c in columns:
            text = c.show(c.raw(row))
            if c.key in ("path", "variant"):
                text = "  " * int(row.get("depth", 0)) + text
            cells.append(Text(text, style="dim" if row.get("depth") else ""))
        if bar_key:
            cells.append(bar(int(row.get(bar_key) or 0), largest))
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
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_header=False,
                  pad_edge=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for c in columns:
        table.add_row(c.header, c.show(c.raw(row)))
    return table


def lines(texts: Sequence[str], style: str = "") -> Group:
    return Group(*(Text(t, style=style) for t in texts))


def make_console(*, stderr: bool = False, width: int | None = None,
                 color: bool | None = None) -> Console:
    """A console; tests pass a width and color=False for stable golden files."""
    return Console(stderr=stderr, width=width, no_color=color is False,
                   color_system=None if color is False else "auto",
                   highlight=False, soft_wrap=False)

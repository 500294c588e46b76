"""Tables laid out as text at any width: nothing is dropped or cut without a visible note.

A table has a name column, core and secondary columns, and extra columns. It is fitted to the
width in steps: (1) numbers are written with units (`--units auto`: 4.09 G instead of
4,089,184,256), (2) long names are shortened from the left with an ellipsis (never wrapped, so a
row stays one line), (3) the bar shrinks, then goes, (4) the columns that
still do not fit move to a second table (and a third…), each row under its name again, and a
note says so. Extra columns (memory, FLOPs, jump…) are added when there is room, and a note says
which others exist. Without a width (output piped or redirected) the table is whole: every
column, full numbers. This module is pure: text and style names in, lines of (text, style) out;
`render/table.py` turns styles into terminal colours.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from convcalc.numbers import decimal_text
from convcalc.render.columns import Column

Segment = tuple[str, str]
"""(text, style): style is "" or space-separated names: dim, bold, cyan, red."""
Line = list[Segment]
Role = Literal["name", "core", "secondary", "extra"]
_SCALE = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BAR_WIDTH = 12
GAP = 3
"""Spaces between columns (2 when that makes a table fit)."""
EDGE = 1


@dataclass(frozen=True, slots=True)
class Settings:
    """How to fit: the width (None = unlimited: the whole table), units, chosen columns, and
    whether the output can show non-ASCII symbols."""

    width: int | None = None
    units: str = "auto"
    columns: tuple[str, ...] | None = None
    ascii: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of raw values and the columns to show them with, by role."""

    title: str | None
    rows: Sequence[Mapping[str, Any]]
    columns: Sequence[tuple[Column, Role]]
    total: Mapping[str, Any] | None = None
    bar: str | None = None
    header: bool = True
    note_more: bool = True
    """Say which extra columns exist when they are not shown."""
    priority: tuple[str, ...] = ("macs", "params", "output", "macs_ratio", "params_ratio")
    """Which columns keep their place in the first table first when it is narrow."""


@dataclass(frozen=True, slots=True)
class Text:
    """Lines of prose (notes, formulas); wrapped at spaces to the width."""

    lines: Sequence[str]
    style: str = ""


Block = Table | Text


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str, keep: str = "") -> str:
    """Control characters (and U+2028/2029) written as visible escapes (`\\x1b`), except those
    in `keep`: nothing a spec or a model names can move a terminal's cursor or colour it."""
    if text.isprintable():
        return text
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1],
                        text)


def text_width(text: str) -> int:
    """Terminal columns of `text` (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return total


def scaled(value: Any, unit: str) -> str:
    """A count in a unit: 4089184256 in G → 4.09 G; `auto` picks the largest unit ≤ value."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "" if value is None else str(value)
    if unit == "auto":
        unit = next((u for u in ("T", "G", "M", "k") if abs(value) >= _SCALE[u]), "")
        if not unit:
            return str(value)
    return f"{decimal_text(Fraction(value, _SCALE[unit]))} {unit}"


def shorten_name(text: str, width: int, ascii: bool = False) -> str:
    """A dotted path that does not fit, shortened from the left with an ellipsis, at a dot when
    one leaves a readable tail (`features.denseblock4.denselayer16.conv2` in 24 columns:
    `…denselayer16.conv2`); the leading indentation of a part is kept. One line, never
    wrapped: a long path does not double the table's rows."""
    if text_width(text) <= width:
        return text
    dots = "..." if ascii else "…"
    body = text.lstrip(" ")
    indent = text[: len(text) - len(body)]
    room = width - text_width(indent) - len(dots)
    if room <= 0:
        return (indent + dots)[:width]
    tail = ""
    for i, ch in enumerate(body):
        if ch == "." and text_width(body[i:]) <= room:
            tail = body[i:]
            break
    if 3 * text_width(tail) < 2 * room:  # no dot, or one too far right: cut anywhere
        tail = body
        while text_width(tail) > room:
            tail = tail[1:]
    return indent + dots + tail


def wrap_words(text: str, width: int) -> list[str]:
    """Prose wrapped at spaces (a word longer than the width is broken)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for whole in paragraph.split(" "):
            word = whole
            while text_width(word) > width:
                if line:
                    out.append(line)
                    line = ""
                out.append(word[:width])
                word = word[width:]
            if not line:
                line = word
            elif text_width(line) + 1 + text_width(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        out.append(line)
    return out


def bar(value: int, largest: int, width: int, ascii: bool) -> str:
    """A bar proportional to value/largest (eighths of a cell for the tail)."""
    if largest <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, value * width * 8 // largest)
    full, rest = divmod(eighths, 8)
    if ascii:
        return "#" * full + ("+" if rest else "")
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


ASCII = str.maketrans({"×": "x", "─": "-", "→": "->", "≥": ">=", "≤": "<=", "−": "-", "·": "*",
                       "⌊": "floor(", "⌋": ")", "⌈": "ceil(", "⌉": ")", "…": "...", "²": "^2",
                       "α": "alpha", "γ": "gamma", "β": "beta", "‖": "||", "√": "sqrt",
                       "∏": "prod", "'": "'"})


def asciify(text: str) -> str:
    """The text in ASCII symbols (for an output that cannot show ×, ─, ⌊ …)."""
    out = text.translate(ASCII)
    return out if out.isascii() else out.encode("ascii", "backslashreplace").decode("ascii")


@dataclass
class _Fitted:
    columns: list[tuple[Column, Role]]
    units: str
    name_width: int | None
    bar_width: int
    widths: list[int] = field(default_factory=list)
    prose: dict[str, int] = field(default_factory=dict)
    """Widths of the prose columns that wrap at spaces."""
    gap: int = GAP


class _Cells:
    """Cell texts per column and unit mode, made once (a 65,000-row table is formatted once)."""

    def __init__(self, table: Table, ascii: bool) -> None:
        self.table = table
        self.ascii = ascii
        self.cache: dict[tuple[str, str], list[str]] = {}
        self.every = [*table.rows, *([table.total] if table.total is not None else [])]

    def texts(self, column: Column, units: str) -> list[str]:
        mode = units if column.unit else "none"
        key = (column.key, mode)
        found = self.cache.get(key)
        if found is None:
            raw = column.raw
            if mode == "none":
                found = [column.show(raw(r)) for r in self.every]
            else:
                found = [scaled(raw(r), mode) for r in self.every]
            if column.key in ("path", "variant"):
                # a part sits under its layer: indented, named by its own last level
                found = [("  " * int(r.get("depth") or 0) + t.rsplit(".", 1)[-1])
                         if r.get("depth") else t for r, t in zip(self.every, found, strict=True)]
            found = [escape_controls(t, keep="\n") for t in found]
            if self.ascii:
                found = [asciify(t) for t in found]
            self.cache[key] = found
        return found

    def width(self, column: Column, units: str) -> int:
        texts = self.texts(column, units)
        header = asciify(column.header) if self.ascii else column.header
        widest = max((text_width(line) for t in texts for line in t.split("\n")), default=0)
        return max(text_width(header) if self.table.header else 0, widest)

    def min_name(self, column: Column) -> int:
        """The narrowest the name column may get: its widest name up to 16 columns (at least
        8); longer names are shortened from the left to fit."""
        widest = max((text_width(t) for t in self.texts(column, "none")), default=8)
        return max(8, min(16, widest))


def _total(widths: Sequence[int], bar_width: int, gap: int = GAP) -> int:
    return EDGE + sum(widths) + gap * (len(widths) - 1) + (gap + bar_width if bar_width else 0)


def _fit(table: Table, cells: _Cells, settings: Settings) -> tuple[list[_Fitted], list[str]]:
    """Pages (tables) of columns that fit the width, and the notes that say what happened."""
    chosen = list(table.columns)
    if settings.columns is not None:
        by_key = {c.key: (c, role) for c, role in table.columns}
        if table.columns and table.columns[0][0].key in ("path", "variant"):
            # a table of the registry's rows (layers, variants) shows any registry column
            from convcalc.render.columns import COLUMNS

            by_key = {**{k: (c, "core") for k, c in COLUMNS.items()}, **by_key}
        chosen = [c for c in table.columns if c[1] == "name"] + [
            by_key[k] for k in settings.columns if k in by_key and by_key[k][1] != "name"]
    name = [c for c in chosen if c[1] == "name"]
    body = [c for c in chosen if c[1] in ("core", "secondary")]
    extra = [c for c in chosen if c[1] == "extra"]
    if settings.columns is not None:
        body, extra = body + extra, []
    bar_width = BAR_WIDTH if table.bar else 0
    width = settings.width
    notes: list[str] = []
    if width is None:
        units = "none" if settings.units == "auto" else settings.units
        cols = [*name, *body, *extra]
        return [_Fitted(cols, units, None, bar_width,
                        [cells.width(c, units) for c, _ in cols])], notes

    prose: dict[str, int] = {}

    def widths(cols: list[tuple[Column, Role]], units: str, name_width: int | None) -> list[int]:
        return [name_width if role == "name" and name_width is not None else
                prose.get(c.key, cells.width(c, units)) for c, role in cols]

    units = "none" if settings.units == "auto" else settings.units
    cols = [*name, *body]
    name_width: int | None = None
    if _total(widths(cols, units, None), bar_width) > width and settings.units == "auto":
        units = "auto"
    if name and _total(widths(cols, units, None), bar_width) > width:
        natural = cells.width(name[0][0], units)
        others = _total(widths(cols[1:], units, None), bar_width) + GAP
        name_width = max(min(natural, width - others), cells.min_name(name[0][0]))
    wrapping = [c for c, _ in cols if c.wrap == "words"]
    if wrapping and _total(widths(cols, units, name_width), bar_width) > width:
        fixed = _total([w for (c, _), w in zip(cols, widths(cols, units, name_width),
                                               strict=True) if c.wrap != "words"], bar_width)
        share = max(20, (width - fixed - GAP * len(wrapping)) // len(wrapping))
        for c in wrapping:
            prose[c.key] = min(cells.width(c, units), share)
    while bar_width and _total(widths(cols, units, name_width), bar_width) > width:
        bar_width = 6 if bar_width > 6 else 0
    gap = GAP if _total(widths(cols, units, name_width), bar_width) <= width else GAP - 1
    pages: list[list[tuple[Column, Role]]] = []
    order = {c.key: i for i, (c, _) in enumerate(chosen)}
    # core columns claim the first table first; each table shows its columns in the usual order
    rank = {k: i for i, k in enumerate(table.priority)}
    remaining = sorted([c for c in body if c[1] == "core"],
                       key=lambda c: rank.get(c[0].key, len(rank))) + [
        c for c in body if c[1] != "core"]
    while True:
        page = list(name)
        while remaining:
            trial = [*page, remaining[0]]
            room = _total(widths(trial, units, name_width), 0 if pages else bar_width,
                          gap) <= width
            if len(page) > len(name) and not room:
                break
            page.append(remaining.pop(0))
        pages.append(sorted(page, key=lambda c: order[c[0].key]))
        if not remaining:
            break
    first = pages[0]
    for column in extra:  # extras only where the first table has room for them
        trial = [*first, column]
        if len(pages) == 1 and _total(widths(trial, units, name_width), bar_width, gap) <= width:
            first.append(column)
    def page_name(page: list[tuple[Column, Role]], bar: int) -> int | None:
        """The widest the name may be on this page: a later table, with fewer columns, can
        show the names that the first had to shorten."""
        if name_width is None or not name:
            return name_width
        rest = _total(widths([c for c in page if c[1] != "name"], units, None), bar, gap)
        return max(name_width, min(cells.width(name[0][0], units), width - rest - gap))

    fitted = []
    for i, p in enumerate(pages):
        bar = bar_width if i == 0 else 0
        shown = page_name(p, bar)
        fitted.append(_Fitted(p, units, shown, bar, widths(p, units, shown), prose, gap))
    if len(pages) > 1:
        moved = [c.header for p in pages[1:] for c, role in p if role != "name"]
        where = "second and later tables" if len(pages) > 2 else "second table"
        notes.append(f"(the output is {width} columns wide: {', '.join(moved)} in the {where}; "
                     "--width or --columns to change)")
    hidden = [c.key for c, _ in extra if (c, "extra") not in fitted[0].columns]
    if hidden and table.note_more:
        notes.append(f"(more columns: --columns {','.join(hidden)})")
    return fitted, notes


def _table_lines(table: Table, settings: Settings) -> list[Line]:
    cells = _Cells(table, settings.ascii)
    pages, notes = _fit(table, cells, settings)
    lines: list[Line] = []
    n_rows = len(table.rows)
    largest = max((int(r.get(table.bar) or 0) for r in table.rows), default=0) if table.bar \
        else 0
    title = None if table.title is None else escape_controls(table.title)
    shortened = False
    for index, page in enumerate(pages):
        if title is not None:
            head = title if index == 0 else f"{title} (continued)"
            head = asciify(head) if settings.ascii else head
            for t in (wrap_words(head, settings.width) if settings.width else [head]):
                lines.append([(t, "bold")])
            lines.append([])
        texts = [cells.texts(c, page.units) for c, _ in page.columns]
        justify = [c.justify for c, _ in page.columns]
        if table.header:
            header: list[str] = [asciify(c.header) if settings.ascii else c.header
                                 for c, _ in page.columns]
            lines.append([(_join(header, page.widths, justify, page.gap), "bold")])
            rule = "-" if settings.ascii else "─"
            lines.append([(" " + rule * (_total(page.widths, page.bar_width, page.gap) - EDGE),
                           "")])
        for i in range(n_rows + (1 if table.total is not None else 0)):
            is_total = i == n_rows
            if is_total:
                lines.append([])
            row = table.total if is_total else table.rows[i]
            assert row is not None
            cols: list[list[str]] = []
            for k, (column, role) in enumerate(page.columns):
                cell = texts[k][i]
                if role == "name" and page.name_width is not None:
                    short = [shorten_name(line, page.name_width, settings.ascii)
                             for line in cell.split("\n")]
                    shortened = shortened or short != cell.split("\n")
                    cols.append(short)
                elif column.key in page.prose:
                    cols.append(wrap_words(cell, page.prose[column.key]))
                else:
                    cols.append(cell.split("\n"))
            height = max(len(c) for c in cols)
            style = "bold" if is_total else ("red" if row.get("_failed") else (
                "dim" if row.get("depth") else ""))
            for h in range(height):
                parts = [c[h] if h < len(c) else "" for c in cols]
                text = _join(parts, page.widths, justify, page.gap)
                segment: Line = [(text, style)]
                if page.bar_width and h == 0 and not is_total:
                    drawn = bar(int(row.get(table.bar) or 0) if table.bar else 0, largest,
                                page.bar_width, settings.ascii)
                    if drawn:
                        segment.append((" " * page.gap + drawn, "cyan"))
                lines.append(segment)
        if index < len(pages) - 1:
            lines.append([])
    if shortened:
        notes.insert(0, f"(names shortened from the left to fit {settings.width} columns; "
                        "--width, -o FILE or a pipe shows them whole)")
    for note in notes:
        for t in (wrap_words(note, settings.width) if settings.width else [note]):
            lines.append([(t, "dim")])
    return lines


def _join(cells: Sequence[str], widths: Sequence[int], justify: Sequence[str],
          gap: int = GAP) -> str:
    out = []
    for text, w, j in zip(cells, widths, justify, strict=True):
        pad = w - text_width(text)
        out.append(text + " " * pad if j == "left" else " " * pad + text)
    return (" " * EDGE + (" " * gap).join(out)).rstrip()


def render(blocks: Sequence[Block], settings: Settings) -> list[Line]:
    """Every block as lines, a blank line between blocks."""
    lines: list[Line] = []
    for i, block in enumerate(blocks):
        if i and lines and lines[-1]:
            lines.append([])
        if isinstance(block, Table):
            lines += _table_lines(block, settings)
        else:
            for raw in block.lines:
                text = escape_controls(raw, keep="\n")
                text = asciify(text) if settings.ascii else text
                for t in (wrap_words(text, settings.width) if settings.width else [text]):
                    lines.append([(t, block.style)])
    return lines


def plain(lines: Sequence[Line]) -> str:
    """The lines as text, without styles."""
    return "".join("".join(t for t, _ in line) + "\n" for line in lines)


NAME_KEYS = ("path", "variant", "kind_name")


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
               title: str | None = None, bar_key: str | None = None,
               total: Mapping[str, Any] | None = None, drop: Sequence[str] = (),
               extra: Sequence[Column] = ()) -> Table:
    """A table whose first column names the rows; columns in `drop` are secondary (they move to
    a second table first), `extra` columns appear where there is room."""
    roles: list[tuple[Column, Role]] = []
    for i, c in enumerate(columns):
        role: Role = "name" if i == 0 else ("secondary" if c.key in drop else "core")
        roles.append((c, role))
    roles += [(c, "extra") for c in extra]
    return Table(title, rows, roles, total, bar_key)


def metric_table(row: Mapping[str, Any], columns: Sequence[Column], title: str,
                 units: str = "auto") -> Table:
    """One layer, one metric per line: the registry's columns read vertically; counts in
    `units` (--units k|M|G|T; auto and none write them whole: one column always fits)."""
    metric = Column("metric", "metric", lambda r: r["metric"], justify="left")
    value = Column("value", "value", lambda r: r["value"])
    whole = units in ("auto", "none")
    rows = [{"metric": c.header,
             "value": c.show(c.raw(row)) if whole or not c.unit else scaled(c.raw(row), units)}
            for c in columns]
    return Table(title, rows, [(metric, "name"), (value, "core")], header=False)


def lines(texts: Sequence[str], style: str = "") -> Text:
    return Text(list(texts), style)

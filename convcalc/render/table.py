"""Writing laid-out lines to a terminal or a file: the only module besides the CLI that imports
rich. rich finds out what the terminal is (a terminal at all, its width, its colours, whether it
can show the symbols) and turns style names into its escape codes; the layout itself is
`render/layout.py`'s, so a 65,000-row table is written as fast as text."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style

from convcalc.render.layout import Line, plain


@dataclass(frozen=True, slots=True)
class Terminal:
    """What the output is: a terminal (its width and colours) or a pipe or file (no width)."""

    is_terminal: bool
    width: int | None
    color_system: str | None
    can_show: bool
    """The output's encoding can write ×, ─, █ and ⌊ (else ASCII symbols)."""


SYMBOLS = "×─█▏⌊⌋→≥·−"
COLOR_SYSTEMS = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
                 "truecolor": ColorSystem.TRUECOLOR, "windows": ColorSystem.WINDOWS}


def detect(file: IO[str] | None = None) -> Terminal:
    """The terminal behind `file` (stdout by default). NO_COLOR turns colour off."""
    stream = file or sys.stdout
    console = Console(file=stream, highlight=False)
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        SYMBOLS.encode(encoding)
        can_show = True
    except (UnicodeEncodeError, LookupError):
        can_show = False
    if not console.is_terminal:
        return Terminal(False, None, None, can_show)
    color = None if "NO_COLOR" in os.environ else console.color_system
    return Terminal(True, console.width, color, can_show)


def write(lines: Sequence[Line], terminal: Terminal, file: IO[str] | None = None) -> None:
    """The lines, with their styles as escape codes where the terminal has colours."""
    stream = file or sys.stdout
    if terminal.color_system is None:
        stream.write(plain(lines))
        return
    system = COLOR_SYSTEMS.get(terminal.color_system, ColorSystem.STANDARD)
    styles: dict[str, Style] = {}
    out: list[str] = []
    for line in lines:
        for text, style in line:
            if not style or not text:
                out.append(text)
                continue
            parsed = styles.get(style)
            if parsed is None:
                parsed = styles[style] = Style.parse(style)
            out.append(parsed.render(text, color_system=system))
        out.append("\n")
    stream.write("".join(out))

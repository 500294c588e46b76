"""Where a command's result goes: the -o target checked before any work and the format it
implies, the result written (tables fitted to the terminal), errors as one line each."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from convcalc.cli.values import View
from convcalc.errors import ConvcalcError, SpecError
from convcalc.render.formats import Format


@dataclass(frozen=True)
class Output:
    """The checked target (None: standard output) and the format to write."""

    target: Any
    format: Format


def output_target(output: str | None, fmt: Format | None, inputs: tuple[str | None, ...] = (),
                  *, option: str = "-o/--output", formats: bool = True) -> Output:
    """The checked `-o` target (before any work: `-` is stdout; an input file, a directory or a
    missing folder refused) and the format: --format, else the file's suffix, else table (a
    command without formats writes its one text whatever the suffix)."""
    from convcalc.output import check_target, format_for

    target = check_target(output, _input_files(inputs, output not in (None, "-")),
                          option=option)
    return Output(target, format_for(fmt, target, warn=warn) if formats else Format.table)


def _input_files(names: tuple[str | None, ...], to_file: bool = True) -> list[str]:
    """The files a command reads: each name as given, a bundled example's file, and (writing
    to a file) an ONNX model's external data files."""
    import os

    from convcalc.bundled import example_path

    files: list[str] = []
    for name in names:
        if name is None or name == "":
            continue
        files.append(name)  # "-": check_target compares the output with standard input's file
        if to_file and name.lower().endswith(".onnx") and os.path.isfile(name):
            from convcalc.bridges.onnx_import import external_files

            files += external_files(name)
        if not os.path.exists(name):
            bundled = example_path(name)
            if bundled is not None:
                files.append(str(bundled))
    return files


def env_width() -> int | None:
    """CONVCALC_WIDTH: the width to fit tables to, piped or not (as --width)."""
    import os

    raw = os.environ.get("CONVCALC_WIDTH")
    if raw is None:
        return None
    if not raw.isdigit() or not 20 <= int(raw) <= 10_000:
        raise SpecError(f"CONVCALC_WIDTH={raw!r}: give a width from 20 to 10000")
    return int(raw)


DEFAULT_VIEW = View()


def emit(output: str | list[Any], view: View = DEFAULT_VIEW, target: Any = None,
         what: str = "") -> None:
    """The output on stdout (tables fitted to the terminal), or written whole to the `-o`
    file (no colours, the whole table unless --width) with a line on stderr."""
    from convcalc.render.layout import Settings, plain, render

    if target is not None and not target.is_stdout:
        from convcalc.output import write_text, wrote_line

        if isinstance(output, str):
            text = output
        else:
            width = view.width if view.width is not None else env_width()
            text = plain(render(output, Settings(width=width, units=view.units,
                                                 columns=view.columns)))
        size = write_text(target, text)
        sys.stderr.write(wrote_line(target, size, what))
        return
    if isinstance(output, str):
        sys.stdout.write(output)
        return
    from convcalc.render.table import detect, write

    terminal = detect()
    width = view.width if view.width is not None else env_width() or terminal.width
    settings = Settings(width=width, units=view.units, columns=view.columns,
                        ascii=not terminal.can_show)
    write(render(output, settings), terminal)


def one_line(text: str) -> str:
    """Control characters (newlines, escape sequences) written as escapes: one message is one
    line, and nothing a user typed can move the cursor or colour the terminal."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]",
                  lambda m: repr(m.group())[1:-1], text)


def warn(text: str, label: str = "warning") -> None:
    """One line on stderr: `convcalc: warning: …` (or note)."""
    sys.stderr.write(f"convcalc: {label}: {one_line(text)}\n")


def report_error(error: ConvcalcError) -> None:
    """One line per problem on stderr (at most MAX_ERRORS; the rest are counted)."""
    from convcalc.limits import MAX_ERRORS

    problems = error.problems or (error,)
    for problem in problems[:MAX_ERRORS]:
        sys.stderr.write(f"convcalc: error: {one_line(problem.render())}\n")
    if len(problems) > MAX_ERRORS:
        sys.stderr.write(f"convcalc: error: … and {len(problems) - MAX_ERRORS} more problems\n")

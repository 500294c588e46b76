"""Plain-text formats: JSON (the contract), CSV (raw ints), Markdown (human numbers)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from convcalc.render.columns import Column


def to_json(data: Mapping[str, Any], *, compact: bool = False) -> str:
    """Indented JSON, or one line when `compact` (the C encoder: ~10× faster on huge outputs)."""
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, indent=2, ensure_ascii=False)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict) and "channels" in value:
        return "x".join(str(n) for n in (*value["spatial"], value["channels"]))
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else \
            value.numerator
    return value


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """One header line of column keys, then raw values (shapes and axes joined with x)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([_csv_value(c.raw(row)) for c in columns])
    return buffer.getvalue()


def to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
                title: str | None = None, notes: Sequence[str] = ()) -> str:
    """A GitHub table with human-formatted numbers, right-aligned where numbers are."""
    lines: list[str] = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(c.header for c in columns) + " |")
    lines.append("|" + "|".join("---:" if c.justify == "right" else ":---" for c in columns) + "|")
    for row in rows:
        cells = []
        for c in columns:
            text = c.show(c.raw(row))
            if c.key == "path":
                text = "  " * int(row.get("depth", 0)) + text
            cells.append(text.replace("|", "\\|").replace("\n", "<br>"))
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "×": r"$\times$", "·": r"$\cdot$", "−": "$-$",
          "→": r"$\to$", "≥": r"$\geq$", "≤": r"$\leq$", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$",
          "⌈": r"$\lceil$", "⌉": r"$\rceil$", "α": r"$\alpha$", "²": r"$^2$", "…": r"\dots{}",
          "\n": r"\newline{}"}


def latex_escape(text: str) -> str:
    """Text for LaTeX: its special characters escaped, the documents' symbols in math mode."""
    return "".join(_LATEX.get(ch, ch) for ch in text)


def to_latex(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
             title: str | None = None, notes: Sequence[str] = ()) -> str:
    """A booktabs table (\\toprule, \\midrule, \\bottomrule) for papers, human-formatted numbers
    as in Markdown; the title is the caption and the notes follow as a footnote-size block."""
    align = "".join("r" if c.justify == "right" else "l" for c in columns)
    lines = ["% needs \\usepackage{booktabs}", "\\begin{table}[t]", "\\centering"]
    if title:
        lines.append(f"\\caption{{{latex_escape(title)}}}")
    lines += [f"\\begin{{tabular}}{{{align}}}", "\\toprule",
              " & ".join(latex_escape(c.header) for c in columns) + " \\\\", "\\midrule"]
    for row in rows:
        if row.get("path") == "total":
            lines.append("\\midrule")
        cells = []
        for c in columns:
            text = c.show(c.raw(row))
            if c.key == "path":
                text = "\u2002" * int(row.get("depth", 0) or 0) + text
            cells.append(latex_escape(text))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if notes:
        lines.append("\\par\\footnotesize " + " \\\\\n".join(latex_escape(n) for n in notes))
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def text_table(fmt: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
               title: str | None = None, notes: Sequence[str] = ()) -> str:
    """Markdown or LaTeX, as `fmt` says."""
    if fmt == "latex":
        return to_latex(rows, columns, title, notes)
    return to_markdown(rows, columns, title, notes)

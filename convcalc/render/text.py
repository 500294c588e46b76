"""Plain-text formats: JSON (the contract), CSV (raw ints), Markdown and LaTeX (human numbers).

Every cell is encoded for its file's grammar: Markdown cells have HTML's specials, pipes and
Markdown's own marks escaped (a layer named `<img src=x onerror=…>` stays text); CSV text cells
that a spreadsheet would read as a formula (a leading =, +, -, @, tab or CR) get a leading `'`
as OWASP recommends, while numbers, fractions and per-axis values stay as they are; LaTeX text
has its specials escaped and every non-ASCII character written as a macro (pdflatex with no
extra package compiles it). Control characters never reach a file raw.

`--columns` and `--units` (a `layout.Settings`) choose and scale the columns of Markdown, LaTeX
and CSV as they do the table's; JSON is the whole contract whatever they say."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from convcalc.render.columns import COLUMNS, Column
from convcalc.render.layout import Settings, escape_controls, scaled


def to_json(data: Mapping[str, Any], *, compact: bool = False) -> str:
    """Indented JSON, or one line when `compact` (the C encoder: ~10× faster on huge outputs);
    every control character escaped (JSON's own rule covers those below U+0020)."""
    if compact:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:  # the common case, without a regex pass
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")
"""Characters JSON may carry raw but a terminal or a JavaScript parser may act on (C1 controls,
line separators): written as \\u escapes, the same JSON value (only strings can hold them)."""


def select_columns(columns: Sequence[Column], settings: Settings | None) -> list[Column]:
    """The columns `--columns` asks for: the first (the row's name) always, then the chosen keys
    in their order, taken from `columns` or else from the registry; all of them without it."""
    if settings is None or settings.columns is None:
        return list(columns)
    by_key = {c.key: c for c in columns}
    first = columns[0]
    chosen = [first]
    for key in settings.columns:
        column = by_key.get(key) or COLUMNS.get(key)
        if column is not None and column.key != first.key and column not in chosen:
            chosen.append(column)
    return chosen


def _units(settings: Settings | None) -> str:
    """The fixed unit asked for (k, M, G, T), or "" (auto and none write every digit in a file:
    auto only shortens numbers to fit a terminal)."""
    unit = settings.units if settings is not None else "auto"
    return "" if unit in ("auto", "none") else unit


def shown_cell(column: Column, row: Mapping[str, Any], unit: str = "") -> str:
    """A cell as people read it: the column's display, or the count in `unit` (4.09 G)."""
    value = column.raw(row)
    if unit and column.unit and isinstance(value, int) and not isinstance(value, bool):
        return scaled(value, unit)
    return column.show(value)


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


_NUMERIC = re.compile(r"-?[0-9]+(?:/[0-9]+)?(?:x-?[0-9]+(?:/[0-9]+)?)*")
"""A number, a fraction or per-axis values as CSV writes them: -3, -1/2, -2x-2."""


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are; text with control characters escaped and, when a
    spreadsheet would take it for a formula (a leading =, +, -, @, tab or CR; OWASP's CSV
    injection advice), a leading `'` (a negative number or per-axis value is not text)."""
    cell = _csv_value(value)
    if not isinstance(cell, str) or not cell:
        return cell
    if cell[0] in "=+-@\t\r" and not _NUMERIC.fullmatch(cell):
        cell = "'" + cell
    return escape_controls(cell, keep="\n")


def _in_unit(value: Any, unit: str) -> Any:
    """An exact count in a unit for CSV: 4089184256 in M → 4089.184256 (a power of ten divides
    exactly in decimal; no float)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    digits = {"k": 3, "M": 6, "G": 9, "T": 12}[unit]
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value), 10**digits)
    fraction = str(rest).rjust(digits, "0").rstrip("0")
    return f"{sign}{whole}" + (f".{fraction}" if fraction else "")


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
           settings: Settings | None = None, batch: int = 1) -> str:
    """One header line of column keys, then raw values (shapes and axes joined with x). With
    --units k/M/G/T the counts are exact decimals in that unit and their keys say it (macs_M);
    a batch other than 1 is a last column `batch`."""
    chosen = select_columns(columns, settings)
    unit = _units(settings)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(f"{c.key}_{unit}" if unit and c.unit else c.key) for c in chosen]
                    + (["batch"] if batch != 1 else []))
    for row in rows:
        cells = [_in_unit(c.raw(row), unit) if unit and c.unit else c.raw(row) for c in chosen]
        writer.writerow([csv_cell(v) for v in cells] + ([batch] if batch != 1 else []))
    return buffer.getvalue()


_MARKDOWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "\\": "\\\\", "`": "\\`",
             "*": "\\*", "~": "\\~", "\n": "<br>"}
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_LINK_END = re.compile(r"\](?=[(\[:])")
"""A `]` that would close a link or image (`](`, `][`, `]:`); a lone `[a]` stays as it is."""


def markdown_text(text: str) -> str:
    """Text for a Markdown table cell, title or list item: HTML's specials as entities, pipes,
    backslashes, backticks, emphasis marks and a link's `](` escaped, a newline as <br>, control
    characters as visible escapes. What a name says is shown, never read as markup."""
    out = "".join(_MARKDOWN.get(ch, ch) for ch in escape_controls(text, keep="\n"))
    return _LINK_END.sub(r"\\]", _LONE_UNDERSCORE.sub(r"\\_", out))


def _block_safe(text: str) -> str:
    """A list item's text that cannot open a heading, quote, list or rule (`# x`, `> x`)."""
    return "\\" + text if text[:1] in "#>-+=" else text


def to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
                title: str | None = None, notes: Sequence[str] = (), *,
                settings: Settings | None = None) -> str:
    """A GitHub table with human-formatted numbers, right-aligned where numbers are."""
    chosen = select_columns(columns, settings)
    unit = _units(settings)
    lines: list[str] = []
    if title:
        lines += [f"**{markdown_text(title)}**", ""]
    lines.append("| " + " | ".join(markdown_text(c.header) for c in chosen) + " |")
    lines.append("|" + "|".join("---:" if c.justify == "right" else ":---" for c in chosen) + "|")
    for row in rows:
        cells = []
        for c in chosen:
            text = markdown_text(shown_cell(c, row, unit))
            if c.key == "path":
                text = "&nbsp;&nbsp;" * int(row.get("depth", 0) or 0) + text
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines += [f"- {_block_safe(markdown_text(n))}" for n in notes]
    return "\n".join(lines) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "|": r"\textbar{}", "[": "{[}", "]": "{]}", '"': "{''}",
          "\n": " ", "\t": " ",
          # math symbols the reports write
          "×": r"$\times$", "·": r"$\cdot$", "−": "$-$", "→": r"$\to$", "←": r"$\leftarrow$",
          "↓": r"$\downarrow$", "≥": r"$\geq$", "≤": r"$\leq$", "≈": r"$\approx$",
          "≠": r"$\neq$", "±": r"$\pm$", "÷": r"$\div$", "∞": r"$\infty$", "√": r"$\surd$",
          "∏": r"$\prod$", "Σ": r"$\Sigma$", "∑": r"$\sum$", "‖": r"$\|$", "⊙": r"$\odot$",
          "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "⌈": r"$\lceil$", "⌉": r"$\rceil$",
          "°": r"$^\circ$", "µ": r"$\mu$", "▲": r"$\bigtriangleup$", "▼": r"$\bigtriangledown$",
          "…": r"\dots{}", "–": "--", "—": "---", "§": r"\S{}", "•": r"\textbullet{}",
          "‘": "`", "’": "'", "“": "``", "”": "''", "¶": r"\P{}", "©": r"\copyright{}",
          # spaces
          "\u00a0": "~", "\u2002": r"\enspace{}", "\u2003": r"\quad{}", "\u2009": r"\,",
          "\u202f": r"\,", "\u200a": r"\,", "\u2007": r"\enspace{}",
          # letters with no accent to strip
          "ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ø": r"\o{}", "Ø": r"\O{}",
          "å": r"\aa{}", "Å": r"\AA{}", "œ": r"\oe{}", "Œ": r"\OE{}", "ł": r"\l{}",
          "Ł": r"\L{}", "ı": r"\i{}"}
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
          "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu",
          "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau",
          "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma",
          "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Φ": "Phi",
          "Ψ": "Psi", "Ω": "Omega", "ς": "varsigma", "ϵ": "epsilon", "ϕ": "phi"}
_LATEX.update({ch: f"$\\{name}$" for ch, name in _GREEK.items()})
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0308": '"',
            "\u0304": "=", "\u0307": ".", "\u030a": "r", "\u0327": "c", "\u030c": "v",
            "\u0306": "u", "\u030b": "H", "\u0328": "k"}


def _latex_char(ch: str) -> str:
    """One non-ASCII (or control) character as LaTeX that pdflatex reads without packages: a
    symbol's macro, an accented letter as its accent macro (é → \\'{e}), a fraction or a
    super/subscript digit in math, anything else as its code point (U+4E2D) in typewriter."""
    decomposition = unicodedata.decomposition(ch).split()
    if decomposition and not decomposition[0].startswith("<"):
        base, *marks = (chr(int(h, 16)) for h in decomposition)
        if base.isascii() and base.isalpha() and all(m in _ACCENTS for m in marks):
            out = base if base not in "ij" or not marks else "\\" + base
            for mark in marks:
                out = f"\\{_ACCENTS[mark]}{{{out}}}"
            return out
    if decomposition and decomposition[0] in ("<fraction>", "<super>", "<sub>"):
        parts = [chr(int(h, 16)) for h in decomposition[1:]]
        text = "".join(parts)
        if decomposition[0] == "<fraction>" and "\u2044" in text:
            top, _, bottom = text.partition("\u2044")
            if (top + bottom).isascii() and (top + bottom).isalnum():
                return f"$\\frac{{{top}}}{{{bottom}}}$"
        elif text.isascii() and text.isalnum():
            return f"$^{{{text}}}$" if decomposition[0] == "<super>" else f"$_{{{text}}}$"
    if decomposition and decomposition[0] in ("<compat>", "<font>", "<noBreak>", "<wide>",
                                              "<narrow>", "<small>"):
        text = "".join(chr(int(h, 16)) for h in decomposition[1:])
        if text.isascii() and text.isprintable():
            return latex_escape(text)
    return f"\\texttt{{U+{ord(ch):04X}}}"


def latex_escape(text: str) -> str:
    """Text for LaTeX: its special characters escaped (a `[` braced, so no line starts an
    optional argument), the documents' symbols as macros, every other non-ASCII or control
    character as a macro or its code point: pdflatex never meets a raw one."""
    out: list[str] = []
    for ch in text:
        mapped = _LATEX.get(ch)
        if mapped is None:
            mapped = ch if " " <= ch <= "~" else _latex_char(ch)
        out.append(mapped)
    return "".join(out)


LATEX_PACKAGES = ("booktabs", "graphicx")
"""What the LaTeX output needs: booktabs' rules and graphicx's \\resizebox (a table wider than
the text is scaled to \\linewidth); every symbol is a macro of LaTeX itself."""


def _latex_cell(text: str, justify: str) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return latex_escape(text)
    align = "r" if justify == "right" else "l"
    return (f"\\begin{{tabular}}[t]{{@{{}}{align}@{{}}}}"
            + r" \\ ".join(latex_escape(line) for line in lines) + r"\end{tabular}")


def to_latex(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
             title: str | None = None, notes: Sequence[str] = (), *,
             settings: Settings | None = None) -> str:
    """A booktabs table (\\toprule, \\midrule, \\bottomrule) for papers, human-formatted numbers
    as in Markdown, scaled down to the line's width when it is wider; the title is the caption
    and the notes follow as footnote-size paragraphs."""
    chosen = select_columns(columns, settings)
    unit = _units(settings)
    align = "".join("r" if c.justify == "right" else "l" for c in chosen)
    lines = ["% needs " + ", ".join(f"\\usepackage{{{p}}}" for p in LATEX_PACKAGES),
             "\\begin{table}[t]", "\\centering"]
    if title:
        lines.append(f"\\caption{{{latex_escape(title)}}}")
    lines += ["\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%",
              f"\\begin{{tabular}}{{{align}}}", "\\toprule",
              " & ".join(latex_escape(c.header) for c in chosen) + " \\\\", "\\midrule"]
    for row in rows:
        if row.get("path") == "total":
            lines.append("\\midrule")
        cells = []
        for c in chosen:
            text = _latex_cell(shown_cell(c, row, unit), c.justify)
            depth = int(row.get("depth", 0) or 0) if c.key == "path" else 0
            cells.append(f"\\hspace*{{{depth}em}}{text}" if depth else text)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}"]
    if notes:
        lines.append("\\par\\smallskip\\footnotesize\\raggedright")
        lines += [latex_escape(n) + "\\par" for n in notes]
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def text_table(fmt: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
               title: str | None = None, notes: Sequence[str] = (), *,
               settings: Settings | None = None) -> str:
    """Markdown or LaTeX, as `fmt` says."""
    if fmt == "latex":
        return to_latex(rows, columns, title, notes, settings=settings)
    return to_markdown(rows, columns, title, notes, settings=settings)

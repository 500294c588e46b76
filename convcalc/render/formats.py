"""The output formats (kept apart so the CLI can name them without importing a renderer)."""

from enum import StrEnum


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"
    mermaid = "mermaid"
    dot = "dot"
    html = "html"


PICTURES = frozenset({Format.mermaid, Format.dot, Format.html})
"""Formats that draw (convcalc/render/pictures.py): graphs of a network, the HTML report."""


ALIASES = {"md": Format.markdown, "tex": Format.latex, "txt": Format.table,
           "text": Format.table}


def parse_format(text: str) -> Format:
    """A format by its name or alias, in any case (`JSON`, `md`). Raises ValueError."""
    key = text.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    try:
        return Format(key)
    except ValueError:
        names = ", ".join(f"{f.value}" + "".join(f" ({a})" for a, t in ALIASES.items()
                                                if t is f and a not in ("txt", "text"))
                          for f in Format)
        raise ValueError(f"{text!r} is not a format; formats: {names}") from None


UNITS = ("auto", "none", "k", "M", "G", "T")
"""`--units`: auto-scaled, none (every digit), or one fixed prefix (layout's scales)."""

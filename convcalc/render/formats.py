"""The output formats (kept apart so the CLI can name them without importing a renderer)."""

from enum import StrEnum


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    mermaid = "mermaid"
    dot = "dot"
    html = "html"


PICTURES = frozenset({Format.mermaid, Format.dot, Format.html})
"""Formats that draw (convcalc/render/pictures.py): graphs of a network, the HTML report."""

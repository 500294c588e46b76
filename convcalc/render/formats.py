"""The output formats (kept apart so the CLI can name them without importing a renderer)."""

from enum import StrEnum


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"

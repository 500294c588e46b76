"""Errors convcalc raises on purpose; each message names where, what and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from convcalc.frozen import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem sits: a file (and line/column), a layer path and name, a field."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    name: str | None = None
    field: str | None = None
    option: str | None = None
    """The command-line option the user typed for `field` (`--out`): named instead of it."""

    def but(self, **changes: Any) -> Location:
        """This location with some parts changed: `where.but(field="name")`."""
        return replace(self, **changes)

    def parts(self) -> dict[str, Any]:
        """Every part by name (what `ConvcalcError.at` takes)."""
        return {k: getattr(self, k) for k in Location.__slots__}

    def prefix(self) -> str:
        """`file:line:col: layers[3].body[1] (conv1): field 'kernel'` — the parts that are known."""
        bits: list[str] = []
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            bits.append(where)
        if self.path:
            bits.append(f"{self.path} ({self.name})" if self.name else self.path)
        elif self.name:
            bits.append(f"layer '{self.name}'")
        if self.option:
            bits.append(f"option {self.option}")
        elif self.field:
            bits.append(f"field '{self.field}'")
        return ": ".join(bits)


class ConvcalcError(ValueError):
    """Base of every error convcalc raises for bad input. Exit code 2 unless a subclass says."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None,
                 problems: tuple[ConvcalcError, ...] = ()) -> None:
        self.message = message
        self.location = location or Location()
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """The one-line form: location prefix, then the message."""
        prefix = self.location.prefix()
        return f"{prefix}: {self.message}" if prefix else self.message

    def at(self, **where: str | int | None) -> ConvcalcError:
        """A copy of this error with more of its location filled in (known parts are kept)."""
        current = self.location.parts()
        for key, value in where.items():
            if current.get(key) is None and value is not None:
                current[key] = value
        clone = type(self)(self.message, Location(**current), self.problems)
        return clone


class SpecError(ConvcalcError):
    """The spec or the command line is malformed: unknown kind or field, wrong type. Exit 2."""

    exit_code = 2


class ShapeError(ConvcalcError):
    """The spec is well-formed but does not fit the input: sizes, groups, shapes. Exit 1."""

    exit_code = 1


CLI_WORDS = {"a list with one per spatial axis": "one per axis like 3,5"}
"""The spec's words for a value and the command line's (what a user types after an option)."""


def for_options(error: ConvcalcError, options: Mapping[str, str]) -> ConvcalcError:
    """`error` as the user of a command reads it: a field given as an option (`options`: field →
    option, e.g. out → --out, bias → --no-bias) is named by that option, and values are
    described as the option takes them. Problems from a file or a network path keep their
    field: the field is what the user wrote there."""
    def one(problem: ConvcalcError) -> ConvcalcError:
        where = problem.location
        if (where.file is not None or where.path is not None or where.field is None
                or where.field not in options):
            return problem
        message = problem.message
        for spec_words, cli_words in CLI_WORDS.items():
            message = message.replace(spec_words, cli_words)
        # a per-axis value as the option takes it: [1, 2, 3] → 1,2,3
        message = re.sub(r"\[(-?\d+(?:, -?\d+)*)\]", lambda m: m.group(1).replace(", ", ","),
                         message)
        return type(problem)(message, where.but(option=options[where.field]), problem.problems)

    problems = tuple(one(p) for p in error.problems)
    first = one(error)
    return type(first)(first.message, first.location, problems)

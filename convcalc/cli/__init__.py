"""The command line: parse → request → library call → render; the only package that imports
typer. `requests` declares each command's options (a frozen model per command), `rules` the
rules between them (one table), `commands` the commands, `values` and `emit` what they
share."""

from convcalc.cli.commands import (
    app,
    compare,
    diff,
    examples,
    export,
    import_,
    kinds,
    layer,
    main,
    net,
    option_names,
    schema,
    solve,
)
from convcalc.cli.values import parse_sets

__all__ = ["app", "compare", "diff", "examples", "export", "import_", "kinds", "layer", "main",
           "net", "option_names", "parse_sets", "schema", "solve"]

"""Network specs from YAML: the public face of the spec language (see `convcalc.netspec`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc.errors import Location, SpecError
from convcalc.netspec.compiler import compile_network
from convcalc.netspec.nodes import Network

__all__ = ["Network", "load_network", "parse_network"]


def parse_network(data: Any, file: str | None = None) -> Network:
    """The compiled spec from the YAML's content (a mapping). Raises SpecError."""
    return compile_network(data, file)


def load_network(source: str | Path | Mapping[str, Any]) -> Network:
    """A network from a YAML file path (`-` reads standard input) or the YAML's content."""
    if isinstance(source, Mapping):
        from convcalc.yamlio import check_data

        check_data(source)  # a mapping built in Python: YAML's nesting limits, by iteration
        return parse_network(dict(source))
    if not isinstance(source, str | Path):
        raise SpecError(f"a network is a YAML file path, the YAML's content as a mapping, or a "
                        f"parsed Network, got {type(source).__name__}", Location())
    from convcalc.yamlio import load_yaml_file

    path = Path(source)
    if isinstance(source, str) and source != "-" and not path.exists():
        from convcalc.bundled import example_path

        bundled = example_path(source)
        if bundled is not None:
            return parse_network(load_yaml_file(bundled), source)
    return parse_network(load_yaml_file(source), str(source))

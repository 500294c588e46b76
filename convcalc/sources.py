"""One way in: what the user named becomes a `Network`.

A source is a parsed Network (returned as is), the YAML's content as a mapping, or a name:
`-` (standard input), a YAML file, a bundled example (`resnet50`, see convcalc.bundled), an
ONNX file (`model.onnx`, through convcalc.bridges.onnx_import) or a PyTorch factory
(`package.module:factory` or `file.py:factory`, traced with torch.fx through
convcalc.bridges.torch_import; it needs the input shape). An import's notes and warnings
become the Network's warnings. The engine then analyses the Network; it never looks at names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc.errors import SpecError
from convcalc.netspec.nodes import Network
from convcalc.shapes import Shape, coerce_shape, parse_input

FACTORY = re.compile(r"(?:[A-Za-z_][\w.]*|.+\.py):[A-Za-z_][\w.]*")
"""`package.module:factory` or `path/to/file.py:factory` (a name that is not a file)."""


def kind_of(source: str | Path) -> str:
    """What a name is: "onnx", "torch" or "yaml" (a file, `-` or a bundled example)."""
    text = str(source)
    if text.lower().endswith(".onnx"):
        return "onnx"
    if isinstance(source, str) and FACTORY.fullmatch(text) and not Path(text).exists():
        return "torch"
    return "yaml"


def load_network(source: str | Path | Mapping[str, Any] | Network,
                 input: str | Shape | Mapping[str, Any] | None = None, *,
                 channels_first: bool | None = None,
                 params: Mapping[str, Any] | None = None) -> Network:
    """The Network a source names. `input` is the shape an import traces the model on (needed
    for a torch factory and an ONNX file with dynamic dims); a spec's own input is resolved
    later, by the engine. Raises ConvcalcError."""
    from convcalc import network

    found = imported(source, input, channels_first=channels_first, params=params)
    return found if isinstance(found, Network) else network.load_network(found)


def imported(source: str | Path | Mapping[str, Any] | Network,
             input: str | Shape | Mapping[str, Any] | None = None, *,
             channels_first: bool | None = None,
             params: Mapping[str, Any] | None = None,
             strict: bool = False) -> str | Path | Mapping[str, Any] | Network:
    """An ONNX file or a torch factory imported into a Network; every other source as given
    (a spec the engine parses itself through convcalc.network: a YAML path, `-`, a bundled
    name, a mapping, a Network)."""
    if not isinstance(source, str | Path):
        return source
    kind = kind_of(source)
    if kind == "yaml":
        return source
    if kind == "onnx":
        from convcalc.bridges.onnx_import import onnx_network, spatial_rank

        # the model's input is fixed by its weights: `--set input=…` is read as --input is;
        # four numbers channels first are read by the rank of the model's own input
        wanted = (params or {}).get("input") if input is None else input
        shape = None
        if isinstance(wanted, str):
            rank = spatial_rank(str(source)) if channels_first else None
            shape = parse_input(wanted, channels_first=bool(channels_first), rank=rank)[0]
        elif wanted is not None:
            shape = coerce_shape(wanted)
        return onnx_network(str(source), shape, strict=strict)  # type: ignore[no-any-return]
    given = None if input is None else coerce_shape(input, channels_first=bool(channels_first))
    if given is None:
        raise SpecError(f"{source}: a PyTorch factory needs the input shape to trace it: "
                        "--input SHAPE (H×W×C, e.g. 224x224x3)")
    return torch_network(str(source), given, strict=strict)


def torch_network(target: str, input: Shape, *, strict: bool = False) -> Network:
    """A PyTorch factory's module as a compiled network, traced on `input`."""
    from dataclasses import replace

    from convcalc.bridges.graph import escaped
    from convcalc.bridges.torch_import import import_torch
    from convcalc.network import parse_network

    imported = import_torch(target, input, strict=strict)
    net = parse_network(imported.spec, target)
    return replace(net, warnings=(*map(escaped, (*imported.notes, *imported.warnings)),
                                 *net.warnings))  # a report warning is one line

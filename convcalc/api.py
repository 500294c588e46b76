"""The public API's network entry: what the user names (convcalc.sources) analysed by the
engine, as `convcalc net` does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcalc.shapes import Shape

if TYPE_CHECKING:
    from convcalc.netspec.nodes import Network
    from convcalc.report import NetworkReport


def analyze_network(source: str | Path | Mapping[str, Any] | Network,
                    input: str | Shape | Mapping[str, Any] | None = None, *,
                    params: Mapping[str, Any] | None = None,
                    channels_first: bool | None = None,
                    batch: int | None = None, strict: bool = False) -> NetworkReport:
    """Analyse a network: a YAML path, `-`, a bundled example's name, an ONNX file, a PyTorch
    factory (`package.module:factory`, with `input`), the YAML's content as a mapping, or a
    parsed Network.

    `input` overrides the spec's input shape, `params` its parameters (as `--set` does; the key
    `input` sets the input too); `strict` refuses an imported model's operators convcalc cannot
    count. Returns a NetworkReport whose `.to_dict()` is the JSON of
    `convcalc net`.
    """
    from convcalc.engine import analyze_network as analyze
    from convcalc.sources import imported

    spec = imported(source, input, channels_first=channels_first, params=params,
                    strict=strict)  # ONNX, torch
    return analyze(spec, input, params=params, channels_first=channels_first, batch=batch)

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
    count (and a spec's `uncounted` layers). Returns a NetworkReport whose `.to_dict()` is the JSON of
    `convcalc net`.
    """
    from convcalc.engine import analyze_network as analyze
    from convcalc.sources import imported

    spec = imported(source, input, channels_first=channels_first, params=params,
                    strict=strict)  # ONNX, torch
    report = analyze(spec, input, params=params, channels_first=channels_first, batch=batch)
    uncounted = [row.path for row in report.rows if row.report.kind == "uncounted"]
    if strict and uncounted:  # a spec an import wrote without --strict holds them too
        from convcalc.bridges.ops import UnsupportedError

        raise UnsupportedError(
            f"--strict: {len(uncounted)} uncounted layer{'s' if len(uncounted) != 1 else ''} "
            f"(0 params, 0 MACs; the totals exclude {'them' if len(uncounted) != 1 else 'it'}): "
            f"{', '.join(uncounted[:8])}{', …' if len(uncounted) > 8 else ''}")
    return report

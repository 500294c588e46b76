"""What convcalc offers, as data: every layer kind (`convcalc kinds`) and every bundled example
with its totals (`convcalc examples`). The views in convcalc.render.catalog_view format them."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticUndefined

from convcalc.layers import KIND_ALIASES, KINDS


def kind_catalog() -> list[dict[str, Any]]:
    """One entry per kind: kind, aliases, meaning, fields (name → default or "required")."""
    entries: list[dict[str, Any]] = []
    for kind, model in sorted(KINDS.items()):
        fields: dict[str, Any] = {}
        for fname, info in model.model_fields.items():
            if fname in ("kind", "name", "op"):
                continue
            if info.default is PydanticUndefined and info.default_factory is None:
                fields[fname] = "required"
            elif info.default_factory is not None:
                fields[fname] = str(info.default_factory())  # type: ignore[call-arg]
            else:
                fields[fname] = info.default
        doc = (model.__doc__ or "").strip().splitlines()[0]
        aliases = sorted(a for a, k in KIND_ALIASES.items() if k == kind)
        entries.append({"kind": kind, "aliases": aliases, "meaning": doc, "fields": fields})
    return entries


def example_catalog() -> list[dict[str, Any]]:
    """Every bundled example: name, file, description, input, parameters, totals."""
    from convcalc.bundled import EXAMPLES, description, names
    from convcalc.engine import analyze_network
    from convcalc.network import load_network

    out = []
    for name in names():
        path = EXAMPLES / f"{name}.yaml"
        net = load_network(path)
        report = analyze_network(net)
        totals = report.totals()
        out.append({"name": name, "file": str(path), "description": description(path),
                    "input": report.input.to_dict(), "output": report.output.to_dict(),
                    "params": dict(net.params) and {k: _plain(v) for k, v in net.params.items()},
                    "layers": totals["layers"], "total_params": totals["params"],
                    "macs": totals["macs"]})
    return out


def _plain(value: Any) -> Any:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return value

"""The example networks installed with the package, usable by name (`convcalc net resnet50`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "examples"


def example_path(name: str) -> Path | None:
    """The bundled example called `name` (with or without `.yaml`), or None."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    path = EXAMPLES / f"{stem}.yaml"
    return path if path.is_file() else None


def names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


def description(path: Path) -> str:
    """The example's leading comment, as one line."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("# ").strip())
    text = " ".join(w for w in words if w)
    first = text.split(": ", 1)[0]
    return first if len(first) <= 90 else first[:87] + "..."


def catalog() -> list[dict[str, Any]]:
    """Every bundled example: name, file, description, input, parameters, totals."""
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

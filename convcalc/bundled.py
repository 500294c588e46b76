"""The example networks installed with the package, usable by name (`convcalc net resnet50`).

Part of the spec language: files and their names only, nothing analysed here (the catalog
with totals is convcalc.catalog's `example_catalog`)."""

from __future__ import annotations

from pathlib import Path

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

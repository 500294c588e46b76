"""Re-render every ```console block of README.md from the command on its first line.

    python scripts/update_readme.py          # rewrite the blocks in place
    python scripts/update_readme.py --check  # exit 1 if any block is stale (tests use this logic)

A block is ```console, then `$ convcalc ...`, then the output (rendered 100 columns wide).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n\$ (convcalc [^\n]*)\n(.*?)```", re.DOTALL)


def render(command: str) -> str:
    """The command's stdout (and stderr, for documented errors) as a 100-column terminal shows
    it (CONVCALC_WIDTH), without colour."""
    import os

    from typer.testing import CliRunner

    from convcalc.cli import app

    args = shlex.split(command)[1:]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, args, env={"CONVCALC_WIDTH": "100", "NO_COLOR": "1"})
    finally:
        os.chdir(cwd)
    text = result.stdout + result.stderr
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def updated(text: str) -> str:
    return BLOCK.sub(lambda m: f"```console\n$ {m.group(1)}\n{render(m.group(1))}```", text)


def main() -> None:
    text = README.read_text()
    new = updated(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else 1)
    README.write_text(new)
    print(f"rendered {len(blocks(new))} blocks")


if __name__ == "__main__":
    main()

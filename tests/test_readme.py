"""Every documented example runs: the README's console blocks are current, its Python runs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import update_readme  # noqa: E402

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize(("command", "shown"), update_readme.blocks(README),
                         ids=[c for c, _ in update_readme.blocks(README)])
def test_console_block_is_current(command: str, shown: str) -> None:
    assert update_readme.render(command) == shown, (
        "README is stale: run python scripts/update_readme.py")


def test_python_api_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(code.group(1), namespace)
    r = namespace["r"]
    assert (r.output.spatial, r.params, r.macs) == ((11, 10), 64, 1600)  # type: ignore[attr-defined]
    assert namespace["net"].totals()["macs"] == 4_089_184_256  # type: ignore[attr-defined]


def test_setup_commands_use_the_test_command() -> None:
    assert "bash scripts/check" in README
    assert "bash scripts/check" in (ROOT / ".ci" / "run").read_text()

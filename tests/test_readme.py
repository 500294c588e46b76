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
    assert namespace["small"].totals()["params"] == 2_636_424  # type: ignore[attr-defined]


def test_setup_commands_use_the_test_command() -> None:
    assert "bash scripts/check" in README
    assert "bash scripts/check" in (ROOT / ".ci" / "run").read_text()


def test_limits_table_matches_the_code() -> None:
    """Every limit in convcalc/limits.py appears in the README's table with its value."""
    from convcalc import limits

    text = (ROOT / "README.md").read_text()
    table = text.split("## Bad input and limits", 1)[1].split("\n## ", 1)[0]
    shown = {
        "MAX_FILE_BYTES": f"{limits.MAX_FILE_BYTES // 2**20} MiB",
        "MAX_YAML_DEPTH": f"{limits.MAX_YAML_DEPTH} levels",
        "MAX_EXPANDED_NODES": f"{limits.MAX_EXPANDED_NODES:,} nodes",
        "MAX_INT_DIGITS": f"{limits.MAX_INT_DIGITS} (≤ 2^63 − 1)",
        "MAX_VALUE_DIGITS": f"| {limits.MAX_VALUE_DIGITS} |",
        "MAX_EXPR_CHARS": f"| {limits.MAX_EXPR_CHARS} |",
        "MAX_EXPR_DEPTH": f"{limits.MAX_EXPR_DEPTH} levels",
        "MAX_DECIMAL_CHARS": f"{limits.MAX_DECIMAL_CHARS} (exponent ≤ 2 digits)",
        "MAX_NAME_CHARS": f"| {limits.MAX_NAME_CHARS} |",
        "MAX_LAYERS": f"{limits.MAX_LAYERS:,}",
        "MAX_NESTING": f"{limits.MAX_NESTING} levels",
        "MAX_PERIOD": f"{limits.MAX_PERIOD:,}",
        "MAX_RF_WORK": f"{limits.MAX_RF_WORK:,}",
        "MAX_ERRORS": f"| {limits.MAX_ERRORS} |",
    }
    names = [n for n in dir(limits) if n.startswith("MAX_") and n != "MAX_INT"]
    assert sorted(names) == sorted(shown), "a limit is missing from this test"
    for name, value in shown.items():
        assert value in table, (name, value)
    assert limits.MAX_INT == 2**63 - 1


def test_yaml_examples_run() -> None:
    """Every ```yaml block of the README that is a network (or a part of one) is analysed."""
    import yaml

    import convcalc

    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    assert len(blocks) >= 2
    for text in blocks:
        data = yaml.safe_load(text)
        if "layers" not in data:
            continue
        data.setdefault("input", "56x56x32")
        report = convcalc.analyze_network(data)
        assert report.rows and report.totals()["macs"] > 0

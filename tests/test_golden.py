"""Golden files: every example × format, and the documented commands, rendered at a fixed width
without colour. Regenerate with `pytest tests/test_golden.py --update-golden` and review the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
FORMATS = ["table", "json", "csv", "markdown"]
runner = CliRunner()

COMMANDS = {
    "layer-conv-seed": ["layer", "conv", "--input", "12x12x3", "--kernel", "5", "--out", "256",
                        "--no-bias", "--explain"],
    "layer-dwsep-seed": ["layer", "dwsep", "--input", "12x12x3", "--kernel", "5", "--out", "256",
                         "--no-bias", "--explain"],
    "layer-transposed": ["layer", "transposed", "--input", "5x5x4", "--out", "8", "--kernel",
                         "2", "--stride", "2", "--output-padding", "1,0", "--groups", "2",
                         "--no-bias"],
    "layer-octave": ["layer", "octave", "--input", "14x14x512", "--out", "512", "--kernel", "3",
                     "--padding", "1", "--no-bias", "--explain"],
    "compare-seed": ["compare", "--input", "12x12x3", "--kernel", "5", "--out", "256",
                     "--no-bias"],
    "compare-table3-parts": ["compare", "--input", "14x14x512", "--kernel", "3", "--out", "512",
                             "--padding", "1", "--no-bias", "--parts"],
    "compare-sweep-alpha": ["compare", "--input", "14x14x512", "--kernel", "3", "--out", "512",
                            "--padding", "1", "--no-bias", "--variants", "conv,octave",
                            "--sweep", "alpha=0,0.125,0.25,0.5,0.75"],
    "net-resnet50-depth1": ["net", "examples/resnet50.yaml", "--depth", "1"],
    "net-resnet50-top5": ["net", "examples/resnet50.yaml", "--top", "5"],
    "kinds": ["kinds"],
}

CASES = [(f"net-{p.stem}.{fmt}", ["net", f"examples/{p.stem}.yaml", "--format", fmt])
         for p in EXAMPLES for fmt in FORMATS]
CASES += [(f"{name}.{fmt}", [*args, "--format", fmt])
          for name, args in COMMANDS.items() for fmt in FORMATS]
# tables fitted to a terminal's width: nothing dropped or cut, whatever moved is noted
WIDTHS = {
    "layer-dwsep-seed": COMMANDS["layer-dwsep-seed"],
    "compare-seed": COMMANDS["compare-seed"],
    "compare-sweep-alpha": COMMANDS["compare-sweep-alpha"],
    "net-resnet50-depth1": COMMANDS["net-resnet50-depth1"],
    "net-mobilenet_v2-top5": ["net", "examples/mobilenet_v2.yaml", "--top", "5"],
    "net-squeezenet1_1-depth1": ["net", "examples/squeezenet1_1.yaml", "--depth", "1"],
    "kinds": ["kinds"],
}
CASES += [(f"{name}.w{w}", [*args, "--width", str(w)]) for name, args in WIDTHS.items()
          for w in (40, 80, 120, 200) if name != "kinds" or w in (40, 80)]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, args: list[str], request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, args, env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    path = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(result.stdout)
    assert path.exists(), f"missing golden file {path}; run with --update-golden"
    assert result.stdout == path.read_text()

"""Print the table of docs/conventions.md: for each torchvision model of
tests/fixtures/peers/imported.json, what `convcalc net IMPORTED.yaml --conventions` predicts
beside what each tool printed on the real model (ptflops, fvcore, thop, torchinfo).

    python scripts/peers/imported_table.py          # Markdown on standard output

No torch needed: the predictions come from the committed imports
(tests/fixtures/peers/imported/NAME.yaml), the printed numbers from the fixture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "tests" / "fixtures" / "peers"
sys.path.insert(0, str(ROOT))

from convcalc import conventions as C  # noqa: E402
from convcalc.engine import analyze_network  # noqa: E402
from convcalc.yamlio import load_yaml_text  # noqa: E402

TOOLS = ("ptflops", "fvcore", "thop", "torchinfo")


def main() -> None:
    models = json.loads((PEERS / "imported.json").read_text())["models"]
    print("| model | " + " | ".join(f"{t} (printed = predicted)" for t in TOOLS) + " |")
    print("|---|" + "---|" * len(TOOLS))
    equal = 0
    for name, record in models.items():
        spec = (PEERS / "imported" / f"{name}.yaml").read_text(encoding="utf-8")
        analysis = C.analyse(analyze_network(load_yaml_text(spec)))
        cells = []
        for tool in TOOLS:
            printed, predicted = record["tools"][tool]["value"], analysis.count(tool).value
            equal += printed == predicted
            cells.append(f"{printed:,}" if printed == predicted else
                         f"{printed:,} ≠ {predicted:,}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\n{equal} of {len(models) * len(TOOLS)} equal.")


if __name__ == "__main__":
    main()

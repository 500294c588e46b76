"""Write tests/fixtures/torch_layers.json: random layers measured by PyTorch.

    pip install torch==2.13.0 && python scripts/make_fixtures.py

The tests compare convcalc to these records when torch is absent, and to torch itself when present.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from torch_ref import measure, random_case  # noqa: E402

COUNT = 1500
SEED = 20261122


def main() -> None:
    import torch

    rng = random.Random(SEED)
    cases = []
    for _ in range(COUNT):
        spec, inp = random_case(rng)
        cases.append({"spec": spec, "input": inp, "torch": measure(spec, inp)})
    out = ROOT / "tests" / "fixtures" / "torch_layers.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"torch": torch.__version__, "seed": SEED, "count": COUNT}
    out.write_text(json.dumps({"meta": meta, "cases": cases}, indent=None, separators=(",", ":"))
                   + "\n")
    refused = sum("error" in c["torch"] for c in cases)
    print(f"wrote {out} ({COUNT} cases, {refused} refused by torch)")


if __name__ == "__main__":
    main()

"""Write tests/fixtures/liveness.json: peak activation memory of every example, measured on the
torch graph (tests/liveness_ref.py: the exported module traced with torch.fx, run node by node,
tensors' storages kept alive to their last reader).

    pip install torch==2.13.0 numpy
    python scripts/make_liveness_fixture.py [EXAMPLE...]   # only these, merged into the file

The tests compare convcalc's liveness (convcalc/graph.py) with this file, and with the same
measurement live when torch is installed.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from liveness_ref import fx_liveness  # noqa: E402

import convcalc  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "liveness.json"


def main() -> None:
    import torch

    only = set(sys.argv[1:])  # example names: measure only these, merged into the file
    networks = json.loads(OUT.read_text())["networks"] if only else {}
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        if only and path.stem not in only:
            continue
        report = convcalc.analyze_network(str(path))
        networks[path.stem] = fx_liveness(report)
        print(f"{path.stem}: peak {networks[path.stem]['peak']:,} elements", file=sys.stderr)
    networks = dict(sorted(networks.items()))
    data = {"made_by": "scripts/make_liveness_fixture.py", "torch": torch.__version__,
            "date": datetime.date.today().isoformat(), "networks": networks}
    OUT.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()

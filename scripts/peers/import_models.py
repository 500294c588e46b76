"""Write tests/fixtures/peers/imported/NAME.yaml: what `convcalc import --torch
torchvision.models:NAME --input HxWx3` writes for each of models.IMPORTED (the specs whose
`--conventions` tests/test_op_forms.py checks against the tools' output on the real models,
tests/fixtures/peers/imported.json, written by run_peers.py models.py:imported).

    python scripts/peers/import_models.py [NAME ...]

Needs torch and torchvision (its compiled ops stood in for, as models.torchvision() does).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "tests" / "fixtures" / "peers" / "imported"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import models  # noqa: E402

from convcalc.bridges.torch_import import import_torch  # noqa: E402
from convcalc.shapes import parse_shape  # noqa: E402


def main() -> None:
    wanted = set(sys.argv[1:])
    models.torchvision()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in models.IMPORTED:
        if wanted and name not in wanted:
            continue
        size = 299 if name == "inception_v3" else 224
        result = import_torch(f"torchvision.models:{name}", parse_shape(f"{size}x{size}x3"))
        (OUT / f"{name}.yaml").write_text(result.yaml, encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}/{name}.yaml", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Write tests/fixtures/peers/torchinfo_sizes.json: torchinfo 1.8.0's size lines (input,
forward/backward pass, params, estimated total) for every example as `convcalc export` builds
it, in fp32 at batch 1 and in bf16 at batch 3, exactly as torchinfo computes them.

    pip install torch==2.13.0 torchinfo==1.8.0
    python scripts/make_torchinfo_sizes.py [EXAMPLE...]   # only these, merged into the file

tests/test_hardware.py compares `convcalc net NAME --dtype D --batch N`'s `"torchinfo"` with
this file, and with torchinfo itself when it is installed.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tests" / "fixtures" / "peers" / "torchinfo_sizes.json"
CASES = [("fp32", 1), ("bf16", 3)]


def measure(name: str, dtype: str, batch: int) -> dict[str, Any]:
    """torchinfo's own numbers for the example's export in `dtype` at `batch`."""
    import torch
    from import_ref import example_model
    from torchinfo import summary

    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    model, chw, _ = example_model(name)
    model = model.eval().to(torch_dtype)
    stats = summary(model, input_data=torch.zeros(batch, *chw, dtype=torch_dtype), verbose=0,
                    mode="eval")
    return {"input_bytes": stats.total_input,
            "forward_backward_bytes": stats.total_output_bytes,
            "param_bytes": stats.total_param_bytes,
            "printed": [line for line in str(stats).splitlines() if "(MB)" in line]}


def main() -> None:
    import warnings

    import torch
    import torchinfo

    warnings.filterwarnings("ignore")
    only = set(sys.argv[1:])  # example names: measure only these, merged into the file
    names = sorted(p.stem for p in (ROOT / "convcalc" / "examples").glob("*.yaml")
                   if not only or p.stem in only)
    data = json.loads(OUT.read_text())["networks"] if only else {}
    data |= {name: {f"{dtype}x{batch}": measure(name, dtype, batch) for dtype, batch in CASES}
             for name in names}
    data = dict(sorted(data.items()))
    meta = {"made_by": "scripts/make_torchinfo_sizes.py", "torch": torch.__version__,
            "torchinfo": torchinfo.__version__, "python": sys.version.split()[0],
            "date": datetime.date.today().isoformat()}
    OUT.write_text(json.dumps({"meta": meta, "networks": data}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(data)} networks × {len(CASES)} cases)")


if __name__ == "__main__":
    main()

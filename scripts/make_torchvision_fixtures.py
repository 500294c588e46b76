"""Write tests/fixtures/torchvision_models.json: torchvision's real models measured by PyTorch.

    pip install torch==2.13.0 numpy && pip install --no-deps torchvision==0.28.0 pillow
    python scripts/make_torchvision_fixtures.py

For every entry of tests/torchvision_ref.py's MODELS: params, MACs (FlopCounterMode), output
shape, every leaf-module call with its shapes, params and MACs, and the gradient-support
receptive field of up to 30 convs and pools spread over the network. Takes a few minutes; CI
does not run it (the tests check the committed file, and re-measure two models live when torch
is installed). --check-seed measures every field again with other random weights and input.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from torchvision_ref import (  # noqa: E402
    ATTENTION_MODELS,
    DUST,
    MODELS,
    SEED,
    build,
    gradient_supports,
    has_squeeze_excitation,
    import_torchvision,
    measure,
    measure_attention,
    module_supports,
    rf_layers,
)

OUT = ROOT / "tests" / "fixtures" / "torchvision_models.json"


def model_record(name: str, check_seed: bool) -> dict[str, Any]:
    record = measure(name)
    names = rf_layers(record["layers"])
    supports = gradient_supports(name, names)
    local = gradient_supports(name, names, local=True) if has_squeeze_excitation(name) else {}
    if check_seed:  # the support must not depend on the random weights and input
        shape = MODELS[name][2]
        assert module_supports(build(name), shape, names, seed=SEED + 1) == supports, name
        if local:
            assert module_supports(build(name), shape, names, seed=SEED + 1, local=True) \
                == local, name
    record["rf"] = [{"layer": n, "support": supports[n]} | ({"local": local[n]} if local else {})
                    for n in names]
    return record


def dumps(document: dict[str, Any]) -> str:
    """JSON with one layer or rf entry per line: compact, and a regenerated file diffs by layer."""
    def value(v: Any, indent: str) -> str:
        if isinstance(v, dict) and indent.count(" ") < 6:
            inner = indent + " "
            items = [f"{inner}{json.dumps(k)}: {value(x, inner)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        if isinstance(v, list) and v and isinstance(v[0], dict):
            inner = indent + " "
            return "[\n" + ",\n".join(inner + json.dumps(x) for x in v) + "\n" + indent + "]"
        return json.dumps(v)

    return value(document, "") + "\n"


def main() -> None:
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-seed", action="store_true",
                        help="measure every support again with other random weights and input, "
                             "and stop if any differs (twice the time)")
    parser.add_argument("--attention", action="store_true",
                        help="measure only the attention models (ATTENTION_MODELS, every "
                             "matmul counted) and replace the file's 'attention' entry")
    parser.add_argument("names", nargs="*",
                        help="measure only these models (MODELS, or ATTENTION_MODELS with "
                             "--attention) and merge them into the file")
    args = parser.parse_args()

    tv = import_torchvision()
    if args.attention:
        document = json.loads(OUT.read_text())
        if not args.names:
            document["attention"] = {}
        for name in args.names or ATTENTION_MODELS:
            print(f"{name} ...", file=sys.stderr, flush=True)
            document["attention"][name] = measure_attention(name)
        OUT.write_text(dumps(document))
        for name, record in document["attention"].items():
            print(f"{name:24s} {record['params']:>12,} {record['macs']:>15,}")
        return
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    data = dict(previous.get("data", {})) if args.names else {}
    for name in args.names or MODELS:
        print(f"{name} ...", file=sys.stderr, flush=True)
        data[name] = model_record(name, args.check_seed)
    data = {name: data[name] for name in MODELS if name in data}
    meta = {"torch": torch.__version__, "torchvision": tv.__version__,
            "date": datetime.date.today().isoformat(), "seed": SEED, "dust": DUST,
            "macs": "FlopCounterMode FLOPs // 2, eval(), no_grad, batch 1",
            "support": "[[lo, hi] rows, [lo, hi] columns] of input pixels with non-zero gradient "
                       "of the centre unit (channel 0, (H//2, W//2)) of the layer's output; "
                       "'local' holds squeeze-excitation scales constant"}
    OUT.write_text(dumps({"meta": meta, "data": data}
                         | ({"attention": previous["attention"]} if "attention" in previous
                            else {})))
    print(f"{'model':24s} {'params':>12s} {'MACs':>15s}")
    for name, record in data.items():
        print(f"{name:24s} {record['params']:>12,} {record['macs']:>15,}")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

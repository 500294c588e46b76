"""Write tests/fixtures/torch_layers.json: random layers measured by PyTorch.

    pip install torch==2.13.0 && python scripts/make_fixtures.py
    ... make_fixtures.py --only-networks EXAMPLE...      # torch_networks.json: these, merged
    ... make_fixtures.py --only-layer-fields [EXAMPLE...]  # rf_layers.json (these, merged)

The tests compare convcalc to these records when torch is absent, and to torch itself when present.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from torch_nets import NETS, totals  # noqa: E402
from torch_ref import (  # noqa: E402
    build_network,
    gradient_supports,
    interior_positions,
    measure,
    measure_network,
    random_case,
    row_supports,
    spread_rows,
    stack_cases,
)

import convcalc  # noqa: E402
from convcalc.network import load_network  # noqa: E402

EXAMPLES = ROOT / "examples"
# examples whose receptive field is checked against gradient support, and the input they use
RF_EXAMPLES = {"dcgan_generator": "8x8x100", "unet_small": None, "deeplab_resnet50": None}
RF_STACKS = 80
COUNT = 1500
SEED = 20261122


def _only(paths: list[Path], names: set[str]) -> list[Path]:
    return [p for p in paths if not names or p.stem in names]


def network_fixtures(names: set[str] = frozenset()) -> dict[str, object]:
    """Per example: torch's totals and per-layer output shapes for the net built from the YAML."""
    data: dict[str, object] = {}
    for path in _only(sorted(EXAMPLES.glob("*.yaml")), names):
        net = load_network(path)
        report = convcalc.analyze_network(net)
        model, leaves = build_network(net, report)
        data[path.stem] = measure_network(model, leaves, report.input)
    return data


def example_supports(name: str, inp: str | None) -> dict[str, object]:
    net = load_network(EXAMPLES / f"{name}.yaml")
    report = convcalc.analyze_network(net, inp)
    positions = interior_positions(report, 2) or [[n // 2 for n in report.output.spatial]]
    return {"input": inp, "positions": positions,
            "supports": gradient_supports(net, report, positions, dust=0.0)}


def dust_for(report: convcalc.NetworkReport) -> float:
    """0 (every non-zero gradient counts: deep chains of small weights make legitimately tiny
    ones), unless linear upsampling makes float noise where the exact weight is 0."""
    linear = any(r.spec.kind_name == "upsample" and r.spec.mode != "nearest" for r in report.rows)
    return 1e-12 if linear else 0.0


def layer_fields(names: set[str] = frozenset()) -> dict[str, object]:
    """Per example: gradient supports at the centre of rows spread over the network."""
    data: dict[str, object] = {}
    for path in _only(sorted(EXAMPLES.glob("*.yaml")), names):
        net = load_network(path)
        report = convcalc.analyze_network(net)
        data[path.stem] = row_supports(net, report, spread_rows(report), dust_for(report))
    return data


def main() -> None:
    import torch

    names = {a for a in sys.argv[1:] if not a.startswith("--")}
    if "--only-layer-fields" in sys.argv:
        write("rf_layers.json", merged("rf_layers.json", layer_fields(names), names),
              {"torch": torch.__version__})
        return
    if "--only-networks" in sys.argv:
        meta = json.loads((ROOT / "tests" / "fixtures" / "torch_networks.json").read_text())
        write("torch_networks.json",
              merged("torch_networks.json", network_fixtures(names), names), meta["meta"])
        return
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

    write("torchvision_totals.json", {name: totals(name) for name in NETS}, meta)
    write("torch_networks.json", network_fixtures(), meta)
    supports = {"examples": {n: example_supports(n, i) for n, i in RF_EXAMPLES.items()},
                "stacks": stack_cases(random.Random(SEED + 1), RF_STACKS)}
    write("rf_supports.json", supports, meta)
    write("rf_layers.json", layer_fields(), meta)


def merged(name: str, data: dict[str, object], names: set[str]) -> dict[str, object]:
    """`data` merged into the fixture's own when only some examples were measured."""
    if not names:
        return data
    old = json.loads((ROOT / "tests" / "fixtures" / name).read_text())["data"]
    return dict(sorted({**old, **data}.items()))


def write(name: str, data: object, meta: dict[str, object]) -> None:
    out = ROOT / "tests" / "fixtures" / name
    out.write_text(json.dumps({"meta": meta, "data": data}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

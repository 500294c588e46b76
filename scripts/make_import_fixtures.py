"""Write tests/fixtures/imported/: the specs convcalc imports from real models.

    pip install torch==2.13.0 numpy onnx && pip install --no-deps torchvision==0.28.0 pillow
    python scripts/make_import_fixtures.py            # every model
    python scripts/make_import_fixtures.py resnet50   # some

onnx/<model>.yaml: torchvision's model exported to ONNX (tests/import_ref.py pins how), then
`convcalc import`; torch/<model>.yaml: the same model through `--torch` (torch.fx);
examples/<example>.yaml: convcalc's example → `convcalc export` → ONNX → `convcalc import`;
attention/<model>.yaml: torchvision's attention models through `--torch` (the README's run).
The tests check these against torchvision's numbers and the examples without torch, and that a
fresh import still gives the same text where torch is installed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from import_ref import (
    EXAMPLES,
    TORCHVISION,
    example_model,
    export_onnx,
    fixture_path,
    torchvision_model,
)
from torchvision_ref import import_torchvision

from convcalc.bridges.onnx_import import import_onnx
from convcalc.bridges.torch_import import import_torch
from convcalc.shapes import Shape

ATTENTION = ["vit_b_16"]
ROUND_TRIP_NOT_YET = {"vit_b_16", "swin_t", "maxvit_t", "swin_v2_t"}
"""Attention examples whose export pads by run-time sizes: the ONNX import cannot fold those
Pads yet (tests/test_import_models.py NOT_IMPORTED_YET)."""


def write(kind: str, name: str, text: str) -> None:
    path = fixture_path(kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(path.parents[3])}")


def main() -> None:
    wanted = set(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        for name in TORCHVISION:
            if wanted and name not in wanted:
                continue
            model, shape = torchvision_model(name)
            onnx_file = export_onnx(model, shape, Path(tmp) / f"{name}.onnx")
            write("onnx", name, import_onnx(str(onnx_file)).yaml)
            write("torch", name, import_torch(model, Shape(shape[0], shape[1:])).yaml)
        for name in ATTENTION:
            if wanted and name not in wanted:
                continue
            import_torchvision()  # its stubs: `import torchvision` works on CPU torch
            target = f"torchvision.models:{name}"  # as the README runs it
            write("attention", name, import_torch(target, Shape(3, (224, 224))).yaml)
        for name in EXAMPLES:
            if (wanted and name not in wanted) or name in ROUND_TRIP_NOT_YET:
                continue
            model, shape, _ = example_model(name)
            onnx_file = export_onnx(model, shape, Path(tmp) / f"{name}.onnx")
            write("examples", name, import_onnx(str(onnx_file)).yaml)


if __name__ == "__main__":
    main()

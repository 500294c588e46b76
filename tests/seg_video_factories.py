"""Factories for tests/test_import_seg_video.py and the README, named as
`--torch tests/seg_video_factories.py:NAME`: torchvision's segmentation models with their
auxiliary heads (random weights, no backbone download), and small models whose forward returns
several outputs, nested, or none that is a tensor. Imports torch only when a factory is called."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def fcn_resnet50_aux() -> Any:
    """torchvision's FCN ResNet-50 with its auxiliary classifier: forward returns
    {"out": …, "aux": …}."""
    from torchvision_ref import import_torchvision

    tv = import_torchvision()
    return tv.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None,
                                               aux_loss=True)


def nested_outputs(extras: bool = True) -> Any:
    """A trunk and two heads, returned as (out, {"a": …, "b": [… , 3, None]}): every tensor
    an output, nested; the int and None cost nothing. The trunk ends resized to a size no
    whole scale gives (8×8 → 12×12). `extras=False`: (out, a, b), tensors only (for ONNX)."""
    import torch
    from torch import nn

    class Nested(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.trunk = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.head_a = nn.Conv2d(8, 4, 1)
            self.head_b = nn.Linear(16, 5)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.stem(x))
            y = self.trunk(x)
            b = self.head_b(y.mean((2, 3)))
            out = nn.functional.interpolate(y, size=(12, 12), mode="bilinear")
            if not extras:  # as ONNX can hold them: tensors only
                return out, self.head_a(x), b
            return out, {"a": self.head_a(x), "b": [b, 3, None]}

    return Nested()


def _returning(value: Any) -> Any:
    import torch
    from torch import nn

    class Returns(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: Any) -> Any:
            self.conv(x)
            return value

    del torch
    return Returns()


def returns_int() -> Any:
    return _returning(3)


def returns_none() -> Any:
    return _returning(None)


def returns_text() -> Any:
    return _returning("done")

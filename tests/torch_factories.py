"""Small torch models for tests/test_import_torch.py, named as `--torch torch_factories:NAME`.
Imports torch only when a factory is called."""

from __future__ import annotations

from typing import Any


def tiny() -> Any:
    """A stem, a residual block with a projection, a gate and a classifier, in named modules."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False),
                                      nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + self.down(x))

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
            self.block = Block(16, 32)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x: Any) -> Any:
            x = self.block(self.stem(x))
            x = x * torch.sigmoid(x.mean((2, 3), keepdim=True))
            return self.fc(torch.flatten(self.pool(x), 1))

    return Tiny()


def with_prelu() -> Any:
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.PReLU(), nn.Conv2d(8, 8, 1))


def branchy() -> Any:
    from torch import nn

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x: Any) -> Any:
            y = self.conv(x)
            if y.sum() > 0:  # data-dependent: fx cannot say which way
                return y
            return -y

    return Branchy()


def raises() -> Any:
    raise RuntimeError("no weights here")


def not_a_module() -> Any:
    return [1, 2, 3]


NOT_CALLABLE = 42

"""Torchvision's classification networks written again in plain torch (torchvision itself does not
import beside the CPU torch on this machine). They are independent of convcalc's YAML examples:
the tests compare the examples' totals with these nets' parameter counts and FlopCounterMode MACs.
Layer for layer as torchvision 0.2x defines them.
"""

from __future__ import annotations

from typing import Any


def _nn() -> Any:
    import torch

    return torch.nn


def alexnet() -> Any:
    nn = _nn()
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(), nn.Dropout(),
        nn.Linear(256 * 36, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1000))


def vgg16() -> Any:
    nn = _nn()
    layers: list[Any] = []
    cin = 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
            cin = int(v)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(7), nn.Flatten(),
                         nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(),
                         nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000))


def _resnet(block: str, counts: list[int]) -> Any:
    import torch

    nn = torch.nn
    expansion = 4 if block == "bottleneck" else 1

    class Block(nn.Module):  # type: ignore[misc]
        def __init__(self, cin: int, planes: int, stride: int) -> None:
            super().__init__()
            out = planes * expansion
            if block == "bottleneck":
                self.body = nn.Sequential(
                    nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                    nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
                    nn.ReLU(), nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out))
            else:
                self.body = nn.Sequential(
                    nn.Conv2d(cin, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
                    nn.ReLU(), nn.Conv2d(planes, planes, 3, 1, 1, bias=False),
                    nn.BatchNorm2d(planes))
            self.down = (nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False),
                                       nn.BatchNorm2d(out))
                         if stride != 1 or cin != out else None)

        def forward(self, x: Any) -> Any:
            return torch.relu(self.body(x) + (self.down(x) if self.down is not None else x))

    layers: list[Any] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, (planes, n) in enumerate(zip([64, 128, 256, 512], counts, strict=True)):
        for j in range(n):
            layers.append(Block(cin, planes, 2 if (i > 0 and j == 0) else 1))
            cin = planes * expansion
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000))


def resnet18() -> Any:
    return _resnet("basic", [2, 2, 2, 2])


def resnet50() -> Any:
    return _resnet("bottleneck", [3, 4, 6, 3])


def mobilenet_v1() -> Any:
    nn = _nn()

    def cbr(cin: int, cout: int, k: int, s: int, g: int = 1) -> list[Any]:
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU()]

    layers = cbr(3, 32, 3, 2)
    cin = 32
    for cout, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5,
                    (1024, 2), (1024, 1)]:
        layers += cbr(cin, cin, 3, s, cin) + cbr(cin, cout, 1, 1)
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))


def mobilenet_v2() -> Any:
    import torch

    nn = torch.nn

    def cbr(cin: int, cout: int, k: int, s: int, g: int = 1) -> list[Any]:
        return [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=g, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU6()]

    class Inverted(nn.Module):  # type: ignore[misc]
        def __init__(self, cin: int, cout: int, s: int, t: int) -> None:
            super().__init__()
            hidden = cin * t
            layers = cbr(cin, hidden, 1, 1) if t != 1 else []
            layers += cbr(hidden, hidden, 3, s, hidden)
            layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)
            self.res = s == 1 and cin == cout

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.res else self.conv(x)

    layers: list[Any] = cbr(3, 32, 3, 2)
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            layers.append(Inverted(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += cbr(cin, 1280, 1, 1)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(1280, 1000))


def shufflenet_v2_x1_0() -> Any:
    import torch

    nn = torch.nn

    def shuffle(x: Any) -> Any:
        b, c, h, w = x.shape
        return x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)

    class Unit(nn.Module):  # type: ignore[misc]
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            half = cout // 2
            self.stride = stride
            if stride > 1:
                self.branch1 = nn.Sequential(
                    nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                    nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())
            b2_in = cin if stride > 1 else half
            self.branch2 = nn.Sequential(
                nn.Conv2d(b2_in, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False),
                nn.BatchNorm2d(half), nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half),
                nn.ReLU())

        def forward(self, x: Any) -> Any:
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return shuffle(out)

    layers: list[Any] = [nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1)]
    cin = 24
    for cout, n in [(116, 4), (232, 8), (464, 4)]:
        for i in range(n):
            layers.append(Unit(cin, cout, 2 if i == 0 else 1))
            cin = cout
    layers += [nn.Conv2d(cin, 1024, 1, bias=False), nn.BatchNorm2d(1024), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))


def squeezenet1_1() -> Any:
    import torch

    nn = torch.nn

    class Fire(nn.Module):  # type: ignore[misc]
        def __init__(self, cin: int, s: int, e: int) -> None:
            super().__init__()
            self.squeeze = nn.Sequential(nn.Conv2d(cin, s, 1), nn.ReLU())
            self.e1 = nn.Sequential(nn.Conv2d(s, e, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(s, e, 3, padding=1), nn.ReLU())

        def forward(self, x: Any) -> Any:
            x = self.squeeze(x)
            return torch.cat([self.e1(x), self.e3(x)], 1)

    return nn.Sequential(
        nn.Conv2d(3, 64, 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(64, 16, 64), Fire(128, 16, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(128, 32, 128), Fire(256, 32, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(256, 48, 192), Fire(384, 48, 192), Fire(384, 64, 256), Fire(512, 64, 256),
        nn.Dropout(0.5), nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten())


NETS = {"alexnet": alexnet, "vgg16": vgg16, "resnet18": resnet18, "resnet50": resnet50,
        "mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2,
        "shufflenet_v2_x1_0": shufflenet_v2_x1_0, "squeezenet1_1": squeezenet1_1}


def totals(name: str) -> dict[str, int]:
    """Parameters and MACs (FlopCounterMode FLOPs / 2) of one net on a 224×224×3 image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = NETS[name]().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224))
    return {"params": sum(p.numel() for p in model.parameters()),
            "macs": counter.get_total_flops() // 2}

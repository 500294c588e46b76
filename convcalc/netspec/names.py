"""Hierarchical layer names (`layer2.0.conv1`), unique within each level, as torchvision's are."""

from __future__ import annotations

from dataclasses import dataclass, field

Path = tuple[str, ...]


@dataclass
class Namespace:
    """Hands out unique names within one level: the label itself, else label_1, label_2, …;
    ordinals 0, 1, 2, … for repeat copies. Next suffixes are remembered per label, so naming n
    layers costs O(n), not O(n²)."""

    prefix: Path
    used: set[str] = field(default_factory=set)
    next_suffix: dict[str, int] = field(default_factory=dict)

    def name(self, label: str) -> Path:
        candidate, n = label, self.next_suffix.get(label, 0)
        if n:
            candidate = f"{label}_{n}"
        while candidate in self.used:
            n += 1
            candidate = f"{label}_{n}"
        self.next_suffix[label] = n + 1
        self.used.add(candidate)
        return (*self.prefix, candidate)

    def number(self) -> Path:
        """The next free ordinal at this level."""
        n = self.next_suffix.get("#", 0)
        while str(n) in self.used:
            n += 1
        self.next_suffix["#"] = n + 1
        return self.name(str(n))

    @staticmethod
    def sub(path: Path) -> Namespace:
        return Namespace(path)


def dotted(path: Path) -> str:
    return ".".join(path)

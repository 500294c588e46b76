"""Generated network specs of a given size, for the scaling benchmark."""

from __future__ import annotations


def sequence_spec(layers: int) -> str:
    """`layers` layers in one plain sequence: 3×3 conv (padding 1) and ReLU, alternating."""
    lines = ["name: generated_sequence", "input: 16x16x8", "layers:"]
    for i in range(layers):
        lines.append("  - conv: {out: 8, kernel: 3, padding: 1}" if i % 2 == 0 else "  - relu")
    return "\n".join(lines) + "\n"


def residual_spec(layers: int) -> str:
    """Residual blocks of 5 layers (conv, bn, relu, conv, bn) until `layers` layers."""
    lines = ["name: generated_residual", "input: 16x16x8", "defaults: {bias: false}", "layers:"]
    for _ in range(layers // 5):
        lines += ["  - residual:", "      body:",
                  "        - conv: {out: 8, kernel: 3, padding: 1}", "        - bn",
                  "        - relu", "        - conv: {out: 8, kernel: 3, padding: 1}",
                  "        - bn"]
    return "\n".join(lines) + "\n"

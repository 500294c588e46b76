"""`convcalc solve batch`: the largest batch whose training step fits a device."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc.errors import SpecError


def solve_batch(spec: str, *, device: str, dtype: str | None, optimizer: str,
                freeze: Sequence[str], checkpoint: Sequence[str], input: str | None,
                channels_first: bool) -> tuple[Any, Any, str]:
    """The largest batch whose training step fits `device`'s memory: (the fit, the device,
    the network's name). The command's rules (convcalc/cli/rules.py) ask for the spec, --train
    and --device."""
    from convcalc.api import analyze_network
    from convcalc.hardware.devices import PRESETS, get_device
    from convcalc.training.fit import largest_batch

    made = get_device(device)
    if made.memory is None:
        raise SpecError(f"--device {made.key}: its memory depends on the configuration; presets "
                        "with a memory: "
                        + ", ".join(k for k, d in PRESETS.items() if d.memory is not None))
    report = analyze_network(spec, input, channels_first=channels_first or None)
    fit = largest_batch(report, made.memory, freeze=freeze, checkpoint=checkpoint,
                        optimizer=optimizer, dtype=dtype or "fp32")
    return fit, made, report.name

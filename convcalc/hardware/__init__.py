"""Hardware presets and the roofline time bound.

`devices` holds the presets as data (peak dense multiply-accumulates per second for each dtype,
memory bandwidth, and where every number comes from); `roofline` is a pure function of
(MACs, bytes moved, peak, bandwidth). Nothing here guesses, fits or measures.
"""

from __future__ import annotations

from convcalc.hardware.devices import (
    DTYPES,
    PRESETS,
    Device,
    Peak,
    custom_device,
    get_device,
    resolve_device,
)
from convcalc.hardware.roofline import (
    DTYPE_BYTES,
    Roofline,
    RooflineTotal,
    dtype_bytes,
    layer_roofline,
    network_roofline,
    roofline,
    traffic_bytes,
)

__all__ = [
    "DTYPES",
    "DTYPE_BYTES",
    "PRESETS",
    "Device",
    "Peak",
    "Roofline",
    "RooflineTotal",
    "custom_device",
    "dtype_bytes",
    "get_device",
    "layer_roofline",
    "network_roofline",
    "resolve_device",
    "roofline",
    "traffic_bytes",
]

"""Where a figure or a summary came from: package versions and the machine."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


def versions() -> dict[str, str]:
    from importlib import metadata
    out = {"python": sys.version.split()[0]}
    for p in ("jax", "jaxlib", "optax", "flax", "numpy", "wandb", "tensorflow-datasets"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[p] = metadata.version(p)
    return out


def machine() -> str:
    """'<cpu model>, <n> cores[, <accelerator>]' for figures that name their machine."""
    import platform
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    out = f"{cpu}, {os.cpu_count()} cores"
    import jax
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        out += f", {len(jax.devices())} x {dev.device_kind}"
    return out

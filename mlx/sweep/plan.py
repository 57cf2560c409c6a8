"""How many lanes a program holds and how a group's lanes are cut into chunks.

The automatic chunk size comes from the device's total memory (never its free memory, which
changes from run to run) and, on CPU, from the cache rule (at most CPU_CACHE_BOUND_LANES lanes
of a cache-bound program); it is recorded in plan.json. :func:`plan_chunks` is a pure function
of the lanes, the chunk size and the device count, so a resumed sweep cuts the same chunks.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import jax

from mlx.config import Config
from mlx.models import count_params


def device_memory_bytes(device=None) -> int:
    """The device's total memory: an accelerator's bytes_limit, else the host's RAM."""
    device = device or jax.devices()[0]
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:
        pass
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def memory_budget_bytes(device=None) -> int:
    """A share of the device's *total* memory for one chunk (deterministic for a machine: the
    plan must not change with what happens to be free at the moment)."""
    device = device or jax.devices()[0]
    share = 0.2 if device.platform == "cpu" else 0.4
    return int(share * device_memory_bytes(device))


def lane_bytes(trainer, cfg: Config, d: int) -> int:
    """Estimated device bytes one lane needs: params, grads, optimizer state, updates
    (about 6 copies of the params for Adam), and the batch and eval activations."""
    n_params = count_params(jax.eval_shape(trainer.model.init, jax.random.key(0)))
    widths = (list(cfg.hidden) if cfg.model == "mlp" else []) + [10]
    act = 4 * (trainer.batch_size * (d + 3 * sum(widths)) + cfg.eval_batch_size * (d + sum(widths)))
    return 4 * 6 * n_params + act


def cpu_l2_bytes() -> int:
    """Total L2 cache of the CPUs this process may use (0 when unknown)."""
    from pathlib import Path
    try:
        cores = len(os.sched_getaffinity(0))
        for d in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if (d / "level").read_text().strip() == "2":
                size = (d / "size").read_text().strip().upper()
                mult = {"K": 1 << 10, "M": 1 << 20}.get(size[-1], 1)
                return int(size.rstrip("KM")) * mult * cores
    except (OSError, ValueError, AttributeError):
        pass
    return 0


CPU_CACHE_BOUND_LANES = 4


def cache_bound(trainer, n_devices: int) -> bool:
    """On one CPU device, does a lane's Adam working set (params, grads, two moments: 16 bytes a
    param) exceed the L2 caches? Such lanes (the MLP) stream their state through memory every
    step, and many of them vmapped together run slower per config than a few."""
    if jax.default_backend() != "cpu" or n_devices != 1:
        return False
    l2 = cpu_l2_bytes()
    n_params = count_params(jax.eval_shape(trainer.model.init, jax.random.key(0)))
    return l2 > 0 and 16 * n_params > l2


def auto_chunk(per_lane: int, budget: int, cap: int = 4096) -> int:
    """Lanes per chunk from the memory budget (at least 1, at most ``cap``)."""
    return int(max(1, min(cap, budget // max(per_lane, 1))))


def choose_chunk(trainer, cfg: Config, td, n_devices: int) -> tuple[int, bool]:
    """(lanes per chunk, capped): the automatic chunk size of a group, a pure function of the
    program and the device's total memory. On one CPU device a cache-bound lane (see
    :func:`cache_bound`) is capped at CPU_CACHE_BOUND_LANES per program: measured by
    ``mlx bench`` on 2 EPYC cores, MLP 784-256 on 4vrest ran 579 ms per config-epoch alone,
    384 ms 4 to a program and 440-649 ms 8 to 64 to a program. Raises UsageError when one lane
    does not fit the device."""
    from mlx.errors import UsageError
    per = lane_bytes(trainer, cfg, td.x_train.shape[1])
    budget = memory_budget_bytes()
    if per > budget:
        raise UsageError(f"one {cfg.model} lane (hidden={list(cfg.hidden)}) needs about "
                         f"{per / 2**30:.1f} GiB, more than the {budget / 2**30:.1f} GiB this device "
                         f"allows a chunk; use smaller hidden sizes or a bigger device")
    chunk = auto_chunk(per, budget)
    if cache_bound(trainer, n_devices) and chunk > CPU_CACHE_BOUND_LANES:
        return CPU_CACHE_BOUND_LANES, True
    return chunk, False


class Chunk(NamedTuple):
    """One compiled batch of a group: ``rows`` (real lane indices per row; a row's lanes share
    a seed) laid out as ``height`` x ``width`` slots. Slots past a row's lanes, and rows past
    ``len(rows)``, are padding."""

    rows: tuple
    height: int
    width: int

    @property
    def lanes(self) -> list[int]:
        """The real lane indices in slot order (the order of every per-lane result)."""
        return [li for row in self.rows for li in row]


def plan_chunks(lanes: list, chunk: int, n_devices: int = 1, *, single: bool = False) -> list[Chunk]:
    """The chunk plan of a group: a pure function of its lanes [(lr, wd, seed), ...], the chunk
    size (lanes per program) and the device count.

    Lanes are gathered into rows by seed (first-seen order); a row holds at most ``width``
    lanes, the largest seed's lanes cut into as few equal rows of at most ``chunk`` as possible; a chunk holds ``height`` rows (a multiple of
    the device count, rows are sharded), the rows cut into as few chunks of about the same
    size as possible. Every chunk of a group has the same shape (one compiled program).
    ``single``: one lane per program.
    """
    by_seed: dict[int, list[int]] = {}
    for li, (_, _, seed) in enumerate(lanes):
        by_seed.setdefault(int(seed), []).append(li)
    chunk = max(1, int(chunk))
    most = max(len(v) for v in by_seed.values())
    width = 1 if single else -(-most // -(-most // chunk))   # the largest seed in equal rows
    rows = [tuple(v[i:i + width]) for v in by_seed.values() for i in range(0, len(v), width)]
    per = 1 if single else max(1, chunk // width)
    per = max(n_devices, per // n_devices * n_devices)
    count = -(-len(rows) // per)
    height = -(-len(rows) // count)
    height = -(-height // n_devices) * n_devices
    return [Chunk(tuple(rows[i:i + height]), height, width) for i in range(0, len(rows), height)]

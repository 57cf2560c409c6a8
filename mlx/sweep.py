"""The vectorised sweep engine: many configs trained as one compiled program.

    configs -> groups (what changes the compiled program: model, hidden, task, optimizer,
               batch size, schedule, max epochs, data) -> lanes (the traced values: lr,
               weight decay, seed) -> chunks (fit device memory, sharded over devices)

Inside a group, ``jit(vmap(run))`` trains a chunk of lanes at once. Under a constant learning
rate, configs that differ only in ``epochs`` share one lane (one trajectory) and read their
metrics at their own epoch; with a schedule that depends on the epoch count they are separate
groups. Each chunk's lanes are sharded along the config axis over all local devices
(``jax.sharding``); the data is replicated. A diverging lane (NaN/inf loss) only marks its own
rows: lanes never mix.

Successive halving (``early_terminate: hyperband``): every lane of a chunk trains to the first
rung, the worst are dropped by compacting the batch (a gather, not a mask), the survivors go
on from their state to the next rung.

This module is pure orchestration over ``mlx.train``; files and W&B live in ``mlx.sweep_run``.
"""
from __future__ import annotations

import math
import os
import time
from typing import Callable, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mlx.config import Config
from mlx.models import count_params
from mlx.train import Hparams, TrainState, diverged, make_train

TRACED = ("lr", "weight_decay", "seed")
NOT_PROGRAM = TRACED + ("out", "name", "wandb", "wandb_project", "wandb_group", "pictures",
                        "checkpoint_every")


class Group(NamedTuple):
    """Configs that share one compiled program.

    cfg: the group's config (epochs = the longest budget it must train).
    lanes: (lr, weight_decay, seed) per lane; members: (config index, lane index, epochs).
    shared: True when several epoch budgets read one trajectory (constant schedule).
    """

    key: tuple
    cfg: Config
    lanes: list
    members: list

    @property
    def shared(self) -> bool:
        return self.cfg.schedule == "constant"


def program_key(cfg: Config) -> tuple:
    d = cfg.to_dict()
    for k in NOT_PROGRAM:
        d.pop(k, None)
    if cfg.schedule == "constant":
        d.pop("epochs")
    return tuple(sorted((k, str(v)) for k, v in d.items()))


def group_configs(configs: list[Config]) -> list[Group]:
    """Group configs by compiled program; dedupe lanes; keep first-seen order."""
    groups: dict[tuple, dict] = {}
    for i, c in enumerate(configs):
        g = groups.setdefault(program_key(c), {"cfg": c, "lanes": {}, "members": [], "epochs": 0})
        lane = (float(c.lr), float(c.weight_decay), int(c.seed))
        li = g["lanes"].setdefault(lane, len(g["lanes"]))
        g["members"].append((i, li, int(c.epochs)))
        g["epochs"] = max(g["epochs"], int(c.epochs))
    return [Group(k, g["cfg"].replace(epochs=g["epochs"]), list(g["lanes"]), g["members"])
            for k, g in groups.items()]


# ------------------------------------------------------------------ memory and chunking

def memory_budget_bytes(device=None) -> int:
    """A conservative share of the device's memory for one chunk's training state."""
    device = device or jax.devices()[0]
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:
        pass
    if stats and stats.get("bytes_limit"):
        return int(0.4 * (stats["bytes_limit"] - stats.get("bytes_in_use", 0)))
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = 4 << 30
    return int(0.25 * avail)


def lane_bytes(trainer, cfg: Config, d: int) -> int:
    """Estimated device bytes one lane needs: params, grads, optimizer state, updates
    (about 6 copies of the params for Adam), and the batch and eval activations."""
    n_params = count_params(jax.eval_shape(trainer.model.init, jax.random.key(0)))
    widths = (list(cfg.hidden) if cfg.model == "mlp" else []) + [10]
    act = 4 * (trainer.batch_size * (d + 3 * sum(widths)) + cfg.eval_batch_size * (d + sum(widths)))
    return 4 * 6 * n_params + act


def auto_chunk(n_lanes: int, per_lane: int, n_devices: int, budget: int, cap: int = 4096) -> int:
    c = max(1, min(n_lanes, cap, budget // max(per_lane, 1)))
    return max(n_devices, c // n_devices * n_devices) if c >= n_devices else n_devices


def balanced_chunk(n_lanes: int, chunk: int, n_devices: int = 1) -> int:
    """The chunk size that cuts n_lanes into as few chunks of at most ``chunk`` as possible,
    all about the same size (a multiple of the device count): 10,000 lanes at most 852 per
    chunk -> 12 chunks of 836, not 11 of 852 and a last one padded from 628."""
    count = -(-n_lanes // max(chunk, 1))
    size = -(-n_lanes // count)
    return -(-size // n_devices) * n_devices


def chunks_of(n_lanes: int, chunk: int) -> list[range]:
    return [range(s, min(s + chunk, n_lanes)) for s in range(0, n_lanes, chunk)]


# ------------------------------------------------------------------ one chunk

class ChunkResult(NamedTuple):
    metrics: dict          # name -> float32[lanes, max_epochs] (NaN after a lane was stopped)
    stopped_at: np.ndarray  # int[lanes]: epochs trained (max_epochs unless hyperband cut it)
    params: object          # pytree with a leading lanes axis (final params of each lane)
    seconds: float          # wall time of the chunk (compile excluded)
    compile_seconds: float
    config_epochs: int      # lane-epochs trained (what hyperband saves shows here)


def _mesh():
    """All devices of all processes (after jax.distributed.initialize) on one config axis."""
    return Mesh(np.array(jax.devices()), ("c",))


def global_array(host: np.ndarray, sharding: NamedSharding):
    """A global jax.Array from a host array that every process holds in full: each process
    fills only the shards of its own devices."""
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def to_host(tree):
    """numpy copies of (possibly multi-process) global arrays."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils
    return jax.tree_util.tree_map(
        lambda a: np.asarray(multihost_utils.process_allgather(a, tiled=True))
        if isinstance(a, jax.Array) and not a.is_fully_addressable else np.asarray(a), tree)


class ChunkRunner:
    """Compiled, sharded, vmapped init/run for one group; reused across its chunks."""

    def __init__(self, cfg: Config, td, *, mesh: Mesh | None = None, order: str = "lane"):
        """order: 'lane' (each lane's data order comes from its seed, as in ``mlx train``) or
        'shared' (one order for the whole chunk, seeds change only the initialisation; one
        permutation and gather per step and wider matmuls, so faster)."""
        if order not in ("lane", "shared"):
            raise ValueError(f"order={order!r}; allowed: lane, shared")
        self.cfg, self.td, self.order = cfg, td, order
        self.trainer = make_train(cfg, td)
        self.mesh = mesh or _mesh()
        self.n_dev = self.mesh.devices.size
        self.lane_sharding = NamedSharding(self.mesh, P("c"))
        rep = NamedSharding(self.mesh, P())
        host = self.trainer.put(td)
        self.data = jax.tree_util.tree_map(lambda a: global_array(np.asarray(a), rep), host)
        tr = self.trainer
        # Seeds (uint32) cross the host boundary, keys are made inside: plain arrays shard the
        # same way in one process or many.
        # With a shared order the epoch counter is the same for every lane: keep it unbatched,
        # or the epoch folded into the order key would make the order per lane again.
        self._st = 0 if order == "lane" else TrainState(0, 0, None)
        self._data_key = None if order == "lane" else global_array(
            np.asarray(jax.random.key_data(jax.random.key(0))), rep)
        self._init = jax.jit(jax.vmap(lambda hp, seed: tr.init(hp, jax.random.key(seed)),
                                      out_axes=self._st))
        self._compiled: dict[tuple, Callable] = {}
        self.compile_seconds = 0.0

    def _run(self, n_epochs: int, state, hp, seeds):
        """The compiled program for ``n_epochs`` more epochs at this lane count (cached), and
        the seconds spent compiling it now (0 when cached)."""
        size = int(hp.lr.shape[0])
        if (n_epochs, size) not in self._compiled:
            t0 = time.perf_counter()
            tr = self.trainer
            if self._data_key is None:
                fn = jax.vmap(lambda s, h, seed, data: tr.run(s, h, jax.random.key(seed), data, n_epochs),
                              in_axes=(0, 0, 0, None))
                args = (state, hp, seeds, self.data)
            else:
                fn = jax.vmap(lambda s, h, seed, data, dk: tr.run(
                    s, h, jax.random.key(seed), data, n_epochs, jax.random.wrap_key_data(dk)),
                    in_axes=(self._st, 0, 0, None, None), out_axes=(self._st, 0))
                args = (state, hp, seeds, self.data, self._data_key)
            self._compiled[(n_epochs, size)] = jax.jit(fn, donate_argnums=(0,)).lower(*args).compile()
            return self._compiled[(n_epochs, size)], time.perf_counter() - t0
        return self._compiled[(n_epochs, size)], 0.0

    def shard(self, tree):
        """Host arrays with a leading lanes axis -> global arrays sharded over the mesh."""
        return jax.tree_util.tree_map(lambda a: global_array(np.asarray(a), self.lane_sharding), tree)

    def train(self, lanes: list, size: int, *, rungs=(), metric="test_accuracy",
              goal="maximize", eta: int = 3) -> ChunkResult:
        """Train ``lanes`` [(lr, wd, seed), ...] padded to ``size`` lanes (a multiple of the
        device count; padding repeats the first lane and is dropped from the results)."""
        E = self.trainer.epochs
        n = len(lanes)
        padded = list(lanes) + [lanes[0]] * (size - n)
        lr, wd, seed = (np.array(v) for v in zip(*padded))
        hp_host = Hparams(lr.astype(np.float32), wd.astype(np.float32))
        seeds_host = seed.astype(np.uint32)
        hp, keys = self.shard(hp_host), self.shard(seeds_host)
        alive = np.arange(size)                      # original lane index of each live lane
        out = {}
        stopped = np.full(size, E)
        bounds = [r for r in sorted(set(rungs)) if 0 < r < E] + [E]
        t_compile = 0.0
        t0 = time.perf_counter()
        state = self._init(hp, keys)
        done, lane_epochs = 0, 0
        for b in bounds:
            seg = b - done
            compiled, tc = self._run(seg, state, hp, keys)
            t_compile += tc
            extra = () if self._data_key is None else (self._data_key,)
            state, m = jax.block_until_ready(compiled(state, hp, keys, self.data, *extra))
            m = to_host(m)
            for k, v in m.items():
                arr = out.setdefault(k, np.full((size, E) + v.shape[2:], np.nan, v.dtype))
                arr[alive, done:b] = v
            lane_epochs += len(alive) * seg
            done = b
            if b < E:  # successive halving: keep the best 1/eta, compact the batch
                score = np.asarray(m[metric][:, -1], np.float64)
                score = np.where(np.isfinite(score), score, -np.inf if goal == "maximize" else np.inf)
                order = np.argsort(-score if goal == "maximize" else score, kind="stable")
                keep = max(1, math.ceil(len(alive) / eta))
                keep = min(len(alive), -(-keep // self.n_dev) * self.n_dev)
                sel = np.sort(order[:keep])
                stopped[alive[np.setdiff1d(np.arange(len(alive)), sel)]] = b
                alive = alive[sel]
                # compaction through the host: works the same across processes
                host = to_host(state)
                state = host._replace(**{f: self.shard(jax.tree_util.tree_map(lambda a: a[sel], getattr(host, f)))
                                         for f in ("params", "opt_state")},
                                      epoch=self.shard(host.epoch[sel]) if self._data_key is None
                                      else global_array(np.asarray(host.epoch), NamedSharding(self.mesh, P())))
                hp_host = jax.tree_util.tree_map(lambda a: a[sel], hp_host)
                seeds_host = seeds_host[sel]
                hp, keys = self.shard(hp_host), self.shard(seeds_host)
        params = to_host(state.params)
        full = jax.tree_util.tree_map(lambda a: np.zeros((size,) + a.shape[1:], a.dtype), params)
        for leaf_full, leaf in zip(jax.tree_util.tree_leaves(full), jax.tree_util.tree_leaves(params)):
            leaf_full[alive] = leaf
        secs = time.perf_counter() - t0 - t_compile
        self.compile_seconds += t_compile
        trim = lambda a: a[:n]  # noqa: E731
        return ChunkResult({k: trim(v) for k, v in out.items()}, stopped[:n],
                           jax.tree_util.tree_map(trim, full), secs, t_compile,
                           lane_epochs)


def lane_rows(group: Group, chunk: range, res: ChunkResult, num_classes: int) -> list[dict]:
    """One result row per config whose lane is in ``chunk``: its metrics at its epoch budget."""
    lane_pos = {li: j for j, li in enumerate(chunk)}
    rows = []
    for ci, li, e in group.members:
        if li not in lane_pos:
            continue
        j = lane_pos[li]
        hist = {k: res.metrics[k][j] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
        stop = int(res.stopped_at[j])
        ran = min(e, stop)
        bad = diverged(hist["train_loss"][:ran], num_classes) or not np.isfinite(hist["test_loss"][ran - 1])
        rows.append({
            "config_index": ci, "lane": li, "budget": e, "epochs_trained": ran,
            "stopped_early": ran < e, "diverged": bad,
            "history": {k: v[:ran].astype(float).tolist() for k, v in hist.items()},
            **{k: float(hist[k][ran - 1]) for k in hist},
            "seconds": res.seconds * ran / max(group.cfg.epochs, 1) / len(chunk),
        })
    return rows


def lane_params(res: ChunkResult, j: int):
    return jax.tree_util.tree_map(lambda a: np.asarray(a[j]), res.params)


"""The vectorised sweep engine: many configs trained as one compiled program.

    configs -> groups (fields whose role is program or data, see mlx.config.ROLES: one compiled
               program and one dataset each) -> lanes (the traced values: lr, weight decay,
               seed) -> a chunk plan (rows of lanes that share a seed, cut into chunks)

A chunk is laid out as [rows, lanes per row]: the lanes of a row share their seed, so they share
that seed's data order (exactly the order ``mlx train seed=S`` uses) and each step does one
permutation slice and one gather per row; the program is ``jit(vmap(run_lanes))``, vmapped over
rows outside and hyperparameters inside, so a logreg lane is one column of one matmul. Every
lane computes what ``mlx train`` of its config computes.

The chunk plan (:mod:`mlx.sweep.plan`) is a pure function of the group's lanes, the chunk size
and the device count, never of free memory or of which configs are already done: a rerun after
a kill trains the remaining lanes in the very programs they would have run in, so the results
are bit-identical. Padding (rows or lanes that copy a real one to fill the shape) is masked out
of every decision and every result.

Under a constant learning rate, configs that differ only in ``epochs`` share one lane (one
trajectory) and read their metrics at their own epoch. Rows are sharded over all devices along
the first axis (``jax.sharding``); the data is replicated. A diverging lane only marks its own
rows: lanes never mix.

Successive halving (``early_terminate: hyperband``): every lane of a chunk trains to the first
band, ``stop_fn`` (W&B's hyperband rule, :mod:`mlx.sweep.hyperband`) picks the lanes to stop among
the real ones, and the survivors are laid out again as rows of shared seeds (a gather, not a
mask) and go on from their state to the next band.

This module is pure orchestration over ``mlx.train``; files and W&B live in ``mlx.sweep.runner``
and the modules it names.
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mlx.config import Config, role_key
from mlx.sweep.plan import Chunk
from mlx.train import METRICS, Hparams, TrainState, diverged, make_train


class Group(NamedTuple):
    """Configs that share one compiled program and one dataset.

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
    """What decides the group: every program and data field (epochs left out under a
    constant schedule, where budgets share a trajectory)."""
    key = role_key(cfg, "program", "data")
    return tuple(kv for kv in key if not (kv[0] == "epochs" and cfg.schedule == "constant"))


def group_configs(configs: list[Config]) -> list[Group]:
    """Group configs by compiled program and data; dedupe lanes; keep first-seen order."""
    groups: dict[tuple, dict] = {}
    for i, c in enumerate(configs):
        g = groups.setdefault(program_key(c), {"cfg": c, "lanes": {}, "members": [], "epochs": 0})
        lane = (float(c.lr), float(c.weight_decay), int(c.seed))
        li = g["lanes"].setdefault(lane, len(g["lanes"]))
        g["members"].append((i, li, int(c.epochs)))
        g["epochs"] = max(g["epochs"], int(c.epochs))
    return [Group(k, g["cfg"].replace(epochs=g["epochs"]), list(g["lanes"]), g["members"])
            for k, g in groups.items()]



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


def layout(rows: list, height: int, width: int):
    """(src int[height, width], real bool[height, width]): the lane (position in the flat list
    of ``rows``' lanes) each slot computes, and whether it is real. Padding slots copy their
    row's first lane; padding rows copy row 0 (the same seed: no extra data order)."""
    src = np.zeros((height, width), np.int64)
    real = np.zeros((height, width), bool)
    pos = 0
    starts = []
    for r, row in enumerate(rows):
        starts.append(pos)
        src[r, :] = pos
        src[r, :len(row)] = pos + np.arange(len(row))
        real[r, :len(row)] = True
        pos += len(row)
    src[len(rows):, :] = src[0, 0]
    return src, real


class ChunkRunner:
    """Compiled, sharded, vmapped init/run for one group; reused across its chunks."""

    def __init__(self, cfg: Config, td, *, mesh: Mesh | None = None, snapshots: bool = False):
        """snapshots: logreg lanes also return their filter after every epoch (metrics["b"]:
        float32[lanes, epochs, d, k]), for the pictures of a config at its own budget."""
        self.cfg, self.td = cfg, td
        self.trainer = make_train(cfg, td, snapshots=snapshots and cfg.model == "logreg")
        self.mesh = mesh or _mesh()
        self.n_dev = self.mesh.devices.size
        self.row_sharding = NamedSharding(self.mesh, P("c"))
        rep = NamedSharding(self.mesh, P())
        host = self.trainer.put(td)
        self.data = jax.tree_util.tree_map(lambda a: global_array(np.asarray(a), rep), host)
        tr = self.trainer
        # Seeds (uint32) cross the host boundary, keys are made inside: plain arrays shard the
        # same way in one process or many.
        self._init = jax.jit(jax.vmap(lambda hp, seed: tr.init_lanes(hp, jax.random.key(seed))))
        self._compiled: dict[tuple, Callable] = {}
        self.compile_seconds = 0.0

    def _init_for(self, hp, seeds):
        """The compiled init at this shape (cached), and the seconds spent compiling it now."""
        shape = ("init",) + tuple(hp.lr.shape)
        if shape in self._compiled:
            return self._compiled[shape], 0.0
        t0 = time.perf_counter()
        self._compiled[shape] = self._init.lower(hp, seeds).compile()
        return self._compiled[shape], time.perf_counter() - t0

    def _run(self, n_epochs: int, state, hp, seeds):
        """The compiled program for ``n_epochs`` more epochs at this shape (cached), and the
        seconds spent compiling it now (0 when cached)."""
        shape = (n_epochs,) + tuple(hp.lr.shape)
        if shape not in self._compiled:
            t0 = time.perf_counter()
            tr = self.trainer
            fn = jax.vmap(lambda s, h, seed, data: tr.run_lanes(s, h, jax.random.key(seed), data, n_epochs),
                          in_axes=(0, 0, 0, None))
            self._compiled[shape] = jax.jit(fn, donate_argnums=(0,)).lower(
                state, hp, seeds, self.data).compile()
            return self._compiled[shape], time.perf_counter() - t0
        return self._compiled[shape], 0.0

    def shard(self, tree):
        """Host arrays with a leading rows axis -> global arrays sharded over the mesh."""
        return jax.tree_util.tree_map(lambda a: global_array(np.asarray(a), self.row_sharding), tree)

    def train(self, chunk: Chunk, lanes: list, *, bands=(), stop_fn: Callable | None = None,
              metric: str = "test_accuracy") -> ChunkResult:
        """Train the chunk's lanes. ``lanes``: the group's (lr, wd, seed) list (the chunk holds
        indices into it). ``bands``: epochs at which ``stop_fn(history float[n, e], band) ->
        bool[n]`` (called with the real, still running lanes only) decides which lanes stop."""
        E = self.trainer.epochs
        vals = np.array([lanes[i] for i in chunk.lanes], np.float64)   # [n, (lr, wd, seed)]
        n = len(vals)
        starts = np.cumsum([0] + [len(r) for r in chunk.rows])
        src, real = layout([range(a, b) for a, b in zip(starts[:-1], starts[1:])], chunk.height, chunk.width)
        hp_host = Hparams(vals[src, 0].astype(np.float32), vals[src, 1].astype(np.float32))
        hp, seeds = self.shard(hp_host), self.shard(vals[src[:, 0], 2].astype(np.uint32))
        out: dict = {}
        stopped = np.full(n, E)
        alive = np.ones(n, bool)
        bounds = [b for b in sorted(set(bands)) if 0 < b < E] + [E]
        t_compile, done, lane_epochs = 0.0, 0, 0
        init, t_init = self._init_for(hp, seeds)
        t_compile = t_init
        t0 = time.perf_counter()
        state = init(hp, seeds)
        for b in bounds:
            seg = b - done
            compiled, tc = self._run(seg, state, hp, seeds)
            t_compile += tc
            state, m = jax.block_until_ready(compiled(state, hp, seeds, self.data))
            for k, v in to_host(m).items():   # v: [height, seg, width, ...]
                arr = out.setdefault(k, np.full((n, E) + v.shape[3:], np.nan, v.dtype))
                arr[src[real], done:b] = np.moveaxis(v, 1, 2)[real]
            lane_epochs += int(alive.sum()) * seg
            done = b
            if b < E and stop_fn is not None:
                live = np.flatnonzero(alive)
                stop = np.asarray(stop_fn(out[metric][live, :b], b), bool)
                stopped[live[stop]] = b
                alive[live[stop]] = False
                if not alive.any():
                    break
                pick, src, real = relayout(src, real, alive, self.n_dev)
                host = to_host(state)
                take = lambda a: np.asarray(a)[pick]  # noqa: E731
                state = self.shard(TrainState(jax.tree_util.tree_map(take, host.params),
                                              jax.tree_util.tree_map(take, host.opt_state),
                                              np.asarray(host.epoch)[pick[0][:, 0]]))
                hp_host = Hparams(*(a[pick] for a in hp_host))
                hp, seeds = self.shard(hp_host), self.shard(vals[src[:, 0], 2].astype(np.uint32))
        params = to_host(state.params)
        full = jax.tree_util.tree_map(lambda a: np.zeros((n,) + a.shape[2:], a.dtype), params)
        for leaf_full, leaf in zip(jax.tree_util.tree_leaves(full), jax.tree_util.tree_leaves(params)):
            leaf_full[src[real]] = np.asarray(leaf)[real]
        secs = time.perf_counter() - t0 - (t_compile - t_init)
        self.compile_seconds += t_compile
        return ChunkResult(out, stopped, full, secs, t_compile, lane_epochs)


def relayout(src: np.ndarray, real: np.ndarray, alive: np.ndarray, n_devices: int):
    """The survivors of a halving cut as rows of shared seeds again, a deterministic function
    of the old layout and the decisions: ((rows int[h, w], cols int[h, w]) to gather the old
    slots with, the new src, the new real mask). Rows keep their order; a row's survivors keep
    theirs; padding copies a survivor of the same row (or row 0)."""
    kept = [[(r, c) for c in range(src.shape[1]) if real[r, c] and alive[src[r, c]]]
            for r in range(src.shape[0])]
    kept = [k for k in kept if k]
    width = max(len(k) for k in kept)
    height = -(-len(kept) // n_devices) * n_devices
    pr, pc = np.zeros((height, width), np.int64), np.zeros((height, width), np.int64)
    new_real = np.zeros((height, width), bool)
    for i in range(height):
        row = kept[i] if i < len(kept) else kept[0][:1]
        for j in range(width):
            pr[i, j], pc[i, j] = row[j] if j < len(row) else row[0]
            new_real[i, j] = i < len(kept) and j < len(row)
    return (pr, pc), src[pr, pc], new_real


def lane_rows(group: Group, chunk: Chunk, res: ChunkResult, num_classes: int) -> list[dict]:
    """One result row per config whose lane is in ``chunk``: its metrics at its epoch budget."""
    lane_pos = {li: j for j, li in enumerate(chunk.lanes)}
    rows = []
    for ci, li, e in group.members:
        if li not in lane_pos:
            continue
        j = lane_pos[li]
        hist = {k: res.metrics[k][j] for k in METRICS}
        stop = int(res.stopped_at[j])
        ran = min(e, stop)
        bad = diverged(hist["train_loss"][:ran], num_classes) or not np.isfinite(hist["test_loss"][ran - 1])
        rows.append({
            "config_index": ci, "lane": li, "budget": e, "epochs_trained": ran,
            "stopped_early": ran < e, "diverged": bad,
            "history": {k: v[:ran].astype(float).tolist() for k, v in hist.items()},
            **{k: float(hist[k][ran - 1]) for k in hist},
            **({"style_recall": res.metrics["style_recall"][j, ran - 1].astype(float).tolist()}
               if "style_recall" in res.metrics else {}),
            "seconds": res.seconds * ran / max(group.cfg.epochs, 1) / len(lane_pos),
        })
    return rows


def lane_params(res: ChunkResult, j: int):
    return jax.tree_util.tree_map(lambda a: np.asarray(a[j]), res.params)

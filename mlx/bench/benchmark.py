"""``mlx bench``: how fast ``mlx sweep``'s engine trains many configs, against baselines measured
in the same process on the same data, and what the edge (files, W&B) costs on top.

    mlx bench                                  # full MNIST from ../shared/data/mnist if present
    mlx bench quick=true out=/tmp/b            # tiny sizes on the 5,000-digit sample (the test)
    mlx bench baselines=step big=0 wandb_configs=200

There is one engine: every "engine" figure is ``mlx sweep``'s own code path (mlx.sweep.engine:
group_configs -> the chunk size exactly as ``mlx sweep`` picks it (chunk= if given, else
mlx.sweep.plan.choose_chunk: from device memory, with the engine's CPU cache rule) -> plan_chunks ->
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
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mlx.bench.e2e import run_e2e
from mlx.bench.engine_runs import Workloads, load_data
from mlx.bench.figure import draw
from mlx.bench.machine import load_average, machine_facts, measure_peak, peak_memory
from mlx.bench.options import Options, help_text, parse_options
from mlx.bench.progress import say
from mlx.bench.reference import run_reference
from mlx.bench.results import check_accuracy, table, targets
from mlx.bench.scaling import run_big, run_scaling
from mlx.bench.task_sweep import run_task
from mlx.errors import UsageError

TORCH_HINT = "pip install 'mlxlab[bench]' (or pip install torch)"


class PhaseClock:
    """Seconds of each phase of the benchmark, into ``phases`` (name -> seconds)."""

    def __init__(self, phases: dict):
        self.phases, self.t = phases, time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self.t, 2)
        self.t = now


def start(opts: Options) -> dict:
    """The result's head: the options, the machine, the load average, the torch skip line."""
    result = {"options": {k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in dataclasses.asdict(opts).items()},
              "load_average": {"before": load_average()}}
    machine = result["machine"] = machine_facts()
    say(f"machine: {machine['cpu']}, {machine['cores']} cores; jax {machine['jax']} (jaxlib "
        f"{machine['jaxlib']}), torch {machine['torch'] or 'not installed'}, wandb {machine['wandb']}; "
        f"devices {machine['devices']}" + (f"; GPU {machine['gpu']}" if machine["gpu"] else "")
        + f"; load average {result['load_average']['before']}")
    result["torch_skipped"] = "torch" in opts.baselines and machine["torch"] is None
    if result["torch_skipped"]:
        say(f"PyTorch baseline skipped: torch is not installed; install it with {TORCH_HINT}")
    return result


def measure_peaks(opts: Options, result: dict) -> float:
    """The f32 matmul peak (and the bf16 one with precision=bfloat16) into result; the f32 FLOP/s."""
    on_gpu = jax.default_backend() != "cpu"
    n = opts.peak_n or (8192 if on_gpu else 2048)
    pk = result["peak"] = measure_peak(n, chain=8 if on_gpu else 4)
    say(f"f32 matmul peak: {pk['flops_per_second'] / 1e9:.1f} GFLOP/s ({n}^3, best of 3)")
    if opts.precision == "bfloat16":
        result["peak_bfloat16"] = measure_peak(n, jnp.bfloat16, chain=8 if on_gpu else 4)
        say(f"bf16 matmul peak: {result['peak_bfloat16']['flops_per_second'] / 1e9:.1f} GFLOP/s "
            "(fractions of peak below stay relative to the f32 peak)")
    return pk["flops_per_second"]


def run_scenarios(opts: Options, result: dict, clock: PhaseClock, out: Path, peak: float) -> None:
    """The data, then every scenario the options ask for, each timed as a phase."""
    ds, desc, data_args = load_data(opts)
    clock.done("data")
    result["data"] = desc
    say(f"data: {desc}")
    result["main_task"] = opts.tasks[0]
    result["sweeps"] = {}
    wl = Workloads(opts, ds)
    for task in opts.tasks:
        result["sweeps"][task] = run_task(opts, wl, task, peak, result["machine"]["torch"] is not None)
        clock.done(f"sweep {task}")
    result["reference"] = run_reference(opts, wl)
    clock.done("reference")
    if opts.e2e_sweep != "none":
        result["e2e"] = run_e2e(opts, wl, out, data_args)
        clock.done("end to end")
    if opts.max_configs >= 1:
        say(f"scaling curve on {opts.tasks[0]} (1 epoch per point) ...")
        result["scaling"] = run_scaling(opts, wl, opts.tasks[0], peak)
        clock.done("scaling")
    if opts.big > 0:
        say(f"big sweep: {opts.big} logreg configs on 0v1 ...")
        result["big"] = run_big(opts, wl)
        clock.done("big")


def conclude(opts: Options, result: dict) -> None:
    """The accuracy check, the targets, memory, the load average after, the busy-machine note."""
    ok, rows = check_accuracy(result)
    result["accuracy"], result["accuracy_agree"] = rows, ok
    result["targets"] = targets(result)
    if opts.quick:
        result["targets_note"] = "quick=true: tiny sizes on the sample; the targets are judged at full size"
    result["memory"] = peak_memory()
    result["load_average"]["after"] = load_average()
    before = result["load_average"]["before"]
    if before and before[0] > 0.5 * result["machine"]["cores"]:
        result["note"] = "the machine was busy when the benchmark started: timings are pessimistic"
        say(f"note: {result['note']}")


def run_benchmark(opts: Options) -> dict:
    """The whole benchmark: writes bench.json and bench.png under ``out``, prints the table, and
    returns the dict written to bench.json (with ``out`` added)."""
    out = Path(opts.out or Path("runs") / time.strftime("bench-%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    result = start(opts)
    clock = PhaseClock(result.setdefault("phase_seconds", {}))
    peak = measure_peaks(opts, result)
    clock.done("peak")
    run_scenarios(opts, result, clock, out, peak)
    conclude(opts, result)
    result["total_seconds"] = round(sum(clock.phases.values()), 1)
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


def select_device(device: str) -> None:
    """device=cpu: JAX on the CPU (before its first computation); device=gpu: a GPU must be there."""
    if device == "cpu":
        try:
            jax.config.update("jax_platforms", "cpu")   # works before the first computation
        except Exception:
            pass
        if jax.default_backend() != "cpu":
            raise UsageError("device=cpu: JAX already runs on another backend in this process; "
                             "set JAX_PLATFORMS=cpu before starting")
    elif device == "gpu" and jax.default_backend() != "gpu":
        raise UsageError("device=gpu but JAX sees no GPU; install jax[cuda12] or use device=cpu")


def usage() -> str:
    """``mlx bench --help``: the usage line, what is measured, the keys."""
    return (f"usage: mlx bench [key=value ...]\n\n{__doc__}\nkeys (default, meaning):\n{help_text()}\n"
            "\nexample: mlx bench quick=true out=/tmp/b\n")


def main(argv: list[str]) -> int:
    """``mlx bench``: 0 when the methods' accuracies agree, 1 when they do not."""
    if any(a in ("-h", "--help") for a in argv):
        print(usage())
        return 0
    opts = parse_options(argv)
    select_device(opts.device)
    result = run_benchmark(opts)
    return 0 if result["accuracy_agree"] else 1

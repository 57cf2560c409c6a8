"""How the engine scales: seconds per config-epoch against configs per program (the scaling
curve, with the chunk mlx sweep picks by itself), and the big logreg sweep on 0v1 through mlx
sweep's automatic chunks."""
from __future__ import annotations

import jax
import numpy as np

from mlx.bench.engine_runs import Workloads, bench_config, engine_run, sweep_chunk_choice
from mlx.bench.machine import flops_per_config_epoch, peak_memory
from mlx.bench.options import Options
from mlx.bench.progress import say
from mlx.sweep.engine import group_configs


def run_scaling(opts: Options, wl: Workloads, task: str, peak: float) -> dict:
    """Seconds per config-epoch against configs per program (1 epoch each point): c configs
    (16 learning rates per seed) as one chunk of mlx sweep's engine (chunk=c), and the chunk
    mlx sweep would pick by itself for that model."""
    limit = opts.scaling_seconds or (120.0 if jax.default_backend() != "cpu" else 20.0)
    out = {"task": task, "epochs": 1, "point_seconds_limit": limit, "models": {}}
    td = wl.task_data(task)
    for model in opts.models:
        g = group_configs([bench_config(opts, model, task, 1)])[0]
        runner = wl.runner(g)
        auto_chunk_, auto_single = sweep_chunk_choice(g, runner, td, 0)
        steps, bs = runner.trainer.steps_per_epoch, runner.trainer.batch_size
        fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden, steps * bs,
                                    len(td.y_test))
        pts = scaling_curve(opts, wl, task, model, (fl["convention"], peak), limit)
        out["models"][model] = {"points": pts, "auto_chunk": auto_chunk_, "auto_single": auto_single,
                                "cpu_rule": cpu_rule(pts, auto_single), "flops_per_config_epoch": fl["convention"]}
    return out


def scaling_curve(opts: Options, wl: Workloads, task: str, model: str, flops_peak: tuple[float, float],
                  limit: float) -> list[dict]:
    """The points 1, 2, 4, ... configs per program up to ``max_configs``, until a point takes more
    than ``limit`` seconds or runs out of memory. ``flops_peak``: (a config-epoch's FLOPs, the
    peak FLOP/s)."""
    flops, peak = flops_peak
    lr_grid = np.logspace(-4, -2, 16)
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
                    "shape": list(r.shape), "fraction_of_peak": flops / spce / peak})
        say(f"  scaling {model:<6} {c:5d} configs: {spce * 1e3:9.3f} ms/config-epoch "
            f"({r.seconds:.2f} s, compile {r.compile_seconds:.1f} s, {r.shape[0]} x {r.shape[1]} lanes)")
        if r.seconds > limit:
            break
        c *= 2
    return pts


def cpu_rule(pts: list[dict], auto_single: bool) -> dict | None:
    """One lane per program against the best batched point of the curve, and whether mlx sweep's
    CPU cache rule applies (None without both points)."""
    good = [p for p in pts if "seconds_per_config_epoch" in p]
    batched = [p for p in good if p["configs"] > 1]
    if not (good and good[0]["configs"] == 1 and batched):
        return None
    best = min(batched, key=lambda p: p["seconds_per_config_epoch"])
    return {"applies": auto_single, "one_lane_ms": good[0]["seconds_per_config_epoch"] * 1e3,
            "best_batched_ms": best["seconds_per_config_epoch"] * 1e3, "best_batched_at": best["configs"],
            "one_lane_faster": good[0]["seconds_per_config_epoch"] < best["seconds_per_config_epoch"]}


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

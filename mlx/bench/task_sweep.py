"""The sweep scenario of one task: models x learning rates x seeds through mlx sweep's engine,
against the baselines measured on a few of its configs and extrapolated per config-epoch; the
rates, fractions of the peak and speed-ups, and the accuracy rows the methods must agree on."""
from __future__ import annotations

import numpy as np

from mlx.bench.baselines import step_baseline, torch_baseline
from mlx.bench.engine_runs import Workloads, engine_run, epoch_orders, grid_configs, lane_init_params
from mlx.bench.machine import flops_per_config_epoch, peak_memory
from mlx.bench.options import TIMING_METHODS, Options
from mlx.bench.progress import say
from mlx.sweep.engine import group_configs


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
    n_cfg = len(opts.lrs) * opts.seeds
    res = {"task": task, "n_train": int(len(td.y_train)), "n_test": int(len(td.y_test)),
           "configs_per_model": n_cfg, "epochs": opts.epochs, "models": {}}
    for model in opts.models:
        res["models"][model] = run_model(opts, wl, task, model, peak, torch_ok)
    res["overall"] = overall(opts, res["models"], n_cfg)
    return res


def run_model(opts: Options, wl: Workloads, task: str, model: str, peak: float, torch_ok: bool) -> dict:
    """One model's sweep: the engine on every config, each baseline on ``base_picks``."""
    td = wl.task_data(task)
    configs = grid_configs(opts, model, task, opts.epochs, opts.lrs, list(range(opts.seeds)))
    tr = wl.runner(group_configs(configs)[0]).trainer
    steps, bs = tr.steps_per_epoch, tr.batch_size
    fl = flops_per_config_epoch(model, td.x_train.shape[1], td.k_out, opts.hidden,
                                steps * bs, len(td.y_test))
    say(f"[{task} {model}] engine (mlx sweep's path): {len(configs)} configs x {opts.epochs} epochs ...")
    er = engine_run(configs, wl)
    methods = {"engine": engine_method(er, len(configs), opts.epochs)}
    picks = base_picks(opts, configs)
    E = opts.base_epochs
    acc_rows = [{"task": task, "model": model, "lr": float(configs[i].lr), "seed": int(configs[i].seed),
                 "epochs": E, "engine": float(er.history["test_accuracy"][i, E - 1])} for i in picks]
    for method in opts.baselines:
        if method == "torch" and not torch_ok:
            continue
        methods[method] = baseline_method(opts, wl, method, [configs[i] for i in picks], acc_rows,
                                          td, (steps, bs), len(configs))
    add_rates(methods, fl, peak, opts.epochs)
    mark_agreement(acc_rows, opts.tol)
    return {"methods": methods, "flops_per_config_epoch": fl["convention"],
            "executed_flops_per_config_epoch": fl["executed"],
            "steps_per_epoch": steps, "accuracy": acc_rows, "memory_after": peak_memory()}


def engine_method(er, n_cfg: int, epochs: int) -> dict:
    """The engine's row of a model's sweep (all its configs, measured)."""
    ce = er.lane_epochs
    say(f"  engine      {er.seconds / ce * 1e3:9.2f} ms/config-epoch  (compile {er.compile_seconds:.1f} s, "
        f"{er.chunks} chunk(s) of {er.shape[0]} x {er.shape[1]} lanes"
        + (", capped by the engine's CPU cache rule" if er.single else "") + ")")
    return {"seconds_per_config_epoch": er.seconds / ce, "seconds": er.seconds,
            "compile_seconds": er.compile_seconds, "configs": n_cfg, "epochs": epochs,
            "extrapolated": False, "chunk": er.chunk, "chunks": er.chunks, "shape": list(er.shape),
            "one_lane_per_program": er.single}


def baseline_method(opts: Options, wl: Workloads, method: str, picked: list, acc_rows: list, td,
                    steps_bs: tuple[int, int], n_cfg: int) -> dict:
    """A baseline's row: the ``picked`` configs one after another for ``base_epochs`` each, from
    the engine lane's params and batches (its final accuracies into ``acc_rows``), extrapolated
    per config-epoch (the median epoch)."""
    secs, comp = [], []
    E = opts.base_epochs
    for row, c in zip(acc_rows, picked):
        lr, wd, seed = float(c.lr), float(c.weight_decay), int(c.seed)
        orders = epoch_orders(seed, len(td.y_train), *steps_bs, E)
        p0 = lane_init_params(wl, c, lr, wd, seed)
        if method == "torch":
            br = torch_baseline(c, td, p0, orders, lr, wd)
        else:
            br = step_baseline(c, td, p0, orders, lr, wd, opts.epochs)
        secs += br.epoch_seconds
        comp.append(br.compile_seconds)
        row[method] = float(br.test_accuracy[-1])
    # the median epoch: robust to a burst of load from other work on the machine
    m = {"seconds_per_config_epoch": float(np.median(secs)),
         "seconds": float(np.sum(secs)), "configs": len(picked), "epochs": E,
         "extrapolated": True, "device": br.device,
         ("warmup_seconds" if method == "torch" else "compile_seconds"): float(np.mean(comp))}
    m["sweep_seconds"] = m["seconds_per_config_epoch"] * n_cfg * opts.epochs
    say(f"  {method:<11} {m['seconds_per_config_epoch'] * 1e3:9.2f} ms/config-epoch  "
        f"(measured on {m['configs']} config(s) x {m['epochs']} epoch(s), extrapolated)")
    return m


def add_rates(methods: dict, fl: dict, peak: float, epochs: int) -> None:
    """Each method's configs/s, fractions of the peak and (baselines) the engine's speed-up."""
    eng_spce = methods["engine"]["seconds_per_config_epoch"]
    for name, m in methods.items():
        m.setdefault("sweep_seconds", m["seconds"])
        m["configs_per_second"] = 1.0 / (m["seconds_per_config_epoch"] * epochs)
        m["fraction_of_peak"] = fl["convention"] / m["seconds_per_config_epoch"] / peak
        m["executed_fraction_of_peak"] = fl["executed"] / m["seconds_per_config_epoch"] / peak
        if name != "engine":
            m["engine_speedup"] = m["seconds_per_config_epoch"] / eng_spce


def mark_agreement(acc_rows: list, tol: float) -> None:
    """Each accuracy row's spread across the methods, and whether it is within ``tol``."""
    for row in acc_rows:
        vals = [row[k] for k in TIMING_METHODS if k in row]
        row["spread"] = float(max(vals) - min(vals))
        row["agree"] = row["spread"] <= tol


def overall(opts: Options, models: dict, n_cfg: int) -> dict:
    """The whole sweep per method (every model), with and without compilation."""
    out = {}
    for method in ("engine",) + tuple(opts.baselines):
        if all(method in r["methods"] for r in models.values()):
            tot = sum(r["methods"][method]["sweep_seconds"] for r in models.values())
            # compilation: the engine once per program; the flax-style step once per config
            # (its lr is baked into the jitted step); torch's warm-up once per model
            per = n_cfg if method == "step" else 1
            comp = sum(per * r["methods"][method].get("compile_seconds",
                                                      r["methods"][method].get("warmup_seconds", 0.0))
                       for r in models.values())
            out[method] = {"sweep_seconds": tot, "configs_per_second": n_cfg * len(opts.models) / tot,
                           "compile_seconds": comp, "sweep_seconds_with_compile": tot + comp}
    eng = out["engine"]
    for method, o in out.items():
        if method != "engine":
            o["engine_speedup"] = o["sweep_seconds"] / eng["sweep_seconds"]
            o["engine_speedup_with_compile"] = o["sweep_seconds_with_compile"] / eng["sweep_seconds_with_compile"]
    return out

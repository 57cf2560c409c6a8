"""End to end: ``mlx sweep`` itself on a sweep file with its files, once with wandb=disabled
(against the engine on the same configs) and once with W&B offline and a run per config
(against W&B's floor: a bare offline wandb.init / log / finish loop of as many runs on as many
threads, measured in the same process)."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from mlx.bench.engine_runs import Workloads, engine_run
from mlx.bench.options import Options
from mlx.bench.progress import say
from mlx.config import make_config
from mlx.train import METRICS


def default_e2e_sweep() -> Path | None:
    for p in (Path("experiments/sweeps/logreg_1k.yaml"),
              Path(__file__).resolve().parents[2] / "experiments" / "sweeps" / "logreg_1k.yaml"):
        if p.exists():
            return p
    return None


def sweep_file_configs(path, count: int, data_args: list[str]) -> list:
    """The configs ``mlx sweep path count=N data...`` trains (same generator, same fixed values)."""
    from mlx.sweep.search import generate
    from mlx.sweep.spec import load_sweep
    from mlx.sweep.options import parse_sweep_argv
    _, sopts, fixed = parse_sweep_argv([str(path), *([f"count={count}"] if count else []), *data_args])
    spec = load_sweep(path, note=lambda *_: None)   # run_sweep prints its notes itself
    return [make_config({**d, **fixed}) for d in generate(spec, count=count or None,
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
    disabled_row(opts, res, er, base, out)
    if opts.wandb_configs:
        try:
            import wandb  # noqa: F401
        except ImportError:
            say("W&B rows skipped: wandb is not installed")
            return res
        wandb_rows(opts, res, configs, base, out)
    return res


def disabled_row(opts: Options, res: dict, er, base: list[str], out: Path) -> None:
    """``mlx sweep ... wandb=disabled`` timed, its accuracies against the engine's (into res)."""
    n = res["engine"]["configs"]
    count = [f"count={opts.e2e_configs}"] if opts.e2e_configs else []
    say(f"  mlx sweep {Path(base[0]).name} wandb=disabled ...")
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


def wandb_rows(opts: Options, res: dict, configs: list, base: list[str], out: Path) -> None:
    """W&B's floor, then ``mlx sweep ... wandb=offline wandb_runs=all`` on as many configs (into res)."""
    from mlx.track.wandb_writer import WANDB_THREADS
    nw = opts.wandb_configs
    epochs = max(int(c.epochs) for c in configs)
    say(f"  W&B floor: {nw} bare offline init/log/finish runs on {WANDB_THREADS} threads ...")
    fl = wandb_floor(nw, epochs, WANDB_THREADS, out / "e2e" / "wandb-floor", configs[0].to_dict())
    say(f"  mlx sweep {Path(base[0]).name} count={nw} wandb=offline wandb_runs=all ...")
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

"""``mlx sweep sweep.yaml``: the edge around the vectorised engine (files, W&B, resume, progress).

Sweep folder (``<out>/<sweep name>/``):
    results.jsonl    one line per finished config, appended and fsync-ed as chunks finish (resume)
    results.csv      one row per config: parameters, final and per-budget metrics, diverged, seconds
    comparison.md / comparison.csv   best config per model x task; accuracy by model x task x epochs
    comparison.png   test accuracy vs learning rate, a panel per task, a line per model
    best_filters.png filters of the best config of each model and task
    runs/<run>/      config.json, history.csv, summary.json of every config, and its W&B run
    sweep.json       the sweep's own summary: counts, seconds, configs per second, hyperband savings

Killing it (even kill -9) and running the same command again skips finished configs and ends
with the same results.csv.
"""
from __future__ import annotations

import json
import math
import os
import queue
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np

from mlx import track
from mlx.config import FIELDS, Config, make_config, parse_value, split_overrides
from mlx.errors import UsageError
from mlx.run import history_rows
from mlx.train import METRICS
from mlx.sweep import ChunkRunner, auto_chunk, balanced_chunk, chunks_of, group_configs, lane_bytes, lane_params, lane_rows, memory_budget_bytes

SWEEP_KEYS = {"chunk": "configs per compiled batch (0: automatic from device memory)",
              "coordinator": "jax.distributed: host:port of process 0, or 'auto' on TPU/SLURM (env MLX_COORDINATOR)",
              "num_processes": "jax.distributed: number of processes (env MLX_NUM_PROCESSES)",
              "process_id": "jax.distributed: this process's index (env MLX_PROCESS_ID)",
              "count": "number of configs for random/bayes (default: run_cap)",
              "sweep_seed": "seed for random/bayes proposals",
              "round": "bayes: configs proposed and trained per round",
              "verify_hyperband": "also train pruned configs to the end to check the best was kept",
              "order": "lane (each config's data order from its seed, as mlx train) | shared (one order "
                       "per batch, seeds change only the init; faster)"}


def config_id(cfg: Config) -> str:
    return cfg.fingerprint(12)


def run_name(i: int, cfg: Config) -> str:
    return f"{i:04d}-{cfg.model}-{cfg.task}-lr{cfg.lr:g}-e{cfg.epochs}-s{cfg.seed}"


def parse_sweep_argv(argv: list[str]):
    """(yaml path, sweep options dict, fixed config overrides dict)."""
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        raise UsageError("usage: mlx sweep SWEEP.yaml [count=N] [chunk=N] [key=value ...]")
    path, rest = argv[0], split_overrides(argv[1:])
    opts = {"chunk": 0, "count": 0, "sweep_seed": 0, "round": 16, "verify_hyperband": False,
            "order": "lane",
            "coordinator": os.environ.get("MLX_COORDINATOR", ""),
            "num_processes": int(os.environ.get("MLX_NUM_PROCESSES", "0") or 0),
            "process_id": int(os.environ.get("MLX_PROCESS_ID", "0") or 0)}
    fixed = {}
    for k, v in rest.items():
        if k in SWEEP_KEYS:
            if k == "verify_hyperband":
                opts[k] = parse_value("download", v)  # a boolean parse
            elif k == "coordinator":
                opts[k] = v
            elif k == "order":
                if v not in ("lane", "shared"):
                    raise UsageError(f"order={v!r} is not allowed; allowed: lane, shared")
                opts[k] = v
            else:
                try:
                    opts[k] = int(v)
                except ValueError:
                    raise UsageError(f"{k}={v!r} must be an integer") from None
                if opts[k] < 0:
                    raise UsageError(f"{k}={v!r} must be >= 0")
        elif k in FIELDS:
            fixed[k] = parse_value(k, v)
        else:
            raise UsageError(f"unknown key {k!r}; allowed: {', '.join(list(SWEEP_KEYS) + list(FIELDS))}")
    return path, opts, fixed


def init_distributed(opts: dict) -> None:
    """One process per host, all devices of all processes on one config axis.

    coordinator='host:port' with num_processes and process_id (the same command on every host,
    only process_id differs), or 'auto' where JAX finds them itself (TPU pods, SLURM, ...).
    Must run before JAX touches a device. Process 0 writes the files and the W&B runs; the
    sweep folder should be on a filesystem every process sees (resume reads it).
    """
    coord = opts.get("coordinator")
    if not coord:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes: gloo
    if coord == "auto":
        jax.distributed.initialize()
        return
    if opts["num_processes"] < 1 or not 0 <= opts["process_id"] < opts["num_processes"]:
        raise UsageError("coordinator=HOST:PORT needs num_processes=N (>= 1) and process_id=I (0 <= I < N)")
    jax.distributed.initialize(coord, num_processes=opts["num_processes"], process_id=opts["process_id"])


class WandbWriter:
    """Writes one W&B run per finished config in a background thread, so W&B's start-up cost
    overlaps training. A run folder gets ``wandb.done`` once its W&B run is finished; resume
    re-logs the ones without it."""

    def __init__(self, mode: str, project: str, group: str):
        self.mode, self.project, self.group = mode, project, group
        self.q: queue.Queue = queue.Queue()
        self.errors: list[str] = []
        self.thread = None
        if mode != "disabled":
            self.thread = threading.Thread(target=self._work, daemon=True)
            self.thread.start()

    def submit(self, folder: Path, cfg: dict, history: list[dict], summary: dict):
        if self.thread is not None and not (folder / "wandb.done").exists():
            self.q.put((folder, cfg, history, summary))

    def _work(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            folder, cfg, history, summary = item
            try:
                t = track.Tracker(mode=self.mode, project=self.project, name=folder.name,
                                  group=self.group, config=cfg, run_dir=folder)
                t.log_history(history)
                t.finish(summary, exit_code=1 if summary.get("diverged") else 0)
                (folder / "wandb.done").write_text(t.mode + "\n")
            except Exception as e:  # W&B trouble must never stop the sweep
                self.errors.append(f"{folder.name}: {type(e).__name__}: {e}")

    def close(self):
        if self.thread is not None:
            self.q.put(None)
            self.thread.join()


def _load_done(path: Path) -> dict[str, dict]:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: that config reruns
            done[row["config_id"]] = row
    return done


def _append_rows(path: Path, rows: list[dict]):
    with open(path, "a") as f:
        if f.tell() > 0:  # a kill may have cut the last line: start on a fresh one
            with open(path, "rb") as g:
                g.seek(-1, os.SEEK_END)
                if g.read(1) != b"\n":
                    f.write("\n")
        for r in rows:
            f.write(json.dumps(track.to_jsonable(r)) + "\n")
        f.flush()
        os.fsync(f.fileno())


def save_best(folder: Path, key: tuple, entry: tuple):
    score, name, params, epochs = entry
    stem = folder / "best" / f"{key[0]}-{key[1]}"
    track.save_params(stem.with_suffix(".msgpack"), params)
    track.atomic_write_json(stem.with_suffix(".json"), {"model": key[0], "task": key[1], "score": score,
                                                        "name": name, "epochs": epochs})


def load_best(folder: Path) -> dict:
    """Best params per (model, task) saved by earlier chunks (so resume keeps them)."""
    out = {}
    for meta in sorted((folder / "best").glob("*.json")):
        m = track.read_json(meta)
        p = meta.with_suffix(".msgpack")
        if p.exists():
            out[(m["model"], m["task"])] = (m["score"], m["name"], track.load_params(p), m["epochs"])
    return out


def _progress(total: int, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="cfg", desc="sweep", dynamic_ncols=True)


def run_sweep(argv: list[str], *, quiet: bool = False, echo=print) -> Path:
    """Run a sweep from command-line arguments; returns the sweep folder."""
    from mlx import sweep_spec
    from mlx.run import load_task_data
    path, opts, fixed = parse_sweep_argv(argv)
    spec = sweep_spec.load_sweep(path)
    init_distributed(opts)
    primary = jax.process_index() == 0
    say = (lambda *a, **k: None) if quiet or not primary else echo
    base = make_config(fixed)
    out = Path(fixed.get("out", "runs"))
    folder = out / (fixed.get("name") or spec.name)
    metric, goal = spec.metric.get("name", "test_accuracy"), spec.metric.get("goal", "maximize")

    def to_configs(dicts):  # command-line values win over the sweep file's
        return [make_config({**d, **fixed}) for d in dicts]

    count = opts["count"] or None
    proposer = None
    if spec.method == "bayes":
        if jax.process_count() > 1:
            raise UsageError("method bayes runs in one process (its rounds depend on the results); "
                             "use grid or random with coordinator=")
        n_total = count or spec.run_cap
        if not n_total:
            raise UsageError("method bayes needs run_cap in the sweep file or count=N")
        proposer = sweep_spec.Proposer(spec, seed=opts["sweep_seed"], count=n_total)
        configs = []
    else:
        configs = to_configs(sweep_spec.generate(spec, count=count, seed=opts["sweep_seed"]))
        n_total = len(configs)
    if n_total == 0:
        raise UsageError(f"{path}: the sweep produces no configs (empty grid)")

    jsonl = folder / "results.jsonl"
    if primary:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "runs").mkdir(exist_ok=True)
        track.atomic_write_json(folder / "sweep_spec.json", spec.raw)
    done = _load_done(jsonl)
    if jax.process_count() > 1 and configs:  # every process must skip the same configs
        from jax.experimental import multihost_utils
        flags = np.array([config_id(c) in done for c in configs])
        flags = np.asarray(multihost_utils.broadcast_one_to_all(flags))
        done = {config_id(c): done.get(config_id(c)) for c, f in zip(configs, flags) if f}
    mode = base.wandb_mode if primary else "disabled"
    writer = WandbWriter(mode, base.wandb_project, spec.name)
    rungs_of = (lambda E: sweep_spec.hyperband_rungs(spec, E)) if spec.early_terminate else (lambda E: [])
    n_dev = len(jax.devices())
    say(f"sweep {spec.name}: {spec.method}, {n_total} configs, {n_dev} device(s) "
        f"[{jax.devices()[0].device_kind}], {len(done)} already done -> {folder}")
    bar = _progress(n_total, quiet or not primary)
    if bar is not None:
        bar.update(min(len(done), n_total))
    tdata: dict = {}
    stats = {"groups": 0, "chunks": 0, "compile_seconds": 0.0, "train_seconds": 0.0,
             "lane_epochs": 0, "lane_epochs_full": 0, "hyperband_best_kept": None, "trained": 0}
    best_params = load_best(folder) if primary else {}
    t_start = time.perf_counter()

    def train_configs(cfgs: list[Config], offset: int):
        all_rows = []
        groups = group_configs(cfgs)
        for gi, g in enumerate(groups):
            ids = [config_id(cfgs[ci]) for ci, _, _ in g.members]
            if all(i in done for i in ids):
                all_rows += [done[i] for i in ids]
                continue
            dkey = tuple((k, getattr(g.cfg, k)) for k in ("data", "data_dir", "tfds_name", "tfds_dir",
                         "path", "label", "features", "label_threshold", "missing", "test_fraction", "task"))
            if dkey not in tdata:
                tdata[dkey] = load_task_data(g.cfg)[0]
            td = tdata[dkey]
            runner = ChunkRunner(g.cfg, td, order=opts["order"])
            chunk = opts["chunk"] or auto_chunk(len(g.lanes), lane_bytes(runner.trainer, g.cfg, td.x_train.shape[1]),
                                                n_dev, memory_budget_bytes())
            chunk = balanced_chunk(len(g.lanes), chunk, n_dev)
            stats["groups"] += 1
            for ch in chunks_of(len(g.lanes), chunk):
                members = [(ci, li, e) for ci, li, e in g.members if li in ch]
                if all(config_id(cfgs[ci]) in done for ci, _, _ in members):
                    all_rows += [done[config_id(cfgs[ci])] for ci, _, _ in members]
                    continue
                lanes = [g.lanes[i] for i in ch]
                rungs = rungs_of(g.cfg.epochs)
                res = runner.train(lanes, chunk, rungs=rungs, metric=metric, goal=goal)
                stats["chunks"] += 1
                stats["compile_seconds"] += res.compile_seconds
                stats["train_seconds"] += res.seconds
                stats["lane_epochs"] += res.config_epochs
                stats["lane_epochs_full"] += len(lanes) * g.cfg.epochs
                if rungs and opts["verify_hyperband"]:
                    full = runner.train(lanes, chunk, metric=metric, goal=goal)
                    sgn = 1 if goal == "maximize" else -1
                    fin = np.nan_to_num(sgn * full.metrics[metric][:, -1], nan=-np.inf)
                    kept = bool(res.stopped_at[int(np.argmax(fin))] == g.cfg.epochs)
                    stats["hyperband_best_kept"] = kept if stats["hyperband_best_kept"] is None \
                        else stats["hyperband_best_kept"] and kept
                rows = lane_rows(g, ch, res, td.num_classes)
                finished = []
                for r in rows:
                    ci = r["config_index"]
                    c = cfgs[ci]
                    name = run_name(offset + ci, c)
                    row = {**c.to_dict(), "config_id": config_id(c), "index": offset + ci,
                           "name": name, "group": gi,
                           "trajectory": "shared" if g.shared else "separate", **r}
                    row["hidden"] = list(c.hidden)
                    rf = folder / "runs" / name
                    summary = {k: row[k] for k in METRICS} | {
                        "diverged": row["diverged"], "epochs_trained": row["epochs_trained"],
                        "stopped_early": row["stopped_early"], "seconds": row["seconds"],
                        "data_source": td.source, "n_train": len(td.y_train), "n_test": len(td.y_test)}
                    hist = history_rows(r["history"])
                    if primary:
                        track.atomic_write_json(rf / "config.json", c.to_dict())
                        track.atomic_write_csv(rf / "history.csv", hist)
                        track.atomic_write_json(rf / "summary.json", summary)
                        writer.submit(rf, c.to_dict() | {"data_source": td.source}, hist, summary)
                    finished.append(row)
                    # keep the params of the best lane per model x task (for the filter pictures)
                    score = row[metric] if goal == "maximize" else -row[metric]
                    bk = (c.model, c.task)
                    if primary and not row["diverged"] and np.isfinite(score) and (
                            bk not in best_params or score > best_params[bk][0]):
                        j = list(ch).index(r["lane"])
                        best_params[bk] = (score, name, lane_params(res, j), int(res.stopped_at[j]))
                        save_best(folder, bk, best_params[bk])
                if primary:
                    _append_rows(jsonl, finished)
                for row in finished:
                    done[row["config_id"]] = row
                all_rows += finished
                stats["trained"] += len(finished)
                if bar is not None:
                    bar.update(len(finished))
                    bar.set_postfix(group=f"{gi + 1}/{len(groups)}", model=g.cfg.model, task=g.cfg.task)
                elif not quiet:
                    el = time.perf_counter() - t_start
                    rate = stats["trained"] / el if el > 0 else 0.0
                    eta = (n_total - len(done)) / rate if rate > 0 else float("nan")
                    say(f"  group {gi + 1}/{len(groups)} {g.cfg.model} {g.cfg.task}: "
                        f"{len(done)}/{n_total} configs done, {el:.1f}s elapsed, "
                        f"{rate:.2f} configs/s, ETA {eta:.0f}s")
        return all_rows

    try:
        if proposer is None:
            rows = train_configs(configs, 0)
        else:
            rows, offset = [], 0
            while offset < n_total and not proposer.done:
                dicts = proposer.ask(min(opts["round"], n_total - offset))
                if not dicts:
                    break
                n = len(dicts)
                got = train_configs(to_configs(dicts), offset)
                by_idx = {r["index"]: r for r in got}
                vals = [by_idx[offset + i][metric] if not by_idx[offset + i]["diverged"] else math.nan
                        for i in range(n)]
                proposer.tell(dicts, vals)
                rows += got
                offset += n
    finally:
        if bar is not None:
            bar.close()
        writer.close()

    elapsed = time.perf_counter() - t_start
    if not primary:
        return folder
    from mlx.sweep_report import write_sweep_outputs
    write_sweep_outputs(folder, rows, spec, best_params, stats, elapsed, writer.errors, say)
    return folder


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: mlx sweep SWEEP.yaml [key=value ...]\n\nsweep keys:")
        for k, v in SWEEP_KEYS.items():
            print(f"  {k:<17} {v}")
        print("  any run key      fixed for every config (e.g. data=sample out=runs wandb=disabled)")
        return 0
    run_sweep(argv)
    return 0

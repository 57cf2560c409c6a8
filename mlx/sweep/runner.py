"""``mlx sweep sweep.yaml``: the edge around the vectorised engine (files, W&B, resume, progress).

Sweep folder (``<out>/<sweep name>/``; the name is one plain folder name, never a path):
    sweep_spec.json  the sweep file as parsed, and the sweep's identity (a different sweep is
                     refused here, never mixed with these rows)
    plan.json        the chunk size of each group: a rerun cuts the same chunks (exact resume)
    results.jsonl    one line per finished config (with its per-epoch history), appended and
                     fsync-ed once per chunk: the durable record that resume reads
    results.csv      one row per config: parameters, final and per-budget metrics, diverged, seconds
    comparison.md / comparison.csv   best config per model x task; accuracy by model x task x epochs
    comparison.png   test accuracy vs learning rate, a panel per task, a line per model
    best_filters.png filters of the best config of each model and task
    runs/<run>/      config.json, history.csv, summary.json of every config (cheap views of
                     results.jsonl, rewritten on resume when missing) and its W&B run
    sweep.json       the sweep's own summary: counts, seconds, configs per second, hyperband savings

Killing it (even kill -9) and running the same command again skips the finished configs, trains
the others in the same programs, and ends with the same results.csv (``seconds`` aside). While a
sweep runs, its folder is locked: a second ``mlx sweep`` into it stops with one line.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import queue
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np

from mlx.track import tracker as track
from mlx.config import FIELDS, Config, make_config, parse_value, role_key, split_overrides
from mlx.errors import UsageError
from mlx.train_run import history_rows
from mlx.sweep.engine import (ChunkRunner, group_configs, lane_params, lane_rows,
                       choose_chunk, plan_chunks)
from mlx.train import METRICS

WANDB_RUNS = ("auto", "all", "best", "none")
AUTO_ALL_UP_TO = 500
SWEEP_KEYS = {"chunk": "configs per compiled batch (0: automatic from device memory; recorded in plan.json)",
              "coordinator": "jax.distributed: host:port of process 0, or 'auto' on TPU/SLURM (env MLX_COORDINATOR)",
              "num_processes": "jax.distributed: number of processes (env MLX_NUM_PROCESSES)",
              "process_id": "jax.distributed: this process's index (env MLX_PROCESS_ID)",
              "count": "number of configs for random/bayes (default: run_cap)",
              "sweep_seed": "seed for random/bayes proposals",
              "round": "bayes: configs proposed and trained per round (>= 1)",
              "verify_hyperband": "also train pruned configs to the end to check the best was kept",
              "wandb_runs": "all (a W&B run per config) | best (the best config per model x task x "
                            "epochs, plus the summary run's table of every config) | none | auto "
                            f"(default: all up to {AUTO_ALL_UP_TO} configs, else best)",
              "max_configs": "refuse sweeps larger than this before training (default 100000)",
              "run_folders": "auto (a runs/<run>/ folder for each config that gets a W&B run: it holds that "
                             "run) | true (one for every config) | false; history.csv holds every history"}
WANDB_THREADS = 4


def config_id(cfg: Config) -> str:
    return cfg.fingerprint(12)


def run_name(i: int, cfg: Config) -> str:
    return f"{i:04d}-{cfg.model}-{cfg.task}-lr{cfg.lr:g}-e{cfg.epochs}-s{cfg.seed}"


_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@=-]{0,127}$")


def safe_folder_name(name: str) -> str:
    """A sweep name as one folder name inside out=: letters, digits and . _ + @ = - only,
    starting with a letter or digit (so never '..', '/x', 'a/b' or a hidden folder)."""
    name = str(name).strip()
    if not _SAFE.match(name):
        raise UsageError(f"sweep name {name!r} is not a plain folder name; allowed: letters, digits "
                         f"and . _ + @ = - (starting with a letter or digit, at most 128), e.g. my-sweep")
    return name


def _int_env(var: str) -> int:
    raw = os.environ.get(var, "").strip()
    try:
        return int(raw or 0)
    except ValueError:
        raise UsageError(f"{var}={raw!r} must be an integer") from None


def parse_sweep_argv(argv: list[str]):
    """(yaml path, sweep options dict, fixed config overrides dict)."""
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        raise UsageError("usage: mlx sweep SWEEP.yaml [count=N] [chunk=N] [key=value ...]")
    path, rest = argv[0], split_overrides(argv[1:])
    opts = {"chunk": 0, "count": 0, "sweep_seed": 0, "round": 16, "verify_hyperband": False,
            "wandb_runs": "auto", "max_configs": 100_000, "run_folders": "auto",
            "coordinator": os.environ.get("MLX_COORDINATOR", ""),
            "num_processes": _int_env("MLX_NUM_PROCESSES"), "process_id": _int_env("MLX_PROCESS_ID")}
    fixed = {}
    for k, v in rest.items():
        if k in SWEEP_KEYS:
            if k == "verify_hyperband":
                opts[k] = parse_value("download", v)  # a boolean parse
            elif k == "coordinator":
                opts[k] = v
            elif k in ("wandb_runs", "run_folders"):
                allowed = WANDB_RUNS if k == "wandb_runs" else ("auto", "true", "false")
                if v not in allowed:
                    raise UsageError(f"{k}={v!r} is not allowed; allowed: {', '.join(allowed)}")
                opts[k] = v
            else:
                try:
                    opts[k] = int(v)
                except ValueError:
                    raise UsageError(f"{k}={v!r} must be an integer") from None
                if opts[k] < (1 if k in ("round", "max_configs") else 0):
                    raise UsageError(f"{k}={v!r} must be >= {1 if k in ('round', 'max_configs') else 0}")
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


# ------------------------------------------------------------------ W&B at the edge

class WandbWriter:
    """Writes W&B runs of finished configs in background threads, so W&B's start-up cost
    overlaps training. A run folder gets ``wandb.done`` once its W&B run is finished; resume
    removes the half-written W&B runs of folders without it and logs them again, so every
    finished config ends with exactly one complete W&B run."""

    def __init__(self, mode: str, project: str, group: str, threads: int = WANDB_THREADS):
        self.mode, self.project, self.group = mode, project, group
        self.q: queue.Queue = queue.Queue()
        self.errors: list[str] = []
        self.threads = []
        self.logged = 0
        self._first = threading.Lock()  # the first wandb.init imports lazily: one thread at a time
        self._warm = False
        if mode != "disabled":
            import wandb  # noqa: F401  (first imports are not thread-safe: import here, not in the threads)
            from PIL import Image
            Image.init()  # Pillow registers its formats lazily, and not thread-safely: do it once here
            for _ in range(threads):
                t = threading.Thread(target=self._work, daemon=True)
                t.start()
                self.threads.append(t)

    def submit(self, folder: Path, cfg: dict, history: list[dict], summary: dict, image=None,
               evolution: dict | None = None):
        """Queue a W&B run; image: uint8[H, W, 3] (the lane's filter or first-layer units);
        evolution: {epoch: uint8[H, W, 3]}, the filter after those epochs (logged at their steps
        as ``pictures/filter_by_epoch``, as ``mlx train`` logs it)."""
        if not self.threads or (folder / "wandb.done").exists():
            return
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder / "wandb")  # a run cut by a kill: never two runs for a config
        self.q.put((folder, cfg, history, summary, image, evolution or {}))

    def _work(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            folder, cfg, history, summary, image, evolution = item
            try:
                with self._first if not self._warm else contextlib.nullcontext():
                    t = track.Tracker(mode=self.mode, project=self.project, name=folder.name,
                                      group=self.group, config=cfg, run_dir=folder)
                    self._warm = True
                import wandb
                for row in history:
                    e = int(row["epoch"])
                    t.log_epoch(e, row)
                    if e in evolution:
                        t.log({"pictures/filter_by_epoch": wandb.Image(evolution[e], caption=f"filter b after epoch {e}")},
                              step=e)
                if image is not None:
                    caption = "filter b (red: evidence for class 1)" if cfg.get("model") == "logreg" \
                        else "the most important first-layer units"
                    t.log({"pictures/filter": wandb.Image(image, caption=caption)}, step=len(history))
                t.finish(summary, exit_code=1 if summary.get("diverged") else 0)
                (folder / "wandb.done").write_text(t.mode + "\n")
                self.logged += 1
            except Exception as e:  # W&B trouble must never stop the sweep
                self.errors.append(f"{folder.name}: {type(e).__name__}: {e}")

    def close(self):
        for _ in self.threads:
            self.q.put(None)
        for t in self.threads:
            t.join()


def wandb_policy(opt: str, n_configs: int) -> str:
    return ("all" if n_configs <= AUTO_ALL_UP_TO else "best") if opt == "auto" else opt


# ------------------------------------------------------------------ the sweep folder

def sweep_identity(spec, fixed: dict, opts: dict) -> str:
    """What makes two sweeps the same: the parsed file, the fixed values that change numbers,
    and the proposal options (not chunk, W&B, output folders or the process layout)."""
    fixed_cfg = make_config(fixed)
    ident = {"spec": track.to_jsonable(spec.raw),
             "fixed": [kv for kv in role_key(fixed_cfg, "program", "traced", "data") if kv[0] in fixed],
             "count": opts["count"], "sweep_seed": opts["sweep_seed"], "round": opts["round"]}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def sweep_folder(folder: Path, spec, identity: str, primary: bool):
    """Create (or reopen) the sweep folder, refuse one that holds another sweep, and hold its
    lock while the sweep runs (a second sweep into the same folder stops with one line)."""
    if not primary:
        yield
        return
    try:
        (folder / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the sweep folder {folder}: {e.strerror or e}; "
                         f"choose a writable out=") from None
    import fcntl
    try:
        lock = open(folder / ".lock", "a+")
    except OSError as e:
        raise UsageError(f"cannot write in {folder}: {e.strerror or e}; choose a writable out=") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise UsageError(f"another mlx sweep is running in {folder}; wait for it to finish "
                         f"(then this command resumes it) or use another name= or out=") from None
    try:
        spec_file = folder / "sweep_spec.json"
        old = None
        if spec_file.exists():
            with contextlib.suppress(ValueError, OSError):
                old = track.read_json(spec_file)
        if isinstance(old, dict) and old.get("identity") not in (None, identity):
            raise UsageError(f"{folder} holds another sweep (a different sweep file or options, "
                             f"sweep {old.get('name')!r}); use another name= or out=, or remove that folder")
        track.atomic_write_json(spec_file, {"name": spec.name, "identity": identity, "spec": spec.raw})
        yield
    finally:
        lock.close()


def load_done(path: Path) -> dict[str, dict]:
    """Finished rows of results.jsonl by config_id; lines cut by a kill or lacking fields are
    skipped (those configs train again)."""
    need = {"config_id", "index", "name", "history", "diverged", *METRICS}
    done = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and need <= row.keys():
                done[row["config_id"]] = row
    return done


def append_rows(path: Path, rows: list[dict]):
    with open(path, "a") as f:
        if f.tell() > 0:  # a kill may have cut the last line: start on a fresh one
            with open(path, "rb") as g:
                g.seek(-1, os.SEEK_END)
                if g.read(1) != b"\n":
                    f.write("\n")
        f.write("".join(json.dumps(track.to_jsonable(r)) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def write_run_folder(rf: Path, cfg: dict, hist: list[dict], summary: dict, image=None):
    """A config's run folder: views of its results.jsonl row, so written without fsync (a
    missing one is rewritten on resume); renamed into place, so never half a file. image:
    uint8[H, W, 3], the lane's filter picture, kept as filter.png (a W&B run logged again after
    a kill reads it back: the lane's params are gone by then)."""
    if image is not None:
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG", compress_level=1)
        track.atomic_write_bytes(rf / "filter.png", buf.getvalue(), durable=False)
    track.atomic_write_json(rf / "config.json", cfg, durable=False)
    track.atomic_write_csv(rf / "history.csv", hist, durable=False)
    track.atomic_write_json(rf / "summary.json", summary, durable=False)


def read_png(path: Path):
    """uint8[H, W, 3] of a PNG written by write_run_folder, or None (missing or unreadable)."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        return None


def run_summary(row: dict, data_source: str) -> dict:
    return {k: row[k] for k in METRICS} | {
        "diverged": row["diverged"], "epochs_trained": row["epochs_trained"],
        "stopped_early": row["stopped_early"], "seconds": row["seconds"], "data_source": data_source}


def best_key(row: dict, metric: str, goal: str):
    """The one rule for "best" everywhere (comparison, best_runs.json, best filters, W&B):
    the best value of the metric among configs that did not diverge, ties to the lowest
    config index."""
    v = row[metric]
    if row["diverged"] or v is None or not np.isfinite(v):
        return None
    return ((v if goal == "maximize" else -v), -int(row["index"]))


def save_best(folder: Path, key: tuple, entry: tuple):
    score, name, params, epochs = entry
    stem = folder / "best" / f"{key[0]}-{key[1]}"
    track.save_params(stem.with_suffix(".msgpack"), params)
    track.atomic_write_json(stem.with_suffix(".json"), {"model": key[0], "task": key[1], "score": list(score),
                                                        "name": name, "epochs": epochs})


def load_best(folder: Path) -> dict:
    """Best params per (model, task) saved by earlier chunks (so resume keeps them)."""
    out = {}
    for meta in sorted((folder / "best").glob("*.json")):
        with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
            m = track.read_json(meta)
            p = meta.with_suffix(".msgpack")
            if p.exists() and isinstance(m.get("score"), list):
                out[(m["model"], m["task"])] = (tuple(m["score"]), m["name"], track.load_params(p), m["epochs"])
    return out


def save_budget_best(folder: Path, key: tuple, entry: tuple):
    """The per-epoch logreg filters (float32[E, d, k]) of the best config of one model x task x
    epoch budget: ``best/budget/<model>-<task>-e<E>.npy`` with its rank key and run name."""
    import io
    score, name, snaps = entry
    stem = folder / "best" / "budget" / f"{key[0]}-{key[1]}-e{int(key[2])}"
    buf = io.BytesIO()
    np.save(buf, np.asarray(snaps, np.float32))
    track.atomic_write_bytes(stem.with_suffix(".npy"), buf.getvalue())
    track.atomic_write_json(stem.with_suffix(".json"), {"model": key[0], "task": key[1], "epochs": int(key[2]),
                                                        "score": list(score), "name": name})


def load_budget_best(folder: Path) -> dict:
    """{(model, task, epochs): (rank key, run name, float32[E, d, k])} saved by earlier chunks."""
    out = {}
    for meta in sorted((folder / "best" / "budget").glob("*.json")):
        with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
            m = track.read_json(meta)
            if isinstance(m.get("score"), list) and meta.with_suffix(".npy").exists():
                out[(m["model"], m["task"], int(m["epochs"]))] = (tuple(m["score"]), m["name"],
                                                                  np.load(meta.with_suffix(".npy")))
    return out


def _progress(total: int, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="cfg", desc="sweep", dynamic_ncols=True)


def check_size(n_total: int, opts: dict, path) -> None:
    if n_total > opts["max_configs"]:
        raise UsageError(f"{path}: the sweep has {n_total:,} configs, more than max_configs="
                         f"{opts['max_configs']}; cut it with run_cap (random/bayes) or count=N, or "
                         f"raise max_configs= to run it all")


def load_plan(folder: Path) -> dict:
    with contextlib.suppress(ValueError, OSError):
        plan = track.read_json(folder / "plan.json")
        if isinstance(plan, dict):
            return plan
    return {}


def group_id(g) -> str:
    return hashlib.sha256(json.dumps(g.key).encode()).hexdigest()[:12]


# ------------------------------------------------------------------ the sweep itself

class Sweep:
    """One ``mlx sweep`` invocation: configs in, rows and files out (process 0 writes)."""

    def __init__(self, spec, opts: dict, fixed: dict, folder: Path, *, say, quiet: bool):
        self.spec, self.opts, self.fixed, self.folder, self.say = spec, opts, fixed, folder, say
        self.primary = jax.process_index() == 0
        self.base = make_config(fixed)
        self.metric = spec.metric.get("name", "test_accuracy")
        self.goal = spec.metric.get("goal", "maximize")
        self.jsonl = folder / "results.jsonl"
        self.done: dict[str, dict] = {}
        self.tdata: dict = {}
        self.plan = {}
        self.stats = {"groups": 0, "chunks": 0, "compile_seconds": 0.0, "train_seconds": 0.0,
                      "lane_epochs": 0, "lane_epochs_full": 0, "hyperband_best_kept": None,
                      "trained": 0, "wandb_seconds": 0.0}
        self.best_params: dict = {}
        self.budget_best: dict = {}  # (model, task, epochs) -> (rank key, run name, filters per epoch)
        self.held: dict = {}         # (model, task, epochs) -> (run name, W&B run waiting for its best status)
        self.pictures = bool(fixed.get("pictures", True))
        self.quiet = quiet
        self.n_total = 0
        self.t_start = time.perf_counter()
        self.writer = None
        self.bar = None
        self.n_dev = len(jax.devices())

    # -- set-up
    def open(self, n_total: int, configs: list[Config]):
        self.n_total = n_total
        if configs and not any(c.pictures for c in configs):  # pictures: false in the file
            self.pictures = False
        if self.primary:
            self.done = load_done(self.jsonl)
            self.best_params = load_best(self.folder)
            self.budget_best = load_budget_best(self.folder)
            self.plan = load_plan(self.folder)
        if jax.process_count() > 1 and configs:  # every process must skip the same configs
            from jax.experimental import multihost_utils
            flags = np.array([config_id(c) in self.done for c in configs])
            flags = np.asarray(multihost_utils.broadcast_one_to_all(flags))
            self.done = {config_id(c): self.done.get(config_id(c), {}) for c, f in zip(configs, flags) if f}
        mode = self.base.wandb_mode if self.primary else "disabled"
        self.policy = wandb_policy(self.opts["wandb_runs"], n_total) if mode != "disabled" else "none"
        self.writer = WandbWriter(mode if self.policy == "all" else "disabled",
                                  self.base.wandb_project, self.spec.name)
        self.wandb_mode = mode
        self.say(f"sweep {self.spec.name}: {self.spec.method}, {n_total} configs, {self.n_dev} device(s) "
                 f"[{jax.devices()[0].device_kind}], {len(self.done)} already done -> {self.folder}")
        if self.policy == "best" and self.opts["wandb_runs"] == "auto":
            self.say(f"  W&B: {n_total} configs > {AUTO_ALL_UP_TO}: a W&B run for the best config per "
                     f"model x task x epochs plus one summary run with every config (wandb_runs=all for all)")
        self.bar = _progress(n_total, self.quiet or not self.primary)
        if self.bar is not None:
            self.bar.update(min(len(self.done), n_total))

    def task_data(self, cfg: Config):
        from mlx.train_run import load_task_data
        key = role_key(cfg, "data")
        if key not in self.tdata:
            self.tdata[key] = load_task_data(cfg)[0]
        return self.tdata[key]

    def chunk_size(self, g, runner, td) -> int:
        """Lanes per chunk: chunk= if given, else the size recorded in plan.json when this
        sweep started, else mlx.sweep.engine.choose_chunk (from the device's total memory; recorded)."""
        gid = group_id(g)
        rec = self.plan.get(gid)
        if self.opts["chunk"]:
            if rec and rec.get("chunk") != self.opts["chunk"]:
                self.say(f"  note: chunk={self.opts['chunk']} differs from the {rec.get('chunk')} this sweep started "
                         f"with: configs still to train run in other programs (last-bit differences)")
            chunk = self.opts["chunk"]
        elif rec and isinstance(rec.get("chunk"), int):
            chunk = rec["chunk"]
        else:
            chunk = choose_chunk(runner.trainer, g.cfg, td, self.n_dev)[0]
        if self.primary and self.plan.get(gid) != {"chunk": chunk}:
            self.plan[gid] = {"chunk": chunk}
            track.atomic_write_json(self.folder / "plan.json", self.plan)
        return chunk

    # -- training
    def train_configs(self, cfgs: list[Config], offset: int) -> list[dict]:
        rows = []
        groups = group_configs(cfgs)
        for gi, g in enumerate(groups):
            ids = [config_id(cfgs[ci]) for ci, _, _ in g.members]
            if all(i in self.done for i in ids):
                rows += [self.done[i] for i in ids]
                self.relog(cfgs, offset, g.members)
                continue
            rows += self.train_group(cfgs, offset, g, gi, len(groups))
        return rows

    def train_group(self, cfgs, offset, g, gi, n_groups) -> list[dict]:
        from mlx.sweep.hyperband import stop_lanes
        td = self.task_data(g.cfg)
        snap_bytes = 4 * len(g.lanes) * g.cfg.epochs * td.x_train.shape[1] * max(td.k_out, 1)
        runner = ChunkRunner(g.cfg, td, snapshots=self.pictures and snap_bytes < (512 << 20))
        chunk = self.chunk_size(g, runner, td)
        self.stats["groups"] += 1
        bands, stop_fn = [], None
        et = self.spec.early_terminate
        if et:
            from mlx.sweep import spec as sweep_spec
            bands = sweep_spec.hyperband_rungs(self.spec, g.cfg.epochs)
            stop_fn = lambda h, b: stop_lanes(h, b, eta=et.get("eta", 3), strict=et.get("strict", True),  # noqa: E731
                                              goal=self.goal)
        rows = []
        for ch in plan_chunks(g.lanes, chunk, self.n_dev):
            lanes = set(ch.lanes)
            members = [(ci, li, e) for ci, li, e in g.members if li in lanes]
            if all(config_id(cfgs[ci]) in self.done for ci, _, _ in members):
                rows += [self.done[config_id(cfgs[ci])] for ci, _, _ in members]
                self.relog(cfgs, offset, members)
                continue
            res = runner.train(ch, g.lanes, bands=bands, stop_fn=stop_fn, metric=self.metric)
            self.stats["chunks"] += 1
            self.stats["compile_seconds"] += res.compile_seconds
            self.stats["train_seconds"] += res.seconds
            self.stats["lane_epochs"] += res.config_epochs
            self.stats["lane_epochs_full"] += len(ch.lanes) * g.cfg.epochs
            if bands and self.opts["verify_hyperband"]:
                self.verify(runner, ch, g, res)
            rows += self.finish_chunk(cfgs, offset, g, gi, ch, res, td)
            self.report_progress(gi, n_groups, g)
        return rows

    def verify(self, runner, ch, g, res):
        full = runner.train(ch, g.lanes, metric=self.metric)
        sgn = 1 if self.goal == "maximize" else -1
        fin = np.nan_to_num(sgn * full.metrics[self.metric][:, -1], nan=-np.inf)
        kept = bool(res.stopped_at[int(np.argmax(fin))] == g.cfg.epochs)
        hb = self.stats["hyperband_best_kept"]
        self.stats["hyperband_best_kept"] = kept if hb is None else hb and kept

    def row_of(self, cfgs, offset, g, gi, r) -> dict:
        c = cfgs[r["config_index"]]
        return {**c.to_dict(), "config_id": config_id(c), "index": offset + r["config_index"],
                "name": run_name(offset + r["config_index"], c), "group": gi,
                "trajectory": "shared" if g.shared else "separate", **r, "hidden": list(c.hidden)}

    def finish_chunk(self, cfgs, offset, g, gi, ch, res, td) -> list[dict]:
        finished = [self.row_of(cfgs, offset, g, gi, r) | {"data_source": td.source}
                    for r in lane_rows(g, ch, res, td.num_classes)]
        if self.primary:
            pos = {li: j for j, li in enumerate(ch.lanes)}
            views = []
            for row in finished:  # the views first (no fsync: rewritten when missing), so a
                j = pos[row["lane"]]  # config in results.jsonl always has its filter.png
                params = lambda j=j, row=row: self.params_at_budget(res, j, row)  # noqa: E731
                self.keep_best(row, params, res, j)
                views.append(self.write_folder(row, td, params))
            append_rows(self.jsonl, finished)   # the durable record
            for row, view in zip(finished, views):
                self.submit_run(row, view)
        for row in finished:
            self.done[row["config_id"]] = row
        self.stats["trained"] += len(finished)
        return finished

    @staticmethod
    def params_at_budget(res, j: int, row: dict):
        """The lane's final params; for logreg with snapshots, its filter at the config's own
        budget (configs that share a trajectory read it at their epoch)."""
        p = lane_params(res, j)
        if "b" in res.metrics and isinstance(p, dict) and "b" in p:
            p = {**p, "b": np.asarray(res.metrics["b"][j, row["epochs_trained"] - 1])}
        return p

    def lane_picture(self, row: dict, params_fn):
        if not (self.pictures and params_fn is not None) or row["diverged"]:
            return None
        try:
            from mlx.viz.sweep_figures import lane_image
            return lane_image(row["model"], params_fn())
        except Exception as e:  # a picture never stops the sweep
            self.writer.errors.append(f"{row['name']}: picture: {type(e).__name__}: {e}")
            return None

    def write_folder(self, row: dict, td_or_source, params_fn=None):
        """The config's run folder (config.json, history.csv, summary.json, filter.png), where
        this sweep has one (run_folders=); returns what its W&B run needs, or None."""
        folders = self.opts["run_folders"]
        if folders == "false" or folders == "auto" and self.policy != "all":
            return None
        source = getattr(td_or_source, "source", td_or_source)
        rf = self.folder / "runs" / row["name"]
        cfg = {k: row[k] for k in FIELDS}
        hist = history_rows(row["history"])
        summary = run_summary(row, source)
        if (rf / "summary.json").exists():  # written before (a resumed sweep): its picture is on disk
            image = read_png(rf / "filter.png")
        else:
            image = self.lane_picture(row, params_fn)
            write_run_folder(rf, cfg, hist, summary, image)
        return rf, cfg | {"data_source": source}, hist, summary, image

    def submit_run(self, row: dict, view) -> None:
        """Queue the config's W&B run. The best config of its model x task x epoch budget (so
        far) is held back until the sweep ends, when its run is written with the filter after
        every epoch; a config that loses that place is written at once without it."""
        if view is None or self.policy != "all" or (view[0] / "wandb.done").exists():
            return
        bk = (row["model"], row["task"], int(row["epochs"]))
        best = self.budget_best.get(bk)
        if best is not None and best[1] == row["name"] and self.pictures:
            prev = self.held.get(bk)
            if prev is not None and prev[0] != row["name"]:
                self.writer.submit(*prev[1])
            self.held[bk] = (row["name"], view)
            return
        self.writer.submit(*view)

    def submit_held(self) -> None:
        """The held best configs' W&B runs, each with its filter after the epochs ``mlx train``
        logs it at (every ceil(E/10)-th and the last)."""
        from mlx.viz.run_figures import filter_epochs
        from mlx.viz.sweep_figures import lane_images
        for bk, (name, view) in sorted(self.held.items()):
            evolution = {}
            best = self.budget_best.get(bk)
            if best is not None and best[1] == name:
                snaps, model = np.asarray(best[2]), bk[0]
                try:
                    picks = filter_epochs(len(snaps))
                    images = lane_images(model, {"b": snaps[[e - 1 for e in picks]]})
                    evolution = dict(zip(picks, images))
                except Exception as e:  # a picture never stops the sweep
                    self.writer.errors.append(f"{name}: filter evolution: {type(e).__name__}: {e}")
            self.writer.submit(*view, evolution=evolution)
        self.held.clear()

    def relog(self, cfgs, offset, members):
        """Configs finished earlier: their run folders and W&B runs, where a kill cut them."""
        if self.primary:
            for ci, _, _ in members:
                row = self.done[config_id(cfgs[ci])]
                self.submit_run(row, self.write_folder(row, row.get("data_source", "")))

    def keep_best(self, row, params_fn, res, j):
        """Params of the best config per model x task (for the pictures), by best_key; for
        logreg also the filter after every epoch of the best config per model x task x epoch
        budget (the lane's snapshots up to its own budget)."""
        k = best_key(row, self.metric, self.goal)
        if k is None:
            return
        bk = (row["model"], row["task"])
        if bk not in self.best_params or k > self.best_params[bk][0]:
            self.best_params[bk] = (k, row["name"], params_fn(), int(row["epochs_trained"]))
            save_best(self.folder, bk, self.best_params[bk])
        bb = (*bk, int(row["epochs"]))
        if "b" in res.metrics and (bb not in self.budget_best or k > self.budget_best[bb][0]):
            self.budget_best[bb] = (k, row["name"], np.asarray(res.metrics["b"][j, :row["epochs_trained"]], np.float32))
            save_budget_best(self.folder, bb, self.budget_best[bb])

    def report_progress(self, gi, n_groups, g):
        if self.bar is not None:
            self.bar.n = min(len(self.done), self.n_total)
            self.bar.refresh()
            self.bar.set_postfix(group=f"{gi + 1}/{n_groups}", model=g.cfg.model, task=g.cfg.task)
        elif not self.quiet:
            el = time.perf_counter() - self.t_start
            rate = self.stats["trained"] / el if el > 0 else 0.0
            eta = (self.n_total - len(self.done)) / rate if rate > 0 else float("nan")
            self.say(f"  group {gi + 1}/{n_groups} {g.cfg.model} {g.cfg.task}: "
                     f"{len(self.done)}/{self.n_total} configs done, {el:.1f}s elapsed, "
                     f"{rate:.2f} configs/s, ETA {eta:.0f}s")

    def draw_pictures(self, rows: list[dict]):
        """The sweep's own pictures (boundaries, styles, learning curves, filter evolution),
        drawn once per sweep from the best configs; their seconds go to sweep.json."""
        t0 = time.perf_counter()
        try:
            from mlx.viz.sweep_figures import draw_sweep_pictures
            first = {}
            for r in rows:
                first.setdefault(r["task"], r)
            tds = {t: self.task_data(make_config({k: r[k] for k in FIELDS if k in r}))
                   for t, r in first.items()}
            self.picture_captions = draw_sweep_pictures(
                self.folder, rows, self.best_params, {bb: v[2] for bb, v in self.budget_best.items()}, tds,
                metric=self.metric, goal=self.goal,
                timings=self.stats.setdefault("picture_seconds_by_file", {}))
        except Exception as e:  # pictures never lose the sweep's results
            from mlx.sweep.tables import warn
            warn(f"the sweep's pictures were not drawn ({type(e).__name__}: {' '.join(str(e).split())[:200]})")
        self.stats["pictures_seconds"] = time.perf_counter() - t0

    def close(self):
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            t0 = time.perf_counter()
            self.writer.close()
            self.stats["wandb_seconds"] = time.perf_counter() - t0


def run_sweep(argv: list[str], *, quiet: bool = False, echo=print) -> Path:
    """Run a sweep from command-line arguments; returns the sweep folder."""
    from mlx.sweep import spec as sweep_spec
    path, opts, fixed = parse_sweep_argv(argv)
    spec = sweep_spec.load_sweep(path)
    init_distributed(opts)
    primary = jax.process_index() == 0
    say = (lambda *a, **k: None) if quiet or not primary else echo
    make_config(fixed)  # bad fixed values fail before anything is written
    folder = Path(fixed.get("out", "runs")) / safe_folder_name(fixed.get("name") or spec.name)

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
        check_size(sweep_spec.size(spec), opts, path)  # before a grid is built
        configs = to_configs(sweep_spec.generate(spec, count=count, seed=opts["sweep_seed"]))
        n_total = len(configs)
    if n_total == 0:
        raise UsageError(f"{path}: the sweep produces no configs (empty grid)")
    check_size(n_total, opts, path)
    with sweep_folder(folder, spec, sweep_identity(spec, fixed, opts), primary):
        sw = Sweep(spec, opts, fixed, folder, say=say, quiet=quiet)
        try:
            sw.open(n_total, configs)
            if proposer is None:
                rows = sw.train_configs(configs, 0)
            else:
                rows = run_bayes(sw, proposer, n_total, to_configs)
            rows = sorted(rows, key=lambda r: r["index"])
            sw.train_done = time.perf_counter()
            if primary:
                sw.submit_held()
            if primary and sw.pictures:  # drawn while the W&B threads finish their queue
                sw.draw_pictures(rows)
        except OSError as e:
            raise UsageError(f"cannot write the sweep's files in {folder}: {e.strerror or e}"
                             f"{' (' + e.filename + ')' if getattr(e, 'filename', None) else ''}; "
                             f"{len(sw.done)} finished configs are kept in {sw.jsonl}; fix it and run the "
                             f"same command to resume") from None
        finally:
            sw.close()
        if not primary:
            return folder
        from mlx.sweep.tables import write_sweep_outputs
        elapsed = time.perf_counter() - sw.t_start
        write_sweep_outputs(folder, rows, spec, sw.best_params, sw.stats, elapsed, sw.writer.errors, say,
                            getattr(sw, "picture_captions", None))
        if sw.policy in ("best", "all"):
            from mlx.sweep.tables import log_summary_run
            log_summary_run(folder, rows, spec, sw, say)
    return folder


def run_bayes(sw: Sweep, proposer, n_total: int, to_configs) -> list[dict]:
    """Bayes in rounds: ask a round, train it as one batch, tell the results."""
    rows, offset = [], 0
    while offset < n_total and not proposer.done:
        dicts = proposer.ask(min(sw.opts["round"], n_total - offset))
        if not dicts:
            break
        got = sw.train_configs(to_configs(dicts), offset)
        by_idx = {r["index"]: r for r in got}
        vals = [by_idx[offset + i][sw.metric] if not by_idx[offset + i]["diverged"] else math.nan
                for i in range(len(dicts))]
        proposer.tell(dicts, vals)
        rows += got
        offset += len(dicts)
    return rows


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: mlx sweep SWEEP.yaml [key=value ...]\n\nsweep keys:")
        for k, v in SWEEP_KEYS.items():
            print(f"  {k:<17} {v}")
        print("  any run key      fixed for every config (e.g. data=sample out=runs wandb=disabled)")
        return 0
    run_sweep(argv)
    return 0

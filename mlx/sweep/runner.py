"""``mlx sweep sweep.yaml``: configs in, rows out, through the vectorised engine.

:class:`Sweep` groups the configs (:mod:`mlx.sweep.engine`), cuts each group into the chunks
of its plan, trains them, appends each finished chunk to ``results.jsonl``, keeps the best
configs (:mod:`mlx.sweep.best`) and hands the rows to their views (:mod:`mlx.sweep.views`: run
folders and W&B runs); at the end the sweep's pictures and tables are written
(:mod:`mlx.viz.sweep_figures`, :mod:`mlx.sweep.tables`). The files are described in
:mod:`mlx.sweep.folder`.

Killing it (even kill -9) and running the same command again skips the finished configs, trains
the others in the same programs, and ends with the same results.csv (``seconds`` aside). While a
sweep runs, its folder is locked: a second ``mlx sweep`` into it stops with one line.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import numpy as np

from mlx.config import Config, make_config, role_key
from mlx.errors import UsageError
from mlx.sweep.best import best_key, load_best, load_budget_best, save_best, save_budget_best
from mlx.sweep.configs import plan_configs, run_bayes
from mlx.sweep.engine import ChunkRunner, group_configs, lane_params, lane_rows
from mlx.sweep.folder import (append_rows, config_id, group_id, load_done, load_plan, run_name,
                              safe_folder_name, sweep_folder, sweep_identity)
from mlx.sweep.options import AUTO_ALL_UP_TO, SWEEP_KEYS, init_distributed, parse_sweep_argv, wandb_policy
from mlx.sweep.plan import choose_chunk, plan_chunks
from mlx.sweep.pictures import SweepPictures
from mlx.sweep.views import RunViews
from mlx.track.files import atomic_write_json
from mlx.track.wandb_writer import WandbWriter


def _progress(total: int, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="cfg", desc="sweep", dynamic_ncols=True)


class Sweep(SweepPictures):
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
        self.tshapes: dict = {}  # (TaskData without styles, its Dataset) by the data's key, until loaded in full
        self.plan = {}
        self.stats = {"groups": 0, "chunks": 0, "compile_seconds": 0.0, "train_seconds": 0.0,
                      "lane_epochs": 0, "lane_epochs_full": 0, "hyperband_best_kept": None,
                      "trained": 0, "wandb_seconds": 0.0}
        self.best_params: dict = {}
        self.budget_best: dict = {}  # (model, task, epochs) -> (rank key, run name, filters per epoch)
        self.pictures = bool(fixed.get("pictures", True))
        self.quiet = quiet
        self.n_total = 0
        self.t_start = time.perf_counter()
        self.writer = None
        self.views = None
        self.picture_captions = None
        self.fits = None  # the 2-D models of the pictures (mlx.viz.boundary_models.PlaneFits), process 0
        self.drawing: dict = {}  # (model, task) -> (Future of its figures' captions, their timings)
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
        self.views = RunViews(self.folder, self.opts["run_folders"], self.policy, self.writer,
                              pictures=self.pictures, budget_best=self.budget_best)
        if self.primary and self.pictures:
            from mlx.viz.boundary_models import PlaneFits
            from mlx.viz.sweep_figures import GRID
            self.fits = PlaneFits(GRID)
        self.wandb_mode = mode
        self.say(f"sweep {self.spec.name}: {self.spec.method}, {n_total} configs, {self.n_dev} device(s) "
                 f"[{jax.devices()[0].device_kind}], {len(self.done)} already done -> {self.folder}")
        if self.policy == "best" and self.opts["wandb_runs"] == "auto":
            self.say(f"  W&B: {n_total} configs > {AUTO_ALL_UP_TO}: a W&B run for the best config per "
                     f"model x task x epochs plus one summary run with every config (wandb_runs=all for all)")
        self.bar = _progress(n_total, self.quiet or not self.primary)
        if self.bar is not None:
            self.bar.update(min(len(self.done), n_total))

    def task_data(self, cfg: Config, *, styles: bool = True):
        """cfg's TaskData, loaded once per sweep. styles=False: without an Nvrest task's styles
        where they are not found yet (its pixels and shapes: mlx.tasks.apply_task), kept
        with its Dataset, which the full load then uses instead of loading it again."""
        from mlx.train_run import load_task_data
        key = role_key(cfg, "data")
        if key in self.tdata:
            return self.tdata[key]
        if not styles:
            if key not in self.tshapes:
                self.tshapes[key] = load_task_data(cfg, styles=False)
            return self.tshapes[key][0]
        ds = self.tshapes.pop(key, (None, None))[1]
        self.tdata[key] = load_task_data(cfg, ds=ds)[0]
        return self.tdata[key]

    def chunk_size(self, g, runner, td) -> int:
        """Lanes per chunk: chunk= if given, else the size recorded in plan.json when this
        sweep started, else mlx.sweep.plan.choose_chunk (from the device's total memory; recorded)."""
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
            atomic_write_json(self.folder / "plan.json", self.plan)
        return chunk

    # -- training
    def train_configs(self, cfgs: list[Config], offset: int, *, whole: bool = False) -> list[dict]:
        """Train cfgs (the sweep's configs from offset on) group by group; rows in group order.
        whole: cfgs are all of the sweep's configs, so a model x task whose last group is done is
        final: its 2-D model for the pictures starts and its held best W&B runs are queued while
        the next groups train (the 2-D models of the model x tasks of one group are compiled
        from the start, in one program, while the groups train)."""
        rows = []
        groups = group_configs(cfgs)
        left: dict = {}  # (model, task) -> its groups still to train
        for g in groups:
            left[(g.cfg.model, g.cfg.task)] = left.get((g.cfg.model, g.cfg.task), 0) + 1
        ids = [[config_id(cfgs[ci]) for ci, _, _ in g.members] for g in groups]
        done = [all(i in self.done for i in gids) for gids in ids]
        if whole and self.fits is not None:  # a model x task of one group: its best is in it
            self.prepare_fits([g.cfg for g, d in zip(groups, done)
                               if not d and left[(g.cfg.model, g.cfg.task)] == 1])
        for gi, g in enumerate(groups):
            if done[gi]:
                rows += [self.done[i] for i in ids[gi]]
                self.relog(cfgs, offset, g.members)
            else:
                rows += self.train_group(cfgs, offset, g, gi, len(groups))
            left[(g.cfg.model, g.cfg.task)] -= 1
            if whole and left[(g.cfg.model, g.cfg.task)] == 0:
                if self.fits is not None:  # the last group's: drawn at the end, not waited for there
                    self.start_fit(g.cfg, rows, draw=gi < len(groups) - 1)
                if self.primary:  # its best runs are final: to W&B now, not at the end
                    self.views.submit_held((g.cfg.model, g.cfg.task))
        return rows

    def train_group(self, cfgs, offset, g, gi, n_groups) -> list[dict]:
        from mlx.sweep.hyperband import rungs, stop_lanes
        td = self.task_data(g.cfg)
        snap_bytes = 4 * len(g.lanes) * g.cfg.epochs * td.x_train.shape[1] * max(td.k_out, 1)
        runner = ChunkRunner(g.cfg, td, snapshots=self.pictures and snap_bytes < (512 << 20))
        chunk = self.chunk_size(g, runner, td)
        self.stats["groups"] += 1
        bands, stop_fn = [], None
        et = self.spec.early_terminate
        if et:
            bands = rungs(self.spec, g.cfg.epochs)
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
                views.append(self.views.write_folder(row, td, params))
            append_rows(self.jsonl, finished)   # the durable record
            for row, view in zip(finished, views):
                self.views.submit_run(row, view)
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

    def relog(self, cfgs, offset, members):
        """Configs finished earlier: their run folders and W&B runs, where a kill cut them."""
        if self.primary:
            for ci, _, _ in members:
                row = self.done[config_id(cfgs[ci])]
                self.views.submit_run(row, self.views.write_folder(row, row.get("data_source", "")))

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

    def close(self):
        if self.bar is not None:
            self.bar.close()
        if self.fits is not None:
            self.fits.close()
        if self.writer is not None:
            t0 = time.perf_counter()
            self.writer.close()
            self.stats["wandb_seconds"] = time.perf_counter() - t0


def train_sweep(sw: Sweep, configs: list, proposer, n_total: int) -> list[dict]:
    """Train every config (in rounds for bayes), then queue the held W&B runs and draw the
    sweep's pictures; rows sorted by config index. A failing write is one line, rows kept."""
    try:
        sw.open(n_total, configs)
        if proposer is None:
            rows = sw.train_configs(configs, 0, whole=True)
        else:
            rows = run_bayes(sw, proposer, n_total, lambda ds: [make_config({**d, **sw.fixed}) for d in ds])
        rows = sorted(rows, key=lambda r: r["index"])
        if sw.primary:
            sw.views.submit_held()
        if sw.primary and sw.pictures:  # drawn while the W&B threads finish their queue
            sw.draw_pictures(rows)
        return rows
    except OSError as e:
        raise UsageError(f"cannot write the sweep's files in {sw.folder}: {e.strerror or e}"
                         f"{' (' + e.filename + ')' if getattr(e, 'filename', None) else ''}; "
                         f"{len(sw.done)} finished configs are kept in {sw.jsonl}; fix it and run the "
                         f"same command to resume") from None
    finally:
        sw.close()


def run_sweep(argv: list[str], *, quiet: bool = False, echo=print) -> Path:
    """Run a sweep from command-line arguments; returns the sweep folder."""
    from mlx.sweep.spec import load_sweep
    from mlx.sweep.tables import log_summary_run, write_sweep_outputs
    path, opts, fixed = parse_sweep_argv(argv)
    spec = load_sweep(path)
    init_distributed(opts)
    primary = jax.process_index() == 0
    say = (lambda *a, **k: None) if quiet or not primary else echo
    make_config(fixed)  # bad fixed values fail before anything is written
    folder = Path(fixed.get("out", "runs")) / safe_folder_name(fixed.get("name") or spec.name)
    configs, proposer, n_total = plan_configs(spec, opts, fixed, path)
    with sweep_folder(folder, spec, sweep_identity(spec, fixed, opts), primary):
        sw = Sweep(spec, opts, fixed, folder, say=say, quiet=quiet)
        rows = train_sweep(sw, configs, proposer, n_total)
        if not primary:
            return folder
        elapsed = time.perf_counter() - sw.t_start
        write_sweep_outputs(folder, rows, spec, sw.best_params, sw.stats, elapsed, sw.writer.errors, say,
                            sw.picture_captions)
        if sw.policy in ("best", "all"):
            log_summary_run(folder, rows, spec, sw, say)
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

"""The sweep's outputs: results.csv, the comparison tables, comparison.png, best_filters.png."""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from mlx.sweep.best import best_key
from mlx.track.files import atomic_write_bytes, atomic_write_csv, atomic_write_json, to_jsonable
from mlx.track.provenance import versions
from mlx.track.tracker import Tracker

from mlx.train import METRICS as METRIC_KEYS
PARAM_COLS = ("model", "task", "lr", "epochs", "seed", "weight_decay", "optimizer", "schedule",
              "batch_size", "hidden", "activation", "precision", "data")


def warn(message: str) -> None:
    import sys
    print(f"mlx: warning: {message}", file=sys.stderr, flush=True)


def results_table(rows: list[dict], spec) -> tuple[list[dict], list[str]]:
    """One flat row per config, sorted by index, with per-budget metrics test_accuracy@e."""
    budgets = sorted({int(r["budget"]) for r in rows})
    swept = [k for k in spec.parameters if k not in PARAM_COLS]
    n_styles = max((len(r.get("style_recall") or []) for r in rows), default=0)
    cols = (["index", "name"] + list(PARAM_COLS) + swept + list(METRIC_KEYS)
            + [f"recall_style{s}" for s in range(n_styles)]
            + [f"test_accuracy@{b}" for b in budgets] + [f"test_loss@{b}" for b in budgets]
            + ["diverged", "epochs_trained", "stopped_early", "trajectory", "group", "seconds", "config_id"])
    out = []
    for r in sorted(rows, key=lambda r: r["index"]):
        flat = {k: r.get(k) for k in cols if k in r}
        flat["hidden"] = "x".join(str(h) for h in r["hidden"]) if r["model"] == "mlp" else ""
        for s, v in enumerate(r.get("style_recall") or []):  # recall of the target digit per style
            flat[f"recall_style{s}"] = v
        for b in budgets:
            ok = b <= r["epochs_trained"]
            flat[f"test_accuracy@{b}"] = r["history"]["test_accuracy"][b - 1] if ok else ""
            flat[f"test_loss@{b}"] = r["history"]["test_loss"][b - 1] if ok else ""
        out.append(flat)
    return out, cols


def history_table(rows: list[dict]) -> list[dict]:
    """Every config's per-epoch metrics in one table (index, name, epoch, metrics...)."""
    from mlx.train_run import history_rows
    return [{"index": r["index"], "name": r["name"], **h}
            for r in sorted(rows, key=lambda r: r["index"]) for h in history_rows(r["history"])]


def best_rows(rows: list[dict], by: Callable[[dict], tuple], metric: str, goal: str) -> dict:
    """{by(row): the best row} by mlx.sweep.best.best_key (rows whose key is None are skipped;
    ties: the first row)."""
    best: dict = {}
    for r in rows:
        k = best_key(r, metric, goal)
        if k is None:
            continue
        g = by(r)
        if g not in best or k > best_key(best[g], metric, goal):
            best[g] = r
    return best


def seed_cells(rows: list[dict], metric: str = "test_accuracy") -> list[dict]:
    """The mean and spread over seeds, computed once for comparison.md/.csv and comparison.png:
    one cell per model x task x epochs x lr, in the order the rows first have it, with mean,
    std and min of ``metric`` over the seeds that did not diverge (``seeds``: how many) and
    ``failed``: how many diverged. A run with a non-finite metric counts as failed (the engine
    marks every such run diverged)."""
    groups: dict[tuple, tuple[list, list]] = {}
    for r in rows:
        k = (r["model"], r["task"], int(r["epochs"]), float(r["lr"]))
        values, failed = groups.setdefault(k, ([], []))
        v = float(r[metric]) if r[metric] is not None else math.nan
        (failed if r["diverged"] or not math.isfinite(v) else values).append(v)
    cells = []
    for (model, task, epochs, lr), (values, failed) in groups.items():
        v = np.asarray(values, float)
        mean, std, low = (float(v.mean()), float(v.std()), float(v.min())) if len(v) else (math.nan,) * 3
        cells.append({"model": model, "task": task, "epochs": epochs, "lr": lr, "mean": mean, "std": std,
                      "min": low, "seeds": len(values), "failed": len(failed)})
    return cells


def comparison(rows: list[dict], metric: str = "test_accuracy", goal: str = "maximize",
               cells: list[dict] | None = None):
    """(best: one row per model x task; by_epochs: model x task x epochs at the best lr,
    mean and spread over seeds, from ``cells`` = :func:`seed_cells` of rows and metric)."""
    sgn = 1 if goal == "maximize" else -1
    best = best_rows(rows, lambda r: (r["model"], r["task"]), metric, goal)
    by_budget: dict[tuple, list[dict]] = defaultdict(list)
    for c in seed_cells(rows, metric) if cells is None else cells:
        by_budget[(c["model"], c["task"], c["epochs"])].append(c)
    by_epochs = []
    for k in sorted(by_budget):
        per_lr = {c["lr"]: (c["mean"], c["std"], c["seeds"]) for c in by_budget[k] if c["seeds"]}
        if per_lr:  # ties: the smallest lr
            lr = max(sorted(per_lr), key=lambda l: sgn * per_lr[l][0])
            m, s, n = per_lr[lr]
        else:
            lr, m, s, n = math.nan, math.nan, math.nan, 0
        by_epochs.append({"model": k[0], "task": k[1], "epochs": k[2], "best_lr": lr,
                          f"{metric}_mean": m, f"{metric}_std": s, "seeds": n,
                          "diverged_configs": sum(c["failed"] for c in by_budget[k])})
    return [best[k] for k in sorted(best)], by_epochs


def markdown_tables(best: list[dict], by_epochs: list[dict], metric: str) -> str:
    lines = ["## Best config per model and task", "",
             f"| model | task | {metric} | lr | epochs | seed | run |", "|---|---|---|---|---|---|---|"]
    for r in best:
        lines.append(f"| {r['model']} | {r['task']} | {r[metric]:.4f} | {r['lr']:g} | {r['epochs']} "
                     f"| {r['seed']} | {r['name']} |")
    lines += ["", f"## {metric} by model x task x epochs (best lr; mean ± std over seeds)", "",
              f"| model | task | epochs | best lr | {metric} | seeds | diverged configs |",
              "|---|---|---|---|---|---|---|"]
    for r in by_epochs:
        m, s = r[f"{metric}_mean"], r[f"{metric}_std"]
        lines.append(f"| {r['model']} | {r['task']} | {r['epochs']} | {r['best_lr']:g} | "
                     f"{m:.4f} ± {s:.4f} | {r['seeds']} | {r['diverged_configs']} |")
    return "\n".join(lines) + "\n"


def save_figure(fig, path: Path) -> Path:
    from mlx.viz.common import figure_to_png_bytes
    return atomic_write_bytes(path, figure_to_png_bytes(fig))


def write_sweep_outputs(folder: Path, rows, spec, best_params, stats, elapsed, wandb_errors, say,
                        captions: dict | None = None):
    """Write results.csv, history.csv, comparison.md/.csv, best_runs.json, comparison.png,
    best_filters.png, pictures.json and sweep.json into folder; say the tables and a summary."""
    metric = spec.metric.get("name", "test_accuracy")
    goal = spec.metric.get("goal", "maximize")
    table, cols = results_table(rows, spec)
    atomic_write_csv(folder / "results.csv", table, cols)
    atomic_write_csv(folder / "history.csv", history_table(rows), ["index", "name", "epoch", *METRIC_KEYS])
    cells = seed_cells(rows, metric)
    best, by_epochs = comparison(rows, metric, goal, cells)
    md = markdown_tables(best, by_epochs, metric)
    atomic_write_bytes(folder / "comparison.md", md.encode())
    atomic_write_csv(folder / "comparison.csv", by_epochs)
    atomic_write_json(folder / "best_runs.json", [r["name"] for r in best])
    accuracy_cells = cells if metric == "test_accuracy" else seed_cells(rows, "test_accuracy")
    captions = _draw_sweep_figures(folder, accuracy_cells, best_params, dict(captions or {}))
    atomic_write_json(folder / "pictures.json", captions)
    summary = _sweep_summary(rows, spec, stats, elapsed, wandb_errors)
    atomic_write_json(folder / "sweep.json", summary)
    say(md)
    _say_summary(folder, spec, summary, stats, elapsed, wandb_errors, say)
    return summary


def _draw_sweep_figures(folder: Path, accuracy_cells: list[dict], best_params: dict, captions: dict) -> dict:
    """comparison.png (from the seed cells of test_accuracy) and best_filters.png; each figure
    that cannot be drawn is one warning. Returns captions with theirs added."""
    from mlx.viz.common import CAPTIONS
    from mlx.viz.comparison import comparison_figure
    from mlx.viz.filters import best_filters_figure

    def best_filters():
        entries = best_filter_entries(best_params)
        return best_filters_figure(entries) if entries else None
    figures = [("comparison.png", "comparison", "test accuracy vs learning rate",
                lambda: comparison_figure(accuracy_cells)),
               ("best_filters.png", "best_filters", "filters of the best configs", best_filters)]
    for fname, key, default, draw in figures:
        try:  # a figure that cannot be drawn is one warning, never a lost sweep.json
            fig = draw()
            if fig is not None:
                save_figure(fig, folder / fname)
                captions[fname] = CAPTIONS.get(key, default)
        except Exception as e:
            warn(f"{fname} not drawn ({type(e).__name__}: {' '.join(str(e).split())[:200]})")
    return captions


def _sweep_summary(rows, spec, stats, elapsed, wandb_errors) -> dict:
    """The contents of sweep.json."""
    n = len(rows)
    saved = stats["lane_epochs_full"] - stats["lane_epochs"]
    summary = {
        "name": spec.name, "method": spec.method, "configs": n,
        "diverged": int(sum(bool(r["diverged"]) for r in rows)),
        "trained_this_time": stats["trained"], "groups_trained": stats["groups"],
        "chunks_trained": stats["chunks"], "seconds_total": elapsed,
        "train_seconds": stats["train_seconds"], "compile_seconds": stats["compile_seconds"],
        "configs_per_second": (stats["trained"] / elapsed) if elapsed > 0 and stats["trained"] else None,
        "trajectories": sorted({r["trajectory"] for r in rows}),
        "hyperband": bool(spec.early_terminate),
        "hyperband_config_epochs_saved": saved if spec.early_terminate else 0,
        "hyperband_best_kept": stats["hyperband_best_kept"],
        "pictures_seconds": stats.get("pictures_seconds", 0.0),
        "picture_seconds_by_file": stats.get("picture_seconds_by_file", {}),
        "wandb_close_seconds": stats.get("wandb_seconds", 0.0),
        "wandb_errors": wandb_errors[:20], "versions": versions(),
        "device": __import__("jax").devices()[0].device_kind,
        "devices": len(__import__("jax").devices()),
    }
    return summary


def _say_summary(folder, spec, summary, stats, elapsed, wandb_errors, say) -> None:
    """The sweep's closing lines: configs, times, hyperband's savings, W&B failures, where."""
    n, saved = summary["configs"], summary["hyperband_config_epochs_saved"]
    rate = f", {summary['configs_per_second']:.2f} configs/s" if summary["configs_per_second"] else ""
    say(f"sweep {spec.name}: {n} configs ({summary['diverged']} diverged, "
        f"{stats['trained']} trained now) in {elapsed:.1f}s "
        f"({stats['train_seconds']:.1f}s training + {stats['compile_seconds']:.1f}s compiling){rate}")
    if spec.early_terminate:
        kept = {None: "unknown (verify_hyperband=true checks it)", True: "yes", False: "no"}[
            stats["hyperband_best_kept"]]
        say(f"hyperband: saved {saved} of {stats['lane_epochs_full']} config-epochs; best config kept: {kept}")
    if wandb_errors:
        warn(f"{len(wandb_errors)} W&B run(s) failed, first: {wandb_errors[0][:300]} "
            f"(all in sweep.json); the sweep's files are complete")
    say(f"results: {folder / 'results.csv'}")


def best_filter_entries(best_params: dict) -> list:
    """(title, float[n, 784]) per best model x task: logreg filters or the MLP's most important
    first-layer units."""
    from mlx.models import first_layer
    out = []
    for (model, task), (score, name, params, epochs) in sorted(best_params.items()):
        if model == "logreg":
            w = np.asarray(params["b"]).T
        else:
            w1, imp = (np.asarray(a) for a in first_layer(params))
            w = w1[:, np.argsort(-imp)[:8]].T
        if w.shape[1] != 784:
            continue
        # Configs that share a trajectory keep the lane's final params: the filter shown is the
        # best config's (lr, seed) lane after the epochs it trained, said in the title.
        lane = name.split("-lr", 1)[-1].split("-e")[0] if "-lr" in name else "?"
        seed = name.rsplit("-s", 1)[-1]
        out.append((f"{model} {task}: lr {lane}, seed {seed}, after {epochs} epochs", w))
    return out


def best_per_budget(rows: list[dict], metric: str, goal: str) -> list[dict]:
    """The best config (mlx.sweep.best.best_key) per model x task x epochs."""
    best = best_rows(rows, lambda r: (r["model"], r["task"], int(r["epochs"])), metric, goal)
    return [best[k] for k in sorted(best)]


def log_summary_run(folder: Path, rows: list[dict], spec, sw, say) -> None:
    """W&B at the end of a sweep: with wandb_runs=best a run for each best config per model x
    task x epochs, and always one summary run (job type "summary", in the sweep's group) with
    every config as a wandb.Table row (for W&B's parallel-coordinates and scatter panels) and
    the sweep's pictures. Rerunning replaces the summary run, never adds a second one."""
    import shutil

    import wandb

    from mlx.sweep.folder import run_summary
    from mlx.track.wandb_writer import WandbWriter
    from mlx.train_run import history_rows
    from mlx.config import FIELDS
    metric, goal = spec.metric.get("name", "test_accuracy"), spec.metric.get("goal", "maximize")
    if sw.policy == "best":
        w = WandbWriter(sw.wandb_mode, sw.base.wandb_project, spec.name)
        for r in best_per_budget(rows, metric, goal):
            cfg = {k: r[k] for k in FIELDS}
            image, evolution = sw.views.best_pictures((r["model"], r["task"], int(r["epochs"])), r["name"],
                                                      final=True)
            w.submit(folder / "runs" / r["name"], cfg, history_rows(r["history"]), run_summary(r, ""),
                     image, evolution)
        w.close()
        sw.writer.errors += w.errors
    table, cols = results_table(rows, spec)
    run_dir = folder / "summary"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    try:
        t = Tracker(mode=sw.wandb_mode, project=sw.base.wandb_project, name=f"{spec.name}-summary",
                          group=spec.name, config={"sweep": spec.raw, "configs": len(rows)},
                          run_dir=run_dir, tags=["summary"], job_type="summary")
        def cell(v):
            return None if v == "" else str(v) if isinstance(v, (list, dict)) else to_jsonable(v)
        data = [[cell(r.get(c)) if not (c == "hidden") else str(r.get(c)) for c in cols] for r in table]
        t.log({"configs": wandb.Table(columns=cols, data=data)})
        pics = {p.stem: (p, p.stem.replace("_", " ")) for p in sorted(folder.glob("*.png"))}
        t.log_images(pics)
        t.finish({"configs": len(rows), "diverged": int(sum(bool(r["diverged"]) for r in rows))})
    except Exception as e:  # W&B trouble must never lose the sweep's files
        warn(f"the W&B summary run failed ({type(e).__name__}: {' '.join(str(e).split())[:200]})")

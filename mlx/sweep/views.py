"""A sweep's per-config views of its rows: the run folders (config.json, history.csv,
summary.json, filter.png) and the W&B runs, where the sweep has them (run_folders=,
wandb_runs=). The best config of each model x task x epoch budget is held back until the
sweep ends, so its W&B run can carry its filter after every epoch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mlx.config import FIELDS
from mlx.sweep.folder import run_summary, write_run_folder
from mlx.track.wandb_writer import WandbWriter
from mlx.train_run import history_rows


class RunViews:
    """folder: the sweep folder; policy: the W&B policy (all | best | none); budget_best: the
    sweep's {(model, task, epochs): (rank key, run name, filters per epoch)}, read live."""

    def __init__(self, folder: Path, run_folders: str, policy: str, writer: WandbWriter, *,
                 pictures: bool, budget_best: dict):
        self.folder, self.run_folders, self.policy, self.writer = folder, run_folders, policy, writer
        self.pictures, self.budget_best = pictures, budget_best
        self.held: dict = {}  # (model, task, epochs) -> (run name, W&B run waiting for its best status)

    def lane_picture(self, row: dict, params_fn):
        if not (self.pictures and params_fn is not None) or row["diverged"]:
            return None
        try:
            from mlx.viz.lane_images import lane_image
            return lane_image(row["model"], params_fn())
        except Exception as e:  # a picture never stops the sweep
            self.writer.errors.append(f"{row['name']}: picture: {type(e).__name__}: {e}")
            return None

    def write_folder(self, row: dict, td_or_source, params_fn=None):
        """The config's run folder (config.json, history.csv, summary.json, filter.png), where
        this sweep has one (run_folders=); returns what its W&B run needs, or None."""
        if self.run_folders == "false" or self.run_folders == "auto" and self.policy != "all":
            return None
        source = getattr(td_or_source, "source", td_or_source)
        rf = self.folder / "runs" / row["name"]
        cfg = {k: row[k] for k in FIELDS}
        hist = history_rows(row["history"])
        summary = run_summary(row, source)
        if not (rf / "summary.json").exists():  # else written before (a resumed sweep), picture and all
            write_run_folder(rf, cfg, hist, summary, self.lane_picture(row, params_fn))
        image = rf / "filter.png"  # W&B copies the PNG as it is (no second encoding)
        return rf, cfg | {"data_source": source}, hist, summary, str(image) if image.exists() else None

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

    def submit_held(self, model_task: tuple | None = None) -> None:
        """The held best configs' W&B runs (of one model x task whose configs are all trained,
        or all), each with its filter after the epochs ``mlx train`` logs it at (every
        ceil(E/10)-th and the last)."""
        for bk, (name, view) in sorted(self.held.items()):
            if model_task is None or bk[:2] == tuple(model_task):
                self.writer.submit(*view, evolution=self.best_pictures(bk, name)[1])
                del self.held[bk]

    def best_pictures(self, bk: tuple, name: str, *, final: bool = False):
        """(the last filter as an image when ``final``, else None; {epoch: filter image}) of the
        config ``name`` if it is the best of its model x task x epoch budget ``bk`` (its lane's
        per-epoch logreg filters were kept), else (None, {}). A picture that fails is one line in
        the W&B writer's errors, never a stopped sweep."""
        best = self.budget_best.get(bk)
        if not self.pictures or best is None or best[1] != name:
            return None, {}
        try:
            image = None
            if final:
                from mlx.viz.lane_images import lane_image
                image = lane_image(bk[0], {"b": np.asarray(best[2])[-1]})
            return image, filter_evolution_images(bk[0], best[2])
        except Exception as e:  # a picture never stops the sweep
            self.writer.errors.append(f"{name}: filter pictures: {type(e).__name__}: {e}")
            return None, {}


def filter_evolution_images(model: str, snaps) -> dict:
    """{epoch: uint8[H, W, 3]}: a lane's filter (snapshots float[E, d, k]) after the epochs
    ``mlx train`` logs it at (every ceil(E/10)-th and the last), as W&B images."""
    from mlx.viz.lane_images import lane_images
    from mlx.viz.run_figures import filter_epochs
    snaps = np.asarray(snaps)
    picks = filter_epochs(len(snaps))
    return dict(zip(picks, lane_images(model, {"b": snaps[[e - 1 for e in picks]]})))

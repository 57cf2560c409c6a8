"""The sweep's pictures as the sweep trains (the :class:`mlx.sweep.runner.Sweep` methods that
hand them to :class:`mlx.viz.boundary_models.PlaneFits`): the 2-D models compiled from the start,
each model x task's 2-D model and figures started as soon as its configs are all trained (drawn
in the background while the next groups train), the rest drawn at the end."""
from __future__ import annotations

import gc
import time

from mlx.config import FIELDS, Config, make_config


class SweepPictures:
    """Mixed into Sweep: uses its fits, drawing, folder, metric, goal, best_params, budget_best,
    stats and task_data."""

    def prepare_fits(self, cfgs: list[Config]):
        """Compile the 2-D models of the model x tasks of cfgs (one group each) in one program
        (mlx.viz.boundary_models.PlaneFits.prepare), in the background, from their tasks'
        shapes (loaded without styles); then load those tasks in full here. An Nvrest task's
        styles (scikit-learn's import and a k-means: seconds on one core) are most of that load,
        so the compile runs on the otherwise idle core instead of beside the first group's
        training. A task that cannot load is skipped here: its group says why."""
        from mlx.sweep.tables import warn
        from mlx.viz.boundary_models import has_plane
        specs = []
        for cfg in cfgs:
            try:
                td = self.task_data(cfg, styles=False)
            except Exception:  # noqa: BLE001  (the group's own load raises it, in its turn)
                continue
            if has_plane(td):
                specs.append((cfg, cfg.task, td))
        try:
            self.fits.prepare(specs)
        except Exception as e:  # pictures never stop the sweep (each fit compiles at its turn)
            warn(f"the 2-D models were not prepared ({type(e).__name__}: {e})")
        for cfg, _, _ in specs:
            try:
                self.task_data(cfg)
            except Exception:  # noqa: BLE001  (as above)
                continue

    def start_fit(self, cfg: Config, rows: list[dict], *, draw: bool = True):
        """Start the 2-D model of the best config of cfg's model x task (its configs all
        trained) and, with draw, the drawing of that model x task's figures (in the background,
        while the next groups train; mlx.viz.sweep_figures.draw_model_task_pictures)."""
        from mlx.sweep.tables import best_rows, warn
        from mlx.viz.boundary_models import has_plane
        from mlx.viz.sweep_figures import draw_model_task_pictures
        mt = (cfg.model, cfg.task)
        try:
            mine = [r for r in rows if (r["model"], r["task"]) == mt]
            best = best_rows(mine, lambda r: (r["model"], r["task"]), self.metric, self.goal).get(mt)
            td = self.task_data(cfg)
            if best is not None and has_plane(td):
                self.fits.fit(best, cfg.task, td)
            if not draw:
                return
            timings: dict = {}
            self.drawing[mt] = (self.fits.draw(
                draw_model_task_pictures, self.folder, mine,
                {k: v for k, v in self.best_params.items() if k == mt},
                {bk: v[2] for bk, v in self.budget_best.items() if bk[:2] == mt}, cfg.task, td,
                fits=self.fits, metric=self.metric, goal=self.goal, timings=timings,
                styles=cfg.task not in {t for _, t in self.drawing}), timings)
        except Exception as e:  # pictures never stop the sweep (the end tries again, and says why)
            warn(f"the pictures of {cfg.model} on {cfg.task} did not start ({type(e).__name__}: {e})")

    def draw_pictures(self, rows: list[dict]):
        """The sweep's own pictures (boundaries, styles, learning curves, filter evolution),
        drawn once per sweep from the best configs: those of the model x tasks drawn while the
        sweep trained are waited for, the rest drawn now; their seconds go to sweep.json
        (pictures_seconds: the time spent here, after the training)."""
        t0 = time.perf_counter()
        timings = self.stats.setdefault("picture_seconds_by_file", {})
        try:
            from mlx.viz.sweep_figures import draw_sweep_pictures
            drawn = self._drawn(timings)
            first = {}
            for r in rows:
                first.setdefault(r["task"], r)
            tds = {t: self.task_data(make_config({k: r[k] for k in FIELDS if k in r}))
                   for t, r in first.items()}
            gc.freeze()  # the drawing's many short-lived objects: no rescans of the sweep's heap
            try:  # in the drawing thread (warm: matplotlib's font cache is per thread)
                self.picture_captions = self.fits.draw(
                    draw_sweep_pictures, self.folder, rows, self.best_params,
                    {bb: v[2] for bb, v in self.budget_best.items()}, tds, metric=self.metric,
                    goal=self.goal, timings=timings, fits=self.fits, drawn=drawn).result()
            finally:
                gc.unfreeze()
        except Exception as e:  # pictures never lose the sweep's results
            from mlx.sweep.tables import warn
            warn(f"the sweep's pictures were not drawn ({type(e).__name__}: {' '.join(str(e).split())[:200]})")
        self.stats["pictures_seconds"] = time.perf_counter() - t0

    def _drawn(self, timings: dict) -> dict:
        """{(model, task): captions} of the figures drawn while the sweep trained (waited for);
        a model x task whose drawing failed is drawn again by the caller, and says why."""
        from mlx.sweep.tables import warn
        drawn = {}
        for mt, (future, seconds) in self.drawing.items():
            try:
                drawn[mt] = future.result()
                timings.update(seconds)
            except Exception as e:
                warn(f"the figures of {mt[0]} on {mt[1]} were not drawn while the sweep trained "
                     f"({type(e).__name__}: {e}); drawing them now")
        return drawn

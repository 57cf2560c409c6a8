"""The sweep-level pictures, drawn once per sweep from what the sweep already holds (no
retraining of a config): :func:`draw_sweep_pictures` writes the decision boundaries (the PCA
plane and the 2-D model) of the best config per model x task, the per-epoch filter evolution of
the best logreg lane of each epoch budget, the learning curves of the best config per model x
task x budget, and for ``Nvrest`` tasks the styles of the digit with the per-style recall of the
best logreg and the best MLP. One function per family of figures; the models they evaluate are
in :mod:`mlx.viz.boundary_models`, the per-config lane pictures in :mod:`mlx.viz.lane_images`.

"Best" is :func:`mlx.sweep.best.best_key` everywhere (the best metric among configs that did not
diverge, ties to the lowest index). Nothing here imports W&B; files are written only inside the
folder given to :func:`draw_sweep_pictures`.
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from mlx.sweep.tables import best_rows
from mlx.track.files import atomic_write_bytes
from mlx.viz import boundaries, comparison, filters, style_figures
from mlx.viz.boundary_models import TWO_D_EPOCHS, PlaneFits, has_plane
from mlx.viz.common import figure_to_png_bytes

GRID = 120  # lattice of the decision-boundary pictures (per axis; contours are interpolated)


def warn(message: str) -> None:
    print(f"mlx: warning: {' '.join(str(message).split())[:300]}", file=sys.stderr, flush=True)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+=@-]+", "_", str(text)).strip("._") or "x"


def _lr(row: dict) -> str:
    try:
        return f"{float(row['lr']):g}"
    except (KeyError, TypeError, ValueError):
        return "?"


def _epochs(n) -> str:
    return f"{n} epoch" + ("" if int(n) == 1 else "s")


def _about(row: dict) -> str:
    return f"{row['name']}: lr {_lr(row)}, {_epochs(row['epochs'])}, seed {row.get('seed', '?')}"


@dataclass
class _Sweep:
    """What the families of figures draw from. emit(file name, caption, draw) writes one."""
    emit: Callable
    rows: list
    best_mt: dict          # {(model, task): best row}
    best_mte: dict         # {(model, task, epochs): best row}
    best_params: dict
    snapshots: dict
    task_data: dict
    planes: dict           # {task: (mean, comps) or the Exception that stopped it}
    boundary: list         # the (model, task) pairs with decision boundaries
    fits: dict             # {(model, task): Future of the 2-D model}
    slices: dict           # {(model, task): (the best params' row, Future of their p(x) on the plane)}
    captions: dict         # {file name: caption} of what emit wrote
    done: set = frozenset()  # file names drawn before (while the sweep trained): not drawn again


def draw_sweep_pictures(folder, rows, best_params, snapshots, task_data, *,
                        metric: str = "test_accuracy", goal: str = "maximize",
                        timings: dict | None = None, fits: PlaneFits | None = None,
                        drawn: dict | None = None) -> dict[str, str]:
    """Write the sweep-level PNGs into ``folder`` (never outside it); returns {file name: caption}.

    rows: the sweep's rows (config fields, name, index, history, final metrics, diverged,
    style_recall for Nvrest tasks). best_params: {(model, task): (rank key, run name, params,
    epochs trained)}. snapshots: {(model, task, epoch budget): float[epochs, d, k]} per-epoch
    logreg filters of the best lane of that budget (may be empty). task_data: {task name: TaskData}.

    Per model x task (:func:`draw_model_task_pictures`), for each best (model, task) of a binary
    image task: ``decision_boundary_<model>-<task>.png`` (the best params' p(x) on the PC1-PC2
    plane of the task's data) and ``decision_boundary_2d_<model>-<task>.png`` (the same model
    with the best config's settings, trained on the 2 principal components only,
    :func:`mlx.viz.boundary_models.train_2d`: the one training this adds);
    ``filter_evolution_<model>-<task>.png`` from snapshots (a row per epoch budget). For the
    sweep as a whole: ``learning_curves.png`` (test accuracy and loss per epoch of the best
    config per model x task x budget); for each Nvrest task ``styles_<task>.png`` and
    ``style_recall_<task>.png`` (per-style recall of the best logreg and the best MLP at their
    budgets, style counts on the axis). Each is drawn once; one that fails is a one-line warning
    on stderr and the others are still drawn. timings, when given, gets the wall seconds of each
    file (and of "pca_plane") for the sweep's own records. fits: the planes and 2-D models, where
    a sweep started them while it trained (else made here). drawn: {(model, task): its captions}
    of the model x tasks whose figures a sweep drew while it trained (not drawn again here).
    The captions come in :func:`figure_order`.
    """
    drawn = drawn or {}
    timings = {} if timings is None else timings
    own = fits is None
    fits = PlaneFits(GRID) if own else fits
    try:
        sw = _sweep_of(Path(folder), rows, best_params, snapshots, task_data or {}, metric, goal,
                       timings, fits, skip=set(drawn))
        sw.done = {f for captions in drawn.values() for f in captions}
        for family in (*_SWEEP_WIDE, *_PER_MODEL_TASK):
            family(sw)  # the sweep-wide first: the 2-D models and p(x) are computed in the background meanwhile
    finally:  # an interrupt does not wait for 2-D models nobody will draw
        if own:
            fits.close()
    captions = dict(sw.captions)
    for done in drawn.values():
        captions.update(done)
    return {f: captions[f] for f in sorted(captions, key=figure_order)}


def draw_model_task_pictures(folder, rows, best_params, snapshots, task: str, td, *, fits: PlaneFits,
                             metric: str = "test_accuracy", goal: str = "maximize",
                             timings: dict | None = None, styles: bool = False) -> dict[str, str]:
    """The figures of one model x task (rows: all of its rows, its configs all trained): its
    filter evolution and its two decision boundaries, as :func:`draw_sweep_pictures` draws them
    (the same functions, from the same final inputs; td: the TaskData of ``task``). A sweep
    calls this in the pictures' drawing thread (:meth:`PlaneFits.draw`) as soon as a model x
    task's last group is trained, so its figures are drawn while the next groups train, and
    hands the captions to :func:`draw_sweep_pictures` as ``drawn``. styles: also the task's
    styles figure (it needs the task's data only). Returns {file name: caption}."""
    timings = {} if timings is None else timings
    sw = _sweep_of(Path(folder), rows, best_params, snapshots, {task: td}, metric, goal, timings, fits)
    for family in (_styles, *_PER_MODEL_TASK) if styles else _PER_MODEL_TASK:
        family(sw)
    return sw.captions


# The order of the sweep's figures (captions, pictures.json, the summary run): (file name
# prefix, family, place within a model x task or task), the family's figures by name.
_ORDER = (("filter_evolution_", 0, 0), ("decision_boundary_2d_", 1, 1), ("decision_boundary_", 1, 0),
          ("styles_", 2, 0), ("style_recall_", 2, 1), ("learning_curves", 3, 0))


def figure_order(fname: str) -> tuple:
    """Sort key of a sweep figure's file name: by family, each model x task's decision
    boundary on the PCA plane next to its 2-D model's, each task's styles next to their recall."""
    for prefix, family, place in _ORDER:
        if fname.startswith(prefix):
            return (family, fname[len(prefix):], place)
    return (len(_ORDER), fname, 0)


def _sweep_of(folder: Path, rows, best_params, snapshots, task_data: dict, metric, goal, timings,
              fits: PlaneFits, skip: set = frozenset()) -> "_Sweep":
    """What the families draw from; the model x tasks in skip are left out of the per model x
    task families. Starts (or finds started) the 2-D models of the boundaries to draw."""
    rows = sorted(rows, key=lambda r: r["index"])
    captions: dict[str, str] = {}
    best_mt = best_rows(rows, lambda r: (r["model"], r["task"]), metric, goal)
    # The 2-D models are the only training here: they run in the background thread (JAX leaves
    # the GIL while it compiles and computes) while this thread draws the other figures.
    boundary = [(m, t) for (m, t) in sorted(best_mt) if t in task_data and (m, t) not in skip
                and has_plane(task_data[t])]
    started = {(m, t): fits.fit(best_mt[(m, t)], t, task_data[t]) for m, t in boundary}
    planes = _planes(boundary, fits, timings)
    by_name = {r["name"]: r for r in rows}
    slices = {}
    for m, t in boundary:  # the best params' p(x) on the plane, computed in the background too
        entry = best_params.get((m, t))
        if entry is not None and not isinstance(planes[t], Exception):
            prow = by_name.get(entry[1], best_mt[(m, t)])
            slices[(m, t)] = (prow, fits.slice(prow, entry[2], t, task_data[t]))
    return _Sweep(partial(_emit, folder, captions, timings, lambda: fits.closing), rows, best_mt,
                  best_rows(rows, lambda r: (r["model"], r["task"], int(r["epochs"])), metric, goal),
                  best_params, {k: v for k, v in (snapshots or {}).items() if tuple(k[:2]) not in skip},
                  task_data, planes, boundary,
                  {mt: f for mt, f in started.items() if not isinstance(planes[mt[1]], Exception)}, slices,
                  captions)


def _emit(folder: Path, captions: dict, timings: dict, stopped: Callable, fname: str, caption: str,
          draw: Callable) -> None:
    """Draw one figure and write it as folder/fname with its caption; a figure that fails (or a
    name that would leave the folder) is one warning. Its wall seconds go to timings. Nothing
    is drawn once stopped() (an interrupted sweep closing its pictures' threads)."""
    if stopped():
        return
    path = folder / fname
    if path.resolve().parent != folder.resolve():  # a name can never leave the folder
        warn(f"{fname!r} is not a plain file name; not drawn")
        return
    t0 = time.perf_counter()
    try:
        fig = draw()
        if fig is None:
            return
        atomic_write_bytes(path, figure_to_png_bytes(fig))
        fig.clf()
        captions[fname] = caption
    except Exception as e:  # a figure that fails is a warning, never a lost sweep
        warn(f"{fname} not drawn ({type(e).__name__}: {e})")
    finally:
        timings[fname] = time.perf_counter() - t0


def _planes(boundary: list, fits: PlaneFits, timings: dict) -> dict:
    """{task: its PCA plane, or the Exception that stopped it (a warning)}."""
    planes: dict = {}
    for task in dict.fromkeys(t for _, t in boundary):
        try:
            planes[task] = fits.planes[task].result()
        except Exception as e:
            planes[task] = e
            warn(f"the PCA plane of {task} failed ({type(e).__name__}: {e}); its decision boundaries are not drawn")
    timings["pca_plane"] = fits.seconds.get("pca_plane", 0.0)
    return planes


# ---------------------------------------------------------------- filters


def _filter_evolutions(sw: _Sweep) -> None:
    """filter_evolution_<model>-<task>.png: how the filters of the best logreg lane of each
    epoch budget formed."""
    by_mt: dict = {}
    for (model, task, budget), snaps in sorted(sw.snapshots.items()):
        by_mt.setdefault((model, task), []).append((budget, snaps))
    for (model, task), budgets in by_mt.items():
        td = sw.task_data.get(task)
        names = tuple(td.class_names) if td is not None else ("zero", "one")
        who = {b: sw.best_mte.get((model, task, b)) for b, _ in budgets}
        about = "; ".join(_about(r) for r in who.values() if r)
        sw.emit(f"filter_evolution_{_safe(model)}-{_safe(task)}.png",
                f"How the filter of the best {model} on {task} of each epoch budget formed ({about}): the weights "
                f"b of its lane after each epoch (every n-th for long budgets, the last included), a row per budget "
                f"on its own colour scale (red towards '{names[-1]}', blue towards "
                f"'{names[0] if len(names) == 2 else 'others'}').",
                partial(_filter_evolution_figure, budgets, model, task, names, td, who))


def _filter_evolution_figure(budgets, model, task, names, td, who):
    from mlx.viz.run_figures import filter_epochs
    blocks = []
    for budget, snaps in budgets:
        s = np.asarray(snaps, dtype=np.float32)
        ep = filter_epochs(len(s))  # the cadence mlx train logs its filters at (<= 11)
        r = who[budget]
        label = f"best of {_epochs(budget)}: " + (f"{r['name']} (lr {_lr(r)})" if r else "?")
        blocks.append((label, s[[e - 1 for e in ep]], ep))
    return filters.filter_evolution_by_budget(
        blocks, class_names=names, image_shape=td.image_shape if td is not None else (28, 28),
        title=f"{model} on {task}: the filter after each epoch, best config of each epoch budget")


# ---------------------------------------------------------------- decision boundaries


def _decision_boundaries(sw: _Sweep) -> None:
    """decision_boundary_<model>-<task>.png: the best params' p(x) on the PCA plane of the task."""
    for model, task in sw.boundary:
        if (model, task) not in sw.slices:
            continue
        entry = sw.best_params[(model, task)]
        prow, fut = sw.slices[(model, task)]
        sw.emit(f"decision_boundary_{_safe(model)}-{_safe(task)}.png",
                f"The best {model} on {task} ({_about(prow)}; its lane's params after "
                f"{_epochs(entry[3])}) seen on the plane of the first two principal components of the task's "
                f"training images: p(x), black line p = 0.5, test points by true class.",
                partial(_boundary_figure, prow, entry, fut, sw.task_data[task], model, task))


def _boundary_figure(prow, entry, fut, td, model, task):
    names = tuple(td.class_names)
    return boundaries.slice_figure(
        fut.result(), class_names=(names[0], names[1]),
        title=f"{model} on {task}, best config ({prow['name']}, after {_epochs(entry[3])}):\n"
              f"p(x) on the PC1-PC2 plane (plane pixels clipped to [0, 1])")


def _decision_boundaries_2d(sw: _Sweep) -> None:
    """decision_boundary_2d_<model>-<task>.png: the 2-D models (trained in the background
    meanwhile), their whole decision boundary."""
    for model, task in sw.boundary:
        if (model, task) not in sw.fits:
            continue
        row = sw.best_mt[(model, task)]
        n_ep = min(int(row["epochs"]), TWO_D_EPOCHS)
        sw.emit(f"decision_boundary_2d_{_safe(model)}-{_safe(task)}.png",
                f"{model} with the settings of the best config on {task} ({_about(row)}) trained on the "
                f"two principal components only ({_epochs(n_ep)}): the whole model's decision boundary "
                f"in that plane.",
                partial(_boundary_2d_figure, sw.fits[(model, task)], row, sw.task_data[task], model, task, n_ep))


def _boundary_2d_figure(fut, row, td, model, task, n_ep):
    z_te, proba2 = fut.result()
    names = tuple(td.class_names)
    return boundaries.decision_boundary_2d(
        z_te, td.y_test, proba2, class_names=(names[0], names[1]), grid=GRID,
        title=f"{model} with the best config's settings ({row['name']}) trained on the\n"
              f"2 principal components only ({task}, {_epochs(n_ep)})")


# ---------------------------------------------------------------- styles


def _style_tasks(sw: _Sweep):
    """(task, td, digit, styles) of each Nvrest task of the sweep whose styles were found."""
    for task in sorted({r["task"] for r in sw.rows}):
        td = sw.task_data.get(task)
        if td is not None and td.task.kind == "rest" and td.styles is not None:
            yield task, td, td.task.b, td.styles


def _styles(sw: _Sweep) -> None:
    """styles_<task>.png: the styles of the digit of each Nvrest task (from its data only)."""
    for task, td, digit, cl in _style_tasks(sw):
        if f"styles_{_safe(task)}.png" in sw.done:
            continue
        sw.emit(f"styles_{_safe(task)}.png",
                f"The styles of a {digit} found by k-means on PCA components of the training {digit}s "
                f"(k = {cl.k} by silhouette): each style's mean image and members from typical to unusual.",
                partial(_styles_figure, td, cl, digit))


def _style_recalls(sw: _Sweep) -> None:
    """style_recall_<task>.png: the per-style recall of the best config of each model on each
    Nvrest task."""
    for task, td, digit, cl in _style_tasks(sw):
        per_model = {m: r for (m, t), r in sorted(sw.best_mt.items()) if t == task and r.get("style_recall")}
        if not per_model:
            continue
        who = "; ".join(_about(r) for r in per_model.values())
        sw.emit(f"style_recall_{_safe(task)}.png",
                f"Recall of the test {digit}s of each style (n per style on the axis) for the best "
                f"config of each model on {task}, at its budget ({who}).",
                partial(_style_recall_figure, td, cl, per_model, digit, task))


def _styles_figure(td, cl, digit):
    pos = td.x_train[td.y_train == 1].astype(np.float32) / 255.0
    return style_figures.styles_figure(
        pos, cl, image_shape=td.image_shape or (28, 28),
        title=f"The {cl.k} styles of a {digit} (k-means on PCA of the "
              f"{len(pos)} training {digit}s): mean and members, typical to unusual")


def _style_recall_figure(td, cl, per_model, digit, task):
    ts = np.asarray(td.test_style)
    counts = np.bincount(ts[ts >= 0], minlength=cl.k)
    recalls = {}
    for m, r in per_model.items():
        rec = np.asarray(r["style_recall"], dtype=np.float64)
        if rec.size != cl.k:
            raise ValueError(f"{r['name']} has {rec.size} style recalls for {cl.k} styles")
        recalls[f"{m} (lr {_lr(r)}, {r['epochs']} ep)"] = rec
    return style_figures.style_recall_figure(
        recalls, counts, means=cl.means, image_shape=td.image_shape or (28, 28),
        title=f"Recall of the {digit}s of each style, best config per model on {task}")


# ---------------------------------------------------------------- learning curves


def _learning_curves(sw: _Sweep) -> None:
    """learning_curves.png: test accuracy and loss per epoch of the best config per model x
    task x budget."""
    sw.emit("learning_curves.png",
            "Test accuracy and test loss (log scale) after each epoch of the best config per model, "
            "task and epoch budget (by the sweep's metric; the lr of each in the legend).",
            partial(_learning_curves_figure, sw.best_mte))


def _learning_curves_figure(best_mte: dict):
    curves = [{"model": m, "task": t, "epochs": e,
               "label": f"{m}, {e} ep (lr {_lr(r)})",
               "test_accuracy": r["history"]["test_accuracy"], "test_loss": r["history"]["test_loss"]}
              for (m, t, e), r in sorted(best_mte.items())]
    return comparison.learning_curves_figure(curves) if curves else None


_PER_MODEL_TASK = (_filter_evolutions, _decision_boundaries, _decision_boundaries_2d)
_SWEEP_WIDE = (_styles, _style_recalls, _learning_curves)

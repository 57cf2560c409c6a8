"""The pictures of a sweep, drawn from what the sweep already holds (no retraining of a config).

* :func:`lane_image` / :func:`lane_images`: one lane's final params as a small RGB picture, numpy
  only (no matplotlib, about a millisecond), for every config's W&B run: the logreg filter(s) b,
  or the MLP's most important first-layer units. ``lane_images`` does a stack of lanes at once.
* :func:`draw_sweep_pictures`: the sweep-level PNGs, each drawn once per sweep: decision
  boundaries (the PCA plane and the 2-D model) of the best config per model x task, the
  per-epoch filter evolution of the best logreg lane of each epoch budget, the learning curves of the best config
  per model x task x budget, and for ``Nvrest`` tasks the styles of the digit with the per-style
  recall of the best logreg and the best MLP.

"Best" is :func:`mlx.sweep.runner.best_key` everywhere (the best metric among configs that did not
diverge, ties to the lowest index). Nothing here imports W&B; files are written only inside the
folder given to :func:`draw_sweep_pictures`.
"""
from __future__ import annotations

import math
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["lane_image", "lane_images", "lane_weights", "draw_sweep_pictures", "best_rows",
           "pca_plane", "RDBU_R_LUT"]

# ColorBrewer RdBu (11 classes), the anchors matplotlib's RdBu is interpolated between; reversed,
# so -1 is dark blue, 0 near-white and +1 dark red, as RdBu_r in mlx.viz.figures.
_RDBU_ANCHORS = ("67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7",
                 "d1e5f0", "92c5de", "4393c3", "2166ac", "053061")[::-1]


def _make_lut(n: int = 256) -> np.ndarray:
    anchors = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in _RDBU_ANCHORS], np.float64)
    t = np.linspace(0.0, 1.0, n) * (len(anchors) - 1)
    lo = np.minimum(t.astype(int), len(anchors) - 2)
    f = (t - lo)[:, None]
    rgb = anchors[lo] * (1 - f) + anchors[lo + 1] * f
    return np.round(rgb).astype(np.uint8)


RDBU_R_LUT = _make_lut()               # uint8[256, 3]: index 0 = most negative, 255 = most positive
_BACKGROUND = 256                      # index of the gap between tiles
_NONFINITE = 257                       # index of a NaN / inf weight
_LUT = np.concatenate([RDBU_R_LUT, np.array([[255, 255, 255], [120, 120, 120]], np.uint8)])


def _leaf(params: dict, *path: str) -> np.ndarray:
    node = params
    for p in path:
        node = node[p]
    return np.asarray(node, dtype=np.float32)


def lane_weights(model: str, params: dict, *, n_units: int = 8) -> np.ndarray:
    """float32[..., n, d]: the pictures' weight vectors of a lane (or of lanes stacked on
    leading axes). logreg: its k filters b.T; mlp: the n_units first-layer units with the
    largest outgoing weight norm (the importance of :func:`mlx.models.first_layer`, in numpy),
    largest first (ties: the lower unit)."""
    if model == "logreg":
        return np.swapaxes(_leaf(params, "b"), -1, -2)
    if model == "mlp":
        w1 = _leaf(params, "hidden_0", "kernel")                       # [..., d, h]
        nxt = _leaf(params, "hidden_1" if "hidden_1" in params else "out", "kernel")  # [..., h, k]
        imp = np.sqrt(np.sum(np.square(nxt.astype(np.float64)), axis=-1))  # [..., h]
        imp = np.where(np.isfinite(imp), imp, -np.inf)
        m = max(1, min(int(n_units), w1.shape[-1]))
        order = np.argsort(-imp, axis=-1, kind="stable")[..., :m]     # [..., m]
        units = np.take_along_axis(w1, order[..., None, :], axis=-1)  # [..., d, m]
        return np.swapaxes(units, -1, -2)
    raise ValueError(f"lane_image: unknown model {model!r}; allowed: logreg, mlp")


def _tile_grid(n: int) -> tuple[int, int]:
    """(rows, cols) for n tiles: one row up to 5, two rows up to 10 (2x4 for 8), else square."""
    if n <= 5:
        return 1, n
    if n <= 10:
        return 2, math.ceil(n / 2)
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def lane_images(model: str, params: dict, image_shape=(28, 28), *, n_units: int = 8,
                scale: int = 4, gap: int = 1) -> np.ndarray:
    """uint8[L, H, W, 3] for L lanes whose params are stacked on a leading axis (the engine's
    layout), vectorised over lanes. Each lane on its own symmetric scale (max |w| of its tiles,
    0 white, red positive, blue negative), tiles on a grid with a white gap, every pixel
    scale x scale; NaN/inf weights grey. image_shape None, or not matching d: one row per tile."""
    w = lane_weights(model, params, n_units=n_units)
    if w.ndim == 2:
        w = w[None]
    lanes, n, d = w.shape
    h, wd = (int(s) for s in image_shape) if image_shape is not None else (1, d)
    if h * wd != d:
        h, wd = 1, d
    finite = np.isfinite(w)
    vmax = np.max(np.where(finite, np.abs(w), 0.0), axis=(1, 2))
    vmax = np.where(vmax > 0, vmax, 1.0)[:, None, None]
    idx = np.rint((np.clip(np.where(finite, w, 0.0) / vmax, -1.0, 1.0) + 1.0) * 127.5).astype(np.int16)
    idx[~finite] = _NONFINITE
    rows, cols = _tile_grid(n) if h > 1 else (n, 1)
    tiles = np.full((lanes, rows * cols, h + gap, wd + gap), _BACKGROUND, np.int16)
    tiles[:, :n, :h, :wd] = idx.reshape(lanes, n, h, wd)
    canvas = (tiles.reshape(lanes, rows, cols, h + gap, wd + gap).transpose(0, 1, 3, 2, 4)
              .reshape(lanes, rows * (h + gap), cols * (wd + gap))[:, :rows * (h + gap) - gap,
                                                                   :cols * (wd + gap) - gap])
    s = max(1, int(scale))
    sy = s if h > 1 else max(s, 8)  # a feature strip gets some height
    ys = np.arange(canvas.shape[1] * sy) // sy
    xs = np.arange(canvas.shape[2] * s) // s
    return _LUT[canvas[:, ys[:, None], xs[None, :]]]


def lane_image(model: str, params: dict, image_shape=(28, 28), *, n_units: int = 8,
               scale: int = 4) -> np.ndarray:
    """uint8[H, W, 3] picture of one lane's final params, numpy only (no matplotlib; about a
    millisecond): logreg -> its filter(s) b (RdBu_r-like diverging colours centred at 0 on a
    symmetric scale; K classes -> K filters tiled, 2 x 5 for digits), mlp -> its top n_units
    first-layer units by the importance :func:`mlx.models.first_layer` gives, tiled (2 x 4).
    Upscaled x scale (nearest) so W&B shows it legibly: 112 x 112 for one 28 x 28 filter."""
    return lane_images(model, params, image_shape, n_units=n_units, scale=scale)[0]


# ------------------------------------------------------------------ the sweep-level figures

def warn(message: str) -> None:
    print(f"mlx: warning: {' '.join(str(message).split())[:300]}", file=sys.stderr, flush=True)


def best_rows(rows: list[dict], by: Callable[[dict], tuple], metric: str, goal: str) -> dict:
    """{by(row): the best row} by mlx.sweep.runner.best_key (rows whose key is None are skipped)."""
    from mlx.sweep.runner import best_key
    best: dict = {}
    for r in rows:
        k = best_key(r, metric, goal)
        if k is None:
            continue
        g = by(r)
        if g not in best or k > best_key(best[g], metric, goal):
            best[g] = r
    return best


def pca_plane(td) -> tuple[np.ndarray, np.ndarray]:
    """(mean float32[d], components float32[2, d]) of a task's training pixels in [0, 1]: the
    plane of ``mlx train``'s decision_boundary.png (the same at most PCA_FIT_MAX examples, seed 0,
    the same sign rule as :func:`mlx.styles.pca_fit`), its two leading eigenvectors found by
    Lanczos (scipy eigsh, fixed start vector: deterministic) instead of a full 784 x 784
    eigendecomposition: the same plane (to about 1e-8) at a fraction of the cost."""
    from scipy.sparse.linalg import eigsh

    from mlx.viz.run_figures import PCA_FIT_MAX
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(len(td.x_train), min(PCA_FIT_MAX, len(td.x_train)), replace=False))
    x = td.x_train[sub].astype(np.float32) / 255.0
    mean = x.mean(axis=0, dtype=np.float64)
    d = x.shape[1]
    if x.shape[0] <= d or d < 4:  # few examples or features: the exact small computation
        from mlx.styles import pca_fit
        return pca_fit(x, 2)
    cov = np.zeros((d, d))
    for start in range(0, x.shape[0], 8192):
        c = x[start:start + 8192].astype(np.float64) - mean
        cov += c.T @ c
    _, vecs = eigsh(cov, k=2, which="LA", v0=np.ones(d), tol=0)
    comps = np.ascontiguousarray(vecs[:, ::-1].T)
    for row in comps:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return mean.astype(np.float32), comps.astype(np.float32)


def _plane_points(z: np.ndarray, grid: int) -> np.ndarray:
    """float32[grid*grid, 2]: the lattice mlx.viz.figures.decision_boundary_2d evaluates."""
    from mlx.viz.figures import _plane_axes
    ga, gb = _plane_axes(np.asarray(z, dtype=np.float64), int(grid))
    aa, bb = np.meshgrid(ga, gb)
    return np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1).astype(np.float32)


# Options for the tiny 2-D programs: XLA's backend at level 0 compiles them in about 60% of the
# time (they train 3 to a few hundred parameters on 2 inputs for at most 5 epochs: their run
# time is milliseconds either way); refused options fall back to the default compile.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
TWO_D_EPOCHS = 5


def train_2d(cfg, td, mean, comps):
    """The model of ``cfg`` (its architecture, optimizer, lr, batch size, seed; at most
    TWO_D_EPOCHS epochs) trained on the two principal-component coordinates of ``td`` only,
    as ``mlx.viz.run_figures._train_2d`` (same data, same settings, same mlx.train program),
    compiled with FAST_COMPILE. Returns (z_test float32[n, 2], proba: float[m, 2] -> float[m])."""
    import jax
    import jax.numpy as jnp

    from mlx.viz import figures as pictures
    from mlx.models import make_model
    from mlx.tasks import TaskData
    from mlx.train import hparams, make_train, seed_keys
    z_tr = pictures.pca_project(td.x_train.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    z_te = pictures.pca_project(td.x_test.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    td2 = TaskData(z_tr, td.y_train, z_te, td.y_test, td.task, td.num_classes, td.class_names,
                   td.balance, None, td.source, td.name)
    cfg2 = cfg.replace(epochs=min(int(cfg.epochs), TWO_D_EPOCHS), precision="float32")
    tr = make_train(cfg2, td2)
    data, hp, key = tr.put(td2), hparams(cfg2.lr, cfg2.weight_decay), seed_keys(cfg2.seed)
    lowered = jax.jit(tr.train).lower(hp, key, data)
    try:
        compiled = lowered.compile(compiler_options=FAST_COMPILE)
    except Exception:  # an XLA without these options: its default
        compiled = lowered.compile()
    params2, _ = jax.block_until_ready(compiled(hp, key, data))
    mk = ("2d", cfg2.model, tuple(cfg2.hidden), cfg2.activation)
    if mk not in _PROBA:
        model2 = make_model(cfg2.model, d=2, k_out=1, hidden=cfg2.hidden, activation=cfg2.activation)
        _PROBA[mk] = jax.jit(lambda p, z: jax.nn.sigmoid(model2.apply(p, z)[:, 0]))
    f = _PROBA[mk]
    return z_te, lambda z: np.asarray(f(params2, jnp.asarray(z, jnp.float32)))


def _train_plane_model(row: dict, td, plane, grid: int):
    """The 2-D model with the settings of ``row`` (:func:`train_2d`) and its probabilities on
    the figure's lattice, computed ahead (in the background thread); returns (z_test, proba)
    where proba answers the lattice from the cache, anything else by the model."""
    z_te, proba2 = train_2d(_config_of(row), td, *plane)
    pts = _plane_points(z_te, grid)
    cached = np.asarray(proba2(pts))

    def proba(z):
        z = np.asarray(z)
        return cached if z.shape == pts.shape and np.array_equal(z, pts) else proba2(z)
    return z_te, proba


_PROBA: dict = {}


def _proba(cfg, d: int, params) -> Callable:
    """p(positive | x) of a 784-input binary model, x float32[m, d] in [0, 1]; one compiled
    function per architecture (shared by every task and params of that shape)."""
    import jax
    import jax.numpy as jnp

    from mlx.models import make_model
    if cfg.model == "logreg" and cfg.precision == "float32":  # its apply, in numpy: no compile
        b = np.asarray(params["b"], np.float32)[:, 0]
        b0 = np.float32(np.asarray(params["b0"]).reshape(-1)[0])
        return lambda x: 0.5 * (1.0 + np.tanh(0.5 * (np.asarray(x, np.float32) @ b + b0)))
    key = (cfg.model, d, tuple(cfg.hidden), cfg.activation, cfg.precision)
    if key not in _PROBA:
        model = make_model(cfg.model, d=d, k_out=1, hidden=cfg.hidden, activation=cfg.activation,
                           precision=cfg.precision)
        _PROBA[key] = jax.jit(lambda q, x: jax.nn.sigmoid(model.apply(q, x)[:, 0]))
    f = _PROBA[key]
    p = jax.tree_util.tree_map(jnp.asarray, params)
    return lambda x: np.asarray(f(p, jnp.asarray(x, jnp.float32)))


def _config_of(row: dict):
    from mlx.config import FIELDS, make_config
    return make_config({k: row[k] for k in FIELDS if k in row and row[k] is not None})


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


def draw_sweep_pictures(folder, rows, best_params, snapshots, task_data, *,
                        metric: str = "test_accuracy", goal: str = "maximize",
                        timings: dict | None = None) -> dict[str, str]:
    """Write the sweep-level PNGs into ``folder`` (never outside it); returns {file name: caption}.

    rows: the sweep's rows (config fields, name, index, history, final metrics, diverged,
    style_recall for Nvrest tasks). best_params: {(model, task): (rank key, run name, params,
    epochs trained)}. snapshots: {(model, task, epoch budget): float[epochs, d, k]} per-epoch
    logreg filters of the best lane of that budget (may be empty). task_data: {task name: TaskData}.

    For each best (model, task) of a binary image task: ``decision_boundary_<model>-<task>.png``
    (the best params' p(x) on the PC1-PC2 plane of the task's data) and
    ``decision_boundary_2d_<model>-<task>.png`` (the same model with the best config's settings,
    trained on the 2 principal components only, :func:`train_2d`: the one training this adds,
    in a background thread while the other figures are drawn);
    ``filter_evolution_<model>-<task>.png`` from snapshots (a row per epoch budget); ``learning_curves.png`` (test
    accuracy and loss per epoch of the best config per model x task x budget); for each Nvrest
    task ``styles_<task>.png`` and ``style_recall_<task>.png`` (per-style recall of the best
    logreg and the best MLP at their budgets, style counts on the axis). Each is drawn once; one
    that fails is a one-line warning on stderr and the others are still drawn. timings, when
    given, gets the wall seconds of each file (and of "pca_plane") for the sweep's own records.
    """
    from concurrent.futures import ThreadPoolExecutor

    from mlx.viz import figures as pictures
    from mlx.track import tracker as track
    folder = Path(folder)
    root = folder.resolve()
    rows = sorted(rows, key=lambda r: r["index"])
    snapshots = snapshots or {}
    task_data = task_data or {}
    captions: dict[str, str] = {}
    best_mt = best_rows(rows, lambda r: (r["model"], r["task"]), metric, goal)
    by_name = {r["name"]: r for r in rows}

    timings = {} if timings is None else timings

    def emit(fname: str, caption: str, draw: Callable) -> None:
        path = folder / fname
        if path.resolve().parent != root:  # a name can never leave the folder
            warn(f"{fname!r} is not a plain file name; not drawn")
            return
        t0 = time.perf_counter()
        try:
            fig = draw()
            if fig is None:
                return
            track.atomic_write_bytes(path, pictures.figure_to_png_bytes(fig))
            fig.clf()
            captions[fname] = caption
        except Exception as e:  # a figure that fails is a warning, never a lost sweep
            warn(f"{fname} not drawn ({type(e).__name__}: {e})")
        finally:
            timings[fname] = time.perf_counter() - t0

    # The 2-D models are the only training here: they run in one background thread (JAX leaves
    # the GIL while it compiles and computes) while this thread draws the other figures.
    boundary = [(m, t) for (m, t) in sorted(best_mt) if t in task_data
                and task_data[t].k_out == 1 and task_data[t].image_shape is not None]
    planes: dict = {}
    t0 = time.perf_counter()
    for task in dict.fromkeys(t for _, t in boundary):
        try:
            planes[task] = pca_plane(task_data[task])
        except Exception as e:
            planes[task] = e
            warn(f"the PCA plane of {task} failed ({type(e).__name__}: {e}); its decision boundaries are not drawn")
    timings["pca_plane"] = time.perf_counter() - t0
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlx-2d")
    try:
        fits = {(m, t): pool.submit(_train_plane_model, best_mt[(m, t)], task_data[t], planes[t], GRID)
                for m, t in boundary if not isinstance(planes[t], Exception)}
        _draw_all(emit, pictures, rows, best_mt, by_name, best_params, snapshots, task_data,
                  planes, fits, boundary, metric, goal)
    finally:  # an interrupt does not wait for 2-D models nobody will draw
        pool.shutdown(wait=True, cancel_futures=True)
    return captions


GRID = 120  # lattice of the decision-boundary pictures (per axis; contours are interpolated)


def _draw_all(emit, pictures, rows, best_mt, by_name, best_params, snapshots, task_data,
              planes, fits, boundary, metric, goal):
    # -- filters: how the filters of the best logreg lane of each epoch budget formed
    by_mt: dict = {}
    for (model, task, budget), snaps in sorted(snapshots.items()):
        by_mt.setdefault((model, task), []).append((budget, snaps))
    best_mte = best_rows(rows, lambda r: (r["model"], r["task"], int(r["epochs"])), metric, goal)
    for (model, task), budgets in by_mt.items():
        td = task_data.get(task)
        names = tuple(td.class_names) if td is not None else ("zero", "one")
        who = {b: best_mte.get((model, task, b)) for b, _ in budgets}

        def draw(budgets=budgets, model=model, task=task, names=names, td=td, who=who):
            from mlx.viz.run_figures import filter_epochs
            blocks = []
            for budget, snaps in budgets:
                s = np.asarray(snaps, dtype=np.float32)
                ep = filter_epochs(len(s))  # the cadence mlx train logs its filters at (<= 11)
                r = who[budget]
                label = f"best of {_epochs(budget)}: " + (f"{r['name']} (lr {_lr(r)})" if r else "?")
                blocks.append((label, s[[e - 1 for e in ep]], ep))
            return pictures.filter_evolution_by_budget(
                blocks, class_names=names, image_shape=td.image_shape if td is not None else (28, 28),
                title=f"{model} on {task}: the filter after each epoch, best config of each epoch budget")
        about = "; ".join(_about(r) for r in who.values() if r)
        emit(f"filter_evolution_{_safe(model)}-{_safe(task)}.png",
             f"How the filter of the best {model} on {task} of each epoch budget formed ({about}): the weights "
             f"b of its lane after each epoch (every n-th for long budgets, the last included), a row per budget "
             f"on its own colour scale (red towards '{names[-1]}', blue towards "
             f"'{names[0] if len(names) == 2 else 'others'}').", draw)

    # -- decision boundaries: the best params' p(x) on the PCA plane of the task's data
    for model, task in boundary:
        td, row, entry = task_data[task], best_mt[(model, task)], best_params.get((model, task))
        if entry is None or isinstance(planes.get(task), Exception):
            continue
        names = tuple(td.class_names)
        prow = by_name.get(entry[1], row)

        def draw(prow=prow, entry=entry, td=td, names=names, model=model, task=task):
            mean, comps = planes[task]
            proba = _proba(_config_of(prow), td.x_train.shape[1], entry[2])
            return pictures.decision_boundary(
                td.x_test.astype(np.float32) / 255.0, td.y_test, proba, mean=mean, components=comps,
                class_names=(names[0], names[1]), grid=GRID,
                title=f"{model} on {task}, best config ({prow['name']}, after {_epochs(entry[3])}):\n"
                      f"p(x) on the PC1-PC2 plane (plane pixels clipped to [0, 1])")
        emit(f"decision_boundary_{_safe(model)}-{_safe(task)}.png",
             f"The best {model} on {task} ({_about(prow)}; its lane's params after "
             f"{_epochs(entry[3])}) seen on the plane of the first two principal components of the task's "
             f"training images: p(x), black line p = 0.5, test points by true class.", draw)

    # -- the styles of the digit of each Nvrest task, and per-style recall of the best configs
    for task in sorted({r["task"] for r in rows}):
        td = task_data.get(task)
        if td is None or td.task.kind != "rest" or td.styles is None:
            continue
        digit = td.task.b
        cl = td.styles

        def draw_styles(td=td, cl=cl, digit=digit):
            pos = td.x_train[td.y_train == 1].astype(np.float32) / 255.0
            return pictures.styles_figure(pos, cl, image_shape=td.image_shape or (28, 28),
                                          title=f"The {cl.k} styles of a {digit} (k-means on PCA of the "
                                                f"{len(pos)} training {digit}s): mean and members, typical to unusual")
        emit(f"styles_{_safe(task)}.png",
             f"The styles of a {digit} found by k-means on PCA components of the training {digit}s "
             f"(k = {cl.k} by silhouette): each style's mean image and members from typical to unusual.",
             draw_styles)
        per_model = {m: r for (m, t), r in sorted(best_mt.items()) if t == task and r.get("style_recall")}
        if not per_model:
            continue

        def draw_recall(td=td, cl=cl, per_model=per_model, digit=digit, task=task):
            ts = np.asarray(td.test_style)
            counts = np.bincount(ts[ts >= 0], minlength=cl.k)
            recalls = {}
            for m, r in per_model.items():
                rec = np.asarray(r["style_recall"], dtype=np.float64)
                if rec.size != cl.k:
                    raise ValueError(f"{r['name']} has {rec.size} style recalls for {cl.k} styles")
                recalls[f"{m} (lr {_lr(r)}, {r['epochs']} ep)"] = rec
            return pictures.style_recall_figure(
                recalls, counts, means=cl.means, image_shape=td.image_shape or (28, 28),
                title=f"Recall of the {digit}s of each style, best config per model on {task}")
        who = "; ".join(_about(r) for r in per_model.values())
        emit(f"style_recall_{_safe(task)}.png",
             f"Recall of the test {digit}s of each style (n per style on the axis) for the best "
             f"config of each model on {task}, at its budget ({who}).", draw_recall)

    # -- learning curves of the best config per model x task x budget
    def draw_curves():
        curves = [{"model": m, "task": t, "epochs": e,
                   "label": f"{m}, {e} ep (lr {_lr(r)})",
                   "test_accuracy": r["history"]["test_accuracy"], "test_loss": r["history"]["test_loss"]}
                  for (m, t, e), r in sorted(best_mte.items())]
        return pictures.learning_curves_figure(curves) if curves else None
    emit("learning_curves.png",
         "Test accuracy and test loss (log scale) after each epoch of the best config per model, "
         "task and epoch budget (by the sweep's metric; the lr of each in the legend).", draw_curves)

    # -- the 2-D models (trained in the background meanwhile): their whole decision boundary
    for model, task in boundary:
        if (model, task) not in fits:
            continue
        td, row = task_data[task], best_mt[(model, task)]
        names = tuple(td.class_names)
        n_ep = min(int(row["epochs"]), TWO_D_EPOCHS)

        def draw2(fut=fits[(model, task)], row=row, td=td, names=names, model=model, task=task, n_ep=n_ep):
            z_te, proba2 = fut.result()
            return pictures.decision_boundary_2d(
                z_te, td.y_test, proba2, class_names=(names[0], names[1]), grid=GRID,
                title=f"{model} with the best config's settings ({row['name']}) trained on the\n"
                      f"2 principal components only ({task}, {_epochs(n_ep)})")
        emit(f"decision_boundary_2d_{_safe(model)}-{_safe(task)}.png",
             f"{model} with the settings of the best config on {task} ({_about(row)}) trained on the "
             f"two principal components only ({_epochs(n_ep)}): the whole model's decision boundary "
             f"in that plane.", draw2)

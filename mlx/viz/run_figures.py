"""The run's pictures: evaluate the trained model on arrays, hand them to the figures of
``mlx.viz`` (diagnostics, filters, boundaries, styles), save PNGs (atomically) with
``pictures.json`` captions. The W&B logging is in ``mlx.train_run``."""
from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from mlx import styles
from mlx.models import first_layer, make_model
from mlx.tasks import TaskData
from mlx.track.files import atomic_write_bytes, atomic_write_json
from mlx.train import scale_inputs
from mlx.viz import boundaries, diagnostics, filters, style_figures
from mlx.viz.boundary_models import proba_of, train_2d
from mlx.viz.common import CAPTIONS, figure_to_png_bytes

PCA_FIT_MAX = 10_000  # training examples used to fit the two principal components


def predict_logits(cfg, td: TaskData, params, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """float32[n, k_out] logits of ``x`` (uint8 pixels or float features), in chunks."""
    model = make_model(cfg.model, d=x.shape[1], k_out=td.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    fn = jax.jit(lambda p, xb: model.apply(p, scale_inputs(xb)))
    return np.concatenate([np.asarray(fn(params, x[i:i + chunk])) for i in range(0, len(x), chunk)]
                          or [np.zeros((0, td.k_out), np.float32)])


MAX_EPOCH_FILTERS = 10


def filter_epochs(epochs: int) -> list[int]:
    """The epochs (1-based) after which ``mlx train`` draws and logs the logreg filter: every
    ceil(epochs / MAX_EPOCH_FILTERS)-th epoch and the last, so at most MAX_EPOCH_FILTERS + 1
    images at a fixed cadence (every epoch up to 10 epochs, every 2nd up to 20, ...)."""
    every = -(-int(epochs) // MAX_EPOCH_FILTERS)
    return sorted(set(range(every, int(epochs) + 1, every)) | {int(epochs)})


def epoch_filter_figure(td: TaskData, b, epoch: int):
    """The logreg filter ``b`` (float[d, k_out]) as it is after ``epoch`` (1-based)."""
    names = tuple(td.class_names)
    return filters.filter_figure(
        np.asarray(b).T, titles=None if td.k_out == 1 else list(names),
        class_names=(names[0], names[1]) if td.k_out == 1 else ("others", "class"),
        title=f"logreg filter after epoch {epoch}, task {td.task.name}")


def draw_run_pictures(cfg, td: TaskData, params, metrics, *, logits=None) -> dict:
    """{name: (Figure, caption)} for one trained run. Images only where the data are images.

    logits: float32[n_test, k_out] of the test split when the caller has them already."""
    if logits is None:
        logits = predict_logits(cfg, td, params, td.x_test)
    binary = td.k_out == 1
    pred = (logits[:, 0] > 0).astype(int) if binary else logits.argmax(1)
    out = _score_figures(td, logits, pred)
    if td.image_shape is None:
        return out
    p = jax.device_get(params)
    out.update(_weight_figures(cfg, td, p, metrics))
    if binary:
        out.update(_boundary_figures(cfg, td, p))
    if td.task.kind == "rest":
        out.update(_style_figures(cfg, td, pred))
    return out


def _score_figures(td: TaskData, logits, pred) -> dict:
    """The confusion matrix and, for a binary task, the logit histogram and ROC / PR curves."""
    names = tuple(td.class_names)
    out = {"confusion_matrix": (diagnostics.confusion_matrix_figure(td.y_test, pred, class_names=names),
                                CAPTIONS["confusion_matrix"])}
    if td.k_out == 1:
        out["logit_histogram"] = (diagnostics.logit_histogram(logits[:, 0], td.y_test, class_names=names),
                                  CAPTIONS["logit_histogram"])
        out["roc_pr"] = (diagnostics.roc_pr_curves(td.y_test, logits[:, 0]), CAPTIONS["roc_pr"])
    return out


def _weight_figures(cfg, td: TaskData, p, metrics) -> dict:
    """logreg: its filter, how it formed and evidence maps (binary); mlp: its first-layer filters."""
    binary, names, cap = td.k_out == 1, tuple(td.class_names), CAPTIONS
    if cfg.model != "logreg":
        w1, _ = first_layer(p)
        nxt = p["hidden_1" if "hidden_1" in p else "out"]["kernel"]
        return {"mlp_filters": (filters.mlp_filters(np.asarray(w1), np.asarray(nxt)), cap["mlp_filters"])}
    b = np.asarray(p["b"])
    out = {"filter": (filters.filter_figure(b.T, titles=None if binary else list(names),
                                            class_names=(names[0], names[1]) if binary else ("others", "class"),
                                            title=f"logreg filter, task {td.task.name}"), cap["filter"])}
    if "b" in metrics and binary:
        snaps = np.asarray(metrics["b"])[:, :, 0]
        out["filter_strip"] = (filters.filter_strip(snaps, list(range(1, len(snaps) + 1)),
                                                    class_names=(names[0], names[1])),
                               cap["filter_strip"])
    if binary:
        x = td.x_test[:4].astype(np.float32) / 255.0
        out["evidence"] = (diagnostics.evidence_maps(x, b[:, 0], float(p["b0"][0]), y=td.y_test[:4],
                                                     class_names=(names[0], names[1])), cap["evidence"])
    return out


def _boundary_figures(cfg, td: TaskData, p) -> dict:
    """A binary task: p(x) on the PC1-PC2 plane, and the same model trained on that plane."""
    names = tuple(td.class_names)
    rng = np.random.default_rng(0)
    sub = rng.choice(len(td.x_train), min(PCA_FIT_MAX, len(td.x_train)), replace=False)
    mean, comps = styles.pca_fit(td.x_train[np.sort(sub)].astype(np.float32) / 255.0, 2)
    proba = proba_of(cfg, td.x_train.shape[1], p)  # as the sweep's boundaries evaluate it
    out = {"decision_boundary": (boundaries.decision_boundary(
        td.x_test.astype(np.float32) / 255.0, td.y_test, proba, mean=mean, components=comps,
        class_names=(names[0], names[1]), title=f"{cfg.model} on {td.task.name}: p(x) on the PC1-PC2 plane"),
        CAPTIONS["decision_boundary"])}
    z_te, proba2 = train_2d(cfg, td, mean, comps)  # the sweep's 2-D model too
    out["decision_boundary_2d"] = (boundaries.decision_boundary_2d(
        z_te, td.y_test, proba2, class_names=(names[0], names[1]),
        title=f"{cfg.model} trained on the 2 principal components only ({td.task.name})"),
        CAPTIONS["decision_boundary_2d"])
    return out


def _style_figures(cfg, td: TaskData, pred) -> dict:
    """An Nvrest task: the styles of its digit and the run's recall of each style."""
    pos = td.x_train[td.y_train == 1].astype(np.float32) / 255.0
    if len(pos) < 10:
        return {}
    # the styles are a property of the data, not of a run: a fixed seed (split_seed,
    # a data field), never the training seed, so every config of a sweep sees the same
    cl = styles.cluster_styles(pos, seed=cfg.split_seed)
    te = td.y_test == 1
    found = styles.assign_styles(td.x_test[te].astype(np.float32) / 255.0, cl.means)
    rec = styles.style_recall(found, pred[te] == 1, cl.k)
    counts = np.bincount(found, minlength=cl.k)
    return {"styles": (style_figures.styles_figure(pos, cl), CAPTIONS["styles"]),
            "style_recall": (style_figures.style_recall_figure({cfg.model: rec}, counts, means=cl.means),
                             CAPTIONS["style_recall"])}


def save_pictures(folder: Path, figs: dict, *, captions: bool = True) -> dict:
    """Write each figure as <folder>/<name>.png (atomic) and, with captions, pictures.json;
    returns {name: (path, caption)}."""
    saved = {}
    for name, (fig, caption) in figs.items():
        saved[name] = (atomic_write_bytes(Path(folder) / f"{name}.png",
                                                figure_to_png_bytes(fig)), caption)
        fig.clf()
    if captions:
        atomic_write_json(Path(folder) / "pictures.json", {p.name: c for p, c in saved.values()})
    return saved

"""The run's pictures: evaluate the trained model on arrays, hand them to ``mlx.viz.figures``,
save PNGs (atomically) with ``pictures.json`` captions. The W&B logging is in ``mlx.train_run``."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mlx.viz import figures as pictures
from mlx.track import tracker as track
from mlx.styles import assign_styles
from mlx.models import first_layer, make_model
from mlx.tasks import TaskData
from mlx.train import scale_inputs

PCA_FIT_MAX = 10_000  # training examples used to fit the two principal components


def predict_logits(cfg, td: TaskData, params, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """float32[n, k_out] logits of ``x`` (uint8 pixels or float features), in chunks."""
    model = make_model(cfg.model, d=x.shape[1], k_out=td.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    fn = jax.jit(lambda p, xb: model.apply(p, scale_inputs(xb)))
    return np.concatenate([np.asarray(fn(params, x[i:i + chunk])) for i in range(0, len(x), chunk)]
                          or [np.zeros((0, td.k_out), np.float32)])


def _train_2d(cfg, td: TaskData, mean, comps):
    """The same model trained on the two principal-component coordinates only."""
    from mlx.tasks import TaskData as TD
    from mlx.train import fit
    z_tr = pictures.pca_project(td.x_train.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    z_te = pictures.pca_project(td.x_test.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    td2 = TD(z_tr, td.y_train, z_te, td.y_test, td.task, td.num_classes, td.class_names,
             td.balance, None, td.source, td.name)
    cfg2 = cfg.replace(epochs=min(cfg.epochs, 5), precision="float32")
    params2, _, _ = fit(cfg2, td2)
    model2 = make_model(cfg2.model, d=2, k_out=1, hidden=cfg2.hidden, activation=cfg2.activation)
    f = jax.jit(lambda p, z: jax.nn.sigmoid(model2.apply(p, z)[:, 0]))
    return z_te, lambda z: np.asarray(f(params2, jnp.asarray(z, jnp.float32)))


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
    return pictures.filter_figure(
        np.asarray(b).T, titles=None if td.k_out == 1 else list(names),
        class_names=(names[0], names[1]) if td.k_out == 1 else ("others", "class"),
        title=f"logreg filter after epoch {epoch}, task {td.task.name}")


def draw_epoch_filters(td: TaskData, metrics) -> list:
    """[(epoch, Figure)]: the logreg filter after each epoch of ``filter_epochs`` (the cadence
    ``mlx train`` draws them at, live); empty when the run kept no per-epoch weights."""
    if "b" not in metrics or td.image_shape is None:
        return []
    snaps = np.asarray(metrics["b"])
    return [(e, epoch_filter_figure(td, snaps[e - 1], e)) for e in filter_epochs(len(snaps))]


def draw_run_pictures(cfg, td: TaskData, params, metrics, *, logits=None) -> dict:
    """{name: (Figure, caption)} for one trained run. Images only where the data are images.

    logits: float32[n_test, k_out] of the test split when the caller has them already."""
    out = {}
    cap = pictures.CAPTIONS
    binary = td.k_out == 1
    names = tuple(td.class_names)
    if logits is None:
        logits = predict_logits(cfg, td, params, td.x_test)
    pred = (logits[:, 0] > 0).astype(int) if binary else logits.argmax(1)
    out["confusion_matrix"] = (pictures.confusion_matrix_figure(td.y_test, pred, class_names=names),
                               cap["confusion_matrix"])
    if binary:
        out["logit_histogram"] = (pictures.logit_histogram(logits[:, 0], td.y_test, class_names=names),
                                  cap["logit_histogram"])
        out["roc_pr"] = (pictures.roc_pr_curves(td.y_test, logits[:, 0]), cap["roc_pr"])
    if td.image_shape is None:
        return out
    p = jax.device_get(params)
    if cfg.model == "logreg":
        b = np.asarray(p["b"])
        out["filter"] = (pictures.filter_figure(b.T, titles=None if binary else list(names),
                                                class_names=(names[0], names[1]) if binary else ("others", "class"),
                                                title=f"logreg filter, task {td.task.name}"), cap["filter"])
        if "b" in metrics and binary:
            snaps = np.asarray(metrics["b"])[:, :, 0]
            out["filter_strip"] = (pictures.filter_strip(snaps, list(range(1, len(snaps) + 1)),
                                                         class_names=(names[0], names[1])),
                                   cap["filter_strip"])
        if binary:
            x = td.x_test[:4].astype(np.float32) / 255.0
            out["evidence"] = (pictures.evidence_maps(x, b[:, 0], float(p["b0"][0]), y=td.y_test[:4],
                                                      class_names=(names[0], names[1])), cap["evidence"])
    else:
        w1, _ = first_layer(p)
        nxt = p["hidden_1" if "hidden_1" in p else "out"]["kernel"]
        out["mlp_filters"] = (pictures.mlp_filters(np.asarray(w1), np.asarray(nxt)), cap["mlp_filters"])
    if binary:
        rng = np.random.default_rng(0)
        sub = rng.choice(len(td.x_train), min(PCA_FIT_MAX, len(td.x_train)), replace=False)
        mean, comps = pictures.pca_fit(td.x_train[np.sort(sub)].astype(np.float32) / 255.0, 2)
        model = make_model(cfg.model, d=td.x_train.shape[1], k_out=1, hidden=cfg.hidden,
                           activation=cfg.activation, precision=cfg.precision)
        f = jax.jit(lambda q, x: jax.nn.sigmoid(model.apply(q, x)[:, 0]))
        proba = lambda x: np.asarray(f(p, jnp.asarray(x, jnp.float32)))  # noqa: E731
        out["decision_boundary"] = (pictures.decision_boundary(
            td.x_test.astype(np.float32) / 255.0, td.y_test, proba, mean=mean, components=comps,
            class_names=(names[0], names[1]), title=f"{cfg.model} on {td.task.name}: p(x) on the PC1-PC2 plane"),
            cap["decision_boundary"])
        z_te, proba2 = _train_2d(cfg, td, mean, comps)
        out["decision_boundary_2d"] = (pictures.decision_boundary_2d(
            z_te, td.y_test, proba2, class_names=(names[0], names[1]),
            title=f"{cfg.model} trained on the 2 principal components only ({td.task.name})"),
            cap["decision_boundary_2d"])
    if td.task.kind == "rest":
        pos = td.x_train[td.y_train == 1].astype(np.float32) / 255.0
        if len(pos) >= 10:
            # the styles are a property of the data, not of a run: a fixed seed (split_seed,
            # a data field), never the training seed, so every config of a sweep sees the same
            cl = pictures.cluster_styles(pos, seed=cfg.split_seed)
            te = td.y_test == 1
            styles = assign_styles(td.x_test[te].astype(np.float32) / 255.0, cl.means)
            rec = pictures.style_recall(styles, pred[te] == 1, cl.k)
            counts = np.bincount(styles, minlength=cl.k)
            out["styles"] = (pictures.styles_figure(pos, cl), cap["styles"])
            out["style_recall"] = (pictures.style_recall_figure({cfg.model: rec}, counts, means=cl.means),
                                   cap["style_recall"])
    return out


def save_pictures(folder: Path, figs: dict, *, captions: bool = True) -> dict:
    """Write each figure as <folder>/<name>.png (atomic) and, with captions, pictures.json;
    returns {name: (path, caption)}."""
    saved = {}
    for name, (fig, caption) in figs.items():
        saved[name] = (track.atomic_write_bytes(Path(folder) / f"{name}.png",
                                                pictures.figure_to_png_bytes(fig)), caption)
        fig.clf()
    if captions:
        track.atomic_write_json(Path(folder) / "pictures.json", {p.name: c for p, c in saved.values()})
    return saved

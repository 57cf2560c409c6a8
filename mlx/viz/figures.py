"""Pictures that show what the models learned: filters, evidence, boundaries, styles, sweeps.

Every public function takes numpy arrays (and, where a model must be evaluated, a plain
callable) and RETURNS a :class:`matplotlib.figure.Figure`. Nothing here writes files, logs or
touches global matplotlib state: figures are built with ``Figure`` directly (no pyplot, so no
backend is selected and nothing leaks between calls). The caller saves them, e.g.
``fig.savefig(path, dpi=100)`` gives a PNG of ``fig.get_size_inches() * 100`` pixels.

Colour convention, everywhere: the diverging map ``RdBu_r`` centred on zero (symmetric
limits). Red means "pushes towards the positive class / the panel's class" ("one" for 0-vs-1),
blue means "pushes towards the negative class" ("zero").

Shapes in docstrings: ``n`` examples, ``d`` features (784 = 28*28 pixels), ``k`` classes or
output units, ``H`` hidden units, ``E`` logged epochs.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from mlx.errors import UsageError
from mlx.styles import StyleClusters, cluster_styles, pca_fit, pca_project, style_recall  # noqa: F401 (re-exported)

__all__ = [
    "CAPTIONS",
    "StyleClusters",
    "best_filters_figure",
    "cluster_styles",
    "comparison_figure",
    "confusion_matrix_figure",
    "decision_boundary",
    "decision_boundary_2d",
    "evidence_maps",
    "figure_to_png_bytes",
    "filter_figure",
    "filter_evolution",
    "filter_evolution_by_budget",
    "filter_strip",
    "learning_curves_figure",
    "logit_histogram",
    "mlp_filters",
    "pca_fit",
    "pca_project",
    "roc_pr_curves",
    "style_recall",
    "style_recall_figure",
    "style_recall_table",
    "styles_figure",
]

CMAP = "RdBu_r"
# Dark ends of RdBu_r, for points and bars of the negative / positive class.
NEG_COLOUR = "#2166ac"
POS_COLOUR = "#b2182b"

CAPTIONS: dict[str, str] = {
    "filter": "The learned weights b as an image: red pixels push towards the positive class, blue towards the negative.",
    "filter_strip": "How the filter forms: the weights b after each logged epoch, on one shared colour scale.",
    "mlp_filters": "First-layer filters of the MLP: the hidden units with the largest outgoing weights.",
    "evidence": "Evidence maps: each pixel times its weight (x*b); the logit z = b0 + sum(x*b) and p = sigmoid(z).",
    "decision_boundary": "Model probability on the plane of the first two principal components (pixels clipped to [0,1]), black line p = 0.5, test points by true class.",
    "decision_boundary_2d": "A model trained on the two principal components only: its decision boundary in that plane.",
    "logit_histogram": "Logits of the test set by true class; the line is the decision threshold p = 0.5.",
    "roc_pr": "ROC and precision-recall curves on the test set, with AUC and average precision.",
    "confusion_matrix": "Confusion matrix on the test set: rows are true classes, columns predictions (counts).",
    "styles": "Styles of a 4 found by k-means on PCA components: each style's mean image and members from typical to unusual.",
    "style_recall": "Recall of the positive class for each style of 4, one bar per model.",
    "comparison": "Test accuracy against learning rate, one line per model and epoch budget (mean over seeds, error bars = std); x marks diverged runs.",
    "best_filters": "Filters of the best run of each model, side by side (each block on its own symmetric colour scale).",
    "filter_evolution": "How the best config's filter forms: the logreg weights b after each epoch of its lane, on one shared colour scale.",
    "learning_curves": "Test accuracy and test loss per epoch of the best config per model, task and epoch budget.",
}


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------


def figure_to_png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes (Agg, no file, no pyplot). Pixel size = size_inches * dpi."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def _symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the finite entries of all arrays (1.0 when there is none or it is 0)."""
    best = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            best = max(best, float(np.max(np.abs(finite))))
    return best if best > 0 else 1.0


def _as_rows(weights: Any, name: str) -> np.ndarray:
    """float[k, d] from float[d] or float[k, d]."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise UsageError(f"{name} must be float[k, d] or float[d]; got shape {np.shape(weights)}")
    return w


def _to_image(vec: np.ndarray, image_shape: tuple[int, int] | None) -> np.ndarray:
    """A feature vector float[d] as an image float[h, w]; image_shape None -> one row [1, d]."""
    vec = np.asarray(vec, dtype=np.float64).reshape(-1)
    if image_shape is None:
        return vec[None, :]
    h, w = (int(s) for s in image_shape)
    if vec.size != h * w:
        raise UsageError(
            f"cannot draw {vec.size} values as a {h}x{w} image; "
            "pass image_shape=None to draw tabular features as a strip"
        )
    return vec.reshape(h, w)


def _grid(k: int, max_cols: int = 5) -> tuple[int, int]:
    """(rows, cols) for k panels: up to max_cols wide for k <= 2*max_cols, else near-square."""
    if k <= 2 * max_cols:
        cols = min(k, max_cols)
    else:
        cols = math.ceil(math.sqrt(k))
    return math.ceil(k / cols), cols


def _image_panel(ax, img: np.ndarray, *, vmax: float, cmap: str = CMAP, title: str | None = None):
    """Draw one weight image on ax with symmetric limits; returns the AxesImage."""
    aspect = "equal" if img.shape[0] > 1 else "auto"
    im = ax.imshow(img, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect=aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    return im


def _label_diverging_colourbar(cbar, *, positive: str, negative: str, label: str) -> None:
    """Colour bar label plus the meaning of each end ("-> one" at the top, "-> zero" below)."""
    cbar.set_label(label, fontsize=9)
    cbar.ax.text(0.5, 1.01, f"→ {positive}", transform=cbar.ax.transAxes, ha="center",
                 va="bottom", fontsize=8, color=POS_COLOUR)
    cbar.ax.text(0.5, -0.01, f"→ {negative}", transform=cbar.ax.transAxes, ha="center",
                 va="top", fontsize=8, color=NEG_COLOUR)


def _evenly_spaced(n_total: int, n_pick: int) -> np.ndarray:
    """n_pick indices evenly spread over range(n_total), first and last included."""
    if n_total <= n_pick:
        return np.arange(n_total)
    return np.unique(np.round(np.linspace(0, n_total - 1, n_pick)).astype(int))


# ----------------------------------------------------------------------------------------------
# filters
# ----------------------------------------------------------------------------------------------


def filter_figure(
    weights: Any,
    *,
    titles: Sequence[str] | None = None,
    image_shape: tuple[int, int] | None = (28, 28),
    class_names: tuple[str, str] = ("zero", "one"),
    title: str | None = None,
) -> Figure:
    """The weights of a linear model drawn as images, one shared symmetric colour scale.

    weights: float[k, d] (or float[d]); k = 1 for binary logistic regression (one panel),
             k = 10 for digits (grid 2x5). d = h*w of image_shape.
    titles: k panel titles (default "filter b" for k = 1, "class i" otherwise).
    class_names: (negative, positive) names for the colour bar of a binary filter.
    Red pushes towards the positive class ("one"), blue towards the negative class ("zero");
    for k > 1 red is evidence for the panel's class and blue evidence against it.
    """
    w = _as_rows(weights, "weights")
    k = w.shape[0]
    if titles is not None and len(titles) != k:
        raise UsageError(f"titles has {len(titles)} entries for {k} filters")
    rows, cols = _grid(k)
    panel = 4.2 if k == 1 else 2.2
    fig = Figure(figsize=(cols * panel + 1.6, rows * panel + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = _symmetric_limit(w)
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= k:
            ax.set_axis_off()
            continue
        default = "filter b" if k == 1 else f"class {i}"
        im = _image_panel(ax, _to_image(w[i], image_shape), vmax=vmax,
                          title=titles[i] if titles is not None else default)
    cbar = fig.colorbar(im, ax=axes, shrink=0.85)
    if k == 1:
        _label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0],
                                   label=f"weight (red: towards '{class_names[1]}', "
                                         f"blue: towards '{class_names[0]}')")
    else:
        _label_diverging_colourbar(cbar, positive="class", negative="other",
                                   label="weight (red: for the panel's class, blue: against)")
    if title is None:
        title = ("Logistic-regression filter: weight of each pixel" if k == 1
                 else f"Filters of a {k}-class linear model: weights of each pixel")
    fig.suptitle(title)
    return fig


def filter_strip(
    weights_by_epoch: Any,
    epochs: Sequence[int],
    *,
    image_shape: tuple[int, int] | None = (28, 28),
    max_panels: int = 16,
    title: str | None = None,
    class_names: tuple[str, str] = ("zero", "one"),
) -> Figure:
    """How a binary filter forms during training, on ONE shared symmetric colour scale.

    weights_by_epoch: float[E, d], the weights b after each logged epoch.
    epochs: int[E], the epoch number of each row.
    class_names: (negative, positive) names for the ends of the colour bar.
    When E > max_panels an evenly spaced subset (first and last included) is drawn.
    """
    w = _as_rows(weights_by_epoch, "weights_by_epoch")
    epochs = list(epochs)
    if len(epochs) != w.shape[0]:
        raise UsageError(f"{len(epochs)} epochs given for {w.shape[0]} rows of weights")
    pick = _evenly_spaced(w.shape[0], max_panels)
    w, epochs = w[pick], [epochs[i] for i in pick]
    e = w.shape[0]
    rows = math.ceil(e / 8)
    cols = math.ceil(e / rows)  # balanced rows: 10 panels as 2 x 5, not 8 + 2
    fig = Figure(figsize=(max(cols * 1.7 + 1.4, 4.6), rows * 1.9 + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = _symmetric_limit(w)
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= e:
            ax.set_axis_off()
            continue
        im = _image_panel(ax, _to_image(w[i], image_shape), vmax=vmax, title=f"epoch {epochs[i]}")
    cbar = fig.colorbar(im, ax=axes, shrink=0.9)
    _label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0], label="weight")
    fig.suptitle(title or "How the filter forms: weights after each epoch (shared colour scale)")
    return fig


def filter_evolution(
    snapshots: Any,
    epochs: Sequence[int] | None = None,
    *,
    class_names: Sequence[str] = ("zero", "one"),
    image_shape: tuple[int, int] | None = (28, 28),
    max_epochs: int = 6,
    title: str | None = None,
) -> Figure:
    """The filters of a linear model after each epoch, on ONE shared symmetric colour scale.

    snapshots: float[E, d, k], the weights b after each epoch (k = 1: one binary filter, drawn
    as :func:`filter_strip`; k > 1: a row per epoch, a column per class, at most max_epochs
    evenly spaced rows, first and last included). epochs: int[E] (default 1..E).
    class_names: (negative, positive) for k = 1, the k class names otherwise.
    """
    w = np.asarray(snapshots, dtype=np.float64)
    if w.ndim == 2:
        w = w[:, :, None]
    if w.ndim != 3 or 0 in w.shape:
        raise UsageError(f"filter_evolution needs snapshots float[E, d, k]; got shape {np.shape(snapshots)}")
    n_ep, _, k = w.shape
    epochs = list(range(1, n_ep + 1)) if epochs is None else list(epochs)
    if len(epochs) != n_ep:
        raise UsageError(f"{len(epochs)} epochs given for {n_ep} snapshots")
    if k == 1:
        names = tuple(class_names)[-2:] if len(class_names) >= 2 else ("zero", "one")
        return filter_strip(w[:, :, 0], epochs, image_shape=image_shape, title=title,
                            class_names=(names[0], names[1]))
    pick = _evenly_spaced(n_ep, max_epochs)
    names = list(class_names) if len(class_names) == k else [f"class {j}" for j in range(k)]
    fig = Figure(figsize=(k * 1.45 + 1.6, pick.size * 1.55 + 0.9), layout="constrained")
    axes = fig.subplots(pick.size, k, squeeze=False)
    vmax = _symmetric_limit(w[pick])
    im = None
    for r, e in enumerate(pick):
        for j in range(k):
            im = _image_panel(axes[r, j], _to_image(w[e, :, j], image_shape), vmax=vmax,
                              title=names[j] if r == 0 else None)
        axes[r, 0].set_ylabel(f"epoch {epochs[e]}", fontsize=9)
    cbar = fig.colorbar(im, ax=axes, shrink=0.85)
    _label_diverging_colourbar(cbar, positive="class", negative="other",
                               label="weight (red: for the column's class, blue: against)")
    fig.suptitle(title or "How the filters form: weights after each epoch (shared colour scale)")
    return fig


def _tile_canvas(tiles: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """float[H, W]: a grid of equal-sized images (rows of tiles) with NaN gaps between them."""
    h, w = tiles[0][0].shape
    cols = max(len(r) for r in tiles)
    out = np.full((len(tiles) * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for i, row in enumerate(tiles):
        for j, t in enumerate(row):
            out[i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = t
    return out


def filter_evolution_by_budget(
    blocks: Sequence[tuple[str, Any, Sequence[int]]],
    *,
    class_names: Sequence[str] = ("zero", "one"),
    image_shape: tuple[int, int] | None = (28, 28),
    max_epochs: int = 6,
    title: str | None = None,
) -> Figure:
    """How the filters of several configs formed, one row of panels per config (an epoch
    budget's best config, say), each after the epochs given.

    blocks: (label, snapshots float[E, d, k] or float[E, d], epochs int[E]). k = 1: the block's
    filters side by side, one per epoch; k > 1: a row per epoch (at most max_epochs, evenly
    spaced, first and last), a column per class. Each block is drawn as ONE image (tiles with
    white gaps) on its own symmetric colour scale (red positive, blue negative, white 0; its
    max |w| in its label), so budgets with different learning rates stay readable: a handful
    of axes instead of one per filter keeps the figure cheap to draw.
    """
    if not blocks:
        raise UsageError("filter_evolution_by_budget needs at least one block")
    cmap = colormaps[CMAP].with_extremes(bad="white")
    canvases, labels, ticks = [], [], []
    for label, snaps, epochs in blocks:
        w = np.asarray(snaps, dtype=np.float64)
        w = w[:, :, None] if w.ndim == 2 else w
        epochs = list(epochs)
        if w.ndim != 3 or 0 in w.shape or len(epochs) != w.shape[0]:
            raise UsageError(f"block {label!r}: snapshots must be float[E, d, k] with E = {len(epochs)} epochs; "
                             f"got shape {np.shape(snaps)}")
        k = w.shape[2]
        if k == 1:
            tiles = [[_to_image(w[e, :, 0], image_shape) for e in range(w.shape[0])]]
            ticks.append(("x", [f"epoch {e}" for e in epochs]))
        else:
            pick = _evenly_spaced(w.shape[0], max_epochs)
            tiles = [[_to_image(w[e, :, j], image_shape) for j in range(k)] for e in pick]
            names = list(class_names) if len(class_names) == k else [f"class {j}" for j in range(k)]
            ticks.append(("xy", names, [f"epoch {epochs[e]}" for e in pick]))
        vmax = _symmetric_limit(w)
        canvases.append((_tile_canvas(tiles), vmax, tiles[0][0].shape))
        labels.append(f"{label}  (|w| up to {vmax:.3g})")
    width = max(c.shape[1] for c, _, _ in canvases)
    heights = [c.shape[0] for c, _, _ in canvases]
    scale = min(8.5 / width, 0.075)  # inches per pixel
    fig = Figure(figsize=(width * scale + 0.8, sum(heights) * scale + 0.75 * len(blocks) + 0.6),
                 layout="constrained")
    axes = fig.subplots(len(blocks), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (canvas, vmax, (h, w_)), label, tk in zip(axes, canvases, labels, ticks):
        ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-vmax, vmax=vmax,
                  interpolation="nearest", aspect="equal" if h > 1 else "auto")
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xticks([j * (w_ + 2) + (w_ - 1) / 2 for j in range(len(tk[1]))], tk[1], fontsize=7)
        ax.set_yticks([i * (h + 2) + (h - 1) / 2 for i in range(len(tk[2]))] if tk[0] == "xy" else [],
                      tk[2] if tk[0] == "xy" else [], fontsize=7)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    negative, positive = (class_names[0], class_names[-1]) if len(class_names) == 2 else ("others", "the class")
    fig.suptitle(title or "How the filters form", fontsize=10)
    fig.supxlabel(f"red: evidence for {positive}, blue: for {negative}, white: 0 (each row on its own scale)",
                  fontsize=8)
    return fig


def mlp_filters(
    w1: Any,
    w_out: Any,
    *,
    n: int = 16,
    image_shape: tuple[int, int] | None = (28, 28),
    title: str | None = None,
) -> Figure:
    """First-layer filters of an MLP: the n hidden units that matter most downstream.

    w1: float[d, H], first-layer kernel (column j = filter of hidden unit j).
    w_out: float[H, k] (or float[H]), the next layer's kernel; units are ranked by the L2 norm
           of their outgoing row w_out[j] and the top n are drawn, largest first.
    One shared symmetric colour scale; each panel is titled with unit index and outgoing norm.
    """
    w1 = np.asarray(w1, dtype=np.float64)
    w_out = np.asarray(w_out, dtype=np.float64)
    if w_out.ndim == 1:
        w_out = w_out[:, None]
    if w1.ndim != 2 or w_out.ndim != 2 or w1.shape[1] != w_out.shape[0]:
        raise UsageError(
            f"mlp_filters needs w1 float[d, H] and w_out float[H, k]; got {w1.shape} and {w_out.shape}"
        )
    norms = np.linalg.norm(w_out, axis=1)
    order = np.argsort(-norms, kind="stable")[: max(1, min(int(n), w1.shape[1]))]
    m = order.size
    rows, cols = _grid(m, max_cols=4)
    if m > 8:
        cols = math.ceil(math.sqrt(m))
        rows = math.ceil(m / cols)
    fig = Figure(figsize=(cols * 1.9 + 1.4, rows * 2.0 + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    filters = w1[:, order].T
    vmax = _symmetric_limit(filters)
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= m:
            ax.set_axis_off()
            continue
        j = int(order[i])
        im = _image_panel(ax, _to_image(filters[i], image_shape), vmax=vmax,
                          title=f"unit {j}, out-norm {norms[j]:.2g}")
    cbar = fig.colorbar(im, ax=axes, shrink=0.9)
    _label_diverging_colourbar(cbar, positive="excites", negative="inhibits",
                               label="first-layer weight")
    fig.suptitle(title or f"MLP first-layer filters: top {m} of {w1.shape[1]} hidden units "
                          "by outgoing weight norm")
    return fig


def best_filters_figure(
    entries: Sequence[tuple[str, Any]],
    *,
    image_shape: tuple[int, int] | None = (28, 28),
    title: str | None = None,
) -> Figure:
    """Several sets of filters side by side, e.g. the best run of each model of a sweep.

    entries: list of (title, weights) with weights float[k, d] (a linear model's filters,
             k = 1 or 10) or float[n, d] (first-layer filters of an MLP, already chosen).
    Each block has its own symmetric colour scale and colour bar.
    """
    if not entries:
        raise UsageError("best_filters_figure needs at least one (title, weights) entry")
    blocks = [(str(t), _as_rows(w, f"weights of {t!r}")) for t, w in entries]
    # One panel size for all blocks: every block gets the same number of rows (a single
    # filter spans the whole height, drawn large), so nothing is stretched apart.
    rows_max = max(_grid(w.shape[0])[0] for _, w in blocks)
    panel = 1.75
    shapes = [(1, 1) if w.shape[0] == 1 else (rows_max, math.ceil(w.shape[0] / rows_max))
              for _, w in blocks]
    widths = [(min(rows_max, 3) if r == 1 and c == 1 else c) * panel + 1.0
              for r, c in shapes]
    fig = Figure(figsize=(round(sum(widths) + 0.3, 1), round(rows_max * panel + 1.1, 1)),
                 layout="constrained")
    subfigs = fig.subfigures(1, len(blocks), width_ratios=widths, squeeze=False)[0]
    for sub, (name, w), (rows, cols) in zip(subfigs, blocks, shapes):
        axes = sub.subplots(rows, cols, squeeze=False)
        vmax = _symmetric_limit(w)
        im = None
        for i, ax in enumerate(axes.flat):
            if i >= w.shape[0]:
                ax.set_axis_off()
                continue
            im = _image_panel(ax, _to_image(w[i], image_shape), vmax=vmax,
                              title=None if w.shape[0] == 1 else f"{i}")
        cbar = sub.colorbar(im, ax=axes, shrink=0.8)
        cbar.set_label("weight (red +, blue -)", fontsize=8)
        sub.suptitle(name, fontsize=10)
    fig.suptitle(title or "Best filters per model (red: evidence for, blue: against)")
    return fig


# ----------------------------------------------------------------------------------------------
# evidence of single examples
# ----------------------------------------------------------------------------------------------


def evidence_maps(
    x: Any,
    b: Any,
    b0: float,
    *,
    y: Any = None,
    n: int = 4,
    image_shape: tuple[int, int] = (28, 28),
    class_names: tuple[str, str] = ("0", "1"),
    title: str | None = None,
) -> Figure:
    """Why the model decides: each image next to its evidence map x*b.

    x: float[m, d] pixels in 0..1 (the first n rows are drawn), b: float[d] weights,
    b0: the bias. y: optional int[m] true labels (shown in the titles).
    Row 1: the images. Row 2: x*b on one shared symmetric diverging scale (red = evidence for
    class_names[1]); the logit z = b0 + sum(x*b) and p = sigmoid(z) are written on each map.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[1] != b.size:
        raise UsageError(f"evidence_maps needs x float[n, {b.size}]; got shape {x.shape}")
    m = max(1, min(int(n), x.shape[0]))
    x = x[:m]
    evidence = x * b[None, :]
    z = float(b0) + evidence.sum(axis=1)
    p = _sigmoid(z)
    fig = Figure(figsize=(m * 2.3 + 1.4, 5.4), layout="constrained")
    axes = fig.subplots(2, m, squeeze=False)
    vmax = _symmetric_limit(evidence)
    im = None
    for i in range(m):
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(_to_image(x[i], image_shape), cmap="gray_r", vmin=0.0, vmax=1.0,
                   interpolation="nearest")
        top.set_xticks([])
        top.set_yticks([])
        label = f"example {i}" if y is None else f"example {i}, true '{_class_name(y[i], class_names)}'"
        top.set_title(label, fontsize=9)
        im = _image_panel(bottom, _to_image(evidence[i], image_shape), vmax=vmax, title="x * b")
        bottom.text(0.03, 0.03, f"z = {z[i]:+.2f}\np = {p[i]:.3f}", transform=bottom.transAxes,
                    fontsize=9, va="bottom", ha="left",
                    bbox=dict(boxstyle="round,pad=0.2", facecolor="white", alpha=0.85, lw=0))
    axes[0, 0].set_ylabel("image", fontsize=9)
    axes[1, 0].set_ylabel("evidence", fontsize=9)
    cbar = fig.colorbar(im, ax=axes[1, :], shrink=0.9)
    _label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0],
                               label="pixel x weight")
    fig.suptitle(title or f"Evidence maps: z = b0 + sum(x*b) with b0 = {float(b0):+.2f}, "
                          "p = sigmoid(z)")
    return fig


def _class_name(label: Any, class_names: Sequence[str]) -> str:
    try:
        i = int(label)
    except (TypeError, ValueError):
        return str(label)
    return class_names[i] if 0 <= i < len(class_names) else str(i)


# ----------------------------------------------------------------------------------------------
# PCA plane and decision boundaries
# ----------------------------------------------------------------------------------------------


def _evaluate_in_chunks(fn: Callable, make_rows: Callable[[int, int], np.ndarray], total: int,
                        chunk: int) -> np.ndarray:
    """Call fn on rows [start, stop) in chunks of a FIXED size (the last one padded by repeating
    its last row) so a jit-compiled callable sees one input shape. Returns float64[total]."""
    chunk = max(1, min(chunk, total))
    out = np.empty(total, dtype=np.float64)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        rows = make_rows(start, stop)
        if stop - start < chunk:
            pad = np.repeat(rows[-1:], chunk - (stop - start), axis=0)
            rows = np.concatenate([rows, pad], axis=0)
        p = np.asarray(fn(rows), dtype=np.float64).reshape(-1)
        if p.size != chunk:
            raise UsageError(
                f"predict_proba must return one probability per row: {chunk} rows gave {p.size} values"
            )
        out[start:stop] = p[: stop - start]
    return out


def _plane_axes(z: np.ndarray, grid: int, margin: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates covering the finite points z float[n, 2] with a margin."""
    finite = z[np.all(np.isfinite(z), axis=1)]
    if finite.size == 0:
        finite = np.array([[-1.0, -1.0], [1.0, 1.0]])
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - margin * span, hi + margin * span
    return np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)


def _subsample(n: int, max_points: int, seed: int) -> np.ndarray:
    """Sorted deterministic subset of range(n) with at most max_points indices."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def _boundary_axes(fig: Figure, ga: np.ndarray, gb: np.ndarray, prob: np.ndarray, z: np.ndarray,
                   y: np.ndarray, class_names: Sequence[str], max_points: int, seed: int,
                   xlabel: str, ylabel: str):
    """Filled probability contours, the p = 0.5 line and the (subsampled) points."""
    ax = fig.subplots()
    cs = ax.contourf(ga, gb, prob, levels=np.linspace(0.0, 1.0, 11), cmap=CMAP, alpha=0.4,
                     vmin=0.0, vmax=1.0)
    if np.nanmin(prob) < 0.5 < np.nanmax(prob):
        ax.contour(ga, gb, prob, levels=[0.5], colors="black", linewidths=2.0)
    keep = _subsample(z.shape[0], max_points, seed)
    z, y = z[keep], y[keep]
    classes = np.unique(y)
    binary = set(classes.tolist()) <= {0, 1}
    handles = []
    for i, c in enumerate(classes):
        colour = (NEG_COLOUR, POS_COLOUR)[int(c)] if binary else colormaps["tab10"](i % 10)
        mask = y == c
        ax.scatter(z[mask, 0], z[mask, 1], s=10, color=colour, edgecolors="white",
                   linewidths=0.3, alpha=0.9)
        handles.append(Line2D([], [], marker="o", ls="", color=colour, markeredgecolor="white",
                              label=f"true '{_class_name(c, class_names)}' (n={int(mask.sum())})"))
    handles.append(Line2D([], [], color="black", lw=2, label="p = 0.5"))
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(ga[0], ga[-1])
    ax.set_ylim(gb[0], gb[-1])
    cbar = fig.colorbar(cs, ax=ax)
    positive = class_names[1] if len(class_names) > 1 else "1"
    cbar.set_label(f"model probability of '{positive}'")
    return ax


def decision_boundary(
    x_test: Any,
    y_test: Any,
    predict_proba: Callable[[np.ndarray], Any],
    *,
    mean: Any,
    components: Any,
    class_names: tuple[str, str] = ("0", "1"),
    grid: int = 200,
    title: str | None = None,
    max_points: int = 2000,
    seed: int = 0,
    chunk: int = 8192,
) -> Figure:
    """A 784-input model seen on the plane of the first two principal components.

    x_test: float[n, d] in 0..1, y_test: int[n] (0/1), predict_proba: callable
    float32[m, d] in 0..1 -> float[m], the probability of the positive class.
    mean: float[d], components: float[>=2, d] from :func:`pca_fit`.
    The test points are projected on (pc1, pc2). The model is evaluated on the plane
    mean + a*pc1 + b*pc2 over a grid x grid lattice mapped back to pixel space; those pixels are
    CLIPPED to [0, 1] before evaluation (the plane leaves the valid pixel range), in chunks of
    a fixed size. This is a 2-D slice of a d-dimensional model: a point's colour region is
    where its projection lands, not necessarily its own prediction. At most max_points points
    are drawn (deterministic subsample with seed).
    """
    x = np.asarray(x_test, dtype=np.float64)
    y = np.asarray(y_test).reshape(-1)
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    comps = np.asarray(components, dtype=np.float64)
    if comps.ndim != 2 or comps.shape[0] < 2 or comps.shape[1] != mean.size or x.ndim != 2 \
            or x.shape[1] != mean.size or y.size != x.shape[0]:
        raise UsageError(
            f"decision_boundary needs x_test float[n, d], y_test[n], mean[d], components[2, d]; "
            f"got {x.shape}, {y.shape}, {mean.shape}, {comps.shape}"
        )
    pc1, pc2 = comps[0], comps[1]
    z = pca_project(x, mean, comps[:2])
    ga, gb = _plane_axes(z, int(grid))
    aa, bb = np.meshgrid(ga, gb)  # [grid, grid], row = pc2 value
    flat_a, flat_b = aa.reshape(-1), bb.reshape(-1)

    basis = np.stack([pc1, pc2, mean]).astype(np.float32)  # [3, d]: one float32 matmul per chunk
    coords = np.stack([flat_a, flat_b, np.ones_like(flat_a)], axis=1).astype(np.float32)

    def rows(start: int, stop: int) -> np.ndarray:
        return np.clip(coords[start:stop] @ basis, 0.0, 1.0)

    prob = _evaluate_in_chunks(predict_proba, rows, flat_a.size, chunk).reshape(aa.shape)
    fig = Figure(figsize=(7.4, 6.0), layout="constrained")
    _boundary_axes(fig, ga, gb, prob, z, y, class_names, max_points, seed,
                   "PC 1 coordinate", "PC 2 coordinate")
    fig.suptitle(title or "Decision boundary on the plane of the first two principal components\n"
                          "(784-input model, plane pixels clipped to [0, 1])", fontsize=11)
    return fig


def decision_boundary_2d(
    z_test: Any,
    y_test: Any,
    predict_proba_2d: Callable[[np.ndarray], Any],
    *,
    class_names: tuple[str, str] = ("0", "1"),
    grid: int = 200,
    title: str | None = None,
    max_points: int = 2000,
    seed: int = 0,
    xlabel: str = "PC 1 coordinate",
    ylabel: str = "PC 2 coordinate",
) -> Figure:
    """Decision boundary of a model TRAINED ON the two principal components themselves.

    z_test: float[n, 2] test coordinates, y_test: int[n],
    predict_proba_2d: callable float32[m, 2] -> float[m] probability of the positive class.
    Unlike :func:`decision_boundary`, this is the whole model, not a slice.
    """
    z = np.asarray(z_test, dtype=np.float64)
    y = np.asarray(y_test).reshape(-1)
    if z.ndim != 2 or z.shape[1] != 2 or y.size != z.shape[0]:
        raise UsageError(f"decision_boundary_2d needs z_test float[n, 2] and y_test[n]; got {z.shape}, {y.shape}")
    ga, gb = _plane_axes(z, int(grid))
    aa, bb = np.meshgrid(ga, gb)
    pts = np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1).astype(np.float32)
    prob = _evaluate_in_chunks(predict_proba_2d, lambda s, e: pts[s:e], pts.shape[0],
                               pts.shape[0]).reshape(aa.shape)
    fig = Figure(figsize=(7.4, 6.0), layout="constrained")
    _boundary_axes(fig, ga, gb, prob, z, y, class_names, max_points, seed, xlabel, ylabel)
    fig.suptitle(title or "Model trained on the two principal components only (2 inputs):\n"
                          "its decision boundary", fontsize=11)
    return fig


# ----------------------------------------------------------------------------------------------
# scores: logits, ROC / PR, confusion matrix
# ----------------------------------------------------------------------------------------------


def logit_histogram(
    logits: Any,
    y: Any,
    *,
    threshold_logit: float = 0.0,
    class_names: tuple[str, str] = ("0", "1"),
    bins: int = 50,
    title: str | None = None,
) -> Figure:
    """Histogram of the logits z per true class, with the decision threshold marked.

    logits: float[n], y: int[n] in {0, 1}. threshold_logit: the logit where the model switches
    class (0.0 = p 0.5). Non-finite logits are left out and counted in the title. The legend
    counts the examples of each class on the wrong side of the threshold.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    y = np.asarray(y).reshape(-1)
    if z.size != y.size:
        raise UsageError(f"logits has {z.size} values for {y.size} labels")
    finite = np.isfinite(z)
    n_bad = int((~finite).sum())
    z, y = z[finite], y[finite]
    edges = np.histogram_bin_edges(z if z.size else np.array([-1.0, 1.0]), bins=bins)
    fig = Figure(figsize=(7.4, 4.6), layout="constrained")
    ax = fig.subplots()
    for c, colour in ((0, NEG_COLOUR), (1, POS_COLOUR)):
        vals = z[y == c]
        wrong = int((vals > threshold_logit).sum() if c == 0 else (vals <= threshold_logit).sum())
        ax.hist(vals, bins=edges, color=colour, alpha=0.45,
                label=f"true '{_class_name(c, class_names)}' (n={vals.size}, {wrong} wrong side)")
        ax.hist(vals, bins=edges, color=colour, histtype="step", linewidth=1.2)
    t = float(threshold_logit)
    ax.axvline(t, color="black", linestyle="--", linewidth=1.5,
               label=f"threshold z = {t:g} (p = {float(_sigmoid(t)):.2g})")
    ax.set_xlabel("logit z = b0 + x . b")
    ax.set_ylabel("number of test examples")
    ax.legend(fontsize=8)
    extra = f" ({n_bad} non-finite left out)" if n_bad else ""
    ax.set_title(title or f"Logits on the test set by true class{extra}")
    return fig


def roc_pr_curves(y: Any, score: Any, *, title: str | None = None) -> Figure:
    """ROC curve (with AUC) and precision-recall curve (with average precision), two panels.

    y: int[n] in {0, 1}, score: float[n], any monotone score of the positive class
    (probability or logit). Needs both classes present; otherwise the panels say so.
    """
    from sklearn.metrics import (average_precision_score, precision_recall_curve, roc_auc_score,
                                 roc_curve)

    y = np.asarray(y).reshape(-1).astype(int)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    if y.size != s.size:
        raise UsageError(f"score has {s.size} values for {y.size} labels")
    keep = np.isfinite(s)
    y, s = y[keep], s[keep]
    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    roc_ax, pr_ax = fig.subplots(1, 2)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    if np.unique(y).size == 2:
        fpr, tpr, _ = roc_curve(y, s)
        roc_ax.plot(fpr, tpr, color=POS_COLOUR, lw=2, label=f"AUC = {roc_auc_score(y, s):.4f}")
        prec, rec, _ = precision_recall_curve(y, s)
        pr_ax.plot(rec, prec, color=NEG_COLOUR, lw=2,
                   label=f"average precision = {average_precision_score(y, s):.4f}")
        pr_ax.axhline(y.mean(), color="grey", linestyle=":", label=f"prevalence = {y.mean():.3f}")
    else:
        for ax in (roc_ax, pr_ax):
            ax.text(0.5, 0.5, "needs both classes", ha="center", va="center",
                    transform=ax.transAxes)
    roc_ax.set_xlabel("false positive rate")
    roc_ax.set_ylabel("true positive rate (recall)")
    roc_ax.set_title("ROC")
    pr_ax.set_xlabel("recall")
    pr_ax.set_ylabel("precision")
    pr_ax.set_title("Precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is roc_ax else "lower left", fontsize=8)
    fig.suptitle(title or f"ROC and precision-recall on the test set (n={y.size})")
    return fig


def confusion_matrix_figure(
    y: Any, pred: Any, *, class_names: Sequence[str], title: str | None = None
) -> Figure:
    """Confusion matrix, counts annotated in each cell; rows = true class, columns = predicted.

    y, pred: int[n] class indices 0..len(class_names)-1.
    """
    from sklearn.metrics import confusion_matrix

    y = np.asarray(y).reshape(-1)
    pred = np.asarray(pred).reshape(-1)
    if y.size != pred.size:
        raise UsageError(f"pred has {pred.size} values for {y.size} labels")
    k = len(class_names)
    cm = confusion_matrix(y, pred, labels=list(range(k)))
    side = 3.2 + 0.45 * k
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues", interpolation="nearest")
    top = cm.max() if cm.size and cm.max() > 0 else 1
    size = 10 if k <= 5 else 8
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:d}", ha="center", va="center", fontsize=size,
                    color="white" if cm[i, j] > top / 2 else "black")
    ax.set_xticks(range(k), [str(c) for c in class_names])
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(im, ax=ax, shrink=0.8).set_label("count")
    acc = float(np.trace(cm)) / max(1, int(cm.sum()))
    ax.set_title(title or f"Confusion matrix (accuracy {acc:.2%}, n={int(cm.sum())})")
    return fig


# ----------------------------------------------------------------------------------------------
# styles of a 4
# ----------------------------------------------------------------------------------------------


def styles_figure(
    x4: Any,
    clusters: StyleClusters,
    *,
    members: int = 6,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
) -> Figure:
    """Each style: its mean image, then `members` members from typical to unusual.

    x4: float[n, d] the images that were clustered, clusters: from :func:`cluster_styles`.
    Members are evenly spaced along the ranking by distance to the style mean (closest first).
    """
    x = np.asarray(x4, dtype=np.float64)
    labels = np.asarray(clusters.labels)
    k, m = int(clusters.k), max(1, int(members))
    fig = Figure(figsize=(1.5 * (m + 1) + 0.4, 1.65 * k + 0.9), layout="constrained")
    axes = fig.subplots(k, m + 1, squeeze=False)
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        mean = clusters.means[j]
        ax = axes[j, 0]
        ax.imshow(_to_image(mean, image_shape), cmap="gray_r", vmin=0, vmax=max(1e-9, mean.max()),
                  interpolation="nearest")
        ax.set_title(f"style {j} mean\nn={idx.size}", fontsize=9)
        ax.set_ylabel(f"style {j}", fontsize=9)
        dist = np.linalg.norm(x[idx] - mean, axis=1)
        ranked = idx[np.argsort(dist, kind="stable")]
        chosen = ranked[_evenly_spaced(ranked.size, m)]
        for c in range(m):
            ax = axes[j, c + 1]
            if c < chosen.size:
                ax.imshow(_to_image(x[chosen[c]], image_shape), cmap="gray_r", vmin=0, vmax=1,
                          interpolation="nearest")
                if j == 0:
                    ax.set_title("typical" if c == 0 else ("unusual" if c == m - 1 else ""),
                                 fontsize=9)
            else:
                ax.set_axis_off()
        for ax in axes[j]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title or f"{k} styles found by k-means: mean image and members (typical to unusual)")
    return fig


def _finite_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    return float(np.sum(values[ok] * weights[ok]) / np.sum(weights[ok])) if ok.any() else float("nan")


def style_recall_figure(
    recalls: Mapping[str, Any],
    counts: Any,
    *,
    means: Any = None,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
) -> Figure:
    """Grouped bars: recall of each style (x) for each model (one bar colour per model).

    recalls: {model name: float[k]} from :func:`style_recall`, counts: int[k] style sizes.
    means: optional float[k, d] style mean images, drawn as thumbnails under the groups.
    """
    if not recalls:
        raise UsageError("style_recall_figure needs recalls of at least one model")
    counts = np.asarray(counts).reshape(-1).astype(int)
    k = counts.size
    names = list(recalls)
    vals = {name: np.asarray(recalls[name], dtype=np.float64).reshape(-1) for name in names}
    for name, v in vals.items():
        if v.size != k:
            raise UsageError(f"recalls of {name!r} has {v.size} styles, counts has {k}")
    fig = Figure(figsize=(round(max(6.0, 1.3 * k * max(1, len(names)) ** 0.5 + 3.0), 1), 5.4))
    ax = fig.add_axes((0.1, 0.30 if means is not None else 0.16, 0.86, 0.62))
    width = 0.8 / len(names)
    palette = colormaps["tab10"]
    for i, name in enumerate(names):
        v = vals[name]
        xs = np.arange(k) - 0.4 + width * (i + 0.5)
        overall = _finite_mean(v, counts)
        ax.bar(xs, np.nan_to_num(v, nan=0.0), width=width * 0.95, color=palette(i % 10),
               label=f"{name} (all styles {overall:.3f})")
        for xx, vv in zip(xs, v):
            ax.text(xx, (vv if np.isfinite(vv) else 0) + 0.01, "n/a" if not np.isfinite(vv) else f"{vv:.2f}",
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(k), [f"style {j}\n(n={counts[j]})" for j in range(k)])
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("recall (fraction detected)")
    ax.set_xlabel("style" if means is None else "")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "Recall of the positive class by style")
    if means is not None:
        means = np.asarray(means, dtype=np.float64)
        for j in range(min(k, means.shape[0])):
            inset = ax.inset_axes((j - 0.25, -0.48, 0.5, 0.3), transform=ax.get_xaxis_transform())
            inset.imshow(_to_image(means[j], image_shape), cmap="gray_r", interpolation="nearest")
            inset.set_xticks([])
            inset.set_yticks([])
    return fig


def style_recall_table(recalls: Mapping[str, Any], counts: Any) -> str:
    """Markdown table: one row per style (n, recall of each model) and an 'all' row
    (recall over all styles, i.e. the count-weighted mean)."""
    counts = np.asarray(counts).reshape(-1).astype(int)
    names = list(recalls)
    vals = [np.asarray(recalls[n], dtype=np.float64).reshape(-1) for n in names]

    def fmt(v: float) -> str:
        return f"{v:.3f}" if np.isfinite(v) else "n/a"

    lines = ["| style | n | " + " | ".join(names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for j in range(counts.size):
        lines.append(f"| {j} | {counts[j]} | " + " | ".join(fmt(v[j]) for v in vals) + " |")
    lines.append(f"| all | {counts.sum()} | " + " | ".join(fmt(_finite_mean(v, counts)) for v in vals) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# sweeps
# ----------------------------------------------------------------------------------------------

def _truthy(value: Any) -> bool:
    """bool from a bool, a number or CSV text ('True', 'false', '1', '')."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


_FAMILIES = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "PuRd")


def comparison_figure(rows: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """Test accuracy against learning rate for a sweep: one panel per task.

    rows: list of dicts with keys model, task, lr (float > 0), epochs (int), seed,
    test_accuracy (float, may be NaN), diverged (bool); values read from a CSV (text) are
    accepted too ('False', 'nan', '0.1'). One line per (model, epochs): the mean
    over seeds of the runs that did not diverge, error bars = std over those seeds. Each model
    has its own colour family and each epoch budget a shade, light (few) to dark (many).
    A run that diverged or has a non-finite accuracy is an 'x' at the bottom of its panel.
    """
    rows = [r for r in rows if _float(r.get("lr")) > 0]
    tasks = list(dict.fromkeys(str(r["task"]) for r in rows)) or ["(no runs)"]
    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    budgets = {m: sorted({int(_float(r["epochs"])) for r in rows if str(r["model"]) == m})
               for m in models}

    def colour(model: str, epochs: int):
        cmap = colormaps[_FAMILIES[models.index(model) % len(_FAMILIES)]]
        b = budgets[model]
        t = 0.75 if len(b) == 1 else 0.4 + 0.55 * b.index(epochs) / (len(b) - 1)
        return cmap(t)

    ncols = min(len(tasks), 3)
    nrows = math.ceil(len(tasks) / ncols)
    fig = Figure(figsize=(5.2 * ncols + 2.6, 4.3 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    accs = np.array([_float(r.get("test_accuracy")) for r in rows], dtype=np.float64)
    bad = np.array([_truthy(r.get("diverged", False)) or not np.isfinite(a)
                    for r, a in zip(rows, accs)], dtype=bool)
    good = accs[~bad] if rows else np.array([])
    lo = float(np.min(good)) if good.size else 0.0
    ylo = max(0.0, lo - 0.08 * max(1.0 - lo, 0.02) - 0.02)
    handles, seen = [], set()
    any_diverged = False
    for ti, task in enumerate(tasks):
        ax = axes.flat[ti]
        task_rows = [(r, a, d) for r, a, d in zip(rows, accs, bad) if str(r["task"]) == task]
        for model in models:
            for ep in budgets[model]:
                sel = [(_float(r["lr"]), a, d) for r, a, d in task_rows
                       if str(r["model"]) == model and int(_float(r["epochs"])) == ep]
                if not sel:
                    continue
                c = colour(model, ep)
                lrs = sorted({lr for lr, _, _ in sel})
                xs, means, stds = [], [], []
                for lr in lrs:
                    ok = [a for l2, a, d in sel if l2 == lr and not d]
                    if ok:
                        xs.append(lr)
                        means.append(float(np.mean(ok)))
                        stds.append(float(np.std(ok)))
                if xs:
                    ax.errorbar(xs, means, yerr=stds, color=c, marker="o", ms=4, lw=1.6, capsize=3)
                    key = (model, ep)
                    if key not in seen:
                        seen.add(key)
                        handles.append(Line2D([], [], color=c, marker="o", lw=1.6,
                                              label=f"{model}, {ep} epochs"))
                div = [lr for lr, _, d in sel if d]
                if div:
                    any_diverged = True
                    ax.scatter(div, [0.03] * len(div), marker="x", s=40, color=c, linewidths=1.8,
                               transform=ax.get_xaxis_transform(), clip_on=False, zorder=5)
        ax.set_xscale("log")
        all_lr = [_float(r["lr"]) for r, _, _ in task_rows]
        if all_lr:  # the diverged marks use an axes transform: keep their lrs in view
            ax.set_xlim(min(all_lr) / 2, max(all_lr) * 2)
        ax.set_title(f"task: {task}")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3, which="both")
        if not task_rows:
            ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_axis_off()
    axes.flat[0].set_ylim(ylo, 1.005)
    if any_diverged:
        handles.append(Line2D([], [], color="dimgrey", marker="x", ls="", ms=7, mew=1.8,
                              label="diverged / NaN run"))
    if handles:
        fig.legend(handles=handles, loc="outside right center", fontsize=8, title="model, budget",
                   title_fontsize=8)
    fig.suptitle(title or "Test accuracy against learning rate (mean over seeds, bars = std)")
    return fig


def learning_curves_figure(curves: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """Test accuracy (top row) and test loss (bottom row, log scale) per epoch: a column per task.

    curves: list of dicts with keys model, task, epochs (the budget, int), test_accuracy and
    test_loss (float[E], one value per epoch trained) and optionally label (legend text). One
    line per curve; each model has its own colour family and each budget a shade, light (few
    epochs) to dark (many), as in :func:`comparison_figure`. Non-finite values are left out.
    """
    curves = [c for c in curves if len(c.get("test_accuracy") or []) > 0]
    if not curves:
        raise UsageError("learning_curves_figure needs at least one curve with test_accuracy")
    tasks = list(dict.fromkeys(str(c["task"]) for c in curves))
    models = list(dict.fromkeys(str(c["model"]) for c in curves))
    budgets = {m: sorted({int(c["epochs"]) for c in curves if str(c["model"]) == m}) for m in models}

    def colour(model: str, epochs: int):
        cmap = colormaps[_FAMILIES[models.index(model) % len(_FAMILIES)]]
        b = budgets[model]
        return cmap(0.75 if len(b) == 1 else 0.4 + 0.55 * b.index(epochs) / (len(b) - 1))

    fig = Figure(figsize=(4.6 * len(tasks) + 2.9, 6.6), layout="constrained")
    axes = fig.subplots(2, len(tasks), squeeze=False, sharex="col")
    for ti, task in enumerate(tasks):
        acc_ax, loss_ax = axes[0, ti], axes[1, ti]
        for c in curves:
            if str(c["task"]) != task:
                continue
            col = colour(str(c["model"]), int(c["epochs"]))
            label = str(c.get("label") or f"{c['model']}, {c['epochs']} epochs")
            for ax, key in ((acc_ax, "test_accuracy"), (loss_ax, "test_loss")):
                v = np.asarray(c.get(key) or [], dtype=np.float64).reshape(-1)
                x = np.arange(1, v.size + 1)
                ok = np.isfinite(v) & ((v > 0) if key == "test_loss" else True)
                if ok.any():
                    ax.plot(x[ok], v[ok], color=col, marker="o", ms=3 if v.size > 1 else 6, lw=1.6,
                            label=label if ax is acc_ax else None)
        acc_ax.set_title(f"task: {task}")
        acc_ax.set_ylabel("test accuracy")
        lo, hi = acc_ax.get_ylim()
        if hi > 1.0:  # accuracy never passes 1: no empty band above it
            acc_ax.set_ylim(lo, min(hi, 1.0 + 0.04 * (1.0 - lo)) if lo < 1.0 else 1.005)
        loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        loss_ax.set_ylabel("test loss (log scale)")
        loss_ax.set_xlabel("epoch")
        if any(ln.get_ydata().size for ln in loss_ax.get_lines()):
            loss_ax.set_yscale("log")
        for ax in (acc_ax, loss_ax):
            ax.grid(alpha=0.3, which="both")
        acc_ax.legend(fontsize=7, loc="lower right", framealpha=0.85)
    fig.suptitle(title or "Learning curves of the best config per model, task and epoch budget")
    return fig

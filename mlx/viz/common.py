"""What every figure shares: the colour convention, the captions, PNG bytes, image panels, limits.

Every figure of ``mlx.viz`` takes numpy arrays (and, where a model must be evaluated, a plain
callable) and RETURNS a :class:`matplotlib.figure.Figure`. Nothing writes files, logs or
touches global matplotlib state: figures are built with ``Figure`` directly (no pyplot, so no
backend is selected and nothing leaks between calls). The caller saves them, e.g. with
:func:`figure_to_png_bytes` (a PNG of ``fig.get_size_inches() * dpi`` pixels).

Colour convention, everywhere: the diverging map ``RdBu_r`` centred on zero (symmetric
limits). Red means "pushes towards the positive class / the panel's class" ("one" for 0-vs-1),
blue means "pushes towards the negative class" ("zero"). Sweep figures give each model a
colour family and each epoch budget a shade of it (:func:`budget_colour`).

Shapes in docstrings: ``n`` examples, ``d`` features (784 = 28*28 pixels), ``k`` classes or
output units, ``H`` hidden units, ``E`` logged epochs.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from mlx.errors import UsageError

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

_FAMILIES = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "PuRd")


def figure_to_png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes (Agg, no file, no pyplot). Pixel size = size_inches * dpi.
    zlib level 1 instead of Pillow's 6: about a tenth less time per figure for files about a
    fifth larger (flat-coloured plots compress well either way)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the finite entries of all arrays (1.0 when there is none or it is 0)."""
    best = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            best = max(best, float(np.max(np.abs(finite))))
    return best if best > 0 else 1.0


def as_rows(weights: Any, name: str) -> np.ndarray:
    """float[k, d] from float[d] or float[k, d]."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise UsageError(f"{name} must be float[k, d] or float[d]; got shape {np.shape(weights)}")
    return w


def to_image(vec: np.ndarray, image_shape: tuple[int, int] | None) -> np.ndarray:
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


def panel_grid(k: int, max_cols: int = 5) -> tuple[int, int]:
    """(rows, cols) for k panels: up to max_cols wide for k <= 2*max_cols, else near-square."""
    if k <= 2 * max_cols:
        cols = min(k, max_cols)
    else:
        cols = math.ceil(math.sqrt(k))
    return math.ceil(k / cols), cols


def image_panel(ax, img: np.ndarray, *, vmax: float, cmap: str = CMAP, title: str | None = None):
    """Draw one weight image on ax with symmetric limits; returns the AxesImage."""
    aspect = "equal" if img.shape[0] > 1 else "auto"
    im = ax.imshow(img, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect=aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    return im


def image_panels(axes, images: Sequence[np.ndarray], vmax: float, titles: Sequence[str | None]):
    """Each image on the next of axes (a grid, one symmetric scale, :func:`image_panel`), the
    spare axes turned off; returns the last AxesImage (for the colour bar)."""
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= len(images):
            ax.set_axis_off()
            continue
        im = image_panel(ax, images[i], vmax=vmax, title=titles[i])
    return im


def label_diverging_colourbar(cbar, *, positive: str, negative: str, label: str) -> None:
    """Colour bar label plus the meaning of each end ("-> one" at the top, "-> zero" below)."""
    cbar.set_label(label, fontsize=9)
    cbar.ax.text(0.5, 1.01, f"→ {positive}", transform=cbar.ax.transAxes, ha="center",
                 va="bottom", fontsize=8, color=POS_COLOUR)
    cbar.ax.text(0.5, -0.01, f"→ {negative}", transform=cbar.ax.transAxes, ha="center",
                 va="top", fontsize=8, color=NEG_COLOUR)


def evenly_spaced(n_total: int, n_pick: int) -> np.ndarray:
    """n_pick indices evenly spread over range(n_total), first and last included."""
    if n_total <= n_pick:
        return np.arange(n_total)
    return np.unique(np.round(np.linspace(0, n_total - 1, n_pick)).astype(int))


def class_name(label: Any, class_names: Sequence[str]) -> str:
    try:
        i = int(label)
    except (TypeError, ValueError):
        return str(label)
    return class_names[i] if 0 <= i < len(class_names) else str(i)


def budget_colour(models: Sequence[str], budgets: dict, model: str, epochs: int):
    """The colour of (model, epoch budget) in the sweep figures: the model's own colour family
    (in the order of models), a shade per budget from light (few epochs) to dark (many).
    budgets: {model: sorted epoch budgets of that model}."""
    cmap = colormaps[_FAMILIES[list(models).index(model) % len(_FAMILIES)]]
    b = budgets[model]
    return cmap(0.75 if len(b) == 1 else 0.4 + 0.55 * b.index(epochs) / (len(b) - 1))

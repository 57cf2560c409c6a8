"""How a trained model decides on the test set: evidence maps of single examples (x * b), the
logit histogram by true class, ROC and precision-recall curves, the confusion matrix.
Conventions in :mod:`mlx.viz.common`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from mlx.errors import UsageError
from mlx.viz.common import (NEG_COLOUR, POS_COLOUR, class_name, image_panel, label_diverging_colourbar,
                            sigmoid, symmetric_limit, to_image)

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
    p = sigmoid(z)
    fig = Figure(figsize=(m * 2.3 + 1.4, 5.4), layout="constrained")
    axes = fig.subplots(2, m, squeeze=False)
    vmax = symmetric_limit(evidence)
    im = None
    for i in range(m):
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(to_image(x[i], image_shape), cmap="gray_r", vmin=0.0, vmax=1.0,
                   interpolation="nearest")
        top.set_xticks([])
        top.set_yticks([])
        label = f"example {i}" if y is None else f"example {i}, true '{class_name(y[i], class_names)}'"
        top.set_title(label, fontsize=9)
        im = image_panel(bottom, to_image(evidence[i], image_shape), vmax=vmax, title="x * b")
        bottom.text(0.03, 0.03, f"z = {z[i]:+.2f}\np = {p[i]:.3f}", transform=bottom.transAxes,
                    fontsize=9, va="bottom", ha="left",
                    bbox=dict(boxstyle="round,pad=0.2", facecolor="white", alpha=0.85, lw=0))
    axes[0, 0].set_ylabel("image", fontsize=9)
    axes[1, 0].set_ylabel("evidence", fontsize=9)
    cbar = fig.colorbar(im, ax=axes[1, :], shrink=0.9)
    label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0],
                               label="pixel x weight")
    fig.suptitle(title or f"Evidence maps: z = b0 + sum(x*b) with b0 = {float(b0):+.2f}, "
                          "p = sigmoid(z)")
    return fig


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
                label=f"true '{class_name(c, class_names)}' (n={vals.size}, {wrong} wrong side)")
        ax.hist(vals, bins=edges, color=colour, histtype="step", linewidth=1.2)
    t = float(threshold_logit)
    ax.axvline(t, color="black", linestyle="--", linewidth=1.5,
               label=f"threshold z = {t:g} (p = {float(sigmoid(t)):.2g})")
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

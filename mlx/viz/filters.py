"""Figures of a model's weights as images: a linear model's filters, how they form over the
epochs (one run, or the best config of each epoch budget), an MLP's first-layer units, and the
best filters of a sweep side by side. Conventions in :mod:`mlx.viz.common`.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from mlx.errors import UsageError
from mlx.viz.common import (CMAP, as_rows, evenly_spaced, image_panel, image_panels, label_diverging_colourbar,
                            panel_grid, symmetric_limit, to_image)

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
    w = as_rows(weights, "weights")
    k = w.shape[0]
    if titles is not None and len(titles) != k:
        raise UsageError(f"titles has {len(titles)} entries for {k} filters")
    rows, cols = panel_grid(k)
    panel = 4.2 if k == 1 else 2.2
    fig = Figure(figsize=(cols * panel + 1.6, rows * panel + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = symmetric_limit(w)
    defaults = ["filter b"] if k == 1 else [f"class {i}" for i in range(k)]
    im = image_panels(axes, [to_image(row, image_shape) for row in w], vmax,
                      list(titles) if titles is not None else defaults)
    cbar = fig.colorbar(im, ax=axes, shrink=0.85)
    if k == 1:
        label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0],
                                   label=f"weight (red: towards '{class_names[1]}', "
                                         f"blue: towards '{class_names[0]}')")
    else:
        label_diverging_colourbar(cbar, positive="class", negative="other",
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
    w = as_rows(weights_by_epoch, "weights_by_epoch")
    epochs = list(epochs)
    if len(epochs) != w.shape[0]:
        raise UsageError(f"{len(epochs)} epochs given for {w.shape[0]} rows of weights")
    pick = evenly_spaced(w.shape[0], max_panels)
    w, epochs = w[pick], [epochs[i] for i in pick]
    e = w.shape[0]
    rows = math.ceil(e / 8)
    cols = math.ceil(e / rows)  # balanced rows: 10 panels as 2 x 5, not 8 + 2
    fig = Figure(figsize=(max(cols * 1.7 + 1.4, 4.6), rows * 1.9 + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = symmetric_limit(w)
    im = image_panels(axes, [to_image(row, image_shape) for row in w], vmax, [f"epoch {ep}" for ep in epochs])
    cbar = fig.colorbar(im, ax=axes, shrink=0.9)
    label_diverging_colourbar(cbar, positive=class_names[1], negative=class_names[0], label="weight")
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
    pick = evenly_spaced(n_ep, max_epochs)
    names = list(class_names) if len(class_names) == k else [f"class {j}" for j in range(k)]
    fig = Figure(figsize=(k * 1.45 + 1.6, pick.size * 1.55 + 0.9), layout="constrained")
    axes = fig.subplots(pick.size, k, squeeze=False)
    vmax = symmetric_limit(w[pick])
    im = None
    for r, e in enumerate(pick):
        for j in range(k):
            im = image_panel(axes[r, j], to_image(w[e, :, j], image_shape), vmax=vmax,
                              title=names[j] if r == 0 else None)
        axes[r, 0].set_ylabel(f"epoch {epochs[e]}", fontsize=9)
    cbar = fig.colorbar(im, ax=axes, shrink=0.85)
    label_diverging_colourbar(cbar, positive="class", negative="other",
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


def _block_canvas(label: str, snaps: Any, epochs: Sequence[int], class_names: Sequence[str],
                  image_shape: tuple[int, int] | None, max_epochs: int):
    """One block of :func:`filter_evolution_by_budget`: ((canvas, vmax, tile shape), ticks), the
    tiles as one image with NaN gaps and the labels of its columns (and rows, for k > 1)."""
    w = np.asarray(snaps, dtype=np.float64)
    w = w[:, :, None] if w.ndim == 2 else w
    epochs = list(epochs)
    if w.ndim != 3 or 0 in w.shape or len(epochs) != w.shape[0]:
        raise UsageError(f"block {label!r}: snapshots must be float[E, d, k] with E = {len(epochs)} epochs; "
                         f"got shape {np.shape(snaps)}")
    k = w.shape[2]
    if k == 1:
        tiles = [[to_image(w[e, :, 0], image_shape) for e in range(w.shape[0])]]
        ticks = ("x", [f"epoch {e}" for e in epochs])
    else:
        pick = evenly_spaced(w.shape[0], max_epochs)
        tiles = [[to_image(w[e, :, j], image_shape) for j in range(k)] for e in pick]
        names = list(class_names) if len(class_names) == k else [f"class {j}" for j in range(k)]
        ticks = ("xy", names, [f"epoch {epochs[e]}" for e in pick])
    return (_tile_canvas(tiles), symmetric_limit(w), tiles[0][0].shape), ticks


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
        canvas, tick = _block_canvas(label, snaps, epochs, class_names, image_shape, max_epochs)
        canvases.append(canvas)
        ticks.append(tick)
        labels.append(f"{label}  (|w| up to {canvas[1]:.3g})")
    width = max(c.shape[1] for c, _, _ in canvases)
    heights = [c.shape[0] for c, _, _ in canvases]
    scale = min(8.5 / width, 0.075)  # inches per pixel
    left = 0.75 if any(tk[0] == "xy" for tk in ticks) else 0.1
    head, foot, top, bottom = 0.3, 0.3, 0.45, 0.35  # inches: block title, tick labels, suptitle, note
    fw = width * scale + left + 0.15
    tall = [max(h * scale, 0.4) for h in heights]  # a feature strip (tabular data) gets some height
    fh = top + sum(t + head + foot for t in tall) + bottom
    fig = Figure(figsize=(fw, fh))  # a fixed layout: constrained layout was half of the drawing
    axes, y = [], fh - top
    for t in tall:
        y -= head + t
        axes.append(fig.add_axes((left / fw, y / fh, width * scale / fw, t / fh)))
        y -= foot
    for ax, (canvas, vmax, (h, w_)), label, tk in zip(axes, canvases, labels, ticks):
        ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-vmax, vmax=vmax,
                  interpolation="nearest", aspect="auto")
        ax.set_ylim(canvas.shape[0] - 0.5, -0.5)
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xticks([j * (w_ + 2) + (w_ - 1) / 2 for j in range(len(tk[1]))], tk[1], fontsize=7)
        ax.set_yticks([i * (h + 2) + (h - 1) / 2 for i in range(len(tk[2]))] if tk[0] == "xy" else [],
                      tk[2] if tk[0] == "xy" else [], fontsize=7)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    negative, positive = (class_names[0], class_names[-1]) if len(class_names) == 2 else ("others", "the class")
    fig.suptitle(title or "How the filters form", fontsize=10, y=1 - 0.12 / fh, va="top")
    fig.text(0.5, 0.12 / fh, f"red: evidence for {positive}, blue: for {negative}, white: 0 "
             f"(each row on its own scale)", fontsize=8, ha="center", va="bottom")
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
    rows, cols = panel_grid(m, max_cols=4)
    if m > 8:
        cols = math.ceil(math.sqrt(m))
        rows = math.ceil(m / cols)
    fig = Figure(figsize=(cols * 1.9 + 1.4, rows * 2.0 + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    filters = w1[:, order].T
    vmax = symmetric_limit(filters)
    im = image_panels(axes, [to_image(f, image_shape) for f in filters], vmax,
                      [f"unit {int(j)}, out-norm {norms[int(j)]:.2g}" for j in order])
    cbar = fig.colorbar(im, ax=axes, shrink=0.9)
    label_diverging_colourbar(cbar, positive="excites", negative="inhibits",
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
    blocks = [(str(t), as_rows(w, f"weights of {t!r}")) for t, w in entries]
    # One panel size for all blocks: every block gets the same number of rows (a single
    # filter spans the whole height, drawn large), so nothing is stretched apart.
    rows_max = max(panel_grid(w.shape[0])[0] for _, w in blocks)
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
        vmax = symmetric_limit(w)
        im = image_panels(axes, [to_image(row, image_shape) for row in w], vmax,
                          [None] if w.shape[0] == 1 else [f"{i}" for i in range(w.shape[0])])
        cbar = sub.colorbar(im, ax=axes, shrink=0.8)
        cbar.set_label("weight (red +, blue -)", fontsize=8)
        sub.suptitle(name, fontsize=10)
    fig.suptitle(title or "Best filters per model (red: evidence for, blue: against)")
    return fig

"""Decision boundaries: a d-input model seen on the plane of the first two principal
components (a 2-D slice of it), and a model trained on those two components (the whole of it).
The model is a plain callable, evaluated in chunks of a fixed size. Conventions in
:mod:`mlx.viz.common`; the PCA itself is :mod:`mlx.styles`.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from mlx.errors import UsageError
from mlx.styles import pca_project
from mlx.viz.common import CMAP, NEG_COLOUR, POS_COLOUR, class_name

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


def plane_axes(z: np.ndarray, grid: int, margin: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
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
    fig.subplots_adjust(left=0.09, right=0.9, bottom=0.09, top=0.87)  # a fixed layout: cheaper to draw
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
                              label=f"true '{class_name(c, class_names)}' (n={int(mask.sum())})"))
    handles.append(Line2D([], [], color="black", lw=2, label="p = 0.5"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)  # "best" costs a search
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(ga[0], ga[-1])
    ax.set_ylim(gb[0], gb[-1])
    # About 5 ticks per axis instead of matplotlib's 7-9: each labelled tick costs a few ms to
    # draw, most of the figure's cost.
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    cbar = fig.colorbar(cs, ax=ax, fraction=0.05, pad=0.02, ticks=[0.0, 0.25, 0.5, 0.75, 1.0])
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
    are drawn (deterministic subsample with seed). The numbers are :func:`plane_slice`, the
    picture :func:`slice_figure`.
    """
    return slice_figure(plane_slice(x_test, y_test, predict_proba, mean=mean, components=components,
                                    grid=grid, chunk=chunk),
                        class_names=class_names, title=title, max_points=max_points, seed=seed)


def plane_slice(x_test: Any, y_test: Any, predict_proba: Callable[[np.ndarray], Any], *, mean: Any,
                components: Any, grid: int = 200, chunk: int = 8192) -> dict:
    """What :func:`decision_boundary` draws, computed (no matplotlib): {"z": float[n, 2] test
    points on the plane, "y": int[n], "ga", "gb": the lattice's axes, "prob": float[grid, grid],
    p on the lattice (row = pc2 value)}."""
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
    ga, gb = plane_axes(z, int(grid))
    aa, bb = np.meshgrid(ga, gb)  # [grid, grid], row = pc2 value
    flat_a, flat_b = aa.reshape(-1), bb.reshape(-1)

    basis = np.stack([pc1, pc2, mean]).astype(np.float32)  # [3, d]: one float32 matmul per chunk
    coords = np.stack([flat_a, flat_b, np.ones_like(flat_a)], axis=1).astype(np.float32)

    def rows(start: int, stop: int) -> np.ndarray:
        return np.clip(coords[start:stop] @ basis, 0.0, 1.0)

    prob = _evaluate_in_chunks(predict_proba, rows, flat_a.size, chunk).reshape(aa.shape)
    return {"z": z, "y": y, "ga": ga, "gb": gb, "prob": prob}


def slice_figure(sl: dict, *, class_names: tuple[str, str] = ("0", "1"), title: str | None = None,
                 max_points: int = 2000, seed: int = 0) -> Figure:
    """The figure of :func:`decision_boundary` from its numbers (:func:`plane_slice`)."""
    fig = Figure(figsize=(7.4, 6.0))
    _boundary_axes(fig, sl["ga"], sl["gb"], sl["prob"], sl["z"], sl["y"], class_names, max_points, seed,
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
    ga, gb = plane_axes(z, int(grid))
    aa, bb = np.meshgrid(ga, gb)
    pts = np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1).astype(np.float32)
    prob = _evaluate_in_chunks(predict_proba_2d, lambda s, e: pts[s:e], pts.shape[0],
                               pts.shape[0]).reshape(aa.shape)
    fig = Figure(figsize=(7.4, 6.0))
    _boundary_axes(fig, ga, gb, prob, z, y, class_names, max_points, seed, xlabel, ylabel)
    fig.suptitle(title or "Model trained on the two principal components only (2 inputs):\n"
                          "its decision boundary", fontsize=11)
    return fig

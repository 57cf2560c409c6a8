"""Figures of the styles of a digit: each style's mean image and members, and the recall of
each style per model (a figure and a markdown table). The styles themselves (k-means on PCA,
recall per style) are computed in :mod:`mlx.styles`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from mlx.errors import UsageError
from mlx.styles import StyleClusters
from mlx.viz.common import evenly_spaced, to_image

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
    A row per style, drawn as ONE image (tiles with white gaps, ink dark; each mean image on
    its own scale, members on 0..1) on a fixed layout: one axes instead of one per tile keeps
    the figure cheap to draw (a sweep draws it for every Nvrest task).
    """
    x = np.asarray(x4, dtype=np.float64)
    labels = np.asarray(clusters.labels)
    k, m = int(clusters.k), max(1, int(members))
    h, w = (int(s) for s in image_shape)
    gap = max(2, h // 7)
    canvas = np.full((k * (h + gap) - gap, (m + 1) * (w + gap) - gap), np.nan)
    sizes = []
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        sizes.append(idx.size)
        mean = np.asarray(clusters.means[j], dtype=np.float64)
        tiles = [to_image(mean, image_shape) / max(1e-9, float(mean.max()))]
        dist = np.linalg.norm(x[idx] - mean, axis=1)
        ranked = idx[np.argsort(dist, kind="stable")]
        tiles += [to_image(x[i], image_shape) for i in ranked[evenly_spaced(ranked.size, m)]]
        for c, tile in enumerate(tiles):
            canvas[j * (h + gap):j * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = np.clip(tile, 0, 1)
    cell = 1.15  # inches per tile
    left, right, top, bottom = 1.05, 0.15, 0.75, 0.1
    fig = Figure(figsize=((m + 1) * cell + left + right, k * cell + top + bottom))
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((left / fw, bottom / fh, 1 - (left + right) / fw, 1 - (top + bottom) / fh))
    ax.imshow(np.ma.masked_invalid(canvas), cmap=colormaps["gray_r"].with_extremes(bad="white"),
              vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    heads = ["style mean"] + ["typical" if c == 0 else ("unusual" if c == m - 1 else "") for c in range(m)]
    ax.set_xticks([c * (w + gap) + (w - 1) / 2 for c in range(m + 1)], heads, fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([j * (h + gap) + (h - 1) / 2 for j in range(k)],
                  [f"style {j}\nn={sizes[j]}" for j in range(k)], fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle(title or f"{k} styles found by k-means: mean image and members (typical to unusual)",
                 fontsize=10, y=1 - 0.12 / fh, va="top")
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
            inset.imshow(to_image(means[j], image_shape), cmap="gray_r", interpolation="nearest")
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

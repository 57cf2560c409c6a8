"""mlx.data.dataset: the Dataset type's sizes and description, and the shared label check."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _idx_util import one_line_error

from mlx.data.dataset import NUM_CLASSES, Dataset, check_labels
from mlx.errors import DataError


def test_sizes_and_describe():
    ds = Dataset(np.zeros((3, 784), np.uint8), np.zeros(3, np.int32), np.zeros((2, 784), np.uint8),
                 np.zeros(2, np.int32), source="idx", name="mnist")
    assert (ds.n_train, ds.n_test) == (3, 2) and ds.image_shape == (28, 28)
    assert ds.describe() == "idx:mnist train=3 test=2"
    assert ds.feature_names is None and ds.notes == ()


def test_check_labels():
    y = check_labels(np.arange(NUM_CLASSES, dtype=np.uint8), Path("labels"))
    assert y.dtype == np.int32 and y.tolist() == list(range(NUM_CLASSES))
    with pytest.raises(DataError) as e:
        check_labels(np.array([0, 3, 10, 12], np.uint8), Path("f.idx"))
    msg = one_line_error(e)
    assert "f.idx has label 10 at index 2 (2 bad in all)" in msg and "0..9" in msg

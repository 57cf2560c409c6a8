"""mlx.data.sources: load_dataset by source name, and the order auto tries them in."""
from __future__ import annotations

import pytest
from _idx_util import make_idx_dir, one_line_error

from mlx.data.sources import load_dataset
from mlx.errors import DataError


# ---------------------------------------------------------------- auto and dispatch


def test_auto_prefers_data_dir(tmp_path, small_tfds):
    make_idx_dir(tmp_path / "digits")
    ds = load_dataset(data_dir=tmp_path / "digits", tfds_dir=small_tfds)
    assert ds.source == "idx" and ds.name == "digits" and ds.n_train == 30
    assert ds.notes[0].startswith("auto:")


def test_auto_uses_prepared_tfds(small_tfds, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(small_tfds))
    ds = load_dataset()  # default tfds_dir comes from TFDS_DATA_DIR
    assert ds.source == "tfds" and ds.n_train == 30 and ds.n_test == 20
    assert ds.notes[0].startswith("auto:")


def test_auto_falls_back_to_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    ds = load_dataset()
    assert ds.source == "sample" and ds.n_train == 4000
    assert any("sample" in n for n in ds.notes)
    (tmp_path / "other" / "mnist_from_idx" / "incomplete.X_1.0.0").mkdir(parents=True)
    assert load_dataset(tfds_dir=tmp_path / "other").source == "sample"  # unfinished prep


def test_load_dataset_sources(tmp_path, small_tfds):
    make_idx_dir(tmp_path / "d", n_train=40)
    assert load_dataset("idx", data_dir=tmp_path / "d").n_train == 40
    assert load_dataset("sample").source == "sample"
    ds = load_dataset("tfds", tfds_dir=small_tfds, data_dir=tmp_path / "d")
    assert ds.source == "tfds" and ds.n_train == 30  # already prepared: data_dir not used
    ds = load_dataset("tfds", tfds_dir=tmp_path / "new", data_dir=tmp_path / "d")
    assert ds.source == "tfds" and ds.n_train == 40  # data_dir is the idx_dir to prepare from


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(source="parquet"), ["parquet", "auto, idx, tfds, sample, csv"]),
        (dict(source="csv"), ["path=", "mlx.data.csv_table"]),
        (dict(source="idx"), ["data_dir=", "download=true"]),
        (dict(source="tfds", tfds_name="emnist"), ["emnist", "fashion_mnist"]),
    ],
)
def test_load_dataset_errors(kwargs, words, tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset(tfds_dir=tmp_path, **kwargs)
    msg = one_line_error(e)
    assert all(w in msg for w in words), msg

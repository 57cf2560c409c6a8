"""mlx.data.tfds: offline prepare from IDX (no TensorFlow), reading records, one-line DataErrors."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from _idx_util import idx_bytes, make_idx_dir, one_line_error, write
from _util import assert_usage_error, run_cli

from mlx.data import tfds
from mlx.errors import DataError


# ---------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds_prepared(mnist_dir, tmp_path_factory):
    """One offline preparation of MNIST (from the IDX files, no TensorFlow) for the module."""
    root = tmp_path_factory.mktemp("tfds")
    ds = tfds.load_tfds("mnist", tfds_dir=root, idx_dir=mnist_dir)
    return root, ds


def test_tfds_offline_prepare_and_read(tfds_prepared, mnist):
    root, ds = tfds_prepared
    assert ds.source == "tfds" and ds.name == "mnist"
    assert ds.x_train.shape == (60000, 784) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10000, 784) and ds.y_test.dtype == np.int32
    assert np.bincount(ds.y_train).tolist() == np.bincount(mnist.y_train).tolist()
    assert np.bincount(ds.y_test).tolist() == np.bincount(mnist.y_test).tolist()
    # Prepared with shuffling disabled: exactly the IDX arrays, in IDX order.
    assert ds.y_train[0] == 5
    for a, b in zip(ds[:4], mnist[:4]):
        assert np.array_equal(a, b)
    vdir = root / "mnist_from_idx" / "1.0.0"
    assert (vdir / "dataset_info.json").is_file() and tfds.prepared_tfds("mnist", root) == vdir
    assert not (root / "mnist").exists()  # the stock name is left alone


def test_tfds_second_load_needs_no_idx_dir(tfds_prepared):
    root, first = tfds_prepared
    again = tfds.load_tfds(tfds_dir=root)
    assert np.array_equal(again.x_train, first.x_train) and np.array_equal(again.y_test, first.y_test)


def test_tfds_generic_decode_matches_fast_path(tfds_prepared):
    root, first = tfds_prepared
    splits = tfds._read_prepared(root / "mnist_from_idx" / "1.0.0", fast=False, splits=("test",))
    assert np.array_equal(splits["test"][0], first.x_test)
    assert np.array_equal(splits["test"][1], first.y_test)


def test_tfds_not_prepared_without_download(tmp_path):
    with pytest.raises(DataError) as e:
        tfds.load_tfds("mnist", tfds_dir=tmp_path)
    msg = one_line_error(e)
    assert "not prepared" in msg and str(tmp_path) in msg
    assert "data_dir=" in msg and "download=true" in msg
    assert "idx_dir" not in msg  # a parameter name of load_tfds, not a config key
    assert list(tmp_path.iterdir()) == []


def _suggested_keys(line: str) -> set[str]:
    return set(re.findall(r"\b([a-z_]+)=", line))


def test_cli_tfds_not_prepared_suggests_real_keys(tmp_path):
    """The one line names only keys that `mlx train` accepts (data_dir=, not idx_dir=)."""
    from mlx.config import FIELDS
    root, out = tmp_path / "tfds", tmp_path / "runs"
    root.mkdir()
    proc = run_cli("train", "data=tfds", f"tfds_dir={root}", f"out={out}", "epochs=1")
    line = assert_usage_error(proc, "not prepared", "data_dir=")
    keys = _suggested_keys(line.split("mlx: error:", 1)[1])
    assert "data_dir" in keys and "idx_dir" not in line
    assert keys <= set(FIELDS), keys - set(FIELDS)
    assert list(root.iterdir()) == [] and not out.exists()


def test_tfds_messages_suggest_only_config_keys():
    """Every key=... hint in the messages of the image sources (mlx/data/{dataset,idx,download,tfds,
    sample,sources}.py) is a key of `mlx train`."""
    from mlx.config import FIELDS
    hinted = set()
    for module in ("dataset", "idx", "download", "tfds", "sample", "sources"):
        src = (Path(tfds.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
        for m in re.finditer(r'f?"[^"\n]*"', src):
            if "DataError" in src[max(0, m.start() - 400): m.start()]:
                hinted |= _suggested_keys(m.group(0))
    assert "data_dir" in hinted
    assert hinted <= set(FIELDS), hinted - set(FIELDS)


def test_tfds_download_without_tensorflow(tmp_path):
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed: this would really download")
    root = tmp_path / "tfds"
    with pytest.raises(DataError) as e:
        tfds.load_tfds("kmnist", tfds_dir=root, download=True)
    msg = one_line_error(e)
    assert "preparing kmnist from the network needs TensorFlow" in msg
    assert 'pip install "mlxlab[tfds-prepare]"' in msg
    assert not root.exists()


def test_tfds_unknown_name(tmp_path):
    with pytest.raises(DataError) as e:
        tfds.load_tfds("cifar10", tfds_dir=tmp_path)
    msg = one_line_error(e)
    assert "cifar10" in msg and all(n in msg for n in ("mnist", "fashion_mnist", "kmnist"))


def test_tfds_other_name_prepared_offline_under_its_own_builder(tmp_path):
    arrays = make_idx_dir(tmp_path / "fashion", n_train=40, n_test=20)
    root = tmp_path / "tfds"
    ds = tfds.load_tfds("fashion_mnist", tfds_dir=root, idx_dir=tmp_path / "fashion")
    assert ds.name == "fashion_mnist" and ds.n_train == 40 and ds.n_test == 20
    assert (root / "fashion_mnist_from_idx" / "1.0.0" / "dataset_info.json").is_file()
    assert sorted(ds.y_train.tolist()) == sorted(arrays["train-labels-idx1-ubyte"].tolist())
    assert tfds.prepared_tfds("mnist", root) is None


def test_tfds_bad_idx_dir_writes_nothing(tmp_path):
    make_idx_dir(tmp_path / "idx")
    write(tmp_path / "idx" / "train-labels-idx1-ubyte", idx_bytes(np.full(30, 12, np.uint8)), True)
    root = tmp_path / "tfds"
    with pytest.raises(DataError) as e:
        tfds.load_tfds("mnist", tfds_dir=root, idx_dir=tmp_path / "idx")
    assert "label 12" in one_line_error(e)
    assert tfds.prepared_tfds("mnist", root) is None


def test_default_tfds_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert tfds.default_tfds_dir() == tmp_path
    monkeypatch.delenv("TFDS_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tfds.default_tfds_dir() == tmp_path / "home" / "tensorflow_datasets"

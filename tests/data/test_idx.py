"""mlx.data.idx: IDX reading and validation, the four files of a folder, one-line DataErrors."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from _idx_util import STEMS, TEST_COUNTS, TRAIN_COUNTS, idx_bytes, make_idx_dir, one_line_error, write
from _util import assert_usage_error, run_cli

from mlx.data.idx import load_idx, read_idx
from mlx.errors import DataError


# ---------------------------------------------------------------- full MNIST from IDX


def test_full_mnist_idx(mnist):
    assert mnist.source == "idx" and mnist.name == "mnist"
    assert mnist.x_train.shape == (60000, 784) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 784) and mnist.x_test.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.int32
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.int32
    assert mnist.y_train[0] == 5 and mnist.y_test[0] == 7
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_COUNTS
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 255
    assert mnist.image_shape == (28, 28)
    assert mnist.x_train.flags.writeable


@pytest.mark.parametrize("dotted", [False, True])
def test_ungzipped_copies_load_the_same(mnist_dir, mnist, tmp_path, dotted):
    for stem in STEMS:
        name = stem.replace("-idx", ".idx", 1) if dotted else stem
        (tmp_path / name).write_bytes(gzip.decompress((mnist_dir / f"{stem}.gz").read_bytes()))
    ds = load_idx(tmp_path)
    for a, b in zip(ds[:4], mnist[:4]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert ds.name == tmp_path.name


def test_read_idx_single_files(mnist_dir):
    x = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    y = read_idx(str(mnist_dir / "t10k-labels-idx1-ubyte.gz"))
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y[:3].tolist() == [7, 2, 1]


def test_small_folder_name_is_basename_and_values_kept(tmp_path):
    arrays = make_idx_dir(tmp_path / "fashion", gz=False)
    ds = load_idx(tmp_path / "fashion")
    assert ds.name == "fashion" and ds.n_train == 30 and ds.n_test == 20
    assert np.array_equal(ds.x_train, arrays["train-images-idx3-ubyte"].reshape(30, 784))
    assert np.array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"].astype(np.int32))


# ---------------------------------------------------------------- corrupt / missing files


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    arrays = make_idx_dir(tmp_path, gz=gz)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(arrays["t10k-images-idx3-ubyte"], magic=0x0804), gz)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "t10k-images-idx3-ubyte" in msg and "magic" in msg
    assert "0x00000804" in msg and "0x00000803" in msg


def test_labels_file_in_images_place_is_rejected(tmp_path):
    make_idx_dir(tmp_path, gz=False)
    shutil.copy(tmp_path / "train-labels-idx1-ubyte", tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "0x00000801" in msg and "0x00000803 (images)" in msg


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file(tmp_path, gz):
    arrays = make_idx_dir(tmp_path, gz=gz)
    full = idx_bytes(arrays["train-images-idx3-ubyte"])
    write(tmp_path / "train-images-idx3-ubyte", full[:-100], gz)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    expected, actual = 30 * 28 * 28, 30 * 28 * 28 - 100
    assert "train-images-idx3-ubyte" in msg and "truncated" in msg
    assert str(expected) in msg and str(actual) in msg


def test_trailing_bytes(tmp_path):
    arrays = make_idx_dir(tmp_path, gz=False)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(arrays["t10k-labels-idx1-ubyte"]) + b"\0\0", False)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "t10k-labels-idx1-ubyte" in msg and "2 bytes more" in msg


def test_wrong_image_size(tmp_path):
    make_idx_dir(tmp_path)
    small = np.zeros((30, 27, 27), dtype=np.uint8)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(small), True)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "train-images-idx3-ubyte" in msg and "27x27" in msg and "expected 28x28" in msg


def test_label_out_of_range(tmp_path):
    make_idx_dir(tmp_path)
    labels = np.arange(30, dtype=np.uint8) % 10
    labels[7] = 11
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), True)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "label 11" in msg and "train-labels-idx1-ubyte" in msg and "0..9" in msg


def test_count_mismatch(tmp_path):
    make_idx_dir(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(19, np.uint8)), True)
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "20 images" in msg and "19 labels" in msg


@pytest.mark.parametrize("damage", ["flip", "cut", "garbage"])
def test_corrupt_gzip(tmp_path, damage):
    make_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    if damage == "flip":  # a damaged deflate stream or a CRC mismatch
        raw[len(raw) // 2] ^= 0xFF
    elif damage == "cut":
        raw = raw[: len(raw) // 2]
    else:  # named .gz but not gzip at all
        raw = bytearray(b"this is not gzip" * 10)
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "train-images-idx3-ubyte.gz" in msg and "not a valid gzip file" in msg


@pytest.mark.parametrize("split", ["train", "test"])
def test_empty_split_is_one_line(tmp_path, split):
    """0 examples in a split (valid headers, counts 0): DataError naming the files, not numpy's
    `cannot reshape array of size 0`."""
    make_idx_dir(tmp_path, **{f"n_{split}": 0})
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    prefix = "train" if split == "train" else "t10k"
    assert f"{prefix}-images-idx3-ubyte.gz" in msg and f"{prefix}-labels-idx1-ubyte.gz" in msg
    assert "0 examples" in msg and "empty" in msg and "reshape" not in msg


@pytest.mark.parametrize("split", ["train", "test"])
def test_cli_train_on_empty_split(tmp_path, split):
    """Through `mlx train`: one line, exit 2, no run folder, the data folder untouched."""
    idx, out = tmp_path / "idx", tmp_path / "runs"
    make_idx_dir(idx, **{f"n_{split}": 0}, gz=False)
    before = sorted((p.name, p.read_bytes()) for p in idx.iterdir())
    proc = run_cli("train", "data=idx", f"data_dir={idx}", f"out={out}", "epochs=1")
    assert_usage_error(proc, "0 examples", "split is empty", str(idx))
    assert not out.exists()
    assert sorted((p.name, p.read_bytes()) for p in idx.iterdir()) == before


def test_missing_files(tmp_path):
    make_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    msg = one_line_error(e)
    assert "missing" in msg and "t10k-labels-idx1-ubyte" in msg
    assert all(stem in msg for stem in STEMS)  # lists what a folder must hold
    assert "download=true" in msg


def test_missing_folder(tmp_path):
    with pytest.raises(DataError) as e:
        load_idx(tmp_path / "nope")
    msg = one_line_error(e)
    assert "does not exist" in msg and "download=true" in msg
    assert all(stem in msg for stem in STEMS)
    assert not (tmp_path / "nope").exists()  # no download unless asked

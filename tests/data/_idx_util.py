"""Helpers the mlx.data tests share: where full MNIST is, small synthetic IDX folders, the one-line error check."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


# parents: [0] tests/data, [1] tests, [2] the checkout, [3] the folder beside it holding shared/
MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
# Published MNIST class counts.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


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

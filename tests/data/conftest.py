"""Fixtures the mlx.data tests share: full MNIST (skipped when absent) and a small prepared TFDS set."""
from __future__ import annotations

from pathlib import Path

import pytest
from _idx_util import MNIST_DIR, STEMS, make_idx_dir

from mlx.data.dataset import Dataset
from mlx.data.idx import load_idx
from mlx.data.tfds import load_tfds


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    if not all((MNIST_DIR / f"{s}.gz").is_file() for s in STEMS):
        pytest.skip(f"MNIST .gz files not found in {MNIST_DIR} (../shared/data/mnist beside the checkout)")
    return MNIST_DIR


@pytest.fixture(scope="module")
def mnist(mnist_dir) -> Dataset:
    return load_idx(mnist_dir)


@pytest.fixture(scope="module")
def small_tfds(tmp_path_factory) -> Path:
    """A tfds_dir where a tiny synthetic `mnist` (30 train / 20 test) was prepared offline."""
    base = tmp_path_factory.mktemp("small")
    make_idx_dir(base / "idx")
    load_tfds("mnist", tfds_dir=base / "tfds", idx_dir=base / "idx")
    return base / "tfds"

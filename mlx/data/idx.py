"""MNIST-format IDX files: read and check one file, find the four of a folder, load them.

A folder holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or not (the
dotted spelling ``t10k-images.idx3-ubyte`` is accepted too). Magic numbers, sizes, 28x28
images, matching counts and labels 0..9 are checked; anything wrong is a one-line
:class:`~mlx.errors.DataError`. Fashion-MNIST and KMNIST folders in the same format load the
same way; ``Dataset.name`` is the folder's basename. ``download=True`` (never the default)
fetches the missing MNIST files first (:mod:`mlx.data.download`). Also here: the shared
full-MNIST folder the experiments and the benchmark use by default.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from mlx.data.dataset import IMAGE_SIZE, Dataset, check_labels
from mlx.data.download import DEFAULT_MIRROR, MNIST_FILES, download_idx
from mlx.errors import DataError

#: The four IDX files of a split folder, by role (canonical names, without .gz).
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_GZIP_MAGIC = b"\x1f\x8b"
_SPLIT_NAMES = {"train": "training", "test": "test"}


def _expected_list() -> str:
    return ", ".join(IDX_NAMES.values()) + " (each optionally .gz)"


def _decompress(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(
            f"{path} is not a valid gzip file ({e}); delete it and fetch it again "
            f"(download=true) or replace it with a good copy"
        ) from None


def _raw_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (by name or by its magic bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e.strerror or e}") from None
    if path.name.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        raw = _decompress(path, raw)
    return raw


def _header(path: Path, raw: bytes, kind: str | None) -> tuple[int, tuple[int, ...]]:
    """(header length, dims) after checking the magic number, the header and 28x28 images."""
    if len(raw) < 4:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes, no header)")
    magic = int.from_bytes(raw[:4], "big")
    allowed = {"images": (IMAGE_MAGIC,), "labels": (LABEL_MAGIC,)}.get(kind, (IMAGE_MAGIC, LABEL_MAGIC))
    if magic not in allowed:
        what = " or ".join(
            f"0x{m:08X} ({'images' if m == IMAGE_MAGIC else 'labels'})" for m in allowed
        )
        raise DataError(f"{path} has magic number 0x{magic:08X}, expected {what}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path} is truncated: the IDX header needs {header} bytes, found {len(raw)}"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if ndim == 3 and dims[1:] != IMAGE_SIZE:
        raise DataError(
            f"{path} holds images of {dims[1]}x{dims[2]} pixels, expected "
            f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} (MNIST format)"
        )
    return header, dims


def _read_idx(path: Path, kind: str | None = None) -> np.ndarray:
    """Read and check one IDX file; ``kind`` 'images'/'labels' also checks what it holds."""
    raw = _raw_bytes(path)
    header, dims = _header(path, raw, kind)
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(raw) - header
    shape = " x ".join(map(str, dims))
    if actual < expected:
        raise DataError(
            f"{path} is truncated: header says {shape} = {expected} data bytes, "
            f"found {actual}; fetch the file again (download=true)"
        )
    if actual > expected:
        raise DataError(
            f"{path} has {actual - expected} bytes more than its header says "
            f"({shape} = {expected} data bytes, found {actual}); the file is damaged"
        )
    # Copy so that callers get an ordinary writable array (not a view of read-only bytes).
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=header).reshape(dims).copy()


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzipped or not): uint8 array shaped as its header says.

    Checks the magic number (0x00000803 images, 0x00000801 labels), that images are 28x28,
    and that the data is exactly as long as the header says; raises DataError otherwise.
    """
    return _read_idx(Path(path).expanduser())


def _candidates(stem: str) -> list[str]:
    dotted = stem.replace("-idx", ".idx", 1)  # t10k-images.idx3-ubyte
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def _find_idx_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    found, missing = {}, []
    for role, stem in IDX_NAMES.items():
        for cand in _candidates(stem):
            if (folder / cand).is_file():
                found[role] = folder / cand
                break
        else:
            missing.append(stem)
    return found, missing


def _load_split(files: dict[str, Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    ipath, lpath = files[f"{split}_images"], files[f"{split}_labels"]
    x = _read_idx(ipath, "images")
    y = _read_idx(lpath, "labels")
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"{ipath.name} has {x.shape[0]} images but {lpath.name} has {y.shape[0]} labels; "
            f"the two files of a split must have the same count"
        )
    if x.shape[0] == 0:
        raise DataError(
            f"{ipath} and {lpath.name} hold 0 examples: the {_SPLIT_NAMES[split]} split is empty; "
            f"each of the two splits needs at least one example"
        )
    return x.reshape(x.shape[0], IMAGE_SIZE[0] * IMAGE_SIZE[1]), check_labels(y, lpath)


def _locate(folder: Path, download: bool, mirror: str) -> dict[str, Path]:
    """The four files of ``folder`` by role, fetching the missing ones first when ``download``."""
    if folder.exists() and not folder.is_dir():
        raise DataError(f"data_dir {folder} is a file; it must be a folder holding {_expected_list()}")
    found, missing = _find_idx_files(folder) if folder.is_dir() else ({}, list(IDX_NAMES.values()))
    if missing and download:
        download_idx(
            folder, mirror=mirror, files={k: v for k, v in MNIST_FILES.items() if k[:-3] in missing}
        )
        found, missing = _find_idx_files(folder)
    if missing:
        where = (f"data_dir {folder} does not exist" if not folder.is_dir()
                 else f"MNIST IDX files missing in {folder}: {', '.join(missing)}")
        raise DataError(
            f"{where}; a data_dir must hold {_expected_list()}; "
            f"download=true fetches them from {mirror}"
        )
    return found


def load_idx(data_dir, *, download: bool = False, mirror: str = DEFAULT_MIRROR) -> Dataset:
    """Load an MNIST-format folder of four IDX files: x uint8[n, 784], y int32[n].

    ``download=True`` first fetches whichever of the four MNIST .gz files are missing
    (from ``mirror``, verified by md5 and sha256); it never runs unless asked.
    """
    if data_dir is None or str(data_dir) == "":
        raise DataError(
            "data=idx needs data_dir=<folder with the four MNIST IDX files>; "
            "download=true fetches them into it"
        )
    folder = Path(data_dir).expanduser()
    found = _locate(folder, download, mirror)
    x_train, y_train = _load_split(found, "train")
    x_test, y_test = _load_split(found, "test")
    name = folder.resolve().name or str(folder)
    return Dataset(
        x_train, y_train, x_test, y_test, source="idx", name=name,
        notes=(f"read IDX files from {folder}",),
    )


def shared_mnist_dir() -> Path | None:
    """The full-MNIST IDX folder the project's experiments and benchmark use by default:
    ``../shared/data/mnist`` from the working directory or beside this checkout, if it holds
    the files; None otherwise (callers then fall back to the sample)."""
    # parents: [0] mlx/data, [1] mlx, [2] the checkout, [3] the folder beside it holding shared/
    for p in (Path("../shared/data/mnist"), Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"):
        if (p / "train-images-idx3-ubyte.gz").exists() or (p / "train-images-idx3-ubyte").exists():
            return p
    return None

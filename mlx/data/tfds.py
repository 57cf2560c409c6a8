"""TensorFlow Datasets: find a prepared set, prepare one offline from IDX files, read its records.

Sets are read with ``tfds.data_source`` from array_record files; TensorFlow is never needed for
reading. Accepted: 28x28 greyscale 10-class sets (``TFDS_NAMES``). A set is looked for in
``tfds_dir`` (default ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``) under two builder names,
in this order:

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
Nothing here lets TFDS touch the network unless ``download=True``; looking for a prepared set
(``prepared_tfds``) only looks at files, and ``tensorflow_datasets`` is imported only to
prepare or read.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from mlx.data.dataset import IMAGE_SIZE, NUM_CLASSES, Dataset, check_labels
from mlx.data.idx import load_idx
from mlx.errors import DataError

#: 28x28 greyscale, 10-class TFDS sets this module reads.
TFDS_NAMES = ("mnist", "fashion_mnist", "kmnist")
#: Builder name suffix and version of the sets prepared offline from IDX files.
OFFLINE_SUFFIX = "_from_idx"
OFFLINE_VERSION = "1.0.0"

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


def default_tfds_dir() -> Path:
    """TFDS's default data dir: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    env = os.environ.get("TFDS_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / "tensorflow_datasets"


def tfds_root(tfds_dir) -> Path:
    """``tfds_dir`` as a Path, or the default data dir when it is not given."""
    return Path(tfds_dir).expanduser() if tfds_dir else default_tfds_dir()


def check_tfds_name(tfds_name: str) -> str:
    """``tfds_name`` when it is one of ``TFDS_NAMES``; else a DataError listing them."""
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
    root = tfds_root(tfds_dir)
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
        RELEASE_NOTES = {OFFLINE_VERSION: "Prepared offline by mlx.data.tfds from IDX files."}

        def __init__(self, *, arrays=None, source_dir="", **kwargs):
            self._arrays = arrays
            self._source_dir = source_dir
            super().__init__(**kwargs)

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                description=(
                    f"{tfds_name} prepared offline by mlx.data.tfds from local IDX files "
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
    check_tfds_name(tfds_name)
    root = tfds_root(tfds_dir)
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
        out[split] = (x, check_labels(y, vdir))
    return out


def load_tfds(
    tfds_name: str = "mnist", *, tfds_dir=None, idx_dir=None, download: bool = False
) -> Dataset:
    """Load a 28x28 greyscale TFDS set (``TFDS_NAMES``) from ``tfds_dir`` with ``tfds.data_source``.

    If it is not prepared there: with ``idx_dir`` it is prepared offline from those IDX files
    (as ``<name>_from_idx``, no TensorFlow); else with ``download=True`` the stock TFDS builder
    downloads and prepares it (needs TensorFlow); else DataError.
    """
    check_tfds_name(tfds_name)
    root = tfds_root(tfds_dir)
    notes = []
    vdir = prepared_tfds(tfds_name, root)
    if vdir is None:
        vdir = _prepare_missing(tfds_name, root, idx_dir, download, notes)
    splits = _read_prepared(vdir)
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    notes.append(f"read TFDS {vdir.parent.name}:{vdir.name} from {root}")
    return Dataset(x_train, y_train, x_test, y_test, source="tfds", name=tfds_name,
                   notes=tuple(notes))


def _prepare_missing(tfds_name: str, root: Path, idx_dir, download: bool, notes: list[str]) -> Path:
    """Prepare a set not found in ``root``: offline from ``idx_dir``, or stock with ``download``."""
    if idx_dir is not None:
        vdir = prepare_tfds_from_idx(tfds_name, idx_dir, root)
        notes.append(f"prepared {vdir.parent.name} offline from IDX files in {idx_dir}")
        return vdir
    if download:
        _prepare_stock(tfds_name, root)
        vdir = prepared_tfds(tfds_name, root)
        if vdir is None:
            raise DataError(f"TFDS reported {tfds_name} prepared but no array_record files "
                            f"are in {root / tfds_name}")
        return vdir
    stale = _prepared_tfrecord_only(root, tfds_name)
    raise DataError(
        f"TFDS {tfds_name} is not prepared in {root}{stale}; prepare it offline with "
        f"data_dir=<folder with the MNIST-format IDX files>, or from the network with "
        f"download=true (needs TensorFlow), or set tfds_dir=..."
    )


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

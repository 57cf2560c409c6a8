"""Files at the edge: atomic writes, JSON that numpy values survive, params and run folders.

* Atomic writes (temp file in the same folder, fsync, rename): a reader never sees half a file.
* Files get the permissions ``open()`` would give them (0666 less the umask; an existing file
  keeps its mode), not mkstemp's 0600: other users of a shared filesystem can read results.
* Params saved with flax's msgpack serialization; ``load_run(folder)`` gives them back.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc), else set and reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _new_file_mode(path: Path) -> int:
    """The mode ``open(path, "w")`` would leave: an existing file's own, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to a temp file in the same folder and rename it over ``path``: a reader
    never sees half a file. ``durable``: fsync before the rename (False for files that can be
    rebuilt from a durable record, e.g. a sweep's per-config views of results.jsonl)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # mkstemp makes 0600
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def to_jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, float) and not np.isfinite(x):
        return None if np.isnan(x) else (1e308 if x > 0 else -1e308)
    return x


def atomic_write_json(path, obj, *, durable: bool = True) -> Path:
    return atomic_write_bytes(path, (json.dumps(to_jsonable(obj), indent=2) + "\n").encode(), durable=durable)


def atomic_write_csv(path, rows: list[dict], fieldnames: Iterable[str] | None = None, *,
                     durable: bool = True) -> Path:
    fieldnames = list(fieldnames or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: to_jsonable(v) for k, v in r.items()})
    return atomic_write_bytes(path, buf.getvalue().encode(), durable=durable)


def read_json(path) -> Any:
    return json.loads(Path(path).read_text())


# ----------------------------------------------------------------------------- params

def save_params(path, params) -> Path:
    from flax import serialization
    return atomic_write_bytes(path, serialization.msgpack_serialize(
        __import__("jax").device_get(params)))


def load_params(path):
    from flax import serialization
    return serialization.msgpack_restore(Path(path).read_bytes())


def load_run(folder):
    """(Config, params) of a finished run folder: the one function to get a model back.

    >>> cfg, params = load_run("runs/logreg-0v1-s0")
    >>> model = mlx.models.make_model(cfg.model, d=784, k_out=1)   # or mlx.predict helpers
    """
    from mlx.config import make_config
    from mlx.errors import UsageError
    folder = Path(folder)
    if not (folder / "params.msgpack").is_file() or not (folder / "config.json").is_file():
        raise UsageError(f"{folder} is not a finished run folder (needs config.json and params.msgpack)")
    cfg_d = read_json(folder / "config.json")
    return make_config({k: v for k, v in cfg_d.items() if k != "label_threshold" or v is not None}), \
        load_params(folder / "params.msgpack")



"""The edge: files and Weights & Biases. Nothing here does math.

* Atomic writes (temp file in the same folder, fsync, rename): a reader never sees half a file.
* Params saved with flax's msgpack serialization; ``load_run(folder)`` gives them back.
* Files get the permissions ``open()`` would give them (0666 less the umask; an existing file
  keeps its mode), not mkstemp's 0600: other users of a shared filesystem can read results.
* W&B: offline by default (no account needed), online when the user sets WANDB_MODE=online or
  wandb=online; an online run that cannot reach the server within a few seconds falls back to
  offline with one warning, so a run never hangs and its results are still written. The run's
  ``.wandb`` file is flushed every LIVE_FLUSH_S seconds, so a running (or killed) run's epochs
  are on disk as they end. A W&B error after ``wandb.init`` is one warning, never a lost result.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from mlx.choices import WANDB_MODES

ONLINE_TIMEOUT_S = 8.0
LIVE_FLUSH_S = 1.0  # seconds between flushes of an offline run's .wandb file (W&B's default: 15)


# ----------------------------------------------------------------------------- atomic files

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


def versions() -> dict[str, str]:
    from importlib import metadata
    out = {"python": sys.version.split()[0]}
    for p in ("jax", "jaxlib", "optax", "flax", "numpy", "wandb", "tensorflow-datasets"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[p] = metadata.version(p)
    return out


# ----------------------------------------------------------------------------- W&B

# the values wandb itself accepts for $WANDB_MODE; anything else (even empty) fails inside wandb.init
_WANDB_ENV_MODES = ("online", "offline", "shared", "disabled", "dryrun", "run")


class Tracker:
    """One W&B run (or none when mode='disabled'), with the offline fallback built in.

    ``wandb.init`` happens here, so make the Tracker before training and log each epoch as it
    ends (``log_epoch``): the W&B step is the epoch. After init, a failing W&B call prints one
    warning and turns further logging off; it never raises, so the caller's files are written.
    """

    def __init__(self, *, mode: str, project: str, name: str, group: str | None, config: dict,
                 run_dir: Path, tags: list[str] | None = None, quiet: bool = False,
                 flush_s: float = LIVE_FLUSH_S, job_type: str | None = None):
        import threading
        from mlx.errors import UsageError
        self.run = None
        self.mode = mode
        self._lock = threading.Lock()  # log_epoch runs on the thread of JAX's host callback
        self._failed = False
        self._finished = False
        if mode not in WANDB_MODES:
            raise UsageError(f"W&B mode {mode!r} is not allowed; allowed: {', '.join(WANDB_MODES)}")
        if mode == "disabled":
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_CONSOLE", "off")
        if os.environ.get("WANDB_MODE") is not None and \
                os.environ["WANDB_MODE"].strip().lower() not in _WANDB_ENV_MODES:
            # the mode is decided (and validated) by the caller; an empty $WANDB_MODE would
            # otherwise fail wandb.Settings' validation even with mode= given
            del os.environ["WANDB_MODE"]
        import wandb
        kw = dict(project=project, name=name, group=group or None, config=to_jsonable(config),
                  dir=str(run_dir), tags=tags, reinit="create_new", job_type=job_type)
        extra = {}
        if "x_transaction_log_flush_interval" in getattr(wandb.Settings, "model_fields", {}):
            extra["x_transaction_log_flush_interval"] = float(flush_s)
        if mode == "online":
            try:
                self.run = wandb.init(mode="online", settings=wandb.Settings(
                    init_timeout=ONLINE_TIMEOUT_S, console="off", silent=True, **extra), **kw)
                return
            except Exception as e:  # no network, invalid key, server error: never hang
                msg = " ".join(str(e).split())[:200]
                print(f"mlx: warning: W&B online failed ({type(e).__name__}: {msg}); logging offline "
                      f"instead, upload later with `wandb sync {run_dir}/wandb`", file=sys.stderr, flush=True)
                self.mode = "offline"
        self.run = wandb.init(mode="offline", settings=wandb.Settings(console="off", silent=True, **extra),
                              **kw)

    def _call(self, fn, *args, **kw):
        """fn(*args) unless W&B failed before; a failure is one warning and stops W&B logging."""
        if self.run is None or self._failed:
            return None
        with self._lock:
            try:
                return fn(*args, **kw)
            except Exception as e:
                self._failed = True
                msg = " ".join(str(e).split())[:200]
                print(f"mlx: warning: W&B logging failed ({type(e).__name__}: {msg}); no more W&B "
                      f"logging for this run, its files are still written", file=sys.stderr, flush=True)
                return None

    def log_epoch(self, epoch: int, row: dict):
        """One epoch's metrics at W&B step ``epoch`` (also logged as the key ``epoch``)."""
        self._call(lambda: self.run.log({k: v for k, v in row.items() if k != "epoch"} |
                                        {"epoch": int(epoch)}, step=int(epoch)))

    def log_history(self, history: list[dict]):
        for row in history:
            self.log_epoch(int(row["epoch"]), row)

    def log_images(self, images: dict[str, tuple[Path, str]], step: int | None = None):
        if self.run is not None and images:
            def go():
                import wandb
                self.run.log({f"pictures/{k}": wandb.Image(str(p), caption=c)
                              for k, (p, c) in images.items()}, step=step)
            self._call(go)

    def log_plots(self, y, logits, class_names, step: int | None = None):
        """W&B's own charts: a confusion matrix, and ROC / precision-recall for binary tasks.
        y: int[n] true labels; logits: float[n, k_out] (k_out = 1: the logit of class 1)."""
        if self.run is not None:
            self._call(self._log_plots, y, logits, class_names, step)

    def _log_plots(self, y, logits, class_names, step):
        import wandb
        y, logits = np.asarray(y), np.asarray(logits, np.float64)
        if logits.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            probs = np.stack([1.0 - p1, p1], 1)
        else:
            z = logits - logits.max(1, keepdims=True)
            probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        names = [str(c) for c in class_names]
        charts = {"charts/confusion_matrix": wandb.plot.confusion_matrix(
            y_true=y.tolist(), preds=probs.argmax(1).tolist(), class_names=names)}
        if probs.shape[1] == 2:
            charts["charts/roc"] = wandb.plot.roc_curve(y, probs, labels=names, classes_to_plot=[1])
            charts["charts/pr"] = wandb.plot.pr_curve(y, probs, labels=names, classes_to_plot=[1])
        self.run.log(charts, step=step)

    def log(self, data: dict, step: int | None = None):
        self._call(lambda: self.run.log(data, step=step))

    def finish(self, summary: dict, exit_code: int = 0):
        """Write the summary and close the run, once; also after a failed log (the run on disk
        then holds what was logged). Never raises."""
        if self.run is None or self._finished:
            return
        self._finished = True
        self._failed = False  # try the summary and the finish even after a failed log

        def go():
            for k, v in to_jsonable(summary).items():
                if isinstance(v, (int, float, str, bool)) or v is None:
                    self.run.summary[k] = v
        self._call(go)
        self._failed = False
        self._call(lambda: self.run.finish(exit_code=exit_code))

    @property
    def run_path(self) -> str | None:
        return None if self.run is None else str(Path(self.run.dir).parent)


def machine() -> str:
    """'<cpu model>, <n> cores[, <accelerator>]' for figures that name their machine."""
    import platform
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    out = f"{cpu}, {os.cpu_count()} cores"
    import jax
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        out += f", {len(jax.devices())} x {dev.device_kind}"
    return out

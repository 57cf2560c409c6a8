"""The edge: files and Weights & Biases. Nothing here does math.

* Atomic writes (temp file in the same folder, fsync, rename): a reader never sees half a file.
* Params saved with flax's msgpack serialization; ``load_run(folder)`` gives them back.
* W&B: offline by default (no account needed), online when the user sets WANDB_MODE=online or
  wandb=online; an online run that cannot reach the server within a few seconds falls back to
  offline with one warning, so a run never hangs and its results are still written.
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

ONLINE_TIMEOUT_S = 8.0


# ----------------------------------------------------------------------------- atomic files

def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
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


def atomic_write_json(path, obj) -> Path:
    return atomic_write_bytes(path, (json.dumps(to_jsonable(obj), indent=2) + "\n").encode())


def atomic_write_csv(path, rows: list[dict], fieldnames: Iterable[str] | None = None) -> Path:
    fieldnames = list(fieldnames or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: to_jsonable(v) for k, v in r.items()})
    return atomic_write_bytes(path, buf.getvalue().encode())


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

class Tracker:
    """One W&B run (or none when mode='disabled'), with the offline fallback built in."""

    def __init__(self, *, mode: str, project: str, name: str, group: str | None, config: dict,
                 run_dir: Path, tags: list[str] | None = None, quiet: bool = False):
        self.run = None
        self.mode = mode
        if mode == "disabled":
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_CONSOLE", "off")
        import wandb
        kw = dict(project=project, name=name, group=group or None, config=to_jsonable(config),
                  dir=str(run_dir), tags=tags, reinit="create_new")
        if mode == "online":
            try:
                self.run = wandb.init(mode="online", settings=wandb.Settings(
                    init_timeout=ONLINE_TIMEOUT_S, console="off", silent=True), **kw)
                return
            except Exception as e:  # no network, invalid key, server error: never hang
                msg = " ".join(str(e).split())[:200]
                print(f"mlx: warning: W&B online failed ({type(e).__name__}: {msg}); logging offline "
                      f"instead, upload later with `wandb sync {run_dir}/wandb`", file=sys.stderr, flush=True)
                self.mode = "offline"
        self.run = wandb.init(mode="offline", settings=wandb.Settings(console="off", silent=True),
                              **kw)

    def log_history(self, history: list[dict]):
        if self.run is not None:
            for row in history:
                self.run.log({k: v for k, v in row.items() if k != "epoch"} | {"epoch": row["epoch"]},
                             step=int(row["epoch"]))

    def log_images(self, images: dict[str, tuple[Path, str]], step: int | None = None):
        if self.run is not None and images:
            import wandb
            self.run.log({f"pictures/{k}": wandb.Image(str(p), caption=c)
                          for k, (p, c) in images.items()}, step=step)

    def log_plots(self, y, logits, class_names, step: int | None = None):
        """W&B's own charts: a confusion matrix, and ROC / precision-recall for binary tasks.
        y: int[n] true labels; logits: float[n, k_out] (k_out = 1: the logit of class 1)."""
        if self.run is None:
            return
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
        if self.run is not None:
            self.run.log(data, step=step)

    def finish(self, summary: dict, exit_code: int = 0):
        if self.run is None:
            return
        for k, v in to_jsonable(summary).items():
            if isinstance(v, (int, float, str, bool)) or v is None:
                self.run.summary[k] = v
        self.run.finish(exit_code=exit_code)

    @property
    def run_path(self) -> str | None:
        return None if self.run is None else str(Path(self.run.dir).parent)


def read_wandb_file(path) -> list:
    """Records of an offline ``run-<id>.wandb`` file, as ``wandb_internal_pb2.Record`` messages.

    Format (wandb 0.31): a 7-byte header (``:W&B`` + version), then LevelDB-style blocks of
    32768 bytes; each fragment has a 7-byte head (crc32 uint32 LE, length uint16 LE, type
    uint8: 1 full, 2 first, 3 middle, 4 last) and the payload of a serialized Record.
    """
    from wandb.proto import wandb_internal_pb2 as pb
    data = Path(path).read_bytes()
    pos, block, records, buf = 7, 32768, [], b""
    while pos + 7 <= len(data):
        left = block - (pos % block)
        if left < 7:  # block trailer padding
            pos += left
            continue
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        payload = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        if kind in (1, 2):
            buf = payload
        elif kind in (3, 4):
            buf += payload
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            records.append(rec)
            buf = b""
    return records


def wandb_logged_keys(run_folder) -> dict[str, set]:
    """{'history': keys, 'summary': keys, 'config': keys} logged in a run folder's offline W&B run."""
    files = sorted(Path(run_folder).glob("wandb/offline-run-*/run-*.wandb"))
    out = {"history": set(), "summary": set(), "config": set()}
    for f in files:
        for rec in read_wandb_file(f):
            kind = rec.WhichOneof("record_type")
            if kind == "history":
                out["history"] |= {"/".join(i.nested_key) or i.key for i in rec.history.item}
            elif kind == "summary":
                out["summary"] |= {"/".join(i.nested_key) or i.key for i in rec.summary.update}
            elif kind == "config":
                out["config"] |= {"/".join(i.nested_key) or i.key for i in rec.config.update}
            elif kind == "run":
                out["config"] |= {"/".join(i.nested_key) or i.key for i in rec.run.config.update}
    return out


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

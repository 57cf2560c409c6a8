"""The folder of one ``mlx train`` run: choosing it (a finished one is kept, another config's
unfinished one refused before anything is written), making it, and reading its checkpoint.

Run folder (``<out>/<name>/``):
    config.json      the validated config (written first)
    history.csv      per-epoch train/test loss and accuracy
    params.msgpack   trained params (``mlx.track.files.load_run(folder)`` loads them back)
    *.png, pictures.json   the run's pictures and their captions (``pictures=true``)
    checkpoint.msgpack     while a ``checkpoint_every=N`` run is unfinished
    filter_epochs/   the logreg filter every ceil(epochs/10)-th epoch and at the last (drawn live)
    wandb/           the W&B run (offline by default; ``wandb sync <folder>/wandb/offline-run-*``)
    summary.json     final metrics, timings, data source, versions (written atomically, last)
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mlx.config import OUTPUT_KEYS, Config
from mlx.errors import UsageError
from mlx.track.files import atomic_write_json, read_json


CKPT = "checkpoint.msgpack"


def config_hash(cfg: Config) -> str:
    return cfg.fingerprint(8)


def _unfinished_run_files(folder: Path) -> list[str]:
    """Names in ``folder`` other than the temp files an atomic write leaves when killed."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".tmp"))


def _foreign(folder: Path, cfg: Config) -> str | None:
    """Why the unfinished ``folder`` holds another run than ``cfg``'s (None: it is cfg's, or empty)."""
    from flax import serialization
    from mlx.config import make_config
    if not folder.exists():
        return None
    if not folder.is_dir():
        return "it is a file, not a run folder"
    if (folder / "config.json").exists():
        try:
            d = read_json(folder / "config.json")
            other = make_config({k: v for k, v in d.items() if k != "label_threshold" or v is not None})
        except Exception:
            return "its config.json is not a config of this version of mlx"
        if other.fingerprint() == cfg.fingerprint():
            return None
        mine, theirs = cfg.to_dict(), other.to_dict()
        diff = [f"{k}={theirs[k]!r}" for k in mine if mine[k] != theirs[k] and k not in OUTPUT_KEYS]
        return "it holds the unfinished run of another config (" + ", ".join(diff[:4]) + \
            (", ..." if len(diff) > 4 else "") + ")"
    if (folder / CKPT).exists():
        try:
            blob = serialization.msgpack_restore((folder / CKPT).read_bytes())
            if blob.get("config_hash") == config_hash(cfg):
                return None
        except Exception:
            pass
        return f"it holds a {CKPT} of another config and no config.json"
    if _unfinished_run_files(folder):
        return "it is not empty and is no run folder of mlx (no config.json)"
    return None


def choose_folder(cfg: Config) -> tuple[Path, bool]:
    """(folder, resume). The default name is deterministic (model-task-seed-confighash), so
    running the same command after a crash finds its checkpoint; a finished folder of the same
    name is never overwritten (a -2, -3, ... suffix is added). An unfinished folder of the
    name that holds another config's run is never touched: UsageError, before anything is
    written. Checks only; writes nothing."""
    base = cfg.name or f"{cfg.model}-{cfg.task}-s{cfg.seed}-{config_hash(cfg)}"
    root = Path(cfg.out)
    if root.exists() and not root.is_dir():
        raise UsageError(f"out={cfg.out} is a file, not a folder; use out= with a folder for run folders")
    for i in range(1, 10_000):
        folder = root / (base if i == 1 else f"{base}-{i}")
        if (folder / "summary.json").exists():
            continue  # finished: keep it
        why = _foreign(folder, cfg)
        if why:
            raise UsageError(f"run folder {folder} is left as it is: {why}; use another name= or "
                             f"out= (or delete the folder)")
        _check_writable(folder)
        return folder, (folder / CKPT).exists()  # new, crashed (start over) or resumable
    raise UsageError(f"too many runs named {base!r} in {root}")


def _check_writable(folder: Path) -> None:
    """UsageError unless ``folder`` can be made (or written to): checked before training."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UsageError(f"cannot make the run folder {folder}: {p} is a file; use another out=")
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the run folder {folder}: {p} is not writable; "
                         f"use out= with a folder you can write to")


def make_folder(folder: Path, cfg: Config) -> None:
    """Make ``folder`` and write config.json, or UsageError with nothing left behind."""
    made = []
    p = folder
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "config.json", cfg.to_dict())
    except OSError as e:
        for d in made:  # innermost first; only the empty folders this call made
            with contextlib.suppress(OSError):
                d.rmdir()
        raise UsageError(f"cannot write the run folder {folder}: {e.strerror or e}; "
                         f"use out= with a folder you can write to") from None


def read_checkpoint(folder: Path, cfg: Config) -> dict:
    """The checkpoint blob of ``folder``, or UsageError naming the file and what to do."""
    from flax import serialization
    path = folder / CKPT
    try:
        blob = serialization.msgpack_restore(path.read_bytes())
        if not isinstance(blob, dict) or not {"state", "metrics"} <= set(blob):
            raise ValueError("not an mlx checkpoint")
    except Exception as e:
        msg = " ".join(str(e).split())[:80]
        raise UsageError(f"{path} is damaged ({type(e).__name__}: {msg}); delete it to train "
                         f"this run from epoch 0") from None
    if blob.get("config_hash") != config_hash(cfg):
        raise UsageError(f"{path} belongs to another config; use another name= or out=")
    return blob

"""The sweep folder and what is in it: its name and identity, its lock, ``results.jsonl`` (the
durable record resume reads), ``plan.json`` and the per-config run folders.

Sweep folder (``<out>/<sweep name>/``; the name is one plain folder name, never a path):
    sweep_spec.json  the sweep file as parsed, and the sweep's identity (a different sweep is
                     refused here, never mixed with these rows)
    plan.json        the chunk size of each group: a rerun cuts the same chunks (exact resume)
    results.jsonl    one line per finished config (with its per-epoch history), appended and
                     fsync-ed once per chunk: the durable record that resume reads
    results.csv      one row per config: parameters, final and per-budget metrics, diverged, seconds
    comparison.md / comparison.csv   best config per model x task; accuracy by model x task x epochs
    comparison.png   test accuracy vs learning rate, a panel per task, a line per model
    best_filters.png filters of the best config of each model and task
    runs/<run>/      config.json, history.csv, summary.json, filter.png of a config (cheap views
                     of results.jsonl, rewritten on resume when missing) and its W&B run
    best/            the best configs' params and per-epoch filters (mlx.sweep.best)
    sweep.json       the sweep's own summary: counts, seconds, configs per second, hyperband savings
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from mlx.config import Config, make_config, role_key
from mlx.errors import UsageError
from mlx.track.files import atomic_write_bytes, atomic_write_csv, atomic_write_json, read_json, to_jsonable
from mlx.train import METRICS


def config_id(cfg: Config) -> str:
    return cfg.fingerprint(12)


def run_name(i: int, cfg: Config) -> str:
    return f"{i:04d}-{cfg.model}-{cfg.task}-lr{cfg.lr:g}-e{cfg.epochs}-s{cfg.seed}"


_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@=-]{0,127}$")


def safe_folder_name(name: str) -> str:
    """A sweep name as one folder name inside out=: letters, digits and . _ + @ = - only,
    starting with a letter or digit (so never '..', '/x', 'a/b' or a hidden folder)."""
    name = str(name).strip()
    if not _SAFE.match(name):
        raise UsageError(f"sweep name {name!r} is not a plain folder name; allowed: letters, digits "
                         f"and . _ + @ = - (starting with a letter or digit, at most 128), e.g. my-sweep")
    return name


def sweep_identity(spec, fixed: dict, opts: dict) -> str:
    """What makes two sweeps the same: the parsed file, the fixed values that change numbers,
    and the proposal options (not chunk, W&B, output folders or the process layout)."""
    fixed_cfg = make_config(fixed)
    ident = {"spec": to_jsonable(spec.raw),
             "fixed": [kv for kv in role_key(fixed_cfg, "program", "traced", "data") if kv[0] in fixed],
             "count": opts["count"], "sweep_seed": opts["sweep_seed"], "round": opts["round"]}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def sweep_folder(folder: Path, spec, identity: str, primary: bool):
    """Create (or reopen) the sweep folder, refuse one that holds another sweep, and hold its
    lock while the sweep runs (a second sweep into the same folder stops with one line)."""
    if not primary:
        yield
        return
    try:
        (folder / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the sweep folder {folder}: {e.strerror or e}; "
                         f"choose a writable out=") from None
    import fcntl
    try:
        lock = open(folder / ".lock", "a+")
    except OSError as e:
        raise UsageError(f"cannot write in {folder}: {e.strerror or e}; choose a writable out=") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise UsageError(f"another mlx sweep is running in {folder}; wait for it to finish "
                         f"(then this command resumes it) or use another name= or out=") from None
    try:
        spec_file = folder / "sweep_spec.json"
        old = None
        if spec_file.exists():
            with contextlib.suppress(ValueError, OSError):
                old = read_json(spec_file)
        if isinstance(old, dict) and old.get("identity") not in (None, identity):
            raise UsageError(f"{folder} holds another sweep (a different sweep file or options, "
                             f"sweep {old.get('name')!r}); use another name= or out=, or remove that folder")
        atomic_write_json(spec_file, {"name": spec.name, "identity": identity, "spec": spec.raw})
        yield
    finally:
        lock.close()


def load_done(path: Path) -> dict[str, dict]:
    """Finished rows of results.jsonl by config_id; lines cut by a kill or lacking fields are
    skipped (those configs train again)."""
    need = {"config_id", "index", "name", "history", "diverged", *METRICS}
    done = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and need <= row.keys():
                done[row["config_id"]] = row
    return done


def append_rows(path: Path, rows: list[dict]):
    with open(path, "a") as f:
        if f.tell() > 0:  # a kill may have cut the last line: start on a fresh one
            with open(path, "rb") as g:
                g.seek(-1, os.SEEK_END)
                if g.read(1) != b"\n":
                    f.write("\n")
        f.write("".join(json.dumps(to_jsonable(r)) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def write_run_folder(rf: Path, cfg: dict, hist: list[dict], summary: dict, image=None):
    """A config's run folder: views of its results.jsonl row, so written without fsync (a
    missing one is rewritten on resume); renamed into place, so never half a file. image:
    uint8[H, W, 3], the lane's filter picture, kept as filter.png (a W&B run logged again after
    a kill reads it back: the lane's params are gone by then)."""
    if image is not None:
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG", compress_level=1)
        atomic_write_bytes(rf / "filter.png", buf.getvalue(), durable=False)
    atomic_write_json(rf / "config.json", cfg, durable=False)
    atomic_write_csv(rf / "history.csv", hist, durable=False)
    atomic_write_json(rf / "summary.json", summary, durable=False)


def run_summary(row: dict, data_source: str) -> dict:
    return {k: row[k] for k in METRICS} | {
        "diverged": row["diverged"], "epochs_trained": row["epochs_trained"],
        "stopped_early": row["stopped_early"], "seconds": row["seconds"], "data_source": data_source}


def load_plan(folder: Path) -> dict:
    with contextlib.suppress(ValueError, OSError):
        plan = read_json(folder / "plan.json")
        if isinstance(plan, dict):
            return plan
    return {}


def group_id(g) -> str:
    return hashlib.sha256(json.dumps(g.key).encode()).hexdigest()[:12]

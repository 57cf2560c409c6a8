"""Shared helpers for the tests (imported as a plain module; pytest puts tests/ on sys.path)."""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
HAVE_MNIST = (MNIST_DIR / "train-images-idx3-ubyte.gz").exists()
requires_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=f"full MNIST not found at {MNIST_DIR}")


@functools.lru_cache(maxsize=None)
def mnist():
    from mlx.data.idx import load_idx
    return load_idx(MNIST_DIR)


@functools.lru_cache(maxsize=None)
def sample():
    from mlx.data.sample import load_sample
    return load_sample()


def run_cli(*args, cwd=None, env=None, timeout=240):
    """Run ``python -m mlx ARGS`` in a subprocess; returns CompletedProcess (text)."""
    e = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "mlx", *map(str, args)], cwd=cwd or ROOT,
                          env=e, capture_output=True, text=True, timeout=timeout)


def assert_usage_error(proc, *words):
    """Exit 2, one line on stderr starting with 'mlx: error:', no traceback, the words in it."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], err[-2000:])
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("mlx: error:")]
    assert len(lines) == 1, err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    return lines[0]


# ---------------------------------------------------------------- reading offline W&B runs
# Why by hand: wandb 0.31 has no Python reader of its run files any more (the old
# wandb.sdk.internal.datastore is gone; the reader lives in the Go wandb-core), so the tests read
# the log format here and parse each record with wandb's own protobuf, wandb_internal_pb2.Record.
# Only tests read W&B's files: the library never does.

def read_wandb_file(path, *, verify: bool = True) -> list:
    """Records of an offline ``run-<id>.wandb`` file, as ``wandb_internal_pb2.Record`` messages.

    Format (wandb 0.31): a 7-byte header (``:W&B`` + version), then LevelDB-style blocks of
    32768 bytes; each fragment has a 7-byte head (crc32 uint32 LE, length uint16 LE, type
    uint8: 1 full, 2 first, 3 middle, 4 last) and the payload of a serialized Record. The crc is
    zlib's crc32 of the payload seeded with the crc32 of the type byte (as wandb's own reader
    checked it). verify: raise ValueError on a bad header, checksum or record; a fragment cut
    off at the end (a run still writing, or killed) is not an error and is left out.
    """
    import zlib
    from wandb.proto import wandb_internal_pb2 as pb
    data = Path(path).read_bytes()
    if verify and len(data) >= 4 and data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B transaction log (header {data[:7]!r})")
    pos, block, records, buf = 7, 32768, [], b""
    while pos + 7 <= len(data):
        left = block - (pos % block)
        if left < 7:  # block trailer padding
            pos += left
            continue
        crc = int.from_bytes(data[pos:pos + 4], "little")
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        payload = data[pos + 7:pos + 7 + length]
        if len(payload) < length:  # cut off at the end
            break
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        if verify and zlib.crc32(payload, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{path}: bad checksum in the record at byte {pos - 7 - length}")
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


def wandb_history(run_folder) -> list[dict]:
    """The history rows logged in a run folder's offline W&B run(s), in file order:
    ``[{"_step": n, key: value, ...}]`` (values JSON-decoded; images and charts as their dicts)."""
    rows = []
    for f in sorted(Path(run_folder).glob("wandb/offline-run-*/run-*.wandb")):
        for rec in read_wandb_file(f):
            if rec.WhichOneof("record_type") == "history":
                row = {"_step": int(rec.history.step.num)}
                for i in rec.history.item:
                    row["/".join(i.nested_key) or i.key] = json.loads(i.value_json)
                rows.append(row)
    return rows


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


# ---------------------------------------------------------------- bad input through `mlx train`

QUIET = ["wandb=disabled", "pictures=false", "epochs=1"]


def main_error(capsys, *argv) -> str:
    """Run ``mlx ARGV`` in-process: exit 2 and exactly one stderr line; returns that line."""
    from mlx.cli import main
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert rc == 2, (rc, cap.out[-1000:], cap.err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("mlx: error: "), cap.err
    return lines[0]


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _idx(path: Path, arr: np.ndarray, magic: int):
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape)
                     + arr.astype(np.uint8).tobytes())


def idx_set(folder: Path, *, size=(28, 28), train_labels=None, test_labels=None) -> Path:
    """Four small MNIST-format IDX files (random pixels) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ytr = np.asarray(np.arange(40) % 10 if train_labels is None else train_labels)
    yte = np.asarray(np.arange(20) % 10 if test_labels is None else test_labels)
    for split, y in (("train", ytr), ("t10k", yte)):
        _idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (len(y), *size)), 0x803)
        _idx(folder / f"{split}-labels-idx1-ubyte", y, 0x801)
    return folder


# ---------------------------------------------------------------- `mlx train` in a real process

QUICK_TRAIN = ["train", "data=sample", "task=0v1", "epochs=1", "pictures=false", "wandb=disabled", "name=ck"]


def quick_train(**kw) -> list[str]:
    """QUICK_TRAIN with keys replaced (None drops one): each key is given once."""
    d = dict(a.split("=", 1) for a in QUICK_TRAIN[1:]) | kw
    return ["train", *(f"{k}={v}" for k, v in d.items() if v is not None)]


def env_without_wandb(**kw) -> dict:
    """os.environ without any WANDB_* variable (W&B silent), plus kw."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return env | {"WANDB_SILENT": "true"} | kw


def run_mlx(*argv, env=None, **popen):
    """``python -m mlx ARGV`` in a subprocess with env (default: env_without_wandb())."""
    return subprocess.run([sys.executable, "-m", "mlx", *map(str, argv)], cwd=ROOT, env=env or env_without_wandb(),
                          capture_output=True, text=True, timeout=240, **popen)


def one_usage_line(p, *words) -> str:
    """Exit 2, exactly one stderr line ``mlx: error: ...`` (no traceback), with ``words`` in it."""
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2, (p.returncode, p.stdout[-1000:], p.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("mlx: error: "), p.stderr[-2000:]
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# ---------------------------------------------------------------- kill -9 at random points

PNG_END = b"IEND\xaeB`\x82"

# Kill points: the uninterrupted run is timed from the moment its first intermediate file appears
# (the "anchor": a checkpoint, or a sweep's first results line) to its end, the span in which it
# writes; each kill comes a seeded random delay after the anchor, one delay in each part of that span.
STRATA = ((0.0, 0.5), (0.5, 1.0))


def assert_files_complete(root: Path) -> int:
    """Every file a reader reads back parses completely; returns how many were checked.

    Temp files of atomic writes (``.name.XXXX.tmp``) may survive a kill: nothing reads them.
    results.jsonl is an append log: only its last line may be cut (resume skips it).
    """
    from flax import serialization
    n = 0
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(".tmp") or "wandb" in p.relative_to(root).parts:
            continue
        data = p.read_bytes()
        where = str(p.relative_to(root))
        if p.suffix == ".json":
            json.loads(data)
        elif p.suffix == ".csv":
            text = data.decode()
            rows = list(csv.reader(io.StringIO(text)))
            assert text.endswith("\n") and rows and rows[0], where
            assert all(len(r) == len(rows[0]) for r in rows), where
        elif p.suffix == ".msgpack":
            serialization.msgpack_restore(data)
        elif p.suffix == ".png":
            assert data.endswith(PNG_END), where
        elif p.suffix == ".md":
            assert data.endswith(b"\n"), where
        else:
            continue
        n += 1
    return n


def _popen(cmd):
    return subprocess.Popen([sys.executable, "-m", "mlx", *cmd], cwd=ROOT,
                            env=dict(os.environ, WANDB_MODE="disabled"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(anchor: tuple[Path, str], proc, limit=240.0) -> bool:
    folder, pattern = anchor
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if any(folder.glob(pattern)):
            return True
        time.sleep(0.005)
    return any(folder.glob(pattern))


def timed_run(cmd, anchor) -> float:
    """Run cmd to its end; seconds from the anchor's appearance to the end."""
    proc = _popen(cmd)
    assert _wait_for(anchor, proc), "the anchor file never appeared"
    t0 = time.monotonic()
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - t0


def kill_after_anchor(cmd, anchor, delay: float) -> int:
    """Start cmd, SIGKILL it ``delay`` seconds after the anchor appears; returns its exit status."""
    proc = _popen(cmd)
    _wait_for(anchor, proc)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder that ``build(folder)`` fills once per test session, shared by the xdist workers
    (pytest-xdist's recipe: a FileLock in the session's common temporary folder), so two workers
    never both pay for one expensive fixture. The tests read it; none may write into it."""
    from filelock import FileLock
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder every worker's basetemp is in
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            done.write_text("ok\n")
    return folder

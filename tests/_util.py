"""Shared helpers for the tests (imported as a plain module; pytest puts tests/ on sys.path)."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
HAVE_MNIST = (MNIST_DIR / "train-images-idx3-ubyte.gz").exists()
requires_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=f"full MNIST not found at {MNIST_DIR}")


@functools.lru_cache(maxsize=None)
def mnist():
    from mlx.data.load import load_idx
    return load_idx(MNIST_DIR)


@functools.lru_cache(maxsize=None)
def sample():
    from mlx.data.load import load_sample
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

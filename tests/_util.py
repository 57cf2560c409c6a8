"""Shared helpers for the tests (imported as a plain module; pytest puts tests/ on sys.path)."""
from __future__ import annotations

import functools
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
    from mlx.data import load_idx
    return load_idx(MNIST_DIR)


@functools.lru_cache(maxsize=None)
def sample():
    from mlx.data import load_sample
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

"""The one rule for "best" (:func:`best_key`) and the best configs a sweep keeps on disk
(``best/``) so a resumed sweep draws the same pictures: the best params per model x task, and
the per-epoch logreg filters of the best config per model x task x epoch budget."""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from mlx.track.files import atomic_write_bytes, atomic_write_json, load_params, read_json, save_params


def best_key(row: dict, metric: str, goal: str):
    """The one rule for "best" everywhere (comparison, best_runs.json, best filters, W&B):
    the best value of the metric among configs that did not diverge, ties to the lowest
    config index."""
    v = row[metric]
    if row["diverged"] or v is None or not np.isfinite(v):
        return None
    return ((v if goal == "maximize" else -v), -int(row["index"]))


def save_best(folder: Path, key: tuple, entry: tuple):
    score, name, params, epochs = entry
    stem = folder / "best" / f"{key[0]}-{key[1]}"
    save_params(stem.with_suffix(".msgpack"), params)
    atomic_write_json(stem.with_suffix(".json"), {"model": key[0], "task": key[1], "score": list(score),
                                                        "name": name, "epochs": epochs})


def load_best(folder: Path) -> dict:
    """Best params per (model, task) saved by earlier chunks (so resume keeps them)."""
    out = {}
    for meta in sorted((folder / "best").glob("*.json")):
        with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
            m = read_json(meta)
            p = meta.with_suffix(".msgpack")
            if p.exists() and isinstance(m.get("score"), list):
                out[(m["model"], m["task"])] = (tuple(m["score"]), m["name"], load_params(p), m["epochs"])
    return out


def save_budget_best(folder: Path, key: tuple, entry: tuple):
    """The per-epoch logreg filters (float32[E, d, k]) of the best config of one model x task x
    epoch budget: ``best/budget/<model>-<task>-e<E>.npy`` with its rank key and run name."""
    import io
    score, name, snaps = entry
    stem = folder / "best" / "budget" / f"{key[0]}-{key[1]}-e{int(key[2])}"
    buf = io.BytesIO()
    np.save(buf, np.asarray(snaps, np.float32))
    atomic_write_bytes(stem.with_suffix(".npy"), buf.getvalue())
    atomic_write_json(stem.with_suffix(".json"), {"model": key[0], "task": key[1], "epochs": int(key[2]),
                                                        "score": list(score), "name": name})


def load_budget_best(folder: Path) -> dict:
    """{(model, task, epochs): (rank key, run name, float32[E, d, k])} saved by earlier chunks."""
    out = {}
    for meta in sorted((folder / "best" / "budget").glob("*.json")):
        with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
            m = read_json(meta)
            if isinstance(m.get("score"), list) and meta.with_suffix(".npy").exists():
                out[(m["model"], m["task"], int(m["epochs"]))] = (tuple(m["score"]), m["name"],
                                                                  np.load(meta.with_suffix(".npy")))
    return out

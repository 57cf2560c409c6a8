"""``mlx train`` at the edge: load data, train one config, write the run folder, log to W&B.

Run folder (``<out>/<name>/``):
    config.json      the validated config (written first)
    history.csv      per-epoch train/test loss and accuracy
    params.msgpack   trained params (``mlx.track.load_run(folder)`` loads them back)
    *.png, pictures.json   the run's pictures and their captions (``pictures=true``)
    checkpoint.msgpack     while a ``checkpoint_every=N`` run is unfinished
    wandb/           the W&B run (offline by default; ``wandb sync <folder>/wandb/offline-run-*``)
    summary.json     final metrics, timings, data source, versions (written atomically, last)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import numpy as np

from mlx import track
from mlx.config import Config
from mlx.errors import UsageError
from mlx.data import Dataset
from mlx.tasks import TaskData, apply_task
from mlx.train import EXPLODED_FACTOR, METRICS, diverged, hparams, make_train, seed_keys

CKPT = "checkpoint.msgpack"


class Diverged(UsageError):
    """Training produced a NaN or inf loss; everything computed was still written."""


def load_dataset_for(cfg: Config):
    """The Dataset that ``cfg`` asks for (data=auto|idx|tfds|sample|csv)."""
    if cfg.data == "csv":
        from mlx.csvdata import load_csv
        thr = None if np.isnan(cfg.label_threshold) else cfg.label_threshold
        return load_csv(cfg.path, label=cfg.label, features=cfg.features or None,
                        one_hot=cfg.one_hot or None,
                        label_threshold=thr, missing=cfg.missing,
                        test_fraction=cfg.test_fraction, seed=cfg.split_seed)
    from mlx import data
    kw = {"mirror": cfg.mirror} if cfg.mirror else {}
    return data.load_dataset(cfg.data, data_dir=cfg.data_dir or None, tfds_name=cfg.tfds_name,
                             tfds_dir=cfg.tfds_dir or None, download=cfg.download, **kw)


def load_task_data(cfg: Config) -> tuple[TaskData, Dataset]:
    """(TaskData, the Dataset it came from) for cfg's data and task."""
    ds = load_dataset_for(cfg)
    task = "labels" if cfg.data == "csv" and cfg.task in ("0v1",) else cfg.task
    return apply_task(task, ds), ds


def config_hash(cfg: Config) -> str:
    return cfg.fingerprint(8)


def choose_folder(cfg: Config) -> tuple[Path, bool]:
    """(folder, resume). The default name is deterministic (model-task-seed-confighash), so
    running the same command after a crash finds its checkpoint; a finished folder of the same
    name is never overwritten (a -2, -3, ... suffix is added)."""
    base = cfg.name or f"{cfg.model}-{cfg.task}-s{cfg.seed}-{config_hash(cfg)}"
    root = Path(cfg.out)
    for i in range(1, 10_000):
        folder = root / (base if i == 1 else f"{base}-{i}")
        if (folder / "summary.json").exists():
            continue  # finished: keep it
        return folder, (folder / CKPT).exists()  # new, crashed (start over) or resumable
    raise UsageError(f"too many runs named {base!r} in {root}")


def history_rows(metrics: dict) -> list[dict]:
    e = len(metrics["train_loss"])
    return [{"epoch": i + 1, **{k: float(metrics[k][i]) for k in METRICS}} for i in range(e)]


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None, None
    from tqdm.auto import tqdm
    bar = tqdm(total=total, unit="epoch", desc="train", leave=True, dynamic_ncols=True)

    def cb(epoch, m):
        bar.update(1)
        bar.set_postfix(loss=f"{float(m['train_loss']):.4f}", acc=f"{float(m['train_accuracy']):.4f}",
                        test_acc=f"{float(m['test_accuracy']):.4f}")
    return bar, cb


def _train(cfg: Config, td: TaskData, folder: Path, resume: bool, progress, say):
    """Train, with checkpoints every cfg.checkpoint_every epochs when asked. Returns
    (params, metrics as numpy, seconds)."""
    snap = cfg.pictures and cfg.model == "logreg"
    tr = make_train(cfg, td, snapshots=snap, progress=progress)
    data = tr.put(td)
    hp, key = hparams(cfg.lr, cfg.weight_decay), seed_keys(cfg.seed)
    secs = {"compile_seconds": 0.0, "train_seconds": 0.0}
    if cfg.checkpoint_every <= 0:
        t0 = time.perf_counter()
        fn = jax.jit(tr.train).lower(hp, key, data).compile()
        t1 = time.perf_counter()
        params, metrics = jax.block_until_ready(fn(hp, key, data))
        secs["compile_seconds"], secs["train_seconds"] = t1 - t0, time.perf_counter() - t1
        return params, jax.device_get(metrics), secs

    from flax import serialization
    state = jax.jit(tr.init)(hp, key)
    done: dict[str, list] = {}
    if resume:
        blob = serialization.msgpack_restore((folder / CKPT).read_bytes())
        if blob.get("config_hash") != config_hash(cfg):
            raise UsageError(f"{folder / CKPT} belongs to another config; use another name= or out=")
        state = serialization.from_state_dict(state, blob["state"])
        done = {k: list(v) for k, v in blob["metrics"].items()}
        say(f"resuming {folder} from epoch {int(state.epoch)}")
    compiled = {}
    while int(state.epoch) < tr.epochs:
        n = min(cfg.checkpoint_every, tr.epochs - int(state.epoch))
        if n not in compiled:
            t0 = time.perf_counter()
            compiled[n] = jax.jit(tr.run, static_argnums=4).lower(state, hp, key, data, n).compile()
            secs["compile_seconds"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        state, m = jax.block_until_ready(compiled[n](state, hp, key, data))
        secs["train_seconds"] += time.perf_counter() - t0
        for k, v in jax.device_get(m).items():
            done.setdefault(k, []).extend(list(v))
        if int(state.epoch) < tr.epochs:
            track.atomic_write_bytes(folder / CKPT, serialization.msgpack_serialize({
                "config_hash": config_hash(cfg), "state": serialization.to_state_dict(
                    jax.device_get(state)), "metrics": {k: np.stack(v) for k, v in done.items()}}))
    return state.params, {k: np.stack(v) for k, v in done.items()}, secs


def train_run(cfg: Config, *, td: TaskData | None = None, quiet: bool | None = None,
              echo=print) -> dict:
    """Train ``cfg`` end to end and write its run folder; returns the summary dict.

    Raises Diverged (after writing everything) when the loss became NaN or inf.
    """
    tty = sys.stderr.isatty() if quiet is None else not quiet
    say = echo if (quiet is not True) else (lambda *a, **k: None)
    ds = None
    if td is None:
        td, ds = load_task_data(cfg)
    say(f"data: {td.source}:{td.name} ({ds.n_train if ds else len(td.y_train)} train / "
        f"{ds.n_test if ds else len(td.y_test)} test examples loaded)")
    say(td.describe())
    folder, resume = choose_folder(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    track.atomic_write_json(folder / "config.json", cfg.to_dict())
    bar, cb = _progress_bar(cfg.epochs, tty)
    try:
        params, metrics, secs = _train(cfg, td, folder, resume, cb, say)
    finally:
        if bar is not None:
            bar.close()
    history = history_rows(metrics)
    track.atomic_write_csv(folder / "history.csv", history)
    track.save_params(folder / "params.msgpack", params)
    losses = np.asarray(metrics["train_loss"], np.float64)
    is_div = diverged(losses, td.num_classes) or not np.isfinite(metrics["test_loss"][-1])
    last = history[-1]
    summary = {
        "test_accuracy": last["test_accuracy"], "test_loss": last["test_loss"],
        "train_loss": last["train_loss"], "train_accuracy": last["train_accuracy"],
        "train_seconds": secs["train_seconds"], "compile_seconds": secs["compile_seconds"],
        "epochs": cfg.epochs, "diverged": is_div,
        "data_source": td.source, "data_name": td.name,
        "n_train": int(len(td.y_train)), "n_test": int(len(td.y_test)),
        "class_balance": td.balance, "class_names": list(td.class_names),
        "steps_per_epoch": int(len(td.y_train) // min(cfg.batch_size, len(td.y_train))),
        "batch_size": int(min(cfg.batch_size, len(td.y_train))),
        "device": str(jax.devices()[0].device_kind), "backend": jax.default_backend(),
        "versions": track.versions(), "folder": str(folder),
    }
    tracker = track.Tracker(mode=cfg.wandb_mode, project=cfg.wandb_project, name=folder.name,
                            group=cfg.wandb_group, config=cfg.to_dict() | {
                                "data_source": td.source, "n_train": summary["n_train"],
                                "n_test": summary["n_test"]}, run_dir=folder)
    tracker.log_history(history)
    images = {}
    if cfg.pictures and not is_div:
        from mlx.run_pictures import draw_epoch_filters, draw_run_pictures, predict_logits, save_pictures
        for epoch, fig in draw_epoch_filters(td, metrics):  # the filter as it forms, per epoch
            img = save_pictures(folder / "filter_epochs", {f"epoch_{epoch:03d}": (fig, "filter")},
                                captions=False)
            tracker.log_images({"filter_by_epoch": img[f"epoch_{epoch:03d}"]}, step=epoch)
        logits = predict_logits(cfg, td, params, td.x_test)
        images = save_pictures(folder, draw_run_pictures(cfg, td, params, metrics, logits=logits))
        tracker.log_images(images, step=cfg.epochs)
        tracker.log_plots(td.y_test, logits, td.class_names, step=cfg.epochs)
    summary["pictures"] = sorted(p.name for p, _ in images.values())
    summary["wandb_mode"] = tracker.mode
    summary["wandb_run"] = tracker.run_path
    tracker.finish(summary, exit_code=1 if is_div else 0)
    track.atomic_write_json(folder / "summary.json", summary)
    (folder / CKPT).unlink(missing_ok=True)
    say(f"test_accuracy {summary['test_accuracy']:.4f}  test_loss {summary['test_loss']:.4f}  "
        f"train {secs['train_seconds']:.2f}s (+{secs['compile_seconds']:.2f}s compile)  -> {folder}")
    if is_div:
        e = next((i + 1 for i in range(len(losses)) if diverged(losses[: i + 1], td.num_classes)),
                 len(losses))
        raise Diverged(f"training diverged at epoch {e} (train loss {losses[e - 1]:.4g}) with "
                       f"lr={cfg.lr:g} optimizer={cfg.optimizer}; use a smaller lr (the loss must stay "
                       f"finite and below {EXPLODED_FACTOR:g} x log(classes)); everything computed is in {folder}")
    return summary

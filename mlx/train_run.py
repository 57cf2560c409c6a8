"""``mlx train`` at the edge: load data, train one config, write the run folder, log to W&B.

The run folder is described in :mod:`mlx.track.run_folder`.

W&B is started before training; each epoch's metrics are logged when the epoch ends (W&B step =
epoch, from make_train's per-epoch host callback), so W&B's hyperband sees running runs and a
killed run leaves an offline run with the epochs it did. A folder that holds another config's
unfinished run is refused, untouched; a finished one is kept (the new run gets -2, -3, ...).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np

from mlx.choices import WANDB_MODES
from mlx.config import Config
from mlx.data.dataset import Dataset
from mlx.errors import UsageError
from mlx.tasks import TaskData, apply_task
from mlx.track.files import atomic_write_bytes, atomic_write_csv, atomic_write_json, save_params
from mlx.track.provenance import versions
from mlx.track.run_folder import CKPT, choose_folder, config_hash, make_folder, read_checkpoint
from mlx.track.tracker import Tracker
from mlx.train import EXPLODED_FACTOR, METRICS, diverged, hparams, make_train, seed_keys


class Diverged(UsageError):
    """Training produced a NaN or inf loss; everything computed was still written."""


def load_dataset_for(cfg: Config):
    """The Dataset that ``cfg`` asks for (data=auto|idx|tfds|sample|csv)."""
    if cfg.data == "csv":
        from mlx.data.csv_table.load import load_csv
        thr = None if np.isnan(cfg.label_threshold) else cfg.label_threshold
        return load_csv(cfg.path, label=cfg.label, features=cfg.features or None,
                        one_hot=cfg.one_hot or None,
                        label_threshold=thr, missing=cfg.missing,
                        test_fraction=cfg.test_fraction, seed=cfg.split_seed)
    from mlx.data.sources import load_dataset
    kw = {"mirror": cfg.mirror} if cfg.mirror else {}
    return load_dataset(cfg.data, data_dir=cfg.data_dir or None, tfds_name=cfg.tfds_name,
                             tfds_dir=cfg.tfds_dir or None, download=cfg.download, **kw)


def load_task_data(cfg: Config, *, ds: Dataset | None = None,
                   styles: bool = True) -> tuple[TaskData, Dataset]:
    """(TaskData, the Dataset it came from) for cfg's data and task. ds: that Dataset, loaded
    before (not loaded again); styles: False leaves an Nvrest task's styles out (apply_task)."""
    ds = load_dataset_for(cfg) if ds is None else ds
    task = "labels" if cfg.data == "csv" and cfg.task in ("0v1",) else cfg.task
    return apply_task(task, ds, styles=styles), ds


def history_rows(metrics: dict) -> list[dict]:
    e = len(metrics["train_loss"])
    return [{"epoch": i + 1, **{k: float(metrics[k][i]) for k in METRICS}} for i in range(e)]


class _Live:
    """The per-epoch host callback (``make_train(progress=...)``): W&B step = epoch, progress bar.

    Called by JAX's host-callback thread once per epoch, while the compiled program runs.
    Epochs are emitted in order (a callback that arrives early waits for its predecessors)."""

    def __init__(self, bar, start_epoch: int):
        self.bar, self.tracker = bar, None
        self.next = start_epoch + 1  # the next 1-based epoch to log
        self.pending: dict[int, dict] = {}
        self.lock = threading.Lock()
        self.warned = False

    def __call__(self, epoch, m):
        try:
            row = {k: float(m[k]) for k in METRICS}
            with self.lock:
                self.pending[int(epoch) + 1] = row
                while self.next in self.pending:
                    r = self.pending.pop(self.next)
                    if self.tracker is not None:
                        self.tracker.log_epoch(self.next, r)  # never raises
                    if self.bar is not None:
                        self.bar.update(1)
                        self.bar.set_postfix(loss=f"{r['train_loss']:.4f}", acc=f"{r['train_accuracy']:.4f}",
                                             test_acc=f"{r['test_accuracy']:.4f}")
                    self.next += 1
        except Exception as e:  # an error here would abort the compiled run: report, go on
            if not self.warned:
                self.warned, self.bar = True, None
                print(f"mlx: warning: the per-epoch callback failed ({type(e).__name__}: {e})",
                      file=sys.stderr, flush=True)


def _boundaries(cfg: Config, start: int, total: int, image_epochs: list[int]) -> list[int]:
    """The epochs at which a compiled segment ends: checkpoints, filter images, the end."""
    ends = set(image_epochs) | {total}
    if cfg.checkpoint_every > 0:
        ends |= set(range(start + cfg.checkpoint_every, total, cfg.checkpoint_every))
    return sorted(e for e in ends if start < e <= total)


def _train(cfg: Config, td: TaskData, folder: Path, blob, tracker, live: _Live, tr, say):
    """Train from the checkpoint ``blob`` (or from scratch), in compiled segments that end at the
    checkpoints and at the filter-image epochs (one segment when neither applies); every epoch is
    logged by the ``live`` callback as it ends. Returns (params, metrics as numpy, seconds)."""
    from flax import serialization
    from mlx.viz.run_figures import epoch_filter_figure, filter_epochs, save_pictures
    data = tr.put(td)
    hp, key = hparams(cfg.lr, cfg.weight_decay), seed_keys(cfg.seed)
    secs = {"compile_seconds": 0.0, "train_seconds": 0.0}
    t0 = time.perf_counter()
    init = jax.jit(tr.init).lower(hp, key).compile()
    secs["compile_seconds"] += time.perf_counter() - t0
    state = init(hp, key)
    done: dict[str, list] = {}
    if blob is not None:
        try:
            state = serialization.from_state_dict(state, blob["state"])
        except Exception as e:
            raise UsageError(f"{folder / CKPT} is damaged ({type(e).__name__}); delete it to train "
                             f"this run from epoch 0") from None
        done = {k: list(v) for k, v in blob["metrics"].items()}
        say(f"resuming {folder} from epoch {int(state.epoch)}")
    start = int(state.epoch)
    drawn = cfg.pictures and cfg.model == "logreg" and td.image_shape is not None
    image_epochs = filter_epochs(tr.epochs) if drawn else []
    # the epochs a checkpoint brought back go into this W&B run first, with their filter images
    for row in history_rows(done) if done else []:
        tracker.log_epoch(row["epoch"], row)
        png = folder / "filter_epochs" / f"epoch_{row['epoch']:03d}.png"
        if row["epoch"] in image_epochs and png.exists():
            tracker.log_images({"filter_by_epoch": (png, "filter")}, step=row["epoch"])
    live.next = start + 1
    compiled = {}
    epoch = start
    for end in _boundaries(cfg, start, tr.epochs, image_epochs):
        n = end - epoch
        if n not in compiled:
            t0 = time.perf_counter()
            compiled[n] = jax.jit(tr.run, static_argnums=4).lower(state, hp, key, data, n).compile()
            secs["compile_seconds"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        state, m = jax.block_until_ready(compiled[n](state, hp, key, data))
        jax.effects_barrier()  # every epoch's callback has run
        secs["train_seconds"] += time.perf_counter() - t0
        epoch = end
        for k, v in jax.device_get(m).items():
            done.setdefault(k, []).extend(list(v))
        if end in image_epochs and "b" in done:  # the filter as it forms, logged at its epoch
            img = save_pictures(folder / "filter_epochs", {f"epoch_{end:03d}": (
                epoch_filter_figure(td, done["b"][end - 1], end), "filter")}, captions=False)
            tracker.log_images({"filter_by_epoch": img[f"epoch_{end:03d}"]}, step=end)
        if cfg.checkpoint_every > 0 and end < tr.epochs and (end - start) % cfg.checkpoint_every == 0:
            atomic_write_bytes(folder / CKPT, serialization.msgpack_serialize({
                "config_hash": config_hash(cfg), "state": serialization.to_state_dict(
                    jax.device_get(state)), "metrics": {k: np.stack(v) for k, v in done.items()}}))
    return state.params, {k: np.stack(v) for k, v in done.items()}, secs


def wandb_mode(cfg: Config) -> str:
    """cfg's W&B mode, refused (one line, the allowed values) unless offline/online/disabled;
    an empty $WANDB_MODE counts as unset (offline)."""
    mode = cfg.wandb_mode
    if mode not in WANDB_MODES:
        raise UsageError(f"WANDB_MODE={os.environ.get('WANDB_MODE', '')!r} is not allowed; allowed: "
                         f"{', '.join(WANDB_MODES)} (or unset: offline)")
    return mode


def check_memory(cfg: Config, trainer, td) -> None:
    """Refuse, before training, a program that cannot fit the device (hidden=[65536,65536]
    needs about 17 GB): the estimate of mlx.sweep.plan.lane_bytes against the device's memory."""
    from mlx.sweep.plan import device_memory_bytes, lane_bytes
    need, have = lane_bytes(trainer, cfg, td.x_train.shape[1]), device_memory_bytes()
    if need > 0.8 * have:
        raise UsageError(f"model={cfg.model} hidden={list(cfg.hidden)} needs about {need / 2**30:.1f} GiB to train, "
                         f"this device has {have / 2**30:.1f} GiB; use smaller hidden sizes")


def train_run(cfg: Config, *, td: TaskData | None = None, quiet: bool | None = None,
              echo=print) -> dict:
    """Train ``cfg`` end to end and write its run folder; returns the summary dict.

    Everything the user can get wrong (the W&B mode, the folder, a damaged checkpoint) is
    refused before training, and before anything is written. W&B starts before training and
    gets each epoch as it ends (step = epoch), so a killed run leaves the epochs it did.
    Raises Diverged (after writing everything) when the loss became NaN or inf.
    """
    tty = sys.stderr.isatty() if quiet is None else not quiet
    say = echo if (quiet is not True) else (lambda *a, **k: None)
    mode = wandb_mode(cfg)
    folder, resume = choose_folder(cfg)
    ds = None
    if td is None:
        td, ds = load_task_data(cfg)
    say(f"data: {td.source}:{td.name} ({ds.n_train if ds else len(td.y_train)} train / "
        f"{ds.n_test if ds else len(td.y_test)} test examples loaded)")
    say(td.describe())
    blob = read_checkpoint(folder, cfg) if resume and cfg.checkpoint_every > 0 else None
    check_memory(cfg, make_train(cfg, td), td)
    make_folder(folder, cfg)
    bar, live = _progress(cfg, blob, tty)
    tr = make_train(cfg, td, snapshots=cfg.pictures and cfg.model == "logreg", progress=live)
    tracker = Tracker(mode=mode, project=cfg.wandb_project, name=folder.name, group=cfg.wandb_group,
                      config=cfg.to_dict() | {"data_source": td.source, "n_train": int(len(td.y_train)),
                                              "n_test": int(len(td.y_test))}, run_dir=folder)
    live.tracker = tracker
    try:
        params, metrics, secs = _train(cfg, td, folder, blob, tracker, live, tr, say)
    except BaseException:
        tracker.finish({}, exit_code=1)  # the W&B run keeps the epochs done, complete on disk
        raise
    finally:
        if bar is not None:
            bar.close()
    history = history_rows(metrics)
    atomic_write_csv(folder / "history.csv", history)
    save_params(folder / "params.msgpack", params)
    losses = np.asarray(metrics["train_loss"], np.float64)
    is_div = diverged(losses, td.num_classes) or not np.isfinite(metrics["test_loss"][-1])
    summary = train_summary(cfg, td, history[-1], metrics, secs, is_div, folder)
    images = _log_pictures(cfg, td, params, metrics, folder, tracker, summary, is_div)
    summary["pictures"] = sorted(p.name for p, _ in images.values())
    summary["wandb_mode"] = tracker.mode
    summary["wandb_run"] = tracker.run_path
    tracker.finish(summary, exit_code=1 if is_div else 0)
    atomic_write_json(folder / "summary.json", summary)
    (folder / CKPT).unlink(missing_ok=True)
    say(f"test_accuracy {summary['test_accuracy']:.4f}  test_loss {summary['test_loss']:.4f}  "
        f"train {secs['train_seconds']:.2f}s (+{secs['compile_seconds']:.2f}s compile)  -> {folder}")
    if is_div:
        raise _diverged_error(cfg, losses, td.num_classes, folder)
    return summary


def _progress(cfg: Config, blob, tty: bool):
    """(tqdm bar or None, the per-epoch host callback) starting at the checkpoint's epoch."""
    start = 0
    with contextlib.suppress(Exception):  # for the progress bar only; _train restores the state
        start = int(np.asarray(blob["state"]["epoch"])) if blob is not None else 0
    bar = None
    if tty:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.epochs, initial=start, unit="epoch", desc="train", leave=True,
                   dynamic_ncols=True)
    return bar, _Live(bar, start)


def train_summary(cfg: Config, td: TaskData, last: dict, metrics: dict, secs: dict, is_div: bool,
                folder: Path) -> dict:
    """summary.json of a finished run (before its pictures and W&B facts are added)."""
    n_train, n_test = int(len(td.y_train)), int(len(td.y_test))
    summary = {
        "test_accuracy": last["test_accuracy"], "test_loss": last["test_loss"],
        "train_loss": last["train_loss"], "train_accuracy": last["train_accuracy"],
        "train_seconds": secs["train_seconds"], "compile_seconds": secs["compile_seconds"],
        "epochs": cfg.epochs, "diverged": is_div,
        "data_source": td.source, "data_name": td.name,
        "n_train": n_train, "n_test": n_test,
        "class_balance": td.balance, "class_names": list(td.class_names),
        "steps_per_epoch": int(len(td.y_train) // min(cfg.batch_size, len(td.y_train))),
        "batch_size": int(min(cfg.batch_size, len(td.y_train))),
        "device": str(jax.devices()[0].device_kind), "backend": jax.default_backend(),
        "versions": versions(), "folder": str(folder),
    }
    if "style_recall" in metrics:  # Nvrest: recall of the digit within each of its styles
        summary["style_recall"] = [float(v) for v in np.asarray(metrics["style_recall"])[-1]]
        summary["style_counts"] = np.bincount(td.test_style[td.test_style >= 0], minlength=td.n_styles).tolist()
    return summary


def _log_pictures(cfg, td, params, metrics, folder, tracker, summary, is_div) -> dict:
    """The run's pictures (pictures=true, not diverged) written and logged to W&B; {key: (path,
    caption)}. On any failure the W&B run is finished with the summary first."""
    try:
        if not cfg.pictures or is_div:
            return {}
        from mlx.viz.run_figures import draw_run_pictures, predict_logits, save_pictures
        logits = predict_logits(cfg, td, params, td.x_test)
        images = save_pictures(folder, draw_run_pictures(cfg, td, params, metrics, logits=logits))
        tracker.log_images(images, step=cfg.epochs)
        tracker.log_plots(td.y_test, logits, td.class_names, step=cfg.epochs)
        return images
    except BaseException:
        tracker.finish(summary, exit_code=1)  # history.csv and params.msgpack are written
        raise


def _diverged_error(cfg: Config, losses: np.ndarray, num_classes: int, folder: Path) -> Diverged:
    e = next((i + 1 for i in range(len(losses)) if diverged(losses[: i + 1], num_classes)), len(losses))
    return Diverged(f"training diverged at epoch {e} (train loss {losses[e - 1]:.4g}) with "
                    f"lr={cfg.lr:g} optimizer={cfg.optimizer}; use a smaller lr (the loss must stay "
                    f"finite and below {EXPLODED_FACTOR:g} x log(classes)); everything computed is in {folder}")

"""``mlx train`` at the edge: load data, train one config, write the run folder, log to W&B.

Run folder (``<out>/<name>/``):
    config.json      the validated config (written first)
    history.csv      per-epoch train/test loss and accuracy
    params.msgpack   trained params (``mlx.track.tracker.load_run(folder)`` loads them back)
    *.png, pictures.json   the run's pictures and their captions (``pictures=true``)
    checkpoint.msgpack     while a ``checkpoint_every=N`` run is unfinished
    filter_epochs/   the logreg filter every ceil(epochs/10)-th epoch and at the last (drawn live)
    wandb/           the W&B run (offline by default; ``wandb sync <folder>/wandb/offline-run-*``)
    summary.json     final metrics, timings, data source, versions (written atomically, last)

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

from mlx.track import tracker as track
from mlx.choices import WANDB_MODES
from mlx.config import OUTPUT_KEYS, Config
from mlx.errors import UsageError
from mlx.data.load import Dataset
from mlx.tasks import TaskData, apply_task
from mlx.train import EXPLODED_FACTOR, METRICS, diverged, hparams, make_train, seed_keys

CKPT = "checkpoint.msgpack"


class Diverged(UsageError):
    """Training produced a NaN or inf loss; everything computed was still written."""


def load_dataset_for(cfg: Config):
    """The Dataset that ``cfg`` asks for (data=auto|idx|tfds|sample|csv)."""
    if cfg.data == "csv":
        from mlx.data.csv_table import load_csv
        thr = None if np.isnan(cfg.label_threshold) else cfg.label_threshold
        return load_csv(cfg.path, label=cfg.label, features=cfg.features or None,
                        one_hot=cfg.one_hot or None,
                        label_threshold=thr, missing=cfg.missing,
                        test_fraction=cfg.test_fraction, seed=cfg.split_seed)
    from mlx.data import load as data
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
            d = track.read_json(folder / "config.json")
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


def _make_folder(folder: Path, cfg: Config) -> None:
    """Make ``folder`` and write config.json, or UsageError with nothing left behind."""
    made = []
    p = folder
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        track.atomic_write_json(folder / "config.json", cfg.to_dict())
    except OSError as e:
        for d in made:  # innermost first; only the empty folders this call made
            with contextlib.suppress(OSError):
                d.rmdir()
        raise UsageError(f"cannot write the run folder {folder}: {e.strerror or e}; "
                         f"use out= with a folder you can write to") from None


def history_rows(metrics: dict) -> list[dict]:
    e = len(metrics["train_loss"])
    return [{"epoch": i + 1, **{k: float(metrics[k][i]) for k in METRICS}} for i in range(e)]


def _read_checkpoint(folder: Path, cfg: Config) -> dict:
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
            track.atomic_write_bytes(folder / CKPT, serialization.msgpack_serialize({
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
    needs about 17 GB): the estimate of mlx.sweep.engine.lane_bytes against the device's memory."""
    from mlx.sweep.engine import device_memory_bytes, lane_bytes
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
    blob = _read_checkpoint(folder, cfg) if resume and cfg.checkpoint_every > 0 else None
    check_memory(cfg, make_train(cfg, td), td)
    _make_folder(folder, cfg)
    start = 0
    with contextlib.suppress(Exception):  # for the progress bar only; _train restores the state
        start = int(np.asarray(blob["state"]["epoch"])) if blob is not None else 0
    bar = None
    if tty:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.epochs, initial=start, unit="epoch", desc="train", leave=True,
                   dynamic_ncols=True)
    live = _Live(bar, start)
    snap = cfg.pictures and cfg.model == "logreg"
    tr = make_train(cfg, td, snapshots=snap, progress=live)
    n_train, n_test = int(len(td.y_train)), int(len(td.y_test))
    tracker = track.Tracker(mode=mode, project=cfg.wandb_project, name=folder.name,
                            group=cfg.wandb_group, config=cfg.to_dict() | {
                                "data_source": td.source, "n_train": n_train, "n_test": n_test},
                            run_dir=folder)
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
        "n_train": n_train, "n_test": n_test,
        "class_balance": td.balance, "class_names": list(td.class_names),
        "steps_per_epoch": int(len(td.y_train) // min(cfg.batch_size, len(td.y_train))),
        "batch_size": int(min(cfg.batch_size, len(td.y_train))),
        "device": str(jax.devices()[0].device_kind), "backend": jax.default_backend(),
        "versions": track.versions(), "folder": str(folder),
    }
    if "style_recall" in metrics:  # Nvrest: recall of the digit within each of its styles
        summary["style_recall"] = [float(v) for v in np.asarray(metrics["style_recall"])[-1]]
        summary["style_counts"] = np.bincount(td.test_style[td.test_style >= 0], minlength=td.n_styles).tolist()
    images = {}
    try:
        if cfg.pictures and not is_div:
            from mlx.viz.run_figures import draw_run_pictures, predict_logits, save_pictures
            logits = predict_logits(cfg, td, params, td.x_test)
            images = save_pictures(folder, draw_run_pictures(cfg, td, params, metrics, logits=logits))
            tracker.log_images(images, step=cfg.epochs)
            tracker.log_plots(td.y_test, logits, td.class_names, step=cfg.epochs)
    except BaseException:
        tracker.finish(summary, exit_code=1)  # history.csv and params.msgpack are written
        raise
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

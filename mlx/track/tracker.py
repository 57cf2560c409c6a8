"""Weights & Biases at the edge: one W&B run per training run, nothing here does math.

* Offline by default (no account needed), online when the user sets WANDB_MODE=online or
  wandb=online; an online run that cannot reach the server within a few seconds falls back to
  offline with one warning, so a run never hangs and its results are still written.
* The run's ``.wandb`` file is flushed every LIVE_FLUSH_S seconds, so a running (or killed)
  run's epochs are on disk as they end. A W&B error after ``wandb.init`` is one warning, never
  a lost result.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from mlx.choices import WANDB_MODES
from mlx.track.files import to_jsonable

ONLINE_TIMEOUT_S = 8.0
LIVE_FLUSH_S = 1.0  # seconds between flushes of an offline run's .wandb file (W&B's default: 15)


# ----------------------------------------------------------------------------- W&B

# the values wandb itself accepts for $WANDB_MODE; anything else (even empty) fails inside wandb.init
_WANDB_ENV_MODES = ("online", "offline", "shared", "disabled", "dryrun", "run")


class Tracker:
    """One W&B run (or none when mode='disabled'), with the offline fallback built in.

    ``wandb.init`` happens here, so make the Tracker before training and log each epoch as it
    ends (``log_epoch``): the W&B step is the epoch. After init, a failing W&B call prints one
    warning and turns further logging off; it never raises, so the caller's files are written.
    """

    def __init__(self, *, mode: str, project: str, name: str, group: str | None, config: dict,
                 run_dir: Path, tags: list[str] | None = None, quiet: bool = False,
                 flush_s: float = LIVE_FLUSH_S, job_type: str | None = None):
        import threading
        from mlx.errors import UsageError
        self.run = None
        self.mode = mode
        self._lock = threading.Lock()  # log_epoch runs on the thread of JAX's host callback
        self._failed = False
        self._finished = False
        if mode not in WANDB_MODES:
            raise UsageError(f"W&B mode {mode!r} is not allowed; allowed: {', '.join(WANDB_MODES)}")
        if mode == "disabled":
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_CONSOLE", "off")
        if os.environ.get("WANDB_MODE") is not None and \
                os.environ["WANDB_MODE"].strip().lower() not in _WANDB_ENV_MODES:
            # the mode is decided (and validated) by the caller; an empty $WANDB_MODE would
            # otherwise fail wandb.Settings' validation even with mode= given
            del os.environ["WANDB_MODE"]
        import wandb
        kw = dict(project=project, name=name, group=group or None, config=to_jsonable(config),
                  dir=str(run_dir), tags=tags, reinit="create_new", job_type=job_type)
        extra = {}
        if "x_transaction_log_flush_interval" in getattr(wandb.Settings, "model_fields", {}):
            extra["x_transaction_log_flush_interval"] = float(flush_s)
        if mode == "online":
            try:
                self.run = wandb.init(mode="online", settings=wandb.Settings(
                    init_timeout=ONLINE_TIMEOUT_S, console="off", silent=True, **extra), **kw)
                return
            except Exception as e:  # no network, invalid key, server error: never hang
                msg = " ".join(str(e).split())[:200]
                print(f"mlx: warning: W&B online failed ({type(e).__name__}: {msg}); logging offline "
                      f"instead, upload later with `wandb sync {run_dir}/wandb`", file=sys.stderr, flush=True)
                self.mode = "offline"
        self.run = wandb.init(mode="offline", settings=wandb.Settings(console="off", silent=True, **extra),
                              **kw)

    def _call(self, fn, *args, **kw):
        """fn(*args) unless W&B failed before; a failure is one warning and stops W&B logging."""
        if self.run is None or self._failed:
            return None
        with self._lock:
            try:
                return fn(*args, **kw)
            except Exception as e:
                self._failed = True
                msg = " ".join(str(e).split())[:200]
                print(f"mlx: warning: W&B logging failed ({type(e).__name__}: {msg}); no more W&B "
                      f"logging for this run, its files are still written", file=sys.stderr, flush=True)
                return None

    def log_epoch(self, epoch: int, row: dict):
        """One epoch's metrics at W&B step ``epoch`` (also logged as the key ``epoch``)."""
        self._call(lambda: self.run.log({k: v for k, v in row.items() if k != "epoch"} |
                                        {"epoch": int(epoch)}, step=int(epoch)))

    def log_history(self, history: list[dict]):
        for row in history:
            self.log_epoch(int(row["epoch"]), row)

    def log_images(self, images: dict[str, tuple[Path, str]], step: int | None = None):
        if self.run is not None and images:
            def go():
                import wandb
                self.run.log({f"pictures/{k}": wandb.Image(str(p), caption=c)
                              for k, (p, c) in images.items()}, step=step)
            self._call(go)

    def log_plots(self, y, logits, class_names, step: int | None = None):
        """W&B's own charts: a confusion matrix, and ROC / precision-recall for binary tasks.
        y: int[n] true labels; logits: float[n, k_out] (k_out = 1: the logit of class 1)."""
        if self.run is not None:
            self._call(self._log_plots, y, logits, class_names, step)

    def _log_plots(self, y, logits, class_names, step):
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
        self._call(lambda: self.run.log(data, step=step))

    def finish(self, summary: dict, exit_code: int = 0):
        """Write the summary and close the run, once; also after a failed log (the run on disk
        then holds what was logged). Never raises."""
        if self.run is None or self._finished:
            return
        self._finished = True
        self._failed = False  # try the summary and the finish even after a failed log

        def go():
            for k, v in to_jsonable(summary).items():
                if isinstance(v, (int, float, str, bool)) or v is None:
                    self.run.summary[k] = v
        self._call(go)
        self._failed = False
        self._call(lambda: self.run.finish(exit_code=exit_code))

    @property
    def run_path(self) -> str | None:
        return None if self.run is None else str(Path(self.run.dir).parent)

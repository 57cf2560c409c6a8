"""W&B runs of finished sweep configs, written by background threads while the sweep trains."""
from __future__ import annotations

import contextlib
import queue
import shutil
import threading
from pathlib import Path

from mlx.track.tracker import Tracker


WANDB_THREADS = 4


class _PackageList:
    """While open, ``wandb.util.working_set`` answers from one list made when it opened.

    Every ``wandb.init`` lists the installed Python packages for the run's requirements
    (``Run._on_start`` -> ``publish_python_packages(wandb.util.working_set())``): a pure-Python
    walk over every package's metadata that holds the GIL. For a sweep's hundreds of runs in one
    process that walk was most of W&B's CPU time (py-spy: about 2/3 of the writer threads'
    samples on the default sweep), taken from the training and the pictures. The packages do not
    change during a sweep, so each run still gets the same list, made once. A wandb without
    ``util.working_set`` is left as it is."""

    def __init__(self):
        self.saved = None

    def open(self) -> None:
        import wandb.util as wu
        original = getattr(wu, "working_set", None)
        if original is None or self.saved is not None:
            return
        try:
            packages = list(original())
        except Exception:  # W&B's own walk then runs per run, as W&B does it
            return
        self.saved = original
        wu.working_set = lambda: iter(packages)

    def close(self) -> None:
        if self.saved is not None:
            import wandb.util as wu
            wu.working_set, self.saved = self.saved, None


class WandbWriter:
    """Writes W&B runs of finished configs in background threads, so W&B's start-up cost
    overlaps training. A run folder gets ``wandb.done`` once its W&B run is finished; resume
    removes the half-written W&B runs of folders without it and logs them again, so every
    finished config ends with exactly one complete W&B run."""

    def __init__(self, mode: str, project: str, group: str, threads: int = WANDB_THREADS):
        self.mode, self.project, self.group = mode, project, group
        self.q: queue.Queue = queue.Queue()
        self.errors: list[str] = []
        self.threads = []
        self.logged = 0
        self._first = threading.Lock()  # the first wandb.init imports lazily: one thread at a time
        self._warm = False
        self._packages = _PackageList()
        if mode != "disabled":
            import wandb  # noqa: F401  (first imports are not thread-safe: import here, not in the threads)
            self._packages.open()
            from PIL import Image
            Image.init()  # Pillow registers its formats lazily, and not thread-safely: do it once here
            for _ in range(threads):
                t = threading.Thread(target=self._work, daemon=True)
                t.start()
                self.threads.append(t)

    def submit(self, folder: Path, cfg: dict, history: list[dict], summary: dict, image=None,
               evolution: dict | None = None):
        """Queue a W&B run; image: the path of the lane's filter picture (or first-layer units), or
        uint8[H, W, 3];
        evolution: {epoch: uint8[H, W, 3]}, the filter after those epochs (logged at their steps
        as ``pictures/filter_by_epoch``, as ``mlx train`` logs it)."""
        if not self.threads or (folder / "wandb.done").exists():
            return
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder / "wandb")  # a run cut by a kill: never two runs for a config
        self.q.put((folder, cfg, history, summary, image, evolution or {}))

    def _work(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            folder, cfg, history, summary, image, evolution = item
            try:
                with self._first if not self._warm else contextlib.nullcontext():
                    t = Tracker(mode=self.mode, project=self.project, name=folder.name,
                                      group=self.group, config=cfg, run_dir=folder)
                    self._warm = True
                import wandb
                for row in history:
                    e = int(row["epoch"])
                    t.log_epoch(e, row)
                    if e in evolution:
                        t.log({"pictures/filter_by_epoch": wandb.Image(evolution[e], caption=f"filter b after epoch {e}")},
                              step=e)
                if image is not None:
                    caption = "filter b (red: evidence for class 1)" if cfg.get("model") == "logreg" \
                        else "the most important first-layer units"
                    t.log({"pictures/filter": wandb.Image(image, caption=caption)}, step=len(history))
                t.finish(summary, exit_code=1 if summary.get("diverged") else 0)
                (folder / "wandb.done").write_text(t.mode + "\n")
                self.logged += 1
            except Exception as e:  # W&B trouble must never stop the sweep
                self.errors.append(f"{folder.name}: {type(e).__name__}: {e}")

    def close(self):
        for _ in self.threads:
            self.q.put(None)
        for t in self.threads:
            t.join()
        self._packages.close()

"""``mlx train`` logs to W&B live: each epoch's metrics reach the offline run's ``.wandb`` file
while training goes on (W&B step = epoch), so W&B's hyperband sees running runs, and a run
killed midway leaves an offline run with the epochs it did that ``wandb sync`` accepts.

No timing assertions: the tests wait for records in files, and a long run is killed as soon as
they are there.

Also ``mlx train``'s edge (mlx/train_run.py): a bad $WANDB_MODE and a model too big for the
device are refused before anything is written, an empty $WANDB_MODE is unset (offline), a batch
larger than the data is clamped, and the run's style pictures never depend on the training seed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _util import (ROOT, assert_usage_error, env_without_wandb, one_usage_line, quick_train, read_wandb_file,
                   run_cli, run_mlx, wandb_history)

from mlx.cli import main
from mlx.config import make_config

WAIT_LIMIT_S = 240.0  # catches a hang only; the test waits for records, never for a duration


def _history(wandb_file: Path) -> list:
    return [r.history for r in read_wandb_file(wandb_file) if r.WhichOneof("record_type") == "history"]


def _row(h) -> dict:
    return {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in h.item}


def test_epochs_reach_the_wandb_file_while_training_and_survive_kill_9(tmp_path):
    # 4,000 steps per epoch, 100k epochs: this run lasts far longer than the test ever waits
    cmd = [sys.executable, "-m", "mlx", "train", "data=sample", "task=digits", "model=logreg",
           "batch_size=1", "epochs=100000", "pictures=false", f"out={tmp_path}", "name=live"]
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"} | {"WANDB_SILENT": "true"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run = tmp_path / "live"
    hist, files = [], []
    try:
        deadline = time.monotonic() + WAIT_LIMIT_S
        while proc.poll() is None and time.monotonic() < deadline:
            files = sorted(run.glob("wandb/offline-run-*/run-*.wandb"))
            if files:
                hist = _history(files[0])
                if len(hist) >= 2:
                    break
            time.sleep(0.05)
        still_running = proc.poll() is None
        # training is not over: history.csv and params.msgpack are written when it ends
        training = not (run / "history.csv").exists() and not (run / "params.msgpack").exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        err = proc.communicate()[1].decode()
    assert len(hist) >= 2, f"no epochs in the .wandb file while training; rc={proc.returncode} {err[-2000:]}"
    assert still_running and training, "the records appeared only after training ended"
    assert proc.returncode == -signal.SIGKILL
    # the W&B step is the epoch: steps 1, 2, ... each with its epoch's metrics, once
    for i, h in enumerate(hist, 1):
        row = _row(h)
        assert h.step.num == i and row["epoch"] == i and row["_step"] == i
        assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy"} <= set(row)
    assert not (run / "summary.json").exists() and (run / "config.json").is_file()

    # after the kill: the offline run reads back whole (checksums verified) with the epochs done
    # so far, in order, and wandb's own `sync` accepts the run folder (dry run: no network)
    [wf] = files
    after = _history(wf)
    assert len(after) >= len(hist)
    assert [h.step.num for h in after] == list(range(1, len(after) + 1))
    kinds = {r.WhichOneof("record_type") for r in read_wandb_file(wf)}
    assert {"run", "history"} <= kinds and "exit" not in kinds
    p = subprocess.run([sys.executable, "-m", "wandb", "sync", "--dry-run", str(wf.parent)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env=env | {"WANDB_MODE": "offline"})
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Would sync 1 run(s)" in out and wf.name in out, out


def test_one_wandb_step_per_epoch_with_the_filter_at_a_fixed_cadence(tmp_path):
    """A finished run: W&B steps 1..epochs, each metric once per epoch (what hyperband counts),
    the logreg filter every ceil(epochs/10)-th epoch and at the last, as files and at its step."""
    from _util import run_cli
    p = run_cli("train", "data=sample", "task=0v1", "epochs=13", "lr=0.003", f"out={tmp_path}", "name=c")
    assert p.returncode == 0, p.stderr[-3000:]
    run = tmp_path / "c"
    rows = wandb_history(run)
    assert [r["_step"] for r in rows] == list(range(1, 14))
    for k in ("train_loss", "test_accuracy"):
        assert sum(k in r for r in rows) == 13
    picks = [2, 4, 6, 8, 10, 12, 13]
    assert [r["_step"] for r in rows if "pictures/filter_by_epoch/path" in r] == picks
    assert sorted(f.name for f in (run / "filter_epochs").iterdir()) == [f"epoch_{e:03d}.png" for e in picks]
    hist = (run / "history.csv").read_text().splitlines()[1:]
    assert [float(r["test_accuracy"]) for r in rows] == [float(h.split(",")[4]) for h in hist]
    s = json.loads((run / "summary.json").read_text())
    assert s["wandb_mode"] == "offline" and "offline-run-" in s["wandb_run"]


# ----------------------------------------------------------------------------- mlx train's edge

def test_batch_size_larger_than_the_data_is_clamped(tmp_path, capsys):
    assert main(["train", "data=sample", "task=0v1", "batch_size=100000", "epochs=1", "pictures=false",
                 "wandb=disabled", f"out={tmp_path}", "name=big"]) == 0
    s = json.loads((tmp_path / "big" / "summary.json").read_text())
    assert s["batch_size"] == s["n_train"] == 800 and s["steps_per_epoch"] == 1
    assert np.isfinite(s["test_loss"])


def test_a_bad_wandb_mode_is_refused_before_training(tmp_path):
    p = run_mlx(*quick_train(wandb=None), f"out={tmp_path}",
                env=env_without_wandb(WANDB_MODE="garbage"))
    one_usage_line(p, "WANDB_MODE", "garbage", "offline, online, disabled")
    assert list(tmp_path.iterdir()) == []  # before anything was written


def test_an_empty_wandb_mode_is_unset_offline(tmp_path):
    p = run_mlx(*quick_train(wandb=None), f"out={tmp_path}",
                env=env_without_wandb(WANDB_MODE=""))
    assert p.returncode == 0, p.stderr[-2000:]
    s = json.loads((tmp_path / "ck" / "summary.json").read_text())
    assert s["wandb_mode"] == "offline" and list((tmp_path / "ck").glob("wandb/offline-run-*/run-*.wandb"))


def test_styles_do_not_depend_on_the_training_seed(monkeypatch):
    """The styles of a digit are found with the data's fixed split_seed, never cfg.seed."""
    from mlx import styles
    from mlx.viz.run_figures import draw_run_pictures
    from mlx.tasks import apply_task
    from mlx.train import fit
    from _util import sample
    td = apply_task("4vrest", sample())  # its own styles (td.styles) before the patch: only the run's are counted
    seeds = []
    real = styles.cluster_styles
    monkeypatch.setattr(styles, "cluster_styles", lambda x, **kw: seeds.append(kw.get("seed")) or real(x, **kw))
    cfg = make_config({"task": "4vrest", "epochs": 1, "seed": 7})
    params, metrics, _ = fit(cfg, td)
    figs = draw_run_pictures(cfg, td, params, metrics)
    assert "styles" in figs and seeds == [cfg.split_seed] == [0]


def test_a_model_too_big_for_the_device_is_refused_before_anything_is_written(tmp_path):
    p = run_cli("train", "model=mlp", "hidden=[65536,65536]", "data=sample", f"out={tmp_path / 'o'}",
                "wandb=disabled")
    assert_usage_error(p, "GiB", "hidden")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())

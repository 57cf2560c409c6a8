"""``mlx train`` logs to W&B live: each epoch's metrics reach the offline run's ``.wandb`` file
while training goes on (W&B step = epoch), so W&B's hyperband sees running runs, and a run
killed midway leaves an offline run with the epochs it did that ``wandb sync`` accepts.

No timing assertions: the tests wait for records in files, and a long run is killed as soon as
they are there.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _util import ROOT, read_wandb_file, wandb_history

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

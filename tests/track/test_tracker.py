"""W&B at the edge (mlx/track/tracker.py): W&B never hangs a run and never costs a result. An
online run without a reachable server falls back offline with one warning line; W&B breaking
after training is one warning, and every file is still written.

The fallback needs a real process; it starts in the background when this module starts.
"""
import json
import os
import subprocess
import sys

import pytest
from _util import ROOT, quick_train

from mlx.cli import main


@pytest.fixture(scope="module", autouse=True)
def wandb_offline_fallback(tmp_path_factory):
    """``mlx train wandb=online`` with a key but no reachable server (a closed local port).

    Started when this module starts, in the background: it spends most of its time waiting for
    W&B's init timeout, so the other tests run meanwhile. The W&B fallback tests at the end
    collect it.
    """
    tmp = tmp_path_factory.mktemp("wandb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env |= {"WANDB_API_KEY": "x" * 40, "WANDB_BASE_URL": "http://127.0.0.1:9",
            "WANDB_CONFIG_DIR": str(tmp / "cfg"), "WANDB_CACHE_DIR": str(tmp / "cache"),
            "WANDB_DATA_DIR": str(tmp / "data")}
    cmd = [sys.executable, "-m", "mlx", "train", "data=sample", "epochs=1", "pictures=false", "wandb=online",
           f"out={tmp}", "name=w"]
    with open(tmp / "stdout", "w") as out, open(tmp / "stderr", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
    result = {}

    def collect():
        if not result:
            rc = proc.wait(timeout=90)  # generous: catches a hang, not a speed target
            result.update(rc=rc, stdout=(tmp / "stdout").read_text(), stderr=(tmp / "stderr").read_text(),
                          run=tmp / "w")
        return result
    yield collect
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_wandb_failure_after_training_keeps_every_file(tmp_path, capsys, monkeypatch):
    """W&B breaking while the pictures are logged: one warning, and summary.json is written."""
    import wandb

    def broken(*a, **k):
        raise RuntimeError("media store is full")
    monkeypatch.setattr(wandb, "Image", broken)
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert main([*quick_train(wandb=None, pictures=None), f"out={tmp_path}"]) == 0
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if "W&B" in ln] == [
        ln for ln in err.splitlines() if ln.startswith("mlx: warning: W&B logging failed (RuntimeError")]
    assert "media store is full" in err
    run = tmp_path / "ck"
    for f in ("summary.json", "history.csv", "params.msgpack", "filter.png"):
        assert (run / f).is_file(), f


def test_wandb_online_without_a_server_falls_back_offline(wandb_offline_fallback):
    r = wandb_offline_fallback()
    run = r["run"]
    assert r["rc"] == 0, r["stderr"][-3000:]
    s = json.loads((run / "summary.json").read_text())
    assert s["wandb_mode"] == "offline" and s["wandb_run"] and "offline-run-" in s["wandb_run"]
    assert (run / "params.msgpack").is_file() and (run / "history.csv").is_file()
    assert list(run.glob("wandb/offline-run-*/run-*.wandb"))
    warn = [ln for ln in r["stderr"].splitlines() if "W&B" in ln]
    assert len(warn) == 1, r["stderr"]
    assert "W&B online failed" in warn[0] and "logging offline instead" in warn[0]
    assert f"wandb sync {run}/wandb" in warn[0]


def test_wandb_fallback_warning_is_exactly_one_stderr_line(wandb_offline_fallback):
    r = wandb_offline_fallback()
    lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mlx: warning: W&B online failed"), r["stderr"]

"""Files written atomically (mlx/track/files.py): kill -9 at random points of a sweep never
leaves half a file and the sweep resumes from a cut results.jsonl to the same results; files get
the user's umask, as open() would give them.

A killed checkpointed ``mlx train`` run is in tests/track/test_run_folder.py (it shares that
file's uninterrupted reference run).
"""
import csv
import os
import random
import shutil
import signal
from pathlib import Path

import pytest
from _util import (QUICK_TRAIN, STRATA, assert_files_complete, kill_after_anchor, run_cli, run_mlx, timed_run,
                   write_text)

SWEEP = """name: tiny
method: grid
metric: {name: test_accuracy, goal: maximize}
parameters:
  model: {value: logreg}
  task: {value: "0v1"}
  lr: {values: [0.003, 0.01, 0.03]}
  epochs: {value: 2}
"""
METRIC_COLUMNS = ("config_id", "lr", "test_accuracy", "test_loss", "train_loss", "diverged")


def _sweep_cmd(yaml: Path, out: Path):
    return ["sweep", str(yaml), "data=sample", f"out={out}", "wandb=disabled", "chunk=1"]


def _results(folder: Path):
    with open(folder / "results.csv") as f:
        return [{k: r[k] for k in METRIC_COLUMNS} for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def sweep_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweepref")
    span = timed_run(_sweep_cmd(write_text(out / "tiny.yaml", SWEEP), out), (out, "tiny/results.jsonl"))
    return out / "tiny", span


def test_kill_9_during_a_sweep_never_leaves_half_a_file(sweep_reference, tmp_path):
    from mlx.sweep.folder import load_done
    ref, span = sweep_reference
    yaml = write_text(tmp_path / "tiny.yaml", SWEEP)
    rng = random.Random(20252)
    killed = 0
    for i, (lo, hi) in enumerate(STRATA):
        out = tmp_path / f"k{i}"
        rc = kill_after_anchor(_sweep_cmd(yaml, out), (out, "tiny/results.jsonl"), rng.uniform(lo, hi) * span)
        killed += rc == -signal.SIGKILL
        assert assert_files_complete(out) >= 4  # a run's config, history, summary, the best params, ...
        load_done(out / "tiny" / "results.jsonl")  # a cut line is skipped, never an error
    assert killed >= 1
    # resume from a log whose last line a kill cut in half: that config trains again
    out = tmp_path / "k0"
    jsonl = out / "tiny" / "results.jsonl"
    shutil.copy(ref / "results.jsonl", jsonl)
    _cut_last_line(jsonl)
    p = run_cli(*_sweep_cmd(yaml, out), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "2 already done" in p.stdout and "1 trained now" in p.stdout
    assert _results(out / "tiny") == _results(ref)
    assert assert_files_complete(out) > 10


def _cut_last_line(jsonl: Path):
    lines = jsonl.read_text().splitlines(keepends=True)
    jsonl.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # as a kill mid-append leaves it


def test_files_get_the_users_umask_not_0600(tmp_path):
    """Before: mkstemp's 0600 on every file; now 0666 less the umask, as open() gives."""
    p = run_mlx(*QUICK_TRAIN, f"out={tmp_path}", umask=0o027)
    assert p.returncode == 0, p.stderr[-2000:]
    files = [q for q in (tmp_path / "ck").iterdir() if q.is_file()]
    assert {q.name for q in files} >= {"config.json", "summary.json", "history.csv", "params.msgpack"}
    assert {q.name: oct(q.stat().st_mode & 0o777) for q in files} == {q.name: "0o640" for q in files}


def test_atomic_write_keeps_the_mode_open_would(tmp_path):
    from mlx.track.files import atomic_write_bytes, atomic_write_csv
    old = os.umask(0o002)
    try:
        new = atomic_write_csv(tmp_path / "results.csv", [{"a": 1}])
        assert new.stat().st_mode & 0o777 == 0o664
        (tmp_path / "private.json").write_text("{}")
        (tmp_path / "private.json").chmod(0o600)  # an existing file keeps its mode, as with open()
        atomic_write_bytes(tmp_path / "private.json", b"{}\n")
        assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)

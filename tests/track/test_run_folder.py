"""The run folder of ``mlx train`` (mlx/track/run_folder.py): kill -9 during a checkpointed run
never leaves half a file, and a killed run resumes from its checkpoint to exactly the results of
an uninterrupted one; another config's unfinished folder is refused untouched, a finished one is
kept (the new run gets a suffix); a bad ``out=`` or a damaged checkpoint is one line and exit 2.

The kill tests need real processes.
"""
import json
import os
import random
import signal
from pathlib import Path

import pytest
from _util import (QUICK_TRAIN, STRATA, assert_files_complete, kill_after_anchor, one_usage_line, quick_train,
                   run_cli, run_mlx, timed_run)

from mlx.cli import main
from mlx.config import make_config

TRAIN = ["train", "data=sample", "task=digits", "model=logreg", "batch_size=1", "epochs=8",
         "checkpoint_every=1", "pictures=false", "wandb=disabled", "name=ck"]


@pytest.fixture(scope="module")
def train_reference(tmp_path_factory):
    """An uninterrupted checkpointed run (the same checkpoint_every as the killed ones), and the
    seconds from its first checkpoint to its end."""
    out = tmp_path_factory.mktemp("ref")
    span = timed_run([*TRAIN, f"out={out}"], (out, "ck/checkpoint.msgpack"))
    return out / "ck", span


def _final(folder: Path):
    s = json.loads((folder / "summary.json").read_text())
    return {k: s[k] for k in ("test_accuracy", "test_loss", "train_loss", "train_accuracy")}, \
        (folder / "history.csv").read_text()


def test_kill_9_during_training_never_leaves_half_a_file(train_reference, tmp_path):
    _, span = train_reference
    rng = random.Random(20251)
    killed = 0
    for i, (lo, hi) in enumerate(STRATA):
        out = tmp_path / f"k{i}"
        rc = kill_after_anchor([*TRAIN, f"out={out}"], (out, "ck/checkpoint.msgpack"),
                               rng.uniform(lo, hi) * span)
        killed += rc == -signal.SIGKILL
        assert assert_files_complete(out) >= 2  # config.json and at least the checkpoint
    assert killed >= 1


# ----------------------------------------------------------------------------- checkpoints

def test_kill_9_after_a_checkpoint_resumes_to_exactly_the_same_results(train_reference, tmp_path):
    ref, _ = train_reference
    ckpt = tmp_path / "ck" / "checkpoint.msgpack"
    assert kill_after_anchor([*TRAIN, f"out={tmp_path}"], (tmp_path, "ck/checkpoint.msgpack"), 0.0) \
        == -signal.SIGKILL
    assert ckpt.exists() and not (tmp_path / "ck" / "summary.json").exists(), "the run ended before a kill"
    p = run_cli(*TRAIN, f"out={tmp_path}", timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"resuming {tmp_path / 'ck'} from epoch " in p.stdout
    epoch = int(p.stdout.split(" from epoch ")[1].split()[0])
    assert 1 <= epoch < 8
    assert _final(tmp_path / "ck") == _final(ref)
    assert not ckpt.exists() and not (tmp_path / "ck-2").exists()


# ----------------------------------------------------------------------------- run folders (mlx train)

def _tree(folder: Path) -> dict:
    """{relative path: bytes} of every file under folder (what must stay unchanged)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("every", [0, 3])
def test_an_unfinished_run_folder_of_another_config_is_never_changed(tmp_path, every):
    """Before: with checkpoint_every=0 the other config trained in the folder and unlinked the
    killed run's checkpoint; with checkpoint_every>0 it was refused after config.json was
    overwritten. Now: one line naming the folder, and not a byte of it changes."""
    assert kill_after_anchor([*TRAIN, f"out={tmp_path}"], (tmp_path, "ck/checkpoint.msgpack"), 0.0) \
        == -signal.SIGKILL
    folder = tmp_path / "ck"
    before = _tree(folder)
    assert "checkpoint.msgpack" in before and "summary.json" not in before
    p = run_mlx(*QUICK_TRAIN, f"out={tmp_path}", f"checkpoint_every={every}")  # another config, same name
    line = one_usage_line(p, str(folder), "another config", "name=")
    assert "task='digits'" in line  # what differs
    assert _tree(folder) == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["ck"]


def test_a_finished_folder_of_the_same_name_is_kept_and_the_new_run_gets_a_suffix(tmp_path):
    assert main([*QUICK_TRAIN, f"out={tmp_path}"]) == 0
    before = _tree(tmp_path / "ck")
    assert main([*QUICK_TRAIN, f"out={tmp_path}", "lr=0.01"]) == 0  # another config, same name
    assert main([*QUICK_TRAIN, f"out={tmp_path}"]) == 0  # the same config again
    assert _tree(tmp_path / "ck") == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["ck", "ck-2", "ck-3"]
    assert json.loads((tmp_path / "ck-2" / "config.json").read_text())["lr"] == 0.01
    assert all((tmp_path / n / "summary.json").is_file() for n in ("ck-2", "ck-3"))


def test_out_is_a_file(tmp_path):
    f = tmp_path / "runs"
    f.write_text("not a folder\n")
    for out in (f, f / "sub"):
        p = run_mlx(*QUICK_TRAIN, f"out={out}")
        one_usage_line(p, f"{f}", "is a file", "out=")
        assert f.read_text() == "not a folder\n" and sorted(q.name for q in tmp_path.iterdir()) == ["runs"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_out_is_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        p = run_mlx(*QUICK_TRAIN, f"out={ro}")
        one_usage_line(p, str(ro), "not writable", "out=")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_where_no_folder_can_be_made(tmp_path):
    """A folder nobody can make (even root): /proc takes no new entries."""
    p = run_mlx(*QUICK_TRAIN, "out=/proc/mlx-no-such-folder")
    one_usage_line(p, "/proc/mlx-no-such-folder", "out=")
    assert not Path("/proc/mlx-no-such-folder").exists()


def test_a_damaged_checkpoint_is_one_line_naming_it_and_what_to_do(tmp_path):
    argv = [*quick_train(epochs=3, checkpoint_every=1, name="dmg"), f"out={tmp_path}"]
    folder = tmp_path / "dmg"
    folder.mkdir()
    cfg = make_config({"data": "sample", "task": "0v1", "epochs": 3, "checkpoint_every": 1,
                       "pictures": False, "wandb": "disabled", "name": "dmg", "out": str(tmp_path)})
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    (folder / "checkpoint.msgpack").write_bytes(b"\x83\xa5state\xc4\xffcut off by a full disk")
    before = _tree(folder)
    line = one_usage_line(run_mlx(*argv), str(folder / "checkpoint.msgpack"), "damaged", "delete it")
    assert "Traceback" not in line and _tree(folder) == before
    (folder / "checkpoint.msgpack").unlink()  # what the line says to do
    p = run_mlx(*argv)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (folder / "summary.json").is_file() and not (folder / "checkpoint.msgpack").exists()

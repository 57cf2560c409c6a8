"""Bad input and faults: each bad input is one exact line and exit 2; W&B never hangs a run;
every file is written atomically (kill -9 at random points never leaves half a file); a killed
checkpointed run resumes to exactly the results of an uninterrupted one.

Most cases call ``mlx.cli.main`` in-process (no interpreter start); the kill tests and the W&B
fallback need real processes.
"""
import csv
import io
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _util import ROOT, assert_usage_error, run_cli

from mlx.cli import main
from mlx.config import make_config
from mlx.errors import ConfigError

QUIET = ["wandb=disabled", "pictures=false", "epochs=1"]


def _err(capsys, *argv):
    """Run ``mlx ARGV`` in-process: exit 2 and exactly one stderr line; returns that line."""
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert rc == 2, (rc, cap.out[-1000:], cap.err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("mlx: error: "), cap.err
    return lines[0]


def _cli(*argv):
    """The same through a real process (for cases that must not touch the test process)."""
    p = run_cli(*argv, timeout=120)
    return p.returncode, p.stderr.strip()


# ----------------------------------------------------------------------------- data

def _idx(path: Path, arr: np.ndarray, magic: int):
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape)
                     + arr.astype(np.uint8).tobytes())


def idx_set(folder: Path, *, size=(28, 28), train_labels=None, test_labels=None) -> Path:
    """Four small MNIST-format IDX files (random pixels) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ytr = np.asarray(np.arange(40) % 10 if train_labels is None else train_labels)
    yte = np.asarray(np.arange(20) % 10 if test_labels is None else test_labels)
    for split, y in (("train", ytr), ("t10k", yte)):
        _idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (len(y), *size)), 0x803)
        _idx(folder / f"{split}-labels-idx1-ubyte", y, 0x801)
    return folder


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _table(n=20, bad=None):
    rows = []
    for i in range(n):
        b = bad if (bad is not None and i == 3) else i % 7
        rows.append(f"{i},{b},{i % 2}\n")
    return "a,b,label\n" + "".join(rows)


def test_nan_in_csv_features(capsys, tmp_path):
    f = _write(tmp_path / "nan.csv", _table(bad="nan"))
    assert _err(capsys, "train", "data=csv", f"path={f}", "task=labels", "missing=error", *QUIET) == (
        "mlx: error: missing or non-numeric value in feature column 'b' at data row 4 (counting from 1 after "
        "the header; file line 5): cell 'nan'; 1 such cells in 1 rows; to go on, use missing=drop|mean (drop: "
        "drop those rows; mean: drop rows without a label, fill feature cells with training-split column means)")


@pytest.mark.parametrize("missing", ["error", "mean"])
def test_inf_in_csv_features(capsys, tmp_path, missing):
    f = _write(tmp_path / "inf.csv", _table(bad="inf"))
    assert _err(capsys, "train", "data=csv", f"path={f}", "task=labels", f"missing={missing}", *QUIET) == (
        "mlx: error: feature column 'b' holds an infinite or out-of-float32-range value at data row 4 (counting "
        "from 1 after the header; file line 5): cell 'inf'; 1 such cells in all; infinite values are not missing "
        "values, so missing=drop|mean do not apply: fix or remove them")


def test_idx_images_of_the_wrong_size(capsys, tmp_path):
    d = idx_set(tmp_path / "i27", size=(27, 27))
    assert _err(capsys, "train", "data=idx", f"data_dir={d}", *QUIET) == (
        f"mlx: error: {d}/train-images-idx3-ubyte holds images of 27x27 pixels, expected 28x28 (MNIST format)")


def test_labels_outside_the_task(capsys, tmp_path):
    d = idx_set(tmp_path / "lab", train_labels=np.arange(40) % 11)  # an IDX label 10
    assert _err(capsys, "train", "data=idx", f"data_dir={d}", *QUIET) == (
        f"mlx: error: {d}/train-labels-idx1-ubyte has label 10 at index 10 (3 bad in all); labels must be 0..9")
    f = _write(tmp_path / "l.csv", "a,b,label\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(130)))
    assert _err(capsys, "train", "data=csv", f"path={f}", "task=digits", *QUIET) == (
        "mlx: error: label 10 in the train split is outside task 'digits', which needs digit labels 0-9; "
        "use task=labels for other labels")


def test_empty_class_after_the_task_filter(capsys, tmp_path):
    d = idx_set(tmp_path / "no9", train_labels=np.arange(40) % 6, test_labels=np.arange(20) % 6)
    assert _err(capsys, "train", "data=idx", f"data_dir={d}", "task=4v9", *QUIET) == (
        "mlx: error: class '9' of task '4v9' has no examples in the train split of idx:no9; "
        "pick a task whose classes occur")


@pytest.mark.parametrize("text,expected", [
    ("", "mlx: error: CSV file t.csv is empty; it needs a header line and at least two data rows"),
    ("a,b,label\n", "mlx: error: CSV file t.csv has a header but no data rows; need at least two rows"),
])
def test_csv_with_no_rows(capsys, tmp_path, text, expected):
    f = _write(tmp_path / "t.csv", text)
    assert _err(capsys, "train", "data=csv", f"path={f}", *QUIET) == expected


def test_csv_duplicate_column(capsys, tmp_path):
    f = _write(tmp_path / "dup.csv", "a,a,label\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(20)))
    assert _err(capsys, "train", "data=csv", f"path={f}", *QUIET) == (
        "mlx: error: duplicate column name 'a' in the header of dup.csv (columns 1 and 2); "
        "column names must be unique")


def test_csv_label_column_not_present(capsys, tmp_path):
    f = _write(tmp_path / "t.csv", _table())
    assert _err(capsys, "train", "data=csv", f"path={f}", "label=y", *QUIET) == (
        "mlx: error: label column 'y' is not in t.csv; columns are: a, b, label")


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("argv,expected", [
    (["lr=-0.1"], "lr=-0.1 must be a positive finite number"),
    (["lr=0"], "lr=0.0 must be a positive finite number"),
    (["lr=nan"], "lr=nan must be a positive finite number"),
    (["lr=inf"], "lr=inf must be a positive finite number"),
    (["epochs=0"], "epochs=0 must be a positive integer"),
    (["epochs=-3"], "epochs=-3 must be a positive integer"),
    (["optimizer=rmsprop"], "optimizer='rmsprop' is not allowed; allowed: sgd, momentum, adam, adamw"),
    (["hidden=0"], "hidden=[0] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=-2"], "hidden=[-2] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[64,0]"], "hidden=[64, 0] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[]"], "hidden=[] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[3.5]"], "hidden='[3.5]' must be positive integers, e.g. 256 or [512,256]"),
    (["hidden=two"], "hidden='two' must be positive integers, e.g. 256 or [512,256]"),
    (["hidden=[true]"], "hidden='[true]' must be positive integers, e.g. 256 or [512,256]"),
])
def test_bad_config_values(capsys, argv, expected):
    assert _err(capsys, "train", *argv, "wandb=disabled") == f"mlx: error: {expected}"


def test_batch_size_larger_than_the_data_is_clamped(tmp_path, capsys):
    assert main(["train", "data=sample", "task=0v1", "batch_size=100000", "epochs=1", "pictures=false",
                 "wandb=disabled", f"out={tmp_path}", "name=big"]) == 0
    s = json.loads((tmp_path / "big" / "summary.json").read_text())
    assert s["batch_size"] == s["n_train"] == 800 and s["steps_per_epoch"] == 1
    assert np.isfinite(s["test_loss"])


@pytest.mark.parametrize("overrides", [{"seed": "-1"}, {"seed": "1e30"}, {"epochs": "1e12"},
                                       {"model": "mlp", "hidden": "1e12"}])
def test_out_of_range_integers_are_config_errors(overrides):
    with pytest.raises(ConfigError):
        make_config(overrides)


# ----------------------------------------------------------------------------- atomic writes

PNG_END = b"IEND\xaeB`\x82"


def assert_files_complete(root: Path) -> int:
    """Every file a reader reads back parses completely; returns how many were checked.

    Temp files of atomic writes (``.name.XXXX.tmp``) may survive a kill: nothing reads them.
    results.jsonl is an append log: only its last line may be cut (resume skips it).
    """
    from flax import serialization
    n = 0
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(".tmp") or "wandb" in p.relative_to(root).parts:
            continue
        data = p.read_bytes()
        where = str(p.relative_to(root))
        if p.suffix == ".json":
            json.loads(data)
        elif p.suffix == ".csv":
            text = data.decode()
            rows = list(csv.reader(io.StringIO(text)))
            assert text.endswith("\n") and rows and rows[0], where
            assert all(len(r) == len(rows[0]) for r in rows), where
        elif p.suffix == ".msgpack":
            serialization.msgpack_restore(data)
        elif p.suffix == ".png":
            assert data.endswith(PNG_END), where
        elif p.suffix == ".md":
            assert data.endswith(b"\n"), where
        else:
            continue
        n += 1
    return n


# Kill points: the uninterrupted run is timed from the moment its first intermediate file appears
# (the "anchor": a checkpoint, or a sweep's first results line) to its end, the span in which it
# writes; each kill comes a seeded random delay after the anchor, one delay in each part of that span.
STRATA = ((0.0, 0.5), (0.5, 1.0))


def _popen(cmd):
    return subprocess.Popen([sys.executable, "-m", "mlx", *cmd], cwd=ROOT,
                            env=dict(os.environ, WANDB_MODE="disabled"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(anchor: tuple[Path, str], proc, limit=240.0) -> bool:
    folder, pattern = anchor
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if any(folder.glob(pattern)):
            return True
        time.sleep(0.005)
    return any(folder.glob(pattern))


def timed_run(cmd, anchor) -> float:
    """Run cmd to its end; seconds from the anchor's appearance to the end."""
    proc = _popen(cmd)
    assert _wait_for(anchor, proc), "the anchor file never appeared"
    t0 = time.monotonic()
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - t0


def kill_after_anchor(cmd, anchor, delay: float) -> int:
    """Start cmd, SIGKILL it ``delay`` seconds after the anchor appears; returns its exit status."""
    proc = _popen(cmd)
    _wait_for(anchor, proc)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


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
    span = timed_run(_sweep_cmd(_write(out / "tiny.yaml", SWEEP), out), (out, "tiny/results.jsonl"))
    return out / "tiny", span


def test_kill_9_during_a_sweep_never_leaves_half_a_file(sweep_reference, tmp_path):
    from mlx.sweep.runner import load_done
    ref, span = sweep_reference
    yaml = _write(tmp_path / "tiny.yaml", SWEEP)
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


def test_the_row_appended_after_a_cut_line_is_readable(tmp_path):
    from mlx.sweep.runner import append_rows, load_done
    from mlx.train import METRICS

    def row(cid):
        return {"config_id": cid, "index": 0, "name": cid, "history": {}, "diverged": False,
                **{k: 0.5 for k in METRICS}}
    jsonl = tmp_path / "results.jsonl"
    jsonl.write_text(json.dumps(row("a")) + "\n" + '{"config_id": "b", "x"')
    append_rows(jsonl, [row("b")])
    assert set(load_done(jsonl)) == {"a", "b"}


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


def _env(**kw) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return env | {"WANDB_SILENT": "true"} | kw


def _cli_env(*argv, env=None, **popen):
    return subprocess.run([sys.executable, "-m", "mlx", *map(str, argv)], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=240, **popen)


def _usage_line(p, *words) -> str:
    """Exit 2, exactly one stderr line ``mlx: error: ...`` (no traceback), with ``words`` in it."""
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2, (p.returncode, p.stdout[-1000:], p.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("mlx: error: "), p.stderr[-2000:]
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


OTHER = ["train", "data=sample", "task=0v1", "epochs=1", "pictures=false", "wandb=disabled", "name=ck"]


def _other(**kw) -> list[str]:
    """OTHER with keys replaced (None drops one): each key is given once."""
    d = dict(a.split("=", 1) for a in OTHER[1:]) | kw
    return ["train", *(f"{k}={v}" for k, v in d.items() if v is not None)]


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
    p = _cli_env(*OTHER, f"out={tmp_path}", f"checkpoint_every={every}")
    line = _usage_line(p, str(folder), "another config", "name=")
    assert "task='digits'" in line  # what differs
    assert _tree(folder) == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["ck"]


def test_a_finished_folder_of_the_same_name_is_kept_and_the_new_run_gets_a_suffix(tmp_path):
    assert main([*OTHER, f"out={tmp_path}"]) == 0
    before = _tree(tmp_path / "ck")
    assert main([*OTHER, f"out={tmp_path}", "lr=0.01"]) == 0  # another config, same name
    assert main([*OTHER, f"out={tmp_path}"]) == 0  # the same config again
    assert _tree(tmp_path / "ck") == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["ck", "ck-2", "ck-3"]
    assert json.loads((tmp_path / "ck-2" / "config.json").read_text())["lr"] == 0.01
    assert all((tmp_path / n / "summary.json").is_file() for n in ("ck-2", "ck-3"))


def test_out_is_a_file(tmp_path):
    f = tmp_path / "runs"
    f.write_text("not a folder\n")
    for out in (f, f / "sub"):
        p = _cli_env(*OTHER, f"out={out}")
        _usage_line(p, f"{f}", "is a file", "out=")
        assert f.read_text() == "not a folder\n" and sorted(q.name for q in tmp_path.iterdir()) == ["runs"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_out_is_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        p = _cli_env(*OTHER, f"out={ro}")
        _usage_line(p, str(ro), "not writable", "out=")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_where_no_folder_can_be_made(tmp_path):
    """A folder nobody can make (even root): /proc takes no new entries."""
    p = _cli_env(*OTHER, "out=/proc/mlx-no-such-folder")
    _usage_line(p, "/proc/mlx-no-such-folder", "out=")
    assert not Path("/proc/mlx-no-such-folder").exists()


def test_a_damaged_checkpoint_is_one_line_naming_it_and_what_to_do(tmp_path):
    argv = [*_other(epochs=3, checkpoint_every=1, name="dmg"), f"out={tmp_path}"]
    folder = tmp_path / "dmg"
    folder.mkdir()
    cfg = make_config({"data": "sample", "task": "0v1", "epochs": 3, "checkpoint_every": 1,
                       "pictures": False, "wandb": "disabled", "name": "dmg", "out": str(tmp_path)})
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    (folder / "checkpoint.msgpack").write_bytes(b"\x83\xa5state\xc4\xffcut off by a full disk")
    before = _tree(folder)
    line = _usage_line(_cli_env(*argv), str(folder / "checkpoint.msgpack"), "damaged", "delete it")
    assert "Traceback" not in line and _tree(folder) == before
    (folder / "checkpoint.msgpack").unlink()  # what the line says to do
    p = _cli_env(*argv)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (folder / "summary.json").is_file() and not (folder / "checkpoint.msgpack").exists()


def test_a_bad_wandb_mode_is_refused_before_training(tmp_path):
    p = _cli_env(*_other(wandb=None), f"out={tmp_path}",
                 env=_env(WANDB_MODE="garbage"))
    _usage_line(p, "WANDB_MODE", "garbage", "offline, online, disabled")
    assert list(tmp_path.iterdir()) == []  # before anything was written


def test_an_empty_wandb_mode_is_unset_offline(tmp_path):
    p = _cli_env(*_other(wandb=None), f"out={tmp_path}",
                 env=_env(WANDB_MODE=""))
    assert p.returncode == 0, p.stderr[-2000:]
    s = json.loads((tmp_path / "ck" / "summary.json").read_text())
    assert s["wandb_mode"] == "offline" and list((tmp_path / "ck").glob("wandb/offline-run-*/run-*.wandb"))


def test_files_get_the_users_umask_not_0600(tmp_path):
    """Before: mkstemp's 0600 on every file; now 0666 less the umask, as open() gives."""
    p = _cli_env(*OTHER, f"out={tmp_path}", umask=0o027)
    assert p.returncode == 0, p.stderr[-2000:]
    files = [q for q in (tmp_path / "ck").iterdir() if q.is_file()]
    assert {q.name for q in files} >= {"config.json", "summary.json", "history.csv", "params.msgpack"}
    assert {q.name: oct(q.stat().st_mode & 0o777) for q in files} == {q.name: "0o640" for q in files}


def test_atomic_write_keeps_the_mode_open_would(tmp_path):
    from mlx.track.tracker import atomic_write_bytes, atomic_write_csv
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


def test_a_wandb_failure_after_training_keeps_every_file(tmp_path, capsys, monkeypatch):
    """W&B breaking while the pictures are logged: one warning, and summary.json is written."""
    import wandb

    def broken(*a, **k):
        raise RuntimeError("media store is full")
    monkeypatch.setattr(wandb, "Image", broken)
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert main([*_other(wandb=None, pictures=None), f"out={tmp_path}"]) == 0
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if "W&B" in ln] == [
        ln for ln in err.splitlines() if ln.startswith("mlx: warning: W&B logging failed (RuntimeError")]
    assert "media store is full" in err
    run = tmp_path / "ck"
    for f in ("summary.json", "history.csv", "params.msgpack", "filter.png"):
        assert (run / f).is_file(), f


def test_styles_do_not_depend_on_the_training_seed(monkeypatch):
    """The styles of a digit are found with the data's fixed split_seed, never cfg.seed."""
    from mlx.viz import figures as pictures
    from mlx.viz.run_figures import draw_run_pictures
    from mlx.tasks import apply_task
    from mlx.train import fit
    from _util import sample
    seeds = []
    real = pictures.cluster_styles
    monkeypatch.setattr(pictures, "cluster_styles", lambda x, **kw: seeds.append(kw.get("seed")) or real(x, **kw))
    td = apply_task("4vrest", sample())
    cfg = make_config({"task": "4vrest", "epochs": 1, "seed": 7})
    params, metrics, _ = fit(cfg, td)
    figs = draw_run_pictures(cfg, td, params, metrics)
    assert "styles" in figs and seeds == [cfg.split_seed] == [0]


# ----------------------------------------------------------------------------- W&B

@pytest.fixture(scope="module", autouse=True)
def wandb_offline_fallback(tmp_path_factory):
    """``mlx train wandb=online`` with a key but no reachable server (a closed local port).

    Started when this module starts, in the background: it spends most of its time waiting for
    W&B's init timeout, so the other tests run meanwhile. The W&B tests at the end collect it.
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


def test_a_model_too_big_for_the_device_is_refused_before_anything_is_written(tmp_path):
    p = run_cli("train", "model=mlp", "hidden=[65536,65536]", "data=sample", f"out={tmp_path / 'o'}",
                "wandb=disabled")
    assert_usage_error(p, "GiB", "hidden")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())

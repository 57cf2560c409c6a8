"""`mlx sweep` under hostile input and faults: the sweep folder never escapes out=, a folder
belongs to one sweep, resume after kill -9 keeps every W&B run, outputs agree on "best", sizes
are checked before training, and every bad input is one line with exit 2."""
import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from _util import ROOT, assert_usage_error, run_cli

SMALL = {"method": "grid", "metric": {"name": "test_accuracy", "goal": "maximize"},
         "parameters": {"lr": {"values": [0.1, 0.3]}, "epochs": {"value": 1}, "task": {"value": "0v1"}}}


def _yaml(tmp_path, name="s", **over):
    d = {**SMALL, "name": name, **over}
    p = tmp_path / f"{name.replace('/', '_').replace('.', '_')}.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


def _cli(capsys, *args):
    """mlx's command line in-process (mlx.cli.main, what the `mlx` command runs): (exit code,
    the one 'mlx: error:' line or None, stderr)."""
    from mlx.cli import main
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("mlx: error:")]
    assert "Traceback" not in err and len(lines) <= 1, err
    return code, (lines[0] if lines else None), err


def _usage(capsys, *args, words=()):
    code, line, err = _cli(capsys, *args)
    assert code == 2 and line, err
    for w in words:
        assert w.lower() in line.lower(), (w, line)
    return line


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", ["../../x", "/tmp/mlx-abs-sweep-name", ""])
def test_a_sweep_name_never_escapes_out(tmp_path, name):
    inner = tmp_path / "deep" / "runs"
    inner.mkdir(parents=True)
    y = _yaml(tmp_path, name="placeholder")
    d = yaml.safe_load(y.read_text())
    d["name"] = name
    y.write_text(yaml.safe_dump(d))
    before = _files(tmp_path)
    p = run_cli("sweep", y, "data=sample", f"out={inner}", "wandb=disabled")
    if name == "":  # an empty name falls back to the file's name: a plain folder inside out=
        assert p.returncode == 0, p.stderr[-2000:]
        assert all(str(f).startswith(("deep", y.name)) for f in _files(tmp_path))
        return
    assert_usage_error(p, "not a plain folder name", "allowed")
    assert _files(tmp_path) == before
    assert not os.path.exists("/tmp/mlx-abs-sweep-name")


@pytest.mark.parametrize("name", ["a/b", "..", ".hidden", "x\\y", "a" * 200, "tab\there"])
def test_unsafe_folder_names_are_refused(name):
    from mlx.errors import UsageError
    from mlx.sweep.folder import safe_folder_name
    with pytest.raises(UsageError, match="not a plain folder name"):
        safe_folder_name(name)
    assert safe_folder_name("logreg-vs-mlp_lr.v2") == "logreg-vs-mlp_lr.v2"


def test_name_override_on_the_command_line_is_checked_too(tmp_path):
    p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path / 'o'}", "name=../up")
    assert_usage_error(p, "not a plain folder name")
    assert not (tmp_path / "up").exists()


def test_a_different_sweep_with_the_same_name_is_refused(tmp_path):
    p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert p.returncode == 0, p.stderr[-2000:]
    rows_before = (tmp_path / "s" / "results.csv").read_text()
    other = _yaml(tmp_path, parameters={"lr": {"value": 0.05}, "epochs": {"value": 1}})
    p = run_cli("sweep", other, "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert_usage_error(p, "holds another sweep", "name=")
    assert (tmp_path / "s" / "results.csv").read_text() == rows_before
    # a fixed value that changes the numbers makes another sweep too
    p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", "wandb=disabled", "batch_size=64")
    assert_usage_error(p, "holds another sweep")
    # the same sweep again: resumes (nothing to train), the same rows
    p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert p.returncode == 0 and "2 already done" in p.stdout


def test_a_second_sweep_into_a_locked_folder_stops_with_one_line(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as a running sweep holds it
        p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert_usage_error(p, "another mlx sweep is running", str(folder))
    assert not (folder / "results.jsonl").exists()


def test_rerunning_a_finished_sweep_changes_no_best_output(tmp_path):
    """Ties (the sample's 0v1 accuracies tie often) go to the lowest config index, in every output."""
    y = _yaml(tmp_path, parameters={"lr": {"values": [0.3, 0.5, 1.0]}, "seed": {"values": [0, 1]},
                                    "epochs": {"value": 2}, "task": {"value": "0v1"}, "optimizer": {"value": "sgd"}})
    args = ("sweep", y, "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert run_cli(*args).returncode == 0
    f = tmp_path / "s"
    first = {n: (f / n).read_bytes() for n in ("comparison.md", "best_runs.json", "best_filters.png", "comparison.csv")}
    rows = list(csv.DictReader(open(f / "results.csv")))
    best_acc = max(float(r["test_accuracy"]) for r in rows)
    tied = sorted(int(r["index"]) for r in rows if float(r["test_accuracy"]) == best_acc)
    assert json.loads(first["best_runs.json"])[0].startswith(f"{tied[0]:04d}-")
    p = run_cli(*args)
    assert p.returncode == 0 and "6 already done" in p.stdout
    for n, b in first.items():
        assert (f / n).read_bytes() == b, n


def test_kill_9_then_resume_leaves_exactly_one_complete_wandb_run_per_config(tmp_path):
    from _util import read_wandb_file
    y = _yaml(tmp_path, parameters={"lr": {"values": [0.01, 0.1, 0.3, 1.0]}, "seed": {"values": [0, 1, 2]},
                                    "epochs": {"value": 1}, "task": {"value": "0v1"}})
    cmd = [sys.executable, "-m", "mlx", "sweep", str(y), "data=sample", f"out={tmp_path}", "chunk=2",
           "wandb=offline", "wandb_runs=all"]
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = tmp_path / "s" / "runs"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:  # kill while W&B runs are being written
        if runs.exists() and any(runs.glob("*/wandb/offline-run-*")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    folders = sorted(runs.iterdir())
    assert len(folders) == 12
    for rf in folders:
        assert (rf / "wandb.done").exists(), rf.name
        offline = list(rf.glob("wandb/offline-run-*"))
        assert len(offline) == 1, (rf.name, offline)
        (wf,) = offline[0].glob("run-*.wandb")
        records = list(read_wandb_file(wf))
        kinds = [r.WhichOneof("record_type") for r in records]
        assert "exit" in kinds and kinds.count("history") == 1, (rf.name, kinds)
        # a run logged again after the kill still has its filter (read back from filter.png)
        keys = {i.nested_key[0] if i.nested_key else i.key for r in records
                if r.WhichOneof("record_type") == "history" for i in r.history.item}
        assert "pictures/filter" in keys and (rf / "filter.png").exists(), (rf.name, sorted(keys))


def test_too_big_a_sweep_is_refused_before_training(tmp_path, capsys):
    y = _yaml(tmp_path, parameters={"lr": {"values": [0.1 * (i + 1) for i in range(50)]},
                                    "seed": {"values": list(range(50))}})
    _usage(capsys, "sweep", y, "data=sample", f"out={tmp_path}", "max_configs=1000",
           words=("2,500 configs", "max_configs=1000", "run_cap"))
    assert not (tmp_path / "s").exists()


def test_a_program_too_big_for_the_device_is_refused_with_the_numbers(tmp_path, capsys):
    y = _yaml(tmp_path, parameters={"model": {"value": "mlp"}, "hidden": {"value": [65536, 65536]},
                                    "epochs": {"value": 1}})
    _usage(capsys, "sweep", y, "data=sample", f"out={tmp_path}", "wandb=disabled", words=("GiB", "hidden"))
    assert not (tmp_path / "s" / "results.jsonl").exists()


@pytest.mark.parametrize("extra,env,words", [
    (["round=0"], {}, ["round", ">= 1"]),
    ([], {"MLX_NUM_PROCESSES": "abc"}, ["MLX_NUM_PROCESSES", "integer"]),
    ([], {"WANDB_MODE": "garbage"}, ["WANDB_MODE", "offline, online, disabled"]),
    (["wandb_runs=some"], {}, ["wandb_runs", "all, best, none"]),
    (["order=shared"], {}, ["unknown key 'order'"]),
    (["lr=0.1", "lr=0.2"], {}, ["given twice"]),
])
def test_bad_sweep_options_are_one_line(tmp_path, monkeypatch, capsys, extra, env, words):
    """In-process through mlx.cli.main (the same code the command runs; no JAX start-up each)."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    _usage(capsys, "sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", *extra, words=words)
    assert not (tmp_path / "s" / "results.jsonl").exists()


@pytest.mark.parametrize("lr", ["1.0e+308", "1.0e-60"])
def test_a_learning_rate_outside_float32_is_refused_at_validation(tmp_path, capsys, lr):
    y = tmp_path / "b.yaml"
    y.write_text(f"name: b\nmethod: grid\nparameters:\n  lr: {{values: [0.1, {lr}]}}\n")
    _usage(capsys, "sweep", y, "data=sample", f"out={tmp_path}", words=("float32",))
    assert not (tmp_path / "b").exists()


def test_out_that_is_a_file_or_read_only(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={f}", "wandb=disabled")
    assert_usage_error(p, "cannot create the sweep folder", "out=")
    assert f.read_text() == "x"
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("root without chattr: a read-only folder cannot be made here")
    else:
        ro.chmod(0o555)
    try:
        p = run_cli("sweep", _yaml(tmp_path), "data=sample", f"out={ro}", "wandb=disabled")
        assert_usage_error(p, "out=")
        assert list(ro.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(ro)])
        ro.chmod(0o755)


def test_disk_full_mid_sweep_is_one_line_and_keeps_finished_rows(tmp_path, monkeypatch, capsys):
    import errno

    from mlx.sweep import runner
    from mlx.errors import UsageError
    y = _yaml(tmp_path, parameters={"lr": {"values": [0.01, 0.1, 0.3, 1.0]}, "epochs": {"value": 1},
                                    "task": {"value": "0v1"}})
    real, calls = runner.append_rows, []

    def full_after_one(path, rows):
        calls.append(len(rows))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, rows)

    monkeypatch.setattr(runner, "append_rows", full_after_one)
    with pytest.raises(UsageError, match="No space left on device.*1 finished configs are kept"):
        runner.run_sweep([str(y), "data=sample", f"out={tmp_path}", "wandb=disabled", "chunk=1"], quiet=True)
    monkeypatch.setattr(runner, "append_rows", real)
    folder = runner.run_sweep([str(y), "data=sample", f"out={tmp_path}", "wandb=disabled", "chunk=1"],
                                 quiet=True)
    assert len(list(csv.DictReader(open(folder / "results.csv")))) == 4


def test_a_results_line_lacking_fields_is_skipped_and_that_config_retrained(tmp_path):
    args = ("sweep", _yaml(tmp_path), "data=sample", f"out={tmp_path}", "wandb=disabled")
    assert run_cli(*args).returncode == 0
    f = tmp_path / "s"
    want = (f / "results.csv").read_text()
    lines = (f / "results.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    (f / "results.jsonl").write_text(json.dumps({"config_id": first["config_id"]}) + "\n" + lines[1] + "\n")
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "1 already done" in p.stdout
    stable = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert stable(csv.DictReader(open(f / "results.csv"))) == stable(csv.DictReader(want.splitlines()))


def test_the_chunk_plan_does_not_depend_on_free_memory(tmp_path, monkeypatch):
    """The automatic chunk size is recorded in plan.json; a rerun with less memory keeps it."""
    from mlx.sweep import runner
    y = _yaml(tmp_path, parameters={"lr": {"values": [0.01, 0.1, 0.3]}, "seed": {"values": [0, 1]},
                                    "epochs": {"value": 1}, "task": {"value": "0v1"}})
    folder = runner.run_sweep([str(y), "data=sample", f"out={tmp_path}", "wandb=disabled"], quiet=True)
    plan = json.loads((folder / "plan.json").read_text())
    (folder / "results.jsonl").write_text((folder / "results.jsonl").read_text().splitlines()[0] + "\n")
    want = list(csv.DictReader(open(folder / "results.csv")))
    import mlx.sweep.plan
    monkeypatch.setattr(mlx.sweep.plan, "memory_budget_bytes", lambda *a: 1)  # as if memory were scarce now
    runner.run_sweep([str(y), "data=sample", f"out={tmp_path}", "wandb=disabled"], quiet=True)
    assert json.loads((folder / "plan.json").read_text()) == plan
    got = list(csv.DictReader(open(folder / "results.csv")))
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in got] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in want]


def test_a_huge_int_range_in_a_grid_is_sized_without_being_built(tmp_path, capsys):
    """seed: {min: 0, max: 1e9} used to raise MemoryError while parsing."""
    y = tmp_path / "big.yaml"
    y.write_text("name: big\nmethod: grid\nparameters:\n  seed: {min: 0, max: 1000000000}\n  lr: {value: 0.1}\n")
    _usage(capsys, "sweep", y, "data=sample", f"out={tmp_path}", words=("1,000,000,001 configs", "max_configs="))
    assert not (tmp_path / "big").exists()

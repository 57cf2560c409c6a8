"""The local sweep engine: batches, shared epoch budgets, sharding, hyperband, resume, outputs."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from _util import ROOT, assert_usage_error, run_cli, sample, wandb_history

from mlx.config import make_config
from mlx.tasks import apply_task
from mlx.train import fit

SWEEP = """
name: {name}
method: grid
metric: {{name: test_accuracy, goal: maximize}}
parameters:
  model: {{values: [logreg, mlp]}}
  task: {{value: "0v1"}}
  lr: {{values: [0.01, 0.3, 1000.0]}}
  epochs: {{values: [1, 3]}}
  seed: {{values: [0, 1]}}
  optimizer: {{value: sgd}}
  hidden: {{value: 16}}
{extra}
"""


def _write(tmp_path, name="t", extra=""):
    p = tmp_path / f"{name}.yaml"
    p.write_text(SWEEP.format(name=name, extra=extra))
    return p


def _rows(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    p = run_cli("sweep", _write(tmp), "data=sample", f"out={tmp}", "chunk=4")
    assert p.returncode == 0, p.stderr[-3000:]
    return tmp / "t", p


def test_results_one_row_per_config_with_budgets_from_one_trajectory(swept):
    folder, proc = swept
    rows = _rows(folder)
    assert len(rows) == 2 * 3 * 2 * 2
    assert [int(r["index"]) for r in rows] == list(range(24))
    for r in rows:
        assert r["trajectory"] == "shared"
    by = {(r["model"], float(r["lr"]), int(r["seed"]), int(r["epochs"])): r for r in rows}
    for (m, lr, s, e), r in by.items():
        if e == 3:  # the 1-epoch config reads epoch 1 of the 3-epoch trajectory
            assert by[(m, lr, s, 1)]["test_accuracy"] == r["test_accuracy@1"]
    # the largest lr diverges, the others do not, and it did not poison its batch
    for r in rows:
        assert (r["diverged"] == "True") == (float(r["lr"]) == 1000.0)
    assert float(by[("logreg", 0.3, 0, 3)]["test_accuracy"]) > 0.97
    # a lane equals the same config trained alone
    _, m, _ = fit(make_config({"model": "logreg", "task": "0v1", "lr": 0.3, "epochs": 3,
                               "optimizer": "sgd", "seed": 1}), apply_task("0v1", sample()))
    assert float(by[("logreg", 0.3, 1, 3)]["test_accuracy"]) == pytest.approx(float(m["test_accuracy"][-1]), abs=1e-6)
    assert "24 configs" in proc.stdout and "configs/s" in proc.stdout


def test_outputs_tables_figure_and_wandb_runs_grouped(swept):
    from _util import read_wandb_file
    folder, _ = swept
    for f in ["comparison.md", "comparison.csv", "comparison.png", "best_filters.png", "sweep.json",
              "best_runs.json"]:
        assert (folder / f).is_file(), f
    md = (folder / "comparison.md").read_text()
    assert "| logreg | 0v1 | 3 |" in md and "| mlp | 0v1 | 1 |" in md and "±" in md
    s = json.loads((folder / "sweep.json").read_text())
    assert s["configs"] == 24 and s["diverged"] == 8 and s["trajectories"] == ["shared"]
    runs = sorted((folder / "runs").iterdir())
    assert len(runs) == 24 and all((r / "wandb.done").exists() for r in runs)
    wf = next(runs[0].glob("wandb/offline-run-*/run-*.wandb"))
    recs = [r for r in read_wandb_file(wf) if r.WhichOneof("record_type") == "run"]
    assert recs and recs[0].run.run_group == "t" and recs[0].run.display_name == runs[0].name


def test_report_of_the_sweep(swept):
    folder, _ = swept
    p = run_cli("report", folder)
    assert p.returncode == 0, p.stderr
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2 and "http://" not in html and "https://" not in html


def test_sharded_over_four_devices_equals_one_device(swept, tmp_path):
    folder, _ = swept
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    p = run_cli("sweep", _write(tmp_path), "data=sample", f"out={tmp_path}", "chunk=4",
                "wandb=disabled", env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "4 device(s)" in p.stdout
    a, b = _rows(folder), _rows(tmp_path / "t")
    for ra, rb in zip(a, b):
        assert ra["name"] == rb["name"] and ra["diverged"] == rb["diverged"]
        if ra["diverged"] == "False":
            assert float(ra["test_accuracy"]) == pytest.approx(float(rb["test_accuracy"]), abs=1e-5)


def _stable(folder):
    """results.csv as raw strings, the seconds column aside (everything else must match bytes)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(folder)]


@pytest.mark.parametrize("after_lines", [0, 6, 12])
def test_kill_9_mid_sweep_then_rerun_gives_the_same_results(swept, tmp_path, after_lines):
    """kill -9 once results.jsonl holds ``after_lines`` rows (0: as soon as the plan is written),
    then the same command: results.csv equals the uninterrupted run's with the same chunk size,
    byte for byte but the seconds column. Wherever the kill lands (even after the end) this must
    hold, so nothing here depends on timing."""
    y = _write(tmp_path)
    # the reference (`swept`) ran with W&B offline; W&B never changes a number
    cmd = [sys.executable, "-m", "mlx", "sweep", str(y), "data=sample", f"out={tmp_path}", "chunk=4",
           "wandb=disabled"]
    env = dict(os.environ, WANDB_MODE="offline")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = tmp_path / "t"
    jsonl, plan = folder / "results.jsonl", folder / "plan.json"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if plan.exists() and (after_lines == 0 or
                              jsonl.exists() and len(jsonl.read_text().splitlines()) >= after_lines):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(jsonl.read_text().splitlines()) if jsonl.exists() else 0
    if done_before < 24:
        assert not (folder / "results.csv").exists()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert " already done" in p.stdout
    assert _stable(folder) == _stable(swept[0])
    # every config's per-epoch history too, byte for byte
    assert (folder / "history.csv").read_text() == (swept[0] / "history.csv").read_text()


def test_successive_halving_drops_the_worst_and_reports_savings(tmp_path):
    y = _write(tmp_path, "hb", "early_terminate: {type: hyperband, min_iter: 1, eta: 2}")
    p = run_cli("sweep", y, "data=sample", f"out={tmp_path}", "wandb=disabled", "verify_hyperband=true",
                "chunk=6")
    assert p.returncode == 0, p.stderr[-3000:]
    rows = _rows(tmp_path / "hb")
    stopped = [r for r in rows if r["stopped_early"] == "True"]
    # rungs at epochs 1 and 2 (min_iter 1, eta 2); each cut keeps the best half of a batch
    assert stopped and all(r["epochs"] == "3" and r["epochs_trained"] in ("1", "2") for r in stopped)
    assert any(r["epochs_trained"] == "1" for r in stopped)
    s = json.loads((tmp_path / "hb" / "sweep.json").read_text())
    assert s["hyperband_config_epochs_saved"] > 0 and s["hyperband_best_kept"] is True
    assert "hyperband: saved" in p.stdout


def test_bayes_in_rounds_respects_run_cap(tmp_path):
    y = tmp_path / "b.yaml"
    y.write_text("""
name: b
method: bayes
run_cap: 6
metric: {name: test_accuracy, goal: maximize}
parameters:
  task: {value: "0v1"}
  lr: {distribution: log_uniform_values, min: 0.001, max: 1.0}
  epochs: {value: 2}
""")
    p = run_cli("sweep", y, "data=sample", f"out={tmp_path}", "wandb=disabled", "round=3")
    assert p.returncode == 0, p.stderr[-3000:]
    rows = _rows(tmp_path / "b")
    assert len(rows) == 6 and len({r["lr"] for r in rows}) == 6
    assert all(0.001 <= float(r["lr"]) <= 1.0 for r in rows)


@pytest.mark.parametrize("text,words", [
    ("method: grid\nparameters: {lr: {values: [0.1]}\n", ["yaml"]),
    ("method: hyperopt\nparameters: {lr: {value: 0.1}}\n", ["hyperopt", "grid"]),
    ("method: grid\nparameters: {learning_rate: {value: 0.1}}\n", ["learning_rate", "lr"]),
    ("method: grid\nparameters: {model: {values: [logreg, cnn]}}\n", ["cnn", "logreg, mlp"]),
    ("method: grid\nparameters: {lr: {values: []}}\n", ["empty"]),
    ("method: random\nrun_cap: 3\nparameters: {lr: {distribution: log_uniform_values}}\n", ["min", "max"]),
])
def test_bad_sweep_files_fail_before_training(tmp_path, text, words):
    y = tmp_path / "bad.yaml"
    y.write_text(text)
    t0 = time.time()
    p = run_cli("sweep", y, "data=sample", f"out={tmp_path}")
    assert_usage_error(p, *words)
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob("*/results.jsonl"))
    del t0


def test_unknown_sweep_option(tmp_path):
    p = run_cli("sweep", _write(tmp_path), "chunks=3")
    assert_usage_error(p, "unknown key 'chunks'", "chunk")


def test_two_processes_with_jax_distributed_equal_one_process(swept, tmp_path):
    """Two local CPU processes (2 devices each) share the config axis through jax.distributed."""
    import socket
    folder, _ = swept
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    y = _write(tmp_path)
    env = dict(os.environ, WANDB_MODE="offline", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    procs = [subprocess.Popen([sys.executable, "-m", "mlx", "sweep", str(y), "data=sample", f"out={tmp_path}",
                               "chunk=4", "wandb=disabled", f"coordinator=127.0.0.1:{port}",
                               "num_processes=2", f"process_id={i}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert "4 device(s)" in outs[0][0] and "sweep t" not in outs[1][0]  # process 1 reports nothing
    a, b = _rows(folder), _rows(tmp_path / "t")
    assert [r["name"] for r in a] == [r["name"] for r in b]
    for ra, rb in zip(a, b):
        assert ra["diverged"] == rb["diverged"]
        if ra["diverged"] == "False":
            assert float(ra["test_accuracy"]) == pytest.approx(float(rb["test_accuracy"]), abs=1e-5)


def _history_values(wandb_file):
    from _util import read_wandb_file
    out = {}
    for r in read_wandb_file(wandb_file):
        if r.WhichOneof("record_type") == "history":
            for i in r.history.item:
                out["/".join(i.nested_key) or i.key] = i.value_json
        if r.WhichOneof("record_type") == "run":
            out["_job_type"] = r.run.job_type
    return out


def test_wandb_runs_carry_the_sweeps_pictures(tmp_path):
    """Every config's W&B run has its filter image; the summary run (job type summary) has the
    comparison figure, one table row per config, decision boundaries and the styles of a 4."""
    y = tmp_path / "p.yaml"
    y.write_text("name: p\nmethod: grid\nparameters:\n  model: {values: [logreg, mlp]}\n"
                 "  task: {value: 4vrest}\n  lr: {value: 0.1}\n  epochs: {values: [1, 3]}\n"
                 "  hidden: {value: 16}\n  optimizer: {value: sgd}\n")
    p = run_cli("sweep", y, "data=sample", f"out={tmp_path}", "wandb=offline", "wandb_runs=all")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "warning" not in p.stderr, p.stderr
    folder = tmp_path / "p"
    runs = sorted((folder / "runs").iterdir())
    assert len(runs) == 4
    for rf in runs:
        (wf,) = rf.glob("wandb/offline-run-*/run-*.wandb")
        h = _history_values(wf)
        assert "pictures/filter/_type" in h and "image-file" in h["pictures/filter/_type"], (rf.name, sorted(h))
        assert (rf / "filter.png").stat().st_size > 0
        # the best logreg of each epoch budget (one per budget here) also has its filter after
        # every epoch, at that epoch's step, as mlx train logs it; the MLP runs have no such filter
        steps = [row["_step"] for row in wandb_history(rf) if "pictures/filter_by_epoch/_type" in row]
        assert steps == (list(range(1, int(rf.name.split("-e")[1][0]) + 1)) if "-logreg-" in rf.name else []), \
            (rf.name, steps)
    (wf,) = (folder / "summary").glob("wandb/offline-run-*/run-*.wandb")
    h = _history_values(wf)
    assert h["_job_type"] == "summary"
    assert h["configs/nrows"] == "4"
    keys = {k.split("/")[1] for k in h if k.startswith("pictures/")}
    assert {"comparison", "best_filters", "styles_4vrest", "style_recall_4vrest",
            "decision_boundary_logreg-4vrest", "decision_boundary_mlp-4vrest"} <= keys, sorted(keys)

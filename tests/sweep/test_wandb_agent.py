"""`wandb agent`'s own command line, end to end: every W&B command macro runs `mlx train`.

The argv is built by wandb's agent itself: ``wandb.wandb_agent.Agent._command_run`` (wandb 0.31,
``wandb/wandb_agent.py``), called for real on a run command as the W&B server sends it
(``{"type": "run", "run_id", "program", "args": {key: {"value": v}}}``), with only the process
launcher (``AgentProcess``) replaced by one that records the command and its environment. The
command then runs as the agent would run it (same argv, same environment: WANDB_SWEEP_ID,
WANDB_RUN_ID, WANDB_SWEEP_PARAM_PATH, WANDB_DIR; W&B offline), and the run's ``config.json`` and
its W&B config (read back from the offline ``run-<id>.wandb``) must both hold the sweep's config.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx.errors import UsageError
from mlx.sweep.search import generate
from mlx.sweep.spec import parse_sweep
from _util import ROOT, read_wandb_file

wandb_agent = pytest.importorskip("wandb.wandb_agent")
import wandb  # noqa: E402

TRAIN = ["${env}", "${interpreter}", "-m", "mlx", "train"]
#: The script W&B's `program:` can name (the proposed experiments/train.py, written to tmp here).
SCRIPT = '''"""python experiments/train.py [key=value ...]: `mlx train` as a script (W&B's program:)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlx.cli import entry  # noqa: E402

entry(["train", *sys.argv[1:]])
'''


def sweep_config(out: Path, **extra) -> dict:
    params = {"model": {"value": "logreg"}, "task": {"value": "0v1"}, "data": {"value": "sample"},
              "epochs": {"value": 1}, "lr": {"value": 0.05}, "seed": {"value": 1},
              "hidden": {"value": [16, 8]}, "pictures": {"value": False},
              "batch_size": {"value": 256}, "out": {"value": str(out)}, "name": {"value": "r"}}
    params.update(extra.pop("parameters", {}))
    return {"method": "grid", "metric": {"name": "test_loss", "goal": "minimize"},
            "parameters": params, **extra}


class RecordingProcess:
    """Stands in for wandb_agent.AgentProcess: records what the agent would launch."""

    launched: list = []

    def __init__(self, env=None, command=None, function=None, run_id=None, in_jupyter=None,
                 forward_signals=False):
        env = dict(env)
        env.pop(wandb.env.SERVICE, None)  # as AgentProcess does before Popen
        RecordingProcess.launched.append((list(command), env))

    def poll(self):
        return 0


def agent_command(monkeypatch, tmp_path, sweep: dict, config: dict, run_id="run1"):
    """(argv, env) that wandb's agent builds for ``config`` under ``sweep``."""
    monkeypatch.setattr(wandb_agent, "AgentProcess", RecordingProcess)
    RecordingProcess.launched = []
    monkeypatch.chdir(tmp_path)
    for k, v in ((wandb.env.DIR, str(tmp_path)), (wandb.env.SWEEP_ID, "sweep1"),
                 (wandb.env.RUN_ID, run_id), (wandb.env.SWEEP_PARAM_PATH, "")):
        monkeypatch.setenv(k, v)  # the agent sets these in os.environ; restored after the test
    agent = wandb_agent.Agent(api=None, queue=None, sweep_id="sweep1")
    if isinstance(sweep.get("command"), list) and sweep["command"]:
        agent._sweep_command = sweep["command"]  # as Agent.run reads it from the sweep config
    agent._command_run({"type": "run", "run_id": run_id, "program": sweep.get("program"),
                        "args": {k: {"value": v} for k, v in config.items()}})
    (argv, env), = RecordingProcess.launched
    return argv, env


def wandb_config(run_folder: Path) -> dict:
    files = sorted(run_folder.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    out = {}
    for rec in read_wandb_file(files[0]):
        kind = rec.WhichOneof("record_type")
        items = (rec.run.config.update if kind == "run" else
                 rec.config.update if kind == "config" else [])
        for i in items:
            out["/".join(i.nested_key) or i.key] = json.loads(i.value_json)
    return out


def run_agent_command(monkeypatch, tmp_path, sweep: dict, cwd=ROOT, extra_env=None):
    spec = parse_sweep(sweep)  # the file `mlx sweep` accepts
    (config,) = generate(spec)
    argv, env = agent_command(monkeypatch, tmp_path, sweep, config)
    env = {**env, "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
           "WANDB_MODE": "offline", "WANDB_SILENT": "true", "TF_CPP_MIN_LOG_LEVEL": "3",
           **(extra_env or {})}
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (argv, r.stderr[-3000:])
    folder = Path(config["out"]) / config["name"]
    saved = json.loads((folder / "config.json").read_text())
    logged = wandb_config(folder)
    for k, v in config.items():
        assert saved[k] == v, (k, saved[k], v, argv)
        assert logged[k] == v, (k, logged[k], v, argv)
    assert {k: logged[k] for k in saved} == saved  # W&B shows what the run used, every key
    return argv, saved


MACROS = ["${args}", "${args_no_hyphens}", "${args_no_equals}", "${args_json}",
          "${args_json_file}"]


@pytest.mark.parametrize("macro", MACROS)
def test_macro_runs_mlx_train(monkeypatch, tmp_path, macro):
    argv, _ = run_agent_command(monkeypatch, tmp_path,
                                sweep_config(tmp_path / "runs", command=TRAIN + [macro]))
    assert argv[:5] == ["/usr/bin/env", "python", "-m", "mlx", "train"]
    if macro == "${args_json}":
        assert len(argv) == 6 and json.loads(argv[5])["pictures"] is False
    if macro == "${args_json_file}":  # W&B: $WANDB_DIR/wandb/sweep-<id>/config-<run>.json
        assert argv[5:] == [str(tmp_path / "wandb" / "sweep-sweep1" / "config-run1.json")]


def test_args_no_boolean_flags_true_flag_and_envvar(monkeypatch, tmp_path):
    monkeypatch.setenv("MLX_TEST_PROJECT", "agent-proj")
    sweep = sweep_config(tmp_path / "runs", parameters={"pictures": {"value": True}},
                         command=TRAIN + ["${args_no_boolean_flags}",
                                          "wandb_project=${envvar:MLX_TEST_PROJECT}"])
    argv, saved = run_agent_command(monkeypatch, tmp_path, sweep)
    assert "--pictures" in argv and "wandb_project=agent-proj" in argv
    assert saved["wandb_project"] == "agent-proj"


def test_args_no_boolean_flags_with_a_false_default_true_key_is_refused():
    sweep = sweep_config(Path("runs"), command=TRAIN + ["${args_no_boolean_flags}"])
    with pytest.raises(UsageError) as e:
        parse_sweep(sweep)
    assert "pictures" in str(e.value) and "${args_no_hyphens}" in str(e.value)
    sweep["parameters"]["pictures"] = {"values": [True, False]}
    with pytest.raises(UsageError):
        parse_sweep(sweep)
    sweep["command"] = TRAIN + ["${args_no_hyphens}"]
    parse_sweep(sweep)


@pytest.mark.parametrize("program", ["mlx", "mlx/__main__.py"])
def test_default_command_with_program(monkeypatch, tmp_path, program):
    """No command: W&B's ``${env} ${interpreter} ${program} ${args}``, run from the checkout."""
    argv, _ = run_agent_command(monkeypatch, tmp_path,
                                sweep_config(tmp_path / "runs", program=program))
    assert argv[:3] == ["/usr/bin/env", "python", program] and argv[3].startswith("--")


def test_default_command_with_a_script(monkeypatch, tmp_path):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "train.py").write_text(SCRIPT)
    argv, _ = run_agent_command(monkeypatch, tmp_path,
                                sweep_config(tmp_path / "runs", program="experiments/train.py"),
                                cwd=tmp_path)
    assert argv[2] == "experiments/train.py"


# ---------------------------------------------------------------------- Ctrl-C

# `wandb agent` passes Ctrl-C on to its run (forward_signals) and a user presses it in
# `mlx train`: either way the run must stop, say so and exit 130, wherever the signal lands (JAX's
# garbage-collector callbacks used to swallow it now and then: "Exception ignored ...").
MOMENTS = ["config.json", "history.csv", "filter_epochs", "wandb"]


def _interrupt_at(tmp_path, i, marker, delay):
    import signal
    import time
    out = tmp_path / f"ctrl-c-{i}"
    log_out, log_err = open(tmp_path / f"{i}.out", "w"), open(tmp_path / f"{i}.err", "w")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlx", "train", "data=sample", "epochs=4", f"out={out}", "name=r"],
        cwd=ROOT, env=env, stdout=log_out, stderr=log_err,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not inherited ignored
    try:
        deadline = time.monotonic() + 240  # a guard against hanging, not a timing assertion
        while not (out / "r" / marker).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        log_out.close()
        log_err.close()
    return alive, rc, (tmp_path / f"{i}.err").read_text()


def test_ctrl_c_always_stops_with_130(tmp_path):
    import random
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    for i, marker in enumerate(MOMENTS + [rng.choice(MOMENTS)]):
        delay = rng.uniform(0, 0.25)
        alive, rc, err = _interrupt_at(tmp_path, i, marker, delay)
        where = f"seed {seed}, try {i}: SIGINT {delay:.3f}s after {marker} appeared"
        assert alive, f"{where}: the run had already ended; {err[-2000:]}"
        assert rc == 130, f"{where}: exit {rc}; {err[-3000:]}"
        assert err.strip().endswith("mlx: interrupted"), (where, err[-3000:])
        assert "Traceback" not in err and "Exception ignored" not in err, (where, err[-3000:])


SWALLOWED = '''
import gc, sys, time
import mlx.cli as cli

def spin(argv):
    fired = []
    def callback(phase, info):  # as a JAX GC callback would meet Ctrl-C
        if not fired:
            fired.append(1)
            raise KeyboardInterrupt
    gc.callbacks.append(callback)
    gc.collect()  # the interruption is swallowed here ("Exception ignored ...")
    print("swallowed", flush=True)
    for _ in range(5000):  # the command goes on, about 5 s, unless the interruption sticks
        time.sleep(0.001)
    print("finished", flush=True)
    return 0

cli.COMMANDS["spin"] = spin
cli.entry(["spin"])
'''


def _run_with_default_sigint(script: str):
    """python -c script in the project root with SIGINT at its default: a suite started with
    SIGINT ignored (nohup, `&`) must not pass that on, because mlx leaves an ignored SIGINT so."""
    import signal
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_ctrl_c_swallowed_by_a_gc_callback_still_stops():
    r = _run_with_default_sigint(SWALLOWED)
    assert r.returncode == 130, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.split() == ["swallowed"] and r.stderr.strip() == "mlx: interrupted", (r.stdout, r.stderr)


IN_CALLBACK = '''
import os, signal
import jax, jax.numpy as jnp
import mlx.cli as cli

def spin(argv):
    def progress(x):  # as mlx train's per-epoch progress callback would meet Ctrl-C
        os.kill(os.getpid(), signal.SIGINT)
    jax.block_until_ready(jax.jit(lambda x: (jax.debug.callback(progress, x), x + 1)[1])(jnp.ones(2)))
    print("finished", flush=True)
    return 0

cli.COMMANDS["spin"] = spin
cli.entry(["spin"])
'''


def test_ctrl_c_inside_a_jax_host_callback_still_exits_130_without_a_traceback():
    """JAX turns a KeyboardInterrupt raised in a host callback into a JaxRuntimeError."""
    r = _run_with_default_sigint(IN_CALLBACK)
    assert r.returncode == 130, (r.returncode, r.stdout, r.stderr[-3000:])
    assert "finished" not in r.stdout and r.stderr.strip().endswith("mlx: interrupted"), r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]

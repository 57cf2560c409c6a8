"""mlx.sweep.command: W&B's agent command macros, checked when the file is read and expanded
with W&B's formatting; the sweep.yaml command, expanded as the agent would, trains a config.
(tests/sweep/test_wandb_agent.py runs the commands wandb's own agent builds.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx.config import config_from_argv, make_config
from mlx.sweep.command import command_args, expand_command
from mlx.sweep.search import generate
from mlx.sweep.spec import load_sweep, parse_sweep
from _spec_helpers import spec, usage_error
from _util import ROOT


BAD = [
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "command": ["${interpreter}", "${arg}"]},
     ["unknown command macro '${arg}'", "${args_no_hyphens}"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "command": "python train.py"},
     ["command must be a non-empty list"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "command": [True]},
     ["command items must be text"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "command": ["--x=${args}"]},
     ["a macro must be a whole item"]),
]


@pytest.mark.parametrize("d,words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_commands_raise_one_line(d, words):
    msg = usage_error(parse_sweep, d)
    for w in words:
        assert w in msg, (w, msg)


CFG = {"lr": 0.0001, "hidden": [512, 256], "pictures": False, "model": "mlp", "epochs": 3}


def test_expand_command_macros(tmp_path):
    s = spec({"lr": {"value": 0.1}}, command=["${env}", "${interpreter}", "-m", "mlx", "train",
                                                "${args_no_hyphens}"])
    assert expand_command(s, CFG, interpreter="python") == [
        "/usr/bin/env", "python", "-m", "mlx", "train",
        "lr=0.0001", "hidden=[512, 256]", "pictures=False", "model=mlp", "epochs=3"]
    s = spec({"lr": {"value": 0.1}})  # no command: W&B's ${env} ${interpreter} ${program} ${args}
    assert expand_command(s, CFG, interpreter="py", env=()) == [
        "py", "-m", "mlx", "train",
        "--lr=0.0001", "--hidden=[512, 256]", "--pictures=False", "--model=mlp", "--epochs=3"]
    s = spec({"lr": {"value": 0.1}}, program="train.py",
             command=["${interpreter}", "${program}", "${args_json}", "${args_no_boolean_flags}"])
    argv = expand_command(s, {**CFG, "download": True}, interpreter="py")
    assert argv[:2] == ["py", "train.py"] and json.loads(argv[2]) == {**CFG, "download": True}
    assert argv[3:] == ["--lr=0.0001", "--hidden=[512, 256]", "--model=mlp", "--epochs=3",
                        "--download"]
    s = spec({"lr": {"value": 0.1}}, command=["x", "${args_json_file}", "--tag=${envvar:MLX_T}"])
    os.environ["MLX_T"] = "abc"
    try:
        argv = expand_command(s, CFG, args_json_dir=str(tmp_path))
    finally:
        del os.environ["MLX_T"]
    assert argv[0] == "x" and argv[2] == "--tag=abc"
    assert json.loads(Path(argv[1]).read_text()) == CFG and Path(argv[1]).parent == tmp_path
    assert command_args({"lr": 1e-05})["args_no_equals"] == ["--lr", "1e-05"]


def test_config_parser_accepts_wandb_formats():
    cfg = {**CFG, "label_threshold": None, "lr": 1e-05, "weight_decay": 0.0, "seed": 2}
    want = make_config(cfg)
    for macro in ("args_no_hyphens", "args"):
        assert config_from_argv(command_args(cfg)[macro]) == want


def test_sweep_yaml_command_runs(tmp_path):
    """The sweep.yaml command, expanded as W&B's agent would, trains one small config."""
    s = load_sweep(ROOT / "sweep.yaml")
    cfg = {**generate(s)[0], "model": "logreg", "task": "0v1", "epochs": 1, "data": "sample",
           "out": str(tmp_path), "wandb": "disabled", "pictures": False}
    argv = expand_command(s, cfg)
    assert argv[:5] == ["/usr/bin/env", sys.executable, "-m", "mlx", "train"]
    assert "pictures=False" in argv and f"out={tmp_path}" in argv
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "disabled",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summaries = list(tmp_path.glob("*/summary.json"))
    assert len(summaries) == 1, list(tmp_path.iterdir())
    assert json.loads((summaries[0].parent / "config.json").read_text())["lr"] == cfg["lr"]

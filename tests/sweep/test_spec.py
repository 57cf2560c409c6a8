"""mlx.sweep.spec: W&B sweep files read and validated offline, in parity with W&B's schema (the
top-level keys, method, metric, run_cap, early_terminate, the keys accepted and noted); the
parameters, the configs and the command have their own tests beside this one."""
import json
import math
import subprocess
import sys

import pytest

from mlx.config import make_config
from mlx.sweep.hyperband import rungs
from mlx.sweep.search import generate
from mlx.sweep.spec import SweepSpec, load_sweep, parse_sweep
from _spec_helpers import spec, usage_error
from _util import ROOT


# ---------------------------------------------------------------------- the default sweep.yaml


def test_default_sweep_yaml_grid():
    s = load_sweep(ROOT / "sweep.yaml")
    assert isinstance(s, SweepSpec) and s.method == "grid" and s.name
    assert s.metric == {"name": "test_accuracy", "goal": "maximize"}
    assert s.command == ["${env}", "${interpreter}", "-m", "mlx", "train", "${args_no_hyphens}"]
    p = s.parameters
    assert p["model"].values == ("logreg", "mlp") and p["task"].values == ("0v1", "4vrest")
    lrs = p["lr"].values
    assert len(lrs) >= 6 and all(isinstance(x, float) for x in lrs) and lrs == tuple(sorted(lrs))
    assert all(math.isclose(b / a, 10) for a, b in zip(lrs, lrs[1:]))  # log spaced
    assert p["epochs"].values == (1, 5, 20) and p["seed"].values == (0, 1, 2)
    assert {n: p[n].value for n in ("batch_size", "schedule", "data")} == \
        {"batch_size": 128, "schedule": "constant", "data": "auto"}
    assert p["optimizer"].kind == "value"
    configs = generate(s)
    assert len(configs) == 2 * 2 * len(lrs) * 3 * 3
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == len(configs)
    for c in configs:
        make_config(c)
    # W&B's order: sorted keys, the last one (task) varies fastest.
    assert list(configs[0]) == sorted(configs[0])
    assert (configs[0]["task"], configs[1]["task"]) == ("0v1", "4vrest")
    assert configs[0]["lr"] == lrs[0] and configs[-1]["lr"] == lrs[-1]
    assert rungs(s, 20) == []
    assert len(generate(s, count=10)) == 10


# ---------------------------------------------------------------------- bad input


BAD = [
    ({"method": "grid", "paramters": {}}, ["unknown top-level key 'paramters'", "parameters",
                                            "allowed: program, method"]),
    ({"method": "hyperopt", "parameters": {"lr": {"value": 0.1}}},
     ["unknown method 'hyperopt'", "allowed: grid, random, bayes"]),
    ({"parameters": {"lr": {"value": 0.1}}}, ["missing method", "grid, random, bayes"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "metric": {"name": "test_accuracy",
                                                                          "goal": "maximise"}},
     ["goal 'maximise'", "allowed: maximize, minimize"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "metric": {"name": "val_loss"}},
     ["unknown metric name 'val_loss'", "test_accuracy, test_loss, train_loss, train_accuracy"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "run_cap": 0},
     ["run_cap must be a positive integer"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "run_cap": 2.5},
     ["run_cap must be a positive integer"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "early_terminate": {"type": "median"}},
     ["early_terminate type 'median'", "allowed: hyperband"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "early_terminate": {"type": "hyperband"}},
     ["needs min_iter", "max_iter and s"]),
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}},
      "early_terminate": {"type": "hyperband", "max_iter": 27}}, ["needs min_iter", "max_iter and s"]),
    (["method", "grid"], ["must be a mapping"]),
    (None, ["must be a mapping", "empty file"]),
]


@pytest.mark.parametrize("d,words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_sweeps_raise_one_line(d, words):
    msg = usage_error(parse_sweep, d)
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("text,words", [
    ("method: grid\nparameters:\n  lr: {values: [0.1, 0.2}\n", ["malformed YAML", "line 3"]),
    ("method: grid\nparameters:\n  lr: {value: 0.1}\n  lr: {value: 0.2}\n",
     ["malformed YAML", "line 4", "duplicate key 'lr'"]),
    ("- method\n- grid\n", ["bad.yaml", "must be a mapping"]),
    ("", ["must be a mapping"]),
    ("method: grid\nparameters:\n  lr: {values: [0.1]}\n  modle: {value: mlp}\n",
     ["bad.yaml", "unknown parameter 'modle'", "did you mean 'model'"]),
])
def test_bad_files(tmp_path, text, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    msg = usage_error(load_sweep, p)
    for w in words:
        assert w in msg, (w, msg)
    assert "not found" in usage_error(load_sweep, tmp_path / "missing.yaml")


def test_name_defaults_to_file_stem(tmp_path):
    p = tmp_path / "my-sweep.yaml"
    p.write_text("method: random\nrun_cap: 3\nparameters:\n  lr: {value: 0.1}\n")
    s = load_sweep(p)
    assert s.name == "my-sweep" and s.run_cap == 3
    assert s.metric == {"name": "test_accuracy", "goal": "maximize"}
    # W&B's default goal when a metric is given without one:
    assert spec({"lr": {"value": 0.1}}, metric={"name": "test_loss"}).metric["goal"] == "minimize"


# ---------------------------------------------------------------------- parity with W&B's schema

LR = {"lr": {"value": 0.1}}


@pytest.mark.parametrize("d,words", [
    # W&B refuses the exponent forms (src/sweeps/params.py PARAM_DEPRECATION_MAP)
    ({"method": "random", "parameters": {"lr": {"distribution": "log_uniform", "min": -9, "max": 0}}},
     ["lr uses log_uniform", "base-e exponents", "Use log_uniform_values"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "q_log_uniform", "min": -9, "max": 0}}},
     ["lr uses q_log_uniform", "q_log_uniform_values"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "inv_log_uniform", "min": 0, "max": 9}}},
     ["lr uses inv_log_uniform", "inv_log_uniform_values"]),
    # W&B's engine: bayes_search.py and hyperband_stopping.py need metric
    ({"method": "bayes", "parameters": LR}, ["method bayes needs a metric", "Bayesian search requires"]),
    ({"method": "grid", "parameters": LR, "early_terminate": {"type": "hyperband", "min_iter": 1}},
     ["hyperband needs a metric", "Hyperband stopping requires"]),
    # schema.json / cfg.py
    ({"method": "grid", "parameters": LR, "metrics": [{"name": "test_loss"}, {"name": "train_loss"}]},
     ["metrics requires method custom"]),
    ({"method": "grid", "parameters": LR, "metric": {"name": "test_loss"}, "metrics": []},
     ["metric and metrics cannot both be set"]),
    ({"method": "grid", "parameters": LR, "scheduler": {"engine": "optuna"}},
     ["scheduler.engine 'optuna' is not supported"]),
    ({"method": "grid", "parameters": LR, "scheduler": {"engine": "wandb"}, "metric": {"name": "test_loss"},
      "early_terminate": {"type": "hyperband", "min_iter": 1}}, ["early_terminate cannot be used together"]),
    ({"method": "grid", "parameters": LR, "controller": {"type": "remote"}},
     ["controller type 'remote'", "local, cloud"]),
    ({"method": "grid", "parameters": LR, "controller": "local"}, ["controller must be a mapping"]),
    ({"method": "grid", "parameters": LR, "kind": "job"}, ["kind must be 'sweep'"]),
    ({"method": "grid", "parameters": LR, "job": 3}, ["job must be text"]),
    ({"method": "grid", "parameters": LR, "metric": {"name": "test_loss", "impute_while_running": "no"}},
     ["impute_while_running 'no'", "latest, best, worst, false"]),
    ({"method": "grid", "parameters": LR, "metric": {"name": "test_loss"},
      "early_terminate": {"type": "hyperband", "max_iter": 2, "s": 1}}, ["no bands", "Bands must be"]),
    ({"method": "grid", "parameters": LR, "metric": {"name": "test_loss"},
      "early_terminate": {"type": "hyperband", "max_iter": 9, "min_iter": 1}}, ["max_iter needs s"]),
    # cannot run offline (W&B runs it on its side)
    ({"method": "custom", "parameters": LR}, ["method custom", "allowed here: grid, random, bayes"]),
    ({"method": "grid", "parameters": LR, "scheduler": {"engine": "wandb", "source": "s.py"}},
     ["scheduler source", "offline"]),
    # nested parameters: refused with the flat form
    ({"method": "grid", "parameters": {"train": {"parameters": {"lr": {"values": [0.1, 0.01]},
                                                              "epochs": {"value": 2}}}}},
     ["parameter train: nested parameters", "parameters: {lr: {values: [0.1, 0.01]}, epochs: {value: 2}}"]),
])
def test_refused_like_wandb(d, words):
    msg = usage_error(parse_sweep, d)
    for w in words:
        assert w in msg, (w, msg)


def test_accepted_like_wandb_with_one_note(tmp_path):
    d = {"method": "grid", "parameters": LR, "controller": {"type": "cloud"}, "job": "me/p/job:v1",
         "image_uri": "docker.io/me/img", "description": "d", "apiVersion": "v1", "kind": "sweep",
         "scheduler": {"engine": "wandb"}, "program": "mlx/__main__.py"}
    s = parse_sweep(d)
    assert s.notes == ("accepted and ignored here (no effect on an offline run): description, "
                       "controller, job, image_uri, apiVersion, kind, scheduler",)
    assert generate(s) == [{"lr": 0.1}]
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps(d))
    seen = []
    load_sweep(p, note=seen.append)
    assert seen == ["s.yaml: " + s.notes[0]]
    r = subprocess.run([sys.executable, "-c", f"from mlx.sweep.spec import load_sweep; load_sweep({str(p)!r})"],
                       capture_output=True, text=True, check=True)
    assert r.stderr.strip() == "mlx: note: s.yaml: " + s.notes[0]
    assert parse_sweep({"method": "grid", "parameters": LR, "program": "mlx"}).notes == ()
    # W&B's agent runs its default command for an empty command list
    assert parse_sweep({"method": "grid", "parameters": LR, "command": []}).command is None
    assert "no program" in parse_sweep({"method": "grid", "parameters": LR}).notes[0]
    # grid and random without metric: the local default; hyperband/bayes with metric: fine
    et = parse_sweep({"method": "bayes", "parameters": {"lr": {"min": 0.01, "max": 0.1}},
                      "metric": {"name": "test_loss"},
                      "early_terminate": {"type": "hyperband", "min_iter": 1, "strict": False}})
    assert (et.eta, et.strict, et.goal) == (3, False, "minimize")


def test_example_hyperband_sweep_file():
    s = load_sweep(ROOT / "experiments" / "sweeps" / "logreg_hyperband.yaml")
    assert len(generate(s)) == 9 and rungs(s, 9) == [1, 3]
    assert (s.eta, s.strict, s.goal, s.command, s.notes) == (3, True, "minimize", None, ())

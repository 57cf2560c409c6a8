"""mlx.sweep.spec: W&B sweep files read, validated and expanded offline (grid/random/bayes,
hyperband rungs, the agent's command line)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx.config import config_from_argv, make_config
from mlx.errors import UsageError
from mlx.sweep.spec import (Proposer, SweepSpec, command_args, expand_command, generate,
                            hyperband_rungs, load_sweep, parse_sweep)

ROOT = Path(__file__).resolve().parents[1]
MAX = {"name": "test_accuracy", "goal": "maximize"}


def spec(parameters, **top):
    return parse_sweep({"method": top.pop("method", "grid"), "parameters": parameters, **top})


def usage_error(fn, *a, **kw) -> str:
    with pytest.raises(UsageError) as e:
        fn(*a, **kw)
    msg = str(e.value)
    assert "\n" not in msg and msg.strip() == msg
    return msg


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
    assert hyperband_rungs(s, 20) == []
    assert len(generate(s, count=10)) == 10


# ---------------------------------------------------------------------- grid semantics


def test_grid_order_constants_ranges_and_duplicates():
    s = spec({"seed": {"values": [1, 2]}, "model": {"values": ["logreg", "mlp"]},
              "batch_size": {"value": 64}})
    assert [(c["model"], c["seed"]) for c in generate(s)] == \
        [("logreg", 1), ("logreg", 2), ("mlp", 1), ("mlp", 2)]
    assert all(c["batch_size"] == 64 for c in generate(s))
    assert [c["epochs"] for c in generate(spec({"epochs": {"min": 2, "max": 4}}))] == [2, 3, 4]
    q = generate(spec({"lr": {"distribution": "q_uniform", "min": 0.25, "max": 1.0, "q": 0.25}}))
    assert [c["lr"] for c in q] == [0.25, 0.5, 0.75]  # W&B: numpy.arange, max excluded
    dup = generate(spec({"lr": {"values": [0.1, 0.1, 1, 1.0]}}))
    assert [c["lr"] for c in dup] == [0.1, 1]
    assert len(generate(spec({"seed": {"values": list(range(10))}}, run_cap=4))) == 4
    assert len(generate(spec({"seed": {"values": list(range(10))}}, run_cap=4), count=2)) == 2


def test_joint_configs_are_validated():
    # Each value is fine beside the others' first values; one combination is not.
    s = spec({"data": {"value": "csv"}, "path": {"values": ["a.csv", ""]}})
    msg = usage_error(generate, s)
    assert "sweep config #2" in msg and "data=csv needs path" in msg


# ---------------------------------------------------------------------- bad input


BAD = [
    ({"method": "grid", "paramters": {}}, ["unknown top-level key 'paramters'", "parameters",
                                            "allowed: program, method"]),
    ({"method": "hyperopt", "parameters": {"lr": {"value": 0.1}}},
     ["unknown method 'hyperopt'", "allowed: grid, random, bayes"]),
    ({"parameters": {"lr": {"value": 0.1}}}, ["missing method", "grid, random, bayes"]),
    ({"method": "grid"}, ["missing or empty parameters"]),
    ({"method": "grid", "parameters": {}}, ["missing or empty parameters"]),
    ({"method": "grid", "parameters": {"learning_rate": {"values": [0.1]}}},
     ["unknown parameter 'learning_rate'", "allowed (Config fields)", "lr"]),
    ({"method": "grid", "parameters": {"lr": 0.1}}, ["parameter lr", "must be a mapping"]),
    ({"method": "grid", "parameters": {"lr": {}}}, ["parameter lr", "needs value, values"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "loguniform", "min": 1, "max": 2}}},
     ["unknown distribution 'loguniform'", "log_uniform_values", "allowed:"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "log_uniform_values"}}},
     ["lr: distribution log_uniform_values needs min and max"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0.1}}},
     ["lr: distribution log_uniform_values needs min and max"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 1, "max": 0.0001}}},
     ["lr", "min 1 is not less than max 0.0001"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0,
                                                "max": 1}}}, ["lr", "needs min > 0"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "log_uniform_values",
                                                "min": "1e-4", "max": 1.0}}},
     ["min must be a number", "1.0e-4"]),
    ({"method": "grid", "parameters": {"lr": {"values": []}}}, ["lr", "empty grid"]),
    ({"method": "grid", "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0.001,
                                              "max": 1}}},
     ["lr", "grid needs value/values or int_uniform/q_uniform", "log_uniform_values"]),
    ({"method": "grid", "parameters": {"model": {"values": ["logreg", "transformer"]}}},
     ["parameter model", "'transformer'", "allowed: logreg, mlp"]),
    ({"method": "grid", "parameters": {"task": {"values": ["0v1", "0v0"]}}}, ["task", "'0v0'"]),
    ({"method": "grid", "parameters": {"lr": {"values": [0.1, -1]}}}, ["lr", "-1", "positive"]),
    ({"method": "grid", "parameters": {"epochs": {"values": [1, "five"]}}}, ["epochs", "'five'",
                                                                             "not an integer"]),
    ({"method": "random", "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
     ["lr", "uniform can give 0.0", "positive"]),
    ({"method": "random", "parameters": {"epochs": {"distribution": "uniform", "min": 1, "max": 9}}},
     ["epochs", "integer key", "int_uniform"]),
    ({"method": "grid", "parameters": {"data": {"value": "csv"}}}, ["parameter data", "data=csv needs path"]),
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
    ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "command": ["${interpreter}", "${arg}"]},
     ["unknown command macro '${arg}'", "${args_no_hyphens}"]),
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


# ---------------------------------------------------------------------- random and bayes


RANDOM = {
    "lr": {"distribution": "log_uniform_values", "min": 0.0001, "max": 1.0},
    "weight_decay": {"distribution": "uniform", "min": 0.0, "max": 0.01},
    "momentum": {"distribution": "q_uniform", "min": 0.5, "max": 0.99, "q": 0.01},
    "epochs": {"distribution": "int_uniform", "min": 1, "max": 4},
    "hidden": {"values": [[64], [128, 64]]},
    "model": {"values": ["logreg", "mlp"]},
    "optimizer": {"value": "momentum"},
}


def test_random_respects_run_cap_and_count_and_seed():
    s = spec(RANDOM, method="random", run_cap=7)
    a = generate(s, seed=3)
    assert len(a) == 7 and generate(s, seed=3) == a and generate(s, seed=4) != a
    assert len(generate(s, count=3)) == 3 and len(generate(s, count=50)) == 7
    for c in a:
        assert 0.0001 <= c["lr"] <= 1.0 and 0 <= c["weight_decay"] <= 0.01
        assert isinstance(c["epochs"], int) and 1 <= c["epochs"] <= 4
        assert math.isclose(round(c["momentum"] / 0.01) * 0.01, c["momentum"])
        assert c["hidden"] in ([64], [128, 64]) and c["optimizer"] == "momentum"
        make_config(c)
    nocap = spec(RANDOM, method="random")
    assert "random needs run_cap or --count" in usage_error(generate, nocap)
    assert len(generate(nocap, count=5)) == 5
    assert "--count" in usage_error(generate, nocap, count=0)
    assert "Proposer" in usage_error(generate, spec(RANDOM, method="bayes", run_cap=4, metric=MAX))


def test_random_proposer_is_generate_in_rounds():
    s = spec(RANDOM, method="random", run_cap=10)
    p = Proposer(s, seed=5)
    got = p.ask(4) + p.ask(4) + p.ask(4)
    assert got == generate(s, seed=5) and p.done and p.ask(3) == []


def test_grid_proposer_serves_the_grid():
    s = spec({"seed": {"values": [0, 1, 2]}, "model": {"values": ["logreg", "mlp"]}})
    p = Proposer(s)
    got = p.ask(4)
    p.tell(got, [0.5, 0.6, float("nan"), 0.7])
    got += p.ask(4)
    assert got == generate(s) and p.done
    assert p.best() == ({"model": "mlp", "seed": 0}, 0.7)


def _bayes_rounds(seed, rounds=3, n=8):
    s = spec(RANDOM, method="bayes", metric={"name": "test_accuracy", "goal": "maximize"})
    p = Proposer(s, seed=seed)
    asked, worst = [], []
    for _ in range(rounds):
        cs = p.ask(n)
        for c in cs:
            make_config(c)
        # Peak at lr = 0.01; lr >= 0.3 "diverges" (NaN).
        vals = [float("nan") if c["lr"] >= 0.3 else -abs(math.log10(c["lr"]) + 2) for c in cs]
        p.tell(cs, vals)
        asked += cs
        worst += [min([v for v in [w for w in worst if w is not None] + vals if math.isfinite(v)],
                      default=None)] * len(cs)
    return p, asked, worst


def test_bayes_proposer_rounds_seeded_and_learns():
    p1, a1, worst = _bayes_rounds(0)
    p2, a2, _ = _bayes_rounds(0)
    _, a3, _ = _bayes_rounds(1)
    assert a1 == a2 and a1 != a3 and len(a1) == 24
    assert p1.study.direction.name == "MAXIMIZE" and len(p1.study.trials) == 24
    states = {t.state.name for t in p1.study.trials}
    assert states <= {"COMPLETE", "FAIL"}
    # NaN runs are told as the worst value seen so far (W&B's impute: worst), or FAIL if none yet.
    nan_trials = [(t, w) for t, c, w in zip(p1.study.trials, a1, worst) if c["lr"] >= 0.3]
    assert nan_trials
    for t, w in nan_trials:
        assert (t.state.name, t.value) == (("FAIL", None) if w is None else ("COMPLETE", w))
    best_cfg, best = p1.best()
    assert best > -1.0 and 0.001 < best_cfg["lr"] < 0.1
    for c in a1:
        assert c["hidden"] in ([64], [128, 64]) and c["optimizer"] == "momentum"
        assert isinstance(c["epochs"], int)
    with pytest.raises(ValueError):
        p1.tell([{**a1[0], "lr": 0.123456}], [0.5])


def test_bayes_proposer_run_cap_and_exotic_distributions():
    s = spec({"lr": {"distribution": "log_normal", "mu": -4.6, "sigma": 0.5},
              "weight_decay": {"distribution": "beta", "a": 2, "b": 50},
              "seed": {"distribution": "q_uniform", "min": 0, "max": 100, "q": 1},
              "model": {"values": ["logreg", "mlp"], "probabilities": [0.25, 0.75]}},
             method="bayes", run_cap=5, metric=MAX)
    p = Proposer(s, seed=0)
    cs = p.ask(3)
    p.tell(cs, [0.1, 0.2, None])
    cs2 = p.ask(10)
    assert len(cs2) == 2 and p.done and p.ask(1) == []
    for c in cs + cs2:
        assert c["lr"] > 0 and 0 <= c["weight_decay"] <= 1 and isinstance(c["seed"], int)
        make_config(c)


# ---------------------------------------------------------------------- hyperband


@pytest.mark.parametrize("et,max_epochs,rungs", [
    ({"type": "hyperband", "min_iter": 1, "eta": 3}, 20, [1, 3, 9]),
    ({"type": "hyperband", "min_iter": 1}, 27, [1, 3, 9]),  # eta defaults to 3; 27 is the end
    ({"type": "hyperband", "min_iter": 2, "eta": 2}, 20, [2, 4, 8, 16]),
    ({"type": "hyperband", "min_iter": 1, "eta": 1.5}, 5, [1, 2, 3]),
    ({"type": "hyperband", "min_iter": 5}, 3, []),
    ({"type": "hyperband", "max_iter": 27, "s": 3, "eta": 3}, 27, [1, 3, 9]),
    ({"type": "hyperband", "max_iter": 81, "s": 2}, 100, [9, 27]),
    ({"type": "hyperband", "max_iter": 20, "s": 2, "eta": 2}, 20, [5, 10]),
])
def test_hyperband_rungs(et, max_epochs, rungs):
    s = spec({"lr": {"value": 0.1}}, early_terminate=et, metric=MAX)
    assert s.early_terminate["type"] == "hyperband"
    assert hyperband_rungs(s, max_epochs) == rungs


# ---------------------------------------------------------------------- command line


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
    assert len(generate(s)) == 9 and hyperband_rungs(s, 9) == [1, 3]
    assert (s.eta, s.strict, s.goal, s.command, s.notes) == (3, True, "minimize", None, ())

"""mlx.sweep.bayes: configs in rounds (ask a batch, tell its results): optuna's TPE for bayes,
seeded, with W&B's impute for failed runs; grid and random served as mlx.sweep.search makes them."""
import math

import pytest

from mlx.config import make_config
from mlx.sweep.bayes import Proposer, optuna_distribution
from mlx.sweep.search import generate
from _spec_helpers import MAX, RANDOM, spec


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


def test_optuna_distributions_keep_wandb_priors():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    p = spec({"hidden": {"values": [[64], [128, 64]]}, "epochs": {"min": 1, "max": 4},
              "seed": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
              "lr": {"distribution": "log_uniform_values", "min": 0.001, "max": 0.1},
              "weight_decay": {"distribution": "normal", "mu": 0.01, "sigma": 0.001},
              "model": {"value": "mlp"}}, method="bayes", metric=MAX).parameters
    assert optuna_distribution(p["model"]) is None
    d, dec = optuna_distribution(p["hidden"])
    assert isinstance(d, CategoricalDistribution) and d.choices == (0, 1) and dec(1) == [128, 64]
    d, dec = optuna_distribution(p["epochs"])
    assert isinstance(d, IntDistribution) and (d.low, d.high) == (1, 4) and dec(3) == 3
    d, dec = optuna_distribution(p["seed"])
    assert isinstance(d, IntDistribution) and (d.low, d.high) == (0, 5) and dec(3) == 6
    d, dec = optuna_distribution(p["lr"])
    assert isinstance(d, FloatDistribution) and d.log and (d.low, d.high) == (0.001, 0.1)
    d, dec = optuna_distribution(p["weight_decay"])
    assert isinstance(d, FloatDistribution) and not d.log and 0 < d.low < d.high < 1
    assert dec(0.5) == p["weight_decay"].ppf(0.5) == pytest.approx(0.01)

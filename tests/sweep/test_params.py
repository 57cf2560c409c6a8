"""mlx.sweep.params: one sweep parameter: W&B's distributions inferred and checked, every
candidate value checked against mlx.config, and the values a parameter gives (ppf, grid, probes)."""
import math

import pytest

from mlx.sweep.params import GRID_AXIS_MAX, Param, parse_param
from mlx.sweep.spec import parse_sweep
from _spec_helpers import usage_error

BAD = [
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
    ({"method": "random", "parameters": {"lr": {"values": [0.1, 0.2], "probabilities": [0.5, 0.6]}}},
     ["lr", "probabilities must sum to 1"]),
    ({"method": "random", "parameters": {"lr": {"value": 0.1, "values": [0.1]}}},
     ["lr", "give value or values, not both"]),
    ({"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 0.1, "max": 1, "q": 2}}},
     ["lr", "unknown key 'q' for distribution uniform"]),
    ({"method": "random", "parameters": {"epochs": {"distribution": "q_uniform", "min": 1, "max": 9,
                                                    "q": 0.5}}}, ["epochs", "integer q"]),
    ({"method": "grid", "parameters": {"lr": {"distribution": "q_uniform", "min": 0.0, "max": 1000,
                                              "q": 1e-5}}}, ["lr", "grid values, more than 10,000,000"]),
]


@pytest.mark.parametrize("d,words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_parameters_raise_one_line(d, words):
    msg = usage_error(parse_sweep, d)
    for w in words:
        assert w in msg, (w, msg)


def test_distribution_inferred_with_wandb_defaults():
    assert parse_param("lr", {"value": 0.1}).kind == "value"
    assert parse_param("lr", {"values": [0.1, 0.2]}).values == (0.1, 0.2)
    w = parse_param("model", {"values": ["logreg", "mlp"], "probabilities": [0.25, 0.75]})
    assert (w.kind, w.probabilities) == ("categorical_w_probabilities", (0.25, 0.75))
    assert parse_param("epochs", {"min": 1, "max": 4}).kind == "int_uniform"
    assert parse_param("lr", {"min": 0.01, "max": 1}).kind == "uniform"
    q = parse_param("lr", {"distribution": "q_uniform", "min": 0.25, "max": 1.0})
    assert q.q == 1.0 and isinstance(q.q, float)  # W&B's default q: a float
    n = parse_param("weight_decay", {"distribution": "q_normal", "mu": 0.01, "sigma": 0.001, "q": 0.001})
    assert (n.mu, n.sigma, n.q) == (0.01, 0.001, 0.001)
    b = parse_param("weight_decay", {"distribution": "beta"})
    assert (b.a, b.b) == (1.0, 1.0)


def test_ppf_grid_values_and_probes():
    w = Param("model", "categorical_w_probabilities", values=("logreg", "mlp"), probabilities=(0.25, 0.75))
    assert [w.ppf(u) for u in (0.0, 0.24, 0.25, 0.99, 1.0)] == ["logreg", "logreg", "mlp", "mlp", "mlp"]
    i = Param("epochs", "int_uniform", min=1, max=4)
    assert [i.ppf(u) for u in (0.0, 0.25, 0.999, 1.0)] == [1, 2, 4, 4]
    lv = Param("lr", "log_uniform_values", min=0.001, max=0.1)
    assert math.isclose(lv.ppf(0.5), 0.01) and lv.probes() == [lv.ppf(0.0), lv.ppf(1.0)]
    q = Param("seed", "q_uniform", min=0, max=10, q=3)
    assert q.ppf(0.5) == 6 and isinstance(q.ppf(0.5), int)  # an integer q gives integers
    assert q.grid_values() == [0, 3, 6, 9]
    big = Param("seed", "int_uniform", min=0, max=10 * GRID_AXIS_MAX)
    assert isinstance(big.grid_values(), range) and len(big.grid_values()) == 10 * GRID_AXIS_MAX + 1
    assert "grid needs value/values" in usage_error(lv.grid_values)
    assert len(Param("lr", "normal", mu=0.0, sigma=1.0).probes()) == 3

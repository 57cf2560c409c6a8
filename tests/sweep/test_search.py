"""mlx.sweep.search: grid and random configs in W&B's order (sorted names, the last varies
fastest), duplicates skipped, run_cap/count, the seeded random stream, joint configs checked."""
import math

from mlx.config import make_config
from mlx.sweep.search import generate, size
from _spec_helpers import MAX, RANDOM, spec, usage_error


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


# ---------------------------------------------------------------------- random


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


def test_size_counts_a_grid_without_building_it():
    s = spec({"seed": {"values": [0, 1, 2]}, "model": {"values": ["logreg", "mlp"]},
              "epochs": {"min": 1, "max": 4}})
    assert size(s) == len(generate(s)) == 24
    huge = spec({"seed": {"min": 0, "max": 10**9}, "epochs": {"min": 1, "max": 1000}})
    assert size(huge) == (10**9 + 1) * 1000
    assert size(spec(RANDOM, method="random", run_cap=3)) == 0

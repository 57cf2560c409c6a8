"""The configs a sweep runs (mlx.sweep.configs): command-line values win, sizes are checked
before a grid is built, bayes needs a count."""
import pytest

from mlx.errors import UsageError
from mlx.sweep.configs import plan_configs
from mlx.sweep.options import parse_sweep_argv
from mlx.sweep.spec import parse_sweep


def _spec(method="grid", **extra):
    return parse_sweep({"method": method, "metric": {"name": "test_accuracy", "goal": "maximize"},
                        "parameters": {"lr": {"values": [0.1, 0.5]}, "seed": {"values": [0, 1, 2]}}, **extra})


def test_a_grid_gives_every_config_with_the_command_lines_values_winning():
    _, opts, fixed = parse_sweep_argv(["s.yaml", "seed=7", "epochs=2"])
    configs, proposer, n = plan_configs(_spec(), opts, fixed, "s.yaml")
    assert proposer is None and n == len(configs) == 6
    assert {c.seed for c in configs} == {7} and {c.epochs for c in configs} == {2}
    assert sorted({c.lr for c in configs}) == [0.1, 0.5]


def test_a_grid_over_max_configs_is_refused_before_it_is_built():
    _, opts, fixed = parse_sweep_argv(["s.yaml", "max_configs=5"])
    with pytest.raises(UsageError, match="the sweep has 6 configs, more than max_configs=5"):
        plan_configs(_spec(), opts, fixed, "s.yaml")


def test_bayes_gives_a_proposer_and_needs_a_count():
    _, opts, fixed = parse_sweep_argv(["s.yaml"])
    with pytest.raises(UsageError, match="method bayes needs run_cap in the sweep file or count=N"):
        plan_configs(_spec("bayes"), opts, fixed, "s.yaml")
    _, opts, fixed = parse_sweep_argv(["s.yaml", "count=4"])
    configs, proposer, n = plan_configs(_spec("bayes"), opts, fixed, "s.yaml")
    assert configs == [] and proposer is not None and n == 4

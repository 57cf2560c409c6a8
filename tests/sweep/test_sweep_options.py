"""mlx sweep's own keys (mlx.sweep.options): parsed by the config's rules, errors naming the key."""
import pytest

from mlx.errors import ConfigError, UsageError
from mlx.sweep.options import parse_sweep_argv


def test_sweep_keys_and_run_keys_are_told_apart():
    path, opts, fixed = parse_sweep_argv(["s.yaml", "chunk=8", "verify_hyperband=true", "--wandb_runs", "none",
                                          "lr=0.5", "data=sample"])
    assert path == "s.yaml" and opts["chunk"] == 8 and opts["verify_hyperband"] is True
    assert opts["wandb_runs"] == "none" and fixed == {"lr": 0.5, "data": "sample"}


@pytest.mark.parametrize("arg, words", [
    ("verify_hyperband=maybe", "verify_hyperband='maybe' is not a boolean; allowed: true, false"),
    ("chunk=-1", "chunk='-1' must be >= 0"),
    ("round=0", "round='0' must be >= 1"),
    ("wandb_runs=some", "wandb_runs='some' is not allowed; allowed: auto, all, best, none"),
    ("nope=1", "unknown key 'nope'; allowed: chunk,"),
])
def test_a_bad_sweep_key_is_one_message_naming_it(arg, words):
    with pytest.raises((UsageError, ConfigError)) as e:
        parse_sweep_argv(["s.yaml", arg])
    assert words in str(e.value) and "\n" not in str(e.value)


def test_verify_hyperband_may_stand_alone_like_any_boolean():
    _, opts, fixed = parse_sweep_argv(["s.yaml", "--verify_hyperband", "lr=0.1"])
    assert opts["verify_hyperband"] is True and fixed == {"lr": 0.1}
    _, opts, _ = parse_sweep_argv(["s.yaml", "--verify_hyperband", "false"])
    assert opts["verify_hyperband"] is False

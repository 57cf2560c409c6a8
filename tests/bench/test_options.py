"""mlx.bench.options: the bench's keys parsed by mlx.config's rules; one-line usage errors."""
import pytest

from mlx.bench.options import TIMING_METHODS, Options, parse_options
from mlx.errors import UsageError


def test_bad_options_are_one_line_usage_errors():
    with pytest.raises(UsageError, match="unknown bench key 'nope'"):
        parse_options(["nope=1"])
    with pytest.raises(UsageError, match="baselines"):
        parse_options(["baselines=chunkrunner"])
    with pytest.raises(UsageError, match="precision"):
        parse_options(["precision=fp8"])
    with pytest.raises(UsageError, match="wandb_configs"):
        parse_options(["wandb_configs=-1"])
    o = parse_options(["quick=true", "baselines=none", "lrs=0.1,0.01"])
    assert o.baselines == () and o.lrs == (0.1, 0.01) and o.epochs == 1


def test_the_config_syntax():
    """key=value, --key=value, --key value, a boolean alone: as mlx train and mlx sweep read them."""
    a = parse_options(["quick=true", "--epochs=3", "--seeds", "4", "lrs=0.1"])
    b = parse_options(["--quick", "epochs=3", "seeds=4", "--lrs", "0.1"])
    assert a == b and a.quick and a.epochs == 3 and a.seeds == 4 and a.lrs == (0.1,)
    assert parse_options(["quick"]).quick and not parse_options(["--quick", "false"]).quick
    assert parse_options(["--quick", "--out", "quick"]).out == "quick"
    assert parse_options(["epochs=1e1"]).epochs == 10 and parse_options(["tol=0.5"]).tol == 0.5
    assert parse_options([]) == Options() and parse_options(["quick=true"]) == Options(**Options.quick_defaults(), quick=True)
    assert parse_options(["epochs=1", "base_epochs=2"]).base_epochs == 1   # capped at epochs
    assert TIMING_METHODS == ("engine", "torch", "step")


@pytest.mark.parametrize("argv, want", [
    (["epochs=2.5"], "epochs='2.5' is not an integer"),
    (["quick=maybe"], "quick='maybe' is not a boolean; allowed: true, false"),
    (["tol=abc"], "tol='abc' is not a number"),
    (["tol=none"], "tol must be a number"),
    (["lrs=a"], "lrs='a' is not a number"),
    (["lrs=none"], "lrs must be positive numbers"),
    (["lrs=-1"], "lrs must be positive numbers"),
    (["--epochs"], "--epochs needs a value"),
    (["epochs=1", "epochs=2"], "epochs is given twice"),
    (["seeds=0"], "seeds=0 must be a positive integer"),
    (["device=tpu"], "device='tpu' unknown; allowed: cpu, gpu"),
    (["models=cnn"], "models='cnn' unknown; allowed: logreg, mlp"),
    (["tasks=none"], "tasks must name at least one task"),
    (["x"], "argument 'x' is not key=value; e.g. epochs=2 or --epochs=2 (keys: data_dir, out"),
])
def test_each_mistake_names_what_is_allowed(argv, want):
    with pytest.raises(UsageError) as e:
        parse_options(argv)
    assert want in str(e.value) and "\n" not in str(e.value)

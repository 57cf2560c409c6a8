"""Bad config values (mlx/config.py): each is one exact ``mlx: error:`` line and exit 2 through
``mlx train``, or a ConfigError from ``make_config``. The parser's properties (random argv) are
in tests/test_config_properties.py."""
import pytest
from _util import main_error

from mlx.config import make_config
from mlx.errors import ConfigError


@pytest.mark.parametrize("argv,expected", [
    (["lr=-0.1"], "lr=-0.1 must be a positive finite number"),
    (["lr=0"], "lr=0.0 must be a positive finite number"),
    (["lr=nan"], "lr=nan must be a positive finite number"),
    (["lr=inf"], "lr=inf must be a positive finite number"),
    (["epochs=0"], "epochs=0 must be a positive integer"),
    (["epochs=-3"], "epochs=-3 must be a positive integer"),
    (["optimizer=rmsprop"], "optimizer='rmsprop' is not allowed; allowed: sgd, momentum, adam, adamw"),
    (["hidden=0"], "hidden=[0] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=-2"], "hidden=[-2] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[64,0]"], "hidden=[64, 0] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[]"], "hidden=[] must be one or more positive integers, e.g. 256 or [512,256]"),
    (["hidden=[3.5]"], "hidden='[3.5]' must be positive integers, e.g. 256 or [512,256]"),
    (["hidden=two"], "hidden='two' must be positive integers, e.g. 256 or [512,256]"),
    (["hidden=[true]"], "hidden='[true]' must be positive integers, e.g. 256 or [512,256]"),
])
def test_bad_config_values(capsys, argv, expected):
    assert main_error(capsys, "train", *argv, "wandb=disabled") == f"mlx: error: {expected}"


@pytest.mark.parametrize("overrides", [{"seed": "-1"}, {"seed": "1e30"}, {"epochs": "1e12"},
                                       {"model": "mlp", "hidden": "1e12"}])
def test_out_of_range_integers_are_config_errors(overrides):
    with pytest.raises(ConfigError):
        make_config(overrides)


def test_split_overrides_booleans_alone_paired_or_named_in_the_error():
    from mlx.config import split_overrides
    assert split_overrides(["--download", "--lr", "0.1"]) == {"download": "true", "lr": "0.1"}
    assert split_overrides(["--download", "no", "lr=0.1"]) == {"download": "no", "lr": "0.1"}
    assert split_overrides(["quick", "--x=1"], booleans=("quick",)) == {"quick": "true", "x": "1"}
    with pytest.raises(ConfigError, match=r"download='maybe' is not a boolean; allowed: true, false"):
        make_config(split_overrides(["--download", "maybe"]))
    with pytest.raises(ConfigError, match=r"argument 'x' is not key=value; e.g. epochs=2 or --epochs=2"):
        split_overrides(["x"], example="epochs=2")

"""What the sweep-file tests share: a spec from a parameters mapping, the one-line UsageError
check, and the metric and random parameters several of them use."""
import pytest

from mlx.errors import UsageError
from mlx.sweep.spec import parse_sweep

MAX = {"name": "test_accuracy", "goal": "maximize"}
RANDOM = {
    "lr": {"distribution": "log_uniform_values", "min": 0.0001, "max": 1.0},
    "weight_decay": {"distribution": "uniform", "min": 0.0, "max": 0.01},
    "momentum": {"distribution": "q_uniform", "min": 0.5, "max": 0.99, "q": 0.01},
    "epochs": {"distribution": "int_uniform", "min": 1, "max": 4},
    "hidden": {"values": [[64], [128, 64]]},
    "model": {"values": ["logreg", "mlp"]},
    "optimizer": {"value": "momentum"},
}


def spec(parameters, **top):
    return parse_sweep({"method": top.pop("method", "grid"), "parameters": parameters, **top})


def usage_error(fn, *a, **kw) -> str:
    with pytest.raises(UsageError) as e:
        fn(*a, **kw)
    msg = str(e.value)
    assert "\n" not in msg and msg.strip() == msg
    return msg

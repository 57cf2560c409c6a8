"""Property tests of the command line's config parsing (mlx/config.py: split_overrides,
make_config, config_from_argv, validate): whatever argv a user (or a W&B agent) passes, ``mlx train``
either gets a valid Config or prints one ``mlx: error: ...`` line and exits 2; never a traceback.

``mlx.train_run.train_run`` is replaced by a stub that records the config, so nothing trains. Bad
values case by case are in tests/test_config.py; the CSV loader's properties are in
tests/data/csv_table/.
"""
import contextlib
import io
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mlx.train_run
from mlx.cli import main
from mlx.config import (FIELDS, MISSING, OPTIMIZERS, SCHEDULES, SOURCES, WANDB_MODES, Config,
                        config_from_argv, make_config, split_overrides, validate)
from mlx.errors import UsageError
from mlx.models import ACTIVATIONS, MODELS, PRECISIONS

SETTINGS = settings(max_examples=150, deadline=None)

KEYS = sorted(FIELDS)
BOOL_KEYS = [k for k in KEYS if isinstance(FIELDS[k].default, bool)]
TRICKY = ["", "=", "==", "--", "-", "---", "--=", " ", "0", "-1", "1", "2.5", "1e3", "1e999", "-1e999", "nan",
          "inf", "-0", "0x10", "1_000", "true", "False", "yes", "none", "null", "[", "]", "[]", "[0]", "[1,2]",
          "[1.5]", "[true]", "[null]", "[[1]]", "{}", "256", "512,256", "64 32", "mlp", "logreg", "cnn", "0v1",
          "4vrest", "4v4", "digits", "labels", "sgd", "adam", "relu", "online", "offline", "disabled",
          "é", "数字", "🙂", "a=b", "--lr", "lr=", "\t", "\n"]

def _text():
    return st.text(max_size=12)


finite = st.floats(allow_nan=False, allow_infinity=False)
valid_fields = {
    "model": st.sampled_from(MODELS), "activation": st.sampled_from(sorted(ACTIVATIONS)),
    "precision": st.sampled_from(PRECISIONS), "hidden": st.lists(st.integers(1, 4096), min_size=1, max_size=4),
    "task": st.sampled_from(["0v1", "4vrest", "4v9", "digits", "labels", "3v8", "7vrest"]),
    "data": st.sampled_from([s for s in SOURCES if s != "csv"]), "download": st.booleans(),
    "label_threshold": st.one_of(finite, st.just(math.nan)), "missing": st.sampled_from(MISSING),
    "test_fraction": st.floats(0.01, 0.99), "optimizer": st.sampled_from(OPTIMIZERS),
    "lr": st.floats(1e-8, 1e3), "weight_decay": st.one_of(st.just(0.0), st.floats(1e-30, 1)),
    "momentum": st.floats(0, 1, exclude_max=True),
    "schedule": st.sampled_from(SCHEDULES), "warmup_epochs": st.floats(0, 1e6), "split_seed": st.integers(0, 2**32 - 1), "epochs": st.integers(1, 10**4),
    "batch_size": st.integers(1, 10**6), "eval_batch_size": st.integers(1, 10**6),
    "seed": st.integers(0, 2**32 - 1), "wandb": st.sampled_from(("",) + WANDB_MODES),
    "pictures": st.booleans(), "checkpoint_every": st.integers(0, 100),
}


def _arg(key, v) -> str:
    if isinstance(v, bool):
        return f"{key}={'true' if v else 'false'}"
    if isinstance(v, list):
        return f"{key}=[{','.join(map(str, v))}]"
    if isinstance(v, float) and math.isnan(v):
        return f"{key}=none"
    return f"{key}={v!r}" if isinstance(v, float) else f"{key}={v}"


values = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=10),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from([k.replace("_", "-") for k in KEYS]),
                 st.text(max_size=8))
tokens = st.one_of(
    st.tuples(keys, values).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.tuples(keys, values).map(lambda kv: f"--{kv[0]}={kv[1]}"),
    keys.map(lambda k: f"--{k}"),
    values,
)
# mostly valid key=value pairs (in all three spellings), with junk mixed in
valid_tokens = st.sampled_from(sorted(valid_fields)).flatmap(
    lambda k: valid_fields[k].map(lambda v: _arg(k, v))).flatmap(
    lambda a: st.sampled_from([[a], ["--" + a], ["--" + a.split("=", 1)[0], a.split("=", 1)[1]]]))
argvs = st.lists(st.one_of(valid_tokens, valid_tokens, valid_tokens, tokens.map(lambda t: [t])), max_size=6).map(
    lambda parts: [a for p in parts for a in p])


@pytest.fixture(scope="module")
def recorded():
    """mlx.train_run.train_run replaced by a stub that records the Config it was given."""
    calls = []
    mp = pytest.MonkeyPatch()
    mp.setattr(mlx.train_run, "train_run", lambda cfg, **kw: calls.append(cfg) or {})
    yield calls
    mp.undo()


@SETTINGS
@given(argvs)
def test_parser_gives_a_config_or_a_usage_error(argv):
    try:
        cfg = make_config(split_overrides(argv))
    except UsageError as e:
        msg = str(e)
        assert msg and "\n" not in msg and msg == " ".join(msg.split())
        return
    assert isinstance(cfg, Config)
    validate(cfg)  # what came out is valid


@SETTINGS
@given(argvs)
def test_mlx_train_with_random_argv_never_raises_anything_else(recorded, argv):
    recorded.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["train", *argv])  # any exception but UsageError would fail the test here
    if any(a in ("-h", "--help") for a in argv):
        assert rc == 0 and "usage: mlx train" in out.getvalue() and not recorded
    elif rc == 0:
        assert len(recorded) == 1 and isinstance(recorded[0], Config) and err.getvalue() == ""
        validate(recorded[0])
    else:
        assert rc == 2 and not recorded and out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mlx: error: "), err.getvalue()


@SETTINGS
@given(st.sampled_from([k for k in KEYS if k not in BOOL_KEYS]), values)
@example("momentum", "nan")
def test_the_three_override_forms_agree(key, value):
    """key=value, --key=value and --key value give the same config or the same error."""
    def outcome(argv):
        try:
            return repr(config_from_argv(argv))  # repr: a parsed nan equals a parsed nan
        except UsageError as e:
            return str(e)
    a = outcome([f"{key}={value}"])
    assert outcome([f"--{key}={value}"]) == a
    assert outcome([f"--{key}", value]) == a
    assert outcome([f"--{key.replace('_', '-')}", value]) == a


@SETTINGS
@given(st.fixed_dictionaries({}, optional={**valid_fields, **{k: _text() for k in (
    "data_dir", "mirror", "tfds_name", "tfds_dir", "label", "features", "out", "name", "wandb_project",
    "wandb_group")}}))
def test_every_valid_config_round_trips_through_argv(fields):
    """A valid config written as key=value arguments reads back as the same config (strings as they
    are, '=' and unicode included; floats exactly; hidden as [a,b])."""
    expected = Config(**{k: tuple(v) if k == "hidden" else v for k, v in fields.items()})
    got = config_from_argv([_arg(k, v) for k, v in fields.items()])
    assert got.to_dict() == expected.to_dict() or (
        math.isnan(expected.label_threshold) and math.isnan(got.label_threshold)
        and {**got.to_dict(), "label_threshold": 0} == {**expected.to_dict(), "label_threshold": 0})


@SETTINGS
@given(st.lists(st.integers(1, 4096), min_size=1, max_size=5))
def test_hidden_sizes_in_every_spelling(sizes):
    forms = [f"[{','.join(map(str, sizes))}]", f"[{', '.join(map(str, sizes))}]", ",".join(map(str, sizes)),
             " ".join(map(str, sizes))]
    for f in forms:
        assert make_config({"hidden": f}).hidden == tuple(sizes)

"""One run's configuration: a plain dataclass, every field with a default and a meaning.

Overrides come as ``key=value``, ``--key=value`` or ``--key value`` (W&B agents pass the first
two). Each value is parsed against the type of its default and validated once, here; an unknown
key or a bad value raises :class:`mlx.errors.ConfigError` with one line naming it and what is
allowed.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from mlx.choices import (ACTIVATIONS, MISSING, MODELS, OPTIMIZERS, PRECISIONS, SCHEDULES,  # noqa: F401
                         SOURCES, WANDB_MODES)
from mlx.errors import ConfigError
from mlx.tasks import parse_task

MAX_EPOCHS = 100_000
MAX_HIDDEN = 65_536
F32_TINY, F32_MAX = 1.1754944e-38, 3.4028235e38  # float32's smallest normal and largest value

# What each field is, which decides everything derived from the fields (one place):
#   program  changes the compiled training program (a sweep compiles one per distinct value)
#   traced   an argument of the compiled program (a sweep vmaps over it): lr, weight_decay, seed
#   data     changes the arrays the program sees (a sweep loads the data once per distinct value)
#   output   where and how results are written; never changes a number
ROLES = ("program", "traced", "data", "output")


def _f(default, help, role, **kw):
    assert role in ROLES, role
    return field(default=default, metadata={"help": help, "role": role, **kw})


@dataclass(frozen=True)
class Config:
    # model
    model: str = _f("logreg", "logreg | mlp", choices=MODELS, role="program")
    hidden: tuple = _f((256,), "MLP hidden sizes: 256 or [512,256]", role="program")
    activation: str = _f("relu", "MLP activation: relu | tanh | gelu", choices=ACTIVATIONS, role="program")
    precision: str = _f("float32", "matmul dtype: float32 | bfloat16 (f32 accumulation and master weights)",
                        choices=PRECISIONS, role="program")
    # task and data
    task: str = _f("0v1", "0v1 | 4vrest | 4v9 | digits | labels | AvB | Nvrest", role="data")
    data: str = _f("auto", "auto | idx | tfds | sample | csv", choices=SOURCES, role="data")
    data_dir: str = _f("", "folder with the four MNIST-format IDX files (data=idx; data=auto uses it if set)", role="data")
    download: bool = _f(False, "data=idx: fetch the four IDX files from mirror= into data_dir (verified)", role="data")
    mirror: str = _f("", "base URL to download IDX files from (empty: the default public mirror)", role="data")
    tfds_name: str = _f("mnist", "data=tfds: mnist | fashion_mnist | kmnist", role="data")
    tfds_dir: str = _f("", "TFDS data_dir (empty: TFDS default ~/tensorflow_datasets)", role="data")
    path: str = _f("", "data=csv: the CSV file", role="data")
    label: str = _f("label", "data=csv: the label column", role="data")
    features: str = _f("", "data=csv: comma-separated feature columns (empty: all other numeric columns)", role="data")
    one_hot: str = _f("", "data=csv: comma-separated columns to one-hot encode (e.g. movie_id)", role="data")
    label_threshold: float = _f(math.nan, "data=csv: label = 1 if value >= threshold else 0 (nan: labels as they are)", role="data")
    missing: str = _f("error", "data=csv: missing values: error | drop | mean (training-split means)", choices=MISSING, role="data")
    test_fraction: float = _f(0.2, "data=csv: fraction held out for the test split", role="data")
    # training
    optimizer: str = _f("adam", "sgd | momentum | adam | adamw", choices=OPTIMIZERS, role="program")
    lr: float = _f(1e-3, "peak learning rate (> 0)", role="traced")
    weight_decay: float = _f(0.0, "weight decay (adamw: decoupled; others: L2 added to the gradient)", role="traced")
    momentum: float = _f(0.9, "momentum for optimizer=momentum", role="program")
    schedule: str = _f("constant", "constant | cosine | warmup_cosine", choices=SCHEDULES, role="program")
    warmup_epochs: float = _f(1.0, "warmup length in epochs for schedule=warmup_cosine", role="program")
    epochs: int = _f(5, "passes over the training split (>= 1)", role="program")
    batch_size: int = _f(128, "examples per step (>= 1; clamped to the training-set size)", role="program")
    eval_batch_size: int = _f(2000, "examples per evaluation chunk (bounds memory)", role="program")
    seed: int = _f(0, "seed for init and data order", role="traced")
    split_seed: int = _f(0, "seed of any train/test split the project makes itself (data=csv); "
                         "the training seed never changes the data", role="data")
    # outputs
    out: str = _f("runs", "folder that holds run folders", role="output")
    name: str = _f("", "run folder name (empty: <model>-<task>-s<seed>-<config hash>)", role="output")
    wandb: str = _f("", "offline | online | disabled (empty: $WANDB_MODE, else offline)", role="output")
    wandb_project: str = _f("mlx", "W&B project", role="output")
    wandb_group: str = _f("", "W&B group (sweeps set it to the sweep name)", role="output")
    pictures: bool = _f(True, "draw the run's pictures (filters, boundaries, ...)", role="output")
    checkpoint_every: int = _f(0, "save a resumable checkpoint every N epochs (0: never)", role="output")

    def __post_init__(self):
        validate(self)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        if math.isnan(d["label_threshold"]):
            d["label_threshold"] = None
        return d

    def fingerprint(self, length: int = 12) -> str:
        """A hash of everything that changes the numbers (not out, name, W&B or pictures):
        names a run folder, matches a checkpoint to its config, marks a sweep's finished rows."""
        import hashlib
        d = {k: v for k, v in self.to_dict().items() if FIELDS[k].metadata["role"] != "output"}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:length]

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)

    @property
    def wandb_mode(self) -> str:
        """wandb=, else $WANDB_MODE (W&B's aliases dryrun -> offline, run -> online; empty is
        unset), else offline."""
        return self.wandb or env_wandb_mode() or "offline"


def env_wandb_mode() -> str:
    """$WANDB_MODE as one of WANDB_MODES, or '' when unset or empty; anything else is refused."""
    raw = os.environ.get("WANDB_MODE", "").strip().lower()
    mode = {"dryrun": "offline", "run": "online"}.get(raw, raw)
    if mode and mode not in WANDB_MODES:
        raise ConfigError(f"WANDB_MODE={raw!r} is not allowed; allowed: {', '.join(WANDB_MODES)} "
                          f"(or unset)")
    return mode


FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def keys_with_role(*roles: str) -> tuple[str, ...]:
    """The field names whose role is one of ``roles`` (see ROLES), in field order."""
    return tuple(k for k, f in FIELDS.items() if f.metadata["role"] in roles)


TRACED_KEYS = keys_with_role("traced")      # lr, weight_decay, seed
OUTPUT_KEYS = keys_with_role("output")
DATA_KEYS = keys_with_role("data")


def role_key(cfg: Config, *roles: str) -> tuple:
    """A hashable key of cfg's values for the fields of ``roles`` (e.g. the data cache key)."""
    d = cfg.to_dict()
    return tuple((k, json.dumps(d[k], default=str)) for k in keys_with_role(*roles))


def _f32_positive(x: float) -> bool:
    """x stays a positive finite number in float32 (1e-60 would become 0, 1e308 inf)."""
    import numpy as np
    with np.errstate(over="ignore", under="ignore"):
        v = np.float32(x)
    return bool(np.isfinite(v) and v > 0)


def validate(c: Config) -> None:
    for name, f in FIELDS.items():
        choices = f.metadata.get("choices")
        if choices and getattr(c, name) not in choices:
            raise ConfigError(f"{name}={getattr(c, name)!r} is not allowed; allowed: {', '.join(choices)}")
    parse_task(c.task)
    if not (c.lr > 0 and math.isfinite(c.lr)):
        raise ConfigError(f"lr={c.lr!r} must be a positive finite number")
    if not _f32_positive(c.lr):
        raise ConfigError(f"lr={c.lr!r} is outside float32's range (training runs in float32); "
                          f"allowed: {F32_TINY:.2g} to {F32_MAX:.3g}")
    if not (c.weight_decay >= 0 and math.isfinite(c.weight_decay)):
        raise ConfigError(f"weight_decay={c.weight_decay!r} must be >= 0")
    if c.weight_decay > 0 and not _f32_positive(c.weight_decay):
        raise ConfigError(f"weight_decay={c.weight_decay!r} is outside float32's range; "
                          f"allowed: 0 or {F32_TINY:.2g} to {F32_MAX:.3g}")
    if not (0 <= c.momentum < 1):
        raise ConfigError(f"momentum={c.momentum!r} must be a number from 0 to below 1 (e.g. 0.9)")
    if not (math.isfinite(c.warmup_epochs) and c.warmup_epochs >= 0):
        raise ConfigError(f"warmup_epochs={c.warmup_epochs!r} must be a finite number >= 0 (e.g. 1)")
    if not 0 <= c.split_seed < 2**32:
        raise ConfigError(f"split_seed={c.split_seed} must be an integer from 0 to {2**32 - 1}")
    for name in ("epochs", "batch_size", "eval_batch_size"):
        if getattr(c, name) < 1:
            raise ConfigError(f"{name}={getattr(c, name)} must be a positive integer")
    if not 0 <= c.seed < 2**32:
        raise ConfigError(f"seed={c.seed} must be an integer from 0 to {2**32 - 1}")
    if c.epochs > MAX_EPOCHS:
        raise ConfigError(f"epochs={c.epochs} is more than {MAX_EPOCHS}")
    if any(type(h) is int and h > MAX_HIDDEN for h in c.hidden):
        raise ConfigError(f"hidden={list(c.hidden)!r}: at most {MAX_HIDDEN} units per layer")
    if c.checkpoint_every < 0:
        raise ConfigError(f"checkpoint_every={c.checkpoint_every} must be >= 0 (0: never)")
    if not c.hidden or any(type(h) is not int or h < 1 for h in c.hidden):
        raise ConfigError(f"hidden={list(c.hidden)!r} must be one or more positive integers, e.g. 256 or [512,256]")
    if not 0 < c.test_fraction < 1:
        raise ConfigError(f"test_fraction={c.test_fraction} must be between 0 and 1")
    if c.wandb and c.wandb not in WANDB_MODES:
        raise ConfigError(f"wandb={c.wandb!r} is not allowed; allowed: {', '.join(WANDB_MODES)}")
    if not c.wandb:
        env_wandb_mode()  # a bad $WANDB_MODE is refused before anything runs
    if c.data == "csv" and not c.path:
        raise ConfigError("data=csv needs path=FILE (and label=COLUMN)")


# ---------------------------------------------------------------- parsing values and argv

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _parse_int(key, s):
    try:
        v = float(s)
    except ValueError:
        raise ConfigError(f"{key}={s!r} is not an integer") from None
    if not v.is_integer():
        raise ConfigError(f"{key}={s!r} is not an integer")
    return int(v)


def parse_value(key: str, raw: Any) -> Any:
    """Convert ``raw`` (a string from the command line, or a YAML/JSON value) to ``key``'s type."""
    if key not in FIELDS:
        raise ConfigError(f"unknown key {key!r}; allowed: {', '.join(FIELDS)}")
    default = FIELDS[key].default
    if key == "hidden":
        v = raw
        if isinstance(v, str):
            s = v.strip()
            try:
                v = json.loads(s) if s.startswith("[") else [x for x in s.replace(",", " ").split()]
            except json.JSONDecodeError:
                raise ConfigError(f"hidden={raw!r} must be positive integers, e.g. 256 or [512,256]") from None
        if not isinstance(v, (list, tuple)):
            v = [v]
        out = []
        for h in v:
            if isinstance(h, bool) or isinstance(h, float) and not h.is_integer():
                raise ConfigError(f"hidden={raw!r} must be positive integers, e.g. 256 or [512,256]")
            try:
                out.append(_parse_int("hidden", h) if isinstance(h, str) else int(h))
            except (ConfigError, TypeError, ValueError):
                raise ConfigError(f"hidden={raw!r} must be positive integers, e.g. 256 or [512,256]") from None
        return tuple(out)
    return parse_typed(key, raw, default)


def parse_typed(key: str, raw: Any, default: Any) -> Any:
    """``raw`` converted to the type of ``default`` (bool, int, float or str) by the config's
    rules, errors naming ``key``: what ``parse_value`` does for a config field, for the other
    commands' own keys (``mlx sweep``'s, ``mlx bench``'s)."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in _TRUE | _FALSE:
            return s in _TRUE
        raise ConfigError(f"{key}={raw!r} is not a boolean; allowed: true, false")
    if isinstance(default, int):
        if isinstance(raw, bool):
            raise ConfigError(f"{key}={raw!r} is not an integer")
        if isinstance(raw, (int, float)):
            return _parse_int(key, str(raw))
        return _parse_int(key, str(raw).strip())
    if isinstance(default, float):
        if isinstance(raw, bool):
            raise ConfigError(f"{key}={raw!r} is not a number")
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "none", "null")):
            return math.nan
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}={raw!r} is not a number") from None
    if raw is None:
        return ""
    return str(raw)


def split_overrides(argv: list[str], booleans: tuple[str, ...] = (), example: str = "lr=0.01") -> dict[str, str]:
    """['lr=0.1', '--epochs=3', '--model', 'mlp'] -> {'lr': '0.1', 'epochs': '3', 'model': 'mlp'}.

    A boolean key may stand alone (``--download`` means ``download=true``; ``--download no`` is
    a pair, and ``--download maybe`` an error naming download); ``booleans`` names
    a command's own boolean keys, which may also stand alone without dashes (``quick``);
    ``example`` is the pair a wrong argument's message shows.
    """
    out: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a, i = argv[i], i + 1
        dashed = a.startswith("--")
        a = a[2:] if dashed else a
        if "=" in a:
            k, v = a.split("=", 1)
        elif dashed:
            k, nxt = a, (argv[i] if i < len(argv) else None)
            is_bool = k.replace("-", "_") in booleans or \
                isinstance(getattr(FIELDS.get(k.replace("-", "_")), "default", None), bool)
            if is_bool and (nxt is None or "=" in nxt or nxt.startswith("--")):
                v = "true"  # a boolean alone; a plain word after it is its value (checked later)
            elif nxt is None:
                raise ConfigError(f"--{k} needs a value: --{k}=VALUE or --{k} VALUE")
            else:
                v, i = nxt, i + 1
        elif a.replace("-", "_") in booleans:
            k, v = a, "true"
        else:
            raise ConfigError(f"argument {a!r} is not key=value; e.g. {example} or --{example}")
        k = k.strip().replace("-", "_")
        if k in out:
            raise ConfigError(f"{k} is given twice ({k}={out[k]} and {k}={v}); give each key once")
        out[k] = v
    return out


def make_config(overrides: dict[str, Any] | None = None, base: Config | None = None) -> Config:
    """A validated Config from ``base`` (default Config()) with ``overrides`` parsed by type."""
    kw = {k: parse_value(k, v) for k, v in (overrides or {}).items()}
    base = base or Config()
    try:
        return dataclasses.replace(base, **kw)
    except TypeError as e:  # pragma: no cover - parse_value already rejected unknown keys
        raise ConfigError(str(e)) from None


def config_from_argv(argv: list[str]) -> Config:
    return make_config(split_overrides(argv))


def help_text() -> str:
    lines = []
    for name, f in FIELDS.items():
        d = f.default
        shown = list(d) if isinstance(d, tuple) else d
        if isinstance(d, float) and math.isnan(d):
            shown = "none"
        lines.append(f"  {name:<17} {str(shown):<12} {f.metadata['help']}")
    return "\n".join(lines)

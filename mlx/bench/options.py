"""``mlx bench``'s keys: the Options dataclass (every key with its default and meaning), the quick
sizes, the timing methods, and the parse of the command line by mlx.config's own rules
(``split_overrides`` for the syntax: ``key=value``, ``--key=value``, ``--key value``, a boolean
alone; ``parse_typed`` for each value's type), as ``mlx sweep`` parses its own keys. Every
mistake is a one-line :class:`mlx.errors.UsageError` naming what is allowed.
"""
from __future__ import annotations

import dataclasses
import math

from mlx.choices import MODELS, PRECISIONS
from mlx.config import parse_typed, split_overrides
from mlx.errors import ConfigError, UsageError

TIMING_METHODS = ("engine", "torch", "step")   # what the bench times; all but the engine are baselines
BASELINES = TIMING_METHODS[1:]
DEVICES = ("", "cpu", "gpu")


def _o(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class Options:
    data_dir: str = _o("", "MNIST IDX folder; 'sample' = the 5,000-digit sample; '' = ../shared/data/mnist if there")
    out: str = _o("", "output folder ('' = runs/bench-<time>)")
    quick: bool = _o(False, "tiny sizes (the test): sample data, 1 epoch, few configs, scaling to 4")
    baselines: tuple = _o(("torch", "step"), "comma list of torch, step (or none)")
    tasks: tuple = _o(("4vrest", "digits"), "sweep tasks; the first is the main scenario (targets, scaling)")
    models: tuple = _o(("logreg", "mlp"), "models of the sweep")
    lrs: tuple = _o((1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "learning rates of the sweep")
    seeds: int = _o(3, "seeds per learning rate")
    epochs: int = _o(5, "epochs per config in the sweep")
    base_configs: int = _o(2, "configs per model the torch/step baselines run (then extrapolated)")
    base_epochs: int = _o(2, "epochs the baselines run (<= epochs)")
    hidden: int = _o(256, "MLP hidden units")
    batch_size: int = _o(128, "batch size")
    ref_lrs: int = _o(16, "shared-gather reference grid: learning rates (log-spaced 1e-4 .. 1e-1)")
    ref_seeds: int = _o(4, "shared-gather reference grid: seeds")
    ref_epochs: int = _o(2, "shared-gather reference grid: epochs")
    ref_repeats: int = _o(3, "engine and reference timed alternately this many times (best kept)")
    max_configs: int = _o(1024, "scaling curve: configs per program 1, 2, 4, ... up to this (0: skip)")
    scaling_seconds: float = _o(0.0, "stop a scaling curve after a point slower than this (0: 20 s CPU, 120 s GPU)")
    big: int = _o(10000, "configs of the big logreg sweep on 0v1 (0: skip)")
    big_epochs: int = _o(1, "epochs of the big sweep")
    e2e_sweep: str = _o("", "sweep file of the end-to-end rows ('' = experiments/sweeps/logreg_1k.yaml; none: skip)")
    e2e_configs: int = _o(0, "configs of the wandb=disabled end-to-end row (0: the file's run_cap)")
    wandb_configs: int = _o(1000, "configs (= W&B runs) of the W&B offline end-to-end row and its floor (0: skip)")
    chunk: int = _o(0, "configs per compiled program, as mlx sweep chunk= (0: automatic, as mlx sweep)")
    precision: str = _o("float32", "float32 | bfloat16 (matmuls; f32 accumulation and weights)")
    device: str = _o("", "cpu | gpu ('' = JAX's default backend)")
    peak_n: int = _o(0, "matmul size for the peak (0: 2048 CPU, 8192 GPU)")
    tol: float = _o(0.01, "allowed test-accuracy difference between methods for one config")

    @classmethod
    def quick_defaults(cls) -> dict:
        return dict(tasks=("4vrest",), lrs=(1e-3,), seeds=2, epochs=1, base_configs=1,
                    base_epochs=1, max_configs=4, big=8, big_epochs=1, peak_n=256, hidden=64,
                    ref_lrs=2, ref_seeds=2, ref_epochs=1, ref_repeats=1, e2e_configs=8,
                    wandb_configs=3)


FIELDS = {f.name: f for f in dataclasses.fields(Options)}
BOOLEAN_KEYS = tuple(k for k, f in FIELDS.items() if isinstance(f.default, bool))
POSITIVE_KEYS = ("seeds", "epochs", "base_configs", "base_epochs", "hidden", "batch_size", "ref_lrs",
                 "ref_seeds", "ref_epochs", "ref_repeats")
NON_NEGATIVE_KEYS = ("max_configs", "big", "big_epochs", "e2e_configs", "wandb_configs", "chunk")

def parse_options(argv: list[str]) -> Options:
    """The command line (mlx.config's syntax) -> Options; one-line UsageError on anything wrong."""
    try:
        kv = split_overrides(argv, booleans=BOOLEAN_KEYS, example="epochs=2")
    except ConfigError as e:
        raise UsageError(f"{e} (keys: {', '.join(FIELDS)})") from None
    for k in kv:
        if k not in FIELDS:
            raise UsageError(f"unknown bench key {k!r}; allowed: {', '.join(FIELDS)}")
    quick = parse_key("quick", kv.get("quick", "false"))
    opts = Options(**(Options.quick_defaults() if quick else {}))
    for k, raw in kv.items():
        setattr(opts, k, parse_key(k, raw))
    check(opts)
    opts.base_epochs = min(opts.base_epochs, opts.epochs)
    return opts


def parse_key(key: str, raw: str):
    """One bench value by the type of its default: a comma list for a tuple (``none`` or empty
    items dropped; floats for lrs), else mlx.config.parse_typed's rules for that type."""
    default = FIELDS[key].default
    raw = raw.strip()
    if isinstance(default, tuple):
        items = [s for s in raw.replace(" ", "").split(",") if s and s != "none"]
        return tuple(parse_typed(key, s, 0.0) for s in items) if key == "lrs" else tuple(items)
    return parse_typed(key, raw, default)


def check(o: Options) -> None:
    """Values in range and among the allowed choices."""
    bad = [b for b in o.baselines if b not in BASELINES]
    if bad:
        raise UsageError(f"baselines={','.join(bad)} unknown; allowed: {', '.join(BASELINES)} (or none)")
    for m in o.models:
        if m not in MODELS:
            raise UsageError(f"models={m!r} unknown; allowed: {', '.join(MODELS)}")
    if o.precision not in PRECISIONS:
        raise UsageError(f"precision={o.precision!r} unknown; allowed: {', '.join(PRECISIONS)}")
    if o.device not in DEVICES:
        raise UsageError(f"device={o.device!r} unknown; allowed: cpu, gpu")
    for k in POSITIVE_KEYS:
        if getattr(o, k) < 1:
            raise UsageError(f"{k}={getattr(o, k)} must be a positive integer")
    for k in NON_NEGATIVE_KEYS:
        if getattr(o, k) < 0:
            raise UsageError(f"{k}={getattr(o, k)} must be >= 0")
    for k in ("scaling_seconds", "tol"):
        if math.isnan(getattr(o, k)):
            raise UsageError(f"{k} must be a number, e.g. {k}={FIELDS[k].default}")
    if not o.lrs or any(not (lr > 0) for lr in o.lrs):
        raise UsageError("lrs must be positive numbers, e.g. lrs=0.001,0.01")
    if not o.tasks:
        raise UsageError("tasks must name at least one task, e.g. tasks=4vrest")


def _shown(default) -> str:
    """A default as the command line writes it."""
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    if isinstance(default, bool):
        return str(default).lower()
    return str(default) or "''"


def help_text() -> str:
    """The keys, one a line: name, default, meaning (as ``mlx train --help`` lists its keys)."""
    return "\n".join(f"  {name:<16} {_shown(f.default):<28} {f.metadata['help']}"
                     for name, f in FIELDS.items())

"""Grid and random sweeps: every config of a parsed sweep, generated in W&B's order.

W&B semantics kept (github.com/wandb/sweeps, ``grid_search.py`` and ``random_search.py``):

* parameters are taken in *sorted name order*; a grid is ``itertools.product`` over that order
  (the last name varies fastest), constants (``value``) ride along, duplicates are skipped;
  its size (:func:`size`) is known without building it.
* random draws each value as ``ppf(u)`` of its distribution (as W&B does), u from
  ``numpy.random.default_rng(seed)``; the stream is reproducible, W&B's own is not seeded.
* at most ``min(run_cap, count)`` configs; random needs one of them.

bayes is adaptive: :class:`mlx.sweep.bayes.Proposer` asks and tells in rounds.
"""
from __future__ import annotations

import copy
import itertools
import json

from mlx.errors import UsageError
from mlx.sweep.params import check_config, is_integer


def run_limit(spec, count) -> int | None:
    """How many configs at most: min(run_cap, count) of those given (None: no limit)."""
    if count is not None and not (is_integer(count) and count > 0):
        raise UsageError(f"--count must be a positive integer, got {count!r}")
    caps = [c for c in (spec.run_cap, count) if c is not None]
    return min(caps) if caps else None


def config_key(config: dict) -> str:
    """A config as text, equal for equal configs (1.0 and 1 alike): what duplicates share."""
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v
    return json.dumps({k: norm(v) for k, v in config.items()}, sort_keys=True, default=str)


def size(spec) -> int:
    """How many configs a grid has (before duplicates are skipped), computed without building
    them; 0 for random and bayes (their size is run_cap or count=)."""
    if spec.method != "grid":
        return 0
    n = 1
    for p in spec.parameters.values():
        n *= len(p.grid_values())
    return n


def grid_configs(spec, limit: int | None = None) -> list[dict]:
    """All grid points in W&B's order (sorted names, last varies fastest), duplicates skipped."""
    names = list(spec.parameters)
    axes = [spec.parameters[n].grid_values() for n in names]
    out, seen = [], set()
    for combo in itertools.product(*axes):
        c = {n: copy.deepcopy(v) for n, v in zip(names, combo)}
        k = config_key(c)
        if k in seen:
            continue
        seen.add(k)
        out.append(c)
        if limit is not None and len(out) >= limit:
            break
    return out


def random_stream(spec, seed: int):
    """Random configs without end, each value ``ppf(u)`` with u from ``default_rng(seed)``."""
    import numpy as np
    rng = np.random.default_rng(seed)
    while True:
        yield {n: p.ppf(float(rng.random())) for n, p in spec.parameters.items()}


def generate(spec, *, count: int | None = None, seed: int = 0) -> list[dict]:
    """The configs of a grid or random sweep, each validated with mlx.config.make_config.

    grid: every point in W&B's order, the first min(run_cap, count) if given. random:
    min(run_cap, count) draws from ``default_rng(seed)`` (UsageError if neither is given).
    bayes is adaptive: use :class:`mlx.sweep.bayes.Proposer`. Configs hold the values W&B would
    hand the run (python ints/floats/strings/lists), one key per sweep parameter, in sorted key
    order.
    """
    n = run_limit(spec, count)
    if spec.method == "grid":
        configs = grid_configs(spec, n)
    elif spec.method == "random":
        if n is None:
            raise UsageError("random needs run_cap or --count (how many configs to draw)")
        configs = list(itertools.islice(random_stream(spec, seed), n))
    else:
        raise UsageError(f"method {spec.method} is adaptive: use Proposer(spec).ask/tell, not generate()")
    for i, c in enumerate(configs):
        check_config(c, f"sweep config #{i + 1}")
    return configs


__all__ = ["generate", "size", "grid_configs", "random_stream", "run_limit", "config_key"]

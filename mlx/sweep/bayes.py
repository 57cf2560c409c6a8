"""Bayes sweeps in rounds: :class:`Proposer` asks a batch of configs and is told their results
(optuna's TPE for ``method: bayes``; grid and random served the same way), and
:func:`optuna_distribution` maps a W&B parameter onto optuna's distributions.

::

    p = Proposer(spec, seed=0)
    cs = p.ask(16); p.tell(cs, values)   # ask a batch, train it as one program, tell

W&B's bayes needs ``metric`` (checked when the file is read); its direction is ``metric.goal``,
and a failed or diverged run is imputed as W&B's ``metric.impute`` says.
"""
from __future__ import annotations

import copy
import itertools
import math
from typing import Any, Callable

from mlx.sweep.params import EXP_BOUNDS, VALUES_BOUNDS, Param, check_config, is_integer, quantize
from mlx.sweep.search import config_key, grid_configs, random_stream, run_limit

_U_EPS = 1e-6  # quantile range (eps, 1 - eps) for unbounded distributions under optuna


def optuna_distribution(p: Param) -> tuple[Any, Callable[[Any], Any]] | None:
    """(optuna distribution, decode) for an optuna trial; None for a constant.

    values -> Categorical over indices (values may be lists); int_uniform -> Int;
    uniform -> Float; *log_uniform* -> Float(log=True) (quantized after, for q_*);
    q_uniform -> Int over k, value k*q; normal, log-normal, beta and weighted categorical ->
    Float over the quantile u, value ppf(u) (keeps W&B's prior).
    """
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)
    k = p.kind
    if k == "value":
        return None
    if k == "values":
        return (CategoricalDistribution(tuple(range(len(p.values)))),
                lambda i: copy.deepcopy(p.values[int(i)]))
    if k == "int_uniform":
        return IntDistribution(p.min, p.max), int
    if k == "uniform":
        return FloatDistribution(p.min, p.max), float
    if k == "q_uniform":
        lo, hi = round(p.min / p.q), round(p.max / p.q)
        return IntDistribution(lo, max(lo, hi)), lambda i: quantize(int(i) * p.q, p.q)
    if k in VALUES_BOUNDS or k in EXP_BOUNDS:
        lo, hi = _log_range(p)
        dec = (lambda x: quantize(x, p.q)) if k.startswith("q_") else float
        return FloatDistribution(lo, hi, log=True), dec
    return FloatDistribution(_U_EPS, 1 - _U_EPS), p.ppf


def _log_range(p: Param) -> tuple[float, float]:
    if p.kind in VALUES_BOUNDS:
        return float(p.min), float(p.max)
    if p.kind == "inv_log_uniform":
        return math.exp(-p.max), math.exp(-p.min)
    return math.exp(p.min), math.exp(p.max)


class Proposer:
    """Configs in rounds: ``ask(n)`` a batch, train it, ``tell(configs, values)``.

    bayes: optuna ``TPESampler(seed=seed)`` (constant liar on, so a batch asked before any tell
    is spread out), W&B distributions mapped to optuna's (see :func:`optuna_distribution`),
    direction from ``metric.goal``. random: the same ``default_rng(seed)`` stream as
    :func:`mlx.sweep.search.generate`, so ``ask(a) + ask(b) == generate(spec, count=a + b,
    seed=seed)``. grid: the grid in order. At most min(run_cap, count) configs are asked in all
    (grid: the grid's size); ``ask`` returns fewer (or none) when that runs out, and
    :attr:`done` says so.

    A value that is NaN, inf or None (a diverged or failed run) is imputed as W&B does with
    ``metric.impute`` (default ``worst``): told to optuna as the worst finite value told so far
    (this batch included; ``best``: the best; ``latest`` has no per-run history here and acts as
    ``worst``). While no finite value exists yet, the trial is told as failed
    (``TrialState.FAIL``), which TPE leaves out.
    """

    def __init__(self, spec, seed: int = 0, *, count: int | None = None):
        self.spec, self.seed = spec, seed
        self.limit = run_limit(spec, count)
        self.asked = 0
        self.results: list[tuple[dict, float]] = []  # (config, value as given) per tell
        self._pending: dict[str, list] = {}
        self._finite: list[float] = []
        self.study = None
        if spec.method == "grid":
            self._grid = grid_configs(spec, self.limit)
            self.limit = len(self._grid)
        elif spec.method == "random":
            self._stream = random_stream(spec, seed)
        else:
            self._make_study(spec, seed)

    def _make_study(self, spec, seed: int) -> None:
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._dists, self._decode = {}, {}
        for n, p in spec.parameters.items():
            m = optuna_distribution(p)
            if m is not None:
                self._dists[n], self._decode[n] = m
        self.study = optuna.create_study(direction=spec.goal,
                                         sampler=optuna.samplers.TPESampler(seed=seed))

    @property
    def done(self) -> bool:
        return self.limit is not None and self.asked >= self.limit

    def ask(self, n: int) -> list[dict]:
        if not (is_integer(n) and n >= 0):
            raise ValueError(f"ask(n): n must be an integer >= 0, got {n!r}")
        if self.limit is not None:
            n = min(n, self.limit - self.asked)
        if self.spec.method == "grid":
            out = [copy.deepcopy(c) for c in self._grid[self.asked:self.asked + n]]
        elif self.spec.method == "random":
            out = list(itertools.islice(self._stream, n))
        else:
            out = [self._ask_trial() for _ in range(n)]
        for i, c in enumerate(out):
            check_config(c, f"sweep config #{self.asked + i + 1}")
        self.asked += len(out)
        return out

    def _ask_trial(self) -> dict:
        """One optuna trial as a config (constants ride along), kept pending until told."""
        trial = self.study.ask(self._dists)
        c = {}
        for name, p in self.spec.parameters.items():
            c[name] = (self._decode[name](trial.params[name]) if name in self._dists
                       else copy.deepcopy(p.value))
        self._pending.setdefault(config_key(c), []).append(trial)
        return c

    def tell(self, configs: list[dict], values: list[float]) -> None:
        if len(configs) != len(values):
            raise ValueError(f"tell: {len(configs)} configs but {len(values)} values")
        vals = []
        for v in values:
            fv = math.nan if v is None else float(v)
            vals.append(fv)
            if math.isfinite(fv):
                self._finite.append(fv)
        self.results += list(zip(configs, values))
        if self.study is None:
            return
        import optuna
        for c, v in zip(configs, vals):
            key = config_key({n: c[n] for n in self.spec.parameters})
            trials = self._pending.get(key)
            if not trials:
                raise ValueError(f"tell: config {key} was not asked, or was told already")
            trial = trials.pop(0)
            if not math.isfinite(v):
                v = self._impute()
            if v is None:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, v)

    def _impute(self) -> float | None:
        if not self._finite:
            return None
        maximize = self.spec.goal == "maximize"
        best = self.spec.metric.get("impute", "worst") == "best"
        return max(self._finite) if maximize == best else min(self._finite)

    def best(self) -> tuple[dict, float] | None:
        """(config, value) of the best finite value told so far, or None."""
        told = [(c, float(v)) for c, v in self.results if v is not None and math.isfinite(float(v))]
        if not told:
            return None
        pick = max if self.spec.goal == "maximize" else min
        return pick(told, key=lambda cv: cv[1])


__all__ = ["Proposer", "optuna_distribution"]

"""W&B sweep files, read and expanded offline: ``sweep.yaml`` -> configs for the local engine.

The file is W&B's own sweep format, unchanged (``wandb sweep sweep.yaml`` accepts it too)::

    spec = load_sweep("sweep.yaml")            # validates everything, one-line UsageError
    configs = generate(spec)                   # grid (all points) or random (run_cap/--count)
    p = Proposer(spec, seed=0)                 # bayes (optuna TPE) or random, in rounds:
    cs = p.ask(16); p.tell(cs, values)         #   ask a batch, train it as one program, tell
    hyperband_rungs(spec, max_epochs=20)       # epochs where successive halving cuts: [1, 3, 9]
    expand_command(spec, cfg)                  # the argv ``wandb agent`` would run for cfg

W&B semantics kept (checked against W&B's engine, github.com/wandb/sweeps, and the agent in
``wandb/sdk/launch/sweeps/utils.py``):

* parameters are taken in *sorted name order*; a grid is ``itertools.product`` over that order
  (the last name varies fastest), constants (``value``) ride along, duplicates are skipped;
  ``int_uniform`` becomes ``range(min, max + 1)`` and ``q_uniform`` ``numpy.arange(min, max, q)``
  (max excluded, as W&B does); any other distribution is refused for grid.
* a parameter without ``distribution`` is inferred: ``value`` -> constant, ``values`` ->
  categorical (``categorical_w_probabilities`` with ``probabilities``), ``min``/``max`` ->
  ``int_uniform`` when both are integers, else ``uniform``. ``q`` defaults to 1.0 (a float, so
  quantized values are floats unless q is an integer), ``mu``/``sigma`` to 0/1, ``a``/``b`` to 1.
* ``log_uniform``, ``q_log_uniform`` and ``inv_log_uniform`` (min/max as natural-log exponents)
  are refused as W&B refuses them; their ``*_values`` forms take the values.
* ``bayes`` and ``early_terminate`` need ``metric`` (as W&B's engine does); W&B keys that do not
  change an offline run (``controller``, ``job``, ``image_uri``, ``description``, ``apiVersion``,
  ``kind``, ``scheduler: {engine: wandb}``) are accepted and noted; ``method: custom``, a
  scheduler ``source``, ``metrics`` and nested ``parameters`` are refused (one line each).
* random draws each value as ``ppf(u)`` of its distribution (as W&B does), u from
  ``numpy.random.default_rng(seed)``; the stream is reproducible, W&B's own is not seeded.
* ``metric.goal`` defaults to ``minimize`` when ``metric`` is given without one (W&B's default);
  without any ``metric`` the sweep maximizes ``test_accuracy``.
* ``early_terminate: {type: hyperband, min_iter, eta=3, strict=true}`` decides at
  ``int(min_iter * eta**k)``; ``{max_iter, s, eta=3}`` at ``int(max_iter / eta**i)`` for
  i = 1..s (while >= 1); ``spec.eta`` and ``spec.strict`` give them with W&B's defaults, and
  :mod:`mlx.sweep.hyperband` makes W&B's stop decision (threshold ``sorted(values)[int(n / eta)]``).

Everything is checked when the file is read, before anything trains: every key, every
distribution and its bounds, and every candidate value of every parameter against
:mod:`mlx.config` (e.g. ``model: [logreg, transformer]`` names ``transformer`` and the allowed
models). Joint configs are checked again by :func:`generate` and :meth:`Proposer.ask`.
"""
from __future__ import annotations

import bisect
import copy
import difflib
import itertools
import json
import math
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path
from statistics import NormalDist
from typing import Any, Callable, NamedTuple

import yaml

from mlx.config import FIELDS, make_config, parse_value
from mlx.errors import ConfigError, UsageError
from mlx.sweep.hyperband import DEFAULT_ETA, DEFAULT_STRICT, bands as _hyperband_bands
from mlx.sweep.hyperband import rungs as hyperband_rungs

TOP_KEYS = ("program", "method", "metric", "parameters", "name", "description", "run_cap",
            "early_terminate", "command", "project", "entity", "controller", "job", "image_uri",
            "apiVersion", "kind", "metrics", "scheduler")
#: W&B schema keys that do not change an offline run: accepted (checked as W&B checks them) and
#: ignored, with one note line.
IGNORED_KEYS = ("description", "controller", "job", "image_uri", "apiVersion", "kind", "scheduler")
METHODS = ("grid", "random", "bayes")
WANDB_METHODS = METHODS + ("custom",)  # schema.json: method enum
GOALS = ("maximize", "minimize")
METRIC_NAMES = ("test_accuracy", "test_loss", "train_loss", "train_accuracy")
METRIC_KEYS = ("name", "goal", "target", "impute", "impute_while_running")
IMPUTE = ("worst", "best", "latest")
IMPUTE_WHILE_RUNNING = ("latest", "best", "worst", "false")
DEFAULT_METRIC = {"name": "test_accuracy", "goal": "maximize"}
ET_TYPES = ("hyperband",)
ET_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
GRID_KINDS = ("value", "values", "int_uniform", "q_uniform")
#: W&B's documented command macros (``${name}`` as a whole command item), plus
#: ``${envvar:NAME}`` anywhere inside an item.
MACROS = ("env", "interpreter", "program", "args", "args_no_hyphens", "args_json",
          "args_json_file", "args_no_boolean_flags", "args_no_equals", "args_append_hydra",
          "args_override_hydra")
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
DEFAULT_PROGRAM = "-m mlx train"
_ENVVAR = re.compile(r"\$\{envvar:([A-Z0-9_]*)\}")
_MACRO = re.compile(r"^\$\{([A-Za-z0-9_]+)\}$")

# distribution -> (required keys, optional keys with W&B's defaults)
DISTRIBUTIONS: dict[str, tuple[tuple, dict]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), {"q": 1.0}),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), {"q": 1.0}),
    "q_log_uniform_values": (("min", "max"), {"q": 1.0}),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, "q": 1.0}),
}
_VALUES_BOUNDS = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
_EXP_BOUNDS = ("log_uniform", "q_log_uniform", "inv_log_uniform")
_U_EPS = 1e-6  # quantile range (eps, 1 - eps) for unbounded distributions under optuna


def _is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _quantize(x: float, q):
    v = round(x / q) * q  # Python's round is half-to-even, like numpy.round in W&B
    return int(v) if _is_int(q) else float(v)


class Param(NamedTuple):
    """One parsed sweep parameter.

    kind: ``'value'`` (a constant, W&B ``distribution: constant``), ``'values'`` (W&B
    ``categorical``), or a W&B distribution name: ``categorical_w_probabilities``,
    ``int_uniform``, ``uniform``, ``q_uniform``, ``log_uniform`` (exponents),
    ``log_uniform_values``, ``q_log_uniform``, ``q_log_uniform_values``, ``inv_log_uniform``,
    ``inv_log_uniform_values``, ``normal``, ``q_normal``, ``log_normal``, ``q_log_normal``,
    ``beta``, ``q_beta``. Unused fields are None (``values``/``probabilities``: tuples).
    """

    name: str
    kind: str
    value: Any = None
    values: tuple = ()
    probabilities: tuple = ()
    min: float | None = None
    max: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None
    a: float | None = None
    b: float | None = None

    # ------------------------------------------------------------------ sampling

    def ppf(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1] (W&B draws random values as ppf(uniform))."""
        k = self.kind
        if k == "value":
            return copy.deepcopy(self.value)
        if k == "values":
            n = len(self.values)
            return copy.deepcopy(self.values[min(int(u * n), n - 1)])
        if k == "categorical_w_probabilities":
            cdf = list(itertools.accumulate(self.probabilities))
            i = min(bisect.bisect_right(cdf, u), len(self.values) - 1)
            return copy.deepcopy(self.values[i])
        if k == "int_uniform":
            span = self.max - self.min + 1
            return self.min + min(int(u * span), span - 1)
        if k in ("uniform", "q_uniform"):
            x = self.min + u * (self.max - self.min)
        elif k in ("log_uniform", "q_log_uniform"):
            x = math.exp(self.min + u * (self.max - self.min))
        elif k in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            lo, hi = math.log(self.min), math.log(self.max)
            x = math.exp(lo + u * (hi - lo))
        elif k == "inv_log_uniform":
            x = math.exp(-(self.min + (1.0 - u) * (self.max - self.min)))
        elif k in ("normal", "q_normal", "log_normal", "q_log_normal"):
            uu = min(max(u, 1e-12), 1 - 1e-12)
            x = self.mu + self.sigma * NormalDist().inv_cdf(uu)
            if k in ("log_normal", "q_log_normal"):
                x = math.exp(min(x, 700.0))
        elif k in ("beta", "q_beta"):
            from scipy.stats import beta  # only for beta parameters
            x = float(beta.ppf(u, self.a, self.b))
        else:  # pragma: no cover - parse_param rejects other kinds
            raise ValueError(f"unknown kind {k!r}")
        return _quantize(x, self.q) if k.startswith("q_") else float(x)

    def grid_values(self) -> list:
        """The values a W&B grid takes for this parameter (value/values/int_uniform/q_uniform)."""
        if self.kind == "value":
            return [copy.deepcopy(self.value)]
        if self.kind == "values":
            return [copy.deepcopy(v) for v in self.values]
        if self.kind == "int_uniform":
            return range(self.min, self.max + 1)   # lazy: a huge range is never built
        if self.kind == "q_uniform":
            import numpy as np
            n = max(0, math.ceil((self.max - self.min) / self.q))
            if n > GRID_AXIS_MAX:
                raise UsageError(f"parameter {self.name}: q_uniform from {self.min} to {self.max} step {self.q} "
                                 f"is {n:,} grid values, more than {GRID_AXIS_MAX:,}; use a bigger q or values")
            return np.arange(self.min, self.max, self.q).tolist()  # W&B: max excluded
        raise UsageError(f"parameter {self.name}: grid needs value/values or int_uniform/q_uniform, "
                         f"not {self.kind}")

    def probes(self) -> list:
        """Values to check against the config: every candidate, or the ends of a range."""
        k = self.kind
        if k == "value":
            return [self.value]
        if k in ("values", "categorical_w_probabilities"):
            return list(self.values)
        if k in ("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta"):
            return [self.ppf(u) for u in (1e-3, 0.5, 1 - 1e-3)]
        return [self.ppf(0.0), self.ppf(1.0)]

    # ------------------------------------------------------------------ optuna

    def optuna(self) -> tuple[Any, Callable[[Any], Any]] | None:
        """(optuna distribution, decode) for an optuna trial; None for a constant.

        values -> Categorical over indices (values may be lists); int_uniform -> Int;
        uniform -> Float; *log_uniform* -> Float(log=True) (quantized after, for q_*);
        q_uniform -> Int over k, value k*q; normal, log-normal, beta and weighted categorical ->
        Float over the quantile u, value ppf(u) (keeps W&B's prior).
        """
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)
        k = self.kind
        if k == "value":
            return None
        if k == "values":
            return (CategoricalDistribution(tuple(range(len(self.values)))),
                    lambda i: copy.deepcopy(self.values[int(i)]))
        if k == "int_uniform":
            return IntDistribution(self.min, self.max), int
        if k == "uniform":
            return FloatDistribution(self.min, self.max), float
        if k == "q_uniform":
            lo, hi = round(self.min / self.q), round(self.max / self.q)
            return IntDistribution(lo, max(lo, hi)), lambda i: _quantize(int(i) * self.q, self.q)
        if k in _VALUES_BOUNDS or k in _EXP_BOUNDS:
            lo, hi = self._log_range()
            dec = (lambda x: _quantize(x, self.q)) if k.startswith("q_") else float
            return FloatDistribution(lo, hi, log=True), dec
        return FloatDistribution(_U_EPS, 1 - _U_EPS), self.ppf

    def _log_range(self) -> tuple[float, float]:
        if self.kind in _VALUES_BOUNDS:
            return float(self.min), float(self.max)
        if self.kind == "inv_log_uniform":
            return math.exp(-self.max), math.exp(-self.min)
        return math.exp(self.min), math.exp(self.max)


class SweepSpec(NamedTuple):
    name: str                       # yaml 'name' or the file stem
    method: str                     # grid | random | bayes
    metric: dict                    # {'name': 'test_accuracy', 'goal': 'maximize'}
    parameters: dict                # name -> Param, in sorted name order (W&B's order)
    run_cap: int | None
    early_terminate: dict | None    # {'type': 'hyperband', 'min_iter': 1, 'eta': 3} (filled)
    command: list | None            # the yaml 'command' (None: W&B's default)
    raw: dict                       # the yaml as read
    notes: tuple = ()               # one-line notes (keys accepted and ignored, ...)

    @property
    def goal(self) -> str:
        return self.metric["goal"]

    @property
    def eta(self):
        """hyperband's eta (W&B's default 3; also without early_terminate)."""
        return (self.early_terminate or {}).get("eta", DEFAULT_ETA)

    @property
    def strict(self) -> bool:
        """hyperband's strict (W&B's default true: judge a run by its value at the band)."""
        return bool((self.early_terminate or {}).get("strict", DEFAULT_STRICT))


# ---------------------------------------------------------------------- reading


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML silently keeps the last one)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # let construct_mapping report it
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_sweep(path, *, note: Callable[[str], None] | None = None) -> SweepSpec:
    """Read and validate a W&B sweep file. Raises UsageError (one line) naming the problem.

    Each of ``spec.notes`` goes to ``note`` (default: ``mlx: note: ...`` on stderr).
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"sweep file {str(p)!r} not found")
    if not p.is_file():
        raise UsageError(f"sweep file {str(p)!r} is not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{p.name}: cannot read the sweep file ({e})") from None
    try:
        d = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        ctx = getattr(e, "context", None)
        raise UsageError(f"{p.name}: malformed YAML{where}: {what}"
                         + (f" ({ctx})" if ctx and "duplicate" not in what else "")) from None
    try:
        spec = parse_sweep(d, name=p.stem)
    except UsageError as e:
        raise UsageError(f"{p.name}: {e}") from None
    for n in spec.notes:
        (note or _print_note)(f"{p.name}: {n}")
    return spec


def _print_note(line: str) -> None:
    print(f"mlx: note: {line}", file=sys.stderr, flush=True)


def _suggest(word, allowed) -> str:
    m = difflib.get_close_matches(str(word), list(allowed), n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""


def parse_sweep(d: dict, name: str = "sweep") -> SweepSpec:
    """Validate a sweep dict (W&B's format) and parse its parameters.

    Refuses what W&B's schema (github.com/wandb/sweeps ``src/sweeps/config/schema.json`` and
    ``schema_violations_from_proposed_config`` in ``config/cfg.py``) or its engine refuses
    (bayes without ``metric``: ``bayes_search.py``; hyperband without ``metric``:
    ``hyperband_stopping.py``), plus what cannot run here (``method: custom``, nested
    ``parameters``, keys that are not Config fields); accepts the keys that do not change an
    offline run and lists them in ``spec.notes``.
    """
    if not isinstance(d, dict):
        got = "an empty file" if d is None else f"a {type(d).__name__}"
        raise UsageError(f"a sweep must be a mapping with method and parameters at the top level, "
                         f"got {got}")
    for k in d:
        if k not in TOP_KEYS:
            raise UsageError(f"unknown top-level key {k!r}{_suggest(k, TOP_KEYS)}; "
                             f"allowed: {', '.join(TOP_KEYS)}")
    for k in ("name", "description", "program", "project", "entity", "job", "image_uri",
              "apiVersion"):
        if k in d and not isinstance(d[k], str):
            raise UsageError(f"{k} must be text, got {d[k]!r}")
    if "kind" in d and d["kind"] != "sweep":
        raise UsageError(f"kind must be 'sweep', got {d['kind']!r}")
    _check_controller(d)
    method = d.get("method")
    if method is None:
        raise UsageError(f"missing method; allowed: {', '.join(METHODS)}")
    if method not in WANDB_METHODS:
        raise UsageError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if "metric" in d and "metrics" in d:
        raise UsageError("metric and metrics cannot both be set: use metric for a single objective "
                         "(metrics is W&B's multi-objective form for method custom)")
    if "metrics" in d and method != "custom":
        raise UsageError(f"metrics requires method custom (got method {method}): multi-objective "
                         f"optimization needs W&B's custom scheduler; use metric: {{name: ..., goal: ...}}")
    _check_scheduler(d, method)
    if method == "custom":
        raise UsageError("method custom runs a custom scheduler on W&B's side, which an offline "
                         "sweep cannot run; allowed here: " + ", ".join(METHODS))
    if method == "bayes" and "metric" not in d:
        raise UsageError("method bayes needs a metric section (W&B: 'Bayesian search requires "
                         "\"metric\" section'), e.g. metric: {name: test_accuracy, goal: maximize}")
    metric = _parse_metric(d)
    run_cap = d.get("run_cap")
    if "run_cap" in d and not (_is_int(run_cap) and run_cap > 0):
        raise UsageError(f"run_cap must be a positive integer, got {run_cap!r}")
    et = _parse_early_terminate(d["early_terminate"]) if "early_terminate" in d else None
    if et is not None and "metric" not in d:
        raise UsageError("early_terminate hyperband needs a metric section (W&B: 'Hyperband "
                         "stopping requires \"metric\" section'), e.g. metric: {name: test_loss, "
                         "goal: minimize}")
    command = _parse_command(d["command"]) if "command" in d else None

    ps = d.get("parameters")
    if not isinstance(ps, dict) or not ps:
        raise UsageError("missing or empty parameters; give a mapping of Config keys, "
                         "e.g. parameters: {lr: {values: [0.01, 0.1]}}")
    nested = [k for k in sorted(ps, key=str) if isinstance(ps[k], dict) and "parameters" in ps[k]]
    if nested:
        raise UsageError(_nested_message(ps, nested[0]))
    params = {}
    for pname in sorted(ps, key=str):
        if not isinstance(pname, str) or pname not in FIELDS:
            raise UsageError(f"unknown parameter {pname!r}{_suggest(pname, FIELDS)}; "
                             f"allowed (Config fields): {', '.join(FIELDS)}")
        params[pname] = parse_param(pname, ps[pname], method)
    _check_candidates(params)
    _check_boolean_flags(command, params)
    notes = _notes(d, command)
    spec = SweepSpec(d.get("name") or name, method, metric, params, run_cap, et, command, d,
                     tuple(notes))
    # One joint config (the first grid point / the medians) must be valid before anything runs.
    probe = {n: (p.grid_values()[0] if method == "grid" else p.ppf(0.5)) for n, p in params.items()}
    _check_joint(probe, "the parameters combine into an invalid config")
    return spec


def _block(d: dict, name: str, required: str, allowed, example: str) -> dict | None:
    """d[name] checked as W&B's schema checks it: a mapping holding ``required`` and only
    ``allowed`` keys; None when absent."""
    if name not in d:
        return None
    b = d[name]
    if not isinstance(b, dict) or required not in b:
        article = "an" if required[0] in "aeiou" else "a"
        raise UsageError(f"{name} must be a mapping with {article} {required}, e.g. {example}, got {b!r}")
    for k in b:
        if k not in allowed:
            raise UsageError(f"unknown {name} key {k!r}; allowed: {', '.join(allowed)}")
    return b


def _check_controller(d: dict) -> None:
    c = _block(d, "controller", "type", ("type",), "controller: {type: local}")
    if c is None:
        return
    if c["type"] not in ("local", "cloud"):
        raise UsageError(f"controller type {c['type']!r} is not allowed; allowed: local, cloud")


SCHEDULER_KEYS = ("engine", "source", "optimizer", "search_space")


def _check_scheduler(d: dict, method) -> None:
    """W&B's checks of ``scheduler`` (schema.json + cfg.py); only ``{engine: wandb}`` runs here."""
    sc = _block(d, "scheduler", "engine", SCHEDULER_KEYS, "scheduler: {engine: wandb}")
    if sc is None:
        return
    for k in ("optimizer", "search_space"):
        if k in sc and "source" not in sc:
            raise UsageError(f"scheduler {k} needs scheduler source (the file that defines it)")
    if sc["engine"] not in ("optuna", "ax", "wandb"):
        raise UsageError(f"scheduler engine {sc['engine']!r} is not allowed; allowed: optuna, ax, wandb")
    if sc["engine"] != "wandb":
        raise UsageError(f"scheduler.engine {sc['engine']!r} is not supported; supported engines are: wandb")
    if method not in METHODS:
        raise UsageError(f"scheduler.engine wandb does not support method {method}; supported "
                         f"methods are: {', '.join(METHODS)}")
    if "early_terminate" in d:
        raise UsageError("early_terminate cannot be used together with scheduler: early termination "
                         "must be implemented by the custom scheduler itself")
    if isinstance(d.get("controller"), dict) and d["controller"].get("type") == "local":
        raise UsageError("controller type local cannot be used together with scheduler: use "
                         "scheduler instead of controller")
    if "source" in sc:
        raise UsageError(f"scheduler source {sc['source']!r}: a custom scheduler runs on W&B's side, "
                         f"which an offline sweep cannot run; remove source/optimizer/search_space")


def _flat_leaves(ps: dict, out: dict) -> dict:
    for k, v in ps.items():
        if isinstance(v, dict) and isinstance(v.get("parameters"), dict):
            _flat_leaves(v["parameters"], out)
        else:
            out[k] = v
    return out


def _nested_message(ps: dict, first: str) -> str:
    flat = _flat_leaves(ps, {})
    shown = json.dumps(flat, default=str).replace('"', "")
    return (f"parameter {first}: nested parameters are not supported (Config is flat and W&B would "
            f"pass {first} as one dict-valued argument); write the leaves at the top level: "
            f"parameters: {shown}")


def _check_boolean_flags(command, params: dict) -> None:
    """``${args_no_boolean_flags}`` drops a false flag: a key whose default is true stays true."""
    if not command or "${args_no_boolean_flags}" not in [str(c) for c in command]:
        return
    for n, p in params.items():
        if FIELDS[n].default is True and any(v is False for v in p.probes()):
            raise UsageError(f"parameter {n}: ${{args_no_boolean_flags}} leaves out false flags, so "
                             f"{n}=false cannot reach mlx train (its default is true); use ${{args}} "
                             f"or ${{args_no_hyphens}} in command")


def _notes(d: dict, command) -> list[str]:
    notes = []
    ignored = [k for k in IGNORED_KEYS if k in d]
    if ignored:
        notes.append(f"accepted and ignored here (no effect on an offline run): {', '.join(ignored)}")
    cmd = [str(c) for c in (command or DEFAULT_COMMAND)]
    if "${program}" in cmd and not d.get("program"):
        notes.append("the command uses ${program} but the file has no program: key, so `wandb agent` "
                     "has nothing to run; add program: mlx/__main__.py (or a command without ${program})")
    return notes


def _parse_metric(d: dict) -> dict:
    if "metric" not in d:
        return dict(DEFAULT_METRIC)
    m = d["metric"]
    if not isinstance(m, dict):
        raise UsageError(f"metric must be a mapping like {{name: test_accuracy, goal: maximize}}, got {m!r}")
    for k in m:
        if k not in METRIC_KEYS:
            raise UsageError(f"unknown metric key {k!r}; allowed: {', '.join(METRIC_KEYS)}")
    if m.get("name") not in METRIC_NAMES:
        what = "missing metric name" if "name" not in m else f"unknown metric name {m['name']!r}"
        raise UsageError(f"{what}; allowed: {', '.join(METRIC_NAMES)}")
    goal = m.get("goal", "minimize")  # W&B's default goal
    if goal not in GOALS:
        raise UsageError(f"metric goal {goal!r} is not allowed; allowed: {', '.join(GOALS)}")
    if "impute" in m and m["impute"] not in IMPUTE:
        raise UsageError(f"metric impute {m['impute']!r} is not allowed; allowed: {', '.join(IMPUTE)}")
    if "impute_while_running" in m and m["impute_while_running"] not in IMPUTE_WHILE_RUNNING:
        raise UsageError(f"metric impute_while_running {m['impute_while_running']!r} is not allowed; "
                         f"allowed: {', '.join(IMPUTE_WHILE_RUNNING)}")
    if "target" in m and not _is_num(m["target"]):
        raise UsageError(f"metric target must be a number, got {m['target']!r}")
    return {**m, "goal": goal}


def _parse_early_terminate(et) -> dict:
    if not isinstance(et, dict):
        raise UsageError(f"early_terminate must be a mapping like {{type: hyperband, min_iter: 1, "
                         f"eta: 3}}, got {et!r} (remove the key to turn it off)")
    if et.get("type") not in ET_TYPES:
        raise UsageError(f"early_terminate type {et.get('type')!r} is not allowed; allowed: "
                         f"{', '.join(ET_TYPES)}")
    for k in et:
        if k not in ET_KEYS:
            raise UsageError(f"unknown early_terminate key {k!r}; allowed: {', '.join(ET_KEYS)}")
    for k in ("min_iter", "max_iter", "s"):
        if k in et and not (_is_int(et[k]) and et[k] >= 1):
            raise UsageError(f"early_terminate {k} must be a positive integer, got {et[k]!r}")
    if "eta" in et and not (_is_num(et["eta"]) and et["eta"] > 1):
        raise UsageError(f"early_terminate eta must be a number > 1, got {et['eta']!r}")
    if "strict" in et and not isinstance(et["strict"], bool):
        raise UsageError(f"early_terminate strict must be true or false, got {et['strict']!r}")
    if "min_iter" not in et and not ("max_iter" in et and "s" in et):
        raise UsageError("early_terminate hyperband needs min_iter (with optional eta), "
                         "or max_iter and s")
    if "max_iter" in et and "s" not in et:  # W&B's engine takes max_iter first and reads s
        raise UsageError("early_terminate max_iter needs s (W&B's engine uses max_iter and s "
                         "before min_iter); give max_iter and s, or min_iter alone")
    et = {"eta": DEFAULT_ETA, "strict": DEFAULT_STRICT, **et}
    if not _hyperband_bands(et, limit=1):
        raise UsageError(f"early_terminate: max_iter {et['max_iter']} / eta {et['eta']} is below 1, "
                         f"so there are no bands (W&B: 'Bands must be an array of length at least "
                         f"1. Try increasing s, decreasing eta, or increasing min_iter.')")
    return et


def _parse_command(cmd) -> list | None:
    if isinstance(cmd, list) and not cmd:
        return None  # W&B's agent runs its default command for an empty one
    if not isinstance(cmd, list):
        raise UsageError(f"command must be a non-empty list, e.g. [\"${{env}}\", \"${{interpreter}}\", "
                         f"\"-m\", \"mlx\", \"train\", \"${{args_no_hyphens}}\"], got {cmd!r}")
    for c in cmd:
        if not isinstance(c, (str, int, float)) or isinstance(c, bool):
            raise UsageError(f"command items must be text, got {c!r}")
        s = _ENVVAR.sub("", str(c))
        m = _MACRO.match(s)
        if m and m.group(1) not in MACROS:
            raise UsageError(f"unknown command macro {s!r}; allowed: "
                             + ", ".join("${" + x + "}" for x in MACROS) + ", ${envvar:NAME}")
        if not m and "${" in s:
            raise UsageError(f"command item {str(c)!r}: a macro must be a whole item "
                             f"(W&B leaves it as text otherwise)")
    return list(cmd)


def _num(name: str, key: str, v) -> float:
    if _is_num(v):
        return v
    hint = ""
    if isinstance(v, str):
        try:
            float(v)
            hint = " (YAML reads 1e-4 as text: write 1.0e-4 or 0.0001)"
        except ValueError:
            pass
    raise UsageError(f"parameter {name}: {key} must be a number, got {v!r}{hint}")


def parse_param(name: str, spec, method: str = "random") -> Param:
    """One parameter's W&B spec -> Param; UsageError (one line) if it is not valid."""
    if not isinstance(spec, dict):
        raise UsageError(f"parameter {name}: spec must be a mapping like {{values: [...]}} or "
                         f"{{value: ...}}, got {spec!r}")
    if "parameters" in spec:
        raise UsageError(_nested_message({name: spec}, name))
    dist = spec.get("distribution")
    if dist is None:
        if "value" in spec and "values" in spec:
            raise UsageError(f"parameter {name}: give value or values, not both")
        if "value" in spec:
            dist = "constant"
        elif "values" in spec:
            dist = "categorical_w_probabilities" if "probabilities" in spec else "categorical"
        elif "min" in spec or "max" in spec:
            both_int = _is_int(spec.get("min")) and _is_int(spec.get("max"))
            dist = "int_uniform" if both_int else "uniform"
        else:
            raise UsageError(f"parameter {name}: needs value, values, or a distribution with its "
                             f"bounds, e.g. {{values: [...]}} or {{distribution: uniform, min: 0, max: 1}}")
    if dist in _EXP_BOUNDS:  # W&B: PARAM_DEPRECATION_MAP in src/sweeps/params.py
        raise UsageError(f"parameter {name} uses {dist}, where min/max specify base-e exponents. "
                         f"Use {dist}_values to specify limit values (W&B refuses {dist})")
    if dist not in DISTRIBUTIONS or dist in _EXP_BOUNDS:
        allowed = [k for k in DISTRIBUTIONS if k not in _EXP_BOUNDS]
        raise UsageError(f"parameter {name}: unknown distribution {dist!r}{_suggest(dist, allowed)}; "
                         f"allowed: {', '.join(allowed)}")
    required, optional = DISTRIBUTIONS[dist]
    allowed = ("distribution",) + required + tuple(optional)
    for k in spec:
        if k not in allowed:
            raise UsageError(f"parameter {name}: unknown key {k!r} for distribution {dist}; "
                             f"allowed: {', '.join(allowed)}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise UsageError(f"parameter {name}: distribution {dist} needs {' and '.join(required)}")
    f = {**optional, **{k: v for k, v in spec.items() if k != "distribution"}}
    kind = {"constant": "value", "categorical": "values"}.get(dist, dist)

    if kind in ("values", "categorical_w_probabilities"):
        vals = f["values"]
        if not isinstance(vals, list):
            raise UsageError(f"parameter {name}: values must be a list, e.g. values: [0.01, 0.1], got {vals!r}")
        if not vals:
            raise UsageError(f"parameter {name}: values is an empty list (empty grid); give at least one value")
        f["values"] = tuple(vals)
    if kind == "categorical_w_probabilities":
        pr = f["probabilities"]
        if (not isinstance(pr, list) or len(pr) != len(f["values"])
                or not all(_is_num(x) and x >= 0 for x in pr)):
            raise UsageError(f"parameter {name}: probabilities must be one number >= 0 per value "
                             f"({len(f['values'])}), got {pr!r}")
        if abs(sum(pr) - 1.0) > 1e-6:
            raise UsageError(f"parameter {name}: probabilities must sum to 1, they sum to {sum(pr):g}")
        f["probabilities"] = tuple(float(x) for x in pr)
    for k in ("min", "max", "q", "mu", "sigma", "a", "b"):
        if k in f:
            f[k] = _num(name, k, f[k])
    if kind == "int_uniform" and not (_is_int(f["min"]) and _is_int(f["max"])):
        raise UsageError(f"parameter {name}: int_uniform needs integer min and max, "
                         f"got {f['min']!r} and {f['max']!r}")
    if "min" in f and not f["min"] < f["max"]:
        raise UsageError(f"parameter {name}: min {f['min']} is not less than max {f['max']}")
    if kind in _VALUES_BOUNDS and f["min"] <= 0:
        raise UsageError(f"parameter {name}: {kind} needs min > 0, got {f['min']} (bounds are "
                         f"values; log_uniform takes exponents)")
    if kind in _EXP_BOUNDS and not (-700 < f["min"] and f["max"] < 700):
        raise UsageError(f"parameter {name}: {kind} takes natural-log exponents between -700 and "
                         f"700, got {f['min']} and {f['max']} (for values use {kind}_values)")
    if "q" in f and not f["q"] > 0:
        raise UsageError(f"parameter {name}: q must be > 0, got {f['q']}")
    if "sigma" in f and not f["sigma"] >= 0:
        raise UsageError(f"parameter {name}: sigma must be >= 0, got {f['sigma']}")
    for k in ("a", "b"):
        if k in f and not f[k] > 0:
            raise UsageError(f"parameter {name}: beta {k} must be > 0, got {f[k]}")
    if method == "grid" and kind not in GRID_KINDS:
        raise UsageError(f"parameter {name}: grid needs value/values or int_uniform/q_uniform, "
                         f"not {kind} (use method random or bayes, or list the values)")
    p = Param(name, kind, **f)
    if method == "grid" and kind == "q_uniform" and not p.grid_values():
        raise UsageError(f"parameter {name}: q_uniform gives no grid values (empty grid)")
    _check_integer_field(p)
    return p


def _field_kind(name: str) -> str:
    d = FIELDS[name].default
    if isinstance(d, bool):
        return "bool"
    if isinstance(d, int) or name == "hidden":
        return "int"
    return type(d).__name__


def _check_integer_field(p: Param) -> None:
    """An integer key (epochs, seed, hidden, ...) needs a distribution that gives integers."""
    if _field_kind(p.name) != "int" or p.kind in ("value", "values", "categorical_w_probabilities",
                                                  "int_uniform"):
        return
    if p.kind.startswith("q_") and float(p.q).is_integer():
        return
    raise UsageError(f"parameter {p.name}: an integer key needs values, int_uniform, or a q_ "
                     f"distribution with an integer q, not {p.kind}")


def _show(v) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else repr(v)


def _check_candidates(params: dict) -> None:
    """Every candidate value of each parameter, alone (or beside the others' first values)."""
    firsts = {n: p.probes()[0] for n, p in params.items()}
    for n, p in params.items():
        for v in p.probes():
            try:
                parse_value(n, v)
                make_config({n: v})
                continue
            except ConfigError as e:
                err = e
            try:  # a value may need another key of the sweep (data=csv needs path=...)
                make_config({**firsts, n: v})
                continue
            except ConfigError:
                pass
            if p.kind in ("value", "values", "categorical_w_probabilities"):
                raise UsageError(f"parameter {n}: {err}") from None
            raise UsageError(f"parameter {n}: distribution {p.kind} can give {_show(v)}, which is "
                             f"not allowed: {err}") from None


def _check_joint(config: dict, what: str) -> None:
    try:
        make_config(config)
    except ConfigError as e:
        raise UsageError(f"{what} {json.dumps(config, default=str)}: {e}") from None


# ---------------------------------------------------------------------- generating


def _cap(spec: SweepSpec, count) -> int | None:
    if count is not None and not (_is_int(count) and count > 0):
        raise UsageError(f"--count must be a positive integer, got {count!r}")
    caps = [c for c in (spec.run_cap, count) if c is not None]
    return min(caps) if caps else None


def _key(config: dict) -> str:
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v
    return json.dumps({k: norm(v) for k, v in config.items()}, sort_keys=True, default=str)


GRID_AXIS_MAX = 10_000_000


def size(spec: SweepSpec) -> int:
    """How many configs a grid has (before duplicates are skipped), computed without building
    them; 0 for random and bayes (their size is run_cap or count=)."""
    if spec.method != "grid":
        return 0
    n = 1
    for p in spec.parameters.values():
        n *= len(p.grid_values())
    return n


def grid_configs(spec: SweepSpec, limit: int | None = None) -> list[dict]:
    """All grid points in W&B's order (sorted names, last varies fastest), duplicates skipped."""
    names = list(spec.parameters)
    axes = [spec.parameters[n].grid_values() for n in names]
    out, seen = [], set()
    for combo in itertools.product(*axes):
        c = {n: copy.deepcopy(v) for n, v in zip(names, combo)}
        k = _key(c)
        if k in seen:
            continue
        seen.add(k)
        out.append(c)
        if limit is not None and len(out) >= limit:
            break
    return out


def _random_stream(spec: SweepSpec, seed: int):
    import numpy as np
    rng = np.random.default_rng(seed)
    while True:
        yield {n: p.ppf(float(rng.random())) for n, p in spec.parameters.items()}


def generate(spec: SweepSpec, *, count: int | None = None, seed: int = 0) -> list[dict]:
    """The configs of a grid or random sweep, each validated with mlx.config.make_config.

    grid: every point in W&B's order, the first min(run_cap, count) if given. random:
    min(run_cap, count) draws from ``default_rng(seed)`` (UsageError if neither is given).
    bayes is adaptive: use :class:`Proposer`. Configs hold the values W&B would hand the run
    (python ints/floats/strings/lists), one key per sweep parameter, in sorted key order.
    """
    n = _cap(spec, count)
    if spec.method == "grid":
        configs = grid_configs(spec, n)
    elif spec.method == "random":
        if n is None:
            raise UsageError("random needs run_cap or --count (how many configs to draw)")
        configs = list(itertools.islice(_random_stream(spec, seed), n))
    else:
        raise UsageError(f"method {spec.method} is adaptive: use Proposer(spec).ask/tell, not generate()")
    for i, c in enumerate(configs):
        _check_joint(c, f"sweep config #{i + 1}")
    return configs


class Proposer:
    """Configs in rounds: ``ask(n)`` a batch, train it, ``tell(configs, values)``.

    bayes: optuna ``TPESampler(seed=seed)`` (constant liar on, so a batch asked before any tell
    is spread out), W&B distributions mapped to optuna's (see :meth:`Param.optuna`), direction
    from ``metric.goal``. random: the same ``default_rng(seed)`` stream as :func:`generate`, so
    ``ask(a) + ask(b) == generate(spec, count=a + b, seed=seed)``. grid: the grid in order.
    At most min(run_cap, count) configs are asked in all (grid: the grid's size); ``ask`` returns
    fewer (or none) when that runs out, and :attr:`done` says so.

    A value that is NaN, inf or None (a diverged or failed run) is imputed as W&B does with
    ``metric.impute`` (default ``worst``): told to optuna as the worst finite value told so far
    (this batch included; ``best``: the best; ``latest`` has no per-run history here and acts as
    ``worst``). While no finite value exists yet, the trial is told as failed
    (``TrialState.FAIL``), which TPE leaves out.
    """

    def __init__(self, spec: SweepSpec, seed: int = 0, *, count: int | None = None):
        self.spec, self.seed = spec, seed
        self.limit = _cap(spec, count)
        self.asked = 0
        self.results: list[tuple[dict, float]] = []  # (config, value as given) per tell
        self._pending: dict[str, list] = {}
        self._finite: list[float] = []
        self.study = None
        if spec.method == "grid":
            self._grid = grid_configs(spec, self.limit)
            self.limit = len(self._grid)
        elif spec.method == "random":
            self._stream = _random_stream(spec, seed)
        else:
            import optuna
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self._dists, self._decode = {}, {}
            for n, p in spec.parameters.items():
                m = p.optuna()
                if m is not None:
                    self._dists[n], self._decode[n] = m
            self.study = optuna.create_study(direction=spec.goal,
                                             sampler=optuna.samplers.TPESampler(seed=seed))

    @property
    def done(self) -> bool:
        return self.limit is not None and self.asked >= self.limit

    def ask(self, n: int) -> list[dict]:
        if not (_is_int(n) and n >= 0):
            raise ValueError(f"ask(n): n must be an integer >= 0, got {n!r}")
        if self.limit is not None:
            n = min(n, self.limit - self.asked)
        if self.spec.method == "grid":
            out = [copy.deepcopy(c) for c in self._grid[self.asked:self.asked + n]]
        elif self.spec.method == "random":
            out = list(itertools.islice(self._stream, n))
        else:
            out = []
            for _ in range(n):
                trial = self.study.ask(self._dists)
                c = {}
                for name, p in self.spec.parameters.items():
                    c[name] = (self._decode[name](trial.params[name]) if name in self._dists
                               else copy.deepcopy(p.value))
                self._pending.setdefault(_key(c), []).append(trial)
                out.append(c)
        for i, c in enumerate(out):
            _check_joint(c, f"sweep config #{self.asked + i + 1}")
        self.asked += len(out)
        return out

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
            key = _key({n: c[n] for n in self.spec.parameters})
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


# ---------------------------------------------------------------------- hyperband


# :func:`hyperband_rungs` is :func:`mlx.sweep.hyperband.rungs` (imported above): W&B's bands below the
# longest budget; :func:`mlx.sweep.hyperband.stop_lanes` makes W&B's stop decision at each of them.


# ---------------------------------------------------------------------- command


def command_args(config: dict) -> dict[str, list[str]]:
    """The argument macros as W&B's agent builds them (``create_sweep_command_args``).

    Every value is formatted with ``str()``: ``lr=0.0001``, ``lr=1e-05``, ``hidden=[512, 256]``,
    ``pictures=True``/``False``, ``label_threshold=None``; ``${args_json}`` is ``json.dumps``
    (``true``/``false``/``null``).
    """
    flags, no_hyph, no_bool, no_eq, app, over = [], [], [], [], [], []
    for k, v in config.items():
        flag = f"{k}={v}"
        flags.append("--" + flag)
        no_hyph.append(flag)
        no_eq += [f"--{k}", str(v)]
        app.append("+" + flag)
        over.append("++" + flag)
        if isinstance(v, bool):
            if v:
                no_bool.append("--" + k)
        else:
            no_bool.append("--" + flag)
    return {"args": flags, "args_no_hyphens": no_hyph, "args_no_boolean_flags": no_bool,
            "args_no_equals": no_eq, "args_append_hydra": app, "args_override_hydra": over,
            "args_json": [json.dumps(config)]}


def expand_command(spec: SweepSpec, config: dict, *, program: str = DEFAULT_PROGRAM,
                   interpreter: str = sys.executable,
                   env: tuple = ("/usr/bin/env",) if os.name != "nt" else (),
                   args_json_dir: str | None = None) -> list[str]:
    """The argv that ``wandb agent`` runs for ``config`` (W&B's macros, W&B's formatting).

    ``command`` defaults to W&B's ``${env} ${interpreter} ${program} ${args}``. ``${program}``
    is the yaml ``program`` (one item, as W&B passes it) or, without one, ``program`` split like
    a shell would (default ``-m mlx train``, so the default command runs this package).
    ``${interpreter}`` is ``interpreter`` (W&B's agent passes plain ``python``; here the running
    one). ``${args_json_file}`` writes the JSON to a new file in ``args_json_dir`` (default: the
    temp folder) and passes its path; the caller removes it. ``${envvar:NAME}`` inside an item
    becomes $NAME (NAME itself when unset, as W&B does).
    """
    vars_ = command_args(config)
    vars_["env"] = list(env)
    vars_["interpreter"] = [interpreter]
    prog = spec.raw.get("program") if isinstance(spec.raw, dict) else None
    vars_["program"] = [prog] if prog else shlex.split(program)
    cmd = [str(c) for c in (spec.command or DEFAULT_COMMAND)]
    out = []
    for c in cmd:
        c = _ENVVAR.sub(lambda m: os.environ.get(m.group(1), m.group(1)), c)
        m = _MACRO.match(c)
        if not m:
            out.append(c)
        elif m.group(1) == "args_json_file":
            fd, path = tempfile.mkstemp(prefix="mlx-sweep-args-", suffix=".json", dir=args_json_dir)
            with os.fdopen(fd, "w") as fh:
                fh.write(vars_["args_json"][0])
            out.append(path)
        else:
            out += vars_.get(m.group(1)) or []
    return out


__all__ = ["SweepSpec", "Param", "load_sweep", "parse_sweep", "parse_param", "generate",
           "grid_configs", "Proposer", "hyperband_rungs", "expand_command", "command_args",
           "DEFAULT_COMMAND", "DISTRIBUTIONS", "METHODS", "METRIC_NAMES", "TOP_KEYS", "MACROS"]

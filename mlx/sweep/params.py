"""One sweep parameter: W&B's distributions, a parameter's mapping read into a :class:`Param`,
and the values a Param gives (W&B's random draw, its grid values, the values checked).

W&B semantics kept (github.com/wandb/sweeps, ``src/sweeps/params.py`` and
``src/sweeps/config/schema.json``):

* a parameter without ``distribution`` is inferred: ``value`` -> constant, ``values`` ->
  categorical (``categorical_w_probabilities`` with ``probabilities``), ``min``/``max`` ->
  ``int_uniform`` when both are integers, else ``uniform``. ``q`` defaults to 1.0 (a float, so
  quantized values are floats unless q is an integer), ``mu``/``sigma`` to 0/1, ``a``/``b`` to 1.
* ``log_uniform``, ``q_log_uniform`` and ``inv_log_uniform`` (min/max as natural-log exponents)
  are refused as W&B refuses them; their ``*_values`` forms take the values.
* a random value is ``ppf(u)`` of its distribution (as W&B draws it); a grid takes
  ``int_uniform`` as ``range(min, max + 1)`` and ``q_uniform`` as ``numpy.arange(min, max, q)``
  (max excluded, as W&B does), and refuses any other distribution.

Every candidate value of every parameter is checked against :mod:`mlx.config` when the file is
read (e.g. ``model: [logreg, transformer]`` names ``transformer`` and the allowed models);
:func:`check_config` checks a joint config.
"""
from __future__ import annotations

import bisect
import copy
import difflib
import itertools
import json
import math
from statistics import NormalDist
from typing import Any, NamedTuple

from mlx.config import FIELDS, make_config, parse_value
from mlx.errors import ConfigError, UsageError

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
VALUES_BOUNDS = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
EXP_BOUNDS = ("log_uniform", "q_log_uniform", "inv_log_uniform")
GRID_KINDS = ("value", "values", "int_uniform", "q_uniform")
GRID_AXIS_MAX = 10_000_000


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_integer(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def quantize(x: float, q):
    v = round(x / q) * q  # Python's round is half-to-even, like numpy.round in W&B
    return int(v) if is_integer(q) else float(v)


def suggest(word, allowed) -> str:
    """`` (did you mean 'x'?)`` for the closest allowed word, or ''."""
    m = difflib.get_close_matches(str(word), list(allowed), n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""


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
        return quantize(x, self.q) if k.startswith("q_") else float(x)

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


# ---------------------------------------------------------------------- reading


def parse_parameters(ps, method: str) -> dict[str, Param]:
    """The sweep's ``parameters`` mapping -> {name: Param} in sorted name order (W&B's order),
    each parameter checked, and every candidate value checked against :mod:`mlx.config`."""
    if not isinstance(ps, dict) or not ps:
        raise UsageError("missing or empty parameters; give a mapping of Config keys, "
                         "e.g. parameters: {lr: {values: [0.01, 0.1]}}")
    nested = [k for k in sorted(ps, key=str) if isinstance(ps[k], dict) and "parameters" in ps[k]]
    if nested:
        raise UsageError(_nested_message(ps, nested[0]))
    params = {}
    for pname in sorted(ps, key=str):
        if not isinstance(pname, str) or pname not in FIELDS:
            raise UsageError(f"unknown parameter {pname!r}{suggest(pname, FIELDS)}; "
                             f"allowed (Config fields): {', '.join(FIELDS)}")
        params[pname] = parse_param(pname, ps[pname], method)
    check_candidates(params)
    return params


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


def parse_param(name: str, spec, method: str = "random") -> Param:
    """One parameter's W&B spec -> Param; UsageError (one line) if it is not valid."""
    if not isinstance(spec, dict):
        raise UsageError(f"parameter {name}: spec must be a mapping like {{values: [...]}} or "
                         f"{{value: ...}}, got {spec!r}")
    if "parameters" in spec:
        raise UsageError(_nested_message({name: spec}, name))
    dist = _distribution(name, spec)
    f = _fields(name, spec, dist)
    kind = {"constant": "value", "categorical": "values"}.get(dist, dist)
    _read_values(name, kind, f)
    _check_numbers(name, kind, f, method)
    p = Param(name, kind, **f)
    if method == "grid" and kind == "q_uniform" and not p.grid_values():
        raise UsageError(f"parameter {name}: q_uniform gives no grid values (empty grid)")
    _check_integer_field(p)
    return p


def _distribution(name: str, spec: dict) -> str:
    """The W&B distribution: as given, or inferred from the keys as W&B infers it."""
    dist = spec.get("distribution")
    if dist is None:
        if "value" in spec and "values" in spec:
            raise UsageError(f"parameter {name}: give value or values, not both")
        if "value" in spec:
            dist = "constant"
        elif "values" in spec:
            dist = "categorical_w_probabilities" if "probabilities" in spec else "categorical"
        elif "min" in spec or "max" in spec:
            both_int = is_integer(spec.get("min")) and is_integer(spec.get("max"))
            dist = "int_uniform" if both_int else "uniform"
        else:
            raise UsageError(f"parameter {name}: needs value, values, or a distribution with its "
                             f"bounds, e.g. {{values: [...]}} or {{distribution: uniform, min: 0, max: 1}}")
    if dist in EXP_BOUNDS:  # W&B: PARAM_DEPRECATION_MAP in src/sweeps/params.py
        raise UsageError(f"parameter {name} uses {dist}, where min/max specify base-e exponents. "
                         f"Use {dist}_values to specify limit values (W&B refuses {dist})")
    if dist not in DISTRIBUTIONS or dist in EXP_BOUNDS:
        allowed = [k for k in DISTRIBUTIONS if k not in EXP_BOUNDS]
        raise UsageError(f"parameter {name}: unknown distribution {dist!r}{suggest(dist, allowed)}; "
                         f"allowed: {', '.join(allowed)}")
    return dist


def _fields(name: str, spec: dict, dist: str) -> dict:
    """The distribution's keys (only its own, the required ones present), W&B's defaults filled."""
    required, optional = DISTRIBUTIONS[dist]
    allowed = ("distribution",) + required + tuple(optional)
    for k in spec:
        if k not in allowed:
            raise UsageError(f"parameter {name}: unknown key {k!r} for distribution {dist}; "
                             f"allowed: {', '.join(allowed)}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise UsageError(f"parameter {name}: distribution {dist} needs {' and '.join(required)}")
    return {**optional, **{k: v for k, v in spec.items() if k != "distribution"}}


def _read_values(name: str, kind: str, f: dict) -> None:
    """``values`` (a non-empty list) and ``probabilities`` (one per value, summing to 1), as tuples."""
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
                or not all(is_number(x) and x >= 0 for x in pr)):
            raise UsageError(f"parameter {name}: probabilities must be one number >= 0 per value "
                             f"({len(f['values'])}), got {pr!r}")
        if abs(sum(pr) - 1.0) > 1e-6:
            raise UsageError(f"parameter {name}: probabilities must sum to 1, they sum to {sum(pr):g}")
        f["probabilities"] = tuple(float(x) for x in pr)


def _check_numbers(name: str, kind: str, f: dict, method: str) -> None:
    """The numeric keys are numbers in their ranges, and a grid gets a distribution it can take."""
    for k in ("min", "max", "q", "mu", "sigma", "a", "b"):
        if k in f:
            f[k] = _num(name, k, f[k])
    if kind == "int_uniform" and not (is_integer(f["min"]) and is_integer(f["max"])):
        raise UsageError(f"parameter {name}: int_uniform needs integer min and max, "
                         f"got {f['min']!r} and {f['max']!r}")
    if "min" in f and not f["min"] < f["max"]:
        raise UsageError(f"parameter {name}: min {f['min']} is not less than max {f['max']}")
    if kind in VALUES_BOUNDS and f["min"] <= 0:
        raise UsageError(f"parameter {name}: {kind} needs min > 0, got {f['min']} (bounds are "
                         f"values; log_uniform takes exponents)")
    if kind in EXP_BOUNDS and not (-700 < f["min"] and f["max"] < 700):
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


def _num(name: str, key: str, v) -> float:
    if is_number(v):
        return v
    hint = ""
    if isinstance(v, str):
        try:
            float(v)
            hint = " (YAML reads 1e-4 as text: write 1.0e-4 or 0.0001)"
        except ValueError:
            pass
    raise UsageError(f"parameter {name}: {key} must be a number, got {v!r}{hint}")


# ---------------------------------------------------------------------- checks against the config


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


def check_candidates(params: dict) -> None:
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


def check_first_config(params: dict, method: str) -> None:
    """One joint config (the first grid point / the medians) must be valid before anything runs."""
    probe = {n: (p.grid_values()[0] if method == "grid" else p.ppf(0.5)) for n, p in params.items()}
    check_config(probe, "the parameters combine into an invalid config")


def check_config(config: dict, what: str) -> None:
    """``config`` through :func:`mlx.config.make_config`; UsageError ``<what> <config>: <why>``."""
    try:
        make_config(config)
    except ConfigError as e:
        raise UsageError(f"{what} {json.dumps(config, default=str)}: {e}") from None


__all__ = ["Param", "DISTRIBUTIONS", "GRID_KINDS", "GRID_AXIS_MAX", "parse_parameters",
           "parse_param", "check_candidates", "check_first_config", "check_config", "is_number",
           "is_integer", "quantize", "suggest"]

"""W&B sweep files, read and checked offline: ``sweep.yaml`` -> a :class:`SweepSpec`.

The file is W&B's own sweep format, unchanged (``wandb sweep sweep.yaml`` accepts it too)::

    spec = load_sweep("sweep.yaml")            # validates everything, one-line UsageError

and what reads it further lives beside it: :mod:`mlx.sweep.params` (one parameter: W&B's
distributions), :mod:`mlx.sweep.search` (grid and random configs), :mod:`mlx.sweep.bayes`
(optuna rounds), :mod:`mlx.sweep.hyperband` (the early-termination bands and stop rule),
:mod:`mlx.sweep.command` (the command ``wandb agent`` would run).

W&B semantics kept (checked against W&B's engine, github.com/wandb/sweeps, its schema
``src/sweeps/config/schema.json`` and ``schema_violations_from_proposed_config``):

* ``bayes`` and ``early_terminate`` need ``metric`` (as W&B's engine does); W&B keys that do not
  change an offline run (``controller``, ``job``, ``image_uri``, ``description``, ``apiVersion``,
  ``kind``, ``scheduler: {engine: wandb}``) are accepted and noted; ``method: custom``, a
  scheduler ``source``, ``metrics`` and nested ``parameters`` are refused (one line each).
* ``metric.goal`` defaults to ``minimize`` when ``metric`` is given without one (W&B's default);
  without any ``metric`` the sweep maximizes ``test_accuracy``.
* ``early_terminate: {type: hyperband, min_iter, eta=3, strict=true}`` or ``{max_iter, s,
  eta=3}``; ``spec.eta`` and ``spec.strict`` give them with W&B's defaults.

Everything is checked when the file is read, before anything trains: every key, every
distribution and its bounds, and every candidate value of every parameter against
:mod:`mlx.config`. Joint configs are checked again as they are generated or asked.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, NamedTuple

import yaml

from mlx.errors import UsageError
from mlx.sweep.command import DEFAULT_COMMAND, check_boolean_flags, parse_command
from mlx.sweep.hyperband import DEFAULT_ETA, DEFAULT_STRICT, bands as hyperband_bands
from mlx.sweep.params import (check_first_config, is_integer, is_number, parse_parameters,
                              suggest)

TOP_KEYS = ("program", "method", "metric", "parameters", "name", "description", "run_cap",
            "early_terminate", "command", "project", "entity", "controller", "job", "image_uri",
            "apiVersion", "kind", "metrics", "scheduler")
#: W&B schema keys that do not change an offline run: accepted (checked as W&B checks them) and
#: ignored, with one note line.
IGNORED_KEYS = ("description", "controller", "job", "image_uri", "apiVersion", "kind", "scheduler")
TEXT_KEYS = ("name", "description", "program", "project", "entity", "job", "image_uri", "apiVersion")
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
SCHEDULER_KEYS = ("engine", "source", "optimizer", "search_space")


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
    d = _read_yaml(p)
    try:
        spec = parse_sweep(d, name=p.stem)
    except UsageError as e:
        raise UsageError(f"{p.name}: {e}") from None
    for n in spec.notes:
        (note or _print_note)(f"{p.name}: {n}")
    return spec


def _read_yaml(p: Path):
    """The file's YAML (duplicate keys refused); UsageError naming the line of a YAML error."""
    if not p.exists():
        raise UsageError(f"sweep file {str(p)!r} not found")
    if not p.is_file():
        raise UsageError(f"sweep file {str(p)!r} is not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{p.name}: cannot read the sweep file ({e})") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        ctx = getattr(e, "context", None)
        raise UsageError(f"{p.name}: malformed YAML{where}: {what}"
                         + (f" ({ctx})" if ctx and "duplicate" not in what else "")) from None


def _print_note(line: str) -> None:
    print(f"mlx: note: {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- checking


def parse_sweep(d: dict, name: str = "sweep") -> SweepSpec:
    """Validate a sweep dict (W&B's format) and parse its parameters.

    Refuses what W&B's schema (github.com/wandb/sweeps ``src/sweeps/config/schema.json`` and
    ``schema_violations_from_proposed_config`` in ``config/cfg.py``) or its engine refuses
    (bayes without ``metric``: ``bayes_search.py``; hyperband without ``metric``:
    ``hyperband_stopping.py``), plus what cannot run here (``method: custom``, nested
    ``parameters``, keys that are not Config fields); accepts the keys that do not change an
    offline run and lists them in ``spec.notes``.
    """
    _check_top_level(d)
    method = _parse_method(d)
    metric = _parse_metric(d)
    run_cap = d.get("run_cap")
    if "run_cap" in d and not (is_integer(run_cap) and run_cap > 0):
        raise UsageError(f"run_cap must be a positive integer, got {run_cap!r}")
    et = _parse_early_terminate(d["early_terminate"]) if "early_terminate" in d else None
    if et is not None and "metric" not in d:
        raise UsageError("early_terminate hyperband needs a metric section (W&B: 'Hyperband "
                         "stopping requires \"metric\" section'), e.g. metric: {name: test_loss, "
                         "goal: minimize}")
    command = parse_command(d["command"]) if "command" in d else None
    params = parse_parameters(d.get("parameters"), method)
    check_boolean_flags(command, params)
    notes = _notes(d, command)
    spec = SweepSpec(d.get("name") or name, method, metric, params, run_cap, et, command, d,
                     tuple(notes))
    check_first_config(params, method)
    return spec


def _check_top_level(d) -> None:
    """A mapping of W&B's top-level keys, the text ones text, ``kind: sweep``, a valid controller."""
    if not isinstance(d, dict):
        got = "an empty file" if d is None else f"a {type(d).__name__}"
        raise UsageError(f"a sweep must be a mapping with method and parameters at the top level, "
                         f"got {got}")
    for k in d:
        if k not in TOP_KEYS:
            raise UsageError(f"unknown top-level key {k!r}{suggest(k, TOP_KEYS)}; "
                             f"allowed: {', '.join(TOP_KEYS)}")
    for k in TEXT_KEYS:
        if k in d and not isinstance(d[k], str):
            raise UsageError(f"{k} must be text, got {d[k]!r}")
    if "kind" in d and d["kind"] != "sweep":
        raise UsageError(f"kind must be 'sweep', got {d['kind']!r}")
    _check_controller(d)


def _parse_method(d: dict) -> str:
    """``method`` (one of W&B's, runnable here), with the checks W&B ties to it."""
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
    return method


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
    if "target" in m and not is_number(m["target"]):
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
        if k in et and not (is_integer(et[k]) and et[k] >= 1):
            raise UsageError(f"early_terminate {k} must be a positive integer, got {et[k]!r}")
    if "eta" in et and not (is_number(et["eta"]) and et["eta"] > 1):
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
    if not hyperband_bands(et, limit=1):
        raise UsageError(f"early_terminate: max_iter {et['max_iter']} / eta {et['eta']} is below 1, "
                         f"so there are no bands (W&B: 'Bands must be an array of length at least "
                         f"1. Try increasing s, decreasing eta, or increasing min_iter.')")
    return et


__all__ = ["SweepSpec", "load_sweep", "parse_sweep", "METHODS", "METRIC_NAMES", "TOP_KEYS"]

"""``mlx sweep``'s own keys (chunk=, count=, wandb_runs=, ...) beside the run keys, parsed with
the config's value parser, and the multi-process set-up they ask for."""
from __future__ import annotations

import os

import jax

from mlx.config import FIELDS, parse_typed, parse_value, split_overrides
from mlx.errors import UsageError


WANDB_RUNS = ("auto", "all", "best", "none")
AUTO_ALL_UP_TO = 500
SWEEP_KEYS = {"chunk": "configs per compiled batch (0: automatic from device memory; recorded in plan.json)",
              "coordinator": "jax.distributed: host:port of process 0, or 'auto' on TPU/SLURM (env MLX_COORDINATOR)",
              "num_processes": "jax.distributed: number of processes (env MLX_NUM_PROCESSES)",
              "process_id": "jax.distributed: this process's index (env MLX_PROCESS_ID)",
              "count": "number of configs for random/bayes (default: run_cap)",
              "sweep_seed": "seed for random/bayes proposals",
              "round": "bayes: configs proposed and trained per round (>= 1)",
              "verify_hyperband": "also train pruned configs to the end to check the best was kept",
              "wandb_runs": "all (a W&B run per config) | best (the best config per model x task x "
                            "epochs, plus the summary run's table of every config) | none | auto "
                            f"(default: all up to {AUTO_ALL_UP_TO} configs, else best)",
              "max_configs": "refuse sweeps larger than this before training (default 100000)",
              "run_folders": "auto (a runs/<run>/ folder for each config that gets a W&B run: it holds that "
                             "run) | true (one for every config) | false; history.csv holds every history"}


def _int_env(var: str) -> int:
    raw = os.environ.get(var, "").strip()
    try:
        return int(raw or 0)
    except ValueError:
        raise UsageError(f"{var}={raw!r} must be an integer") from None


def parse_sweep_argv(argv: list[str]):
    """(yaml path, sweep options dict, fixed config overrides dict)."""
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        raise UsageError("usage: mlx sweep SWEEP.yaml [count=N] [chunk=N] [key=value ...]")
    path, rest = argv[0], split_overrides(argv[1:], booleans=("verify_hyperband",))
    opts = {"chunk": 0, "count": 0, "sweep_seed": 0, "round": 16, "verify_hyperband": False,
            "wandb_runs": "auto", "max_configs": 100_000, "run_folders": "auto",
            "coordinator": os.environ.get("MLX_COORDINATOR", ""),
            "num_processes": _int_env("MLX_NUM_PROCESSES"), "process_id": _int_env("MLX_PROCESS_ID")}
    fixed = {}
    for k, v in rest.items():
        if k in SWEEP_KEYS:
            if k == "verify_hyperband":
                opts[k] = parse_typed(k, v, False)
            elif k == "coordinator":
                opts[k] = v
            elif k in ("wandb_runs", "run_folders"):
                allowed = WANDB_RUNS if k == "wandb_runs" else ("auto", "true", "false")
                if v not in allowed:
                    raise UsageError(f"{k}={v!r} is not allowed; allowed: {', '.join(allowed)}")
                opts[k] = v
            else:
                try:
                    opts[k] = int(v)
                except ValueError:
                    raise UsageError(f"{k}={v!r} must be an integer") from None
                if opts[k] < (1 if k in ("round", "max_configs") else 0):
                    raise UsageError(f"{k}={v!r} must be >= {1 if k in ('round', 'max_configs') else 0}")
        elif k in FIELDS:
            fixed[k] = parse_value(k, v)
        else:
            raise UsageError(f"unknown key {k!r}; allowed: {', '.join(list(SWEEP_KEYS) + list(FIELDS))}")
    return path, opts, fixed


def init_distributed(opts: dict) -> None:
    """One process per host, all devices of all processes on one config axis.

    coordinator='host:port' with num_processes and process_id (the same command on every host,
    only process_id differs), or 'auto' where JAX finds them itself (TPU pods, SLURM, ...).
    Must run before JAX touches a device. Process 0 writes the files and the W&B runs; the
    sweep folder should be on a filesystem every process sees (resume reads it).
    """
    coord = opts.get("coordinator")
    if not coord:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes: gloo
    if coord == "auto":
        jax.distributed.initialize()
        return
    if opts["num_processes"] < 1 or not 0 <= opts["process_id"] < opts["num_processes"]:
        raise UsageError("coordinator=HOST:PORT needs num_processes=N (>= 1) and process_id=I (0 <= I < N)")
    jax.distributed.initialize(coord, num_processes=opts["num_processes"], process_id=opts["process_id"])


def wandb_policy(opt: str, n_configs: int) -> str:
    return ("all" if n_configs <= AUTO_ALL_UP_TO else "best") if opt == "auto" else opt


def check_size(n_total: int, opts: dict, path) -> None:
    if n_total > opts["max_configs"]:
        raise UsageError(f"{path}: the sweep has {n_total:,} configs, more than max_configs="
                         f"{opts['max_configs']}; cut it with run_cap (random/bayes) or count=N, or "
                         f"raise max_configs= to run it all")

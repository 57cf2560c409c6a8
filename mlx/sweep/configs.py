"""The configs a sweep runs: a grid or random sweep's all at once (command-line values win over
the sweep file's, sizes checked before anything is built), a bayes sweep's in rounds of the
optuna proposer, each round trained as one batch and its results told back."""
from __future__ import annotations

import math

import jax

from mlx.config import make_config
from mlx.errors import UsageError
from mlx.sweep.options import check_size


def plan_configs(spec, opts: dict, fixed: dict, path):
    """(configs, proposer, n_total): every config of a grid/random sweep (command-line values
    win over the sweep file's), or for bayes an optuna proposer and the number to propose."""
    from mlx.sweep import search
    from mlx.sweep.bayes import Proposer
    count = opts["count"] or None
    if spec.method == "bayes":
        if jax.process_count() > 1:
            raise UsageError("method bayes runs in one process (its rounds depend on the results); "
                             "use grid or random with coordinator=")
        n_total = count or spec.run_cap
        if not n_total:
            raise UsageError("method bayes needs run_cap in the sweep file or count=N")
        return [], Proposer(spec, seed=opts["sweep_seed"], count=n_total), n_total
    check_size(search.size(spec), opts, path)  # before a grid is built
    configs = [make_config({**d, **fixed}) for d in search.generate(spec, count=count, seed=opts["sweep_seed"])]
    if not configs:
        raise UsageError(f"{path}: the sweep produces no configs (empty grid)")
    check_size(len(configs), opts, path)
    return configs, None, len(configs)


def run_bayes(sw, proposer, n_total: int, to_configs) -> list[dict]:
    """Bayes in rounds: ask a round, train it as one batch (``sw``: a mlx.sweep.runner.Sweep),
    tell the results."""
    rows, offset = [], 0
    while offset < n_total and not proposer.done:
        dicts = proposer.ask(min(sw.opts["round"], n_total - offset))
        if not dicts:
            break
        got = sw.train_configs(to_configs(dicts), offset)
        by_idx = {r["index"]: r for r in got}
        vals = [by_idx[offset + i][sw.metric] if not by_idx[offset + i]["diverged"] else math.nan
                for i in range(len(dicts))]
        proposer.tell(dicts, vals)
        rows += got
        offset += len(dicts)
    return rows

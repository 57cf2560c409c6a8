"""Sweeps: a W&B-format sweep file in, every config trained by a few vectorised programs, rows out.

The file and its configs:

    spec        the sweep file read and checked (W&B's schema) into a SweepSpec
    params      one parameter: W&B's distributions, reading, values, checks against the config
    search      grid and random configs, the grid's size (counted without building it)
    bayes       the optuna Proposer (bayes: configs in rounds)
    configs     the configs a sweep runs: grid/random at once, bayes in rounds
    hyperband   W&B's hyperband: bands, rungs and the stop rule
    command     the ``wandb agent`` command macros and their expansion

Training them:

    engine      groups of configs (one program each), lanes, ChunkRunner (jit(vmap(run_lanes)))
    plan        lanes per program (from device memory) and the chunk plan (a pure function)
    runner      ``mlx sweep``: Sweep (groups -> chunks -> rows, resume, progress), run_sweep
    options     ``mlx sweep``'s own keys, and the multi-process set-up

What it leaves behind:

    folder      the sweep folder: identity, lock, results.jsonl, plan.json, run folders
    best        the one rule for "best", and the best configs kept in best/
    views       each config's run folder and W&B run (the best of each budget held to the end)
    tables      results.csv, comparison, best per budget, sweep.json, the W&B summary run
"""

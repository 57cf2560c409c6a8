"""``mlx bench``: how fast ``mlx sweep``'s engine trains many configs, against baselines, and
what the edge (files, W&B) costs on top.

    benchmark    run_benchmark (every scenario, bench.json, bench.png, the table) and main (``mlx bench``)
    options      the keys (Options), the quick sizes, the timing methods, the command-line parse
    machine      machine facts, load average, peak memory, matmul FLOPs of a config-epoch, the matmul peak
    engine_runs  the workloads (data, grid configs, mlx train's batch orders, shared ChunkRunners)
                 and engine_run: configs trained by mlx sweep's engine, without its files
    reference    the shared-gather reference program (the yardstick) against the engine
    baselines    the PyTorch loop and the jitted JAX step loop, one config at a time
    task_sweep   a task's sweep: the engine against the baselines, rates, speed-ups, accuracy rows
    scaling      the scaling curve (configs per program) and the big logreg sweep
    e2e          ``mlx sweep`` end to end (wandb=disabled, W&B offline) and W&B's floor
    results      the accuracy check, the targets, the text table
    figure       bench.png
    progress     say: the progress lines
"""

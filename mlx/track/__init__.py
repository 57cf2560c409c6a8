"""Tracking at the edge: files that are never half written, and Weights & Biases.

    files         atomic writes (the user's umask), JSON of numpy values, params, load_run
    run_folder    one ``mlx train`` run's folder: choose it, refuse another config's, checkpoints
    tracker       Tracker: one W&B run (offline by default, online falls back), live per epoch
    wandb_writer  W&B runs of finished sweep configs, written by background threads
    provenance    package versions and the machine, for summaries and figures
"""

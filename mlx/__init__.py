"""mlx: pixels become numbers, logistic regression learns a filter, an MLP learns the styles of a 4.

Pure-JAX training (one compiled ``lax.scan`` program per run, vmappable over learning rate,
seed and weight decay), W&B-format sweeps run as batched programs, and pictures that show
why the two models differ.

The flow, a stage per place:

    config.py, choices.py   the run config (every key, its default, meaning and role)
    data/                   every source (IDX, TFDS, the sample, CSV, your own image) -> Dataset
    tasks.py, styles.py     task = filter + relabel (0v1, 4vrest, ...); the styles of a digit
    models.py               logreg and MLP as init/apply over plain pytrees
    train.py                make_train: one pure lax.scan program, vmappable over lanes
    train_run.py            ``mlx train``: one run end to end (its folder in track/run_folder.py)
    sweep/                  ``mlx sweep``: the sweep file, the search, the engine, the sweep's files
    track/                  atomic files and Weights & Biases
    viz/                    figures, the run's and the sweep's pictures, report.html
    predict.py              ``mlx predict``: a finished run's model on your images
    bench/                  ``mlx bench``: the engine's speed against baselines
    cli.py                  the command line
"""

__version__ = "0.1.0"

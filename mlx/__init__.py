"""mlx: pixels become numbers, logistic regression learns a filter, an MLP learns the styles of a 4.

Pure-JAX training (one compiled ``lax.scan`` program per run, vmappable over learning rate,
seed and weight decay), W&B-format sweeps run as batched programs, and pictures that show
why the two models differ.
"""

__version__ = "0.1.0"

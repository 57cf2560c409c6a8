"""python experiments/benchmark.py [key=value ...]   (same keys as `mlx bench`; outputs under runs/bench-<time>/)

The issue "Speed" as a script: the 30-run sweep on 4vrest (logreg and MLP 784-256-1, Adam,
batch 128, 5 learning rates x 3 seeds, 5 epochs) trained by the engine as one vmapped program
per model, against a plain PyTorch loop and a jitted JAX step called from Python (both measured
on a few configs and extrapolated per config-epoch), then the same on digits, the scaling curve
(configs per batch 1 ... 1024) and a 10,000-config logreg sweep on 0v1 through chunking.

Outputs runs/bench-<time>/bench.json and bench.png, and prints the table. Copy and edit the
overrides below (e.g. precision=bfloat16 on a GPU, baselines=step without torch).
"""
import sys

from mlx.cli import main

OVERRIDES = [
    "tasks=4vrest,digits",
    "lrs=0.0001,0.0003,0.001,0.003,0.01",
    "seeds=3",
    "epochs=5",
    "base_configs=2",
    "base_epochs=2",
    "big=10000",
]

if __name__ == "__main__":
    sys.exit(main(["bench", *OVERRIDES, *sys.argv[1:]]))  # the CLI: one-line usage errors

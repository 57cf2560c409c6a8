"""python experiments/benchmark.py [key=value ...]   (same keys as `mlx bench`; outputs under runs/bench-<time>/)

The issue "Speed" as a script. Every engine figure is `mlx sweep`'s own engine (grouping, chunk
choice, chunk plan, ChunkRunner), nothing of the benchmark's own:
  * the 30-run sweep on 4vrest (logreg and MLP 784-256-1, Adam, batch 128, 5 learning rates x
    3 seeds, 5 epochs) against a plain PyTorch loop and a jitted JAX step called from Python
    (both measured on a few configs and extrapolated per config-epoch), then the same on digits;
  * a 16 lr x 4 seeds logreg grid on 4vrest (2 epochs) side by side with a plain shared-gather
    JAX program (the yardstick, target: the engine within 1.3x);
  * `mlx sweep experiments/sweeps/logreg_1k.yaml` end to end with wandb=disabled (target: >= 60%
    of the engine's configs/s on the same configs) and with W&B offline and a run per config
    (target: within 1.2x of a bare offline wandb.init/log/finish loop of as many runs);
  * the scaling curve (configs per program 1 ... 1024) and a 10,000-config logreg sweep on 0v1.

Outputs runs/bench-<time>/bench.json and bench.png, and prints the table. Copy and edit the
overrides below (e.g. precision=bfloat16 on a GPU, baselines=step without torch,
wandb_configs=200 for a shorter W&B row).
"""
import sys

from mlx.cli import entry

OVERRIDES = [
    "tasks=4vrest,digits",
    "lrs=0.0001,0.0003,0.001,0.003,0.01",
    "seeds=3",
    "epochs=5",
    "base_configs=2",
    "base_epochs=2",
    "ref_lrs=16",
    "ref_seeds=4",
    "ref_epochs=2",
    "wandb_configs=1000",
    "big=10000",
]

if __name__ == "__main__":
    entry(["bench", *OVERRIDES, *sys.argv[1:]])  # the CLI: one-line usage errors, its settings

"""`mlx train` as a script, for W&B sweep files whose default command runs a program by path:

    program: experiments/train.py       # W&B runs: python experiments/train.py --lr=0.01 ...

Copy it and edit what happens before or after training; the arguments are `mlx train`'s.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlx.cli import entry  # noqa: E402

if __name__ == "__main__":
    entry(["train", *sys.argv[1:]])

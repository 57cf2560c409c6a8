"""``python -m mlx``, ``python mlx`` and ``python mlx/__main__.py`` (W&B's ``program:``).

Run by path, Python puts this package's own folder first on sys.path (where ``config.py``,
``data.py``, ... would shadow top-level modules) and ``import mlx`` may not find the package;
so the folder is replaced by its parent, the checkout, before anything is imported.
"""
import os
import sys

if not __package__:  # run by path, not with -m
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    sys.path.insert(0, os.path.dirname(_here))

from mlx.cli import entry  # noqa: E402

if __name__ == "__main__":  # not when a spawned worker process imports this as __mp_main__
    entry()

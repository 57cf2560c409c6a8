"""Command line: ``mlx train|sweep|report|predict|bench ...``. Thin: parses, calls the library.

Every usage error (unknown key or value, missing data, corrupt file, malformed sweep.yaml, a
diverging learning rate) prints one line ``mlx: error: ...`` and exits with status 2.
"""
from __future__ import annotations

import os
import sys

from mlx.errors import UsageError

USAGE = """usage: mlx COMMAND [key=value ...]

commands:
  train   [key=value ...]          train one config, write runs/<name>/ (see keys below)
  sweep   SWEEP.yaml [key=value]   run a W&B-format sweep here as batched programs
  report  FOLDER                   write FOLDER/report.html (a run or a sweep folder)
  predict RUN_FOLDER IMAGE...      classify your own digit images [--explain]
  bench   [key=value ...]          benchmark against PyTorch and a per-step JAX loop

Overrides: key=value, --key=value or --key value. `mlx train --help` lists every key.
"""


def _train_help() -> str:
    from mlx.config import help_text
    return ("usage: mlx train [key=value ...]\n\nkeys (default, meaning):\n" + help_text() + "\n"
            "\nexample: mlx train model=mlp task=4vrest epochs=5 lr=0.001\n")


def cmd_train(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(_train_help())
        return 0
    from mlx.config import config_from_argv
    cfg = config_from_argv(argv)
    from mlx.run import train_run
    train_run(cfg)
    return 0


def cmd_report(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        if argv and argv[0] in ("-h", "--help"):
            print("usage: mlx report FOLDER   (a run folder or a sweep folder)")
            return 0
        raise UsageError("mlx report takes one FOLDER (a run folder or a sweep folder)")
    from mlx.report import write_report
    print(write_report(argv[0]))
    return 0


def _lazy(module: str, fn: str):
    def call(argv):
        mod = __import__(module, fromlist=[fn])
        return getattr(mod, fn)(argv)
    return call


COMMANDS = {
    "train": cmd_train,
    "report": cmd_report,
    "sweep": _lazy("mlx.sweep_run", "main"),
    "predict": _lazy("mlx.predict", "main"),
    "bench": _lazy("mlx.bench", "main"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE + "\n" + _train_help().split("\n", 2)[2])
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"mlx: error: unknown command {cmd!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return int(COMMANDS[cmd](rest) or 0)
    except UsageError as e:
        print(f"mlx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlx: interrupted", file=sys.stderr)
        return 130


def entry() -> None:  # console_scripts entry point
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `mlx --help | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)

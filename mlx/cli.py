"""Command line: ``mlx train|sweep|report|predict|bench ...``. Thin: parses, calls the library.

Every usage error (unknown key or value, missing data, corrupt file, malformed sweep.yaml, a
diverging learning rate) prints one line ``mlx: error: ...`` and exits with status 2.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from mlx.errors import UsageError

USAGE = """usage: mlx COMMAND [key=value ...]

commands:
  train   [key=value ...]          train one config, write runs/<name>/ (see keys below)
  sweep   SWEEP.yaml [key=value]   run a W&B-format sweep here as batched programs
  report  FOLDER                   write FOLDER/report.html (a run or a sweep folder)
  predict RUN_FOLDER IMAGE...      classify your own digit images [--explain]
  bench   [key=value ...]          benchmark against PyTorch and a per-step JAX loop

Overrides: key=value, --key=value or --key value. `mlx train --help` lists every key.
`mlx train` also takes W&B's ${args_json} (one JSON object) and ${args_json_file} (a .json path),
and `mlx --key=value ...` (no command) means `mlx train --key=value ...`.
"""


def _train_help() -> str:
    from mlx.config import help_text
    return ("usage: mlx train [key=value ...]\n\nkeys (default, meaning):\n" + help_text() + "\n"
            "\nexample: mlx train model=mlp task=4vrest epochs=5 lr=0.001\n")


def _json_items(obj, where: str) -> list[str]:
    """A JSON object from W&B's ``${args_json}`` / ``${args_json_file}`` -> ``key=value`` items.

    W&B's agent (wandb/sdk/launch/sweeps/utils.py, ``create_sweep_command_args``) passes
    ``json.dumps({param: value})`` as one argument, or writes it to
    ``$WANDB_DIR/wandb/sweep-<id>/config-<run>.json`` and passes that path
    (wandb/wandb_agent.py, ``Agent._command_run``). Values keep their JSON types here: true/false,
    numbers as Python writes them back (repr: no digits lost), lists as JSON, null as empty
    (a number key reads it as nan).
    """
    if not isinstance(obj, dict):
        raise UsageError(f"{where} must hold a JSON object of config keys (as W&B's args_json "
                         f"passes them), got a {type(obj).__name__}")
    out = []
    for k, v in obj.items():
        if isinstance(v, dict):
            raise UsageError(f"{where}: {k} is a nested object; give flat config keys, e.g. "
                             f'{{"lr": 0.01, "epochs": 3}}')
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif v is None:
            v = ""
        elif isinstance(v, float):
            v = repr(v)
        elif isinstance(v, (list, tuple)):
            v = json.dumps(v)
        out.append(f"{k}={v}")
    return out


def _load_json_arg(a: str, *, is_file: bool):
    if is_file:
        p = Path(a)
        if not p.is_file():
            raise UsageError(f"JSON file {a!r} not found (mlx train reads a .json argument as W&B's "
                             f"${{args_json_file}}: a file of config keys)")
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read JSON file {a!r} ({e})") from None
        where = f"JSON file {a!r}"
    else:
        text, where = a, "the JSON argument"
    try:
        return json.loads(text), where
    except json.JSONDecodeError as e:
        shown = a if len(a) <= 60 else a[:57] + "..."
        raise UsageError(f"{'JSON file ' + repr(a) if is_file else 'argument ' + repr(shown)} is "
                         f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


def _is_json_file_arg(a: str) -> bool:
    return a.lower().endswith(".json") and "=" not in a and not a.startswith("-")


def wandb_argv(argv: list[str]) -> list[str]:
    """The argument forms of W&B's command macros -> what ``mlx.config.split_overrides`` reads.

    ``${args}`` (--k=v), ``${args_no_hyphens}`` (k=v), ``${args_no_equals}`` (--k v) and
    ``${args_no_boolean_flags}`` (--k=v, a true boolean as --k) pass through; a JSON object
    (``${args_json}``) or the path of a .json file (``${args_json_file}``) becomes k=v items;
    Hydra's ``+k=v`` / ``++k=v`` (``${args_append_hydra}``, ``${args_override_hydra}``) lose the
    plus signs. The value after a ``--key`` is never reinterpreted.
    """
    from mlx.config import FIELDS, _FALSE, _TRUE
    out: list[str] = []
    i = 0
    while i < len(argv):
        a, i = argv[i], i + 1
        if a.startswith("--") and "=" not in a:
            out.append(a)
            k = a[2:].replace("-", "_")
            is_bool = isinstance(getattr(FIELDS.get(k), "default", None), bool)
            if i < len(argv) and not (is_bool and argv[i].strip().lower() not in _TRUE | _FALSE):
                out.append(argv[i])  # its value, as it is
                i += 1
            continue
        if a.lstrip().startswith("{"):
            obj, where = _load_json_arg(a, is_file=False)
            out += _json_items(obj, where)
        elif _is_json_file_arg(a):
            obj, where = _load_json_arg(a, is_file=True)
            out += _json_items(obj, where)
        elif a.startswith("+") and "=" in a:
            out.append(a.lstrip("+"))
        else:
            out.append(a)
    return out


def _is_train_arg(a: str) -> bool:
    """An argv that starts like this is `mlx train`'s (W&B's default command runs the program
    with the arguments alone: ``python mlx/__main__.py --lr=0.1 ...``)."""
    if a.startswith("--"):
        if "=" in a:
            return True
        from mlx.config import FIELDS
        return a[2:].replace("-", "_") in FIELDS
    return ("=" in a and not a.startswith("-")) or a.lstrip().startswith("{") or _is_json_file_arg(a)


def cmd_train(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(_train_help())
        return 0
    from mlx.config import config_from_argv
    cfg = config_from_argv(wandb_argv(argv))
    from mlx.train_run import train_run
    train_run(cfg)
    return 0


def cmd_report(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        if argv and argv[0] in ("-h", "--help"):
            print("usage: mlx report FOLDER   (a run folder or a sweep folder)")
            return 0
        raise UsageError("mlx report takes one FOLDER (a run folder or a sweep folder)")
    from mlx.viz.report import write_report
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
    "sweep": _lazy("mlx.sweep.runner", "main"),
    "predict": _lazy("mlx.predict", "main"),
    "bench": _lazy("mlx.bench.benchmark", "main"),
}


class _Interrupt:
    """Ctrl-C that cannot be swallowed.

    Python raises KeyboardInterrupt wherever the main thread happens to be when the signal is
    handled; inside a garbage-collector callback, a ``__del__`` or a weakref callback (JAX
    registers some) it is only printed as ``Exception ignored ... KeyboardInterrupt`` and the
    program goes on. So: the SIGINT handler records the interruption before raising; one that
    reaches ``sys.unraisablehook`` (a swallowed one) is not printed but raised again in the main
    thread a moment later, from a helper thread (``_thread.interrupt_main``), once the main thread
    has left the callback (and again, if it lands in one again); a command that still returns
    normally after an interruption ends with 130 too. The process then ends with exactly 130
    (atexit hooks run, then ``os._exit``): a KeyboardInterrupt that went through C code can make
    Python kill itself with SIGINT at exit (status -2), which ``wandb agent`` counts as success.
    Once the command is over, a Ctrl-C exits at once.
    """

    RETRY_S = 0.005  # when a swallowed interruption is raised again (not a timeout)

    def __init__(self):
        self.hit = False
        self.reported = False
        self.over = False       # interpreter shutdown: atexit hooks are running
        self.finishing = False  # the command has returned
        self.in_hook = False
        self._prev_hook = None

    def install(self) -> None:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return  # started with SIGINT ignored (nohup, background job): leave it so
        signal.signal(signal.SIGINT, self.handler)
        self._prev_hook = sys.unraisablehook
        sys.unraisablehook = self.unraisable
        import logging  # JAX logs a Ctrl-C met in a host callback as a failure, traceback and all
        logging.getLogger("jax._src.debugging").addFilter(
            lambda r: not (r.exc_info and r.exc_info[0] and issubclass(r.exc_info[0], KeyboardInterrupt)))

    def handler(self, signum, frame):
        self.hit = True
        if self.over or self.finishing:
            self.exit()
        if self.in_hook:  # raising here would be swallowed again
            self._again()
            return
        raise KeyboardInterrupt

    def unraisable(self, u):
        if u.exc_type is not None and issubclass(u.exc_type, KeyboardInterrupt):
            self.in_hook = True
            try:
                self.hit = True
                if not self.over:
                    self._again()
            finally:
                self.in_hook = False
            return
        (self._prev_hook or sys.__unraisablehook__)(u)

    def _again(self) -> None:
        import threading

        def fire():
            if not self.over:
                import _thread
                _thread.interrupt_main(signal.SIGINT)
        t = threading.Timer(self.RETRY_S, fire)
        t.daemon = True
        t.start()

    def report(self) -> int:
        if not self.reported:
            self.reported = True
            try:
                print("mlx: interrupted", file=sys.stderr, flush=True)
            except (OSError, ValueError):
                pass
        return 130

    def exit(self) -> None:
        """Exit now with 130 (after atexit hooks, e.g. W&B's, unless this is one of them)."""
        was_over, self.over = self.over, True
        self.report()
        if not was_over:
            import atexit
            try:
                atexit._run_exitfuncs()
            except BaseException:  # an exit hook failed or was interrupted: still exit
                pass
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(130)


_INTERRUPT = _Interrupt()

# numpy's OpenBLAS keeps its idle worker threads spinning for 2**28 cycles (about 0.1 s) after
# every multi-threaded call, by default. In a sweep, the pictures' numpy matmuls (the PCA planes,
# the best params' p(x) on them) run beside the training, so every one of them also took about
# 0.1 CPU-s of a core the training needed (measured: 20 matmuls of 8192 x 784 x 256 a
# 0.3 s apart, 3.2 CPU-s by default against 0.9 at 2**4 cycles, their wall time the same).
# 2**4 cycles: an idle worker sleeps at once. Results are unchanged (the same threads split the
# same work); a user's own OPENBLAS_THREAD_TIMEOUT wins. Set by entry() for every command (the
# benchmark's end-to-end sweep runs as `mlx sweep` does; its baselines, PyTorch and JAX, do not
# use numpy's OpenBLAS), before numpy is imported.
OPENBLAS_THREAD_TIMEOUT = 4


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE + "\n" + _train_help().split("\n", 2)[2])
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS and _is_train_arg(cmd):
        cmd, rest = "train", argv  # W&B's default command: `python mlx/__main__.py --lr=0.1 ...`
    if cmd not in COMMANDS:
        print(f"mlx: error: unknown command {cmd!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        code = int(COMMANDS[cmd](rest) or 0)
    except UsageError as e:
        if _INTERRUPT.hit:
            return _INTERRUPT.report()
        print(f"mlx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _INTERRUPT.report()
    except Exception:  # Ctrl-C turned into another error on its way (JAX wraps one raised in a
        if _INTERRUPT.hit:  # host callback, e.g. the per-epoch progress, in a JaxRuntimeError)
            return _INTERRUPT.report()
        raise
    if _INTERRUPT.hit:  # interrupted, but something swallowed it: it still counts
        return _INTERRUPT.report()
    return code


def entry(argv: list[str] | None = None) -> None:  # console_scripts entry point
    """``mlx ...``: main() with Ctrl-C made to stick (exit 130, ``mlx: interrupted``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", str(OPENBLAS_THREAD_TIMEOUT))
    _INTERRUPT.install()
    code = 130
    try:
        try:
            code = main(argv)
        finally:
            _INTERRUPT.finishing = True  # from here on a Ctrl-C exits at once
        sys.stdout.flush()
    except KeyboardInterrupt:  # one raised again after the command returned
        _INTERRUPT.hit = True
    except BrokenPipeError:  # `mlx --help | head`: the reader left; not an error of ours
        _INTERRUPT.over = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    if _INTERRUPT.hit:
        _INTERRUPT.exit()  # mlx: interrupted, exit status 130
    _INTERRUPT.over = True
    sys.exit(code)

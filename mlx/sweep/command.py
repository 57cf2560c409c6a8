"""The command ``wandb agent`` runs for a sweep config: W&B's command macros, checked when the
sweep file is read and expanded as the agent expands them.

W&B semantics kept (``wandb/sdk/launch/sweeps/utils.py``: ``create_sweep_command_args`` and
``create_sweep_command``; tests/sweep/test_wandb_agent.py builds the same commands with wandb's
real ``Agent._command_run``):

* the documented macros (``${name}`` as a whole command item) and ``${envvar:NAME}`` anywhere
  inside an item; the default command is ``${env} ${interpreter} ${program} ${args}``;
* every value formatted with ``str()``, ``${args_json}`` with ``json.dumps``;
* ``${args_no_boolean_flags}`` leaves false flags out, so a key whose default is true cannot be
  swept to false through it (refused when the file is read).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile

from mlx.config import FIELDS
from mlx.errors import UsageError

#: W&B's documented command macros (``${name}`` as a whole command item), plus
#: ``${envvar:NAME}`` anywhere inside an item.
MACROS = ("env", "interpreter", "program", "args", "args_no_hyphens", "args_json",
          "args_json_file", "args_no_boolean_flags", "args_no_equals", "args_append_hydra",
          "args_override_hydra")
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
DEFAULT_PROGRAM = "-m mlx train"
_ENVVAR = re.compile(r"\$\{envvar:([A-Z0-9_]*)\}")
_MACRO = re.compile(r"^\$\{([A-Za-z0-9_]+)\}$")


def parse_command(cmd) -> list | None:
    """The sweep file's ``command``, checked: a list of text items whose macros W&B knows;
    None for an empty list (W&B's agent runs its default command then)."""
    if isinstance(cmd, list) and not cmd:
        return None  # W&B's agent runs its default command for an empty one
    if not isinstance(cmd, list):
        raise UsageError(f"command must be a non-empty list, e.g. [\"${{env}}\", \"${{interpreter}}\", "
                         f"\"-m\", \"mlx\", \"train\", \"${{args_no_hyphens}}\"], got {cmd!r}")
    for c in cmd:
        if not isinstance(c, (str, int, float)) or isinstance(c, bool):
            raise UsageError(f"command items must be text, got {c!r}")
        s = _ENVVAR.sub("", str(c))
        m = _MACRO.match(s)
        if m and m.group(1) not in MACROS:
            raise UsageError(f"unknown command macro {s!r}; allowed: "
                             + ", ".join("${" + x + "}" for x in MACROS) + ", ${envvar:NAME}")
        if not m and "${" in s:
            raise UsageError(f"command item {str(c)!r}: a macro must be a whole item "
                             f"(W&B leaves it as text otherwise)")
    return list(cmd)


def check_boolean_flags(command, params: dict) -> None:
    """``${args_no_boolean_flags}`` drops a false flag: a key whose default is true stays true."""
    if not command or "${args_no_boolean_flags}" not in [str(c) for c in command]:
        return
    for n, p in params.items():
        if FIELDS[n].default is True and any(v is False for v in p.probes()):
            raise UsageError(f"parameter {n}: ${{args_no_boolean_flags}} leaves out false flags, so "
                             f"{n}=false cannot reach mlx train (its default is true); use ${{args}} "
                             f"or ${{args_no_hyphens}} in command")


def command_args(config: dict) -> dict[str, list[str]]:
    """The argument macros as W&B's agent builds them (``create_sweep_command_args``).

    Every value is formatted with ``str()``: ``lr=0.0001``, ``lr=1e-05``, ``hidden=[512, 256]``,
    ``pictures=True``/``False``, ``label_threshold=None``; ``${args_json}`` is ``json.dumps``
    (``true``/``false``/``null``).
    """
    flags, no_hyph, no_bool, no_eq, app, over = [], [], [], [], [], []
    for k, v in config.items():
        flag = f"{k}={v}"
        flags.append("--" + flag)
        no_hyph.append(flag)
        no_eq += [f"--{k}", str(v)]
        app.append("+" + flag)
        over.append("++" + flag)
        if isinstance(v, bool):
            if v:
                no_bool.append("--" + k)
        else:
            no_bool.append("--" + flag)
    return {"args": flags, "args_no_hyphens": no_hyph, "args_no_boolean_flags": no_bool,
            "args_no_equals": no_eq, "args_append_hydra": app, "args_override_hydra": over,
            "args_json": [json.dumps(config)]}


def expand_command(spec, config: dict, *, program: str = DEFAULT_PROGRAM,
                   interpreter: str = sys.executable,
                   env: tuple = ("/usr/bin/env",) if os.name != "nt" else (),
                   args_json_dir: str | None = None) -> list[str]:
    """The argv that ``wandb agent`` runs for ``config`` (W&B's macros, W&B's formatting).

    ``spec`` is the parsed sweep (:class:`mlx.sweep.spec.SweepSpec`). ``command`` defaults to
    W&B's ``${env} ${interpreter} ${program} ${args}``. ``${program}`` is the yaml ``program``
    (one item, as W&B passes it) or, without one, ``program`` split like a shell would (default
    ``-m mlx train``, so the default command runs this package). ``${interpreter}`` is
    ``interpreter`` (W&B's agent passes plain ``python``; here the running one).
    ``${args_json_file}`` writes the JSON to a new file in ``args_json_dir`` (default: the temp
    folder) and passes its path; the caller removes it. ``${envvar:NAME}`` inside an item
    becomes $NAME (NAME itself when unset, as W&B does).
    """
    vars_ = command_args(config)
    vars_["env"] = list(env)
    vars_["interpreter"] = [interpreter]
    prog = spec.raw.get("program") if isinstance(spec.raw, dict) else None
    vars_["program"] = [prog] if prog else shlex.split(program)
    out = []
    for c in (str(c) for c in (spec.command or DEFAULT_COMMAND)):
        out += _expand_item(c, vars_, args_json_dir)
    return out


def _expand_item(c: str, vars_: dict, args_json_dir: str | None) -> list[str]:
    """One command item: ``${envvar:NAME}`` replaced, then a whole-item macro expanded."""
    c = _ENVVAR.sub(lambda m: os.environ.get(m.group(1), m.group(1)), c)
    m = _MACRO.match(c)
    if not m:
        return [c]
    if m.group(1) == "args_json_file":
        fd, path = tempfile.mkstemp(prefix="mlx-sweep-args-", suffix=".json", dir=args_json_dir)
        with os.fdopen(fd, "w") as fh:
            fh.write(vars_["args_json"][0])
        return [path]
    return vars_.get(m.group(1)) or []


__all__ = ["MACROS", "DEFAULT_COMMAND", "DEFAULT_PROGRAM", "parse_command", "check_boolean_flags",
           "command_args", "expand_command"]

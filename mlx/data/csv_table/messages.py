"""How the CSV loader writes cells, column names, numbers and class counts into its messages and notes."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def cell_text(c: str) -> str:
    """A cell as a message shows it: ``empty cell`` or ``cell 'abc'`` (at most 30 characters)."""
    return "empty cell" if not c.strip() else f"cell {c[:30]!r}" + ("..." if len(c) > 30 else "")


def name_list_text(names: Sequence[str], limit: int = 20) -> str:
    """Column names, comma-separated (quoted when blank, padded or holding a comma), at most ``limit``."""
    shown = ", ".join(repr(n) if (not n or n != n.strip() or "," in n) else n for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def separator_hint(header: list[str]) -> str:
    """A hint when a one-column header looks separated by something other than commas."""
    if len(header) == 1:
        for sep, word in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header[0]:
                return f" (the file looks separated by {word}; only commas are read)"
    return ""


def number_text(x: float) -> str:
    """``4`` for a whole number, else its repr (``4.5``)."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def class_counts(y: np.ndarray) -> str:
    """``0: 12, 1: 30`` (at most 20 classes shown)."""
    values, counts = np.unique(y, return_counts=True)
    shown = ", ".join(f"{v}: {c}" for v, c in zip(values[:20], counts[:20]))
    return shown + (f", ... ({len(values)} classes)" if len(values) > 20 else "")

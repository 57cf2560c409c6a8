"""The label column of a CSV table made into classes 0..K-1.

With ``label_threshold=t`` the label column must be numeric and becomes 1 where ``value >= t``,
else 0. Without it: when the distinct values of the usable rows are exactly the integers 0..K-1
they are the classes; otherwise the distinct values are sorted (as numbers when all are numbers,
else as text), numbered 0..K-1 in that order (at most 256 classes), and the mapping is written
into the notes. Fewer than two classes is an error.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mlx.data.csv_table.cells import NA_TOKENS, NUM, Table
from mlx.data.csv_table.messages import number_text
from mlx.data.csv_table.missing import check_finite
from mlx.errors import DataError

MAX_MAPPED_CLASSES = 256  # label values mapped to 0..K-1 (more means: give label_threshold)


class LabelColumn(NamedTuple):
    """The label column as parsed: values and kinds (as ``Table.parsed``), which rows lack a label,
    whether it is numeric, and its stripped cells (None with a threshold)."""

    values: np.ndarray
    kinds: np.ndarray
    missing: np.ndarray
    numeric: bool
    cells: list[str] | None


def label_column(table: Table, label: str, threshold: float | None, lines) -> LabelColumn:
    """The label column's values and the rows that lack one; infinite numbers are refused."""
    lv, lk = table.parsed(label)
    if threshold is not None:
        label_missing = lk != NUM
        if label_missing.all():
            raise DataError(f"label column {label!r} holds no numbers, so label_threshold={number_text(threshold)} "
                            f"cannot apply; give a numeric label column, or leave label_threshold unset for class "
                            f"labels")
        cells, numeric = None, True
    else:
        cells = [c.strip() for c in table.column(label)]
        label_missing = np.array([c.lower() in NA_TOKENS for c in cells], dtype=bool)
        numeric = bool(np.all(lk[~label_missing] == NUM))
    if numeric:
        check_finite(table, label, lv, lk, lines, what="label")
    return LabelColumn(lv, lk, label_missing, numeric, cells)


def classes(col: LabelColumn, label: str, threshold: float | None, rows_kept, notes: list[str]):
    """(int32[n] classes of the kept rows, the name of each class); a note says how they were made."""
    if threshold is not None:
        y = (col.values[rows_kept] >= threshold).astype(np.int32)
        notes.append(f"labels: 1 if {label} >= {number_text(threshold)} else 0")
        return y, [f"{label} < {number_text(threshold)}", f"{label} >= {number_text(threshold)}"]
    if col.numeric:
        keys = col.values[rows_kept]
        values = np.unique(keys)
        shown = [number_text(v) for v in values]
    else:
        keys = np.array([col.cells[i] for i in rows_kept], dtype=object)
        values = np.array(sorted(set(keys.tolist())), dtype=object)
        shown = list(values)
    direct = col.numeric and np.array_equal(values, np.arange(len(values)))
    if not direct and len(values) > MAX_MAPPED_CLASSES:
        raise DataError(f"label column {label!r} has {len(values)} distinct values, too many to number as "
                        f"classes (at most {MAX_MAPPED_CLASSES}); give label_threshold=T for 1 if value >= T "
                        f"else 0, or use integer labels 0..K-1")
    y = np.searchsorted(values, keys).astype(np.int32)
    if not direct:
        pairs = ", ".join(f"{s}={i}" for i, s in enumerate(shown[:30]))
        more = f", ... ({len(shown)} classes)" if len(shown) > 30 else ""
        notes.append(f"label mapping (sorted distinct values of {label!r}): {pairs}{more}")
    return y, [f"{label}={s}" for s in shown]


def check_two_classes(y: np.ndarray, class_names: list[str], name: str) -> None:
    """At least two classes among the usable rows; else one DataError line."""
    present = np.unique(y)
    if len(present) < 2:
        c = int(present[0])
        raise DataError(f"only one class after labelling: all {len(y)} usable rows of {name} are class {c} "
                        f"({class_names[c]}); need at least two classes")

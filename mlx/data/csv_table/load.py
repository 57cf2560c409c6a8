"""``load_csv``: a CSV table as a :class:`~mlx.data.dataset.Dataset` (numeric features, a class label), and its split.

    load_csv("experiments/data/ratings.csv", label="rating", label_threshold=4, missing="mean")

The rules, in the order they apply (each step lives in the module named in brackets):

- File (``read``): a regular file (not a device, FIFO or socket) of at most ``MAX_CSV_BYTES`` (128 MiB), no
  line longer than ``MAX_LINE_BYTES`` (1 MiB); checked before the text is parsed (the size before
  anything is read).
  UTF-8 text (a BOM is fine), comma-separated, the first non-blank line is the header; blank
  lines are skipped. Column names are stripped of surrounding spaces and must be non-empty and
  unique; this is checked on the raw header line (pandas would rename a duplicate silently). Every
  data row has one cell per column (leave a cell empty for a missing value).
- Cells (``cells``): a number is ``12``, ``-3.5``, ``.5``, ``1e-3`` (ASCII). A cell is *missing* when it is
  empty or one of ``NA N/A NaN null None ?`` (any case), and in a feature column also when it is
  text that is not a number. ``inf``/``-inf``/``infinity`` and numbers beyond float32 range are
  not missing: they are an error wherever they occur in a feature column.
- Features (``columns``): the ``features`` columns (a list, or one comma-separated string) in that order, else
  (None or a blank string) every column other than the label that is numeric (at least one number and no more text cells
  than numbers; the columns skipped are named in the notes). ``one_hot`` columns are always used
  as features, each expanded in place into one 0/1 column per distinct value, named
  ``"movie_id=1034"``; the values (text or numbers) are taken from all usable rows, so train and
  test have the same columns.
- Label (``labels``): with ``label_threshold=t`` (None or NaN: no threshold) the label column must be numeric and becomes 1 where
  ``value >= t``, else 0. Without it: when the distinct values of the usable rows are exactly the
  integers 0..K-1 they are the classes; otherwise the distinct values are sorted (as numbers when
  all are numbers, else as text), numbered 0..K-1 in that order (at most 256 classes), and the
  mapping is written into the notes. Fewer than two classes is an error.
- Missing values (``missing``): ``missing="error"`` (default) raises, naming the first row and column and the
  total; ``"drop"`` drops every row with a missing label or feature; ``"mean"`` drops rows with a
  missing label, splits, then fills missing feature values with the *training split's* column
  means (in both splits).
- Split (here): a ``numpy.random.default_rng(seed)`` permutation of the usable rows; the first
  ``round(n * test_fraction)`` (at least 1, at most n-1) are the test split. Both splits keep the
  permuted (shuffled) order.

Row numbers in messages count data rows from 1, the header not counted, blank lines skipped;
the file line is given as well. Every problem is one :class:`~mlx.errors.DataError` line.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from mlx.choices import MISSING as MISSING_MODES
from mlx.data.csv_table.cells import Table
from mlx.data.csv_table.columns import choose_features, feature_matrix
from mlx.data.csv_table.labels import check_two_classes, classes, label_column
from mlx.data.csv_table.messages import class_counts, name_list_text, separator_hint
from mlx.data.csv_table.missing import feature_missing, impute_means, missing_per_row, rows_to_keep
from mlx.data.csv_table.read import read_table
from mlx.data.dataset import Dataset
from mlx.errors import DataError


def load_csv(
    path: str | os.PathLike,
    *,
    label: str,
    features: str | Sequence[str] | None = None,
    label_threshold: float | None = None,
    missing: str = "error",
    test_fraction: float = 0.2,
    seed: int = 0,
    one_hot: str | Sequence[str] | None = None,
) -> Dataset:
    """Load a CSV file as a train/test :class:`Dataset` (rules in the module docstring).

    Returns: Dataset(x_train float32[n_train, d], y_train int32[n_train], x_test float32[n_test, d],
    y_test int32[n_test], source='csv', name=basename of path, image_shape=None,
    feature_names=tuple of d names, notes=one-line facts: labelling, rows dropped, values imputed,
    split sizes, class counts).
    """
    missing, test_fraction, seed, threshold = _check_options(missing, test_fraction, seed, label_threshold)
    label = _check_label_name(label)
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    header, rows, lines = read_table(path, name)
    table = Table(header, rows)
    notes: list[str] = []
    if label not in table.index:
        raise DataError(f"label column {label!r} is not in {name}; columns are: {name_list_text(header)}"
                        f"{separator_hint(header)}")
    feats, hot = choose_features(table, name, label, features, one_hot, notes)
    lab = label_column(table, label, threshold, lines)
    feat_missing = feature_missing(table, feats, hot, lines)
    rows_kept = rows_to_keep(missing, table, name, label, lab.missing, feat_missing, lines, notes)
    y, class_names = classes(lab, label, threshold, rows_kept, notes)
    check_two_classes(y, class_names, name)
    train_idx, test_idx = _split(y, class_names, name, test_fraction, seed)
    x, names = feature_matrix(table, feats, hot, rows_kept, notes)
    x_train, x_test = x[train_idx], x[test_idx]
    if missing == "mean":
        x_train, x_test = impute_means(x_train, x_test, names, missing_per_row(feat_missing, feats, rows_kept),
                                       train_idx, test_idx, notes)
    notes.append(f"split: {len(train_idx)} train / {len(test_idx)} test rows (test_fraction={test_fraction:g}, "
                 f"seed={seed})")
    notes.append("train classes: " + class_counts(y[train_idx]) + "; test classes: " + class_counts(y[test_idx]))
    return Dataset(
        x_train=x_train.astype(np.float32), y_train=y[train_idx], x_test=x_test.astype(np.float32),
        y_test=y[test_idx], source="csv", name=name, image_shape=None, feature_names=tuple(names),
        notes=tuple(notes),
    )


def _split(y: np.ndarray, class_names: list[str], name: str, test_fraction: float, seed: int):
    """(train indices, test indices) of a seeded permutation; the first round(n * test_fraction)
    (at least 1, at most n-1) are the test split; the training split needs two classes."""
    n = len(y)
    if n < 2:
        raise DataError(f"only {n} usable row in {name}; need at least 2 to split into non-empty train and test")
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    if len(np.unique(y[train_idx])) < 2:
        c = int(y[train_idx][0])
        raise DataError(f"the training split ({len(train_idx)} rows) holds only class {c} ({class_names[c]}); "
                        f"need more rows, another seed or a smaller test_fraction (now {test_fraction:g})")
    return train_idx, test_idx


def _check_label_name(label) -> str:
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"label must name a column of the CSV file, got {label!r}")
    return label.strip()


def _check_options(missing, test_fraction, seed, label_threshold):
    if not isinstance(missing, str) or missing.strip().lower() not in MISSING_MODES:
        raise DataError(f"missing must be one of error|drop|mean, got {missing!r}")
    frac = _number(test_fraction, "test_fraction")
    if not 0.0 < frac < 1.0:
        raise DataError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    if isinstance(seed, str) and seed.strip().lstrip("+").isdigit():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    unset = label_threshold is None or (isinstance(label_threshold, float) and math.isnan(label_threshold))
    thr = None if unset else _number(label_threshold, "label_threshold")
    return missing.strip().lower(), frac, int(seed), thr


def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise DataError(f"{what} must be a finite number, got {value!r}")
    try:
        x = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a finite number, got {value!r}") from None
    if not math.isfinite(x):
        raise DataError(f"{what} must be a finite number, got {value!r}")
    return x

"""Missing and infinite values in a CSV table: which cells, the ``missing=`` policy, mean imputation.

A cell is *missing* when it is empty or one of ``NA N/A NaN null None ?`` (any case), and in a
feature column also when it is text that is not a number (in a one_hot column text is a value).
``inf``/``-inf``/``infinity`` and numbers beyond float32 range are not missing: they are an
error wherever they occur in a feature (or numeric label) column. ``missing="error"`` (default)
raises, naming the first row and column and the total; ``"drop"`` drops every row with a missing
label or feature; ``"mean"`` drops rows with a missing label, and after the split fills missing
feature values with the *training split's* column means (in both splits).
"""
from __future__ import annotations

import numpy as np

from mlx.data.csv_table.cells import NA, NUM, Table
from mlx.data.csv_table.messages import cell_text
from mlx.errors import DataError

_F32_MAX = float(np.finfo(np.float32).max)


def check_finite(table: Table, col: str, v, k, lines, what: str) -> None:
    """No number in ``col`` is infinite or beyond float32 range; else one DataError line."""
    bad = (k == NUM) & ~(np.abs(v) <= _F32_MAX)
    if bad.any():
        r = int(np.argmax(bad))
        raise DataError(f"{what} column {col!r} holds an infinite or out-of-float32-range value at data row {r + 1} "
                        f"(counting from 1 after the header; file line {lines[r]}): "
                        f"{cell_text(table.column(col)[r])}; "
                        f"{int(bad.sum())} such cells in all; infinite values are not missing values, so "
                        f"missing=drop|mean do not apply: fix or remove them")


def feature_missing(table: Table, feats: list[str], hot: set[str], lines) -> dict[str, np.ndarray]:
    """bool[n] per feature column: which cells are missing (text too, except in one_hot columns)."""
    out = {}
    for f in feats:
        v, k = table.parsed(f)
        if f in hot:
            out[f] = k == NA
        else:
            check_finite(table, f, v, k, lines, what="feature")
            out[f] = k != NUM
    return out


def rows_to_keep(missing: str, table: Table, name: str, label: str, label_missing, feat_missing, lines,
                 notes: list[str]) -> np.ndarray:
    """Indices of the rows the ``missing`` policy keeps (a note says how many it dropped)."""
    n_rows = len(table.rows)
    any_feat_missing = np.zeros(n_rows, dtype=bool)
    for m in feat_missing.values():
        any_feat_missing |= m
    if missing == "error":
        bad = label_missing | any_feat_missing
        if bad.any():
            _raise_first_missing(table, label, label_missing, feat_missing, lines, bad)
        keep = np.ones(n_rows, dtype=bool)
    elif missing == "drop":
        keep = ~(label_missing | any_feat_missing)
        if not keep.any():
            raise DataError(f"all {n_rows} rows of {name} have a missing label or feature value, so missing=drop "
                            f"leaves none; use missing=mean to impute features, or fix the file")
        if (~keep).any():
            notes.append(f"dropped {int((~keep).sum())} of {n_rows} rows with missing values (missing=drop)")
    else:
        keep = ~label_missing
        if not keep.any():
            raise DataError(f"all {n_rows} rows of {name} have a missing or non-numeric label in column {label!r}; "
                            f"nothing is left to learn from")
        if (~keep).any():
            notes.append(f"dropped {int((~keep).sum())} of {n_rows} rows with a missing label (missing=mean)")
    return np.flatnonzero(keep)


def _raise_first_missing(table: Table, label: str, label_missing, feat_missing, lines, bad):
    r = int(np.argmax(bad))
    cols = [h for h in table.header
            if (h == label and label_missing[r]) or (h in feat_missing and feat_missing[h][r])]
    col = cols[0]
    total = int(label_missing.sum()) + sum(int(m.sum()) for m in feat_missing.values())
    what = "label" if col == label else "feature"
    raise DataError(f"missing or non-numeric value in {what} column {col!r} at data row {r + 1} (counting from 1 "
                    f"after the header; file line {lines[r]}): {cell_text(table.column(col)[r])}; {total} such cells "
                    f"in {int(bad.sum())} rows; to go on, use missing=drop|mean (drop: drop those rows; mean: drop "
                    f"rows without a label, fill feature cells with training-split column means)")


def impute_means(x_train, x_test, names: list[str], cells_missing, train_idx, test_idx, notes: list[str]):
    """Missing (NaN) feature values of both splits filled with the training split's column means.

    cells_missing: int[n] missing feature cells per kept row (a one-hot column counts once).
    """
    counts = (x_train.shape[0] - np.isnan(x_train).sum(axis=0))
    if (counts == 0).any():
        col = names[int(np.argmin(counts))]
        raise DataError(f"feature column {col!r} has no values in the training split, so missing=mean has no "
                        f"mean to impute; use missing=drop or drop the column from features")
    means = np.nanmean(x_train, axis=0)
    n_tr, n_te = int(cells_missing[train_idx].sum()), int(cells_missing[test_idx].sum())
    if n_tr + n_te:
        x_train = np.where(np.isnan(x_train), means, x_train)
        x_test = np.where(np.isnan(x_test), means, x_test)
        notes.append(f"imputed {n_tr + n_te} missing values with training-split column means "
                     f"({n_tr} in train, {n_te} in test)")
    return x_train, x_test


def missing_per_row(feat_missing: dict[str, np.ndarray], feats: list[str], rows_kept) -> np.ndarray:
    """int[n]: how many feature cells of each kept row are missing."""
    cells_missing = np.zeros(len(rows_kept), dtype=np.int64)
    for f in feats:
        cells_missing += feat_missing[f][rows_kept]
    return cells_missing

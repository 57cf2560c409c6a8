"""CSV feature columns: which columns are features, and the matrix they make (one-hot expanded).

The ``features`` columns (a list, or one comma-separated string) in that order, else (None or a
blank string) every column other than the label that is numeric (at least one number and no
more text cells than numbers; the columns skipped are named in the notes). ``one_hot`` columns
are always used as features, each expanded in place into one 0/1 column per distinct value,
named ``"movie_id=1034"``; the values (text or numbers) are taken from all usable rows, so train
and test have the same columns.
"""
from __future__ import annotations

import numpy as np

from mlx.data.csv_table.cells import NA, NUM, TEXT, Table
from mlx.data.csv_table.messages import cell_text, name_list_text, number_text, separator_hint
from mlx.errors import DataError

MAX_ONE_HOT_VALUES = 1000  # distinct values of a one_hot column


def choose_features(table: Table, name: str, label: str, features, one_hot, notes: list[str]):
    """Feature column names in order, and the set of those to one-hot encode."""
    hot = _one_hot_columns(table, name, label, one_hot)
    if features is None or (isinstance(features, str) and not features.strip()):
        return _numeric_columns(table, name, label, hot, notes), set(hot)
    return _named_features(table, name, label, features, hot, notes), set(hot)


def name_list(value, what: str) -> list[str]:
    """Column names from a list or a comma-separated string (blanks dropped, none twice)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    try:
        names = [str(s).strip() for s in items]
    except TypeError:
        raise DataError(f"{what} must be column names (a list or a comma-separated string), got {value!r}") from None
    names = [s for s in names if s]
    for i, s in enumerate(names):
        if s in names[:i]:
            raise DataError(f"{what} names column {s!r} twice; name each column once")
    return names


def _one_hot_columns(table: Table, name: str, label: str, one_hot) -> list[str]:
    hot = name_list(one_hot, "one_hot")
    for h in hot:
        if h == label:
            raise DataError(f"one_hot column {label!r} is the label column; one_hot names feature columns")
        if h not in table.index:
            raise DataError(f"one_hot column {h!r} is not in {name}; columns are: {name_list_text(table.header)}")
    return hot


def _numeric_columns(table: Table, name: str, label: str, hot: list[str], notes: list[str]) -> list[str]:
    """features unset: every column but the label that is numeric or one-hot, in file order."""
    feats, skipped = [], []
    for h in table.header:
        if h == label:
            continue
        kinds = table.parsed(h)[1]
        n_num, n_text = int((kinds == NUM).sum()), int((kinds == TEXT).sum())
        if h in hot or (n_num > 0 and n_num >= n_text):
            feats.append(h)
        else:
            skipped.append(h)
    if skipped:
        notes.append(f"skipped non-numeric or empty columns: {name_list_text(skipped)}")
    if not feats:
        raise DataError(f"{name} has no numeric column besides the label {label!r}; columns are: "
                        f"{name_list_text(table.header)}; name features=... or one_hot=..."
                        f"{separator_hint(table.header)}")
    return feats


def _named_features(table: Table, name: str, label: str, features, hot: list[str], notes: list[str]) -> list[str]:
    """features given: those columns (the label removed), then the one_hot columns not named."""
    feats = name_list(features, "features")
    if not feats and not hot:  # features=[] (a blank string means unset, as in the CLI)
        raise DataError("features is empty; name at least one column, or leave features unset to use every "
                        "numeric column but the label")
    for f in feats:
        if f not in table.index:
            raise DataError(f"feature column {f!r} is not in {name}; columns are: {name_list_text(table.header)}")
    if label in feats:
        feats = [f for f in feats if f != label]
        notes.append(f"label column {label!r} removed from the features")
    feats += [h for h in hot if h not in feats]
    if not feats:
        raise DataError(f"features name only the label column {label!r}; name at least one other column")
    for f in feats:
        if f not in hot and not (table.parsed(f)[1] == NUM).any():
            kinds = table.parsed(f)[1]
            if not (kinds == TEXT).any():
                raise DataError(f"feature column {f!r} has no values (every cell is missing); name other columns")
            first = table.column(f)[int(np.argmax(kinds == TEXT))]
            raise DataError(f"feature column {f!r} holds no numbers (first text cell: {cell_text(first)}); name "
                            f"numeric columns in features, or encode this one with one_hot={f}")
    return feats


def feature_matrix(table: Table, feats: list[str], hot: set[str], rows_kept, notes: list[str]):
    """float64[n, d] of the kept rows (NaN where a cell is missing) and the d column names."""
    blocks, names = [], []
    for f in feats:
        v, k = table.parsed(f)
        if f in hot:
            block, block_names = _one_hot(table, f, rows_kept, v[rows_kept], k[rows_kept], notes)
        else:
            block, block_names = np.where(k[rows_kept] == NUM, v[rows_kept], np.nan)[:, None], [f]
        blocks.append(block)
        names.extend(block_names)
    return np.concatenate(blocks, axis=1), names


def _one_hot(table: Table, col: str, rows_kept, v, k, notes: list[str]):
    """float64[n, C] indicator columns (NaN rows where the cell is missing) and their names."""
    present = k != NA
    if not present.any():
        raise DataError(f"one_hot column {col!r} has no values in the usable rows; nothing to encode")
    if np.all(k[present] == NUM):
        keys, values = v, np.unique(v[present])
        shown = [number_text(x) for x in values]
    else:
        cells = table.column(col)
        keys = np.array([cells[i].strip() for i in rows_kept], dtype=object)
        values = np.array(sorted(set(keys[present].tolist())), dtype=object)
        shown = list(values)
    if len(values) > MAX_ONE_HOT_VALUES:
        raise DataError(f"one_hot column {col!r} has {len(values)} distinct values; at most {MAX_ONE_HOT_VALUES} "
                        f"are allowed")
    block = np.zeros((len(keys), len(values)))
    idx = np.flatnonzero(present)
    block[idx, np.searchsorted(values, keys[present])] = 1.0
    block[~present] = np.nan
    notes.append(f"one-hot: {col} -> {len(values)} columns")
    return block, [f"{col}={s}" for s in shown]

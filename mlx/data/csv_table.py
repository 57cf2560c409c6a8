"""A CSV table as a :class:`~mlx.data.load.Dataset`: numeric feature columns and a class label column.

    load_csv("experiments/data/ratings.csv", label="rating", label_threshold=4, missing="mean")

The rules, in the order they apply:

- File: a regular file (not a device, FIFO or socket) of at most ``MAX_CSV_BYTES`` (128 MiB), no
  line longer than ``MAX_LINE_BYTES`` (1 MiB); checked before the text is parsed (the size before
  anything is read).
  UTF-8 text (a BOM is fine), comma-separated, the first non-blank line is the header; blank
  lines are skipped. Column names are stripped of surrounding spaces and must be non-empty and
  unique; this is checked on the raw header line (pandas would rename a duplicate silently). Every
  data row has one cell per column (leave a cell empty for a missing value).
- Cells: a number is ``12``, ``-3.5``, ``.5``, ``1e-3`` (ASCII). A cell is *missing* when it is
  empty or one of ``NA N/A NaN null None ?`` (any case), and in a feature column also when it is
  text that is not a number. ``inf``/``-inf``/``infinity`` and numbers beyond float32 range are
  not missing: they are an error wherever they occur in a feature column.
- Features: the ``features`` columns (a list, or one comma-separated string) in that order, else
  (None or a blank string) every column other than the label that is numeric (at least one number and no more text cells
  than numbers; the columns skipped are named in the notes). ``one_hot`` columns are always used
  as features, each expanded in place into one 0/1 column per distinct value, named
  ``"movie_id=1034"``; the values (text or numbers) are taken from all usable rows, so train and
  test have the same columns.
- Label: with ``label_threshold=t`` (None or NaN: no threshold) the label column must be numeric and becomes 1 where
  ``value >= t``, else 0. Without it: when the distinct values of the usable rows are exactly the
  integers 0..K-1 they are the classes; otherwise the distinct values are sorted (as numbers when
  all are numbers, else as text), numbered 0..K-1 in that order (at most 256 classes), and the
  mapping is written into the notes. Fewer than two classes is an error.
- Missing values: ``missing="error"`` (default) raises, naming the first row and column and the
  total; ``"drop"`` drops every row with a missing label or feature; ``"mean"`` drops rows with a
  missing label, splits, then fills missing feature values with the *training split's* column
  means (in both splits).
- Split: a ``numpy.random.default_rng(seed)`` permutation of the usable rows; the first
  ``round(n * test_fraction)`` (at least 1, at most n-1) are the test split. Both splits keep the
  permuted (shuffled) order.

Row numbers in messages count data rows from 1, the header not counted, blank lines skipped;
the file line is given as well. Every problem is one :class:`~mlx.errors.DataError` line.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from pathlib import Path
from typing import Sequence

import numpy as np

from mlx.choices import MISSING as MISSING_MODES
from mlx.data.load import Dataset
from mlx.errors import DataError

NA_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"})  # lowercased
INF_TOKENS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
MAX_MAPPED_CLASSES = 256  # label values mapped to 0..K-1 (more means: give label_threshold)
MAX_ONE_HOT_VALUES = 1000  # distinct values of a one_hot column
MAX_CSV_BYTES = 128 * 2**20  # a bigger file is refused from its size, before it is read
MAX_LINE_BYTES = 2**20  # a longer line (or a file this big without a line end) is refused
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_F32_MAX = float(np.finfo(np.float32).max)
_NUM, _NA, _TEXT = 0, 1, 2  # cell kinds


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
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"label must name a column of the CSV file, got {label!r}")
    label = label.strip()
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    header, rows, lines = _read_table(path, name)
    table = _Table(header, rows)
    notes: list[str] = []
    if label not in table.index:
        raise DataError(f"label column {label!r} is not in {name}; columns are: {_names(header)}{_sep_hint(header)}")
    feats, hot = _choose_features(table, name, label, features, one_hot, notes)

    # Label values and which rows lack one.
    if threshold is not None:
        lv, lk = table.parsed(label)
        label_missing = lk != _NUM
        if label_missing.all():
            raise DataError(f"label column {label!r} holds no numbers, so label_threshold={_fmt(threshold)} cannot "
                            f"apply; give a numeric label column, or leave label_threshold unset for class labels")
    else:
        cells = [c.strip() for c in table.column(label)]
        label_missing = np.array([c.lower() in NA_TOKENS for c in cells], dtype=bool)
        lv, lk = table.parsed(label)
        numeric_label = bool(np.all(lk[~label_missing] == _NUM))
    if threshold is not None or numeric_label:
        _check_finite(table, label, lv, lk, lines, what="label")

    # Missing feature cells: text counts as missing, except in one_hot columns (text is a value there).
    feat_missing = {}
    for f in feats:
        v, k = table.parsed(f)
        if f in hot:
            feat_missing[f] = k == _NA
        else:
            _check_finite(table, f, v, k, lines, what="feature")
            feat_missing[f] = k != _NUM
    n_rows = len(rows)
    any_feat_missing = np.zeros(n_rows, dtype=bool)
    for m in feat_missing.values():
        any_feat_missing |= m

    if missing == "error":
        bad = label_missing | any_feat_missing
        if bad.any():
            _raise_first_missing(table, header, label, feats, label_missing, feat_missing, lines, bad)
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
    rows_kept = np.flatnonzero(keep)

    # Classes 0..K-1 from the rows kept.
    if threshold is not None:
        y = (lv[rows_kept] >= threshold).astype(np.int32)
        class_names = [f"{label} < {_fmt(threshold)}", f"{label} >= {_fmt(threshold)}"]
        notes.append(f"labels: 1 if {label} >= {_fmt(threshold)} else 0")
    else:
        if numeric_label:
            keys = lv[rows_kept]
            values = np.unique(keys)
            shown = [_fmt(v) for v in values]
        else:
            keys = np.array([cells[i] for i in rows_kept], dtype=object)
            values = np.array(sorted(set(keys.tolist())), dtype=object)
            shown = list(values)
        direct = numeric_label and np.array_equal(values, np.arange(len(values)))
        if not direct and len(values) > MAX_MAPPED_CLASSES:
            raise DataError(f"label column {label!r} has {len(values)} distinct values, too many to number as "
                            f"classes (at most {MAX_MAPPED_CLASSES}); give label_threshold=T for 1 if value >= T "
                            f"else 0, or use integer labels 0..K-1")
        y = np.searchsorted(values, keys).astype(np.int32)
        class_names = [f"{label}={s}" for s in shown]
        if not direct:
            pairs = ", ".join(f"{s}={i}" for i, s in enumerate(shown[:30]))
            more = f", ... ({len(shown)} classes)" if len(shown) > 30 else ""
            notes.append(f"label mapping (sorted distinct values of {label!r}): {pairs}{more}")
    present = np.unique(y)
    if len(present) < 2:
        c = int(present[0])
        raise DataError(f"only one class after labelling: all {len(y)} usable rows of {name} are class {c} "
                        f"({class_names[c]}); need at least two classes")

    # Split.
    n = len(rows_kept)
    if n < 2:
        raise DataError(f"only {n} usable row in {name}; need at least 2 to split into non-empty train and test")
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    if len(np.unique(y[train_idx])) < 2:
        c = int(y[train_idx][0])
        raise DataError(f"the training split ({len(train_idx)} rows) holds only class {c} ({class_names[c]}); "
                        f"need more rows, another seed or a smaller test_fraction (now {test_fraction:g})")

    # Feature matrix float64[n, d] with NaN where missing, then impute from the training split.
    blocks, names = [], []
    for f in feats:
        v, k = table.parsed(f)
        if f in hot:
            block, block_names = _one_hot(table, f, rows_kept, v[rows_kept], k[rows_kept], notes)
        else:
            block, block_names = np.where(k[rows_kept] == _NUM, v[rows_kept], np.nan)[:, None], [f]
        blocks.append(block)
        names.extend(block_names)
    x = np.concatenate(blocks, axis=1)
    x_train, x_test = x[train_idx], x[test_idx]
    if missing == "mean":
        counts = (x_train.shape[0] - np.isnan(x_train).sum(axis=0))
        if (counts == 0).any():
            col = names[int(np.argmin(counts))]
            raise DataError(f"feature column {col!r} has no values in the training split, so missing=mean has no "
                            f"mean to impute; use missing=drop or drop the column from features")
        means = np.nanmean(x_train, axis=0)
        cells_missing = np.zeros(n, dtype=np.int64)
        for f in feats:
            cells_missing += feat_missing[f][rows_kept]
        n_tr, n_te = int(cells_missing[train_idx].sum()), int(cells_missing[test_idx].sum())
        if n_tr + n_te:
            x_train = np.where(np.isnan(x_train), means, x_train)
            x_test = np.where(np.isnan(x_test), means, x_test)
            notes.append(f"imputed {n_tr + n_te} missing values with training-split column means "
                         f"({n_tr} in train, {n_te} in test)")
    notes.append(f"split: {len(train_idx)} train / {n_test} test rows (test_fraction={test_fraction:g}, seed={seed})")
    notes.append("train classes: " + _counts(y[train_idx]) + "; test classes: " + _counts(y[test_idx]))
    return Dataset(
        x_train=x_train.astype(np.float32), y_train=y[train_idx], x_test=x_test.astype(np.float32),
        y_test=y[test_idx], source="csv", name=name, image_shape=None, feature_names=tuple(names),
        notes=tuple(notes),
    )


class _Table:
    """The raw cells by column, parsed to numbers on first use."""

    def __init__(self, header: list[str], rows: list[list[str]]):
        self.header, self.rows = header, rows
        self.index = {h: i for i, h in enumerate(header)}
        self._parsed: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def column(self, name: str) -> list[str]:
        i = self.index[name]
        return [r[i] for r in self.rows]

    def parsed(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """float64[n] values (NaN unless a number) and int8[n] kinds (_NUM, _NA, _TEXT)."""
        if name not in self._parsed:
            cells = self.column(name)
            values, kinds = np.empty(len(cells)), np.empty(len(cells), dtype=np.int8)
            cache: dict[str, tuple[float, int]] = {}
            for i, c in enumerate(cells):
                hit = cache.get(c)
                if hit is None:
                    hit = _parse_cell(c)
                    if len(cache) < 100_000:
                        cache[c] = hit
                values[i], kinds[i] = hit
            self._parsed[name] = (values, kinds)
        return self._parsed[name]


def _parse_cell(cell: str) -> tuple[float, int]:
    s = cell.strip()
    if _NUMBER.fullmatch(s):
        return float(s), _NUM
    low = s.lower()
    if low in NA_TOKENS:
        return math.nan, _NA
    if low in INF_TOKENS:
        return (-math.inf if low.startswith("-") else math.inf), _NUM
    return math.nan, _TEXT


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _read_bytes(path) -> bytes:
    """The bytes of a regular file of at most MAX_CSV_BYTES, no line over MAX_LINE_BYTES; else one
    DataError line. Looked at before it is opened, so a device or a FIFO is never read."""
    p, shown = Path(path), os.fspath(path)
    try:
        st = p.stat()  # follows links: the file a link points to is what is read
    except FileNotFoundError:
        if p.is_symlink():
            raise DataError(f"CSV path {shown} is a broken link (its target does not exist)") from None
        raise DataError(f"CSV file not found: {shown}") from None
    except OSError as e:
        raise DataError(f"cannot read CSV file {shown}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"CSV path is a directory, not a file: {shown}")
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
        raise DataError(f"CSV path {shown} is {kind}, not a regular file; path= must name a .csv file")
    too_big = (f"CSV file {shown} is larger than {_mib(MAX_CSV_BYTES)} (the most this loader reads: it "
               f"holds every cell in memory); use a smaller file or a sample of its rows")
    if st.st_size > MAX_CSV_BYTES:
        raise DataError(too_big.replace("larger than", f"{_mib(st.st_size)}, larger than", 1))
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_CSV_BYTES + 1)
    except OSError as e:
        raise DataError(f"cannot read CSV file {shown}: {e.strerror or e}") from None
    if len(raw) > MAX_CSV_BYTES:  # it grew since stat
        raise DataError(too_big)
    if len(raw) > MAX_LINE_BYTES:
        longest, start = _longest_line(raw)
        if longest > MAX_LINE_BYTES:
            line = raw.count(b"\n", 0, start) + 1
            where = "has no line end" if longest == len(raw) else f"has a line (file line {line}) of {longest:,} bytes"
            raise DataError(f"CSV file {shown} {where}: at most {MAX_LINE_BYTES:,} bytes ({_mib(MAX_LINE_BYTES)}) "
                            f"a line are read; is it a CSV file with one row per line?")
    return raw


def _longest_line(raw: bytes, chunk: int = 1 << 24) -> tuple[int, int]:
    """(length, start offset) of the longest line of raw (line ends: \\n or \\r), in chunks."""
    best, best_start, start, n = 0, 0, 0, len(raw)
    for off in range(0, n, chunk):
        b = np.frombuffer(raw, np.uint8, count=min(chunk, n - off), offset=off)
        ends = np.flatnonzero((b == 10) | (b == 13)) + off
        if ends.size:
            starts = np.concatenate(([start], ends[:-1] + 1))
            lengths = ends - starts
            i = int(lengths.argmax())
            if lengths[i] > best:
                best, best_start = int(lengths[i]), int(starts[i])
            start = int(ends[-1]) + 1
    if n - start > best:
        best, best_start = n - start, start
    return best, best_start


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _read_table(path, name: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (lists of cells) and the file line each data row starts on."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"CSV file {name} is not UTF-8 text (undecodable byte at offset {e.start}); "
                        f"save it as UTF-8") from None
    if not text.strip():
        raise DataError(f"CSV file {name} is empty; it needs a header line and at least two data rows")
    header, rows, lines = None, [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    prev_line = 0
    try:
        for row in reader:
            start, prev_line = prev_line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if header is None:
                header = [h.strip() for h in row]
                continue
            rows.append(row)
            lines.append(start)
    except csv.Error as e:
        raise DataError(f"CSV file {name} cannot be parsed near line {reader.line_num}: {e}") from None
    if header is None:
        raise DataError(f"CSV file {name} is empty; it needs a header line and at least two data rows")
    for i, h in enumerate(header):
        if not h:
            raise DataError(f"column {i + 1} of the header of {name} has no name; every column needs a unique name "
                            f"(a CSV saved by pandas with its index has an unnamed first column: save with index=False)")
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in seen:
            raise DataError(f"duplicate column name {h!r} in the header of {name} (columns {seen[h] + 1} and {i + 1}); "
                            f"column names must be unique")
        seen[h] = i
    if not rows:
        raise DataError(f"CSV file {name} has a header but no data rows; need at least two rows")
    for r, (row, line) in enumerate(zip(rows, lines)):
        if len(row) != len(header):
            raise DataError(f"data row {r + 1} of {name} (counting from 1 after the header; file line {line}) has "
                            f"{len(row)} cells but the header has {len(header)} columns; every row needs one cell "
                            f"per column (leave a cell empty for a missing value)")
    return header, rows, lines


def _choose_features(table: _Table, name: str, label: str, features, one_hot, notes: list[str]):
    """Feature column names in order, and the set of those to one-hot encode."""
    hot = _name_list(one_hot, "one_hot")
    for h in hot:
        if h == label:
            raise DataError(f"one_hot column {label!r} is the label column; one_hot names feature columns")
        if h not in table.index:
            raise DataError(f"one_hot column {h!r} is not in {name}; columns are: {_names(table.header)}")
    if features is None or (isinstance(features, str) and not features.strip()):
        feats, skipped = [], []
        for h in table.header:
            if h == label:
                continue
            kinds = table.parsed(h)[1]
            n_num, n_text = int((kinds == _NUM).sum()), int((kinds == _TEXT).sum())
            if h in hot or (n_num > 0 and n_num >= n_text):
                feats.append(h)
            else:
                skipped.append(h)
        if skipped:
            notes.append(f"skipped non-numeric or empty columns: {_names(skipped)}")
        if not feats:
            raise DataError(f"{name} has no numeric column besides the label {label!r}; columns are: "
                            f"{_names(table.header)}; name features=... or one_hot=...{_sep_hint(table.header)}")
        return feats, set(hot)
    feats = _name_list(features, "features")
    if not feats and not hot:  # features=[] (a blank string means unset, as in the CLI)
        raise DataError("features is empty; name at least one column, or leave features unset to use every "
                        "numeric column but the label")
    for f in feats:
        if f not in table.index:
            raise DataError(f"feature column {f!r} is not in {name}; columns are: {_names(table.header)}")
    if label in feats:
        feats = [f for f in feats if f != label]
        notes.append(f"label column {label!r} removed from the features")
    feats += [h for h in hot if h not in feats]
    if not feats:
        raise DataError(f"features name only the label column {label!r}; name at least one other column")
    for f in feats:
        if f not in hot and not (table.parsed(f)[1] == _NUM).any():
            kinds = table.parsed(f)[1]
            if not (kinds == _TEXT).any():
                raise DataError(f"feature column {f!r} has no values (every cell is missing); name other columns")
            first = table.column(f)[int(np.argmax(kinds == _TEXT))]
            raise DataError(f"feature column {f!r} holds no numbers (first text cell: {_cell(first)}); name numeric "
                            f"columns in features, or encode this one with one_hot={f}")
    return feats, set(hot)


def _name_list(value, what: str) -> list[str]:
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


def _one_hot(table: _Table, col: str, rows_kept, v, k, notes: list[str]):
    """float64[n, C] indicator columns (NaN rows where the cell is missing) and their names."""
    present = k != _NA
    if not present.any():
        raise DataError(f"one_hot column {col!r} has no values in the usable rows; nothing to encode")
    if np.all(k[present] == _NUM):
        keys, values = v, np.unique(v[present])
        shown = [_fmt(x) for x in values]
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


def _check_finite(table: _Table, col: str, v, k, lines, what: str):
    bad = (k == _NUM) & ~(np.abs(v) <= _F32_MAX)
    if bad.any():
        r = int(np.argmax(bad))
        raise DataError(f"{what} column {col!r} holds an infinite or out-of-float32-range value at data row {r + 1} "
                        f"(counting from 1 after the header; file line {lines[r]}): {_cell(table.column(col)[r])}; "
                        f"{int(bad.sum())} such cells in all; infinite values are not missing values, so "
                        f"missing=drop|mean do not apply: fix or remove them")


def _raise_first_missing(table, header, label, feats, label_missing, feat_missing, lines, bad):
    r = int(np.argmax(bad))
    cols = [h for h in header if (h == label and label_missing[r]) or (h in feat_missing and feat_missing[h][r])]
    col = cols[0]
    total = int(label_missing.sum()) + sum(int(m.sum()) for m in feat_missing.values())
    what = "label" if col == label else "feature"
    raise DataError(f"missing or non-numeric value in {what} column {col!r} at data row {r + 1} (counting from 1 "
                    f"after the header; file line {lines[r]}): {_cell(table.column(col)[r])}; {total} such cells in "
                    f"{int(bad.sum())} rows; to go on, use missing=drop|mean (drop: drop those rows; mean: drop rows "
                    f"without a label, fill feature cells with training-split column means)")


def _cell(c: str) -> str:
    return "empty cell" if not c.strip() else f"cell {c[:30]!r}" + ("..." if len(c) > 30 else "")


def _names(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) if (not n or n != n.strip() or "," in n) else n for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _sep_hint(header: list[str]) -> str:
    if len(header) == 1:
        for sep, word in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header[0]:
                return f" (the file looks separated by {word}; only commas are read)"
    return ""


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _counts(y: np.ndarray) -> str:
    values, counts = np.unique(y, return_counts=True)
    shown = ", ".join(f"{v}: {c}" for v, c in zip(values[:20], counts[:20]))
    return shown + (f", ... ({len(values)} classes)" if len(values) > 20 else "")

"""A CSV file read into its header, data rows and file line numbers, with the file checks first.

A regular file (not a device, FIFO or socket) of at most ``MAX_CSV_BYTES`` (128 MiB), no line
longer than ``MAX_LINE_BYTES`` (1 MiB): checked before the text is parsed (the size before
anything is read). UTF-8 text (a BOM is fine), comma-separated, the first non-blank line is the
header; blank lines are skipped. Column names are stripped of surrounding spaces and must be
non-empty and unique; this is checked on the raw header line (pandas would rename a duplicate
silently). Every data row has one cell per column.
"""
from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import numpy as np

from mlx.errors import DataError

MAX_CSV_BYTES = 128 * 2**20  # a bigger file is refused from its size, before it is read
MAX_LINE_BYTES = 2**20  # a longer line (or a file this big without a line end) is refused

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def read_table(path, name: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (lists of cells) and the file line each data row starts on."""
    text = _decode(_read_bytes(path), name)
    header, rows, lines = _parse_rows(text, name)
    _check_header(header, name)
    if not rows:
        raise DataError(f"CSV file {name} has a header but no data rows; need at least two rows")
    for r, (row, line) in enumerate(zip(rows, lines)):
        if len(row) != len(header):
            raise DataError(f"data row {r + 1} of {name} (counting from 1 after the header; file line {line}) has "
                            f"{len(row)} cells but the header has {len(header)} columns; every row needs one cell "
                            f"per column (leave a cell empty for a missing value)")
    return header, rows, lines


def _stat_regular(p: Path, shown: str) -> os.stat_result:
    """The stat of a regular file (links followed); else one DataError line. Nothing is opened."""
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
    return st


def _read_bytes(path) -> bytes:
    """The bytes of a regular file of at most MAX_CSV_BYTES, no line over MAX_LINE_BYTES; else one
    DataError line. Looked at before it is opened, so a device or a FIFO is never read."""
    p, shown = Path(path), os.fspath(path)
    st = _stat_regular(p, shown)
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


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a BOM dropped) that is not blank; else one DataError line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"CSV file {name} is not UTF-8 text (undecodable byte at offset {e.start}); "
                        f"save it as UTF-8") from None
    if not text.strip():
        raise DataError(f"CSV file {name} is empty; it needs a header line and at least two data rows")
    return text


def _parse_rows(text: str, name: str) -> tuple[list[str], list[list[str]], list[int]]:
    """The stripped header, the data rows and their first file lines, blank lines skipped."""
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
    return header, rows, lines


def _check_header(header: list[str], name: str) -> None:
    """Every column has a name, and no name is used twice."""
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

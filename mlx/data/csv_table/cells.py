"""CSV cells: one cell parsed to a number, missing or text, and the table of cells by column.

A number is ``12``, ``-3.5``, ``.5``, ``1e-3`` (ASCII); a cell is missing when it is empty or one
of ``NA N/A NaN null None ?`` (any case); ``inf``/``-inf``/``infinity`` parse as numbers (the
loader refuses them: they are not missing values); anything else is text.
"""
from __future__ import annotations

import math
import re

import numpy as np

NA_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"})  # lowercased
INF_TOKENS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
NUM, NA, TEXT = 0, 1, 2  # cell kinds
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class Table:
    """The raw cells by column, parsed to numbers on first use."""

    def __init__(self, header: list[str], rows: list[list[str]]):
        self.header, self.rows = header, rows
        self.index = {h: i for i, h in enumerate(header)}
        self._parsed: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def column(self, name: str) -> list[str]:
        i = self.index[name]
        return [r[i] for r in self.rows]

    def parsed(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """float64[n] values (NaN unless a number) and int8[n] kinds (NUM, NA, TEXT)."""
        if name not in self._parsed:
            cells = self.column(name)
            values, kinds = np.empty(len(cells)), np.empty(len(cells), dtype=np.int8)
            cache: dict[str, tuple[float, int]] = {}
            for i, c in enumerate(cells):
                hit = cache.get(c)
                if hit is None:
                    hit = parse_cell(c)
                    if len(cache) < 100_000:
                        cache[c] = hit
                values[i], kinds[i] = hit
            self._parsed[name] = (values, kinds)
        return self._parsed[name]


def parse_cell(cell: str) -> tuple[float, int]:
    """(value, kind) of one cell: (the number, NUM), (NaN, NA) or (NaN, TEXT)."""
    s = cell.strip()
    if _NUMBER.fullmatch(s):
        return float(s), NUM
    low = s.lower()
    if low in NA_TOKENS:
        return math.nan, NA
    if low in INF_TOKENS:
        return (-math.inf if low.startswith("-") else math.inf), NUM
    return math.nan, TEXT

"""Helpers the CSV tests share: write a table, expect a one-line DataError, a ratings table."""
import numpy as np
import pytest

from mlx.data.csv_table.load import load_csv
from mlx.errors import DataError


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error(path, **kw) -> str:
    with pytest.raises(DataError) as e:
        load_csv(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def ratings_text(n=40):
    rng = np.random.default_rng(1)
    rows = [f"{i % 7},{1000 + i % 5},{rng.integers(1, 11) / 2:.1f}" for i in range(n)]
    return "user_id,movie_id,rating\n" + "\n".join(rows) + "\n"

"""Bad data through ``mlx train``: each bad IDX folder or CSV file is one exact line and exit 2.

The cases call ``mlx.cli.main`` in-process (no interpreter start). A task whose class is empty
after its filter is in tests/test_tasks.py.
"""
import numpy as np
import pytest
from _util import QUIET, idx_set, main_error, write_text


def _table(n=20, bad=None):
    rows = []
    for i in range(n):
        b = bad if (bad is not None and i == 3) else i % 7
        rows.append(f"{i},{b},{i % 2}\n")
    return "a,b,label\n" + "".join(rows)


def test_nan_in_csv_features(capsys, tmp_path):
    f = write_text(tmp_path / "nan.csv", _table(bad="nan"))
    assert main_error(capsys, "train", "data=csv", f"path={f}", "task=labels", "missing=error", *QUIET) == (
        "mlx: error: missing or non-numeric value in feature column 'b' at data row 4 (counting from 1 after "
        "the header; file line 5): cell 'nan'; 1 such cells in 1 rows; to go on, use missing=drop|mean (drop: "
        "drop those rows; mean: drop rows without a label, fill feature cells with training-split column means)")


@pytest.mark.parametrize("missing", ["error", "mean"])
def test_inf_in_csv_features(capsys, tmp_path, missing):
    f = write_text(tmp_path / "inf.csv", _table(bad="inf"))
    assert main_error(capsys, "train", "data=csv", f"path={f}", "task=labels", f"missing={missing}", *QUIET) == (
        "mlx: error: feature column 'b' holds an infinite or out-of-float32-range value at data row 4 (counting "
        "from 1 after the header; file line 5): cell 'inf'; 1 such cells in all; infinite values are not missing "
        "values, so missing=drop|mean do not apply: fix or remove them")


def test_idx_images_of_the_wrong_size(capsys, tmp_path):
    d = idx_set(tmp_path / "i27", size=(27, 27))
    assert main_error(capsys, "train", "data=idx", f"data_dir={d}", *QUIET) == (
        f"mlx: error: {d}/train-images-idx3-ubyte holds images of 27x27 pixels, expected 28x28 (MNIST format)")


def test_labels_outside_the_task(capsys, tmp_path):
    d = idx_set(tmp_path / "lab", train_labels=np.arange(40) % 11)  # an IDX label 10
    assert main_error(capsys, "train", "data=idx", f"data_dir={d}", *QUIET) == (
        f"mlx: error: {d}/train-labels-idx1-ubyte has label 10 at index 10 (3 bad in all); labels must be 0..9")
    f = write_text(tmp_path / "l.csv", "a,b,label\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(130)))
    assert main_error(capsys, "train", "data=csv", f"path={f}", "task=digits", *QUIET) == (
        "mlx: error: label 10 in the train split is outside task 'digits', which needs digit labels 0-9; "
        "use task=labels for other labels")


@pytest.mark.parametrize("text,expected", [
    ("", "mlx: error: CSV file t.csv is empty; it needs a header line and at least two data rows"),
    ("a,b,label\n", "mlx: error: CSV file t.csv has a header but no data rows; need at least two rows"),
])
def test_csv_with_no_rows(capsys, tmp_path, text, expected):
    f = write_text(tmp_path / "t.csv", text)
    assert main_error(capsys, "train", "data=csv", f"path={f}", *QUIET) == expected


def test_csv_duplicate_column(capsys, tmp_path):
    f = write_text(tmp_path / "dup.csv", "a,a,label\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(20)))
    assert main_error(capsys, "train", "data=csv", f"path={f}", *QUIET) == (
        "mlx: error: duplicate column name 'a' in the header of dup.csv (columns 1 and 2); "
        "column names must be unique")


def test_csv_label_column_not_present(capsys, tmp_path):
    f = write_text(tmp_path / "t.csv", _table())
    assert main_error(capsys, "train", "data=csv", f"path={f}", "label=y", *QUIET) == (
        "mlx: error: label column 'y' is not in t.csv; columns are: a, b, label")

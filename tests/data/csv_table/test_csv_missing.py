"""mlx.data.csv_table.missing: missing=error|drop|mean, training-split means, infinite values refused."""
import numpy as np
import pytest
from _csv_util import error, write

from mlx.data.csv_table.load import load_csv


def test_missing_error_names_first_row_column_and_total(tmp_path):
    p = write(tmp_path, "a,b,y\n1,2,0\n3,,1\n4,NA,0\n5,abc,1\n6,7,0\n")
    msg = error(p, label="y")
    assert "column 'b'" in msg and "data row 2" in msg and "file line 3" in msg
    assert "3 such cells in 3 rows" in msg and "missing=drop|mean" in msg
    p = write(tmp_path, "a,y\n1,0\n2,\n3,1\n")  # a missing label is an error too
    assert "label column 'y' at data row 2" in error(p, label="y")


def test_missing_drop_counts_rows(tmp_path):
    good = "".join(f"{i},{i},{i % 2}\n" for i in range(10))
    p = write(tmp_path, "a,b,y\n3,,1\n4,nan,0\n" + good + "5,abc,1\n8,9,\n")
    ds = load_csv(p, label="y", missing="drop", test_fraction=0.2)
    assert (ds.n_train, ds.n_test) == (8, 2)
    assert "dropped 4 of 14 rows with missing values (missing=drop)" in ds.notes
    assert not np.isnan(ds.x_train).any() and not np.isnan(ds.x_test).any()


def test_missing_mean_uses_training_split_means(tmp_path):
    # Column a is 0 on even rows, 100 on odd rows; the test rows carry the missing cells.
    n = 20
    ds0 = load_csv(write(tmp_path, "a,b,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(n))),
                   label="y", test_fraction=0.25, seed=3)
    test_ids = set(ds0.x_test[:, 0].astype(int).tolist())
    rows = []
    for i in range(n):
        a = "" if i in test_ids else str(100 * (i % 2))
        rows.append(f"{a},{i},{i % 2}\n")
    p = write(tmp_path, "a,b,y\n" + "".join(rows))
    ds = load_csv(p, label="y", missing="mean", test_fraction=0.25, seed=3)
    assert set(ds.x_test[:, 1].astype(int).tolist()) == test_ids  # same split as before
    train_mean = ds.x_train[:, 0].mean()
    all_known_mean = np.mean([100 * (i % 2) for i in range(n) if i not in test_ids])
    assert train_mean == pytest.approx(all_known_mean)
    np.testing.assert_allclose(ds.x_test[:, 0], train_mean, rtol=1e-6)
    assert any(f"imputed {len(test_ids)} missing values with training-split column means (0 in train, "
               f"{len(test_ids)} in test)" == note for note in ds.notes)


def test_missing_mean_train_mean_differs_from_test_mean(tmp_path):
    # Train rows have a = 0/10, test rows a = 1000 except one missing: the fill must be the train mean.
    ds0 = load_csv(write(tmp_path, "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10))),
                   label="y", test_fraction=0.3, seed=0)
    test_ids = sorted(ds0.x_test[:, 0].astype(int).tolist())
    rows = []
    for i in range(10):
        a = ("" if i == test_ids[0] else "1000") if i in test_ids else str(10 * (i % 2))
        rows.append(f"{a},{i},{i % 2}\n")
    p = write(tmp_path, "a,id,y\n" + "".join(rows))
    ds = load_csv(p, label="y", missing="mean", test_fraction=0.3, seed=0)
    train_mean = float(ds.x_train[:, 0].mean())
    assert 0 < train_mean < 10
    filled = ds.x_test[ds.x_test[:, 1] == test_ids[0], 0]
    assert filled == pytest.approx([train_mean])


def test_missing_mean_drops_rows_without_label(tmp_path):
    p = write(tmp_path, "a,y\n1,0\n,1\n3,NA\n4,1\n5,0\n6,1\n")
    ds = load_csv(p, label="y", missing="mean", test_fraction=0.2)
    assert ds.n_train + ds.n_test == 5
    assert "dropped 1 of 6 rows with a missing label (missing=mean)" in ds.notes


def test_inf_is_an_error_in_every_mode(tmp_path):
    p = write(tmp_path, "a,y\n1,0\ninf,1\n3,0\n4,1\n")
    for mode in ("error", "drop", "mean"):
        msg = error(p, label="y", missing=mode)
        assert "infinite" in msg and "data row 2" in msg
    assert "float32" in error(write(tmp_path, "a,y\n1,0\n1e39,1\n3,0\n"), label="y")

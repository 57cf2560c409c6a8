"""mlx.data.csv_table.load_csv: labels, features, missing values, split, and a one-line DataError for bad text."""
import csv
import importlib.util
import io
import os
from pathlib import Path

import numpy as np
import pytest
from _util import assert_usage_error, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlx.data.csv_table import MAX_CSV_BYTES, MAX_LINE_BYTES, load_csv
from mlx.data.load import Dataset
from mlx.errors import DataError, UsageError

ROOT = Path(__file__).resolve().parents[1]


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


def test_ratings_threshold(tmp_path):
    p = write(tmp_path, "user_id,movie_id,rating\n0,1034,5.0\n0,1255,3.5\n1,1034,4.5\n2,1255,1.0\n3,7,4.0\n")
    ds = load_csv(p, label="rating", label_threshold=4, test_fraction=0.4)
    assert isinstance(ds, Dataset) and ds.source == "csv" and ds.name == "t.csv" and ds.image_shape is None
    assert ds.feature_names == ("user_id", "movie_id")
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert (ds.n_train, ds.n_test) == (3, 2)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    liked = {(int(a), int(b)): int(c) for (a, b), c in zip(x, y)}
    assert liked == {(0, 1034): 1, (0, 1255): 0, (1, 1034): 1, (2, 1255): 0, (3, 7): 1}
    assert "labels: 1 if rating >= 4 else 0" in ds.notes


def test_integer_labels_used_as_is_and_features_option(tmp_path):
    p = write(tmp_path, "a,b,c,y\n1,2,x,0\n3,4,y,2\n5,6,z,1\n7,8,w,2\n9,1,v,0\n")
    ds = load_csv(p, label="y", features="b, a", test_fraction=0.2)
    assert ds.feature_names == ("b", "a")
    assert not any("mapping" in n for n in ds.notes)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert {(int(r[1]), int(c)) for r, c in zip(x, y)} == {(1, 0), (3, 2), (5, 1), (7, 2), (9, 0)}
    # Default features: numeric columns only; the text column c is skipped and named in the notes.
    ds = load_csv(p, label="y", features=" ", label_threshold=float("nan"))  # blank and NaN mean unset
    assert ds.feature_names == ("a", "b")
    assert any("skipped" in n and "c" in n for n in ds.notes)


def test_other_labels_mapped_in_sorted_order(tmp_path):
    p = write(tmp_path, "x,kind\n1,dog\n2,cat\n3,dog\n4,bird\n5,cat\n6,bird\n")
    ds = load_csv(p, label="kind", test_fraction=0.5)
    assert any("bird=0, cat=1, dog=2" in n for n in ds.notes)
    x = np.concatenate([ds.x_train, ds.x_test])[:, 0]
    y = np.concatenate([ds.y_train, ds.y_test])
    assert dict(zip(x.astype(int).tolist(), y.tolist())) == {1: 2, 2: 1, 3: 2, 4: 0, 5: 1, 6: 0}
    p = write(tmp_path, "x,y\n1,5\n2,-1\n3,5\n4,2.5\n")  # numbers, not 0..K-1: sorted numerically
    ds = load_csv(p, label="y", test_fraction=0.25)
    assert any("-1=0, 2.5=1, 5=2" in n for n in ds.notes)


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


def test_split_reproducible(tmp_path):
    p = write(tmp_path, ratings_text(200))
    a = load_csv(p, label="rating", label_threshold=4, seed=7)
    b = load_csv(p, label="rating", label_threshold=4, seed=7)
    c = load_csv(p, label="rating", label_threshold=4, seed=8)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_test, c.x_test)
    assert (a.n_train, a.n_test) == (160, 40)


def test_one_hot(tmp_path):
    p = write(tmp_path, "user_id,movie_id,rating\n0,1034,5\n0,1255,3\n1,1034,4.5\n2,7,1\n3,1255,4\n")
    ds = load_csv(p, label="rating", label_threshold=4, one_hot="movie_id", test_fraction=0.4)
    assert ds.feature_names == ("user_id", "movie_id=7", "movie_id=1034", "movie_id=1255")
    x = np.concatenate([ds.x_train, ds.x_test])
    assert (x[:, 1:].sum(axis=1) == 1).all()
    # Text values work too, and a missing one under missing=mean gets the training frequencies.
    p = write(tmp_path, "g,y\nred,0\nblue,1\nred,1\n,0\nblue,0\nred,1\n")
    ds = load_csv(p, label="y", one_hot=["g"], missing="mean", test_fraction=0.3)
    assert ds.feature_names == ("g=blue", "g=red")
    x = np.concatenate([ds.x_train, ds.x_test])
    assert np.allclose(x.sum(axis=1), 1)


@pytest.mark.parametrize(
    "text, kw, expect",
    [
        ("", {}, "empty"),
        ("\n \n", {}, "empty"),
        ("a,y\n", {}, "no data rows"),
        ("a,b,a,y\n1,2,3,0\n", {}, "duplicate column name 'a'"),
        ("a,,y\n1,2,0\n", {}, "has no name"),
        ("a,b\n1,0\n2,1\n", {}, "label column 'y' is not in t.csv; columns are: a, b"),
        ("a;b;y\n1;2;0\n", {}, "separated by ';'"),
        ("a,y\n1,0\n2,1\n", {"features": "zz"}, "feature column 'zz' is not in"),
        ("a,y\n1,0\n2,1\n", {"features": "y"}, "only the label"),
        ("a,y\n1,0\n2,1\n", {"features": []}, "features is empty"),
        ("a,t,y\n1,x,0\n2,z,1\n", {"features": "t"}, "holds no numbers"),
        ("t,y\nx,0\nz,1\n", {}, "no numeric column"),
        ("a,y\n1,0\n2,1,3\n", {}, "data row 2"),
        ("a,y\n1,1\n2,1\n3,1\n", {}, "only one class"),
        ("a,y\n1,5\n2,4\n", {"label_threshold": 4}, "only one class"),
        ("a,y\n1,0\n", {}, "only one class"),
        ("a,y\n1,0\n2,1\n", {"test_fraction": 1.0}, "test_fraction"),
        ("a,y\n1,0\n2,1\n", {"test_fraction": 0}, "test_fraction"),
        ("a,y\n1,0\n2,1\n", {"missing": "zero"}, "error|drop|mean"),
        ("a,y\n1,0\n2,1\n", {"seed": -1}, "seed"),
        ("a,y\n1,0\n2,1\n", {"label_threshold": "high"}, "label_threshold"),
        ("a,y\n1,x\n2,z\n", {"label_threshold": 1}, "holds no numbers"),
        ("a,b,y\n,1,0\n2,NA,1\n", {"missing": "drop"}, "all 2 rows"),
        ("a,b,y\n,1,0\nNA,2,1\n", {"features": "a"}, "every cell is missing"),
        ("a,y\n1,0\n2,1\n", {}, "training split"),
        ("a,y\n" + "".join(f"{i},{i}.5\n" for i in range(300)), {}, "too many"),
    ],
)
def test_bad_inputs_one_line_error(tmp_path, text, kw, expect):
    p = write(tmp_path, text)
    assert expect in error(p, **{"label": "y", **kw})


def test_file_errors(tmp_path):
    assert "not found" in error(tmp_path / "nope.csv", label="y")
    assert "directory" in error(tmp_path, label="y")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"a,y\n\xff\xfe,1\n")
    assert "UTF-8" in error(p, label="y")


# ---------------------------------------------------------------- paths that are not a small CSV file


def _train_csv(tmp_path, path):
    out = tmp_path / "runs"
    proc = run_cli("train", "data=csv", f"path={path}", "label=y", f"out={out}", "epochs=1",
                   "wandb=disabled")
    return proc, out


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_cli_csv_device_is_refused_before_reading(tmp_path, device):
    """path=/dev/zero was a MemoryError traceback (read until memory ran out)."""
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    proc, out = _train_csv(tmp_path, device)
    assert_usage_error(proc, device, "character device", "not a regular file", "path=")
    assert not out.exists()


def test_cli_csv_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    proc, out = _train_csv(tmp_path, fifo)
    assert_usage_error(proc, str(fifo), "FIFO", "not a regular file")
    assert not out.exists()


def test_cli_csv_too_big_is_refused_from_its_size(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(MAX_CSV_BYTES + 1)  # sparse: no disk used, refused before a byte is read
    proc, out = _train_csv(tmp_path, big)
    assert_usage_error(proc, str(big), "larger than 128 MiB", "smaller file")
    assert not out.exists()


def test_cli_csv_without_line_ends_is_refused(tmp_path):
    flat = tmp_path / "flat.csv"
    flat.write_bytes(b"x,y," + b"1," * (MAX_LINE_BYTES // 2))  # 1 MiB and more, no line end
    proc, out = _train_csv(tmp_path, flat)
    assert_usage_error(proc, str(flat), "has no line end", f"{MAX_LINE_BYTES:,} bytes", "1 MiB")
    assert not out.exists()


def test_long_line_is_named(tmp_path):
    p = tmp_path / "long.csv"
    p.write_bytes(b"x,y\r\n1,0\r\n" + b"2" * (MAX_LINE_BYTES + 1) + b",1\r\n3,1\r\n")
    msg = error(p, label="y")
    assert "file line 3" in msg and f"{MAX_LINE_BYTES + 3:,} bytes" in msg


def test_link_to_a_csv_file_is_read_broken_link_is_named(tmp_path):
    target = write(tmp_path, ratings_text(), name="real.csv")
    (tmp_path / "link.csv").symlink_to(target)
    ds = load_csv(tmp_path / "link.csv", label="rating", label_threshold=4)
    assert ds.n_train + ds.n_test == 40
    (tmp_path / "broken.csv").symlink_to(tmp_path / "gone.csv")
    assert "broken link" in error(tmp_path / "broken.csv", label="y")


NUMBERS = st.sampled_from(["0", "1", "2", "0", "1", "3", "-3.5", ".5", "4.0", "5.0", "1e3", " 7 "])
ODD = st.sampled_from(["", " ", "nan", "NA", "?", "null", "inf", "-inf", "1e999", "x", "é", '"a,b"', '"', "''",
                       '"1\n2"'])
CELLS = st.one_of(*[NUMBERS] * 8, ODD, st.text(max_size=5))
NAMES = st.sampled_from(["a", "b", "y", "rating", "", " y ", "é", "a,b", '"q"', "c", "d"])


@st.composite
def csv_texts(draw):
    """Mostly well-formed CSV text (so that loading often succeeds), with odd cells, headers and rows."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=40))
    if kind == 1:
        header = draw(st.lists(NAMES, min_size=1, max_size=5))
    else:
        extra = draw(st.lists(st.sampled_from(["c", "d", "é", "rating"]), unique=True, max_size=2))
        header = draw(st.permutations(["a", "b", "y"] + extra))
    width = len(header)
    ragged = kind <= 2 and draw(st.booleans())
    rows = draw(st.lists(st.lists(CELLS, min_size=width - ragged, max_size=width + ragged), min_size=1, max_size=14))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    end = draw(st.sampled_from(["", nl, nl + nl]))
    if kind <= 2:  # cells as they are: quotes, commas and newlines in them break the structure
        return nl.join(",".join(r) for r in [header] + rows) + end
    out = io.StringIO()
    csv.writer(out, lineterminator=nl).writerows([header] + rows)
    return out.getvalue() + end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=csv_texts(),
    raw=st.one_of(st.none(), st.binary(max_size=40)),
    label=st.sampled_from(["y", "y", "y", "rating", "a", "missing_col"]),
    threshold=st.sampled_from([None, 0.5, 4, "3"]),
    missing=st.sampled_from(["error", "drop", "mean", "bogus"]),
    features=st.sampled_from([None, "a", "a,b", ["b"], "y", ""]),
    one_hot=st.sampled_from([None, "b"]),
    test_fraction=st.sampled_from([0.2, 0.5, 0.9, 0.0, 1.5]),
)
def test_any_text_gives_dataset_or_data_error(tmp_path_factory, text, raw, label, threshold, missing, features,
                                               one_hot, test_fraction):
    p = tmp_path_factory.getbasetemp() / "fuzz.csv"
    p.write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))
    try:
        ds = load_csv(p, label=label, label_threshold=threshold, missing=missing, features=features,
                      one_hot=one_hot, test_fraction=test_fraction)
    except UsageError as e:
        assert isinstance(e, DataError) and "\n" not in str(e) and str(e)
        return
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int32 and ds.y_test.dtype == np.int32
    assert ds.n_train >= 1 and ds.n_test >= 1
    assert ds.x_train.shape[1] == ds.x_test.shape[1] == len(ds.feature_names) >= 1
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_test).all()
    k = int(max(ds.y_train.max(), ds.y_test.max())) + 1
    assert ds.y_train.min() >= 0 and len(np.unique(np.concatenate([ds.y_train, ds.y_test]))) <= k


@settings(max_examples=60, deadline=None)
@given(n=st.integers(4, 25), d=st.integers(1, 3), seed=st.integers(0, 10**6), missing=st.sampled_from(["drop", "mean"]))
def test_numeric_tables_round_trip(tmp_path_factory, n, d, seed, missing):
    """Every output row is its input row (found by id), missing cells dropped or filled with train means."""
    rng = np.random.default_rng(seed)
    vals = np.round(rng.normal(size=(n, d)) * 100, 2)
    holes = rng.random((n, d)) < 0.15
    y = np.arange(n) % 2
    lines = ["id," + ",".join(f"f{j}" for j in range(d)) + ",y"]
    for i in range(n):
        cells = ["" if holes[i, j] else str(float(vals[i, j])) for j in range(d)]
        lines.append(f"{i}," + ",".join(cells) + f",{y[i]}")
    p = tmp_path_factory.getbasetemp() / "numeric.csv"
    p.write_text("\n".join(lines) + "\n")
    try:
        ds = load_csv(p, label="y", missing=missing, seed=seed, test_fraction=0.3)
    except DataError as e:  # only when too little is left to learn from
        assert any(s in str(e) for s in ("training split", "all ", "only one class", "usable row")), str(e)
        return
    assert ds.feature_names == ("id",) + tuple(f"f{j}" for j in range(d))
    ids_tr, ids_te = ds.x_train[:, 0].astype(int), ds.x_test[:, 0].astype(int)
    kept = np.flatnonzero(~holes.any(axis=1)) if missing == "drop" else np.arange(n)
    np.testing.assert_array_equal(np.sort(np.concatenate([ids_tr, ids_te])), kept)
    np.testing.assert_array_equal(ds.y_train, y[ids_tr])
    np.testing.assert_array_equal(ds.y_test, y[ids_te])
    known = np.where(holes, np.nan, vals)
    fill = np.nanmean(known[ids_tr], axis=0) if missing == "mean" else np.full(d, np.nan)
    for ids, x in ((ids_tr, ds.x_train), (ids_te, ds.x_test)):
        expected = np.where(holes[ids], fill, vals[ids])
        np.testing.assert_allclose(x[:, 1:], expected, rtol=1e-5, atol=1e-3)


def _ratings_script():
    spec = importlib.util.spec_from_file_location("ratings_liked", ROOT / "experiments" / "ratings_liked.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_ratings_csv_is_what_the_script_generates(tmp_path):
    script = _ratings_script()
    committed = ROOT / "experiments" / "data" / "ratings.csv"
    assert committed.stat().st_size < 200_000
    assert script.ratings_csv_text() == committed.read_text(encoding="utf-8")
    raw, hot = script.prepare(committed)
    assert raw.feature_names == ("user_id", "movie_id")
    assert len(hot.feature_names) == 1 + script.N_MOVIES
    assert raw.n_train + raw.n_test == hot.n_train + hot.n_test

"""mlx.data.csv_table.load: load_csv end to end: the split, a one-line DataError for bad text, any text, round trips."""
import csv
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from _csv_util import error, ratings_text, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlx.data.csv_table.load import load_csv
from mlx.errors import DataError, UsageError

ROOT = Path(__file__).resolve().parents[3]  # [0] tests/data/csv_table, [1] tests/data, [2] tests, [3] the checkout


def test_split_reproducible(tmp_path):
    p = write(tmp_path, ratings_text(200))
    a = load_csv(p, label="rating", label_threshold=4, seed=7)
    b = load_csv(p, label="rating", label_threshold=4, seed=7)
    c = load_csv(p, label="rating", label_threshold=4, seed=8)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_test, c.x_test)
    assert (a.n_train, a.n_test) == (160, 40)


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

"""mlx.data.csv_table.labels: threshold labels, integer classes used as is, other values numbered in sorted order."""
import numpy as np
from _csv_util import write

from mlx.data.csv_table.load import load_csv
from mlx.data.dataset import Dataset


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

"""mlx.data.csv_table.columns: one-hot columns (numbers or text), the same columns in train and test."""
import numpy as np
from _csv_util import write

from mlx.data.csv_table.load import load_csv


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

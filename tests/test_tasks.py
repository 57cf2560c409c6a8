import numpy as np
import pytest
from _util import QUIET, idx_set, main_error

from mlx.data.dataset import Dataset
from mlx.errors import ConfigError, DataError
from mlx.tasks import apply_task, parse_task


def _ds(ytr, yte, x=None):
    ytr, yte = np.asarray(ytr, np.int32), np.asarray(yte, np.int32)
    return Dataset(np.arange(len(ytr) * 4, dtype=np.uint8).reshape(-1, 4), ytr,
                   np.zeros((len(yte), 4), np.uint8), yte, "test", "toy")


def test_parse_general_forms():
    assert parse_task("0v1") == ("0v1", "pair", 0, 1)
    assert parse_task("7v3").b == 3
    assert parse_task("4vrest") == ("4vrest", "rest", -1, 4)
    assert parse_task("digits").kind == "digits"
    for bad in ["4v4", "10v1", "four", "4vall", ""]:
        with pytest.raises(ConfigError, match="allowed: 0v1, 4vrest"):
            parse_task(bad)


def test_pair_filters_and_label_one_means_second_digit():
    td = apply_task("0v1", _ds([0, 1, 2, 1, 0, 9], [1, 0, 5]))
    assert td.y_train.tolist() == [0, 1, 1, 0] and td.y_test.tolist() == [1, 0]
    assert td.x_train[:, 0].tolist() == [0, 4, 12, 16]  # rows 0, 1, 3, 4 kept in order
    assert td.balance == {"train": [2, 2], "test": [1, 1]} and td.k_out == 1
    assert td.class_names == ("0", "1")


def test_rest_keeps_everything_and_reports_balance():
    td = apply_task("4vrest", _ds([4, 1, 2, 4, 9], [4, 3]))
    assert td.y_train.tolist() == [1, 0, 0, 1, 0]
    assert td.balance["train"] == [3, 2]
    assert "4:2 (40.0%)" in td.describe()


def test_digits_ten_classes():
    td = apply_task("digits", _ds(list(range(10)) * 2, list(range(10))))
    assert td.k_out == 10 and td.num_classes == 10


def test_labels_outside_task_and_empty_class():
    with pytest.raises(DataError, match="label 12 in the train split is outside task '0v1'"):
        apply_task("0v1", _ds([0, 1, 12], [0, 1]))
    with pytest.raises(DataError, match="class '7' of task '3v7' has no examples in the test split"):
        apply_task("3v7", _ds([3, 7], [3, 3]))


def test_float_features_standardised_with_training_stats():
    ds = Dataset(np.array([[0.0], [2.0], [4.0]], np.float32), np.array([0, 1, 1], np.int32),
                 np.array([[2.0], [6.0]], np.float32), np.array([0, 1], np.int32), "csv", "t.csv", None)
    td = apply_task("labels", ds)
    mu, sd = 2.0, np.std([0.0, 2.0, 4.0])
    np.testing.assert_allclose(td.x_test[:, 0], [(2 - mu) / sd, (6 - mu) / sd], rtol=1e-6)


def test_empty_class_after_the_task_filter(capsys, tmp_path):
    """Through ``mlx train``: one exact line and exit 2."""
    d = idx_set(tmp_path / "no9", train_labels=np.arange(40) % 6, test_labels=np.arange(20) % 6)
    assert main_error(capsys, "train", "data=idx", f"data_dir={d}", "task=4v9", *QUIET) == (
        "mlx: error: class '9' of task '4v9' has no examples in the train split of idx:no9; "
        "pick a task whose classes occur")


def test_rest_styles_can_be_left_out_and_are_the_only_difference():
    """styles=False (what a sweep compiles its 2-D models from while the styles are found):
    the same pixels, labels and balance, without the styles; styles=True finds them."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % 4  # 20 threes among the training examples
    x = rng.integers(0, 256, (80, 784)).astype(np.uint8)
    ds = Dataset(x, y.astype(np.int32), x[:20], y[:20].astype(np.int32), "test", "toy", (28, 28))
    full, bare = apply_task("3vrest", ds), apply_task("3vrest", ds, styles=False)
    assert full.styles is not None and full.test_style is not None
    assert bare.styles is None and bare.test_style is None
    for f in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(bare, f), getattr(full, f))
    assert (bare.balance, bare.k_out, bare.image_shape) == (full.balance, full.k_out, full.image_shape)

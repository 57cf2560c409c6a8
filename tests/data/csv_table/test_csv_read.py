"""mlx.data.csv_table.read: paths that are not a small CSV file are refused before they are read."""
import os

import pytest
from _csv_util import error, ratings_text, write
from _util import assert_usage_error, run_cli

from mlx.data.csv_table.load import load_csv
from mlx.data.csv_table.read import MAX_CSV_BYTES, MAX_LINE_BYTES


def test_file_errors(tmp_path):
    assert "not found" in error(tmp_path / "nope.csv", label="y")
    assert "directory" in error(tmp_path, label="y")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"a,y\n\xff\xfe,1\n")
    assert "UTF-8" in error(p, label="y")


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

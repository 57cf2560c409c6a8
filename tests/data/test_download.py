"""mlx.data.download: MNIST files from a mirror (a local server here), verified, renamed into place."""
from __future__ import annotations

import contextlib
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from _idx_util import STEMS, one_line_error

from mlx.data import download
from mlx.data.idx import load_idx
from mlx.errors import DataError


# ---------------------------------------------------------------- download from a local server


@contextlib.contextmanager
def serve(directory: Path, cut_short=()):
    """HTTP server on 127.0.0.1 (random port) serving `directory`; yields (url, requested paths)."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args):
            pass

        def do_GET(self):
            requested.append(self.path.lstrip("/"))
            name = self.path.lstrip("/")
            if name in cut_short:  # announce the full length, send half, hang up
                body = (directory / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def served_copy(mnist_dir, tmp_path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    for stem in STEMS:
        shutil.copy(mnist_dir / f"{stem}.gz", served / f"{stem}.gz")
    return served


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".part"))


def test_download_verifies_and_skips_valid_files(served_copy, mnist, tmp_path):
    dest = tmp_path / "dl" / "mnist"
    with serve(served_copy) as (url, requested):
        paths = download.download_idx(dest, mirror=url)
        assert sorted(requested) == sorted(download.MNIST_FILES)
        assert [p.name for p in paths] == list(download.MNIST_FILES)
        for p in paths:
            md5, sha = download.MNIST_FILES[p.name]
            raw = p.read_bytes()
            assert hashlib.md5(raw).hexdigest() == md5 and hashlib.sha256(raw).hexdigest() == sha
        assert leftovers(dest) == []
        download.download_idx(dest, mirror=url.rstrip("/"))  # all present and valid: nothing fetched
        assert len(requested) == 4
    ds = load_idx(dest)
    assert np.array_equal(ds.y_train, mnist.y_train) and np.array_equal(ds.x_test, mnist.x_test)


def test_load_idx_download_only_when_asked(served_copy, mnist, tmp_path):
    dest = tmp_path / "data"
    with serve(served_copy) as (url, requested):
        with pytest.raises(DataError):
            load_idx(dest, mirror=url)
        assert requested == []
        ds = load_idx(dest, download=True, mirror=url)
    assert ds.name == "data" and np.array_equal(ds.x_train, mnist.x_train)
    assert sorted(p.name for p in dest.iterdir()) == sorted(download.MNIST_FILES)


def test_download_fetches_only_missing_files(served_copy, mnist_dir, tmp_path):
    dest = tmp_path / "partial"
    dest.mkdir()
    for stem in STEMS[:3]:
        shutil.copy(mnist_dir / f"{stem}.gz", dest)
    with serve(served_copy) as (url, requested):
        ds = load_idx(dest, download=True, mirror=url)
    assert requested == ["t10k-labels-idx1-ubyte.gz"] and ds.n_test == 10000


def test_download_rejects_corrupted_file(served_copy, tmp_path):
    bad = served_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(bad.read_bytes())
    raw[1000] ^= 0x01
    bad.write_bytes(bytes(raw))
    got_md5, got_sha = hashlib.md5(raw).hexdigest(), hashlib.sha256(raw).hexdigest()
    want_md5, want_sha = download.MNIST_FILES["t10k-labels-idx1-ubyte.gz"]
    dest = tmp_path / "dl"
    with serve(served_copy) as (url, _):
        with pytest.raises(DataError) as e:
            download.download_idx(dest, mirror=url)
    msg = one_line_error(e)
    assert "t10k-labels-idx1-ubyte.gz" in msg
    for h in (got_md5, got_sha, want_md5, want_sha):
        assert h in msg
    assert not (dest / "t10k-labels-idx1-ubyte.gz").exists()
    assert leftovers(dest) == []


def test_download_cut_short_leaves_nothing(served_copy, tmp_path):
    dest = tmp_path / "dl"
    files = {k: download.MNIST_FILES[k] for k in ["t10k-images-idx3-ubyte.gz"]}
    with serve(served_copy, cut_short=set(files)) as (url, _):
        with pytest.raises(DataError) as e:
            download.download_idx(dest, mirror=url, files=files)
    msg = one_line_error(e)
    assert "cut short" in msg and str(1648877) in msg
    assert list(dest.iterdir()) == []


def test_download_missing_on_mirror(served_copy, tmp_path):
    (served_copy / "train-labels-idx1-ubyte.gz").unlink()
    dest = tmp_path / "dl"
    files = {k: download.MNIST_FILES[k] for k in ["train-labels-idx1-ubyte.gz"]}
    with serve(served_copy) as (url, _):
        with pytest.raises(DataError) as e:
            download.download_idx(dest, mirror=url, files=files)
    msg = one_line_error(e)
    assert "could not download" in msg and "404" in msg and "mirror=" in msg
    assert list(dest.iterdir()) == []


def test_download_interrupted_leaves_nothing(tmp_path, monkeypatch):
    class Response:
        headers = {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls > 1:
                raise KeyboardInterrupt
            return b"x" * 100

    monkeypatch.setattr(download.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(KeyboardInterrupt):
        download.download_idx(tmp_path, mirror="http://example.invalid/")
    assert list(tmp_path.iterdir()) == []

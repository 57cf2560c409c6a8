"""The four original MNIST files from a mirror, checked by md5 and sha256, renamed into place.

Nothing here runs unless asked (``download=true``): each file is streamed to a hidden temp file
beside its final name, verified, and only then renamed (atomic), so an interrupted or bad
download never leaves a file under its final name.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from mlx.errors import DataError

DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the one torchvision uses

#: file name -> (md5, sha256) of the four original MNIST .gz files.
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images-idx3-ubyte.gz": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train-labels-idx1-ubyte.gz": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}


def _file_hashes(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


def download_idx(
    dest_dir, *, mirror: str = DEFAULT_MIRROR, files: dict = MNIST_FILES, timeout: float = 30
) -> list[Path]:
    """Fetch ``files`` (name -> (md5, sha256)) from ``mirror`` + name into ``dest_dir``.

    Each file is streamed to a hidden temp file in ``dest_dir``, checked against both hashes
    and then renamed into place (atomic), so an interrupted or bad download never leaves a
    file under its final name. Files already present with the right hashes are skipped.
    Returns the final paths, in the order of ``files``.
    """
    dest = Path(dest_dir).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create download folder {dest}: {e.strerror or e}") from None
    base = mirror if mirror.endswith("/") else mirror + "/"
    out = []
    for fname, hashes in files.items():
        final = dest / fname
        if not (final.is_file() and _file_hashes(final) == hashes):
            _fetch_verified(base + fname, final, hashes, timeout)
        out.append(final)
    return out


def _fetch_verified(url: str, final: Path, hashes: tuple[str, str], timeout: float) -> None:
    """Stream ``url`` to a temp file beside ``final``, verify it, rename it to ``final``."""
    tmp = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
        tmp = Path(tmp_name)
        got, size, announced = _stream(url, fd, timeout)
        if announced is not None and announced.isdigit() and size != int(announced):
            raise DataError(
                f"download of {url} was cut short: got {size} of {announced} bytes; "
                f"the partial file was discarded, try again"
            )
        if got != hashes:
            (md5, sha), (got_md5, got_sha) = hashes, got
            raise DataError(
                f"downloaded {final.name} from {url} fails verification: md5 {got_md5} "
                f"(expected {md5}), sha256 {got_sha} (expected {sha}); the file was "
                f"discarded, try again or another mirror=..."
            )
        os.replace(tmp, final)
        tmp = None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        if isinstance(e, urllib.error.HTTPError):
            reason = f"HTTP {e.code} {e.reason}"
        else:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None)
        raise DataError(
            f"could not download {url}: {reason or e}; check the network or pass "
            f"mirror=..., or put the four MNIST files into {final.parent} yourself"
        ) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _stream(url: str, fd: int, timeout: float) -> tuple[tuple[str, str], int, str | None]:
    """Copy ``url`` into the open file ``fd`` (synced): ((md5, sha256), bytes, Content-Length)."""
    h_md5, h_sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as resp:
        announced = resp.headers.get("Content-Length")
        while chunk := resp.read(1 << 20):
            f.write(chunk)
            h_md5.update(chunk)
            h_sha.update(chunk)
            size += len(chunk)
        f.flush()
        os.fsync(f.fileno())
    return (h_md5.hexdigest(), h_sha.hexdigest()), size, announced

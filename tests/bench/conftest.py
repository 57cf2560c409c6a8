"""The quick benchmark run that the tests of tests/bench/ share: run once per test session
(once for all xdist workers: _util.built_once)."""
import contextlib
import io
import json

import pytest
from _util import built_once

from mlx.bench.benchmark import main


def _quick(out):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["quick=true", "data_dir=sample", f"out={out / 'bench'}"])
    (out / "stdout.txt").write_text(buf.getvalue())
    (out / "code.txt").write_text(f"{code}\n")


@pytest.fixture(scope="session")
def quick(tmp_path_factory):
    """One quick run shared by the tests: (exit code, result dict, stdout, out folder)."""
    root = built_once(tmp_path_factory, "bench-quick", _quick)
    out = root / "bench"
    return (int((root / "code.txt").read_text()), json.loads((out / "bench.json").read_text()),
            (root / "stdout.txt").read_text(), out)

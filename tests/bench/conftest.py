"""The quick benchmark run that the tests of tests/bench/ share: run once per test session."""
import contextlib
import io
import json

import pytest

from mlx.bench.benchmark import main


@pytest.fixture(scope="session")
def quick(tmp_path_factory):
    """One quick run shared by the tests: (exit code, result dict, stdout, out folder)."""
    out = tmp_path_factory.mktemp("bench")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["quick=true", "data_dir=sample", f"out={out}"])
    return code, json.loads((out / "bench.json").read_text()), buf.getvalue(), out

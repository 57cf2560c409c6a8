"""mlx bench at a tiny size: outputs, shapes, the methods' accuracies agree, the torch skip line.

No timed assertions: the machine running the tests is shared."""
import importlib.util
import json

import numpy as np
import pytest

from mlx import bench
from mlx.errors import UsageError

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run shared by the tests below: (result dict, stdout, out folder)."""
    out = tmp_path_factory.mktemp("bench")
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = bench.main(["quick=true", "data_dir=sample", f"out={out}"])
    return code, json.loads((out / "bench.json").read_text()), buf.getvalue(), out


def test_quick_run_writes_json_and_png(quick):
    code, res, text, out = quick
    assert code == 0, text[-3000:]
    for key in ("machine", "options", "peak", "data", "main_task", "sweeps", "scaling", "big",
                "accuracy", "accuracy_agree", "targets", "memory", "load_average"):
        assert key in res, key
    m = res["machine"]
    assert m["cores"] >= 1 and m["jax"] and m["devices"] and "cpu" in m
    assert res["peak"]["flops_per_second"] > 0
    assert res["memory"]["bytes"] > 0
    sweep = res["sweeps"]["4vrest"]
    assert set(sweep["models"]) == {"logreg", "mlp"}
    want = {"engine", "step", "chunkrunner"} | ({"torch"} if HAVE_TORCH else set())
    for model, mr in sweep["models"].items():
        assert set(mr["methods"]) == want, (model, mr["methods"].keys())
        for name, meth in mr["methods"].items():
            assert meth["seconds_per_config_epoch"] > 0 and meth["configs_per_second"] > 0
            assert 0 < meth["fraction_of_peak"] and 0 < meth["executed_fraction_of_peak"] <= meth["fraction_of_peak"]
            if name != "engine":
                assert meth["engine_speedup"] > 0
        assert mr["methods"]["engine"]["compile_seconds"] > 0
        assert mr["methods"]["step"]["extrapolated"] is True
    assert "engine_speedup" in sweep["overall"]["step"]
    # scaling: 1, 2, 4 configs per batch for both models; chunk=2 in quick mode -> 4 is chunked
    for model in ("logreg", "mlp"):
        pts = res["scaling"]["models"][model]["points"]
        assert [p["configs"] for p in pts] == [1, 2, 4]
        assert [p["chunked"] for p in pts] == [False, False, True]
        assert all(p["seconds_per_config_epoch"] > 0 for p in pts)
    big = res["big"]
    assert big["configs"] == 8 and big["chunks"] == 4 and big["configs_per_second"] > 0
    assert 0.5 < big["best"]["test_accuracy"] <= 1.0
    assert {"overall_speedup_vs_torch", "logreg_speedup_vs_torch"} <= set(res["targets"]) or not HAVE_TORCH
    assert "mlp_fraction_of_f32_peak" in res["targets"]
    # the table and the files
    assert "ms/cfg-ep" in text and "configs/s" in text and "wrote" in text
    assert "extrap" in text
    png = out / "bench.png"
    assert png.exists()
    from PIL import Image
    img = np.asarray(Image.open(png).convert("L"), np.float32)
    assert img.shape[0] > 200 and img.shape[1] > 400
    assert img.std() > 5 and (img < 128).mean() > 0.005  # not blank: lines, bars, text


def test_methods_reach_the_same_accuracy(quick):
    _, res, _, _ = quick
    rows = res["accuracy"]
    assert len(rows) == 2  # one baseline config per model in quick mode
    for r in rows:
        assert {"engine", "step", "chunkrunner"} <= set(r)
        if HAVE_TORCH:
            assert "torch" in r
        vals = [r[k] for k in bench.METHODS if k in r]
        assert max(vals) - min(vals) <= res["options"]["tol"], r
        assert r["agree"]
        assert r["engine"] > 0.8  # 4vrest after one epoch on the sample is well above chance
    assert res["accuracy_agree"] is True


def test_torch_missing_prints_one_skip_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_torch", lambda: None)
    code = bench.main(["quick=true", "data_dir=sample", f"out={tmp_path}", "models=logreg",
                       "baselines=torch", "seeds=1", "max_configs=1", "big=0"])
    text = capsys.readouterr().out
    assert code == 0
    skip = [ln for ln in text.splitlines() if "PyTorch baseline skipped" in ln]
    assert len(skip) == 1 and "pip install" in skip[0]
    res = json.loads((tmp_path / "bench.json").read_text())
    assert res["torch_skipped"] is True
    assert set(res["sweeps"]["4vrest"]["models"]["logreg"]["methods"]) == {"engine"}
    assert (tmp_path / "bench.png").exists()


def test_flops_are_counted_per_layer():
    # mlp 784-256-10 on 128 trained and 10 test examples
    f = bench.flops_per_config_epoch("mlp", 784, 10, 256, 128, 10)
    fwd = 2 * (784 * 256 + 256 * 10)
    assert f["convention"] == 128 * 3 * fwd + 10 * fwd
    assert f["executed"] == 128 * (3 * fwd - 2 * 784 * 256) + 10 * fwd
    g = bench.flops_per_config_epoch("logreg", 784, 1, 256, 1, 0)
    assert g["convention"] == 3 * 2 * 784


def test_balanced_chunks_cover_the_lanes_with_least_padding():
    assert bench.balanced_chunks(10000, 838, 1) == (834, 12)
    assert bench.balanced_chunks(4, 2, 1) == (2, 2)
    assert bench.balanced_chunks(5, 100, 4) == (8, 1)
    for n, c, d in [(1, 1, 1), (7, 3, 2), (1024, 1000, 1), (9, 5, 4)]:
        size, count = bench.balanced_chunks(n, c, d)
        assert size * count >= n and size % d == 0 and (count - 1) * size < n
        assert size <= max(d, c // d * d)


def test_bad_options_are_one_line_usage_errors():
    with pytest.raises(UsageError, match="unknown bench key 'nope'"):
        bench.parse_options(["nope=1"])
    with pytest.raises(UsageError, match="baselines"):
        bench.parse_options(["baselines=tensorflow"])
    with pytest.raises(UsageError, match="precision"):
        bench.parse_options(["precision=fp8"])
    o = bench.parse_options(["quick=true", "baselines=none", "lrs=0.1,0.01"])
    assert o.baselines == () and o.lrs == (0.1, 0.01) and o.epochs == 1

"""mlx bench at a tiny size: outputs, shapes, the methods' accuracies agree, the engine figures
come from mlx sweep's own path, the end-to-end rows run mlx sweep itself, the torch skip line.

No timed assertions: the machine running the tests is shared."""
import contextlib
import csv
import importlib.util
import io
import json

import numpy as np
import pytest

from mlx.bench import suite as bench
from mlx.errors import UsageError

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run shared by the tests below: (exit code, result dict, stdout, out folder)."""
    out = tmp_path_factory.mktemp("bench")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = bench.main(["quick=true", "data_dir=sample", f"out={out}"])
    return code, json.loads((out / "bench.json").read_text()), buf.getvalue(), out


def test_quick_run_writes_json_and_png(quick):
    code, res, text, out = quick
    assert code == 0, text[-3000:]
    for key in ("machine", "options", "peak", "data", "main_task", "sweeps", "reference", "e2e", "scaling",
                "big", "accuracy", "accuracy_agree", "targets", "memory", "load_average"):
        assert key in res, key
    m = res["machine"]
    assert m["cores"] >= 1 and m["jax"] and m["devices"] and "cpu" in m
    assert res["peak"]["flops_per_second"] > 0 and res["memory"]["bytes"] > 0
    sweep = res["sweeps"]["4vrest"]
    assert set(sweep["models"]) == {"logreg", "mlp"}
    want = {"engine", "step"} | ({"torch"} if HAVE_TORCH else set())
    for model, mr in sweep["models"].items():
        assert set(mr["methods"]) == want, (model, mr["methods"].keys())
        for name, meth in mr["methods"].items():
            assert meth["seconds_per_config_epoch"] > 0 and meth["configs_per_second"] > 0
            assert 0 < meth["executed_fraction_of_peak"] <= meth["fraction_of_peak"]
            if name != "engine":
                assert meth["engine_speedup"] > 0 and meth["extrapolated"] is True
        eng = mr["methods"]["engine"]
        assert eng["compile_seconds"] > 0 and eng["chunks"] >= 1
        # 2 configs of one lr x 2 seeds: rows of lanes that share a seed
        assert eng["shape"][0] * eng["shape"][1] >= 2
    assert "engine_speedup" in sweep["overall"]["step"]
    for model in ("logreg", "mlp"):
        sc = res["scaling"]["models"][model]
        assert [p["configs"] for p in sc["points"]] == [1, 2, 4]
        assert all(p["seconds_per_config_epoch"] > 0 for p in sc["points"])
        assert sc["auto_chunk"] >= 1 and isinstance(sc["auto_single"], bool)
        assert sc["cpu_rule"] is not None and sc["cpu_rule"]["applies"] == sc["auto_single"]
    big = res["big"]
    assert big["configs"] == 8 and big["chunks"] >= 1 and big["configs_per_second"] > 0
    assert 0.5 < big["best"]["test_accuracy"] <= 1.0
    assert {"engine_vs_shared_gather_reference", "e2e_disabled_fraction_of_engine",
            "e2e_wandb_offline_vs_floor", "mlp_fraction_of_f32_peak"} <= set(res["targets"])
    assert "targets_note" in res   # quick sizes: the targets are not judged here
    assert "ms/cfg-ep" in text and "configs/s" in text and "wrote" in text and "extrap" in text
    assert "shared-gather reference" in text and "W&B floor" in text and "end to end" in text
    png = out / "bench.png"
    from PIL import Image
    img = np.asarray(Image.open(png).convert("L"), np.float32)
    assert img.shape[0] > 200 and img.shape[1] > 600
    assert img.std() > 5 and (img < 128).mean() > 0.005  # not blank: lines, bars, text


def test_methods_reach_the_same_accuracy(quick):
    _, res, _, _ = quick
    rows = res["accuracy"]
    assert len(rows) == 2  # one baseline config per model in quick mode
    for r in rows:
        assert {"engine", "step"} <= set(r) and ("torch" in r or not HAVE_TORCH)
        vals = [r[k] for k in bench.METHODS if k in r]
        assert max(vals) - min(vals) <= res["options"]["tol"] and r["agree"], r
        assert r["engine"] > 0.8  # 4vrest after one epoch on the sample is well above chance
    assert res["accuracy_agree"] is True


def test_reference_trains_the_same_grid(quick):
    """The shared-gather yardstick starts from the engine's params and draws mlx train's batches:
    same grid, (nearly) the same test accuracies."""
    _, res, _, _ = quick
    ref = res["reference"]
    assert ref["configs"] == len(ref["lrs"]) * ref["seeds"] == 4
    assert ref["engine"]["seconds"] > 0 and ref["reference"]["seconds"] > 0 and ref["ratio"] > 0
    assert ref["agree"] and ref["max_accuracy_difference"] <= 2e-3


def test_end_to_end_rows_run_mlx_sweep_itself(quick):
    _, res, _, out = quick
    e2e = res["e2e"]
    n = e2e["disabled"]["configs"]
    assert n == 8 and e2e["engine"]["configs"] == n
    # the bench's engine rows are mlx sweep's engine: the very same numbers
    assert e2e["engine"]["max_difference_vs_sweep"] == 0.0
    with open(out / "e2e" / "disabled" / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == n
    assert not list((out / "e2e" / "disabled" / "runs").glob("*/wandb"))
    sw = out / "e2e" / "wandb-offline"
    assert len(list(sw.glob("runs/*/wandb.done"))) == e2e["wandb_offline"]["configs"] == 3
    fl = e2e["wandb_floor"]
    assert fl["runs"] == 3 and not fl["errors"] and fl["runs_per_second"] > 0
    assert len(list((out / "e2e" / "wandb-floor").glob("run*/wandb/offline-run-*"))) == 3
    assert e2e["wandb_offline"]["vs_floor"] > 0
    assert 0 < e2e["disabled"]["fraction_of_engine"]


def test_engine_chunks_are_mlx_sweeps():
    """The bench has no engine of its own: its chunk choice is mlx sweep's (mlx.sweep.engine.choose_chunk)."""
    assert not hasattr(bench, "Engine") and not hasattr(bench, "balanced_chunks")
    from mlx.data.load import load_sample
    from mlx.sweep.engine import auto_chunk, cache_bound, group_configs, lane_bytes, memory_budget_bytes
    from mlx.tasks import apply_task
    opts = bench.parse_options(["quick=true"])
    wl = bench.Workloads(opts, load_sample())
    g = group_configs(bench.grid_configs(opts, "logreg", "4vrest", 1, [1e-3, 1e-2], [0, 1]))[0]
    runner = wl.runner(g)
    td = apply_task("4vrest", wl.ds)
    assert bench.sweep_chunk_choice(g, runner, td, 5) == (5, False)
    auto = auto_chunk(lane_bytes(runner.trainer, g.cfg, td.x_train.shape[1]), memory_budget_bytes())
    capped = cache_bound(runner.trainer, runner.n_dev) and auto > 4
    assert bench.sweep_chunk_choice(g, runner, td, 0) == ((4, True) if capped else (auto, False))


def test_torch_missing_prints_one_skip_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_torch", lambda: None)
    code = bench.main(["quick=true", "data_dir=sample", f"out={tmp_path}", "models=logreg",
                       "baselines=torch", "seeds=1", "max_configs=0", "big=0", "e2e_sweep=none"])
    text = capsys.readouterr().out
    assert code == 0
    skip = [ln for ln in text.splitlines() if "PyTorch baseline skipped" in ln]
    assert len(skip) == 1 and "pip install" in skip[0]
    res = json.loads((tmp_path / "bench.json").read_text())
    assert res["torch_skipped"] is True and "e2e" not in res and "scaling" not in res
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


def test_epoch_orders_are_mlx_trains():
    import jax
    o = bench.epoch_orders(3, 50, 4, 8, 2)
    assert o.shape == (2, 4, 8)
    k = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), 1), 1)
    assert (o[1].reshape(-1) == np.asarray(jax.random.permutation(k, 50))[:32]).all()


def test_bad_options_are_one_line_usage_errors():
    with pytest.raises(UsageError, match="unknown bench key 'nope'"):
        bench.parse_options(["nope=1"])
    with pytest.raises(UsageError, match="baselines"):
        bench.parse_options(["baselines=chunkrunner"])
    with pytest.raises(UsageError, match="precision"):
        bench.parse_options(["precision=fp8"])
    with pytest.raises(UsageError, match="wandb_configs"):
        bench.parse_options(["wandb_configs=-1"])
    o = bench.parse_options(["quick=true", "baselines=none", "lrs=0.1,0.01"])
    assert o.baselines == () and o.lrs == (0.1, 0.01) and o.epochs == 1

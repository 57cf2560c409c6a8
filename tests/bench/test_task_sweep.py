"""mlx.bench.task_sweep in the quick run: every method of every model has its rates; the engine's
row comes from mlx sweep's chunk plan; the whole sweep per method."""
import importlib.util

HAVE_TORCH = importlib.util.find_spec("torch") is not None


def test_every_method_has_its_rates(quick):
    _, res, _, _ = quick
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

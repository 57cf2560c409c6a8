"""mlx.bench.baselines in the quick run: from the engine lane's params and batches, the torch
loop and the jitted step reach the engine's test accuracy."""
import importlib.util

from mlx.bench.options import TIMING_METHODS

HAVE_TORCH = importlib.util.find_spec("torch") is not None


def test_methods_reach_the_same_accuracy(quick):
    _, res, _, _ = quick
    rows = res["accuracy"]
    assert len(rows) == 2  # one baseline config per model in quick mode
    for r in rows:
        assert {"engine", "step"} <= set(r) and ("torch" in r or not HAVE_TORCH)
        vals = [r[k] for k in TIMING_METHODS if k in r]
        assert max(vals) - min(vals) <= res["options"]["tol"] and r["agree"], r
        assert r["engine"] > 0.8  # 4vrest after one epoch on the sample is well above chance
    assert res["accuracy_agree"] is True

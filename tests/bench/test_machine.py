"""mlx.bench.machine: FLOPs counted per layer, the machine facts, the matmul peak."""
from mlx.bench.machine import flops_per_config_epoch, layer_shapes, load_average, measure_peak, peak_memory


def test_flops_are_counted_per_layer():
    # mlp 784-256-10 on 128 trained and 10 test examples
    f = flops_per_config_epoch("mlp", 784, 10, 256, 128, 10)
    fwd = 2 * (784 * 256 + 256 * 10)
    assert f["convention"] == 128 * 3 * fwd + 10 * fwd
    assert f["executed"] == 128 * (3 * fwd - 2 * 784 * 256) + 10 * fwd
    g = flops_per_config_epoch("logreg", 784, 1, 256, 1, 0)
    assert g["convention"] == 3 * 2 * 784
    assert layer_shapes("logreg", 784, 1, 256) == [(784, 1)]


def test_peak_memory_and_load():
    pk = measure_peak(64, chain=2, repeats=1)
    assert pk["n"] == 64 and pk["dtype"] == "float32" and pk["flops_per_second"] > 0
    assert peak_memory()["bytes"] > 0
    assert all(x >= 0 for x in load_average())

"""mlx.bench.reference in the quick run."""


def test_reference_trains_the_same_grid(quick):
    """The shared-gather yardstick starts from the engine's params and draws mlx train's batches:
    same grid, (nearly) the same test accuracies."""
    _, res, _, _ = quick
    ref = res["reference"]
    assert ref["configs"] == len(ref["lrs"]) * ref["seeds"] == 4
    assert ref["engine"]["seconds"] > 0 and ref["reference"]["seconds"] > 0 and ref["ratio"] > 0
    assert ref["agree"] and ref["max_accuracy_difference"] <= 2e-3

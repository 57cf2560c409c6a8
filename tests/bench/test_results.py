"""mlx.bench.results in the quick run: the targets and the text table."""
from mlx.bench.results import check_accuracy, table


def test_targets_and_table(quick):
    _, res, text, _ = quick
    assert {"engine_vs_shared_gather_reference", "e2e_disabled_fraction_of_engine",
            "e2e_wandb_offline_vs_floor", "mlp_fraction_of_f32_peak"} <= set(res["targets"])
    assert "targets_note" in res   # quick sizes: the targets are not judged here
    assert "ms/cfg-ep" in text and "configs/s" in text and "extrap" in text
    assert "shared-gather reference" in text and "W&B floor" in text and "end to end" in text
    assert table(res) in text
    assert check_accuracy(res) == (res["accuracy_agree"], res["accuracy"])

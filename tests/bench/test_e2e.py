"""mlx.bench.e2e in the quick run: the end-to-end rows run mlx sweep itself."""
import csv


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

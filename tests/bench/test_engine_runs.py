"""mlx.bench.engine_runs: the bench has no engine of its own; its chunks are mlx sweep's, its
batch orders mlx train's."""
import numpy as np

from mlx.bench import engine_runs
from mlx.bench.engine_runs import Workloads, epoch_orders, grid_configs, sweep_chunk_choice
from mlx.bench.options import parse_options


def test_engine_chunks_are_mlx_sweeps():
    """The bench has no engine of its own: its chunk choice is mlx sweep's (mlx.sweep.plan.choose_chunk)."""
    assert not hasattr(engine_runs, "Engine") and not hasattr(engine_runs, "balanced_chunks")
    from mlx.data.sample import load_sample
    from mlx.sweep.engine import group_configs
    from mlx.sweep.plan import auto_chunk, cache_bound, lane_bytes, memory_budget_bytes
    from mlx.tasks import apply_task
    opts = parse_options(["quick=true"])
    wl = Workloads(opts, load_sample())
    g = group_configs(grid_configs(opts, "logreg", "4vrest", 1, [1e-3, 1e-2], [0, 1]))[0]
    runner = wl.runner(g)
    td = apply_task("4vrest", wl.ds)
    assert sweep_chunk_choice(g, runner, td, 5) == (5, False)
    auto = auto_chunk(lane_bytes(runner.trainer, g.cfg, td.x_train.shape[1]), memory_budget_bytes())
    capped = cache_bound(runner.trainer, runner.n_dev) and auto > 4
    assert sweep_chunk_choice(g, runner, td, 0) == ((4, True) if capped else (auto, False))


def test_epoch_orders_are_mlx_trains():
    import jax
    o = epoch_orders(3, 50, 4, 8, 2)
    assert o.shape == (2, 4, 8)
    k = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), 1), 1)
    assert (o[1].reshape(-1) == np.asarray(jax.random.permutation(k, 50))[:32]).all()

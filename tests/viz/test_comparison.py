"""mlx.viz.comparison: the sweep's accuracy-vs-lr figure, drawn from mlx.sweep.tables.seed_cells (the one
computation of the mean and spread over seeds), and the learning curves."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from _figure_data import check_renders, sweep_cells, sweep_rows
from mlx.errors import UsageError
from mlx.viz import comparison


def _marks(fig) -> int:
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections
               if isinstance(c, PathCollection))


def test_comparison_figure_renders():
    check_renders(comparison.comparison_figure(sweep_cells()))


def test_comparison_figure_handles_nan_and_diverged():
    rows = sweep_rows()
    rows.append(dict(model="logreg", task="0v1", lr=0.1, epochs=2, seed=5,
                     test_accuracy=float("nan"), diverged=False))
    fig = comparison.comparison_figure(sweep_cells(rows))
    check_renders(fig)
    n_bad = sum(1 for r in rows if r["diverged"] or not np.isfinite(r["test_accuracy"]))
    assert _marks(fig) == n_bad == 9, "one 'x' per diverged or NaN run"
    # every run diverged: still a figure
    all_bad = [dict(r, diverged=True, test_accuracy=float("nan")) for r in rows[:6]]
    fig = comparison.comparison_figure(sweep_cells(all_bad))
    assert len(fig.axes[0].collections) > 0
    # no runs at all: still a figure that renders
    from mlx.viz.common import figure_to_png_bytes
    figure_to_png_bytes(comparison.comparison_figure([]), dpi=30)


def test_comparison_figure_lines_are_the_cells():
    """The plotted means and error bars are the seed cells' numbers, nothing recomputed."""
    cells = sweep_cells()
    fig = comparison.comparison_figure(cells)
    ax = fig.axes[0]  # task 0v1
    xs, ys = ax.containers[0].lines[0].get_data()  # logreg, 2 epochs
    want = [c for c in cells if (c["task"], c["model"], c["epochs"]) == ("0v1", "logreg", 2)]
    np.testing.assert_allclose(np.asarray(xs, float), [c["lr"] for c in want])
    np.testing.assert_allclose(np.asarray(ys, float), [c["mean"] for c in want])


def test_learning_curves_figure():
    curves = [{"model": m, "task": t, "epochs": e, "test_accuracy": list(np.linspace(0.8, 0.95, e)),
               "test_loss": list(np.linspace(0.5, 0.1, e))}
              for m in ("logreg", "mlp") for t in ("0v1", "4v9") for e in (1, 4)]
    check_renders(comparison.learning_curves_figure(curves))
    with pytest.raises(UsageError):
        comparison.learning_curves_figure([{"model": "m", "task": "t", "epochs": 1, "test_accuracy": []}])

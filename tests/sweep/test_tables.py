"""mlx.sweep.tables: the mean and spread over seeds are computed once (seed_cells) and the comparison
table and comparison.png both read them; best_rows is best_key's best per group."""
from __future__ import annotations

import math

import numpy as np

from mlx.sweep.tables import best_per_budget, best_rows, comparison, seed_cells


def _rows():
    rows, i = [], 0
    for model in ("logreg", "mlp"):
        for epochs in (1, 3):
            for lr in (0.1, 1.0, 10.0):
                for seed in (0, 1, 2):
                    bad = model == "mlp" and lr == 10.0
                    acc = 0.5 if bad else 0.9 + 0.01 * seed - 0.02 * abs(math.log10(lr)) + 0.001 * epochs
                    rows.append(dict(index=i, name=f"r{i}", model=model, task="0v1", epochs=epochs, lr=lr,
                                     seed=seed, test_accuracy=acc, diverged=bad))
                    i += 1
    return rows


def test_seed_cells_mean_std_over_the_seeds_that_did_not_diverge():
    rows = _rows()
    cells = seed_cells(rows, "test_accuracy")
    assert len(cells) == 2 * 2 * 3 and [c["model"] for c in cells[:3]] == ["logreg"] * 3  # first-seen order
    c = next(c for c in cells if (c["model"], c["epochs"], c["lr"]) == ("logreg", 3, 1.0))
    accs = [r["test_accuracy"] for r in rows if (r["model"], r["epochs"], r["lr"]) == ("logreg", 3, 1.0)]
    assert c["mean"] == float(np.mean(accs)) and c["std"] == float(np.std(accs))
    assert c["min"] == min(accs) and c["seeds"] == 3 and c["failed"] == 0
    bad = next(c for c in cells if (c["model"], c["lr"]) == ("mlp", 10.0))
    assert bad["seeds"] == 0 and bad["failed"] == 3 and math.isnan(bad["mean"])


def test_comparison_reads_the_cells():
    rows = _rows()
    cells = seed_cells(rows, "test_accuracy")
    best, by_epochs = comparison(rows, "test_accuracy", "maximize", cells)
    assert comparison(rows, "test_accuracy", "maximize") == (best, by_epochs)
    for b in by_epochs:
        mine = [c for c in cells if (c["model"], c["task"], c["epochs"]) == (b["model"], b["task"], b["epochs"])]
        top = max(sorted(mine, key=lambda c: c["lr"]), key=lambda c: c["mean"] if c["seeds"] else -1)
        assert (b["best_lr"], b["test_accuracy_mean"], b["test_accuracy_std"], b["seeds"]) == (
            top["lr"], top["mean"], top["std"], top["seeds"])
        assert b["diverged_configs"] == sum(c["failed"] for c in mine)
    assert [(r["model"], r["task"]) for r in best] == [("logreg", "0v1"), ("mlp", "0v1")]


def test_best_rows_and_best_per_budget():
    rows = _rows()
    by_model = best_rows(rows, lambda r: r["model"], "test_accuracy", "maximize")
    assert by_model["mlp"]["lr"] != 10.0 and by_model["logreg"]["seed"] == 2
    per_budget = best_per_budget(rows, "test_accuracy", "maximize")
    assert [(r["model"], r["epochs"]) for r in per_budget] == [("logreg", 1), ("logreg", 3), ("mlp", 1), ("mlp", 3)]

"""mlx.sweep.hyperband: W&B's hyperband stop decision (github.com/wandb/sweeps,
src/sweeps/hyperband_stopping.py), on hand-made histories where the rules matter."""
import math
import subprocess
import sys

import numpy as np
import pytest

from mlx.sweep.hyperband import bands, rungs, stop_lanes, stop_runs, threshold
from mlx.sweep.spec import parse_sweep
from _spec_helpers import MAX, spec

NAN = math.nan


def lanes(*rows):
    e = max(len(r) for r in rows)
    return np.array([list(r) + [NAN] * (e - len(r)) for r in rows], dtype=np.float64)


# ---------------------------------------------------------------------- the keep rule


def test_threshold_is_sorted_values_at_int_n_over_eta():
    """9 lanes, eta 3: threshold sorted[int(9/3)] = the 4th best; 4 survive (not ceil(9/3) = 3)."""
    h = lanes(*[[v] for v in (5, 1, 9, 3, 7, 2, 8, 4, 6)])
    assert threshold(h, 1, eta=3, goal="minimize") == 4
    stop = stop_lanes(h, 1, eta=3, strict=True, goal="minimize")
    assert sorted(h[~stop, 0].tolist()) == [1, 2, 3, 4]


def test_eta_2_keeps_int_n_over_2_plus_one():
    h = lanes([1, 1], [2, 2], [3, 3], [4, 4])
    stop = stop_lanes(h, 2, eta=2, strict=True, goal="minimize")
    assert stop.tolist() == [False, False, False, True]  # threshold sorted[2] = 3; ceil(4/2) = 2
    assert stop_lanes(h, 2, eta=3, strict=True, goal="minimize").tolist() == [False, False, True, True]


def test_eta_is_read_not_fixed():
    h = lanes(*[[v] for v in range(10)])  # 10 lanes: int(10/eta) = 5, 3, 2
    kept = {eta: int((~stop_lanes(h, 1, eta=eta, strict=True, goal="minimize")).sum())
            for eta in (2, 3, 4)}
    assert kept == {2: 6, 3: 4, 4: 3}
    assert int((~stop_lanes(h, 1, eta=1.5, strict=True, goal="minimize")).sum()) == 7  # int(6.66)


def test_ties_at_the_threshold_survive():
    h = lanes([1], [2], [2], [2])
    assert not stop_lanes(h, 1, eta=2, strict=True, goal="minimize").any()  # threshold 2, 2 > 2 no
    h = lanes([1], [1], [1], [1], [5], [5])
    assert stop_lanes(h, 1, eta=3, strict=True, goal="minimize").tolist() == [False] * 4 + [True] * 2


def test_maximize_vs_minimize():
    vals = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]
    h = lanes(*[[v] for v in vals])
    kept_min = h[~stop_lanes(h, 1, eta=3, strict=True, goal="minimize"), 0]
    kept_max = h[~stop_lanes(h, 1, eta=3, strict=True, goal="maximize"), 0]
    assert sorted(kept_min.tolist()) == [0.1, 0.2, 0.3, 0.4]
    assert sorted(kept_max.tolist()) == [0.6, 0.7, 0.8, 0.9]
    assert threshold(h, 1, eta=3, goal="maximize") == -0.6  # W&B negates when maximizing


def test_strict_judges_the_band_value_not_strict_the_best_so_far():
    # A was best at epoch 1 and is worst at the band (2); B and C are steady.
    h = lanes([0.1, 0.9], [0.5, 0.5], [0.6, 0.6])  # threshold at 2: sorted[int(3/3)] = 0.6
    assert stop_lanes(h, 2, eta=3, strict=True, goal="minimize").tolist() == [True, False, False]
    assert stop_lanes(h, 2, eta=3, strict=False, goal="minimize").tolist() == [False, False, False]
    # maximize: best so far is the max
    g = lanes([0.9, 0.1], [0.5, 0.5], [0.4, 0.4])
    assert stop_lanes(g, 2, eta=3, strict=True, goal="maximize").tolist() == [True, False, False]
    assert stop_lanes(g, 2, eta=3, strict=False, goal="maximize").tolist() == [False, False, False]


def test_stopped_and_finished_rows_count_but_are_not_stopped():
    # rows 0-1 stopped at band 1 (NaN after); row 2 finished earlier (a whole row), not running.
    h = lanes([9, NAN, NAN], [8, NAN, NAN], [1, 1, 1], [3, 3, 3], [2, 2, 4], [5, 5, 5])
    running = np.array([False, False, False, True, True, True])
    stop = stop_lanes(h, 3, eta=2, strict=True, goal="minimize", running=running)
    # at band 3: rows 2..5 reached it -> values [1, 3, 4, 5], threshold sorted[2] = 4
    assert stop.tolist() == [False, False, False, False, False, True]
    # without the mask, the finished row is "at the band" but better than the threshold
    assert stop_lanes(h, 3, eta=2, strict=True, goal="minimize").tolist() == stop.tolist()
    # lanes that did not reach the band are never stopped here
    assert not stop_lanes(lanes([9, 9], [1]), 2, eta=3, strict=True, goal="minimize")[1]
    assert not stop_lanes(lanes([1]), 3, eta=3, strict=True, goal="minimize").any()  # band > e


def test_non_finite_values_are_left_out_as_wandb_does():
    # W&B's metric_history(filter_invalid=True): a NaN does not count as a value.
    h = lanes([1, 1], [NAN, NAN], [2, 2], [3, 3])
    assert threshold(h, 2, eta=3, goal="minimize") == 2  # 3 rows at the band: sorted[1]
    assert stop_lanes(h, 2, eta=3, strict=True, goal="minimize").tolist() == [False, False, False, True]
    # everyone alone at the band: W&B never stops the only run there
    assert not stop_lanes(lanes([7, 7]), 2, eta=3, strict=True, goal="minimize").any()


# ---------------------------------------------------------------------- W&B's own cases


# From github.com/wandb/sweeps tests/test_hyperband_stopping.py (runs, states, expected stops).
WANDB_CASES = [
    # test_5runs_band1_stop_2: max_iter 5, eta 2, s 2 -> bands [1, 2]
    ({"max_iter": 5, "eta": 2, "s": 2}, "minimize",
     [("finished", [10, 9]), ("running", [10, 10]), ("running", [10, 8, 8]),
      ("running", [10, 7, 7]), ("finished", [10, 6, 6])], [1]),
    # test_5runs_band1_stop_2_1stnoband
    ({"max_iter": 5, "eta": 2, "s": 2}, "minimize",
     [("finished", [10]), ("running", [11]), ("running", [10, 8, 8]), ("running", [10, 7, 7]),
      ("finished", [10, 6, 6])], [1, 2]),
    # test_eta_3 (strict false): bands [1, 3], thresholds 7 and 4
    ({"max_iter": 9, "eta": 3, "s": 2, "strict": False}, "minimize",
     [("finished", [9, 8]), ("running", [11, 11]), ("running", [10, 8, 3]),
      ("running", [10, 7, 4]), ("running", [10, 6, 6])], [1, 4]),
    # test_eta_3_max (strict false, maximize)
    ({"max_iter": 9, "eta": 3, "s": 2, "strict": False}, "maximize",
     [("finished", [-10, -9]), ("running", [-11, -11]), ("running", [-10, -8, -5, -3]),
      ("running", [-10, -6, -2]), ("running", [-10, -6, -6, -6])], [1, 4]),
    # test_hyperband_min_iter_bands: min_iter 3, eta 3 -> bands 3, 9, 27, ...
    ({"min_iter": 3, "eta": 3}, "minimize",
     [("running", [10] * 4), ("running", [10 - i for i in range(10)])], [0]),
    # test_single_run / test_2runs_band1_pass (strict false)
    ({"max_iter": 18, "eta": 3, "s": 2, "strict": False}, "minimize",
     [("running", [10 - i for i in range(10)])], []),
    ({"max_iter": 18, "eta": 3, "s": 2, "strict": False}, "minimize",
     [("running", [10, 10, 6]), ("running", [10 - i for i in range(10)])], []),
]


@pytest.mark.parametrize("et,goal,runs,want", WANDB_CASES, ids=[str(i) for i in range(len(WANDB_CASES))])
def test_wandb_engine_cases(et, goal, runs, want):
    et = {"eta": 3, "strict": True, **et}  # schema.json defaults
    got = stop_runs([h for _, h in runs], [s == "running" for s, _ in runs], bands(et),
                    eta=et["eta"], strict=et["strict"], goal=goal)
    assert [i for i, g in enumerate(got) if g] == want


def test_stop_lanes_is_wandbs_rule_in_lockstep():
    """Random lockstep histories (lanes stopped at earlier bands, finished rows, ties, both
    goals, both strict values, several eta): stop_lanes == W&B's stop_runs at that moment."""
    rng = np.random.default_rng(0)
    for trial in range(300):
        eta = [2, 3, 4, 1.5][trial % 4]
        goal = ["minimize", "maximize"][trial % 2]
        strict = bool(trial % 3)
        et = {"min_iter": 1, "eta": eta}
        band_list = rungs(et, 12)
        band = band_list[rng.integers(len(band_list))]
        n = int(rng.integers(1, 12))
        h = np.round(rng.random((n, band)) * 4) / 4  # coarse values: many ties
        running = rng.random(n) < 0.8
        for i in range(n):  # some lanes stopped at an earlier band
            earlier = [b for b in band_list if b < band]
            if earlier and rng.random() < 0.3:
                h[i, earlier[rng.integers(len(earlier))]:] = NAN
                running[i] = False
        got = stop_lanes(h, band, eta=eta, strict=strict, goal=goal, running=running)
        hist = [list(r[np.isfinite(r)]) for r in h]
        want = stop_runs(hist, [bool(r) and len(x) == band for r, x in zip(running, hist)],
                         bands({**et}), eta=eta, strict=strict, goal=goal)
        assert got.tolist() == want, (trial, h, running, eta, goal, strict)


# ---------------------------------------------------------------------- bands and the spec


@pytest.mark.parametrize("et,max_epochs,want", [
    ({"type": "hyperband", "min_iter": 1, "eta": 3}, 20, [1, 3, 9]),
    ({"type": "hyperband", "min_iter": 1}, 27, [1, 3, 9]),  # eta defaults to 3; 27 is the end
    ({"type": "hyperband", "min_iter": 2, "eta": 2}, 20, [2, 4, 8, 16]),
    ({"type": "hyperband", "min_iter": 1, "eta": 1.5}, 5, [1, 2, 3]),
    ({"type": "hyperband", "min_iter": 5}, 3, []),
    ({"type": "hyperband", "max_iter": 27, "s": 3, "eta": 3}, 27, [1, 3, 9]),
    ({"type": "hyperband", "max_iter": 81, "s": 2}, 100, [9, 27]),
    ({"type": "hyperband", "max_iter": 20, "s": 2, "eta": 2}, 20, [5, 10]),
])
def test_hyperband_rungs(et, max_epochs, want):
    s = spec({"lr": {"value": 0.1}}, early_terminate=et, metric=MAX)
    assert s.early_terminate["type"] == "hyperband"
    assert rungs(s, max_epochs) == want


def test_rungs_of_a_parsed_sweep_and_of_its_early_terminate():
    s = parse_sweep({"method": "grid", "parameters": {"lr": {"value": 0.1}},
                     "metric": {"name": "test_loss"},
                     "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2, "strict": False}})
    assert rungs(s, 9) == rungs(s.early_terminate, 9) == [1, 2, 4, 8]
    assert (s.eta, s.strict) == (2, False)
    d = parse_sweep({"method": "grid", "parameters": {"lr": {"value": 0.1}}})
    assert (d.eta, d.strict) == (3, True) and rungs(d, 9) == [] and rungs(None, 9) == []
    assert bands({"max_iter": 27, "s": 3, "eta": 3}) == [1, 3, 9]
    assert bands({"max_iter": 5, "eta": 2, "s": 2}) == [1, 2]


def test_no_jax_import():
    code = "import sys, mlx.sweep.hyperband; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_arguments():
    with pytest.raises(ValueError):
        stop_lanes(np.zeros(3), 1, eta=3, strict=True, goal="minimize")
    with pytest.raises(ValueError):
        stop_lanes(np.zeros((3, 2)), 1, eta=3, strict=True, goal="min")
    with pytest.raises(ValueError):
        stop_lanes(np.zeros((3, 2)), 0, eta=3, strict=True, goal="minimize")

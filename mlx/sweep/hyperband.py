"""W&B's hyperband early stopping: its bands, the rungs a sweep cuts at, and its stop decision,
as its sweep engine makes it (pure numpy, no jax).

The reference is W&B's own engine, github.com/wandb/sweeps, ``src/sweeps/hyperband_stopping.py``
(``hyperband_stop_runs``), with the defaults of ``src/sweeps/config/schema.json``
(``definitions.hyperband_stopping``: ``eta`` 3, ``strict`` true) and ``SweepRun.metric_history``
(``filter_invalid``) of ``src/sweeps/run.py``. Restated:

* **bands** -- ``max_iter`` and ``s``: ``band = max_iter; band /= eta`` s times while ``band >= 1``,
  each ``int(band)``; ``min_iter``: ``int(min_iter * eta**k)``, k = 0, 1, ...
* a run's **history** is its metric per step with the values that are not finite numbers left
  out (NaN, inf, None, bools), negated when the goal is ``maximize`` (so smaller is better).
* **threshold** of a band: over *every* run whose history has at least ``band`` values (running,
  finished or stopped), ``sorted(values at index band - 1)[int((1 / eta) * n)]``; ``inf`` when no
  run reached the band.
* a *running* run is judged at the largest band its history has reached: its value at that
  band (``strict: true``, the default) or the best value of its whole history so far
  (``strict: false``, ``min`` of the negated history); it is **stopped when that value is
  strictly worse than the threshold** (``>``): a value equal to the threshold survives, so ties
  keep more runs, and ``int(n / eta)`` (not ``ceil(n / eta)``) is an index: with no ties
  ``int(n / eta) + 1`` of n runs survive (4 of 9 at eta 3, 3 of 4 at eta 2).

:func:`stop_lanes` makes that decision for lanes that reach a band together (the local engine
trains its lanes in lockstep); :func:`rungs` gives the bands below the longest budget.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_ETA = 3        # schema.json: hyperband_stopping.eta.default
DEFAULT_STRICT = True  # schema.json: hyperband_stopping.strict.default
GOALS = ("minimize", "maximize")


def bands(early_terminate: dict, limit: int | None = None) -> list[int]:
    """W&B's bands (ascending, as ``hyperband_stop_runs`` computes them).

    ``limit``: for ``min_iter``, stop once a band reaches it (W&B computes 100 of them).
    """
    et = early_terminate
    eta = et.get("eta", DEFAULT_ETA)
    out: list[int] = []
    if "max_iter" in et:
        band = et["max_iter"]
        for _ in range(int(et["s"])):
            band /= eta
            if band < 1:
                break
            out.append(int(band))
        return sorted(out)
    if "min_iter" not in et:
        raise ValueError('hyperband needs "max_iter" and "s", or "min_iter"')
    band = et["min_iter"]
    for _ in range(100):
        out.append(int(band))
        if limit is not None and int(band) >= limit:
            break
        band *= eta
    return out


def rungs(spec_or_early_terminate, max_epochs: int) -> list[int]:
    """Epochs (< max_epochs, ascending, distinct) after which hyperband decides; [] if none.

    Takes a parsed sweep spec (anything with ``.early_terminate``) or the ``early_terminate``
    mapping itself (None or empty: no early termination). The bands are W&B's (see
    :func:`bands`); the ones at or past ``max_epochs`` never cut a run that ends there.
    """
    et = getattr(spec_or_early_terminate, "early_terminate", spec_or_early_terminate)
    if not et:
        return []
    return sorted({b for b in bands(et, limit=max_epochs) if 1 <= b < max_epochs})


def _wandb_history(row: np.ndarray, maximize: bool) -> list[float]:
    """``metric_history(filter_invalid=True)``, negated when maximizing (W&B's order kept)."""
    vals = [float(x) for x in row if math.isfinite(float(x))]
    return [-x for x in vals] if maximize else vals


def threshold(history: np.ndarray, band: int, *, eta: float, goal: str) -> float:
    """W&B's threshold at ``band``, on the negated scale when maximizing (inf: nobody there)."""
    maximize = _goal(goal) == "maximize"
    hist = np.asarray(history, dtype=np.float64)
    if hist.ndim != 2:
        raise ValueError(f"history must be float[n, epochs], got shape {hist.shape}")
    vals = [h[band - 1] for h in (_wandb_history(r, maximize) for r in hist) if len(h) >= band]
    if not vals:
        return math.inf
    r = 1.0 / eta
    return sorted(vals)[int(r * len(vals))]


def stop_lanes(history: np.ndarray, band: int, *, eta: int, strict: bool, goal: str,
               running: np.ndarray | None = None) -> np.ndarray:
    """history: float[n, e] metric per epoch of every lane that the decision may look at (NaN
    where a lane has no value: not reached, or already stopped); band: the band (in epochs) now
    reached; returns bool[n]: True for the lanes W&B's hyperband would stop at this band (lanes
    that did not reach the band are never stopped here).

    The threshold is W&B's over every row that has ``band`` finite values (rows of lanes stopped
    earlier, or of configs already finished, count, as W&B counts stopped and finished runs).
    A lane is judged here when it is running at the band: by default, when it has a finite
    value at epoch ``band`` (column ``band - 1``) and ``band`` finite values in all; ``running``
    (bool[n]) narrows that to the lanes still training (finished rows are never stopped). It is
    judged by its value at the band (``strict``) or its best value up to the band (not strict),
    and stopped when that is strictly worse than the threshold (equal survives).
    ``eta`` may be any number > 1 (W&B's schema: a number). See the module docstring.
    """
    hist = np.asarray(history, dtype=np.float64)
    if hist.ndim != 2:
        raise ValueError(f"history must be float[n, epochs], got shape {hist.shape}")
    n, e = hist.shape
    if not (isinstance(band, (int, np.integer)) and band >= 1):
        raise ValueError(f"band must be an integer >= 1, got {band!r}")
    if not eta > 1:
        raise ValueError(f"eta must be > 1, got {eta!r}")
    maximize = _goal(goal) == "maximize"
    stop = np.zeros(n, dtype=bool)
    if band > e:
        return stop
    thr = threshold(hist, band, eta=eta, goal=goal)
    at_band = np.isfinite(hist[:, band - 1])
    if running is not None:
        at_band &= np.asarray(running, dtype=bool)
    for i in np.flatnonzero(at_band):
        h = _wandb_history(hist[i, :band], maximize)  # lockstep: nothing after the band yet
        if len(h) < band:  # a gap (a non-finite value) earlier: W&B judges it at an earlier band
            continue
        value = h[band - 1] if bool(strict) else min(h)
        stop[i] = value > thr
    return stop


def stop_runs(histories, running, bands_: list[int], *, eta: float, strict: bool,
              goal: str) -> list[bool]:
    """W&B's ``hyperband_stop_runs`` on plain data, line by line: the reference that
    :func:`stop_lanes` specialises to lanes at one band.

    histories: per run, its metric per step (any length; non-finite values are left out as
    W&B's ``filter_invalid`` does); running: per run, whether it is still running (only those
    can be stopped); bands_: W&B's bands (:func:`bands`). Returns per run: stop it now.
    """
    maximize = _goal(goal) == "maximize"
    r = 1.0 / eta
    all_run_histories = []
    for h in histories:
        h = _wandb_history(np.asarray(h, dtype=np.float64), maximize)
        if len(h) > 0:
            all_run_histories.append(h)
    thresholds = []
    for band in bands_:
        band_values = [h[band - 1] for h in all_run_histories if len(h) >= band]
        thresholds.append(math.inf if not band_values
                          else sorted(band_values)[int(r * len(band_values))])
    out = []
    for h, run in zip(histories, running):
        stop = False
        if run:
            h = _wandb_history(np.asarray(h, dtype=np.float64), maximize)
            closest_band, closest_threshold = -1, 0.0
            for band, thr in zip(bands_, thresholds):
                if band <= len(h):
                    closest_band, closest_threshold = band, thr
                else:
                    break
            if closest_band != -1:
                value = h[closest_band - 1] if bool(strict) else min(h)
                stop = value > closest_threshold
        out.append(bool(stop))
    return out


def _goal(goal: str) -> str:
    if goal not in GOALS:
        raise ValueError(f"goal must be one of {GOALS}, got {goal!r}")
    return goal


__all__ = ["bands", "rungs", "threshold", "stop_lanes", "stop_runs", "DEFAULT_ETA", "DEFAULT_STRICT"]

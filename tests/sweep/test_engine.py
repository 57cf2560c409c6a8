"""The sweep engine (mlx/sweep/engine.py): every lane equals `mlx train` of its config, halving with
and without padding, relayout. The chunk plan alone is in tests/sweep/test_plan.py; sweep-level
behaviour (files, resume) in tests/sweep/test_runner.py."""
import csv
import math

import numpy as np
import pytest
import yaml
from _util import ROOT, sample
from hypothesis import HealthCheck, given, settings, strategies as st

from mlx.config import make_config
from mlx.train_run import load_task_data
from mlx.sweep.engine import ChunkRunner, group_configs, relayout
from mlx.sweep.plan import Chunk, plan_chunks
from mlx.sweep.runner import run_sweep
from mlx.tasks import apply_task
from mlx.train import fit

RATINGS = ROOT / "experiments" / "data" / "ratings.csv"


def _fit_final(cfg, td=None):
    td = td if td is not None else load_task_data(cfg)[0]
    _, m, _ = fit(cfg, td)
    return {k: np.asarray(v[-1], np.float64) for k, v in m.items()}


def _chunk_metrics(cfgs, chunk=64):
    """Train configs of one group through the engine; {config index: final metrics}."""
    (g,) = group_configs(cfgs)
    td = load_task_data(g.cfg)[0]
    runner = ChunkRunner(g.cfg, td)
    out = {}
    for ch in plan_chunks(g.lanes, chunk):
        res = runner.train(ch, g.lanes)
        pos = {li: j for j, li in enumerate(ch.lanes)}
        for ci, li, e in g.members:
            if li in pos:
                out[ci] = {k: np.asarray(v[pos[li], e - 1], np.float64) for k, v in res.metrics.items()}
    return out


@pytest.mark.parametrize("model,optimizer", [("logreg", "adam"), ("mlp", "adamw")])
def test_lanes_differing_in_seed_and_weight_decay_equal_single_runs(model, optimizer):
    base = {"model": model, "task": "4vrest", "data": "sample", "epochs": 2, "hidden": "[32]",
            "optimizer": optimizer, "batch_size": 64}
    lanes = [(0.01, 0.0, 0), (0.003, 1e-3, 0), (0.01, 1e-2, 1), (0.001, 0.0, 2), (0.003, 0.0, 1)]
    cfgs = [make_config(base | {"lr": lr, "weight_decay": wd, "seed": s}) for lr, wd, s in lanes]
    got = _chunk_metrics(cfgs)
    td = load_task_data(cfgs[0])[0]
    for i, c in enumerate(cfgs):
        want = _fit_final(c, td)
        for k in ("train_loss", "test_loss", "test_accuracy", "style_recall"):
            np.testing.assert_allclose(got[i][k], want[k], atol=1e-5, err_msg=f"{c.lr} {c.weight_decay} {c.seed} {k}")
        assert want["style_recall"].shape == (td.n_styles,) and td.n_styles >= 2
    # different seeds really give different runs (the test would pass trivially otherwise)
    assert float(got[0]["test_loss"]) != float(got[2]["test_loss"])
    # and the accuracy is above always answering "not 4" (0.90 on the sample)
    assert max(float(v["test_accuracy"]) for v in got.values()) > 0.92


def test_halving_keeps_the_same_lanes_with_and_without_padding():
    """Padding slots copy a real lane; they must never take a survivor's place."""
    cfg = make_config({"model": "logreg", "task": "0v1", "data": "sample", "epochs": 4,
                       "optimizer": "sgd", "lr": 0.1})
    td = apply_task("0v1", sample())
    runner = ChunkRunner(cfg, td)
    lanes = [(1e-4, 0.0, 0), (0.3, 0.0, 0), (1e-3, 0.0, 0)]

    def stop_worst_half(h, band):  # stop the lanes below the median of the real ones
        v = h[:, band - 1]
        return v < np.median(v)

    results = []
    for ch in [Chunk(((0, 1, 2),), 1, 3), Chunk(((0, 1, 2),), 1, 4), Chunk(((0, 1, 2),), 3, 4),
               Chunk(((0,), (1, 2)), 2, 2)]:
        r = runner.train(ch, lanes, bands=[1, 2], stop_fn=stop_worst_half)
        order = np.argsort(ch.lanes)
        results.append((r.stopped_at[order], r.metrics["test_accuracy"][order]))
    for stopped, acc in results[1:]:
        np.testing.assert_array_equal(stopped, results[0][0])
        np.testing.assert_allclose(acc, results[0][1], atol=1e-6)
    assert (results[0][0] < 4).any() and (results[0][0] == 4).any()


def test_relayout_keeps_rows_of_one_seed_and_masks_padding():
    src = np.array([[0, 1, 2], [3, 4, 4]])
    real = np.array([[True, True, True], [True, True, False]])
    alive = np.array([False, True, True, True, False])
    (pr, pc), new_src, new_real = relayout(src, real, alive, 1)
    assert new_src[new_real].tolist() == [1, 2, 3]
    assert new_src.tolist() == [[1, 2], [3, 3]] and new_real.tolist() == [[True, True], [True, False]]


def test_csv_sweep_rows_equal_mlx_train_for_one_hot_and_seed(tmp_path):
    """A sweep over one_hot and seed on a CSV: the one_hot configs see one-hot data (not the
    first config's), and seed never changes the split (split_seed does)."""
    y = tmp_path / "c.yaml"
    y.write_text(yaml.safe_dump({"name": "c", "method": "grid", "parameters": {
        "one_hot": {"values": ["", "movie_id"]}, "seed": {"values": [0, 1]},
        "lr": {"value": 0.01}, "epochs": {"value": 3}}}))
    fixed = ["data=csv", f"path={RATINGS}", "label=rating", "label_threshold=4", "missing=drop", "wandb=disabled",
             f"out={tmp_path}"]
    folder = run_sweep([str(y), *fixed], quiet=True)
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert len(rows) == 4
    for r in rows:
        cfg = make_config({"data": "csv", "path": str(RATINGS), "label": "rating", "label_threshold": 4, "missing": "drop",
                           "one_hot": r.get("one_hot", ""), "seed": r["seed"], "lr": 0.01, "epochs": 3})
        want = _fit_final(cfg)
        assert float(r["test_accuracy"]) == pytest.approx(float(want["test_accuracy"]), abs=1e-5), r
        assert float(r["test_loss"]) == pytest.approx(float(want["test_loss"]), abs=1e-5), r
    accs = {(r.get("one_hot", ""), r["seed"]): float(r["test_accuracy"]) for r in rows}
    assert accs[("movie_id", "0")] != accs[("", "0")]


_VALUES = {
    "model": ["logreg", "mlp"], "hidden": [8, 16], "activation": ["relu", "tanh", "gelu"],
    "task": ["0v1", "4vrest", "3v8"], "optimizer": ["sgd", "momentum", "adam", "adamw"],
    "schedule": ["constant", "cosine", "warmup_cosine"], "lr": [0.003, 0.03, 0.3],
    "weight_decay": [0.0, 1e-3], "seed": [0, 1, 2], "epochs": [1, 2], "batch_size": [64, 256],
}


@st.composite
def _small_sweeps(draw):
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), min_size=1, max_size=2, unique=True))
    params = {}
    for k, vals in _VALUES.items():
        if k in keys:
            params[k] = {"values": draw(st.lists(st.sampled_from(vals), min_size=2, max_size=2, unique=True))}
        else:
            params[k] = {"value": draw(st.sampled_from(vals))}
    return params


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(params=_small_sweeps())
def test_random_small_sweeps_every_row_equals_mlx_train(tmp_path, params):
    y = tmp_path / f"h{abs(hash(str(params)))}.yaml"
    y.write_text(yaml.safe_dump({"name": y.stem, "method": "grid", "parameters": params}))
    folder = run_sweep([str(y), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    rows = list(csv.DictReader(open(folder / "results.csv")))
    td_cache = {}
    for r in rows:
        cfg = make_config({k: (r[k] if k != "hidden" else (r[k] or "16")) for k in _VALUES} | {"data": "sample"})
        td = td_cache.setdefault(cfg.task, load_task_data(cfg)[0])
        want = _fit_final(cfg, td)
        for k in ("train_loss", "test_loss", "test_accuracy", "train_accuracy"):
            if math.isfinite(want[k]):
                assert float(r[k]) == pytest.approx(float(want[k]), abs=1e-5, rel=1e-5), (r["name"], k)
        for s, v in enumerate(want.get("style_recall", [])):  # Nvrest: recall per style, 1e-6
            assert float(r[f"recall_style{s}"]) == pytest.approx(float(v), abs=1e-6), (r["name"], s)
        assert int(r["epochs_trained"]) == cfg.epochs


def test_style_recall_columns_equal_what_mlx_train_reports(tmp_path):
    """results.csv's recall_styleK of a 4vrest config = mlx train's summary.json style_recall."""
    from mlx.train_run import train_run
    y = tmp_path / "s.yaml"
    y.write_text(yaml.safe_dump({"name": "s", "method": "grid", "parameters": {
        "task": {"value": "4vrest"}, "lr": {"values": [0.01, 0.1]}, "epochs": {"values": [1, 3]},
        "optimizer": {"value": "sgd"}}}))
    folder = run_sweep([str(y), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert {"recall_style0", "recall_style1"} <= set(rows[0])
    for r in rows:
        if r["lr"] != "0.1":
            continue
        cfg = make_config({"task": "4vrest", "data": "sample", "lr": 0.1, "epochs": r["epochs"], "optimizer": "sgd",
                           "wandb": "disabled", "pictures": False, "out": str(tmp_path / "train")})
        s = train_run(cfg, quiet=True)
        rec = s["style_recall"]
        assert len(rec) >= 2 and 0 < max(rec) <= 1
        for k, v in enumerate(rec):
            assert float(r[f"recall_style{k}"]) == pytest.approx(v, abs=1e-6), (r["name"], k)

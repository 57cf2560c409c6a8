"""The pictures' 2-D models (mlx.viz.boundary_models.PlaneFits) in a sweep: compiled together in
one program from the start, each model x task's trained as soon as its configs are, while the
next groups train, and once."""
import jax
import numpy as np

from mlx.sweep import engine
from mlx.sweep.runner import run_sweep
from mlx.viz import boundary_models

SWEEP = """\
name: fits-early
program: mlx/__main__.py
method: grid
parameters:
  model:
    values: [logreg, mlp]
  task:
    value: "0v1"
  lr:
    values: [0.1, 1.0]
  epochs:
    value: 1
  hidden:
    value: [8]
"""


def test_a_model_x_task_s_2d_model_starts_before_the_next_groups_train(tmp_path, monkeypatch):
    events = []
    train, fit, plane_model = engine.ChunkRunner.train, boundary_models.PlaneFits.fit, boundary_models.train_plane_model

    def logged_train(self, *a, **k):
        events.append(("train", self.cfg.model))
        return train(self, *a, **k)

    def logged_fit(self, row, task, td):
        events.append(("fit", row["model"], row["name"]))
        return fit(self, row, task, td)

    def counted_model(row, *a, **k):
        events.append(("trained 2-D", row["model"]))
        return plane_model(row, *a, **k)
    monkeypatch.setattr(engine.ChunkRunner, "train", logged_train)
    monkeypatch.setattr(boundary_models.PlaneFits, "fit", logged_fit)
    monkeypatch.setattr(boundary_models, "train_plane_model", counted_model)
    (tmp_path / "s.yaml").write_text(SWEEP)
    folder = run_sweep([str(tmp_path / "s.yaml"), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    trains = [i for i, e in enumerate(events) if e[0] == "train"]
    first_fit = next(i for i, e in enumerate(events) if e[:2] == ("fit", "logreg"))
    assert [events[i][1] for i in trains] == ["logreg", "mlp"]
    assert trains[0] < first_fit < trains[1]  # asked for after logreg's group, before mlp's
    assert sorted(e[1] for e in events if e[0] == "trained 2-D") == ["logreg", "mlp"]  # once each
    for m in ("logreg", "mlp"):
        assert (folder / f"decision_boundary_2d_{m}-0v1.png").stat().st_size > 1000


def test_a_finished_model_x_task_s_figures_are_drawn_in_the_background_and_the_rest_at_the_end(tmp_path, monkeypatch):
    """logreg's group done: its figures are handed to the drawing thread before mlp's group
    trains; mlp's (the last group's) and the sweep-wide ones are drawn at the end; each once."""
    import threading

    from mlx.sweep import runner
    from mlx.viz import sweep_figures
    events = []
    train, per_mt, emit, end = (engine.ChunkRunner.train, sweep_figures.draw_model_task_pictures,
                                sweep_figures._emit, runner.Sweep.draw_pictures)

    def logged_train(self, *a, **k):
        events.append(("train", self.cfg.model))
        return train(self, *a, **k)

    def logged_per_mt(folder, rows, *a, **k):
        events.append(("model x task", rows[0]["model"], threading.current_thread().name))
        return per_mt(folder, rows, *a, **k)

    def logged_emit(folder, captions, timings, stopped, fname, *a):
        events.append(("drew", fname, threading.current_thread().name))
        return emit(folder, captions, timings, stopped, fname, *a)

    def logged_end(self, rows):
        events.append(("end",))
        return end(self, rows)
    monkeypatch.setattr(engine.ChunkRunner, "train", logged_train)
    monkeypatch.setattr(sweep_figures, "draw_model_task_pictures", logged_per_mt)
    monkeypatch.setattr(sweep_figures, "_emit", logged_emit)
    monkeypatch.setattr(runner.Sweep, "draw_pictures", logged_end)
    (tmp_path / "s.yaml").write_text(SWEEP)
    folder = run_sweep([str(tmp_path / "s.yaml"), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    at = {e: i for i, e in enumerate(events)}
    handed = [e for e in events if e[0] == "model x task"]
    assert [e[1] for e in handed] == ["logreg"] and handed[0][2].startswith("mlx-draw")
    assert at[("train", "logreg")] < at[handed[0]] < at[("train", "mlp")]
    drew = [e for e in events if e[0] == "drew"]
    assert sorted(e[1] for e in drew) == sorted(
        [f"decision_boundary{k}_{m}-0v1.png" for k in ("", "_2d") for m in ("logreg", "mlp")]
        + ["filter_evolution_logreg-0v1.png", "learning_curves.png"])  # once each
    assert all(e[2].startswith("mlx-draw") for e in drew)  # one thread draws: matplotlib is not thread-safe
    for e in drew:  # (when logreg's are drawn depends on the machine: only their hand-over is ordered)
        if "mlp" in e[1] or e[1] == "learning_curves.png":
            assert at[e] > at[("end",)], e
        assert (folder / e[1]).stat().st_size > 1000


def test_the_2d_models_compile_before_an_nvrest_task_s_styles_are_found_from_one_load(tmp_path, monkeypatch):
    """The 2-D programs need shapes only: their compile starts from the task without styles,
    and the styles (most of an Nvrest task's load, on one core) are found while it runs; the
    dataset is read once; the rows still have their per-style recall."""
    import csv

    from mlx import tasks, train_run
    events = []
    prepare, styles, load = boundary_models.PlaneFits.prepare, tasks.find_styles, train_run.load_dataset_for

    def logged_prepare(self, specs):
        events.append(("prepare", [td.styles is None for _, _, td in specs]))
        return prepare(self, specs)

    def logged_styles(*a):
        events.append(("styles",))
        return styles(*a)

    def logged_load(cfg):
        events.append(("load", cfg.task))
        return load(cfg)
    monkeypatch.setattr(boundary_models.PlaneFits, "prepare", logged_prepare)
    monkeypatch.setattr(tasks, "find_styles", logged_styles)
    monkeypatch.setattr(train_run, "load_dataset_for", logged_load)
    (tmp_path / "s.yaml").write_text(SWEEP.replace('value: "0v1"', 'value: "4vrest"'))
    folder = run_sweep([str(tmp_path / "s.yaml"), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    assert events[:3] == [("load", "4vrest"), ("prepare", [True, True]), ("styles",)]
    assert [e for e in events if e[0] == "load"] == [("load", "4vrest")]
    with open(folder / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(0 <= float(r["recall_style0"]) <= 1 for r in rows)
    for m in ("logreg", "mlp"):
        assert (folder / f"decision_boundary_2d_{m}-4vrest.png").stat().st_size > 1000


def test_the_2d_models_compile_once_together_and_each_trains_alone_as_in_its_own_program(tmp_path, monkeypatch):
    bundles = []
    init = boundary_models._Bundle.__init__

    def counted(self, specs):
        bundles.append([c.model for c, _, _ in specs])
        init(self, specs)
    monkeypatch.setattr(boundary_models, "_PROGRAMS", {})
    monkeypatch.setattr(boundary_models._Bundle, "__init__", counted)
    (tmp_path / "s.yaml").write_text(SWEEP)
    folder = run_sweep([str(tmp_path / "s.yaml"), "data=sample", "wandb=disabled", f"out={tmp_path}"], quiet=True)
    assert bundles == [["logreg", "mlp"]]  # one compile for both 2-D models, none at their turn
    for m in ("logreg", "mlp"):
        assert (folder / f"decision_boundary_2d_{m}-0v1.png").stat().st_size > 1000
    # a slot of the bundle (the others at 0 epochs) trains what the model's own program trains
    from mlx.config import make_config
    from mlx.train import hparams, seed_keys
    cfg2 = boundary_models.plane_config(make_config({"model": "mlp", "hidden": [8], "epochs": 3, "task": "0v1"}))
    x = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    args = (hparams(0.5, 0.0), seed_keys(3), x, y, np.int32(3))
    boundary_models.plane_programs([(boundary_models.plane_config(cfg2.replace(model="logreg")), 300, 1), (cfg2, 300, 1)])
    bundle, slot = boundary_models._PROGRAMS[boundary_models._program_key(cfg2, 300, 1)]
    assert slot == 1
    alone = boundary_models._Bundle([(cfg2, 300, 1)])
    for a, b in zip(jax.tree_util.tree_leaves(bundle(slot, args)), jax.tree_util.tree_leaves(alone(0, args))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_model_too_big_to_prepare_is_left_to_its_turn(monkeypatch):
    """A sweep prepares its 2-D models before its groups' memory checks: a huge one is skipped
    (shapes only are read), never allocated or compiled ahead."""
    from mlx.config import make_config
    monkeypatch.setattr(boundary_models, "_PROGRAMS", {})
    calls = []
    monkeypatch.setattr(boundary_models, "prepare_proba", lambda *a: calls.append(a))

    class Td:
        x_train = np.zeros((100, 784), np.uint8)
        k_out = 1
    small = make_config({"model": "mlp", "hidden": [8], "task": "0v1"})
    huge = make_config({"model": "mlp", "hidden": [65536, 65536], "task": "0v1"})
    boundary_models.prepare_plane_models([(huge, Td), (small, Td)], grid=20)
    assert list(boundary_models._PROGRAMS) == [boundary_models._program_key(boundary_models.plane_config(small), 100, 1)]
    assert len(calls) == 2 and all(list(c[0].hidden) == [8] for c in calls)


def test_a_float32_model_s_p_of_x_is_numpy_equal_to_its_jitted_apply_and_compiles_nothing(monkeypatch):
    """proba_of evaluates float32 logistic regressions and MLPs (each activation, one or two
    hidden layers) in numpy: equal to sigmoid of the model's jitted apply to float32 rounding,
    with no XLA program (so prepare_proba compiles nothing for them); bfloat16 stays jitted."""
    from mlx.config import make_config
    from mlx.models import make_model
    monkeypatch.setattr(boundary_models, "_proba_fn", lambda *a: (_ for _ in ()).throw(AssertionError("compiled")))
    rng = np.random.default_rng(1)
    x = rng.random((500, 784), dtype=np.float32)
    for model, act, hidden in [("logreg", "relu", [8]), ("mlp", "relu", [32]), ("mlp", "tanh", [16, 8]),
                               ("mlp", "gelu", [32])]:
        cfg = make_config({"model": model, "activation": act, "hidden": hidden})
        m = make_model(model, d=784, k_out=1, hidden=hidden, activation=act)
        params = jax.tree_util.tree_map(lambda a: a + rng.normal(0, 0.05, a.shape).astype(np.float32),
                                        m.init(jax.random.key(2)))
        want = np.asarray(jax.nn.sigmoid(jax.jit(m.apply)(params, x)[:, 0]))
        assert boundary_models._numpy_proba(cfg)
        got = boundary_models.proba_of(cfg, 784, params)(x)
        assert got.shape == (500,) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=2e-5)
        assert 0.01 < want.std()  # not a saturated model: the check can fail
    boundary_models.prepare_proba(make_config({"model": "mlp"}), 784, 64)
    assert not boundary_models._numpy_proba(make_config({"model": "mlp", "precision": "bfloat16"}))

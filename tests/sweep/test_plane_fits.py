"""The pictures' 2-D models (mlx.viz.boundary_models.PlaneFits) in a sweep: each model x task's
starts as soon as its configs are trained, while the next groups train, and is trained once."""
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

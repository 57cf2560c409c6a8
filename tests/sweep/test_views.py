"""Each config's views (mlx.sweep.views): the best logreg of each model x task x epoch budget
gets its filter after every epoch in its W&B run, also when a later chunk displaces a best,
after a resume, and with wandb_runs=best."""
import json
import shutil

from _util import run_cli, wandb_history

SWEEP = ("name: v\nmethod: grid\nmetric: {name: test_accuracy, goal: maximize}\nparameters:\n"
         "  model: {value: logreg}\n  task: {value: 0v1}\n  lr: {values: [0.001, 0.01, 0.1, 1.0]}\n"
         "  epochs: {value: 4}\n  optimizer: {value: sgd}\n")


def _evolution_steps(run_folder):
    return [r["_step"] for r in wandb_history(run_folder) if "pictures/filter_by_epoch/_type" in r]


def _best_name(folder):
    return json.loads((folder / "best_runs.json").read_text())[0]


def test_only_the_final_best_gets_the_filter_evolution_also_after_a_resume(tmp_path):
    y = tmp_path / "v.yaml"
    y.write_text(SWEEP)
    args = ("sweep", y, "data=sample", f"out={tmp_path}", "chunk=1", "wandb=offline", "wandb_runs=all")
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr[-3000:]
    folder = tmp_path / "v"
    best = _best_name(folder)
    runs = sorted((folder / "runs").iterdir())
    assert len(runs) == 4 and best in {r.name for r in runs}
    for rf in runs:  # one chunk per config: earlier bests were displaced and written without it
        assert _evolution_steps(rf) == ([1, 2, 3, 4] if rf.name == best else []), rf.name
        assert (rf / "filter.png").exists()
    # the best's W&B run lost to a kill: the rerun writes it again, with its filter per epoch
    shutil.rmtree(folder / "runs" / best / "wandb")
    (folder / "runs" / best / "wandb.done").unlink()
    others = {rf.name: sorted(p.name for p in (rf / "wandb").iterdir()) for rf in runs if rf.name != best}
    p = run_cli(*args)
    assert p.returncode == 0 and "4 already done" in p.stdout, p.stderr[-3000:]
    assert _evolution_steps(folder / "runs" / best) == [1, 2, 3, 4]
    assert {n: sorted(q.name for q in (folder / "runs" / n / "wandb").iterdir()) for n in others} == others


def test_with_wandb_runs_best_the_best_logreg_run_has_its_filters(tmp_path):
    y = tmp_path / "v.yaml"
    y.write_text(SWEEP)
    p = run_cli("sweep", y, "data=sample", f"out={tmp_path}", "wandb=offline", "wandb_runs=best")
    assert p.returncode == 0, p.stderr[-3000:]
    folder = tmp_path / "v"
    (rf,) = [r for r in (folder / "runs").iterdir() if (r / "wandb").exists()]
    assert rf.name == _best_name(folder)
    keys = {k for r in wandb_history(rf) for k in r}
    assert "pictures/filter/_type" in keys and _evolution_steps(rf) == [1, 2, 3, 4]


def test_held_runs_of_a_finished_model_x_task_go_to_w_and_b_without_waiting_for_the_rest(tmp_path):
    """A sweep queues the held best runs of a model x task as soon as its configs are trained;
    the others stay held until theirs are."""
    from mlx.sweep.views import RunViews

    class Writer:
        errors: list = []
        submitted: list = []

        def submit(self, folder, *rest, evolution=None):
            self.submitted.append(folder.name)

    w = Writer()
    views = RunViews(tmp_path, "true", "all", w, pictures=True, budget_best={})
    views.held = {(m, t, e): (f"{m}-{t}-{e}", (tmp_path / f"{m}-{t}-{e}", {}, [], {}, None))
                  for m in ("logreg", "mlp") for t in ("0v1", "4vrest") for e in (1, 5)}
    views.submit_held(("logreg", "4vrest"))
    assert w.submitted == ["logreg-4vrest-1", "logreg-4vrest-5"]
    assert sorted(views.held) == [(m, t, e) for m, t in [("logreg", "0v1"), ("mlp", "0v1"), ("mlp", "4vrest")]
                                  for e in (1, 5)]
    views.submit_held()
    assert len(w.submitted) == 8 and views.held == {}

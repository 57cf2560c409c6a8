"""mlx.track.wandb_writer: the sweep's background W&B runs. Each run lists the installed
packages (its requirements.txt) as wandb.init does, from one list made when the writer opened."""
from importlib.metadata import distributions

import wandb.util

from mlx.track.wandb_writer import WandbWriter


def _installed() -> set[str]:
    out = set()
    for d in distributions():
        try:
            out.add(f"{d.metadata['Name']}=={d.version}")
        except (KeyError, TypeError, UnicodeDecodeError):
            pass
    return out


def test_each_run_gets_the_installed_packages_listed_once(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    walks = []
    original = wandb.util.working_set

    def counted():
        walks.append(1)
        return original()
    monkeypatch.setattr(wandb.util, "working_set", counted)
    w = WandbWriter("offline", "mlx-test", "writer-test", threads=2)
    assert wandb.util.working_set is not counted  # the one list answers while the writer is open
    folders = [tmp_path / f"run{i}" for i in range(3)]
    for i, f in enumerate(folders):
        f.mkdir()
        w.submit(f, {"lr": 0.1 * (i + 1)}, [{"epoch": 1, "test_accuracy": 0.5}], {"test_accuracy": 0.5})
    w.close()
    assert wandb.util.working_set is counted  # W&B's own again after close
    assert walks == [1], walks                 # walked once for three runs
    assert w.errors == [] and w.logged == 3
    installed = _installed()
    for f in folders:
        assert (f / "wandb.done").exists()
        (req,) = f.glob("wandb/offline-run-*/files/requirements.txt")
        listed = {line.strip() for line in req.read_text().splitlines() if line.strip()}
        assert listed == installed and any(p.startswith("jax==") for p in listed)


def test_a_disabled_writer_leaves_wandb_as_it_is(monkeypatch):
    sentinel = wandb.util.working_set
    w = WandbWriter("disabled", "mlx-test", "writer-test")
    assert wandb.util.working_set is sentinel
    w.close()
    assert wandb.util.working_set is sentinel

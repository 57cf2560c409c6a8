"""The command line as a user meets it: parsing, help, outputs, and one-line usage errors."""
import gzip
import json
import shutil

import pytest
from _util import MNIST_DIR, assert_usage_error, requires_mnist, run_cli

from mlx.cli import main
from mlx.config import FIELDS, Config, config_from_argv, split_overrides
from mlx.errors import ConfigError


def test_all_three_override_forms():
    got = split_overrides(["lr=0.1", "--epochs=3", "--model", "mlp", "--download", "--hidden", "[512, 256]"])
    assert got == {"lr": "0.1", "epochs": "3", "model": "mlp", "download": "true", "hidden": "[512, 256]"}
    c = config_from_argv(["lr=0.1", "--epochs=3", "--model", "mlp", "--hidden", "[512, 256]"])
    assert (c.lr, c.epochs, c.model, c.hidden) == (0.1, 3, "mlp", (512, 256))
    assert config_from_argv(["hidden=256"]).hidden == (256,)
    assert config_from_argv(["--batch-size=64"]).batch_size == 64
    assert config_from_argv(["pictures=False"]).pictures is False  # wandb agent writes False


def test_help_lists_every_key_with_its_default(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for name, f in FIELDS.items():
        assert f"  {name} " in out
    assert "lr                0.001" in out and "model             logreg" in out
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


def _err(capsys, *argv):
    rc = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("mlx: error: "), err
    return err


@pytest.mark.parametrize("argv,words", [
    (["train", "modle=mlp"], ["unknown key 'modle'", "allowed:", "model"]),
    (["train", "model=cnn"], ["model='cnn' is not allowed", "allowed: logreg, mlp"]),
    (["train", "task=4vall"], ["unknown task '4vall'", "allowed: 0v1, 4vrest"]),
    (["train", "optimizer=rmsprop"], ["optimizer='rmsprop'", "allowed: sgd, momentum, adam, adamw"]),
    (["train", "lr=fast"], ["lr='fast' is not a number"]),
    (["train", "lr=0"], ["lr=0.0 must be a positive finite number"]),
    (["train", "lr=-1"], ["lr=-1.0 must be a positive"]),
    (["train", "epochs=0"], ["epochs=0 must be a positive integer"]),
    (["train", "epochs=2.5"], ["epochs='2.5' is not an integer"]),
    (["train", "hidden=[256,-3]"], ["hidden", "positive integers"]),
    (["train", "hidden=abc"], ["hidden", "positive integers"]),
    (["train", "activation=swish"], ["activation='swish'", "relu, tanh, gelu"]),
    (["train", "wandb=cloud"], ["wandb='cloud'", "offline, online, disabled"]),
    (["train", "lr"], ["'lr' is not key=value"]),
    (["train", "--lr"], ["--lr needs a value"]),
    (["fly"], ["unknown command 'fly'", "train"]),
])
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, words):
    err = _err(capsys, *argv)
    for w in words:
        assert w in err, (w, err)


def test_data_dir_without_idx_files(capsys, tmp_path):
    err = _err(capsys, "train", "data=idx", f"data_dir={tmp_path}", "wandb=disabled")
    assert "train-images-idx3-ubyte" in err and "download=true" in err


@requires_mnist
@pytest.mark.parametrize("damage,words", [
    (lambda b: b[:1000], ["train-images"]),                      # truncated
    (lambda b: b"\x00\x00\x08\x99" + b[4:], ["magic"]),          # wrong magic
])
def test_corrupt_idx_files(capsys, tmp_path, damage, words):
    for f in MNIST_DIR.glob("*.gz"):
        shutil.copy(f, tmp_path / f.name)
    raw = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(damage(raw), 1))
    err = _err(capsys, "train", "data=idx", f"data_dir={tmp_path}", "wandb=disabled")
    for w in words:
        assert w in err


def test_labels_outside_the_task(capsys, tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(130)))
    err = _err(capsys, "train", "data=csv", f"path={csv}", "label=label", "task=digits", "wandb=disabled")
    assert "outside task 'digits'" in err and "digit labels 0-9" in err and "task=labels" in err
    err = _err(capsys, "train", "data=csv", f"path={csv}", "label=a", "label_threshold=50",
               "task=4vrest", "wandb=disabled")
    assert "class '4' of task '4vrest' has no examples" in err


def test_config_is_validated_once_in_the_dataclass():
    with pytest.raises(ConfigError, match="batch_size=0 must be a positive integer"):
        Config(batch_size=0)


def test_train_writes_a_complete_run_folder(tmp_path):
    """End to end in a subprocess, as a user runs it: the folder, the summary, W&B offline."""
    from _util import wandb_logged_keys

    from mlx.track.files import load_run, read_json
    p = run_cli("train", "data=sample", "task=0v1", "epochs=3", "lr=0.003", f"out={tmp_path}", "name=r1")
    assert p.returncode == 0, p.stderr[-3000:]
    run = tmp_path / "r1"
    for f in ["config.json", "summary.json", "history.csv", "params.msgpack", "filter.png",
              "filter_strip.png", "evidence.png", "decision_boundary.png", "roc_pr.png", "pictures.json"]:
        assert (run / f).is_file(), f
    s = read_json(run / "summary.json")
    for k in ["test_accuracy", "test_loss", "train_loss", "train_seconds", "compile_seconds",
              "data_source", "versions"]:
        assert k in s
    assert s["data_source"] == "sample" and s["n_train"] == 800 and s["test_accuracy"] > 0.97
    assert "jax" in s["versions"] and "data: sample:" in p.stdout
    hist = (run / "history.csv").read_text().splitlines()
    assert hist[0] == "epoch,train_loss,train_accuracy,test_loss,test_accuracy" and len(hist) == 4
    keys = wandb_logged_keys(run)
    assert {"train_loss", "test_accuracy", "epoch"} <= keys["history"]
    assert {"model", "lr", "data_source"} <= keys["config"]
    assert {"test_accuracy", "compile_seconds"} <= keys["summary"]
    assert any(k.startswith("pictures/filter/") for k in keys["history"])
    assert any(k.startswith("pictures/filter_by_epoch/") for k in keys["history"])  # one per epoch
    assert any(k.startswith("charts/roc") for k in keys["history"])  # wandb.plot charts
    assert sorted(p.name for p in (run / "filter_epochs").iterdir()) == [f"epoch_00{i}.png" for i in (1, 2, 3)]
    cfg, params = load_run(run)
    assert cfg.task == "0v1" and params["b"].shape == (784, 1)
    # the saved params reproduce the reported accuracy
    from mlx.data.sample import load_sample
    from mlx.viz.run_figures import predict_logits
    from mlx.tasks import apply_task
    td = apply_task("0v1", load_sample())
    acc = ((predict_logits(cfg, td, params, td.x_test)[:, 0] > 0) == td.y_test).mean()
    assert acc == pytest.approx(s["test_accuracy"], abs=1e-6)


def test_diverging_lr_is_one_line_exit_2_and_keeps_results(tmp_path):
    p = run_cli("train", "data=sample", "model=mlp", "hidden=32", "task=digits", "optimizer=sgd",
                "lr=1e4", "epochs=2", f"out={tmp_path}", "name=boom", "wandb=disabled")
    line = assert_usage_error(p, "diverged", "lr=10000", "smaller lr")
    s = json.loads((tmp_path / "boom" / "summary.json").read_text())
    assert s["diverged"] is True and (tmp_path / "boom" / "history.csv").exists()
    assert str(tmp_path / "boom") in line


@pytest.mark.parametrize("argv", [["sweep", "sweep.yaml"], ["train", "epochs=1"], [], ["bench"]])
def test_entry_stops_openblas_spinning(monkeypatch, argv):
    """entry() sets OPENBLAS_THREAD_TIMEOUT (idle OpenBLAS workers sleep at once instead of
    spinning beside the training) for every command; a user's own value is kept."""
    import mlx.cli as cli
    seen = {}

    def fake_main(a):
        seen["argv"], seen["value"] = list(a), cli.os.environ.get("OPENBLAS_THREAD_TIMEOUT")
        return 0
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    monkeypatch.setattr(cli, "main", fake_main)
    fresh = cli._Interrupt()  # entry() marks its Interrupt over: not the module's own
    fresh.install = lambda: None  # no SIGINT handler in the test process
    monkeypatch.setattr(cli, "_INTERRUPT", fresh)
    with pytest.raises(SystemExit) as e:
        cli.entry(argv)
    assert e.value.code == 0 and seen == {"argv": argv, "value": "4"}
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "20")
    with pytest.raises(SystemExit):
        cli.entry(argv)
    assert seen["value"] == "20"


def test_openblas_thread_timeout_is_read_when_numpy_loads():
    """The variable works only if numpy (its OpenBLAS) is not loaded before entry() sets it:
    importing the command line must not import numpy."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import sys, mlx.cli; print('numpy' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

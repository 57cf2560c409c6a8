"""mlx bench at a tiny size (mlx.bench.benchmark): the whole run writes bench.json with every
section, the machine facts, the peak and memory; the torch skip line; --help; the CLI's errors.

No timed assertions: the machine running the tests is shared."""
import json

from mlx.bench import machine
from mlx.bench.benchmark import main, run_benchmark
from mlx.bench.options import FIELDS, parse_options


def test_quick_run_writes_json_and_png(quick):
    code, res, text, out = quick
    assert code == 0, text[-3000:]
    for key in ("machine", "options", "peak", "data", "main_task", "sweeps", "reference", "e2e", "scaling",
                "big", "accuracy", "accuracy_agree", "targets", "memory", "load_average"):
        assert key in res, key
    m = res["machine"]
    assert m["cores"] >= 1 and m["jax"] and m["devices"] and "cpu" in m
    assert res["peak"]["flops_per_second"] > 0 and res["memory"]["bytes"] > 0
    assert "wrote" in text
    assert (out / "bench.json").exists() and (out / "bench.png").exists()


def test_torch_missing_prints_one_skip_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(machine, "_torch", lambda: None)
    code = main(["quick=true", "data_dir=sample", f"out={tmp_path}", "models=logreg",
                 "baselines=torch", "seeds=1", "max_configs=0", "big=0", "e2e_sweep=none"])
    text = capsys.readouterr().out
    assert code == 0
    skip = [ln for ln in text.splitlines() if "PyTorch baseline skipped" in ln]
    assert len(skip) == 1 and "pip install" in skip[0]
    res = json.loads((tmp_path / "bench.json").read_text())
    assert res["torch_skipped"] is True and "e2e" not in res and "scaling" not in res
    assert set(res["sweeps"]["4vrest"]["models"]["logreg"]["methods"]) == {"engine"}
    assert (tmp_path / "bench.png").exists()


def test_run_benchmark_returns_what_it_wrote(tmp_path):
    opts = parse_options(["quick=true", "data_dir=sample", f"out={tmp_path}", "models=logreg",
                          "baselines=none", "seeds=1", "max_configs=0", "big=0", "e2e_sweep=none",
                          "--ref_repeats", "1"])
    res = run_benchmark(opts)
    assert res["out"] == str(tmp_path)
    written = json.loads((tmp_path / "bench.json").read_text())
    assert written["accuracy"] == res["accuracy"] and written["options"]["baselines"] == []


def test_help_lists_every_key(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: mlx bench [key=value ...]")
    for k in FIELDS:
        assert f"\n  {k} " in text, k


def test_cli_errors_are_one_line_exit_2(capsys):
    from mlx.cli import main as cli_main
    for argv, want in ((["nope=1"], "unknown bench key 'nope'"), (["epochs=x"], "epochs='x' is not an integer"),
                       (["epochs=1", "epochs=2"], "epochs is given twice"),
                       (["--quick", "maybe"], "quick='maybe' is not a boolean")):
        assert cli_main(["bench", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("mlx: error: ") and want in err and "\n" not in err, err

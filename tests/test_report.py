"""mlx.report: one self-contained report.html for a run folder and for a sweep folder."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from mlx.errors import UsageError
from mlx.report import markdown_to_html, render_report, write_report


def _png(path, seed: int, size=(120, 80)) -> bytes:
    """A small random PNG (no matplotlib needed); returns its bytes."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _data_uris(page: str) -> list[str]:
    return re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)


def _assert_offline(page: str):
    assert "http://" not in page and "https://" not in page
    assert 'src="//' not in page and "src='//" not in page
    assert "://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "logreg-0v1-lr0.1"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "model": "logreg", "task": "0v1", "lr": 0.1, "epochs": 3,
        "optimizer": {"name": "sgd", "momentum": 0.9},
        "note": "<script>alert('x')</script> see https://example.org/x",
    }))
    (run / "summary.json").write_text(json.dumps({
        "test_accuracy": 0.9987, "test_loss": 0.0042, "train_seconds": 1.25, "diverged": False,
    }))
    (run / "history.csv").write_text(
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n"
        "1,0.2513,0.9412,0.1107,0.9731\n"
        "2,0.0718,0.9876,0.0361,0.9952\n"
        "3,0.0402,0.9931,0.0042,0.9987\n"
    )
    pngs = {
        "filter.png": _png(run / "filter.png", 1),
        "epochs/filter_strip.png": _png(run / "epochs" / "filter_strip.png", 2),
    }
    (run / "pictures.json").write_text(json.dumps({"filter.png": "The 0-vs-1 filter, red means one."}))
    return run, pngs


@pytest.fixture
def sweep_folder(tmp_path):
    sweep = tmp_path / "sweep-lr"
    sweep.mkdir()
    (sweep / "config.json").write_text(json.dumps({"method": "grid", "parameters": {
        "lr": {"values": [0.01, 0.1, 10.0]}, "model": {"values": ["logreg", "mlp"]}}}))
    (sweep / "results.csv").write_text(
        "run,model,task,lr,epochs,seed,test_accuracy,diverged\n"
        "r1,logreg,0v1,0.01,3,0,0.9912,False\n"
        "r2,mlp,0v1,0.1,3,0,0.9991,False\n"
        "r3,mlp,0v1,10.0,3,0,nan,True\n"
    )
    (sweep / "comparison.md").write_text(
        "# Best per model\n\n"
        "| model | best lr | test accuracy |\n|---|---:|---:|\n"
        "| logreg | 0.01 | 0.9912 |\n| mlp | 0.1 | 0.9991 |\n\n"
        "The **mlp** wins by `0.0079`.\n"
    )
    pngs = {"comparison.png": _png(sweep / "comparison.png", 3)}
    for i, run in enumerate(("r1", "r2", "r3")):
        pngs[f"runs/{run}/filter.png"] = _png(sweep / "runs" / run / "filter.png", 10 + i)
        (sweep / "runs" / run / "summary.json").write_text("{}")
    (sweep / "runs" / "r2" / "pictures.json").write_text(json.dumps({"filter": "Filter of run two."}))
    # W&B's own media copies are not pictures of the report
    _png(sweep / "runs" / "r1" / "wandb" / "media" / "copy.png", 99)
    return sweep, pngs


def test_run_report_has_everything(run_folder):
    run, pngs = run_folder
    path = write_report(run)
    assert path == run.resolve() / "report.html"
    page = path.read_text(encoding="utf-8")
    _assert_offline(page)
    uris = _data_uris(page)
    assert len(uris) == len(pngs) == 2
    for data in pngs.values():
        assert base64.b64encode(data).decode() in uris
    for key in ("model", "task", "lr", "epochs", "optimizer.name", "optimizer.momentum"):
        assert f">{key}<" in page
    for value in ("0.9987", "0.0042", "1.25", "0.9412", "0.0718", "0.1107"):
        assert value in page
    assert page.count("<table") >= 3 and "<th" in page and "<td" in page
    assert 'class="sortable"' in page and "<script>" in page
    for col in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert f">{col}<" in page
    assert "The 0-vs-1 filter, red means one." in page  # from pictures.json
    assert "How the filter forms" in page  # default caption from mlx.pictures.CAPTIONS
    assert ">epochs<" in page  # subfolder heading
    # user text is escaped, never markup or a link
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_sweep_report_has_everything(sweep_folder):
    sweep, pngs = sweep_folder
    page = write_report(sweep).read_text(encoding="utf-8")
    _assert_offline(page)
    uris = _data_uris(page)
    assert len(uris) == len(pngs) == 4  # wandb/ copy left out
    for data in pngs.values():
        assert base64.b64encode(data).decode() in uris
    for run in ("r1", "r2", "r3"):
        assert f'id="run-{run}"' in page and f'href="#run-{run}"' in page
    assert "Filter of run two." in page
    assert "0.9991" in page and ">test_accuracy<" in page and ">method<" in page
    # comparison.md rendered: heading, pipe table, inline markup
    assert ">Best per model<" in page and ">best lr<" in page and "<b>mlp</b>" in page
    assert "<code>0.0079</code>" in page
    assert page.count('class="sortable"') == 2
    assert page.count('class="best"') == 1  # highest test accuracy row highlighted
    # the sweep picture comes before the run pictures
    assert page.index(base64.b64encode(pngs["comparison.png"]).decode()) < page.index('id="run-r1"')


def test_many_runs_only_best_runs(sweep_folder):
    sweep, pngs = sweep_folder
    (sweep / "best_runs.json").write_text(json.dumps(["r2"]))
    page = render_report(sweep, max_runs=2)
    uris = _data_uris(page)
    assert len(uris) == 2
    assert base64.b64encode(pngs["runs/r2/filter.png"]).decode() in uris
    assert base64.b64encode(pngs["runs/r1/filter.png"]).decode() not in uris
    assert "showing the 1 listed in best_runs.json" in page
    # without best_runs.json: only the sweep's own pictures, and a note
    (sweep / "best_runs.json").unlink()
    page = render_report(sweep, max_runs=2)
    assert len(_data_uris(page)) == 1 and "best_runs.json" in page


def test_few_runs_best_first(sweep_folder):
    sweep, _ = sweep_folder
    (sweep / "best_runs.json").write_text(json.dumps(["r3"]))
    page = render_report(sweep)
    assert page.index('id="run-r3"') < page.index('id="run-r1"')
    assert 'class="badge">best<' in page


def test_bad_folders(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        write_report(tmp_path / "missing")
    with pytest.raises(UsageError, match="none of"):
        write_report(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError):
        write_report(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError):
        write_report(tmp_path / "file")
    assert not (tmp_path / "report.html").exists()


def test_broken_json_is_a_warning_not_a_crash(run_folder):
    run, _ = run_folder
    (run / "summary.json").write_text("{not json")
    page = render_report(run)
    assert "summary.json could not be read" in page and "0.9731" in page


def test_markdown_tables():
    out = markdown_to_html("| a | b \\| c |\n|:--|--:|\n| 1 | <x> |\n\n- item **one**\n")
    assert out.count("<table") == 1 and ">a<" in out and ">b | c<" in out
    assert "&lt;x&gt;" in out and "<li>item <b>one</b></li>" in out
    assert 'data-v="1"' in out


def test_report_renders_in_headless_chromium(sweep_folder, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (manual check only)")
    sweep, _ = sweep_folder
    path = write_report(sweep)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    profile.mkdir()
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={shot}",
           "--window-size=1000,1400", path.as_uri()]
    try:
        subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("chromium did not finish in 60 s")
    if not shot.exists():
        pytest.skip("chromium wrote no screenshot in this environment")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1400, 1000) and pixels.std() > 10

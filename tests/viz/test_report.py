"""mlx.viz.report: one self-contained report.html for a run folder and for a sweep folder."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from _util import assert_usage_error, run_cli
from mlx.errors import UsageError
from mlx.viz.report import render_report, write_report


def _tree(folder) -> dict[str, str]:
    """Every entry under folder (links not followed): relative path -> kind and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, folder)
            if os.path.islink(p):
                out[rel] = "link -> " + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[rel] = "file " + f.read().hex()[:4000]
            else:
                out[rel] = "other"
    return out


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
    assert "How the filter forms" in page  # default caption from mlx.viz.common.CAPTIONS
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


def test_sweep_sections_in_order(sweep_folder):
    """A sweep folder's pictures go to their sections, in the page order comparison, filters,
    boundaries, styles, learning curves, other pictures, results, runs, whatever their names'
    alphabetical order; the W&B summary run (summary/) and wandb/ copies are left out."""
    sweep, pngs = sweep_folder
    names = ["learning_curves", "style_recall_4vrest", "styles_4vrest", "decision_boundary_2d_mlp-0v1",
             "decision_boundary_mlp-0v1", "decision_boundary_2d_logreg-0v1", "decision_boundary_logreg-0v1",
             "filter_evolution_logreg-0v1", "best_filters", "zz_extra"]
    for i, n in enumerate(names):
        pngs[f"{n}.png"] = _png(sweep / f"{n}.png", 40 + i)
    _png(sweep / "summary" / "summary_copy.png", 98)
    (sweep / "history.csv").write_text("index,name,epoch,test_accuracy\n0,r1,1,0.9\n")
    page = render_report(sweep)
    ids = re.findall(r'<section id="([^"]+)">', page)
    assert ids == ["comparison", "filters", "boundaries", "styles", "learning-curves", "pictures",
                   "results", "config", "runs"], ids
    at = {n: page.index(base64.b64encode(pngs[f"{n}.png"]).decode()) for n in names + ["comparison"]}
    order = ["comparison", "best_filters", "filter_evolution_logreg-0v1", "decision_boundary_logreg-0v1",
             "decision_boundary_2d_logreg-0v1", "decision_boundary_mlp-0v1", "decision_boundary_2d_mlp-0v1",
             "styles_4vrest", "style_recall_4vrest", "learning_curves", "zz_extra"]
    assert sorted(order, key=at.get) == order
    assert page.index("Best per model") < at["comparison"] < page.index('<section id="filters">')
    assert len(_data_uris(page)) == len(pngs)  # summary/ and wandb/ pictures are not in
    assert "history.csv" in page and "0,r1,1" not in page  # a note, not a 10,000-row table


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


# ---------------------------------------------------------------- mlx report at the command line


def test_cli_report_html_is_a_folder(run_folder):
    """report.html a folder: one line, exit 2, the folder and its files kept, no temp file left."""
    run, _ = run_folder
    (run / "report.html").mkdir()
    (run / "report.html" / "keep.txt").write_text("mine")
    before = _tree(run.parent)
    line = assert_usage_error(run_cli("report", run), "report.html", "is a folder", "move or remove it")
    assert str(run.resolve()) in line
    assert _tree(run.parent) == before  # nothing written anywhere, no .report.html.*.tmp


@contextlib.contextmanager
def _read_only(folder):
    """The folder made unwritable: chmod 555, or for root (whom modes do not stop) the immutable
    attribute (chattr +i; skips where the file system or the container does not allow it)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root and chattr +i is not available here: cannot make a read-only folder")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_cli_report_read_only_folder(run_folder):
    """A read-only folder: one line naming the folder, exit 2, nothing written anywhere."""
    run, _ = run_folder
    before = _tree(run.parent)
    with _read_only(run):
        proc = run_cli("report", run)
    line = assert_usage_error(proc, "cannot write report.html", "writable")
    assert str(run.resolve()) in line
    assert "Permission denied" in line or "Operation not permitted" in line
    assert _tree(run.parent) == before


def test_cli_report_write_fails_after_temp_file(run_folder, monkeypatch, capsys):
    """A failure after the temp file exists (disk full, rename refused): it is removed."""
    import errno

    from mlx import cli
    run, _ = run_folder
    before = _tree(run.parent)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    assert cli.main(["report", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "\n" not in err
    assert _tree(run.parent) == before


def test_cli_report_broken_and_odd_png_entries(run_folder):
    """A broken *.png link, a FIFO and a folder named *.png: left out with a warning in the page,
    the report still written (exit 0); nothing else changes."""
    run, pngs = run_folder
    (run / "gone.png").symlink_to(run.parent / "no-such-target.png")
    os.mkfifo(run / "pipe.png")  # reading it would block forever
    (run / "dir.png").mkdir()
    (run / "fake.png").write_text("not a png")
    before = _tree(run.parent)
    proc = run_cli("report", run, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "gone.png is a broken link" in page
    assert "pipe.png is not a regular file" in page
    assert "fake.png is not a PNG file" in page
    assert len(_data_uris(page)) == len(pngs) == 2  # the good pictures are all in
    after = _tree(run.parent)
    assert after.pop(os.path.join(run.name, "report.html")).startswith("file ")
    assert after == before


def test_cli_report_link_named_report_html_is_replaced_not_followed(run_folder, tmp_path):
    """report.html a link to a file outside the folder: the link is replaced by the report, the
    file outside is not touched (nothing is ever written outside the folder)."""
    run, _ = run_folder
    outside = tmp_path / "outside.html"
    outside.write_text("not yours")
    (run / "report.html").symlink_to(outside)
    proc = run_cli("report", run)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert outside.read_text() == "not yours"
    assert not (run / "report.html").is_symlink()
    assert "mlx run report" in (run / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_broken_json_is_a_warning_not_a_crash(run_folder):
    run, _ = run_folder
    (run / "summary.json").write_text("{not json")
    page = render_report(run)
    assert "summary.json could not be read" in page and "0.9731" in page


# ---------------------------------------------------------------- the page in a real browser

_WINDOW = (1280, 2000)  # width, height of the headless window and of the screenshot
# Appended to a copy of the report (never to the report itself) for --dump-dom: the layout
# facts the screenshot is checked against, written into the DOM as attributes of <body>.
_MEASURE = """<script>(function(){
var b=document.body, last=document.querySelector('main > section:last-of-type');
var imgs=document.querySelectorAll('main img'), img=imgs[imgs.length-1], r=img.getBoundingClientRect();
b.setAttribute('data-content-bottom', String(Math.ceil(b.getBoundingClientRect().bottom)));
b.setAttribute('data-last-section', last.id);
b.setAttribute('data-last-section-bottom', String(Math.ceil(last.getBoundingClientRect().bottom)));
b.setAttribute('data-last-img', [r.left, r.top, r.width, r.height, img.complete && img.naturalWidth].join(','));
})();</script>"""


def _chromium_run(chromium, profile, url, *args, timeout=120, window=_WINDOW) -> subprocess.CompletedProcess:
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
           "--virtual-time-budget=5000", *args, url]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"chromium did not finish in {timeout} s on this machine")


def test_report_renders_in_headless_chromium(sweep_folder, tmp_path):
    """The sweep report in headless Chromium: the screenshot is not blank, and not cut: the whole
    page (its last section, the last run's picture) lies inside the shot and is painted there.
    .ci/run installs Chromium where it can; elsewhere this skips with the reason."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not on PATH (.ci/run installs the Debian package chromium; "
                    "apt-get install -y chromium)")
    sweep, pngs = sweep_folder
    path = write_report(sweep)
    profile = tmp_path / "profile"
    profile.mkdir()

    # 1. the layout, from the DOM of a copy with the measuring script appended
    page = path.read_text(encoding="utf-8")
    measured = tmp_path / "measure.html"
    measured.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    proc = _chromium_run(chromium, profile, measured.as_uri(), "--dump-dom")
    dom = proc.stdout
    assert proc.returncode == 0 and "data-content-bottom" in dom, (proc.returncode, proc.stderr[-3000:])
    facts = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', dom[:dom.index(">", dom.index("<body"))]))
    assert facts["last-section"] == "runs"  # the last section of the page is in the DOM
    assert 'id="run-r3"' in dom and dom.count("data:image/png;base64,") == len(pngs)
    content_bottom = int(facts["content-bottom"])
    last_bottom = int(facts["last-section-bottom"])
    left, top, width, height, natural = (float(v) for v in facts["last-img"].split(","))
    assert natural == 120  # the last picture decoded (its natural width)
    assert 200 < last_bottom <= content_bottom <= _WINDOW[1], (
        f"the page is {content_bottom} px tall, more than the {_WINDOW[1]} px screenshot: it would be cut")

    # 2. the screenshot of the report itself
    shot = tmp_path / "shot.png"
    proc = _chromium_run(chromium, profile, path.as_uri(), f"--screenshot={shot}")
    assert shot.is_file(), ("chromium wrote no screenshot", proc.returncode, proc.stderr[-3000:])
    grey = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert grey.shape == (_WINDOW[1], _WINDOW[0])
    assert grey.std() > 10, "blank screenshot"
    inked = np.flatnonzero((grey < 250).any(axis=1))  # rows with anything but the white page
    assert inked.size > 300, "almost nothing drawn"
    # the drawing ends where the layout says the last section ends, inside the shot
    assert last_bottom - 60 <= inked[-1] <= last_bottom + 2, (inked[-1], last_bottom)
    assert (grey[content_bottom + 1:] >= 250).all()  # below the page: only background
    # the last run's picture (random noise) is painted where the layout puts it
    y0, x0 = int(np.ceil(top)) + 2, int(np.ceil(left)) + 2
    patch = grey[y0: y0 + int(height) - 4, x0: x0 + int(width) - 4]
    assert patch.shape[0] > 40 and patch.std() > 40, patch.std()
    # the header band at the top is drawn too (title text on the grey band)
    assert (grey[:80] < 200).any()

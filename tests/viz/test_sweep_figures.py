"""mlx.viz.sweep_figures, on a real small sweep: the sweep-level figures, and with them what they
draw from (mlx.viz.lane_images: the per-config lane picture; mlx.viz.boundary_models: the PCA
plane and the 2-D model; mlx.sweep.tables.best_rows), and the sweep folder's report (section
order, every picture, a headless-Chromium shot). One file, so the sweep is trained once."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import sys

import numpy as np
import pytest
from _util import built_once
from PIL import Image

from mlx.sweep.tables import best_rows
from mlx.viz import boundary_models, run_figures
from mlx.viz import lane_images as LI
from mlx.viz import style_figures
from mlx.viz.lane_images import lane_image, lane_images
from mlx.viz.sweep_figures import draw_sweep_pictures

TINY = """\
name: tiny-pictures
program: mlx/__main__.py
method: grid
metric:
  name: test_accuracy
  goal: maximize
parameters:
  model:
    values: [logreg, mlp]
  task:
    values: ["0v1", "4vrest"]
  lr:
    values: [0.1, 1.0]
  epochs:
    values: [1, 2]
  seed:
    value: 0
  optimizer:
    value: sgd
  hidden:
    value: [16]
  batch_size:
    value: 128
"""
MODELS, TASKS = ("logreg", "mlp"), ("0v1", "4vrest")


def _tree(folder) -> dict[str, bytes]:
    out = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            p = os.path.join(dirpath, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, folder)] = f.read()
    return out


def _grey(png_bytes_or_path) -> np.ndarray:
    src = io.BytesIO(png_bytes_or_path) if isinstance(png_bytes_or_path, bytes) else png_bytes_or_path
    return np.asarray(Image.open(src).convert("L"), dtype=float)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A real small sweep (logreg + mlp(16) x 0v1 + 4vrest x 2 lrs x epochs 1, 2, sgd) and what
    draw_sweep_pictures needs: rows, best params, per-epoch filters, task data."""
    from mlx.config import make_config
    from mlx.train_run import load_task_data
    from mlx.sweep.best import load_best, load_budget_best
    from mlx.sweep.runner import run_sweep
    def build(shared):
        (shared / "tiny.yaml").write_text(TINY)
        run_sweep([str(shared / "tiny.yaml"), "data=sample", "wandb=disabled", f"out={shared / 'out'}"], quiet=True)
    base = tmp_path_factory.mktemp("sweep")  # this worker's copy: the report tests write into it
    shutil.copytree(built_once(tmp_path_factory, "tiny-pictures-sweep", build), base, dirs_exist_ok=True)
    folder = base / "out" / "tiny-pictures"
    rows = sorted((json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()),
                  key=lambda r: r["index"])
    best = load_best(folder)
    snapshots = {bb: v[2] for bb, v in load_budget_best(folder).items()}
    assert {(m, t, e) for m in ["logreg"] for t in TASKS for e in (1, 2)} == set(snapshots)
    tds = {t: load_task_data(make_config({"task": t, "data": "sample"}))[0] for t in TASKS}
    return {"folder": folder, "base": base, "rows": rows, "best": best, "snapshots": snapshots, "tds": tds}


@pytest.fixture(scope="module")
def drawn(sweep, tmp_path_factory):
    """draw_sweep_pictures into a fresh folder; what it wrote, said and changed around it."""
    root = tmp_path_factory.mktemp("drawn")
    (root / "outside.txt").write_text("keep")
    out = root / "pics"
    out.mkdir()
    before = _tree(root)
    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        captions = draw_sweep_pictures(out, sweep["rows"], sweep["best"], sweep["snapshots"], sweep["tds"])
    finally:
        sys.stderr = old
    return {"root": root, "out": out, "captions": captions, "before": before, "after": _tree(root),
            "stderr": err.getvalue()}


# ---------------------------------------------------------------- lane_image


def test_lane_image_shape_dtype_and_tiles():
    rng = np.random.default_rng(0)
    one = lane_image("logreg", {"b": rng.normal(size=(784, 1)), "b0": np.zeros(1)})
    assert one.shape == (112, 112, 3) and one.dtype == np.uint8 and one.std() > 10
    ten = lane_image("logreg", {"b": rng.normal(size=(784, 10)), "b0": np.zeros(10)})
    assert ten.shape == ((2 * 29 - 1) * 4, (5 * 29 - 1) * 4, 3)  # 2 x 5 tiles, 1-pixel gaps, x4
    mlp = {"hidden_0": {"kernel": rng.normal(size=(784, 32)), "bias": np.zeros(32)},
           "out": {"kernel": rng.normal(size=(32, 1)), "bias": np.zeros(1)}}
    img = lane_image("mlp", mlp)
    assert img.shape == ((2 * 29 - 1) * 4, (4 * 29 - 1) * 4, 3) and img.std() > 10  # top 8: 2 x 4
    assert lane_image("logreg", {"b": np.zeros((784, 1))}, scale=2).shape == (56, 56, 3)
    with pytest.raises(ValueError, match="unknown model"):
        lane_image("svm", {})


def test_lane_image_colours_diverging_centred_symmetric():
    """Red for positive weights, blue for negative, near-white for 0, symmetric scale; the
    colour table is matplotlib's RdBu_r (which the figures use)."""
    from matplotlib import colormaps
    ref = np.round(colormaps["RdBu_r"](np.linspace(0, 1, 256))[:, :3] * 255)
    assert np.abs(LI.RDBU_R_LUT.astype(float) - ref).max() <= 2
    b = np.zeros((28, 28))
    b[:, :10] = 2.0     # strong positive on the left
    b[:, 18:] = -0.5    # weak negative on the right
    img = lane_image("logreg", {"b": b.reshape(784, 1)}).astype(int)
    left, mid, right = img[50, 10], img[50, 56], img[50, 100]
    np.testing.assert_array_equal(left, LI.RDBU_R_LUT[255])  # the lane's max |w|: darkest red
    assert left[0] > left[2] + 50 and left[1] < 30
    assert right[2] > right[0] + 30 and right.sum() > 400    # bluish, light: -0.5 of a +-2 scale
    assert (mid > 240).all()                                  # zero is (near) white
    # symmetric scale: -b gives the darkest blue where b had the darkest red
    neg = lane_image("logreg", {"b": -b.reshape(784, 1)}).astype(int)
    np.testing.assert_array_equal(neg[50, 10], LI.RDBU_R_LUT[0])
    assert neg[50, 10][2] > neg[50, 10][0] + 50
    # a diverged lane: NaN weights grey, no error; all-zero: blank but valid
    nan_b = b.copy().reshape(784, 1)
    nan_b[:5] = np.nan
    assert (lane_image("logreg", {"b": nan_b})[0, 0] == 120).all()
    blank = lane_image("logreg", {"b": np.zeros((784, 1))})
    assert (blank == blank[0, 0]).all() and (blank > 240).all()


def test_lane_image_of_a_trained_0v1_logreg_is_mean1_minus_mean0(sweep):
    """The best 0v1 logreg lane's picture: red where 1s have ink and 0s not, blue the reverse."""
    td = sweep["tds"]["0v1"]
    params = sweep["best"][("logreg", "0v1")][2]
    img = lane_image("logreg", params).astype(float)[::4, ::4]  # back to 28 x 28
    redness = (img[..., 0] - img[..., 2]).reshape(-1)
    x = td.x_train.astype(float) / 255.0
    diff = x[td.y_train == 1].mean(0) - x[td.y_train == 0].mean(0)
    r = np.corrcoef(redness, diff)[0, 1]
    assert r > 0.6, r
    # and the same for the raw weights (the picture is a monotone map of b)
    assert np.corrcoef(np.asarray(params["b"])[:, 0], redness)[0, 1] > 0.95


def test_lane_image_mlp_top_units_by_first_layer_importance(sweep):
    from mlx.models import first_layer
    params = sweep["best"][("mlp", "4vrest")][2]
    _, imp = first_layer(params)
    top = np.argsort(-np.asarray(imp), kind="stable")[:8]
    w = LI.lane_weights("mlp", params)
    assert w.shape == (8, 784)
    np.testing.assert_array_equal(w, np.asarray(params["hidden_0"]["kernel"])[:, top].T)
    # a unit made the most important comes first: its filter fills the first tile
    p = {"hidden_0": {"kernel": np.zeros((784, 16)), "bias": np.zeros(16)},
         "out": {"kernel": np.full((16, 1), 0.1), "bias": np.zeros(1)}}
    p["hidden_0"]["kernel"][:, 11] = 1.0
    p["out"]["kernel"][11] = 5.0
    img = lane_image("mlp", p).astype(int)
    assert img[:112, :112, 0].min() > 100 and img[:112, :112, 2].max() < 80  # first tile all red
    assert (img[:112, 116:228] > 240).all()                                  # the others zero: white
    assert lane_image("mlp", params).std() > 10


def test_lane_images_vectorised_equals_one_at_a_time(sweep):
    rng = np.random.default_rng(1)
    for model in MODELS:
        p = sweep["best"][(model, "4vrest")][2]
        stacked = {k: ({kk: np.stack([np.asarray(vv) * s for s in (1.0, -2.0, 0.5)]) +
                        (rng.normal(size=(3,) + np.shape(vv)) * 0.01) for kk, vv in v.items()}
                       if isinstance(v, dict) else np.stack([np.asarray(v) * s for s in (1.0, -2.0, 0.5)]))
                   for k, v in p.items()}
        many = lane_images(model, stacked)
        assert many.shape[0] == 3
        for i in range(3):
            one = {k: ({kk: vv[i] for kk, vv in v.items()} if isinstance(v, dict) else v[i])
                   for k, v in stacked.items()}
            np.testing.assert_array_equal(many[i], lane_image(model, one))


# ---------------------------------------------------------------- draw_sweep_pictures


def _expected_files():
    out = {"learning_curves.png", "styles_4vrest.png", "style_recall_4vrest.png",
           "filter_evolution_logreg-0v1.png", "filter_evolution_logreg-4vrest.png"}
    for m in MODELS:
        for t in TASKS:
            out |= {f"decision_boundary_{m}-{t}.png", f"decision_boundary_2d_{m}-{t}.png"}
    return out


def test_draw_sweep_pictures_writes_every_figure_once(drawn):
    assert set(drawn["captions"]) == _expected_files()
    assert sorted(p.name for p in drawn["out"].iterdir()) == sorted(_expected_files())
    assert drawn["stderr"] == "", drawn["stderr"]
    for name, caption in drawn["captions"].items():
        assert caption.strip() and "\n" not in caption, (name, caption)
        grey = _grey(drawn["out"] / name)
        assert grey.shape[0] > 100 and grey.shape[1] > 100, name
        assert grey.std() > 15 and (grey < 128).mean() > 0.005, f"{name} looks blank"


def test_draw_sweep_pictures_writes_nothing_outside_its_folder(drawn):
    before, after = drawn["before"], drawn["after"]
    assert {k: v for k, v in after.items() if not k.startswith("pics" + os.sep)} == before
    assert sorted(k for k in after if k not in before) == sorted(os.path.join("pics", n) for n in _expected_files())


def test_best_is_best_key(sweep, drawn):
    """Every "best" named in the captions is mlx.sweep.best.best_key's: per model x task for the
    boundaries and the style recall, and no diverged row ever."""
    from mlx.sweep.best import best_key
    rows = sweep["rows"]
    for m in MODELS:
        for t in TASKS:
            cands = [r for r in rows if r["model"] == m and r["task"] == t and best_key(r, "test_accuracy", "maximize")]
            best = max(cands, key=lambda r: best_key(r, "test_accuracy", "maximize"))
            assert best["name"] in drawn["captions"][f"decision_boundary_2d_{m}-{t}.png"]
            assert best["name"] in drawn["captions"][f"decision_boundary_{m}-{t}.png"]  # = best_params' run
            if t == "4vrest":
                assert best["name"] in drawn["captions"]["style_recall_4vrest.png"]
    # the rule itself: diverged rows skipped, ties to the lowest index, goal minimize
    rs = [{"index": 0, "diverged": False, "test_loss": 0.3, "model": "m"},
          {"index": 1, "diverged": True, "test_loss": 0.1, "model": "m"},
          {"index": 2, "diverged": False, "test_loss": 0.2, "model": "m"},
          {"index": 3, "diverged": False, "test_loss": 0.2, "model": "m"},
          {"index": 4, "diverged": False, "test_loss": float("nan"), "model": "m"}]
    assert best_rows(rs, lambda r: r["model"], "test_loss", "minimize")["m"]["index"] == 2


def test_what_the_sweep_drew_while_it_trained_is_what_its_results_draw(sweep, drawn):
    """The sweep drew each finished model x task's figures in its drawing thread while the next
    groups trained, and the rest at the end: byte for byte what draw_sweep_pictures draws from
    the sweep's saved results afterwards, listed in pictures.json in figure_order."""
    from mlx.viz.sweep_figures import figure_order
    for name in sorted(_expected_files()):
        assert (sweep["folder"] / name).read_bytes() == (drawn["out"] / name).read_bytes(), name
    listed = list(json.loads((sweep["folder"] / "pictures.json").read_text()))
    ours = [n for n in listed if n in _expected_files()]
    assert ours == sorted(_expected_files(), key=figure_order) == list(drawn["captions"])
    assert ours[:3] == ["filter_evolution_logreg-0v1.png", "filter_evolution_logreg-4vrest.png",
                        "decision_boundary_logreg-0v1.png"]
    assert ours[3] == "decision_boundary_2d_logreg-0v1.png" and ours[-1] == "learning_curves.png"


def test_a_stopped_drawing_draws_nothing_more(tmp_path):
    from mlx.viz.sweep_figures import _emit
    calls, caps, secs = [], {}, {}
    _emit(tmp_path, caps, secs, lambda: True, "a.png", "caption", lambda: calls.append(1))
    assert calls == [] and caps == {} and list(tmp_path.iterdir()) == []


def test_a_failing_figure_is_one_warning_and_the_others_are_drawn(sweep, tmp_path, monkeypatch, capfd):
    def broken(*a, **k):
        raise RuntimeError("no styles today\nsecond line")
    monkeypatch.setattr(style_figures, "styles_figure", broken)
    rows = [r for r in sweep["rows"] if r["task"] == "4vrest"]
    best = {k: v for k, v in sweep["best"].items() if k[1] == "4vrest"}
    snaps = {k: v for k, v in sweep["snapshots"].items() if k[1] == "4vrest"}
    caps = draw_sweep_pictures(tmp_path, rows, best, snaps, {"4vrest": sweep["tds"]["4vrest"]})
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mlx: warning: styles_4vrest.png not drawn (RuntimeError: no styles today")
    assert "styles_4vrest.png" not in caps and not (tmp_path / "styles_4vrest.png").exists()
    assert {"style_recall_4vrest.png", "learning_curves.png", "decision_boundary_mlp-4vrest.png",
            "decision_boundary_2d_logreg-4vrest.png", "filter_evolution_logreg-4vrest.png"} <= set(caps)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(caps)


@pytest.mark.parametrize("model", ["logreg", "mlp"])
def test_the_2d_program_trains_what_mlx_train_trains_and_compiles_once_for_every_budget(sweep, model, monkeypatch):
    """train_2d (the sweep's and mlx train's 2-D model) runs make_fit_params: make_train's
    training without the evaluation, so the same params as mlx.train.fit on the plane task;
    the epochs are an argument, so budgets 1 and 3 of a constant schedule share one compile."""
    from mlx.train import fit
    monkeypatch.setattr(boundary_models, "_PROGRAMS", {})
    td = sweep["tds"]["0v1"]
    row = next(r for r in sweep["rows"] if r["model"] == model and r["task"] == "0v1")
    plane = boundary_models.pca_plane(td)
    pts = np.random.default_rng(0).normal(scale=3, size=(500, 2)).astype(np.float32)
    for epochs in (1, 3):
        cfg = boundary_models.config_of(row).replace(epochs=epochs, lr=0.3)
        z1, f1 = boundary_models.train_2d(cfg, td, *plane)
        cfg2, td2 = boundary_models.plane_task(cfg, td, *plane)
        params, _, _ = fit(cfg2, td2)
        np.testing.assert_array_equal(z1, td2.x_test)
        np.testing.assert_allclose(f1(pts), boundary_models.proba_2d(cfg2, params)(pts), atol=1e-5)
    assert len(boundary_models._PROGRAMS) == 1
    assert run_figures.train_2d is boundary_models.train_2d  # mlx train's 2-D picture is this model


def test_pca_plane_is_pca_fit(sweep):
    from mlx.styles import pca_fit
    from mlx.viz.run_figures import PCA_FIT_MAX
    td = sweep["tds"]["4vrest"]
    mean, comps = boundary_models.pca_plane(td)
    sub = np.sort(np.random.default_rng(0).choice(len(td.x_train), min(PCA_FIT_MAX, len(td.x_train)), replace=False))
    m2, c2 = pca_fit(td.x_train[sub].astype(np.float32) / 255.0, 2)
    np.testing.assert_allclose(mean, m2, atol=1e-6)
    np.testing.assert_allclose(comps, c2, atol=1e-5)


# ---------------------------------------------------------------- the sweep folder's report

ORDER = ["comparison", "filters", "boundaries", "styles", "learning-curves", "results"]


@pytest.fixture(scope="module")
def report(sweep, drawn):
    """The sweep folder with the drawn pictures (where the sweep itself did not draw them), a
    summary/ W&B run folder with a picture of its own, and its report."""
    from mlx.viz.report import write_report
    folder = sweep["folder"]
    for p in drawn["out"].iterdir():
        if not (folder / p.name).exists():
            shutil.copy(p, folder / p.name)
    (folder / "summary" / "wandb" / "media").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (30, 30), (9, 9, 9)).save(folder / "summary" / "copy.png")
    Image.new("RGB", (30, 30), (9, 9, 9)).save(folder / "summary" / "wandb" / "media" / "x.png")
    path = write_report(folder)
    return folder, path, path.read_text(encoding="utf-8")


def _data_uris(page: str) -> list[str]:
    return re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)


def test_report_sections_in_order_and_every_picture(report):
    folder, _, page = report
    pos = [page.index(f'<section id="{sid}">') for sid in ORDER]
    assert pos == sorted(pos), dict(zip(ORDER, pos))
    assert "://" not in page and "<link" not in page
    uris = _data_uris(page)
    pngs = sorted(folder.glob("*.png"))
    assert {p.name for p in pngs} >= _expected_files() | {"comparison.png", "best_filters.png"}
    assert len(uris) == len(pngs)  # summary/ and wandb/ copies are not the sweep's pictures
    for p in pngs:
        assert base64.b64encode(p.read_bytes()).decode() in uris, p.name

    def at(name):
        return page.index(base64.b64encode((folder / name).read_bytes()).decode())

    starts = {s: page.index(f'<section id="{s}">') for s in ORDER}

    def section(name):  # the section a picture is in: the last one starting before it
        return max((v, s) for s, v in starts.items() if v < at(name))[1]
    assert page.index("Best config per model and task") < at("comparison.png")  # comparison.md first
    assert section("comparison.png") == "comparison"
    for name in ("best_filters.png", "filter_evolution_logreg-0v1.png", "filter_evolution_logreg-4vrest.png"):
        assert section(name) == "filters", name
    assert at("best_filters.png") < at("filter_evolution_logreg-0v1.png")
    for m in MODELS:
        for t in TASKS:  # each slice just before its 2-D model
            assert section(f"decision_boundary_{m}-{t}.png") == "boundaries"
            assert at(f"decision_boundary_{m}-{t}.png") < at(f"decision_boundary_2d_{m}-{t}.png")
    assert section("styles_4vrest.png") == section("style_recall_4vrest.png") == "styles"
    assert at("styles_4vrest.png") < at("style_recall_4vrest.png")
    assert section("learning_curves.png") == "learning-curves"
    assert "history.csv" in page[page.index('<section id="learning-curves">'):page.index('<section id="results">')]


def test_report_of_the_real_sweep_in_headless_chromium(report, tmp_path):
    """The whole page in one shot (window as tall as the page): not blank, not cut, every
    picture painted where the layout puts it. Saved as report_shot.png next to the report's
    tmp folder for a look (MLX_SHOT=path copies it there)."""
    from test_report import _chromium_run
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    _, path, page = report
    profile = tmp_path / "profile"
    profile.mkdir()
    measure = """<script>(function(){
var b=document.body, secs=document.querySelectorAll('main > section'), last=secs[secs.length-1], out=[];
document.querySelectorAll('main img').forEach(function(i){var r=i.getBoundingClientRect();
out.push([r.left,r.top,r.width,r.height,i.complete&&i.naturalWidth].join(','));});
b.setAttribute('data-content-bottom', String(Math.ceil(b.getBoundingClientRect().bottom)));
b.setAttribute('data-sections', Array.prototype.map.call(secs, function(s){return s.id;}).join(' '));
b.setAttribute('data-last-bottom', String(Math.ceil(last.getBoundingClientRect().bottom)));
b.setAttribute('data-imgs', out.join(';'));})();</script>"""
    measured = tmp_path / "measure.html"
    measured.write_text(page.replace("</body>", measure + "</body>"), encoding="utf-8")

    def facts(window):
        proc = _chromium_run(chromium, profile, measured.as_uri(), "--dump-dom", window=window)
        dom = proc.stdout
        assert proc.returncode == 0 and "data-content-bottom" in dom, proc.stderr[-3000:]
        return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', dom[:dom.index(">", dom.index("<body"))]))

    height = int(facts((1280, 2000))["content-bottom"]) + 40
    assert height < 16000, height
    window = (1280, height)
    f = facts(window)
    sections = f["sections"].split()
    assert [s for s in sections if s in ORDER] == ORDER
    content_bottom, last_bottom = int(f["content-bottom"]), int(f["last-bottom"])
    assert content_bottom <= window[1]
    imgs = [tuple(float(v) for v in s.split(",")) for s in f["imgs"].split(";")]
    assert len(imgs) == len(_data_uris(page)) >= 15
    shot = tmp_path / "shot.png"
    proc = _chromium_run(chromium, profile, path.as_uri(), f"--screenshot={shot}", window=window)
    assert shot.is_file(), proc.stderr[-3000:]
    if os.environ.get("MLX_SHOT"):
        shutil.copy(shot, os.environ["MLX_SHOT"])
    grey = _grey(shot)
    assert grey.shape == (window[1], window[0])
    assert grey.std() > 10, "blank screenshot"
    inked = np.flatnonzero((grey < 250).any(axis=1))
    assert last_bottom - 80 <= inked[-1] <= last_bottom + 2, (inked[-1], last_bottom)
    assert (grey[content_bottom + 1:] >= 250).all()
    for left, top, width, height_, natural in imgs:  # each picture decoded and painted
        assert natural > 0 and width > 50 and height_ > 50
        y0, x0 = int(np.ceil(top)) + 2, int(np.ceil(left)) + 2
        patch = grey[y0: y0 + int(height_) - 4, x0: x0 + int(width) - 4]
        assert patch.size and patch.std() > 8 and (patch < 128).mean() > 0.002, (left, top, patch.std())

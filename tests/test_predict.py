"""``mlx predict``: your own drawings of digits, classified by a saved run; bad input is one line."""
import json
import math
import os
import shutil
import struct
import zlib

import numpy as np
import pytest
from _util import assert_usage_error, run_cli
from PIL import Image, ImageDraw

from mlx.cli import main
from mlx.data.own_image import load_digit_image
from mlx.predict import explain_path, format_result, predict_images

INK = (25, 20, 40)  # dark ink on white paper, as a phone photo of a drawing


def draw_one(path, size=(300, 400)):
    """A '1': a vertical bar, in a large RGB image with a white background."""
    im = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(im).rectangle([w // 2 - 14, h // 5, w // 2 + 14, h - h // 5], fill=INK)
    im.save(path)
    return path


def draw_zero(path, size=(300, 400)):
    """A '0': a ring."""
    im = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(im).ellipse([w // 4, h // 5, w - w // 4, h - h // 5], outline=INK, width=26)
    im.save(path)
    return path


@pytest.fixture(scope="module")
def run01(tmp_path_factory):
    """A 0v1 logistic regression trained in-process on the bundled sample (about 2 s)."""
    from mlx.config import make_config
    from mlx.train_run import train_run
    out = tmp_path_factory.mktemp("runs")
    s = train_run(make_config({"data": "sample", "task": "0v1", "epochs": 5, "lr": 0.003,
                               "pictures": False, "wandb": "disabled", "out": str(out), "name": "r01"}),
                  quiet=True)
    assert s["test_accuracy"] > 0.95
    return out / "r01"


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    d = tmp_path_factory.mktemp("drawings")
    return draw_one(d / "one.png"), draw_zero(d / "zero.png")


def test_drawn_digits_are_classified_with_the_articles_formula(run01, drawings):
    from mlx.track.files import load_run
    one, zero = drawings
    res = predict_images(run01, [one, zero])
    assert [r["label"] for r in res] == ["1", "0"]
    assert res[0]["probability"] > 0.8 and res[1]["probability"] > 0.8
    _, params = load_run(run01)
    b, b0 = np.asarray(params["b"])[:, 0], float(np.asarray(params["b0"])[0])
    for r, path in zip(res, (one, zero)):
        x = load_digit_image(path).astype(np.float64) / 255.0
        z = b0 + x @ b                                  # z = b0 + x . b
        assert r["z"] == pytest.approx(z, abs=1e-4)
        assert r["b0"] == pytest.approx(b0) and r["xb"] == pytest.approx(x @ b, abs=1e-4)
        assert r["p_positive"] == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-6)
        assert r["positive_class"] == "1" and r["class_names"] == ["0", "1"]
        assert sum(r["probabilities"]) == pytest.approx(1.0)
    line = format_result(res[1])
    assert line.startswith(f"{zero}: '0' with probability ")
    assert "p('1') = sigmoid(b0 + x . b) = sigmoid(" in line and "sigmoid(z = " in line


def test_cli_prints_one_line_per_image_and_explain_writes_maps(run01, drawings, tmp_path):
    one, zero = (shutil.copy(p, tmp_path / p.name) for p in drawings)
    p = run_cli("predict", run01, one, zero, "--explain")
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 2, p.stdout
    assert lines[0].startswith(f"{one}: '1' with probability ") and "p('1') = sigmoid(b0 + x . b)" in lines[0]
    assert lines[1].startswith(f"{zero}: '0' with probability ")
    for img, line in zip((one, zero), lines):
        png = tmp_path / f"{img.stem}.explain.png"
        assert png == explain_path(img) and line.endswith(f"evidence map: {png}")
        a = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
        assert a.shape[0] > 300 and a.std() > 20          # a drawn figure, not a blank page
        # the evidence panel holds both colours of the diverging map (red for '1', blue for '0')
        red = ((a[..., 0] > 150) & (a[..., 2] < 100)).sum()
        blue = ((a[..., 2] > 150) & (a[..., 0] < 100)).sum()
        assert red > 20 and blue > 20


def test_explain_into_out_dir_and_class_names_of_the_task(run01, drawings, tmp_path, capsys):
    """--out DIR; a 4vrest run names its classes 'not 4' / '4' (config edited: same params shape)."""
    r4 = tmp_path / "r4"
    shutil.copytree(run01, r4)
    cfg = json.loads((r4 / "config.json").read_text())
    (r4 / "config.json").write_text(json.dumps(cfg | {"task": "4vrest"}))
    assert main(["predict", str(r4), str(drawings[0]), "--explain", "--out", str(tmp_path / "maps")]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{drawings[0]}: '") and "p('4') = sigmoid(b0 + x . b)" in out
    assert (tmp_path / "maps" / "one.explain.png").stat().st_size > 5000
    res = predict_images(r4, [drawings[0]])[0]
    assert res["class_names"] == ["not 4", "4"] and res["label"] in ("not 4", "4")


def _fake_run(folder, **overrides):
    """A run folder with freshly initialised params (no training: the mechanics, not the accuracy)."""
    import jax

    from mlx.track.files import atomic_write_json, save_params
    from mlx.config import make_config
    from mlx.models import make_model
    from mlx.tasks import parse_task
    cfg = make_config({"data": "sample", "wandb": "disabled", **overrides})
    k = len(parse_task(cfg.task).class_names)
    model = make_model(cfg.model, d=784, k_out=1 if k == 2 else k, hidden=cfg.hidden)
    atomic_write_json(folder / "config.json", cfg.to_dict())
    save_params(folder / "params.msgpack", model.init(jax.random.PRNGKey(1)))
    atomic_write_json(folder / "summary.json", {"diverged": False, "data_source": "sample"})
    return folder


@pytest.mark.parametrize("task", ["digits", "4vrest"])
def test_mlp_gives_probabilities_and_a_gradient_x_input_map(drawings, tmp_path, task):
    from mlx.predict import _explain_weights, _logits, load_predictor
    run = _fake_run(tmp_path, model="mlp", hidden="16", task=task)
    res = predict_images(run, [drawings[0]], explain=True, out_dir=tmp_path / "maps")[0]
    k = 10 if task == "digits" else 2
    assert len(res["probabilities"]) == k and sum(res["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    assert (tmp_path / "maps" / "one.explain.png").stat().st_size > 5000
    pred = load_predictor(run)
    x = load_digit_image(drawings[0])
    z = _logits(pred, x[None])[0]
    c, r = res["class_index"], res["runner_up_index"]
    w, w0 = _explain_weights(pred, x, c, r)
    if task == "digits":
        assert res["class_names"] == [str(i) for i in range(10)] and "z" not in res
        assert "(softmax over 10 classes; next: '" in format_result(res)
        # the map's weights reproduce the explained logit difference: w0 + x . w = z_c - z_r
        assert w0 + (x / 255.0) @ w == pytest.approx(z[c] - z[r], abs=1e-4)
    else:
        assert res["class_names"] == ["not 4", "4"] and res["z"] == pytest.approx(z[0], abs=1e-5)
        assert f"p('4') = sigmoid(z) with the MLP's logit z = {res['z']:.4f}" in format_result(res)
        assert w0 + (x / 255.0) @ w == pytest.approx(z[0], abs=1e-4)
        # ReLU: the network is piecewise linear, so near x it is the logistic regression with
        # b = dz/dx: z(x) - z(0.999 x) = 0.001 x . dz/dx (float inputs pass through unscaled)
        x01 = (x / 255.0).astype(np.float32)
        z1, z2 = _logits(pred, np.stack([x01, 0.999 * x01]))[:, 0]
        assert (z1 - z2) / 0.001 == pytest.approx(x01 @ w, rel=2e-2, abs=1e-3)


# ----------------------------------------------------------------------------- bad input

def _png_claiming(size, path):
    """A tiny valid PNG whose IHDR claims size=(w, h) (CRC fixed): a decompression bomb's header."""
    import io
    buf = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buf, "PNG")
    b = bytearray(buf.getvalue())
    assert b[12:16] == b"IHDR"
    b[16:24] = struct.pack(">II", *size)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(b))
    return path


def _err(capsys, *argv):
    rc = main(["predict", *map(str, argv)])
    cap = capsys.readouterr()
    assert rc == 2, (cap.out, cap.err)
    assert cap.out == "", cap.out                  # fail fast: nothing printed for earlier images
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlx: error: "), cap.err
    return lines[0]


def test_device_or_fifo_image_is_refused_without_reading(run01, drawings, tmp_path, capsys):
    """/dev/zero was 'empty (0 bytes)'; a FIFO could block: both are named for what they are."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert _err(capsys, run01, drawings[0], fifo) == \
        f"mlx: error: image path is a FIFO (named pipe), not a regular file: {fifo}"
    assert _err(capsys, run01, "/dev/zero") == \
        "mlx: error: image path is a device or socket, not a regular file: /dev/zero"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.png"]  # no map written anywhere


def test_bad_images_are_one_line_each_and_fail_fast(run01, drawings, tmp_path, capsys):
    txt = tmp_path / "notes.png"
    txt.write_text("not a picture\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    bomb = _png_claiming((20000, 20000), tmp_path / "bomb.png")
    big = _png_claiming((7000, 7000), tmp_path / "big.png")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (60, 60), "white").save(blank)
    one = drawings[0]
    cases = [
        (txt, f"mlx: error: not an image Pillow can read: {txt}; allowed: PNG, JPEG, GIF, BMP, TIFF, WebP "
              f"and the other formats Pillow opens"),
        (empty, f"mlx: error: image file is empty (0 bytes): {empty}"),
        (bomb, f"mlx: error: image {bomb} is larger than 40 megapixels (refused before decoding: Pillow's "
               f"decompression-bomb check); shrink it first"),
        (big, f"mlx: error: image {big} is 7000x7000 = 49.0 megapixels; at most 40 are allowed (refused "
              f"before decoding); shrink it first"),
        (tmp_path / "nope.png", f"mlx: error: image file not found: {tmp_path / 'nope.png'}"),
        (blank, f"mlx: error: {blank}: image is blank: no ink differs from the background by 32 or more "
                f"of 255 grey levels (the most is 0); need a digit darker or lighter than its background"),
        (tmp_path, f"mlx: error: image path is a directory, not a file: {tmp_path}"),
    ]
    for bad, expected in cases:
        assert _err(capsys, run01, one, bad) == expected   # a good image first: still one line, no output
    # nothing was written for the good image either
    assert _err(capsys, run01, one, empty, "--explain", "--out", tmp_path / "maps") == cases[1][1]
    assert not (tmp_path / "maps").exists() and not (one.parent / "one.explain.png").exists()


def test_bad_image_through_the_real_cli(run01, tmp_path):
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    line = assert_usage_error(run_cli("predict", run01, empty), "empty")
    assert line == f"mlx: error: image file is empty (0 bytes): {empty}"


def test_bad_run_folders_and_arguments(run01, drawings, tmp_path, capsys):
    one = drawings[0]
    assert _err(capsys, tmp_path / "none", one) == f"mlx: error: run folder not found: {tmp_path / 'none'}"
    assert _err(capsys, tmp_path, one) == (f"mlx: error: {tmp_path} is not a finished run folder (needs "
                                           f"config.json and params.msgpack)")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run01, unfinished)
    (unfinished / "summary.json").unlink()
    assert _err(capsys, unfinished, one) == (f"mlx: error: {unfinished} is not a finished run folder (no "
                                             f"summary.json: training did not finish)")
    div = tmp_path / "div"
    shutil.copytree(run01, div)
    s = json.loads((div / "summary.json").read_text())
    (div / "summary.json").write_text(json.dumps(s | {"diverged": True}))
    assert _err(capsys, div, one) == (f"mlx: error: the run in {div} diverged during training, so its params "
                                      f"are not a usable model; train it again with a smaller lr")
    broken = tmp_path / "broken"
    shutil.copytree(run01, broken)
    (broken / "params.msgpack").write_bytes(b"\x00garbage")
    assert _err(capsys, broken, one).startswith(f"mlx: error: cannot read the run in {broken}: config.json or "
                                                f"params.msgpack is damaged (")
    assert _err(capsys, run01) == ("mlx: error: mlx predict needs a RUN_FOLDER and at least one IMAGE: "
                                   "mlx predict RUN_FOLDER IMAGE [IMAGE ...] [--explain] [--out DIR]")
    assert _err(capsys, run01, one, "--colour") == ("mlx: error: unknown option '--colour' for mlx predict; "
                                                    "allowed: --explain, --out DIR")
    assert _err(capsys, run01, one, "--out", tmp_path) == ("mlx: error: --out DIR is where --explain writes "
                                                           "its maps; add --explain or drop --out")


def test_csv_run_is_refused(drawings, tmp_path, capsys):
    from mlx.config import make_config
    from mlx.train_run import train_run
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,c,label\n" + "".join(f"{a:.3f},{b:.3f},{c:.3f},{int(a + b > 0)}\n" for a, b, c in x))
    train_run(make_config({"data": "csv", "path": str(csv), "task": "labels", "epochs": 1, "pictures": False,
                           "wandb": "disabled", "out": str(tmp_path), "name": "c"}), quiet=True)
    assert _err(capsys, tmp_path / "c", drawings[0]) == (
        f"mlx: error: the run in {tmp_path / 'c'} was trained on CSV data with 3 features, not on 28x28 digit "
        f"images; mlx predict classifies images only with a run trained on MNIST-style data")

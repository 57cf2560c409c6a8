"""``mlx predict RUN_FOLDER IMAGE... [--explain] [--out DIR]``: classify your own digit pictures.

    results = predict_images("runs/logreg-0v1-s0-1a2b3c4d", ["one.png", "zero.jpg"])
    results[0]["label"], results[0]["probability"]        # ('1', 0.998)

Each image (PNG, JPEG, anything Pillow opens, any size, dark ink on light paper or the reverse)
becomes an MNIST-style row with :func:`mlx.data.own_image.load_digit_image`, and the run's saved model
(:func:`mlx.track.files.load_run`) scores it. One line per image is printed: the file, the predicted
class name (for binary tasks the task's names: ``'0'``/``'1'`` for 0v1, ``'not 4'``/``'4'`` for
4vrest) and its probability. For a binary task the line also writes out the article's formula,
``p('1') = sigmoid(b0 + x . b)`` with b0, x . b and z = b0 + x . b as numbers (an MLP has no b0
and b, so its line shows p = sigmoid(z) with z the network's logit).

``--explain`` writes ``<image stem>.explain.png`` beside each image (or into ``--out DIR``):

* logreg, binary task: :func:`mlx.viz.diagnostics.evidence_maps`, the map x * b (red pushes towards
  the positive class) with z and p written on it. The map's pixels sum to z - b0 exactly.
* logreg, K classes: the same map for the predicted class c against the runner-up r,
  x * (b_c - b_r), with z = z_c - z_r and p = sigmoid(z) = p_c / (p_c + p_r).
* MLP: gradient x input, x * dz/dx at this image, drawn the same way with b0 := z - sum(x * dz/dx),
  so the z and p written on the map are the network's own (z: the binary logit, or z_c - z_r for
  K classes). A ReLU network is piecewise linear, so near x it *is* a logistic regression with
  weights dz/dx; the map is that local model's evidence x * b (exact for ReLU, a first-order
  approximation for tanh and gelu).

Bad input is one line ``mlx: error: ...`` and exit status 2: a folder that is not a finished run,
a diverged run, a run trained on data that are not 28x28 images (CSV runs), a missing, empty,
unreadable, blank or huge image. Every image is read before anything is printed, so with several
images the first bad one stops the command (fail fast, naming the file) and nothing else is
printed or written.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from mlx.errors import UsageError

USAGE = ("usage: mlx predict RUN_FOLDER IMAGE [IMAGE ...] [--explain] [--out DIR]\n\n"
         "  RUN_FOLDER   a finished `mlx train` run folder (config.json, params.msgpack, summary.json)\n"
         "  IMAGE        PNG, JPEG, ... of one handwritten digit, any size, any background\n"
         "  --explain    also write <image stem>.explain.png: the evidence map of the decision\n"
         "               (logreg: x * b; MLP: gradient x input)\n"
         "  --out DIR    write the .explain.png files into DIR instead of beside each image\n"
         "\nAll images are read first; the first bad one stops the command (one line, exit 2).")

IMAGE_SHAPE = (28, 28)


class Predictor(NamedTuple):
    """A finished run's model, ready to score 28x28 images.

    k_out: 1 for a binary task (one logit z), else the number of classes.
    class_names: a name per class (binary: (negative, positive)).
    """

    folder: Path
    cfg: Any
    params: Any
    k_out: int
    class_names: tuple[str, ...]


# ----------------------------------------------------------------------------- loading

def _input_dim_and_k(cfg, params) -> tuple[int, int]:
    try:
        if cfg.model == "logreg":
            w = np.shape(params["b"])
            return int(w[0]), int(w[1])
        first, last = params["hidden_0"]["kernel"], params["out"]["kernel"]
        return int(np.shape(first)[0]), int(np.shape(last)[1])
    except (KeyError, TypeError, IndexError, ValueError):
        raise UsageError(f"the params in the run folder do not fit model={cfg.model}; "
                         f"the folder is damaged or from another version") from None


def load_predictor(run_folder: str | os.PathLike) -> Predictor:
    """The model of a finished run folder; raises UsageError (one line) for anything else."""
    from mlx.track.files import load_run
    from mlx.tasks import parse_task
    folder = Path(run_folder)
    shown = os.fspath(run_folder)
    if not folder.exists():
        raise UsageError(f"run folder not found: {shown}")
    if not folder.is_dir():
        raise UsageError(f"{shown} is a file, not a run folder; usage: mlx predict RUN_FOLDER IMAGE...")
    try:
        cfg, params = load_run(folder)
    except UsageError:
        raise
    except Exception as e:  # damaged config.json or params.msgpack (json, msgpack, flax errors)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UsageError(f"cannot read the run in {shown}: config.json or params.msgpack is damaged "
                         f"({type(e).__name__}: {first}); train it again") from None
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise UsageError(f"{shown} is not a finished run folder (no summary.json: training did not finish)")
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {summary_path} ({type(e).__name__}); the folder is damaged") from None
    if not isinstance(summary, dict):
        summary = {}
    if summary.get("diverged"):
        raise UsageError(f"the run in {shown} diverged during training, so its params are not a usable "
                         f"model; train it again with a smaller lr")
    d, k = _input_dim_and_k(cfg, params)
    if cfg.data == "csv" or summary.get("data_source") == "csv" or d != IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        raise UsageError(f"the run in {shown} was trained on {'CSV data' if cfg.data == 'csv' else 'data'} "
                         f"with {d} features, not on 28x28 digit images; mlx predict classifies images "
                         f"only with a run trained on MNIST-style data")
    names = parse_task(cfg.task).class_names
    k_classes = 2 if k == 1 else k
    if names is None or len(names) != k_classes:
        saved = summary.get("class_names")
        names = tuple(map(str, saved)) if isinstance(saved, list) and len(saved) == k_classes \
            else tuple(str(i) for i in range(k_classes))
    return Predictor(folder, cfg, params, k, tuple(names))


# ----------------------------------------------------------------------------- scoring

def _logits(pred: Predictor, x: np.ndarray) -> np.ndarray:
    """float64[n, k_out] logits of uint8[n, 784] images."""
    from types import SimpleNamespace

    from mlx.viz.run_figures import predict_logits
    return np.asarray(predict_logits(pred.cfg, SimpleNamespace(k_out=pred.k_out), pred.params, x),
                      dtype=np.float64)


def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))


def _explain_weights(pred: Predictor, x: np.ndarray, c: int, r: int) -> tuple[np.ndarray, float]:
    """(w float64[784], w0) such that the explained logit z = w0 + x01 . w (x01 = x / 255).

    Binary: z is the logit; K classes: z = z_c - z_r (predicted minus runner-up).
    logreg: w = b (or b_c - b_r) exactly. MLP: w = dz/dx at this image (gradient x input).
    """
    import jax
    import jax.numpy as jnp

    from mlx.models import make_model
    x01 = x.astype(np.float64) / 255.0
    p = jax.device_get(pred.params)
    if pred.cfg.model == "logreg":
        b, b0 = np.asarray(p["b"], np.float64), np.asarray(p["b0"], np.float64)
        if pred.k_out == 1:
            return b[:, 0], float(b0[0])
        return b[:, c] - b[:, r], float(b0[c] - b0[r])
    cfg = pred.cfg
    model = make_model(cfg.model, d=x.size, k_out=pred.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)

    def z_of(v):
        out = model.apply(p, v[None, :])[0]
        return out[0] if pred.k_out == 1 else out[c] - out[r]

    xv = jnp.asarray(x01, jnp.float32)
    z, g = jax.value_and_grad(z_of)(xv)
    g = np.asarray(g, np.float64)
    return g, float(z) - float(x01 @ g)


def _explain_png(pred: Predictor, x: np.ndarray, result: dict) -> bytes:
    from mlx.viz.common import figure_to_png_bytes
    from mlx.viz.diagnostics import evidence_maps
    c, r = result["class_index"], result["runner_up_index"]
    w, w0 = _explain_weights(pred, x, c, r)
    names = pred.class_names
    name = Path(result["path"]).name
    if pred.k_out == 1:
        pair = (names[0], names[1])
        what = "x * b" if pred.cfg.model == "logreg" else "gradient x input,\nx * dz/dx"
        title = (f"{name}: '{result['label']}', p('{names[1]}') = {result['p_positive']:.3f}\n"
                 f"evidence {what}")
    else:
        pair = (names[r], names[c])
        what = (f"x * (b_{names[c]} - b_{names[r]})" if pred.cfg.model == "logreg"
                else f"gradient x input,\nx * d(z_{names[c]} - z_{names[r]})/dx")
        title = (f"{name}: '{names[c]}' (p = {result['probability']:.3f})\nagainst runner-up "
                 f"'{names[r]}'\nevidence {what}")
    fig = evidence_maps(x[None, :].astype(np.float64) / 255.0, w, w0, n=1,
                        image_shape=IMAGE_SHAPE, class_names=pair, title=title)
    fig.axes[0].set_title("as the model sees it (28x28)", fontsize=9)
    panel = "x * b" if pred.cfg.model == "logreg" else "x * dz/dx"
    if pred.k_out != 1:
        panel += f"\nz = z_{names[c]} - z_{names[r]}, p = p_{names[c]} / (p_{names[c]} + p_{names[r]})"
    fig.axes[1].set_title(panel, fontsize=8)
    return figure_to_png_bytes(fig)


def explain_path(image: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """Where ``--explain`` writes the map of ``image``: <stem>.explain.png beside it or in out_dir."""
    image = Path(image)
    return (Path(out_dir) if out_dir is not None else image.parent) / f"{image.stem}.explain.png"


def predict_images(run_folder: str | os.PathLike, paths: Sequence[str | os.PathLike], *,
                   explain: bool = False, out_dir: str | os.PathLike | None = None) -> list[dict]:
    """Classify image files with a finished run's model; one dict per image, in order.

    Each dict: path, label (class name), class_index, probability (of that class),
    probabilities and class_names (one per class), runner_up (the next most likely class name).
    Binary tasks add positive_class, p_positive = sigmoid(z) and z (the logit); logreg also
    b0 and xb (x . b) with z = b0 + xb. With explain=True, 'explain' is the PNG written.
    All images are read first: the first bad one raises DataError naming it, nothing is written.
    """
    from mlx.data.own_image import load_digit_image
    paths = list(paths)
    if not paths:
        raise UsageError("no images given; usage: mlx predict RUN_FOLDER IMAGE [IMAGE ...]")
    pred = load_predictor(run_folder)
    targets = _explain_targets(paths, out_dir) if explain else []
    x = np.stack([load_digit_image(p, image_shape=IMAGE_SHAPE) for p in paths])  # uint8[n, 784]
    logits = _logits(pred, x)
    results = [_result(pred, os.fspath(path), logits[i]) for i, path in enumerate(paths)]
    if explain:
        _write_explanations(pred, x, results, targets, out_dir)
    return results


def _explain_targets(paths: list, out_dir) -> list[Path]:
    """The explanation PNG of each image; UsageError when --out is a file or two images would
    write the same file (checked before anything is read or written)."""
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UsageError(f"--out {os.fspath(out_dir)} is a file; it must be a folder")
    targets = [explain_path(p, out_dir) for p in paths]
    seen: dict[Path, str] = {}
    for p, t in zip(paths, targets):
        key = Path(os.path.abspath(t))
        if key in seen:
            raise UsageError(f"{os.fspath(p)} and {seen[key]} would both write {t}; "
                             f"rename one or give them separate runs")
        seen[key] = os.fspath(p)
    return targets


def _result(pred: Predictor, path: str, row: np.ndarray) -> dict:
    """One image's prediction from its logits row (see predict_images)."""
    names = pred.class_names
    res: dict = {"path": path}
    if pred.k_out == 1:
        z = float(row[0])
        p1 = _sigmoid(z)
        probs = [1.0 - p1, p1]
        res |= {"positive_class": names[1], "p_positive": p1, "z": z}
        if pred.cfg.model == "logreg":
            b0 = float(np.asarray(pred.params["b0"])[0])
            res |= {"b0": b0, "xb": z - b0}
    else:
        e = np.exp(row - row.max())
        probs = list(e / e.sum())
    order = np.argsort(-np.asarray(probs), kind="stable")
    c, r = int(order[0]), int(order[1])
    return res | {"label": names[c], "class_index": c, "probability": float(probs[c]),
                  "probabilities": [float(q) for q in probs], "class_names": list(names),
                  "runner_up": names[r], "runner_up_index": r}


def _write_explanations(pred: Predictor, x: np.ndarray, results: list[dict], targets: list, out_dir) -> None:
    from mlx.track.files import atomic_write_bytes
    if out_dir is not None:
        try:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create --out folder {os.fspath(out_dir)}: {e.strerror or e}") from None
    for i, res in enumerate(results):
        try:
            res["explain"] = os.fspath(atomic_write_bytes(targets[i], _explain_png(pred, x[i], res)))
        except OSError as e:
            raise UsageError(f"cannot write {targets[i]}: {e.strerror or e}; use --out DIR") from None


def format_result(res: dict) -> str:
    """The one line ``mlx predict`` prints for a result of :func:`predict_images`."""
    line = f"{res['path']}: '{res['label']}' with probability {res['probability']:.4f}"
    if "z" in res:
        pos = res["positive_class"]
        if "b0" in res:
            line += (f"; p('{pos}') = sigmoid(b0 + x . b) = sigmoid({res['b0']:.4f} + {res['xb']:.4f}) "
                     f"= sigmoid(z = {res['z']:.4f}) = {res['p_positive']:.4f}")
        else:
            line += f"; p('{pos}') = sigmoid(z) with the MLP's logit z = {res['z']:.4f}: {res['p_positive']:.4f}"
    else:
        probs = res["probabilities"]
        top = np.argsort(-np.asarray(probs), kind="stable")[1:3]
        k = len(probs)
        line += f" (softmax over {k} classes; next: " + ", ".join(
            f"'{res['class_names'][int(j)]}' {probs[int(j)]:.4f}" for j in top) + ")"
    if "explain" in res:
        line += f"; evidence map: {res['explain']}"
    return line



# ----------------------------------------------------------------------------- CLI

def parse_argv(argv: list[str]) -> tuple[str, list[str], bool, str | None]:
    """(run folder, images, explain, out dir) from ``mlx predict`` arguments."""
    pos: list[str] = []
    explain, out = False, None
    i, only_pos = 0, False
    while i < len(argv):
        a, i = argv[i], i + 1
        if only_pos or not a.startswith("--") or a == "-":
            pos.append(a)
        elif a == "--":
            only_pos = True
        elif a == "--explain":
            explain = True
        elif a == "--out" or a.startswith("--out="):
            if a == "--out":
                if i >= len(argv):
                    raise UsageError("--out needs a folder: --out DIR")
                out, i = argv[i], i + 1
            else:
                out = a.split("=", 1)[1]
            if not out:
                raise UsageError("--out needs a folder: --out DIR")
        else:
            raise UsageError(f"unknown option {a!r} for mlx predict; allowed: --explain, --out DIR")
    if len(pos) < 2:
        raise UsageError("mlx predict needs a RUN_FOLDER and at least one IMAGE: "
                         "mlx predict RUN_FOLDER IMAGE [IMAGE ...] [--explain] [--out DIR]")
    if out is not None and not explain:
        raise UsageError("--out DIR is where --explain writes its maps; add --explain or drop --out")
    return pos[0], pos[1:], explain, out


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    folder, images, explain, out = parse_argv(list(argv))
    results = predict_images(folder, images, explain=explain, out_dir=out)
    for res in results:
        print(format_result(res))
    sys.stdout.flush()
    return 0

"""python experiments/four_styles.py [data_dir=../shared/data/mnist] [styles=K] [out=runs/four_styles]

The styles of a 4: cluster the training 4s into k styles (k-means on principal components, k
from 2-6 by silhouette unless styles= is given), then train logistic regression and the MLP on
4vrest and measure, for each style, how many test 4s of that style each model finds (recall).
One linear filter has to cover every way of writing a 4; the MLP's hidden units need not.
Writes styles.png, style_recall.png, styles.md and styles.json under out=.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mlx.track.files import atomic_write_bytes, atomic_write_json
from mlx.config import make_config, split_overrides
from mlx.data.idx import shared_mnist_dir
from mlx.data.sources import load_dataset
from mlx.viz.run_figures import predict_logits
from mlx.styles import assign_styles, cluster_styles, style_recall
from mlx.sweep.tables import save_figure
from mlx.tasks import apply_task
from mlx.viz.common import CAPTIONS
from mlx.viz.style_figures import style_recall_figure, style_recall_table, styles_figure
from mlx.train import fit

MODELS = {"logreg": dict(lr=3e-3, epochs=10), "mlp": dict(lr=1e-3, epochs=5)}


def main(argv: list[str]) -> int:
    opts = split_overrides(argv)
    default = shared_mnist_dir()
    data_dir = opts.get("data_dir", str(default) if default else "")
    out = Path(opts.get("out", "runs/four_styles"))
    k = int(opts["styles"]) if "styles" in opts else None
    ds = load_dataset("idx" if data_dir else "auto", data_dir=data_dir or None)
    td = apply_task("4vrest", ds)
    print(f"data: {ds.describe()}")
    fours = td.x_train[td.y_train == 1].astype(np.float32) / 255.0
    cl = cluster_styles(fours, k=k, seed=0)
    sil = ", ".join(f"k={kk}: {v:.3f}" for kk, v in sorted(cl.silhouette.items()))
    print(f"{len(fours)} training 4s -> {cl.k} styles (silhouette {sil})")
    test4 = td.y_test == 1
    styles = assign_styles(td.x_test[test4].astype(np.float32) / 255.0, cl.means)
    counts = np.bincount(styles, minlength=cl.k)
    recalls, accs = {}, {}
    for model, kw in MODELS.items():
        cfg = make_config({"model": model, "task": "4vrest", "optimizer": "adam", **kw})
        params, m, _ = fit(cfg, td)
        pred = predict_logits(cfg, td, params, td.x_test)[:, 0] > 0
        recalls[model] = style_recall(styles, pred[test4], cl.k)
        accs[model] = float(m["test_accuracy"][-1])
        print(f"{model}: test accuracy {accs[model]:.4f}, recall of 4s {pred[test4].mean():.4f}")
    table = style_recall_table(recalls, counts)
    print(table)
    save_figure(styles_figure(fours, cl), out / "styles.png")
    save_figure(style_recall_figure(recalls, counts, means=cl.means), out / "style_recall.png")
    atomic_write_bytes(out / "styles.md", (table + "\n").encode())
    atomic_write_json(out / "pictures.json", {"styles.png": CAPTIONS["styles"],
                                                    "style_recall.png": CAPTIONS["style_recall"]})
    atomic_write_json(out / "styles.json", {
        "k": cl.k, "silhouette": cl.silhouette, "test_fours_per_style": counts,
        "recall": recalls, "test_accuracy": accs, "data": ds.describe(), "settings": MODELS})
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""python experiments/accuracy_table.py [data_dir=../shared/data/mnist] [out=runs/accuracy_table]

The accuracy table of the README: logistic regression on 0v1, 4vrest, 4v9 and digits, and the
MLP (784-256-10) on digits and 4vrest, trained on full MNIST with the settings below, next to the
targets and the scikit-learn / PyTorch references measured on the same split.
"""
from __future__ import annotations

import sys
from pathlib import Path

from mlx.track.files import atomic_write_bytes, atomic_write_json
from mlx.track.provenance import machine, versions
from mlx.config import make_config, split_overrides
from mlx.data.idx import shared_mnist_dir
from mlx.data.sources import load_dataset
from mlx.tasks import apply_task
from mlx.train import fit

# (model, task, settings, target, reference: scikit-learn LogisticRegression / PyTorch MLP)
ROWS = [
    ("logreg", "0v1", dict(lr=3e-3, epochs=10), 0.999, 0.9995),
    ("logreg", "4vrest", dict(lr=3e-3, epochs=10), 0.982, 0.9835),
    ("logreg", "4v9", dict(lr=3e-3, epochs=10), 0.970, 0.9719),
    ("logreg", "digits", dict(lr=3e-3, epochs=10), 0.920, 0.9256),
    ("mlp", "digits", dict(lr=1e-3, epochs=5), 0.975, 0.9755),
    ("mlp", "4vrest", dict(lr=1e-3, epochs=5), 0.994, None),
]
COMMON = dict(optimizer="adam", batch_size=128, schedule="constant", seed=0)


def main(argv: list[str]) -> int:
    opts = split_overrides(argv)
    default = shared_mnist_dir()
    data_dir = opts.get("data_dir", str(default) if default else "")
    out = Path(opts.get("out", "runs/accuracy_table"))
    ds = load_dataset("idx" if data_dir else "auto", data_dir=data_dir or None)
    import jax
    head = f"data: {ds.describe()}; machine: {machine()}; jax {jax.__version__} ({jax.default_backend()})"
    print(head)
    lines = ["| model | task | settings | test accuracy | target | reference | train s | compile s |",
             "|---|---|---|---|---|---|---|---|"]
    rows = []
    for model, task, kw, target, ref in ROWS:
        cfg = make_config({"model": model, "task": task, **COMMON, **kw})
        _, m, secs = fit(cfg, apply_task(task, ds))
        acc = float(m["test_accuracy"][-1])
        ok = "yes" if acc >= target else "NO"
        settings = f"adam lr={cfg.lr:g}, {cfg.epochs} epochs, batch {cfg.batch_size}"
        lines.append(f"| {model} | {task} | {settings} | {acc:.4f} | >= {target} ({ok}) | "
                     f"{'' if ref is None else ref} | {secs['train_seconds']:.2f} | {secs['compile_seconds']:.2f} |")
        rows.append({"model": model, "task": task, **kw, "test_accuracy": acc, "target": target,
                     "met": acc >= target, **secs})
        print(lines[-1], flush=True)
    table = head + "\n\n" + "\n".join(lines) + "\n"
    print("\n" + table)
    atomic_write_bytes(out / "table.md", table.encode())
    atomic_write_json(out / "table.json", {"rows": rows, "data": ds.describe(),
                                                 "versions": versions()})
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

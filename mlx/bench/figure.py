"""The benchmark's figure, bench.png: the scaling curve against the baselines, the main
task's sweep by method, and the engine against its yardstick and end to end."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mlx.bench.options import TIMING_METHODS


def draw(result: dict, path: Path) -> None:
    """bench.png: three panels side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.8))
    draw_scaling(ax1, result)
    draw_methods(ax2, result)
    draw_yardsticks(ax3, result)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_scaling(ax, result: dict) -> None:
    """The scaling curve of each model, with its sequential baselines as horizontal lines."""
    import matplotlib.ticker
    sc = result.get("scaling") or {"models": {}}
    for (model, m), color in zip(sc["models"].items(), ("tab:blue", "tab:orange")):
        pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
        if pts:
            ax.plot([p["configs"] for p in pts], [p["seconds_per_config_epoch"] * 1e3 for p in pts],
                    "o-", color=color, label=f"{model} (engine, one program)")
        sweep = result["sweeps"][result["main_task"]]["models"].get(model)
        for name, ls in (("torch", ":"), ("step", "-.")):
            if sweep and name in sweep["methods"]:
                ax.axhline(sweep["methods"][name]["seconds_per_config_epoch"] * 1e3, color=color,
                           ls=ls, lw=1, label=f"{model} {name} (sequential)")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(yscale="log", xlabel="configs per program",
           ylabel="ms per config-epoch", title=f"scaling ({sc.get('task', '')}, 1 epoch)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="best")


def draw_methods(ax, result: dict) -> None:
    """The main task's sweep: seconds per config-epoch of each timing method, a bar per model."""
    main = result["sweeps"][result["main_task"]]["models"]
    names = [n for n in TIMING_METHODS if any(n in m["methods"] for m in main.values())]
    w = 0.8 / max(len(main), 1)
    for j, (model, m) in enumerate(main.items()):
        vals = [m["methods"][n]["seconds_per_config_epoch"] if n in m["methods"] else np.nan for n in names]
        bars = ax.bar(np.arange(len(names)) + j * w, vals, w, label=model)
        ax.bar_label(bars, [f"{v * 1e3:.4g} ms" if np.isfinite(v) else "" for v in vals], fontsize=7)
    ax.set_xticks(np.arange(len(names)) + w * (len(main) - 1) / 2, names)
    ax.set(yscale="log", ylabel="seconds per config-epoch (baselines extrapolated)",
           title=f"{result['main_task']} sweep by method ({result['machine']['device_kind']})")
    ax.legend()


def draw_yardsticks(ax, result: dict) -> None:
    """Configs per second: the engine against the shared-gather reference, mlx sweep end to end
    against the engine, and W&B offline against W&B's floor."""
    bars, labels = [], []
    ref = result.get("reference")
    if ref:
        n = ref["configs"]
        bars += [n / ref["reference"]["seconds"], n / ref["engine"]["seconds"]]
        labels += ["shared-gather\nreference", "engine\n(same grid)"]
    e2e = result.get("e2e") or {}
    if "disabled" in e2e:
        bars += [e2e["engine"]["configs_per_second"], e2e["disabled"]["configs_per_second"]]
        labels += ["engine\n(sweep file)", "mlx sweep\nwandb=disabled"]
    if "wandb_offline" in e2e:
        bars += [e2e["wandb_floor"]["runs_per_second"], e2e["wandb_offline"]["configs_per_second"]]
        labels += ["W&B floor\n(bare runs)", "mlx sweep\nW&B offline"]
    if bars:
        b = ax.bar(np.arange(len(bars)), bars, color=["tab:gray", "tab:blue", "tab:blue", "tab:green",
                                                      "tab:gray", "tab:green"][:len(bars)])
        ax.bar_label(b, [f"{v:.4g}" for v in bars], fontsize=7)
        ax.set_xticks(np.arange(len(bars)), labels, fontsize=7)
    ax.set(yscale="log", ylabel="configs (or W&B runs) per second", title="engine, yardstick and end to end")

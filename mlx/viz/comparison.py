"""The sweep's comparison figures: test accuracy against learning rate (from the mean and
spread over seeds that :func:`mlx.sweep.tables.seed_cells` computes), and the learning curves
of the best configs. Each model has a colour family, each epoch budget a shade of it.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, MaxNLocator

from mlx.errors import UsageError
from mlx.viz.common import budget_colour


def comparison_figure(cells: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """Test accuracy against learning rate for a sweep: one panel per task.

    cells: :func:`mlx.sweep.tables.seed_cells` of the sweep's rows for test_accuracy, one per
    model x task x epochs x lr (keys model, task, epochs, lr, mean, std, min, seeds, failed),
    in the order the sweep first has them (the order of the panels, colours and legend). One
    line per (model, epochs): the mean over the seeds that did not diverge, error bars = std
    over those seeds. Each model has its own colour family and each epoch budget a shade, light
    (few) to dark (many). Each run that diverged or has a non-finite accuracy (a cell's failed)
    is an 'x' at the bottom of its panel.
    """
    cells = [c for c in cells if c["lr"] > 0]
    tasks = list(dict.fromkeys(str(c["task"]) for c in cells)) or ["(no runs)"]
    models = list(dict.fromkeys(str(c["model"]) for c in cells))
    budgets = {m: sorted({int(c["epochs"]) for c in cells if str(c["model"]) == m}) for m in models}
    ncols = min(len(tasks), 3)
    nrows = math.ceil(len(tasks) / ncols)
    fig = Figure(figsize=(5.2 * ncols + 2.6, 4.3 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    lows = [c["min"] for c in cells if c["seeds"]]
    lo = min(lows) if lows else 0.0
    ylo = max(0.0, lo - 0.08 * max(1.0 - lo, 0.02) - 0.02)
    handles: list = []
    any_diverged = False
    for ti, task in enumerate(tasks):
        task_cells = [c for c in cells if str(c["task"]) == task]
        any_diverged |= _accuracy_panel(axes.flat[ti], task, task_cells, models, budgets, handles)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_axis_off()
    axes.flat[0].set_ylim(ylo, 1.005)
    if any_diverged:
        handles.append(Line2D([], [], color="dimgrey", marker="x", ls="", ms=7, mew=1.8,
                              label="diverged / NaN run"))
    if handles:
        fig.legend(handles=handles, loc="outside right center", fontsize=8, title="model, budget",
                   title_fontsize=8)
    fig.suptitle(title or "Test accuracy against learning rate (mean over seeds, bars = std)")
    return fig


def _accuracy_panel(ax, task: str, cells: list, models: list, budgets: dict, handles: list) -> bool:
    """One task's panel of :func:`comparison_figure`: a line per (model, epochs) with error bars,
    an 'x' per failed run; adds each line's legend entry to handles once. True when a run failed."""
    any_failed = False
    labels = {h.get_label() for h in handles}
    for model in models:
        for ep in budgets[model]:
            sel = [c for c in cells if str(c["model"]) == model and int(c["epochs"]) == ep]
            if not sel:
                continue
            colour = budget_colour(models, budgets, model, ep)
            ok = sorted((c for c in sel if c["seeds"]), key=lambda c: c["lr"])
            if ok:
                ax.errorbar([c["lr"] for c in ok], [c["mean"] for c in ok], yerr=[c["std"] for c in ok],
                            color=colour, marker="o", ms=4, lw=1.6, capsize=3)
                label = f"{model}, {ep} epochs"
                if label not in labels:
                    labels.add(label)
                    handles.append(Line2D([], [], color=colour, marker="o", lw=1.6, label=label))
            failed = [c["lr"] for c in sel for _ in range(c["failed"])]
            if failed:
                any_failed = True
                ax.scatter(failed, [0.03] * len(failed), marker="x", s=40, color=colour, linewidths=1.8,
                           transform=ax.get_xaxis_transform(), clip_on=False, zorder=5)
    ax.set_xscale("log")
    if cells:  # the failed marks use an axes transform: keep their lrs in view
        ax.set_xlim(min(c["lr"] for c in cells) / 2, max(c["lr"] for c in cells) * 2)
    ax.set_title(f"task: {task}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3, which="both")
    if not cells:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
    return any_failed


class _PlainLog(LogFormatter):
    """Log-axis tick labels as plain numbers (0.06, 0.1, 0.3): matplotlib's default writes
    10^k in mathtext, whose layout was a third of the learning curves' drawing."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:.3g}"


def learning_curves_figure(curves: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """Test accuracy (top row) and test loss (bottom row, log scale) per epoch: a column per task.

    curves: list of dicts with keys model, task, epochs (the budget, int), test_accuracy and
    test_loss (float[E], one value per epoch trained) and optionally label (legend text). One
    line per curve; each model has its own colour family and each budget a shade, light (few
    epochs) to dark (many), as in :func:`comparison_figure`. Non-finite values are left out.
    """
    curves = [c for c in curves if len(c.get("test_accuracy") or []) > 0]
    if not curves:
        raise UsageError("learning_curves_figure needs at least one curve with test_accuracy")
    tasks = list(dict.fromkeys(str(c["task"]) for c in curves))
    models = list(dict.fromkeys(str(c["model"]) for c in curves))
    budgets = {m: sorted({int(c["epochs"]) for c in curves if str(c["model"]) == m}) for m in models}

    fig = Figure(figsize=(4.8 * len(tasks) + 0.9, 6.6))
    w, h = fig.get_size_inches()  # a fixed layout (inches): constrained layout was a third of the drawing
    fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, bottom=0.55 / h, top=1 - 0.75 / h,
                        wspace=0.9 / 4.0, hspace=0.35 / 2.65)
    axes = fig.subplots(2, len(tasks), squeeze=False, sharex="col")
    for ti, task in enumerate(tasks):
        acc_ax, loss_ax = axes[0, ti], axes[1, ti]
        for c in curves:
            if str(c["task"]) != task:
                continue
            col = budget_colour(models, budgets, str(c["model"]), int(c["epochs"]))
            label = str(c.get("label") or f"{c['model']}, {c['epochs']} epochs")
            for ax, key in ((acc_ax, "test_accuracy"), (loss_ax, "test_loss")):
                v = np.asarray(c.get(key) or [], dtype=np.float64).reshape(-1)
                x = np.arange(1, v.size + 1)
                ok = np.isfinite(v) & ((v > 0) if key == "test_loss" else True)
                if ok.any():
                    ax.plot(x[ok], v[ok], color=col, marker="o", ms=3 if v.size > 1 else 6, lw=1.6,
                            label=label if ax is acc_ax else None)
        acc_ax.set_title(f"task: {task}")
        acc_ax.set_ylabel("test accuracy")
        lo, hi = acc_ax.get_ylim()
        if hi > 1.0:  # accuracy never passes 1: no empty band above it
            acc_ax.set_ylim(lo, min(hi, 1.0 + 0.04 * (1.0 - lo)) if lo < 1.0 else 1.005)
        loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        loss_ax.set_ylabel("test loss (log scale)")
        loss_ax.set_xlabel("epoch")
        if any(ln.get_ydata().size for ln in loss_ax.get_lines()):
            loss_ax.set_yscale("log")  # plain tick labels: the default's mathtext is slow to lay out
            loss_ax.yaxis.set_major_formatter(_PlainLog())
            loss_ax.yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        for ax in (acc_ax, loss_ax):
            ax.grid(alpha=0.3, which="both")
        acc_ax.legend(fontsize=7, loc="lower right", framealpha=0.85)
    fig.suptitle(title or "Learning curves of the best config per model, task and epoch budget")
    return fig

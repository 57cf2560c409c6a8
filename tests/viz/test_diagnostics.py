"""mlx.viz.diagnostics: evidence maps, the logit histogram, ROC / PR curves and the confusion matrix render."""
from __future__ import annotations

import numpy as np
import pytest

from _figure_data import check_renders
from _figure_data import data, one_blas_thread, prepared  # noqa: F401 (fixtures)
from mlx.viz import diagnostics

def _builders(data, prepared):
    x, y, b, b0 = data
    return {
        "evidence": lambda: diagnostics.evidence_maps(x[:6], b, b0, y=y[:6], n=4),
        "logit_histogram": lambda: diagnostics.logit_histogram(x @ b + b0, y),
        "roc_pr": lambda: diagnostics.roc_pr_curves(y, x @ b + b0 + prepared["noise"]),
        "confusion_matrix": lambda: diagnostics.confusion_matrix_figure(y, (x @ b + b0 > 0).astype(int),
                                                                        class_names=["0", "1"]),
    }


@pytest.mark.parametrize("name", ["evidence", "logit_histogram", "roc_pr", "confusion_matrix"])
def test_figure_renders_non_blank_png(name, data, prepared):
    check_renders(_builders(data, prepared)[name]())

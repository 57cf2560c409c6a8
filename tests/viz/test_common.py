"""mlx.viz.common: PNG bytes are deterministic and of the figure's size, every standard picture has a
one-line caption, and the helpers every figure shares keep their conventions."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from _figure_data import data, one_blas_thread  # noqa: F401 (fixtures)
from mlx.errors import UsageError
from mlx.viz import common
from mlx.viz.diagnostics import logit_histogram


def test_rendering_is_deterministic(data):
    x, y, b, b0 = data
    a = common.figure_to_png_bytes(logit_histogram(x @ b + b0, y), dpi=50)
    again = common.figure_to_png_bytes(logit_histogram(x @ b + b0, y), dpi=50)
    assert a == again
    fig = logit_histogram(x @ b + b0, y)
    w, h = (int(round(v)) for v in fig.get_size_inches() * 50)
    assert Image.open(io.BytesIO(common.figure_to_png_bytes(fig, dpi=50))).size == (w, h)


def test_captions_cover_standard_pictures():
    for name in ("filter", "filter_strip", "mlp_filters", "evidence", "decision_boundary",
                 "decision_boundary_2d", "logit_histogram", "roc_pr", "confusion_matrix", "styles",
                 "style_recall", "comparison", "best_filters"):
        assert common.CAPTIONS[name] and "\n" not in common.CAPTIONS[name]


def test_shared_helpers():
    assert common.symmetric_limit(np.array([0.5, -2.0, np.nan])) == 2.0
    assert common.symmetric_limit(np.zeros(3)) == 1.0
    assert common.to_image(np.arange(6), None).shape == (1, 6)
    with pytest.raises(UsageError):
        common.to_image(np.arange(6), (2, 2))
    assert common.panel_grid(10) == (2, 5) and common.panel_grid(16) == (4, 4)
    assert list(common.evenly_spaced(10, 4)) == [0, 3, 6, 9]
    budgets = {"logreg": [2, 8], "mlp": [4]}
    light, dark = (common.budget_colour(["logreg", "mlp"], budgets, "logreg", e) for e in (2, 8))
    assert sum(dark[:3]) < sum(light[:3])  # more epochs: a darker shade of the model's family

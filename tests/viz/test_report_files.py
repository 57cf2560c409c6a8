"""mlx.viz.report_files: picture sizes come from Pillow (the header only), the sweep's pictures go to
their sections, captions are found from pictures.json up to the report folder."""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from mlx.viz.report_files import Captions, _png_size, sweep_section_of


def _png_bytes(w: int, h: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_size_from_the_header():
    data = _png_bytes(123, 45)
    assert _png_size(data) == (123, 45)
    i = data.index(b"IDAT") + 4
    garbled = data[:i] + bytes(len(data) - i - 12) + data[-12:]
    assert _png_size(garbled) == (123, 45)  # the header is enough: no pixels decoded
    assert _png_size(b"\x89PNG\r\n\x1a\nnot a header") is None
    assert _png_size(b"GIF89a") is None


def test_sweep_sections_longest_prefix():
    assert sweep_section_of("decision_boundary_2d_mlp-0v1")[:2] == (2, "mlp-0v1")
    assert sweep_section_of("decision_boundary_mlp-0v1")[:2] == (2, "mlp-0v1")
    assert sweep_section_of("comparison")[0] == 0
    assert sweep_section_of("zz_extra")[0] == 5


def test_captions_nearest_pictures_json(tmp_path):
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "pictures.json").write_text(json.dumps({"runs/r1/filter.png": "from the top"}))
    warnings: list[str] = []
    captions = Captions(tmp_path, warnings)
    assert captions(tmp_path / "runs" / "r1" / "filter.png") == "from the top"
    (tmp_path / "runs" / "r1" / "pictures.json").write_text(json.dumps({"filter": "nearest"}))
    assert Captions(tmp_path, warnings)(tmp_path / "runs" / "r1" / "filter.png") == "nearest"
    assert Captions(tmp_path, warnings)(tmp_path / "roc_pr.png").startswith("ROC and precision-recall")
    assert warnings == []

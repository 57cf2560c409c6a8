"""mlx.bench.figure: bench.png of the quick run is not blank."""
import numpy as np


def test_png_has_lines_bars_and_text(quick):
    _, _, _, out = quick
    from PIL import Image
    img = np.asarray(Image.open(out / "bench.png").convert("L"), np.float32)
    assert img.shape[0] > 200 and img.shape[1] > 600
    assert img.std() > 5 and (img < 128).mean() > 0.005  # not blank: lines, bars, text

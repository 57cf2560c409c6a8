"""mlx.data.own_image: any picture of a digit becomes an MNIST-style uint8[784] row; bad files give one-line DataErrors."""
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mlx.errors import DataError
from mlx.data.own_image import MAX_PIXELS, load_digit_image, preprocess_array

try:
    from scipy.ndimage import center_of_mass
except ImportError:  # scipy is optional
    def center_of_mass(a):
        a = np.asarray(a, dtype=np.float64)
        rows, cols = np.indices(a.shape)
        return (rows * a).sum() / a.sum(), (cols * a).sum() / a.sum()


def draw_one(bg="white", ink="black", size=(300, 400)):
    """A '1': a thick vertical bar, off-centre, in a large RGB image (width 300, height 400)."""
    img = Image.new("RGB", size, bg)
    ImageDraw.Draw(img).rectangle((60, 50, 100, 330), fill=ink)
    return img


def draw_zero(bg="white", ink="black"):
    """A '0': a thick ring (ellipse outline 30 px wide), off-centre."""
    img = Image.new("RGB", (300, 400), bg)
    ImageDraw.Draw(img).ellipse((100, 80, 280, 360), outline=ink, width=30)
    return img


def save(img, tmp_path, name="digit.png", **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def bbox(out, level=0):
    rows, cols = np.flatnonzero((out > level).any(axis=1)), np.flatnonzero((out > level).any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def check_mnist_like(x):
    assert x.shape == (784,) and x.dtype == np.uint8
    out = x.reshape(28, 28)
    assert out.max() == 255
    edge = np.concatenate([out[:3].ravel(), out[-3:].ravel(), out[:, :3].ravel(), out[:, -3:].ravel()])
    assert edge.max() <= 10  # background ~0 all round
    r0, r1, c0, c1 = bbox(out)
    assert r1 - r0 + 1 <= 20 and c1 - c0 + 1 <= 20
    cy, cx = center_of_mass(out.astype(np.float64))
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    return out


def test_one_is_a_tall_thin_bar(tmp_path):
    out = check_mnist_like(load_digit_image(save(draw_one(), tmp_path)))
    r0, r1, c0, c1 = bbox(out, level=64)
    assert r1 - r0 + 1 >= 18 and c1 - c0 + 1 <= 5


def test_zero_is_a_ring_with_a_hole(tmp_path):
    out = check_mnist_like(load_digit_image(save(draw_zero(), tmp_path, "zero.jpg", quality=85)))
    r0, r1, c0, c1 = bbox(out, level=64)
    assert r1 - r0 + 1 == 20 and 10 <= c1 - c0 + 1 <= 15  # 280 x 180 ellipse scaled to 20 x 13
    assert out[12:17, 12:17].max() <= 10  # the hole in the middle is dark
    assert out[14, c0:c0 + 3].max() >= 128 and out[r0:r0 + 3, 14].max() >= 128  # the ring is bright


def test_dark_background_not_inverted(tmp_path):
    light = load_digit_image(save(draw_one(), tmp_path, "light.png"))
    dark = load_digit_image(save(draw_one(bg="black", ink="white"), tmp_path, "dark.png"))
    check_mnist_like(dark)
    assert np.abs(light.astype(int) - dark.astype(int)).max() <= 2


def test_coloured_transparent_and_16bit_inputs(tmp_path):
    reference = load_digit_image(save(draw_one(), tmp_path, "ref.png"))
    # Blue ink on a pale yellow background.
    coloured = load_digit_image(save(draw_one(bg=(250, 240, 200), ink=(20, 30, 160)), tmp_path, "col.png"))
    assert np.abs(coloured.astype(int) - reference).max() <= 2
    # A canvas export: black strokes on a fully transparent (black, alpha 0) background.
    rgba = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle((60, 50, 100, 330), fill=(0, 0, 0, 255))
    assert np.abs(load_digit_image(save(rgba, tmp_path, "canvas.png")).astype(int) - reference).max() <= 2
    # 16-bit greyscale.
    grey16 = (np.asarray(draw_one().convert("L"), dtype=np.uint16) * 257)
    x16 = load_digit_image(save(Image.fromarray(grey16), tmp_path, "g16.png"))
    assert np.abs(x16.astype(int) - reference).max() <= 2


def test_preprocess_array_matches_file_and_accepts_floats():
    img = draw_zero()
    from_rgb = preprocess_array(np.asarray(img))
    from_float = preprocess_array(np.asarray(img.convert("L"), dtype=np.float32) / 255.0)
    check_mnist_like(from_rgb)
    assert np.abs(from_rgb.astype(int) - from_float).max() <= 2
    # An MNIST-like input (light ink on black, already 28x28) keeps its shape.
    mnist_like = np.zeros((28, 28), np.uint8)
    mnist_like[4:24, 12:16] = 255
    check_mnist_like(preprocess_array(mnist_like))


@pytest.mark.parametrize("bad", [np.zeros((0, 5)), np.zeros((3, 3, 7)), np.zeros(5), np.array([["a"]]),
                                 np.full((4, 4), np.nan)])
def test_preprocess_array_bad_arrays(bad):
    with pytest.raises(DataError) as e:
        preprocess_array(bad)
    assert "\n" not in str(e.value)


def png_claiming(width, height) -> bytes:
    """A valid 1x1 PNG whose IHDR is patched to claim width x height (CRC fixed), so it costs nothing."""
    buf = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def error(path) -> str:
    with pytest.raises(DataError) as e:
        load_digit_image(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_file_errors(tmp_path):
    assert "not found" in error(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in error(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("this is not a picture\n")
    assert "not an image" in error(tmp_path / "notes.png")
    assert "directory" in error(tmp_path)


def test_huge_images_refused_before_decoding(tmp_path):
    side = int((MAX_PIXELS * 1.6) ** 0.5)  # over our limit, under Pillow's own warning (89 MP)
    (tmp_path / "big.png").write_bytes(png_claiming(side, side))
    assert "megapixels" in error(tmp_path / "big.png")
    (tmp_path / "bomb.png").write_bytes(png_claiming(20000, 20000))  # 400 MP: Pillow refuses to open it
    assert "megapixels" in error(tmp_path / "bomb.png")


def test_truncated_and_blank_images(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (120, 120, 3), dtype=np.uint8)
    data = (tmp_path / "full.png")
    Image.fromarray(noise).save(data)
    raw = data.read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    assert "corrupt or truncated" in error(tmp_path / "cut.png")
    (tmp_path / "cut.jpg").write_bytes(save(draw_zero(), tmp_path, "z.jpg").read_bytes()[:300])
    assert "corrupt or truncated" in error(tmp_path / "cut.jpg")
    assert "blank" in error(save(Image.new("RGB", (300, 400), "white"), tmp_path, "blank.png"))
    faint = Image.new("L", (300, 400), 200)
    ImageDraw.Draw(faint).rectangle((60, 50, 100, 330), fill=190)  # 10 levels of contrast: not ink
    assert "blank" in error(save(faint, tmp_path, "faint.png"))


HEADERS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP"]


@settings(max_examples=100, deadline=None)
@given(head=st.sampled_from(HEADERS), body=st.binary(max_size=200))
def test_any_bytes_give_row_or_data_error(tmp_path_factory, head, body):
    p = tmp_path_factory.getbasetemp() / "fuzz.img"
    p.write_bytes(head + body)
    try:
        x = load_digit_image(p)
    except DataError as e:
        assert "\n" not in str(e)
        return
    assert x.shape == (784,) and x.dtype == np.uint8

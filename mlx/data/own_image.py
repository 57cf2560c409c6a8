"""A picture of a digit (PNG, JPEG, anything Pillow opens) as an MNIST-style input row.

    x = load_digit_image("my_seven.jpg")      # uint8[784], ink 255 on black, like an MNIST row

The steps are those the MNIST documentation describes, plus the clean-up a photo or a drawing needs:

1. Greyscale: EXIF rotation applied, transparency composited over white (a canvas export with
   dark strokes on a transparent background reads as dark ink on white), 16-bit scaled to 0..255.
2. Invert when the background is light: the median of the border pixels (outer 2% on each side,
   at least one pixel) above 127.5 means dark ink on a light background.
3. Subtract the background level (that border median, after inverting) and stretch so the
   brightest ink is 255. Less than ``MIN_CONTRAST`` (32 of 255 levels) left means a blank image.
4. Ink = pixels at or above ``INK_FRACTION`` (25%) of the brightest; crop to the ink's bounding
   box; inside it, pixels below half that threshold (background noise) become 0.
5. Scale the box to fit 20x20 keeping its aspect ratio (Lanczos, which antialiases when shrinking).
6. Paste into 28x28 so that the centre of mass lands on pixel (14, 14) (row, column, in pixel
   index coordinates; the shift is rounded to whole pixels), moved no further than needed to keep
   the whole box inside the frame.
7. Stretch again so the brightest pixel is 255; uint8, flattened row-major.

For another ``image_shape`` (h, w) the box is round(20/28 h) x round(20/28 w) and the centre (h/2, w/2).
Every problem is one :class:`~mlx.errors.DataError` line; images over ``MAX_PIXELS`` are refused
from their header, before any pixel is decoded.
"""
from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mlx.errors import DataError

MAX_PIXELS = 40_000_000  # 40 megapixels: a 12 MP phone photo passes, a decompression bomb does not
MIN_CONTRAST = 32.0  # grey levels (of 255) between ink and background, below which the image is blank
INK_FRACTION = 0.25  # of the brightest ink: the threshold for the bounding box
BORDER_FRACTION = 0.02  # of each side: the border whose median is the background level
_BOX = 20 / 28  # MNIST: the digit fits 20x20 inside 28x28


def load_digit_image(path: str | os.PathLike, *, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Read an image file and return it as an MNIST-style row (steps in the module docstring).

    Returns: uint8[h * w] (784 for 28x28), row-major, ink bright (up to 255) on a 0 background.
    """
    _check_shape(image_shape)
    p = Path(path)
    shown = os.fspath(path)
    if not p.exists():
        raise DataError(f"image file not found: {shown}")
    if p.is_dir():
        raise DataError(f"image path is a directory, not a file: {shown}")
    try:
        st = p.stat()
    except OSError as e:
        raise DataError(f"cannot read image file {shown}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):  # a device or a FIFO: never opened (it could block or not end)
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise DataError(f"image path is {kind}, not a regular file: {shown}")
    if st.st_size == 0:
        raise DataError(f"image file is empty (0 bytes): {shown}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # e.g. corrupt EXIF: not fatal
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(p)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DataError(f"image {shown} is larger than {MAX_PIXELS / 1e6:g} megapixels (refused before "
                            f"decoding: Pillow's decompression-bomb check); shrink it first") from None
        except UnidentifiedImageError:
            raise DataError(f"not an image Pillow can read: {shown}; allowed: PNG, JPEG, GIF, BMP, TIFF, WebP and "
                            f"the other formats Pillow opens") from None
        except Exception as e:  # Pillow's format plugins raise many kinds for corrupt headers
            raise DataError(f"cannot open image {shown} (corrupt or truncated?): {_first_line(e)}") from None
        with img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise DataError(f"image {shown} is {w}x{h} = {w * h / 1e6:.1f} megapixels; at most "
                                f"{MAX_PIXELS / 1e6:g} are allowed (refused before decoding); shrink it first")
            try:
                img.load()
                try:
                    upright = ImageOps.exif_transpose(img)
                except Exception:  # unreadable EXIF: keep the pixels as stored
                    upright = img
                grey = _grey_array(upright)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise DataError(f"image {shown} decodes to more than {MAX_PIXELS / 1e6:g} megapixels") from None
            except Exception as e:  # truncated or corrupt data: OSError, SyntaxError, ValueError, zlib errors...
                raise DataError(f"cannot decode image {shown} (corrupt or truncated?): {_first_line(e)}") from None
    try:
        return _preprocess_grey(grey, image_shape)
    except DataError as e:
        raise DataError(f"{shown}: {e}") from None


def preprocess_array(img: np.ndarray, *, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """The same steps for an image already in memory.

    img: [h, w] greyscale, [h, w, 1], [h, w, 2] grey + alpha, [h, w, 3] RGB or [h, w, 4] RGBA.
         uint8 0..255; bool (True = 255); float in 0..1 when its maximum is at most 1, else 0..255;
         other integer types with values above 255 (16-bit) are scaled so 65535 (or the maximum) is 255.
    Returns: uint8[h_out * w_out] (784 for 28x28).
    """
    a = np.asarray(img)
    if a.size == 0 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4)):
        raise DataError(f"image array must be [h, w], [h, w, 1|2|3|4] and non-empty, got shape {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise DataError(f"image array is {a.shape[1]}x{a.shape[0]} = {a.shape[0] * a.shape[1] / 1e6:.1f} megapixels; "
                        f"at most {MAX_PIXELS / 1e6:g} are allowed")
    if a.dtype == bool:
        a = a.astype(np.float64) * 255.0
    elif not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise DataError(f"image array must hold numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise DataError("image array holds NaN or infinite values; allowed: finite numbers 0..255 (or 0..1)")
    top = a.max()
    if np.issubdtype(np.asarray(img).dtype, np.floating) and top <= 1.0:
        a = a * 255.0
    elif top > 255.0:
        a = a * (255.0 / (65535.0 if top <= 65535.0 else top))
    a = np.clip(a, 0.0, 255.0)
    if a.ndim == 3:
        if a.shape[2] in (2, 4):  # composite over white
            alpha = a[..., -1:] / 255.0
            a = a[..., :-1] * alpha + 255.0 * (1.0 - alpha)
        a = a[..., 0] if a.shape[2] == 1 else a @ np.array([0.299, 0.587, 0.114])
    return _preprocess_grey(a, image_shape)


def _grey_array(img: Image.Image) -> np.ndarray:
    """float64[h, w] greyscale 0..255 from any Pillow image (alpha composited over white)."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float64) / 257.0
    if mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float64)
        top = a.max() if a.size else 0.0
        return np.clip(a * (255.0 / (65535.0 if top <= 65535.0 else top)) if top > 255.0 else a, 0.0, 255.0)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float64)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return rgb @ np.array([0.299, 0.587, 0.114])
    if mode not in ("L", "1", "P", "RGB", "CMYK"):
        img = img.convert("RGB")
    return np.asarray(img.convert("L"), dtype=np.float64)


def _preprocess_grey(a: np.ndarray, image_shape) -> np.ndarray:
    """float64[h, w] greyscale 0..255 -> uint8[H * W] MNIST-style."""
    H, W = _check_shape(image_shape)
    h, w = a.shape
    b = max(1, int(round(min(h, w) * BORDER_FRACTION)))
    border = np.concatenate([a[:b].ravel(), a[-b:].ravel(), a[:, :b].ravel(), a[:, -b:].ravel()])
    if np.median(border) > 127.5:  # light background: dark ink
        a = 255.0 - a
        border = 255.0 - border
    ink = np.clip(a - np.median(border), 0.0, None)
    top = ink.max()
    if top < MIN_CONTRAST:
        raise DataError(f"image is blank: no ink differs from the background by {MIN_CONTRAST:g} or more of 255 grey "
                        f"levels (the most is {top:.0f}); need a digit darker or lighter than its background")
    ink *= 255.0 / top
    mask = ink >= INK_FRACTION * 255.0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    crop = np.where(crop >= INK_FRACTION * 255.0 / 2, crop, 0.0)
    ch, cw = crop.shape
    box_h, box_w = max(1, int(round(H * _BOX))), max(1, int(round(W * _BOX)))
    scale = min(box_h / ch, box_w / cw)
    new_w, new_h = min(box_w, max(1, int(round(cw * scale)))), min(box_h, max(1, int(round(ch * scale))))
    small = Image.fromarray(np.round(crop).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    patch = np.asarray(small, dtype=np.float64)
    if patch.max() <= 0:  # a speck that vanished when shrunk: keep its footprint
        patch = np.full_like(patch, 255.0)
    mass = patch.sum()
    cy = (patch.sum(axis=1) @ np.arange(new_h)) / mass
    cx = (patch.sum(axis=0) @ np.arange(new_w)) / mass
    top_row = int(np.clip(round(H / 2 - cy), 0, H - new_h))
    left = int(np.clip(round(W / 2 - cx), 0, W - new_w))
    out = np.zeros((H, W))
    out[top_row:top_row + new_h, left:left + new_w] = patch
    out *= 255.0 / out.max()
    return np.round(out).astype(np.uint8).ravel()


def _check_shape(image_shape) -> tuple[int, int]:
    try:
        H, W = (int(s) for s in image_shape)
        ok = (H, W) == tuple(image_shape) and H >= 8 and W >= 8
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DataError(f"image_shape must be two integers (height, width), each at least 8, got {image_shape!r}")
    return H, W


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]

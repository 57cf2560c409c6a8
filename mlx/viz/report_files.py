"""What mlx report reads from a folder: the JSON and CSV files, the PNG pictures (found, ordered,
put in the sweep's sections, checked, their size from Pillow) and their captions. Anything that
cannot be read is a warning for the top of the page, never an error; nothing is written.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_PICTURE_BYTES = 64 * 2**20  # a bigger *.png is left out (with a warning), not embedded
_SKIP_DIRS = {"wandb", "__pycache__", "node_modules"}

SWEEP_SECTIONS = (
    ("comparison", "Comparison", ("comparison",)),
    ("filters", "Filters", ("best_filters", "filter_evolution", "filter_strip", "filter", "mlp_filters",
                            "lane", "evidence")),
    ("boundaries", "Decision boundaries", ("decision_boundary", "decision_boundary_2d")),
    ("styles", "The styles of a digit", ("styles", "style_recall")),
    ("learning-curves", "Learning curves", ("learning_curves",)),
)

_PICTURE_ORDER = ("comparison", "best_filters", "filter", "filter_strip", "mlp_filters", "evidence",
                  "logit_histogram", "roc_pr", "confusion_matrix", "decision_boundary",
                  "decision_boundary_2d", "styles", "style_recall")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def read_json(path: Path, warnings: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.append(f"{path.name} could not be read: {exc}")
        return None


def read_csv(path: Path, warnings: list[str]) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        warnings.append(f"{path.name} could not be read: {exc}")
        return [], []
    if not rows:
        warnings.append(f"{path.name} is empty")
        return [], []
    return rows[0], rows[1:]


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts -> [(dotted key, leaf value)], in file order."""
    if isinstance(obj, dict):
        out: list[tuple[str, Any]] = []
        for key, value in obj.items():
            out.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out if out or not prefix else [(prefix, "{}")]
    return [(prefix or "value", obj)]


def walk_pngs(root: Path, *, exclude: list[Path] | None = None) -> list[Path]:
    """All *.png under root, sorted, skipping hidden/wandb folders and the folders `exclude`."""
    found: list[Path] = []
    skip = {p.resolve() for p in exclude or []}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d not in _SKIP_DIRS and (here / d).resolve() not in skip
        )
        found.extend(sorted((here / f for f in filenames if f.lower().endswith(".png")),
                            key=_picture_key))
    return found


def _picture_key(path: Path) -> tuple[int, str]:
    stem = path.stem
    for i, name in enumerate(_PICTURE_ORDER):
        if stem == name:
            return i, stem
    return len(_PICTURE_ORDER), stem


def sweep_section_of(stem: str) -> tuple[int, str, int]:
    """(section index in SWEEP_SECTIONS or len() for "other", what follows the prefix, prefix
    rank) of a sweep picture's stem; the longest matching prefix wins (decision_boundary_2d_x
    is a decision_boundary_2d picture of x, not a decision_boundary picture of 2d_x)."""
    best = None
    for i, (_, _, prefixes) in enumerate(SWEEP_SECTIONS):
        for rank, prefix in enumerate(prefixes):
            if stem == prefix or stem.startswith((prefix + "_", prefix + "-")):
                if best is None or len(prefix) > len(best[3]):
                    best = (i, stem[len(prefix) + 1:], rank, prefix)
    return (len(SWEEP_SECTIONS), stem, 0) if best is None else best[:3]


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG bytes from their header (Pillow opens lazily: no pixels are
    decoded), None when Pillow cannot read it."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


class Captions:
    """Caption lookup: pictures.json files from the PNG's folder up to the report root."""

    def __init__(self, root: Path, warnings: list[str]):
        self.root = root
        self.warnings = warnings
        self.cache: dict[Path, dict[str, str]] = {}

    def _table(self, folder: Path) -> dict[str, str]:
        if folder not in self.cache:
            path = folder / "pictures.json"
            table: dict[str, str] = {}
            if path.is_file():
                data = read_json(path, self.warnings)
                if isinstance(data, dict):
                    table = {str(k): str(v) for k, v in data.items()}
                elif data is not None:
                    self.warnings.append(f"{path.relative_to(self.root)} is not a JSON object")
            self.cache[folder] = table
        return self.cache[folder]

    def __call__(self, png: Path) -> str:
        folder = png.parent
        while True:
            table = self._table(folder)
            rel = png.relative_to(folder).as_posix()
            for key in (rel, png.name, png.stem, rel[:-4] if rel.endswith(".png") else rel):
                if key in table:
                    return table[key]
            if folder == self.root or self.root not in folder.parents:
                break
            folder = folder.parent
        return _default_caption(png.stem)


def _default_caption(stem: str) -> str:
    try:
        from mlx.viz.common import CAPTIONS
    except Exception:  # pictures needs matplotlib; a report can still be written without it
        CAPTIONS = {}
    if stem in CAPTIONS:
        return CAPTIONS[stem]
    best = max((k for k in CAPTIONS if stem.startswith(k + "_") or stem.startswith(k + "-")),
               key=len, default=None)
    tail = stem[len(best) + 1:].replace("_", " ").replace("-", " ") if best else ""
    if best:
        return f"{CAPTIONS[best]} ({tail})"
    words = re.sub(r"[_\-]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def read_picture(png: Path, root: Path, warnings: list[str]) -> bytes | None:
    """The bytes of a PNG file, or None (and a warning) when it cannot be shown: a broken link,
    not a regular file (a FIFO would block), over MAX_PICTURE_BYTES, unreadable, not a PNG."""
    name = png.relative_to(root).as_posix()
    try:
        st = png.stat()
        if not stat.S_ISREG(st.st_mode):
            warnings.append(f"{name} is not a regular file; left out")
            return None
        if st.st_size > MAX_PICTURE_BYTES:
            warnings.append(f"{name} is {st.st_size / 2**20:.0f} MiB, over the "
                            f"{MAX_PICTURE_BYTES // 2**20} MiB a picture may have; left out")
            return None
        data = png.read_bytes()
    except FileNotFoundError:
        warnings.append(f"{name} is a broken link (its target does not exist); left out")
        return None
    except OSError as exc:
        warnings.append(f"{name} could not be read ({exc.strerror or exc}); left out")
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        warnings.append(f"{name} is not a PNG file; left out")
        return None
    return data


def figure_of(png: Path, data: bytes, root: Path, captions: Captions) -> dict:
    """What the macro ``figure`` draws of one picture: its data: URI, size, name and caption."""
    return {"uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            "size": _png_size(data), "caption": captions(png), "name": png.relative_to(root).as_posix()}


def picture_groups(pngs: list[tuple[Path, bytes]], base: Path, root: Path, captions: Captions,
                   heading_level: int, default_heading: str | None):
    """PNGs grouped by their folder relative to base; one heading per subfolder (Markup)."""
    from mlx.viz.report_html import macros
    groups: dict[str, list[tuple[Path, bytes]]] = {}
    for p, data in pngs:
        rel = p.parent.relative_to(base).as_posix()
        groups.setdefault("" if rel == "." else rel, []).append((p, data))
    drawn = [(default_heading if rel == "" else rel, [figure_of(p, data, root, captions) for p, data in groups[rel]])
             for rel in sorted(groups, key=lambda r: (r != "", r))]
    return macros().picture_groups(drawn, heading_level)

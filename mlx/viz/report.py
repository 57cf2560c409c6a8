"""One self-contained HTML report for a run folder or a sweep folder.

``write_report(folder)`` writes ``folder/report.html``: a single file that opens offline in any
browser. Pictures are embedded as base64 ``data:`` URIs; CSS and a tiny sort script are inline;
the file contains no external URL of any kind (any ``://`` in user text is written as the
entity ``:&#47;&#47;``, so it still reads the same but is never a link).

What is read (all optional, but at least one must be there):

run folder
    ``config.json`` (table), ``summary.json`` (key/value table), ``history.csv`` (per-epoch rows,
    sortable), top-level ``*.md`` files (pipe tables rendered), every ``*.png`` in the folder and
    its subfolders, grouped by subfolder (standard pictures in a fixed order, see
    ``_PICTURE_ORDER``, then the others by name).
sweep folder (has ``results.csv`` or a ``runs/`` subfolder), in this order (see
``SWEEP_SECTIONS``): the comparison (``comparison.md`` tables and ``comparison.png``), the
    filters (``best_filters.png``, ``filter_evolution_*``), the decision boundaries
    (``decision_boundary_*``, each 784-input slice next to its 2-D model), the styles
    (``styles_*``, ``style_recall_*``), the learning curves (``learning_curves*``; a note on
    ``history.csv``, every config's per-epoch metrics, which is not rendered), any other
    picture and ``*.md`` file, the results table (``results.csv``, one row per config,
    sortable; the row with the best ``test_accuracy`` is highlighted), ``config.json`` /
    ``summary.json`` / ``sweep.json``, then the PNGs of each run folder under ``runs/`` with the
    run name as heading. The sweep's pictures are every PNG outside ``runs/`` and ``summary/``
    (the W&B summary run). When more than ``max_runs`` runs have pictures,
    only the runs listed in ``best_runs.json`` (a JSON list of run folder names) are shown, or
    none when that file is missing; the report says how many were left out. When there are few
    runs, the runs of ``best_runs.json`` come first, marked "best".

Captions come from ``pictures.json`` (a JSON object: file name -> one-line caption) in the
PNG's folder or any folder above it up to the report folder (nearest wins; keys may be the file
name, its stem, or its path relative to that folder), else from
:data:`mlx.viz.figures.CAPTIONS` by file stem (``filter``, ``filter_strip``, ``roc_pr``...; a
suffix such as ``filter_epoch_5`` matches ``filter``), else from the file name itself.
Hidden folders and ``wandb/`` folders (W&B's own copies of the media) are skipped. A ``*.png``
that cannot be shown (a broken link, a FIFO or other non-regular file, not a PNG, unreadable,
over ``MAX_PICTURE_BYTES``) is left out with a warning at the top of the page; so are unreadable
JSON, CSV and markdown files. Only ``report.html`` (and its temp file) is ever written, inside the
folder; see :func:`write_report`.
"""
from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import re
import stat
import secrets
import struct
from pathlib import Path
from typing import Any, Iterable

from mlx.errors import UsageError

__all__ = ["REPORT_NAME", "MAX_RUNS", "write_report", "render_report", "markdown_to_html"]

REPORT_NAME = "report.html"
MAX_RUNS = 20
MAX_PICTURE_BYTES = 64 * 2**20  # a bigger *.png is left out (with a warning), not embedded
_KNOWN = ("config.json", "summary.json", "history.csv", "results.csv", "comparison.md")
_SKIP_DIRS = {"wandb", "__pycache__", "node_modules"}
# A sweep folder's sections, in page order: (id, heading, picture stem prefixes). A picture goes
# to the first section with a prefix it starts with (the stem itself, or prefix + "_" / "-");
# within a section pictures are ordered by what follows the prefix, then by prefix: so each
# decision_boundary_<model>-<task> comes just before decision_boundary_2d_<model>-<task>.
SWEEP_SECTIONS = (
    ("comparison", "Comparison", ("comparison",)),
    ("filters", "Filters", ("best_filters", "filter_evolution", "filter_strip", "filter", "mlp_filters",
                            "lane", "evidence")),
    ("boundaries", "Decision boundaries", ("decision_boundary", "decision_boundary_2d")),
    ("styles", "The styles of a digit", ("styles", "style_recall")),
    ("learning-curves", "Learning curves", ("learning_curves",)),
)
# Pictures of one folder are shown in this order (then any others by name).
_PICTURE_ORDER = ("comparison", "best_filters", "filter", "filter_strip", "mlp_filters", "evidence",
                  "logit_histogram", "roc_pr", "confusion_matrix", "decision_boundary",
                  "decision_boundary_2d", "styles", "style_recall")


# ----------------------------------------------------------------------------------------------
# escaping and small readers
# ----------------------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too) and defuse '://' so no URL can appear in the file."""
    return html.escape(str(value), quote=True).replace("://", ":&#47;&#47;")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _read_json(path: Path, warnings: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.append(f"{path.name} could not be read: {exc}")
        return None


def _read_csv(path: Path, warnings: list[str]) -> tuple[list[str], list[list[str]]]:
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


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts -> [(dotted key, leaf value)], in file order."""
    if isinstance(obj, dict):
        out: list[tuple[str, Any]] = []
        for key, value in obj.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out if out or not prefix else [(prefix, "{}")]
    return [(prefix or "value", obj)]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _fmt_number(x: float) -> str:
    """Short text for a float: repr when short, else 6 significant digits."""
    if not math.isfinite(x):
        return str(x)
    text = repr(x)
    return text if len(text) <= 10 else f"{x:.6g}"


def _cell(raw: str) -> str:
    """A <td> for a CSV/markdown value: numbers right-aligned, shortened to 6 significant digits
    (full value in the tooltip and in data-v for sorting)."""
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        return f"<td>{esc(text)}</td>"
    if re.fullmatch(r"[+-]?\d+", text) or len(text) <= 8:
        shown = text
    else:
        shown = _fmt_number(number)
    title = f' title="{esc(text)}"' if shown != text else ""
    return f'<td class="num" data-v="{esc(text)}"{title}>{esc(shown)}</td>'


# ----------------------------------------------------------------------------------------------
# tables and markdown
# ----------------------------------------------------------------------------------------------


def _kv_table(pairs: Iterable[tuple[str, Any]], *, caption: str | None = None) -> str:
    rows = "".join(
        f"<tr><th scope=\"row\">{esc(k)}</th>{_cell(_as_text(v))}</tr>" for k, v in pairs
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table class="kv">{cap}<tbody>{rows}</tbody></table></div>'


def _data_table(header: list[str], rows: list[list[str]], *, best_column: str | None = None,
                links: dict[str, str] | None = None, link_column: str | None = None) -> str:
    """Sortable table (click a header). The row with the largest finite best_column is marked."""
    best_row = -1
    if best_column in header:
        j = header.index(best_column)
        best_val = -math.inf
        for i, r in enumerate(rows):
            try:
                v = float(r[j])
            except (ValueError, IndexError):
                continue
            if math.isfinite(v) and v > best_val:
                best_row, best_val = i, v
    link_j = header.index(link_column) if link_column in header else -1
    head = "".join(f'<th scope="col" title="click to sort">{esc(h)}</th>' for h in header)
    body = []
    for i, r in enumerate(rows):
        r = list(r) + [""] * (len(header) - len(r))
        cells = []
        for j, value in enumerate(r[: len(header)] if header else r):
            if j == link_j and links and value.strip() in links:
                cells.append(f'<td><a href="#{links[value.strip()]}">{esc(value)}</a></td>')
            else:
                cells.append(_cell(value))
        cls = ' class="best"' if i == best_row else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [c.strip().replace("\\|", "|") for c in cells]


def _inline(text: str) -> str:
    """Escape, then render `code` and **bold**."""
    out = esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def markdown_to_html(text: str) -> str:
    """A small markdown subset: pipe tables (sortable), # headings, - bullets, paragraphs,
    `code` and **bold**. Everything is escaped."""
    lines = text.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            header = _split_row(block[0])
            body_lines = block[1:]
            if body_lines and _SEPARATOR.match(body_lines[0]):
                body_lines = body_lines[1:]
            rows = [_split_row(b) for b in body_lines]
            out.append(_data_table(header, rows))
            continue
        if not stripped:
            flush()
        elif stripped.startswith("#"):
            flush()
            level = min(6, max(3, len(stripped) - len(stripped.lstrip("#")) + 2))
            out.append(f"<h{level}>{_inline(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped.startswith(("- ", "* ")):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        else:
            para.append(stripped)
        i += 1
    flush()
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------------------


def _walk_pngs(root: Path, *, exclude: list[Path] | None = None) -> list[Path]:
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


def _sweep_section_of(stem: str) -> tuple[int, str, int]:
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
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


class _Captions:
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
                data = _read_json(path, self.warnings)
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
        from mlx.viz.figures import CAPTIONS
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


def _read_picture(png: Path, root: Path, warnings: list[str]) -> bytes | None:
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


def _figure(png: Path, data: bytes, root: Path, captions: _Captions) -> str:
    size = _png_size(data)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    cap_width = f' style="max-width:{max(size[0], 320)}px"' if size else ""
    caption = captions(png)
    name = png.relative_to(root).as_posix()
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f'<figure><img src="{uri}" alt="{esc(caption)}"{dims}>'
            f'<figcaption{cap_width}><span class="fname">{esc(name)}</span> {esc(caption)}</figcaption></figure>')


def _picture_groups(pngs: list[tuple[Path, bytes]], base: Path, root: Path, captions: _Captions,
                    heading_level: int, default_heading: str | None) -> str:
    """PNGs grouped by their folder relative to base; one heading per subfolder."""
    groups: dict[str, list[tuple[Path, bytes]]] = {}
    for p, data in pngs:
        rel = p.parent.relative_to(base).as_posix()
        groups.setdefault("" if rel == "." else rel, []).append((p, data))
    out = []
    for rel in sorted(groups, key=lambda r: (r != "", r)):
        title = default_heading if rel == "" else rel
        if title:
            out.append(f"<h{heading_level}>{esc(title)}</h{heading_level}>")
        out.append('<div class="figs">' + "".join(_figure(p, data, root, captions) for p, data in groups[rel])
                   + "</div>")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# the page
# ----------------------------------------------------------------------------------------------

_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#ffffff;--band:#f5f7fa;--accent:#2166ac;--best:#fff4d6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px 12px;border-bottom:1px solid var(--line);background:var(--band)}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:var(--muted)}
nav{margin-top:10px;font-size:14px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
main{padding:8px 28px 40px;max-width:1500px}
h2{margin:28px 0 10px;font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin:22px 0 8px;font-size:17px}
h4{margin:16px 0 6px;font-size:15px}
.scroll{overflow-x:auto;max-width:100%}
.tall{max-height:70vh;overflow:auto}
.tall td{white-space:nowrap}
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
th,td{border:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top}
thead th{background:var(--band);position:sticky;top:0}
table.sortable thead th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable thead th::after{content:" \\2195";color:#9aa3b2;font-size:11px}
table.sortable thead th[aria-sort=ascending]::after{content:" \\25B2";color:var(--accent)}
table.sortable thead th[aria-sort=descending]::after{content:" \\25BC";color:var(--accent)}
table.kv th{background:var(--band);font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
tr.best,tr.best:nth-child(even){background:var(--best)}
code{background:var(--band);padding:0 3px;border-radius:3px}
.figs{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:0;padding:8px;border:1px solid var(--line);border-radius:6px;background:#fff;max-width:100%}
figure img{display:block;max-width:100%;height:auto}
figcaption{font-size:13px;color:var(--muted);margin-top:6px;max-width:760px}
.fname{font-family:ui-monospace,"DejaVu Sans Mono",monospace;color:var(--fg);margin-right:6px}
.badge{display:inline-block;font-size:12px;background:var(--best);border:1px solid #e8c872;border-radius:9px;padding:0 8px;margin-left:8px;vertical-align:middle}
.note{color:var(--muted);font-size:14px}
.warn{background:#fdecea;border:1px solid #f5c2bd;padding:6px 10px;border-radius:4px}
"""

_JS = """
(function(){
function key(td){var v=td.getAttribute('data-v');return v===null?td.textContent.trim():v;}
function num(s){if(s==='')return NaN;var n=Number(s);return n;}
document.querySelectorAll('table.sortable thead th').forEach(function(th){
th.addEventListener('click',function(){
var table=th.closest('table'),body=table.tBodies[0],col=th.cellIndex;
var asc=th.getAttribute('aria-sort')!=='ascending';
table.querySelectorAll('thead th').forEach(function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',asc?'ascending':'descending');
var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){
var x=key(a.cells[col]||a),y=key(b.cells[col]||b),nx=num(x),ny=num(y),c;
var fx=!isNaN(nx),fy=!isNaN(ny);
if(fx&&fy)c=nx-ny;else if(fx!==fy)return fx?-1:1;else c=x.localeCompare(y);
return asc?c:-c;});
rows.forEach(function(r){body.appendChild(r);});
});});
})();
"""


def _section(sid: str, title: str, body: str, nav: list[tuple[str, str]]) -> str:
    nav.append((sid, title))
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def render_report(folder: str | os.PathLike, *, max_runs: int = MAX_RUNS) -> str:
    """The report of a run or sweep folder as one HTML string (see the module docstring)."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"report: no such folder: {root}")
    root = root.resolve()
    runs_dir = root / "runs"
    is_sweep = (root / "results.csv").is_file() or runs_dir.is_dir()
    md_files = sorted(root.glob("*.md"), key=lambda p: (p.name != "comparison.md", p.name))
    top_pngs = _walk_pngs(root, exclude=[runs_dir, root / "summary"] if is_sweep else None)
    run_pngs: dict[str, list[Path]] = {}
    if is_sweep and runs_dir.is_dir():
        for run in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            pngs = _walk_pngs(run)
            if pngs:
                run_pngs[run.name] = pngs
    if not any((root / name).is_file() for name in _KNOWN) and not md_files and not top_pngs \
            and not run_pngs:
        raise UsageError(
            f"report: {root} has none of {', '.join(_KNOWN)} or PNG pictures; "
            "pass a run folder or a sweep folder"
        )

    warnings: list[str] = []
    captions = _Captions(root, warnings)

    def readable(pngs: list[Path]) -> list[tuple[Path, bytes]]:
        out = []
        for p in pngs:
            data = _read_picture(p, root, warnings)
            if data is not None:
                out.append((p, data))
        return out

    top_pics = readable(top_pngs)
    nav: list[tuple[str, str]] = []
    sections: list[str] = []

    config = _read_json(root / "config.json", warnings) if (root / "config.json").is_file() else None
    summary = _read_json(root / "summary.json", warnings) if (root / "summary.json").is_file() else None

    if not is_sweep:
        _run_sections(root, sections, nav, warnings, summary, config, md_files, top_pics, captions)
        n_pics = len(top_pics)
    else:
        n_pics = _sweep_sections(root, runs_dir, sections, nav, warnings, summary, config, md_files,
                                 top_pics, captions, run_pngs, readable, max_runs)

    kind = "sweep" if is_sweep else "run"
    subtitle = f"{kind} folder {root.name}, {n_pics} picture{'s' if n_pics != 1 else ''}"
    if is_sweep:
        subtitle += f", {len(run_pngs)} run{'s' if len(run_pngs) != 1 else ''} with pictures"
    warn_html = "".join(f'<p class="warn">{esc(w)}</p>' for w in warnings)
    nav_html = "".join(f'<a href="#{esc(sid)}">{esc(t)}</a>' for sid, t in nav)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>mlx {kind} report: {esc(root.name)}</title><style>{_CSS}</style></head>\n<body>"
        f"<header><h1>mlx {kind} report: {esc(root.name)}</h1><p>{esc(subtitle)}</p>"
        f"<nav>{nav_html}</nav></header>\n<main>{warn_html}\n" + "\n".join(sections)
        + f"\n</main>\n<script>{_JS}</script>\n</body></html>\n"
    )


def _md_sections(md_files: list[Path], warnings: list[str], nav, *, only=None) -> list[str]:
    out = []
    for md in md_files:
        if only is not None and md.name not in only:
            continue
        try:
            if not stat.S_ISREG(md.stat().st_mode):
                warnings.append(f"{md.name} is not a regular file; left out")
                continue
            text = md.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append(f"{md.name} could not be read: {exc}")
            continue
        if only is not None:
            out.append(markdown_to_html(text))
            continue
        title = "Comparison" if md.name == "comparison.md" else md.stem.replace("_", " ").capitalize()
        out.append(_section("md-" + _slug(md.stem), title, markdown_to_html(text), nav))
    return out


def _run_sections(root, sections, nav, warnings, summary, config, md_files, top_pics, captions):
    """A run folder: summary, configuration, history, markdown, pictures."""
    if summary is not None:
        sections.append(_section("summary", "Summary", _kv_table(_flatten(summary)), nav))
    if config is not None:
        sections.append(_section("config", "Configuration", _kv_table(_flatten(config)), nav))
    if (root / "history.csv").is_file():
        header, rows = _read_csv(root / "history.csv", warnings)
        if header:
            sections.append(_section("history", "History (per epoch)",
                                     f'<p class="note">{len(rows)} rows; click a column to sort.</p>'
                                     + _data_table(header, rows), nav))
    sections.extend(_md_sections(md_files, warnings, nav))
    if top_pics:
        sections.append(_section("pictures", "Pictures",
                                 _picture_groups(top_pics, root, root, captions, 3, None), nav))


def _sweep_sections(root, runs_dir, sections, nav, warnings, summary, config, md_files, top_pics,
                    captions, run_pngs, readable, max_runs) -> int:
    """A sweep folder, in the order of the module docstring; returns the number of pictures."""
    by_section: dict[int, list[tuple[tuple, Path, bytes]]] = {}
    for p, data in top_pics:
        i, tail, rank = _sweep_section_of(p.stem)
        by_section.setdefault(i, []).append(((tail, rank, p.relative_to(root).as_posix()), p, data))

    def pictures_of(i: int) -> str:
        items = sorted(by_section.get(i, []), key=lambda t: t[0])
        return _picture_groups([(p, d) for _, p, d in items], root, root, captions, 3, None) if items else ""

    for i, (sid, title, _) in enumerate(SWEEP_SECTIONS):
        parts = _md_sections(md_files, warnings, nav, only={"comparison.md"}) if sid == "comparison" else []
        pics = pictures_of(i)
        if pics:
            parts.append(pics)
            if sid == "learning-curves" and (root / "history.csv").is_file():
                parts.append('<p class="note">Every config\'s per-epoch metrics are in history.csv '
                             "(not rendered here).</p>")
        if parts:
            sections.append(_section(sid, title, "\n".join(parts), nav))
    if by_section.get(len(SWEEP_SECTIONS)):
        sections.append(_section("pictures", "Other pictures", pictures_of(len(SWEEP_SECTIONS)), nav))
    sections.extend(_md_sections([m for m in md_files if m.name != "comparison.md"], warnings, nav))

    # which runs' pictures go in
    best_runs: list[str] = []
    if (root / "best_runs.json").is_file():
        data = _read_json(root / "best_runs.json", warnings)
        if isinstance(data, list):
            best_runs = [str(x) for x in data]
        elif data is not None:
            warnings.append("best_runs.json is not a JSON list of run folder names")
    run_note = ""
    if len(run_pngs) > max_runs:
        shown = [r for r in best_runs if r in run_pngs]
        if shown:
            run_note = (f"{len(run_pngs)} runs have pictures; showing the {len(shown)} listed in "
                        f"best_runs.json.")
        else:
            run_note = (f"{len(run_pngs)} runs have pictures, more than {max_runs}; only the "
                        "sweep's own pictures are shown (list runs to show in best_runs.json).")
    else:
        shown = [r for r in best_runs if r in run_pngs] + [r for r in run_pngs if r not in best_runs]
    run_ids = {r: "run-" + _slug(r) for r in shown}

    if (root / "results.csv").is_file():
        header, rows = _read_csv(root / "results.csv", warnings)
        if header:
            link_col = next((c for c in ("run", "run_name", "name") if c in header), None)
            sections.append(_section("results", "Results (one row per configuration)",
                f'<p class="note">{len(rows)} rows; click a column to sort; the best test accuracy '
                "is highlighted.</p>"
                + '<div class="tall">' + _data_table(header, rows, best_column="test_accuracy",
                                                     links=run_ids, link_column=link_col) + "</div>", nav))
    if summary is not None:
        sections.append(_section("summary", "Summary", _kv_table(_flatten(summary)), nav))
    if config is not None:
        sections.append(_section("config", "Configuration", _kv_table(_flatten(config)), nav))
    if (root / "sweep.json").is_file():
        sweep = _read_json(root / "sweep.json", warnings)
        if isinstance(sweep, dict):
            sections.append(_section("sweep", "About this sweep (sweep.json)", _kv_table(_flatten(sweep)), nav))
    n_pics = len(top_pics)
    if shown or run_note:
        parts = [f'<p class="note">{esc(run_note)}</p>'] if run_note else []
        for run in shown:
            badge = '<span class="badge">best</span>' if run in best_runs else ""
            parts.append(f'<h3 id="{esc(run_ids[run])}">{esc(run)}{badge}</h3>')
            pics = readable(run_pngs[run])
            n_pics += len(pics)
            parts.append(_picture_groups(pics, runs_dir / run, root, captions, 4, None))
        sections.append(_section("runs", "Runs", "\n".join(parts), nav))
    return n_pics


def write_report(folder: str | os.PathLike, *, max_runs: int = MAX_RUNS) -> Path:
    """Write ``folder/report.html`` (self-contained, see the module docstring) and return its path.

    Raises UsageError (one line) when the folder is missing or holds none of config.json,
    summary.json, history.csv, results.csv, comparison.md or PNG pictures, when
    ``report.html`` there is a folder (or anything but a file or a link), or when the folder
    cannot be written (read-only, full). The page goes to a new temp file in the folder itself
    (created with O_EXCL, so an existing file or link is never written through), then is renamed over
    ``report.html``: a link named report.html is replaced, never written through, so nothing is
    written outside the folder; on any failure the temp file is removed and an existing
    report.html is left as it was.
    """
    page = render_report(folder, max_runs=max_runs)
    root = Path(folder).resolve()
    out = root / REPORT_NAME
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"report: cannot look at {out}: {exc.strerror or exc}") from None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise UsageError(f"report: {out} is {what}; the report is written to that name, so move "
                         f"or remove it and run mlx report again")
    tmp = None
    try:
        # O_EXCL: a new file or an error, never an existing file or link; 0o666 minus the umask,
        # as any file the user writes.
        name = f".{REPORT_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        tmp = root / name
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise UsageError(f"report: cannot write {REPORT_NAME} in {root} ({exc.strerror or exc}); "
                         f"the report is written into the folder it reports on, so make it "
                         f"writable, or copy the folder somewhere writable and report on the copy"
                         ) from None
    finally:
        if tmp is not None:
            try:
                tmp.unlink()
            except OSError:
                pass
    return out

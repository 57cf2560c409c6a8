"""The HTML of mlx report: the Jinja2 templates (``templates/report.html.j2``, the page, and
``templates/report_macros.html.j2``, its pieces) with autoescape on, where every value also has
``://`` defused (:func:`esc`), so the file can hold no URL of any kind; the table cells and the
markdown (markdown-it-py, CommonMark with tables, no raw HTML, no links or images) that go in.
"""
from __future__ import annotations

import html
import json
import math
import re
from functools import lru_cache
from typing import Any, Iterable

from markupsafe import Markup


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too) and defuse '://' so no URL can appear in the file."""
    return html.escape(str(value), quote=True).replace("://", ":&#47;&#47;")


def _finalize(value: Any) -> Any:
    """Every {{ value }} of the templates: macro output as it is, anything else through esc."""
    return value if isinstance(value, Markup) else Markup(esc(value))


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined
    return Environment(loader=PackageLoader("mlx.viz", "templates"), autoescape=True,
                       finalize=_finalize, keep_trailing_newline=True, undefined=StrictUndefined)


def macros():
    """The macros of report_macros.html.j2 (cell, kv_table, data_table, figure, picture_groups,
    section, note, run_heading), each returning Markup."""
    return _environment().get_template("report_macros.html.j2").module


def render_page(**values) -> str:
    """The whole page (report.html.j2) from its values: kind, name, subtitle, nav, warnings, sections."""
    return _environment().get_template("report.html.j2").render(**values)


def join(parts: Iterable[Any], sep: str = "\n") -> Markup:
    """Rendered pieces joined (Markup, so the template does not escape them again)."""
    return Markup(sep).join(Markup(p) if isinstance(p, Markup) else Markup(esc(p)) for p in parts)


def as_text(value: Any) -> str:
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


def cell(raw: str, link: str | None = None) -> dict:
    """A table cell for a CSV/markdown value (the macro ``cell`` draws it): numbers
    right-aligned, shortened to 6 significant digits (full value in the tooltip and in data-v
    for sorting); with link, a link to that id of the page."""
    if link is not None:
        return {"text": raw, "link": link, "num": False, "shown": raw}
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        return {"text": text, "link": None, "num": False, "shown": text}
    shown = text if re.fullmatch(r"[+-]?\d+", text) or len(text) <= 8 else _fmt_number(number)
    return {"text": text, "link": None, "num": True, "shown": shown}


def kv_table(pairs: Iterable[tuple[str, Any]], *, caption: str | None = None) -> Markup:
    return macros().kv_table([(k, cell(as_text(v))) for k, v in pairs], caption)


def data_table(header: list[str], rows: list[list[str]], *, best_column: str | None = None,
               links: dict[str, str] | None = None, link_column: str | None = None) -> Markup:
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
    body = []
    for r in rows:
        r = list(r) + [""] * (len(header) - len(r))
        body.append([cell(value, links[value.strip()] if j == link_j and links and value.strip() in links
                          else None)
                     for j, value in enumerate(r[: len(header)] if header else r)])
    return macros().data_table(header, body, best_row)


@lru_cache(maxsize=1)
def _markdown():
    """CommonMark with GFM tables; raw HTML is text, links, images and autolinks are off (the
    report holds no URL); headings start at h3 (h2 is a section's), **bold** is <b>."""
    from markdown_it import MarkdownIt
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])


_TAGS = {"strong_open": "b", "strong_close": "b"}


def markdown_to_html(text: str) -> Markup:
    """Markdown as HTML: pipe tables become sortable tables (:func:`data_table`), # headings
    h3 to h6, lists, paragraphs, `code`, **bold**. Everything is escaped."""
    md = _markdown()
    tokens = md.parse(text)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(6, max(3, int(t.tag[1]) + 2))}"
        for child in t.children or []:
            child.tag = _TAGS.get(child.type, child.tag)
    out, i = [], 0
    while i < len(tokens):
        if tokens[i].type == "table_open":
            j = next(k for k in range(i, len(tokens)) if tokens[k].type == "table_close")
            out.append(_table_of(tokens[i:j + 1]))
        else:
            j = next((k for k in range(i, len(tokens)) if tokens[k].type == "table_open"), len(tokens)) - 1
            out.append(Markup(md.renderer.render(tokens[i:j + 1], md.options, {}).strip()
                              .replace("://", ":&#47;&#47;")))
        i = j + 1
    return join(out)


def _table_of(tokens) -> Markup:
    """A markdown table's tokens as a sortable :func:`data_table` (cells as plain text)."""
    rows: list[list[str]] = []
    for t in tokens:
        if t.type == "tr_open":
            rows.append([])
        elif t.type == "inline":
            rows[-1].append(t.content)
    return data_table(rows[0], rows[1:]) if rows else Markup("")

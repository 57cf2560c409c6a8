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
:data:`mlx.viz.common.CAPTIONS` by file stem (``filter``, ``filter_strip``, ``roc_pr``...; a
suffix such as ``filter_epoch_5`` matches ``filter``), else from the file name itself.
Hidden folders and ``wandb/`` folders (W&B's own copies of the media) are skipped. A ``*.png``
that cannot be shown (a broken link, a FIFO or other non-regular file, not a PNG, unreadable,
over ``MAX_PICTURE_BYTES``) is left out with a warning at the top of the page; so are unreadable
JSON, CSV and markdown files. Only ``report.html`` (and its temp file) is ever written, inside the
folder; see :func:`write_report`.

Reading the folder is :mod:`mlx.viz.report_files`; the HTML is the Jinja2 templates of
``mlx/viz/templates`` with the cells and markdown of :mod:`mlx.viz.report_html`.
"""
from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mlx.errors import UsageError
from mlx.viz.report_files import (SWEEP_SECTIONS, Captions, flatten, picture_groups, read_csv, read_json,
                                  read_picture, slug, sweep_section_of, walk_pngs)
from mlx.viz.report_html import data_table, join, kv_table, macros, markdown_to_html, render_page

REPORT_NAME = "report.html"
MAX_RUNS = 20
_KNOWN = ("config.json", "summary.json", "history.csv", "results.csv", "comparison.md")


@dataclass
class _Page:
    """The report being built: its folder, warnings, sections and their links."""
    root: Path
    warnings: list[str] = field(default_factory=list)
    sections: list = field(default_factory=list)
    nav: list[tuple[str, str]] = field(default_factory=list)
    captions: Captions | None = None

    def section(self, sid: str, title: str, body) -> None:
        self.nav.append((sid, title))
        self.sections.append(macros().section(sid, title, body))

    def readable(self, pngs: list[Path]) -> list[tuple[Path, bytes]]:
        """The pictures that can be shown, with their bytes (the others are warnings)."""
        out = []
        for p in pngs:
            data = read_picture(p, self.root, self.warnings)
            if data is not None:
                out.append((p, data))
        return out

    def json_file(self, name: str):
        return read_json(self.root / name, self.warnings) if (self.root / name).is_file() else None

    def key_values(self, sid: str, title: str, data) -> None:
        if data is not None:
            self.section(sid, title, kv_table(flatten(data)))


def _run_pictures(root: Path, runs_dir: Path, is_sweep: bool) -> dict[str, list[Path]]:
    """{run folder name: its PNGs} of a sweep's runs/ (the runs with pictures)."""
    run_pngs: dict[str, list[Path]] = {}
    if is_sweep and runs_dir.is_dir():
        for run in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            pngs = walk_pngs(run)
            if pngs:
                run_pngs[run.name] = pngs
    return run_pngs


def render_report(folder: str | os.PathLike, *, max_runs: int = MAX_RUNS) -> str:
    """The report of a run or sweep folder as one HTML string (see the module docstring)."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"report: no such folder: {root}")
    root = root.resolve()
    runs_dir = root / "runs"
    is_sweep = (root / "results.csv").is_file() or runs_dir.is_dir()
    md_files = sorted(root.glob("*.md"), key=lambda p: (p.name != "comparison.md", p.name))
    top_pngs = walk_pngs(root, exclude=[runs_dir, root / "summary"] if is_sweep else None)
    run_pngs = _run_pictures(root, runs_dir, is_sweep)
    if not any((root / name).is_file() for name in _KNOWN) and not md_files and not top_pngs \
            and not run_pngs:
        raise UsageError(
            f"report: {root} has none of {', '.join(_KNOWN)} or PNG pictures; "
            "pass a run folder or a sweep folder"
        )
    page = _Page(root)
    page.captions = Captions(root, page.warnings)
    top_pics = page.readable(top_pngs)
    config, summary = page.json_file("config.json"), page.json_file("summary.json")
    if not is_sweep:
        _run_sections(page, summary, config, md_files, top_pics)
        n_pics = len(top_pics)
    else:
        n_pics = _sweep_sections(page, runs_dir, summary, config, md_files, top_pics, run_pngs, max_runs)
    kind = "sweep" if is_sweep else "run"
    subtitle = f"{kind} folder {root.name}, {n_pics} picture{'s' if n_pics != 1 else ''}"
    if is_sweep:
        subtitle += f", {len(run_pngs)} run{'s' if len(run_pngs) != 1 else ''} with pictures"
    return render_page(kind=kind, name=root.name, subtitle=subtitle, nav=page.nav,
                       warnings=page.warnings, sections=join(page.sections))


def _md_sections(page: _Page, md_files: list[Path], *, only=None) -> list:
    """The markdown files rendered: as sections of their own, or (only) as bare parts."""
    out = []
    for md in md_files:
        if only is not None and md.name not in only:
            continue
        try:
            if not stat.S_ISREG(md.stat().st_mode):
                page.warnings.append(f"{md.name} is not a regular file; left out")
                continue
            text = md.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            page.warnings.append(f"{md.name} could not be read: {exc}")
            continue
        if only is not None:
            out.append(markdown_to_html(text))
            continue
        title = "Comparison" if md.name == "comparison.md" else md.stem.replace("_", " ").capitalize()
        page.section("md-" + slug(md.stem), title, markdown_to_html(text))
    return out


def _run_sections(page: _Page, summary, config, md_files, top_pics) -> None:
    """A run folder: summary, configuration, history, markdown, pictures."""
    page.key_values("summary", "Summary", summary)
    page.key_values("config", "Configuration", config)
    if (page.root / "history.csv").is_file():
        header, rows = read_csv(page.root / "history.csv", page.warnings)
        if header:
            page.section("history", "History (per epoch)",
                         join([macros().note(f"{len(rows)} rows; click a column to sort."),
                               data_table(header, rows)], ""))
    _md_sections(page, md_files)
    if top_pics:
        page.section("pictures", "Pictures", picture_groups(top_pics, page.root, page.root, page.captions, 3, None))


def _sweep_sections(page: _Page, runs_dir, summary, config, md_files, top_pics, run_pngs, max_runs) -> int:
    """A sweep folder, in the order of the module docstring; returns the number of pictures."""
    _picture_sections(page, md_files, top_pics)
    _md_sections(page, [m for m in md_files if m.name != "comparison.md"])
    best_runs, shown, run_note = _runs_shown(page, run_pngs, max_runs)
    run_ids = {r: "run-" + slug(r) for r in shown}
    if (page.root / "results.csv").is_file():
        header, rows = read_csv(page.root / "results.csv", page.warnings)
        if header:
            link_col = next((c for c in ("run", "run_name", "name") if c in header), None)
            page.section("results", "Results (one row per configuration)", join([
                macros().note(f"{len(rows)} rows; click a column to sort; the best test accuracy is highlighted."),
                macros().tall(data_table(header, rows, best_column="test_accuracy", links=run_ids,
                                         link_column=link_col))], ""))
    page.key_values("summary", "Summary", summary)
    page.key_values("config", "Configuration", config)
    sweep = page.json_file("sweep.json")
    if isinstance(sweep, dict):
        page.section("sweep", "About this sweep (sweep.json)", kv_table(flatten(sweep)))
    n_pics = len(top_pics)
    if shown or run_note:
        parts = [macros().note(run_note)] if run_note else []
        for run in shown:
            parts.append(macros().run_heading(run_ids[run], run, run in best_runs))
            pics = page.readable(run_pngs[run])
            n_pics += len(pics)
            parts.append(picture_groups(pics, runs_dir / run, page.root, page.captions, 4, None))
        page.section("runs", "Runs", join(parts))
    return n_pics


def _picture_sections(page: _Page, md_files, top_pics) -> None:
    """The sweep's own pictures in their sections (SWEEP_SECTIONS, then "Other pictures"),
    comparison.md first in the comparison, a note on history.csv with the learning curves."""
    by_section: dict[int, list[tuple[tuple, Path, bytes]]] = {}
    for p, data in top_pics:
        i, tail, rank = sweep_section_of(p.stem)
        by_section.setdefault(i, []).append(((tail, rank, p.relative_to(page.root).as_posix()), p, data))

    def pictures_of(i: int):
        items = sorted(by_section.get(i, []), key=lambda t: t[0])
        return picture_groups([(p, d) for _, p, d in items], page.root, page.root, page.captions, 3,
                              None) if items else ""

    for i, (sid, title, _) in enumerate(SWEEP_SECTIONS):
        parts = _md_sections(page, md_files, only={"comparison.md"}) if sid == "comparison" else []
        pics = pictures_of(i)
        if pics:
            parts.append(pics)
            if sid == "learning-curves" and (page.root / "history.csv").is_file():
                parts.append(macros().note("Every config's per-epoch metrics are in history.csv "
                                           "(not rendered here)."))
        if parts:
            page.section(sid, title, join(parts))
    if by_section.get(len(SWEEP_SECTIONS)):
        page.section("pictures", "Other pictures", pictures_of(len(SWEEP_SECTIONS)))


def _runs_shown(page: _Page, run_pngs: dict, max_runs: int) -> tuple[list[str], list[str], str]:
    """(best_runs.json's runs, the runs whose pictures go in, the note on those left out)."""
    best_runs: list[str] = []
    data = page.json_file("best_runs.json")
    if isinstance(data, list):
        best_runs = [str(x) for x in data]
    elif data is not None:
        page.warnings.append("best_runs.json is not a JSON list of run folder names")
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
    return best_runs, shown, run_note


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

"""A result's page as the reader saw it: its picture with the passage marked, and a PDF copy whose
page carries a highlight annotation, so "Open at page N" lands on the passage in any viewer.

Both are served from Streamlit's static folder, `ui/static/previews/<sha256>/`, under names made
here, never a document's (see source_files.served_url): a page's picture once per page of a file's
content (`page-N.webp`), whatever the question; the passage's place and its marked copy once per
passage (`<passage key>/marked.pdf`). The original file is never written to. The
folder is held to `settings.preview_cache_mb`, least recently made first; a document removed in the
app takes its previews with it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from index import Box, Result, annotated_copy, page_view, picture_pdf, render_page

from .source_files import STATIC_DIR, served_url

PREVIEW_DIR = STATIC_DIR / "previews"
# The picture is drawn this wide once; the card shows it small and, on a click, full width.
PICTURE_WIDTH = 1000
# The cache is trimmed at most this often (seconds): trimming walks the folder.
TRIM_EVERY_S = 60.0


@dataclass
class Preview:
    """What a card shows of its page: `image_url` with `boxes` (fractions of the picture) marked
    on it, `open_url` the marked PDF at its page; `why_not` is why something is missing."""

    image_url: str | None = None
    boxes: list[Box] = field(default_factory=list)
    open_url: str | None = None
    page: int | None = None
    why_not: str = ""


def passage_key(result: Result) -> str:
    """A passage's folder: its page, span and text (chunk ids are not kept across rebuilds), and
    the version of the marked copy's making (2: the highlight's own appearance and font widths),
    so a copy made by an earlier version is made again."""
    made_by = 2
    digest = hashlib.sha256(f"{made_by}|{result.page}|{result.start}|{result.end}|{result.text}".encode()).hexdigest()
    return digest[:20]


def preview(result: Result, source: Path, index_dir: Path, ocr_languages: str, cache_mb: int) -> Preview:
    """The page picture, the passage's place on it and its marked PDF, made once, then read.
    `source` is the real path of the file holding the document's bytes (for a ZIP member, its
    cached copy), checked by source_files.readable."""
    if not result.sha256:
        return Preview(why_not="this passage comes from an index made before page pictures")
    folder = PREVIEW_DIR / result.sha256 / passage_key(result)
    place_file = folder / "place.json"
    try:
        place = json.loads(place_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        place = None
    pdf = None
    if place is None:
        view = page_view(Path(index_dir), result.kind, source, result.sha256, result.page,
                         result.text, result.ocr, ocr_languages)
        if view.pdf is None:  # not kept: a rendition may come with the next run
            return Preview(why_not=view.why_not)
        pdf = view.pdf
        place = {"page": view.page, "boxes": view.boxes, "rects": view.rects, "why_not": view.why_not}
        folder.mkdir(parents=True, exist_ok=True)
        _write(place_file, json.dumps(place))
    made = Preview(boxes=[tuple(b) for b in place["boxes"]], page=place["page"], why_not=place["why_not"])
    picture = PREVIEW_DIR / result.sha256 / f"page-{place['page']}.webp"
    marked = folder / "marked.pdf"
    try:
        if not picture.exists():
            pdf = pdf or _picture_pdf(result, source, index_dir)
            render_page(pdf, place["page"], PICTURE_WIDTH, picture)
        made.image_url = served_url(picture)
        if place["rects"] and not marked.exists():
            pdf = pdf or _picture_pdf(result, source, index_dir)
            annotated_copy(pdf, place["page"], [tuple(r) for r in place["rects"]], marked)
        if marked.exists():
            made.open_url = served_url(marked, place['page'])
    except Exception as exc:  # noqa: BLE001 - a page pdfium cannot draw: the card keeps its text
        made.why_not = made.why_not or f"the page could not be drawn ({type(exc).__name__})"
    _trim(cache_mb)
    return made


def _picture_pdf(result: Result, source: Path, index_dir: Path) -> Path:
    pdf, why = picture_pdf(Path(index_dir), result.kind, source, result.sha256)
    if pdf is None:
        raise FileNotFoundError(why)
    return pdf


def _write(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.part")
    staged.write_text(text, encoding="utf-8")
    staged.replace(path)


_last_trim = 0.0


def _trim(cache_mb: int) -> None:
    """Remove the oldest passage folders and pictures until the folder is within `cache_mb`."""
    global _last_trim
    if time.monotonic() - _last_trim < TRIM_EVERY_S:
        return
    _last_trim = time.monotonic()
    entries = []
    for path in PREVIEW_DIR.glob("*/*"):
        try:
            size = sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size
            entries.append((path.stat().st_mtime, size, path))
        except OSError:
            continue  # removed meanwhile by another session
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= cache_mb * 1024 * 1024:
            break
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        total -= size


def forget(sha256: str) -> None:
    """Remove the previews of a content (when its document leaves the library)."""
    if sha256:
        shutil.rmtree(PREVIEW_DIR / sha256, ignore_errors=True)

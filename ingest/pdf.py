"""PDF reader: pypdf's plain text extraction, page by page; section headings from the layout.

Plain `extract_text()` rather than layout mode: layout mode interleaves the lines of
two-column pages, plain mode keeps each column's reading order.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from .cleaning import clean_page, normalise
from .document import Document, PageText, ReadError, characters_capped
from .pdf_headings import page_lines, section_headings
from .titles import largest_text, metadata_title

# Pages with fewer characters than this carry no real text layer (page numbers, stray marks).
MIN_PAGE_CHARS = 20

# pypdf logs every robustness fix it applies; what matters to users reaches them as
# ReadErrors and warnings, so its own log would only bury the summary.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def _open(path: Path):
    from pypdf import PdfReader
    from pypdf.errors import EmptyFileError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(path, strict=False)
    except EmptyFileError:
        raise ReadError("empty file") from None
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ReadError(f"corrupt or not a PDF ({exc})") from None
    if reader.is_encrypted:
        # Many "encrypted" PDFs only restrict printing and open with the empty password.
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # pypdf raises several types for unsupported crypto
            raise ReadError(f"encrypted, cannot be opened ({exc})") from None
        if not opened:
            raise ReadError("encrypted, password required")
    return reader


def _outline_headings(reader) -> dict[int, str]:
    """Page index -> the bookmark title that starts there (best effort: outlines are often broken)."""
    starts: dict[int, str] = {}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            try:
                index = reader.get_destination_page_number(item)
            except Exception:
                continue
            if index is not None and index >= 0 and index not in starts:
                starts[index] = normalise(str(item.title)).strip()

    try:
        walk(reader.outline)
    except Exception:
        return {}
    return starts


def _first_line_heading(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip()
        if 3 <= len(line) <= 90 and any(c.isalpha() for c in line):
            return line
        if line:
            break
    return ""


def _title(reader, pages: list[PageText], path: Path) -> str:
    """The metadata title when it is one (`ingest.titles.metadata_title`), else the text page 1
    shows largest, else the first page's first line, else the file's name."""
    try:
        title = metadata_title((reader.metadata or {}).get("/Title"))
    except Exception:
        title = ""
    if title:
        return title
    title = largest_text(page_lines(path, [0]).get(0, []))
    if title:
        return title
    for page in pages[:2]:
        heading = _first_line_heading(page.text)
        if heading:
            return heading
    return path.stem.replace("_", " ")


def _extract(reader, index: int, warnings: list[str]) -> str:
    try:
        return normalise(reader.pages[index].extract_text() or "")
    except Exception as exc:  # one broken content stream must not lose the other pages
        warnings.append(f"page {index + 1}: text could not be extracted ({type(exc).__name__})")
        return ""


def _has_text_layer(raw: str) -> bool:
    return len(clean_page(raw)) >= MIN_PAGE_CHARS


def _first_pages_ocr(ocr, raw_pages: list[str], page_count: int) -> dict[int, str]:
    """OCR of a file's first pages, none of which has a text layer, until one of them holds text.

    Returns what OCR read of each page it tried ("" for none). Raises ReadError when none of
    these pages holds text: a blank giant (a 20,000-page scan of nothing) is reported in seconds,
    not after the whole OCR budget.
    """
    recognised: dict[int, str] = {}
    for index in range(len(raw_pages)):
        recognised[index] = ocr(index) or ""
        if recognised[index]:
            return recognised
    if page_count <= len(raw_pages):
        problems = list(getattr(ocr, "problems", ()))
        reason = problems[0] if problems else "blank pages or pictures without legible text"
        raise ReadError(f"no text found, not even by OCR ({reason})")
    raise ReadError(f"no text found in pages 1-{len(raw_pages)}; the rest not tried")


def read(path: Path, max_chars: int, empty_pages: int, ocr=None) -> Document:
    """Read every page; `ocr(page_index) -> str | None` is asked for pages without a text layer.

    `ocr` is None where OCR is not available; pages without a text layer are then reported. An
    `ocr` callback may carry `warnings` (pages it could not read), which join the Document's, and
    `problems` (why it failed), which explain a file where no page had text.

    Bounded for giants: pages after the first `max_chars` characters of text are not extracted;
    a file whose first `empty_pages` pages hold no text is given up (ReadError), and OCR is tried
    on an image-only page only while one of the `empty_pages` pages before it held text.
    """
    reader = _open(path)
    try:
        page_count = len(reader.pages)
    except Exception as exc:
        raise ReadError(f"corrupt PDF: cannot count pages ({exc})") from None
    if page_count == 0:
        raise ReadError("empty PDF: no pages")
    warnings: list[str] = []
    empty_pages = max(1, empty_pages)
    raw_pages = [_extract(reader, index, warnings) for index in range(min(page_count, empty_pages))]
    recognised: dict[int, str] = {}  # page index -> what OCR read of it ("" for nothing)
    if ocr is not None and not any(_has_text_layer(raw) for raw in raw_pages):
        recognised = _first_pages_ocr(ocr, raw_pages, page_count)
    characters = sum(len(raw) for raw in raw_pages)
    for index in range(len(raw_pages), page_count):
        if characters > max_chars:
            warnings.append(characters_capped(max_chars, _page_span(index + 1, page_count)))
            break
        raw_pages.append(_extract(reader, index, warnings))
        characters += len(raw_pages[-1])
    outline = _outline_headings(reader)
    # Whether a page has a text layer is judged before running headers are removed: a page
    # holding only its header and a signature is not a scan.
    has_text_layer = [_has_text_layer(raw) for raw in raw_pages]
    raw_pages = strip_running_lines(raw_pages)
    if ocr is not None and any(has_text_layer) and not all(has_text_layer):
        # A scan inside a typed file is most often in the file's language: OCR can start in it.
        expect = getattr(ocr, "expect_language_of", None)
        if expect:
            expect(" ".join(raw for raw, typed in zip(raw_pages, has_text_layer) if typed))
    texts: list[tuple[str, bool]] = []  # each page's cleaned text, and whether OCR read it
    image_only: list[int] = []
    not_tried: list[int] = []
    without_text = 0  # pages in a row, up to this one, that held no text
    for index, raw in enumerate(raw_pages):
        text = clean_page(raw)
        is_ocr = False
        if not has_text_layer[index]:
            image_only.append(index + 1)
            if index in recognised:
                text, is_ocr = clean_page(recognised[index]), bool(recognised[index])
            elif ocr is not None and without_text < empty_pages:
                found = ocr(index)
                text, is_ocr = (clean_page(found), True) if found else ("", False)
            else:
                text = ""
                if ocr is not None:
                    not_tried.append(index + 1)
        without_text = 0 if text else without_text + 1
        texts.append((text, is_ocr))
    pages = [PageText(number=index + 1, text=text, ocr=is_ocr) for index, (text, is_ocr) in enumerate(texts)]
    if not any(page.text for page in pages):
        if ocr is None:
            raise ReadError("scanned — OCR not available (install tesseract-ocr)")
        problems = list(getattr(ocr, "problems", ()))
        reason = problems[0] if problems else "blank pages or pictures without legible text"
        raise ReadError(f"no text found, not even by OCR ({reason})")
    if image_only and ocr is None:
        warnings.append(
            "pages without a text layer, not indexed (OCR not available, install tesseract-ocr): "
            + page_ranges(image_only)
        )
    warnings.extend(getattr(ocr, "warnings", ()))
    if not_tried:
        warnings.append(
            f"pages without a text layer not tried by OCR, {empty_pages} pages in a row before them "
            f"held no text: {page_ranges(not_tried)}"
        )
    title = _title(reader, pages, path)
    _set_headings(path, pages, outline, title)
    return Document(kind="pdf", title=title, pages=pages, warnings=warnings)


def _set_headings(path: Path, pages: list[PageText], outline: dict[int, str], title: str) -> None:
    """Each page's sections and the heading in force at its start, carried from page to page.

    Headings come from the page's layout (pdf_headings); pages OCR read have none of their own.
    """
    typed = {index: page.text for index, page in enumerate(pages) if page.text and not page.ocr}
    found = section_headings(path, typed, outline, title)
    heading = ""
    for index, page in enumerate(pages):
        sections = found.get(index, [])
        if sections and not page.text[: sections[0][0]].strip():
            heading = sections[0][1]  # the page opens with a section
        page.heading = heading
        page.sections = sections
        if sections:
            heading = sections[-1][1]


def _page_span(first: int, last: int) -> str:
    """'page 7' or 'pages 7-20'."""
    return f"page {first}" if first == last else f"pages {first}-{last}"


# Running headers and footers sit among the first and last lines of a page.
_EDGE_LINES = 4
_DIGITS = re.compile(r"\d+")


def strip_running_lines(page_texts: list[str]) -> list[str]:
    """Remove running headers and footers: edge lines repeated on most pages.

    "Exchange report 2024 | Page 7" on every page would otherwise open every passage, become
    every page's heading, and match every question that shares a word with it. Lines are
    compared with their numbers masked, so page numbers count as repeats.
    """
    with_text = [t for t in page_texts if t.strip()]
    if len(with_text) < 3:
        return page_texts

    def edges(text: str) -> set[str]:
        lines = [line for line in text.split("\n") if line.strip()]
        return {_DIGITS.sub("#", line.lower()) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]}

    counts: dict[str, int] = {}
    for text in with_text:
        for key in edges(text):
            counts[key] = counts.get(key, 0) + 1
    threshold = max(3, int(0.6 * len(with_text)))
    running = {key for key, count in counts.items() if count >= threshold}
    if not running:
        return page_texts
    stripped = []
    for text in page_texts:
        lines = text.split("\n")
        content = [i for i, line in enumerate(lines) if line.strip()]
        edge = set(content[:_EDGE_LINES] + content[-_EDGE_LINES:])
        stripped.append("\n".join(
            line for i, line in enumerate(lines) if not (i in edge and _DIGITS.sub("#", line.lower()) in running)
        ))
    return stripped


def page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    parts, start, prev = [], None, None
    for n in numbers + [None]:
        if start is None:
            start = prev = n
        elif n is not None and n == prev + 1:
            prev = n
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    return ", ".join(parts)

"""Section headings of a PDF's pages, found from the page's own layout.

A line is a heading when it is set larger than the document's body text, or in bold at body size
and numbered like a section ("3.2 Award criteria"), and reads like a title: short, not a list
item ("b) ...", "II - ..."), not a bibliography entry, not ending mid-phrase. A heading set on two
lines in the same style is one heading. A bookmark of the outline counts only where its title
stands on its page. Labels that open a part of every section ("What happened") name no section
and are left out. Better no heading than a wrong one: a heading that cannot be found in the
page's text is dropped.

Layout comes from pdfium (pypdfium2): font size and weight per character, read for a few
characters of each line only, so a 500-page file costs about a second.
"""
from __future__ import annotations

import ctypes
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .cleaning import normalise

# A heading is at least this much larger than the body text (10 pt body, 11 pt subheading).
LARGER = 1.06
# Longer than this, a "heading" is a bold paragraph or a caption; never cut, so left out.
MAX_HEADING_CHARS = 120
# A heading line continued on the next lines in the same style: at most this many lines.
MAX_HEADING_LINES = 3
# A label repeated on this many pages (and on most of the document's pages with headings of
# its kind) opens a part of every section rather than naming one.
REPEATED_LABEL_PAGES = 3

# List items and enumerations: "b) ...", "(iv) ...", "II - ...", "§ 2º ...", "• ...", "1) ...".
_LIST_ITEM = re.compile(
    r"^(?:\(?[a-z]{1,2}\)|\(?[ivxlc]{1,6}\)|[IVXLC]{1,6}\s*[-–—)]|\(?\d{1,3}\)|§|[•·▪◦‣\-–—*])\s*",
)
# Bibliography: "Chamberlain, G. (1984). Panel data." or "Smith J, Doe K. 2019".
_BIBLIOGRAPHY = re.compile(
    r"^[\w'’-]+,\s+(?:[A-Z]\.\s*)+|\((?:1[89]|20)\d\d[a-z]?\)|^\[\d+\]|\bdoi:|https?://|\bpp\.\s*\d"
)
# Section numbering: "3", "3.", "3.2", "3.2.1", "A.1", "Art. 5", "CAPÍTULO II", "Chapter 4".
_NUMBERED = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[A-Z]\.\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,4}(?:\.\d{1,2}){1,3}\)|art\.?\s*\d{1,3})\s+\S"
    r"|^(?:chapter|section|part|annex|appendix|cap[ií]tulo|t[ií]tulo|se[çc][ãa]o|secci[óo]n|capitolo|"
    r"sezione|chapitre|titre|partie|kapitel|abschnitt|teil|anhang|anexo|allegato|annexe)\s+[\dIVXLC]",
    re.IGNORECASE,
)
# A division of a law or a long document, alone on its line at body size: "CAPÍTULO II", "Seção I";
# its name follows on the next line ("DOS PRINCÍPIOS").
_DIVISION = re.compile(
    r"^(?:chapter|section|part|annex|cap[ií]tulo|t[ií]tulo|se[çc][ãa]o|subse[çc][ãa]o|secci[óo]n|capitolo|"
    r"sezione|titolo|chapitre|titre|partie|kapitel|abschnitt|teil)\s+(?:[IVXLC]{1,6}|\d{1,3})[A-Z]?\.?$",
    re.IGNORECASE,
)
# A phrase cut short: a heading does not end on a comma, a hyphen or a joining word.
_OPEN_END = re.compile(
    r"(?:[,;(\-–/&]|\b(?:and|or|of|the|to|for|in|with|a|an|e|o|ou|de|da|do|das|dos|di|del|della|y|en|et|"
    r"des|du|la|le|und|der|die|das|für|von|zu|mit|na|no|com|em|per|para|por))$",
    re.IGNORECASE,
)


@dataclass
class Line:
    """One visual line of a page as pdfium sees it, with the style of its characters."""

    text: str
    size: float
    bold: bool


def _font_bold(textpage, index: int, buffer) -> bool:
    import pypdfium2.raw as pdfium_c

    weight = pdfium_c.FPDFText_GetFontWeight(textpage, index)
    if weight >= 600:
        return True
    flags = ctypes.c_int(0)
    length = pdfium_c.FPDFText_GetFontInfo(textpage, index, buffer, len(buffer), ctypes.byref(flags))
    name = bytes(buffer[: max(0, length - 1)]).decode("latin-1", "replace").lower()
    return bool(flags.value & (1 << 18)) or any(mark in name for mark in ("bold", "black", "heavy", "semibold", "demi"))


def page_lines(path: Path, indexes: list[int]) -> dict[int, list[Line]]:
    """Page index -> its visual lines with their style; pages pdfium cannot read are left out."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    lines_of: dict[int, list[Line]] = {}
    try:
        document = pdfium.PdfDocument(str(path))
    except Exception:  # pdfium refuses some files pypdf reads: then no layout, no headings
        return lines_of
    buffer = (ctypes.c_ubyte * 256)()
    try:
        for index in indexes:
            try:
                page = document[index]
                textpage = page.get_textpage()
            except Exception:
                continue
            try:
                count = textpage.count_chars()
                text = textpage.get_text_range() if count > 0 else ""
                lines: list[Line] = []
                position = 0
                for raw in re.split(r"\r\n|\n|\r", text):
                    start, position = position, position + len(raw) + 2
                    if len(text) != count:  # characters outside one code unit: offsets unreliable
                        break
                    marks = [i for i, c in enumerate(raw) if c.isalnum()]
                    if not marks:
                        continue
                    # The first, middle and last letters tell a heading line from a line that only
                    # opens with a bold label.
                    sample = sorted({marks[0], marks[len(marks) // 2], marks[-1]})
                    # The loose box's height is the font size as drawn: FPDFText_GetFontSize gives
                    # the size before the text matrix, 1 pt in files that scale the matrix instead.
                    sizes = [textpage.get_charbox(start + i, loose=True) for i in sample]
                    sizes = [top - bottom for _, bottom, _, top in sizes]
                    bold = all(_font_bold(textpage, start + i, buffer) for i in sample)
                    lines.append(Line(normalise(raw).strip(), round(min(sizes), 1), bold))
                lines_of[index] = lines
            finally:
                textpage.close()
                page.close()
    finally:
        document.close()
    return lines_of


def body_size(lines_of: dict[int, list[Line]]) -> float:
    """The font size most of the document's text is set in."""
    weights: Counter[float] = Counter()
    for lines in lines_of.values():
        for line in lines:
            weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def reads_as_heading(text: str) -> bool:
    """Whether a line's words could be a section's name: short, with words, not a list item,
    not a bibliography entry, not a phrase cut short."""
    text = text.strip()
    letters = sum(c.isalpha() for c in text)
    if letters < 3 or len(text) > MAX_HEADING_CHARS:
        return False
    if _LIST_ITEM.match(text) and not _NUMBERED.match(text):
        return False
    if _BIBLIOGRAPHY.search(text) or _OPEN_END.search(text):
        return False
    if text[0].islower():  # a sentence's continuation
        return False
    # A sentence ends with a stop; a numbered heading may ("1. Scope.") but prose rarely is numbered.
    return not (text.endswith((".", "!", "?")) and len(text.split()) > 8 and not _NUMBERED.match(text))


def _styled_heading(line: Line, body: float) -> bool:
    if line.size >= body * LARGER:
        return True
    return line.bold and line.size >= body * 0.95 and bool(_NUMBERED.match(line.text))


def layout_headings(lines_of: dict[int, list[Line]]) -> dict[int, list[str]]:
    """Page index -> the headings its layout shows, in reading order (before any check against
    the page's cleaned text)."""
    body = body_size(lines_of)
    found: dict[int, list[str]] = {}
    if not body:
        return found
    first_page = min((index for index, lines in lines_of.items() if lines), default=None)
    for index, lines in lines_of.items():
        headings: list[str] = []
        i = 0
        if index == first_page:
            # The first page's opening lines set above the body (a letterhead, the title, the
            # authors) are the document's title block, not a section.
            while i < len(lines) and lines[i].size >= body * LARGER:
                i += 1
        while i < len(lines):
            line = lines[i]
            if _DIVISION.match(line.text):
                name = lines[i + 1].text if i + 1 < len(lines) else ""
                if name and not _DIVISION.match(name) and reads_as_heading(name) and not name.startswith("Art"):
                    headings.append(f"{line.text} {name}")
                    i += 2
                else:
                    headings.append(line.text)
                    i += 1
                continue
            if not _styled_heading(line, body):
                i += 1
                continue
            parts, j = [line.text], i + 1
            # A heading continued on the next lines in the same style is one heading.
            while (
                j < len(lines) and j - i < MAX_HEADING_LINES
                and abs(lines[j].size - line.size) < 0.3 and lines[j].bold == line.bold
                and not _NUMBERED.match(lines[j].text) and not parts[-1].endswith(".")
                and lines[j].text.isupper() == parts[-1].isupper()  # "14.4 DOCUMENTI" then "Per i ..."
                and not (parts[-1].endswith(":") and _NUMBERED.match(parts[0]))
            ):
                parts.append(lines[j].text)
                j += 1
            text = " ".join(parts)
            # A style run longer than a heading is a paragraph set large (a lead, a quote).
            if j - i < MAX_HEADING_LINES or len(parts) == 1:
                if reads_as_heading(text):
                    headings.append(text)
                elif len(parts) > 1 and reads_as_heading(parts[0]) and not _OPEN_END.search(parts[0]):
                    headings.append(parts[0])
            i = j
        found[index] = headings
    return found


def _label_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.casefold())


def repeated_labels(found: dict[int, list[str]]) -> set[str]:
    """Heading texts (numbers masked) that recur on several pages: "What happened", "Notes"."""
    pages: Counter[str] = Counter()
    for headings in found.values():
        for key in {_label_key(h) for h in headings}:
            pages[key] += 1
    return {key for key, count in pages.items() if count >= REPEATED_LABEL_PAGES}


def _squeezed(text: str) -> tuple[str, list[int]]:
    """`text` without whitespace, case-folded, and where each kept character stood."""
    kept, where = [], []
    for position, char in enumerate(text):
        if not char.isspace():
            kept.append(char.casefold())
            where.append(position)
    return "".join(kept), where


def locate(headings: list[str], page_text: str, line_start_only: bool = False) -> list[tuple[int, str]]:
    """(offset in `page_text`, heading) for each heading found there, at the start of a line where
    it stands at one, in order; spaces and case are ignored, since extractors space and join lines
    differently."""
    squeezed, where = _squeezed(page_text)
    located: list[tuple[int, str]] = []
    after = 0
    for heading in headings:
        needle = _squeezed(heading)[0]
        if not needle:
            continue
        first = at = squeezed.find(needle, after)
        while at >= 0:
            offset = where[at]
            if offset == 0 or page_text[offset - 1] == "\n":
                break
            at = squeezed.find(needle, at + 1)
        if at < 0 and not line_start_only:
            # Line joining may have run the heading on from the line before it: the layout says
            # it stands alone, so its first occurrence after the previous heading is taken.
            at = first
        if at < 0:
            continue
        located.append((where[at], heading))
        after = at + len(needle)
    return located


def section_headings(
    path: Path, page_texts: dict[int, str], outline: dict[int, str], title: str
) -> dict[int, list[tuple[int, str]]]:
    """Page index -> (offset in its cleaned text, heading) of each section that starts there.

    `page_texts` are the cleaned texts of the pages to look at, `outline` the bookmark title
    starting on each page; a heading that is the document's `title` names no section.
    """
    lines_of = page_lines(path, sorted(page_texts))
    found = layout_headings(lines_of)
    labels = repeated_labels(found)
    title_key = " ".join(title.casefold().split())
    result: dict[int, list[tuple[int, str]]] = {}
    for index, text in page_texts.items():
        if not text:
            continue
        candidates = [h for h in found.get(index, []) if _label_key(h) not in labels]
        candidates = [h for h in candidates if not (title_key and title_key.startswith(" ".join(h.casefold().split())))]
        located = locate(candidates, text)
        bookmark = outline.get(index, "")
        if bookmark and reads_as_heading(bookmark) and not any(_squeezed(bookmark)[0] in _squeezed(h)[0] for _, h in located):
            # The outline agrees with the page only where its title stands there at a line start.
            located = sorted(located + locate([bookmark], text, line_start_only=True))
        result[index] = located
    return result

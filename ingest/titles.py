"""A document's title as a person would name it: its metadata title when that is one, else what
its first page shows largest (the PDF reader) or its first heading (the other readers).

Producers leave all sorts in the title field: a template's default ("Microsoft Word - draft3.docx",
"PowerPoint Presentation", "Untitled", "Title"), the file's own name ("D10024", "report_v2.pdf"),
or a web team's tags ("Buying AI guidance #public #webversion"). None of these is what the reader
sees on the cover, so none is the title.
"""
from __future__ import annotations

import re

from .cleaning import normalise

_LEFTOVER = re.compile(
    r"^(microsoft (word|powerpoint|excel)\b|untitled|sans titre|senza titolo|sin t[ií]tulo|title|titel|titolo|"
    r"t[ií]tulo|document\s*\d*|presentation|powerpoint presentation|presentazione( standard di powerpoint)?|"
    r"presentaci[oó]n( de powerpoint)?|pr[äa]sentation|slide \d+|template)$"
    r"|^microsoft (word|powerpoint|excel) - ", re.IGNORECASE)
_FILE_NAME = re.compile(r"\.(pdf|docx?|pptx?|xlsx?|od[tps]|rtf|txt|indd|tex|dvi|e?ps|qxp)$", re.IGNORECASE)
# A title has a space or is a word of letters ("Chiarimenti"); "D10024", "L14133", "MScThesis_v2" are names.
_ONE_NAME = re.compile(r"^(?=.*[\d_])[\w.\-]+$")


def metadata_title(raw: object) -> str:
    """The metadata `raw` title, cleaned; '' when it is a leftover, a file name or tag soup."""
    title = normalise(str(raw or "")).strip()
    if len(title) <= 3 or _LEFTOVER.search(title) or _FILE_NAME.search(title) or _ONE_NAME.match(title):
        return ""
    if re.search(r"(^|\s)#\w", title):  # "#public #webversion": a web team's tags
        return ""
    return title


# The largest text on a page is a title when it holds a word, is no longer than a title runs and
# stands out: set at least TITLE_SIZE times the size of most of the page's text (a page all in one
# size has no title to show, and its first sentence is none). It is looked for among the page's
# first lines (a "Specimen" watermark is drawn last, and larger).
MAX_TITLE_CHARS = 150
FIRST_LINES = 12
TITLE_SIZE = 1.15


def largest_text(lines: list) -> str:
    """The text set largest on a page (`ingest.pdf_headings.Line`s in reading order): the run of
    lines at that size that comes first, joined ("Contract clauses"); '' when it is no title (a
    page number, a logo's letter, body text on a page without a larger line)."""
    if not lines:
        return ""
    body = sorted(line.size for line in lines)[len(lines) // 2]
    lines = lines[:FIRST_LINES]
    largest = max(line.size for line in lines)
    if largest < TITLE_SIZE * body:
        return ""
    run: list[str] = []
    for line in lines:
        if abs(line.size - largest) < 0.5:
            run.append(line.text)
        elif run:
            break
    title = " ".join(run).strip()
    letters = sum(c.isalpha() for c in title)
    return title if letters >= 3 and len(title) <= MAX_TITLE_CHARS else ""

"""PPTX reader: every shape's text, recursively through groups, table cells, and speaker notes.

A walk over text frames alone misses tables, grouped shapes and notes, which is where decks
often keep their substance.
"""
from __future__ import annotations

from pathlib import Path

from .cleaning import clean_block
from .document import Document, PageText, ReadError
from .titles import metadata_title


# Opens a slide's speaker notes in its text: the notes are searchable, but not on the slide itself.
NOTES_LABEL = "Speaker notes:"

def _shape_texts(shape) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    texts: list[str] = []
    try:
        shape_type = shape.shape_type
    except Exception:  # unknown graphic frames raise on shape_type
        shape_type = None
    if shape_type == MSO_SHAPE_TYPE.GROUP:
        for child in shape.shapes:
            texts.extend(_shape_texts(child))
        return texts
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        texts.append(shape.text_frame.text)
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            # Merged cells repeat their text in every spanned cell: keep it once.
            unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
            if unique:
                texts.append(" | ".join(unique))
    if getattr(shape, "has_chart", False) and shape.has_chart:
        texts.extend(_chart_texts(shape.chart))
    return texts


def _chart_texts(chart) -> list[str]:
    texts: list[str] = []
    try:
        if chart.has_title and chart.chart_title.has_text_frame:
            texts.append(chart.chart_title.text_frame.text)
        plot = chart.plots[0] if len(chart.plots) else None
        if plot is not None:
            categories = [str(c) for c in plot.categories if c is not None]
            if categories:
                texts.append(", ".join(categories))
            names = [s.name for s in plot.series if s.name]
            if names:
                texts.append(", ".join(names))
    except Exception:  # charts with odd XML: their text is a bonus, never a reason to fail
        pass
    return texts


def slide_page(number: int, title: str, body: list[str], notes: str) -> PageText:
    """One slide as a page: its title, the text of its shapes, then its speaker notes.

    Shared with the OpenDocument reader, so both kinds of deck read the same way.
    """
    parts = [part for part in (clean_block(t) for t in body) if part]
    if title and parts and parts[0].replace("\n", " ") == title:
        parts = parts[1:]  # the title placeholder is among the shapes too
    text = "\n".join(([title] if title else []) + parts)
    notes = clean_block(notes)
    if notes:
        text = f"{text}\n{NOTES_LABEL} {notes}" if text else f"{NOTES_LABEL} {notes}"
    heading = title or (parts[0].split("\n")[0][:90] if parts else "")
    return PageText(number=number, text=text.strip(), heading=heading)


def check_slides(pages: list[PageText]) -> None:
    """A deck with no slides, or none with text, is a reported failure, not an empty success."""
    if not pages:
        raise ReadError("empty presentation: no slides")
    if not any(page.text for page in pages):
        raise ReadError("no extractable text (slides hold only pictures, charts or media)")


def _title_of(slide) -> str:
    try:
        title = slide.shapes.title
    except Exception:
        title = None
    if title is not None and title.has_text_frame:
        return clean_block(title.text_frame.text).replace("\n", " ")
    return ""


def read(path: Path) -> Document:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(str(path))
    except PackageNotFoundError:
        raise ReadError("corrupt or not a PowerPoint file") from None
    except Exception as exc:
        raise ReadError(f"corrupt presentation ({type(exc).__name__}: {exc})") from None
    pages: list[PageText] = []
    warnings: list[str] = []
    for number, slide in enumerate(deck.slides, start=1):
        try:
            title = _title_of(slide)
            body: list[str] = []
            for shape in slide.shapes:
                body.extend(_shape_texts(shape))
            notes = ""
            if slide.has_notes_slide:
                frame = slide.notes_slide.notes_text_frame
                notes = frame.text if frame is not None else ""
        except Exception as exc:
            warnings.append(f"slide {number}: could not be read ({type(exc).__name__})")
            continue
        pages.append(slide_page(number, title, body, notes))
    check_slides(pages)
    title = ""
    try:
        title = metadata_title(deck.core_properties.title)  # not a template's default nor the file's name
    except Exception:
        pass
    title = title or next((p.heading for p in pages if p.heading), "") or path.stem.replace("_", " ")
    return Document(kind="pptx", title=title, pages=pages, warnings=warnings)

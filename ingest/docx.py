"""DOCX reader: paragraphs and tables in document order, split into sections at headings.

Word files have no fixed pages, so each section (the text under one heading) is one PageText
with number None: a passage never straddles two sections.
"""
from __future__ import annotations

from pathlib import Path

from .cleaning import clean_block
from .document import Document, ReadError, SectionBuilder


def _heading_level(paragraph) -> int | None:
    try:
        name = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
    except Exception:
        return None
    if name == "title":
        return 0
    if name.startswith("heading"):
        digits = "".join(ch for ch in name if ch.isdigit())
        return int(digits) if digits else 1
    return None


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        try:
            cells = [cell.text.strip() for cell in row.cells]
        except Exception:
            continue
        unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
        if unique:
            lines.append(" | ".join(unique))
    return lines


def read(path: Path) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except PackageNotFoundError:
        raise ReadError("corrupt or not a Word file") from None
    except Exception as exc:
        raise ReadError(f"corrupt Word file ({type(exc).__name__}: {exc})") from None

    sections = SectionBuilder(clean_block)
    title = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            sections.add(*_table_lines(block))
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block)
        if level is not None:
            sections.open(clean_block(text).replace("\n", " "), text)
            if level == 0 and not title:
                title = sections.heading
            continue
        sections.add(text)
    pages = sections.finish("no extractable text (empty document?)")
    try:
        core_title = (document.core_properties.title or "").strip()
    except Exception:
        core_title = ""
    title = core_title or title or pages[0].heading or path.stem.replace("_", " ")
    return Document(kind="docx", title=title, pages=pages)

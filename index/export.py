"""A collection as a file a memo can start from: Word (DOCX), Markdown or CSV.

Each passage: a heading, its quotation, its citation (with the app's link), its note, and a
line when its document is no longer in the library.
"""
from __future__ import annotations

import csv
import io
from .citation import place
from .collections import Kept

FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "md": "text/markdown", "csv": "text/csv"}
GONE = "No longer in the library: kept as it read when it was kept."


def heading(passage: Kept) -> str:
    return f"{passage.title}, {place(passage.kind, passage.page)}"


def export(name: str, passages: list[Kept], kind: str) -> bytes:
    """The collection `name` as a file of `kind` (one of FORMATS)."""
    if kind == "docx":
        return as_docx(name, passages)
    if kind == "md":
        return as_markdown(name, passages).encode("utf-8")
    if kind == "csv":
        return as_csv(passages).encode("utf-8-sig")  # the BOM: Excel then reads it as UTF-8
    raise ValueError(f"unknown format {kind!r} (one of {', '.join(FORMATS)})")


def as_markdown(name: str, passages: list[Kept]) -> str:
    from .citation import markdown_text

    parts = [f"# {markdown_text(name)}"]
    for number, passage in enumerate(passages, 1):
        parts.append(f"## {number}. {markdown_text(heading(passage))}")
        parts.append(passage.citation().as_markdown())
        if passage.note:
            parts.append(f"Note: {markdown_text(passage.note)}")
        if not passage.in_library:
            parts.append(f"*{GONE}*")
    return "\n\n".join(parts) + "\n"


def as_csv(passages: list[Kept]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["position", "title", "document", "where", "section", "quotation", "note", "question",
                     "link", "in library", "kept"])
    for number, p in enumerate(passages, 1):
        writer.writerow([number, p.title, p.document, place(p.kind, p.page), p.heading, p.quotation, p.note,
                         p.question, p.link, "yes" if p.in_library else "no", p.added])
    return out.getvalue()


def as_docx(name: str, passages: list[Kept]) -> bytes:
    from docx import Document

    document = Document()
    document.add_heading(name, level=0)
    for number, passage in enumerate(passages, 1):
        document.add_heading(f"{number}. {heading(passage)}", level=1)
        document.add_paragraph(f"“{passage.quotation}”", style="Intense Quote")
        citation = passage.citation()
        document.add_paragraph(citation.source() + ".")
        if citation.link:
            document.add_paragraph(citation.link)
        if passage.note:
            document.add_paragraph(f"Note: {passage.note}")
        if not passage.in_library:
            document.add_paragraph(GONE).runs[0].italic = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

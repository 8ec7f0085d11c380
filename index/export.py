"""A collection as a file a memo can start from: Word (DOCX), Markdown or CSV.

Each passage: a heading, its quotation, its citation (with the app's link), its note, and a
line when its document is no longer in the library. A Word file can also carry each page's
picture with the passage marked (`page_picture`, given by the caller, which knows the file).
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from .citation import place
from .collections import Kept

FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "md": "text/markdown", "csv": "text/csv"}
GONE = "No longer in the library: kept as it read when it was kept."


def heading(passage: Kept) -> str:
    return f"{passage.title}, {place(passage.kind, passage.page)}"


def export(name: str, passages: list[Kept], kind: str, picture: Callable[[Kept], bytes | None] | None = None) -> bytes:
    """The collection `name` as a file of `kind` (one of FORMATS)."""
    if kind == "docx":
        return as_docx(name, passages, picture)
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


def page_picture(index_dir: Path, passage: Kept, path: Path | None, width_px: int = 1000) -> bytes | None:
    """The passage's page drawn from its file at `path`, the passage marked in yellow (PNG);
    None when the file is gone or its page cannot be drawn."""
    from PIL import Image, ImageChops, ImageDraw

    from .page_view import page_view, render_page

    if not passage.in_library or path is None or not Path(path).is_file():
        return None
    view = page_view(index_dir, passage.kind, Path(path), passage.sha256, passage.page, passage.text)
    if view.pdf is None or view.page is None:
        return None
    with tempfile.TemporaryDirectory() as work:
        drawn = Path(work) / "page.png"
        render_page(view.pdf, view.page, width_px, drawn)
        with Image.open(drawn) as image:
            page = image.convert("RGB")
    marks = Image.new("RGB", page.size, "white")
    draw = ImageDraw.Draw(marks)
    for x0, y0, x1, y1 in view.boxes:
        draw.rectangle((x0 * page.width, y0 * page.height, x1 * page.width, y1 * page.height), fill=(255, 212, 0))
    out = io.BytesIO()
    ImageChops.multiply(page, marks).save(out, format="PNG")  # as a highlighter: the text stays dark
    return out.getvalue()


def as_docx(name: str, passages: list[Kept], picture: Callable[[Kept], bytes | None] | None = None) -> bytes:
    from docx import Document
    from docx.shared import Cm

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
        image = picture(passage) if picture else None
        if image:
            document.add_picture(io.BytesIO(image), width=Cm(12))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

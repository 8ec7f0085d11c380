"""Plain text and Markdown: Markdown headings open sections, as in Word files."""
from __future__ import annotations

import re
from pathlib import Path

from .cleaning import clean_page
from .document import Document, ReadError, SectionBuilder

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    # Old Windows exports: cp1252 decodes every byte, so it is the last resort.
    return data.decode("cp1252", errors="replace")


def read(path: Path) -> Document:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError("empty file")
    text = _decode(data)
    markdown = path.suffix.lower() in (".md", ".markdown")
    sections = SectionBuilder(clean_page)
    title = ""
    for line in text.splitlines():
        match = _MD_HEADING.match(line) if markdown else None
        if match:
            heading = match.group(2).strip()
            sections.open(heading, heading)
            title = title or heading
            continue
        sections.add(line)
    pages = sections.finish("no extractable text (empty file)")
    return Document(kind="md" if markdown else "txt", title=title or path.stem.replace("_", " "), pages=pages)

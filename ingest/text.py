"""Plain text and Markdown: Markdown headings open sections, as in Word files."""
from __future__ import annotations

import re
from pathlib import Path

from .cleaning import clean_page
from .document import Document, PageText, ReadError

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
    sections: list[PageText] = []
    heading, lines, title = "", [], ""

    def close_section():
        body = clean_page("\n".join(lines))
        if body:
            sections.append(PageText(number=None, text=body, heading=heading))

    for line in text.splitlines():
        match = _MD_HEADING.match(line) if markdown else None
        if match:
            close_section()
            heading, lines = match.group(2).strip(), [match.group(2).strip()]
            title = title or heading
            continue
        lines.append(line)
    close_section()
    if not sections:
        raise ReadError("no extractable text (empty file)")
    return Document(kind="md" if markdown else "txt", title=title or path.stem.replace("_", " "), pages=sections)

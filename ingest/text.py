"""Plain text and Markdown: Markdown headings open sections, as in Word files."""
from __future__ import annotations

import re
from pathlib import Path

from .cleaning import clean_page
from .document import Document, ReadError, SectionBuilder, characters_capped, cut_at_space

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def _read_at_most(path: Path, encoding: str, max_chars: int, errors: str = "strict") -> str:
    # A block at a time: TextIOWrapper.read(n) sets aside room for n characters up front.
    parts: list[str] = []
    left = max_chars
    with open(path, encoding=encoding, errors=errors, newline="") as handle:
        while left > 0:
            part = handle.read(min(left, 1 << 20))
            if not part:
                break
            parts.append(part)
            left -= len(part)
    return "".join(parts)


def _read_text(path: Path, max_chars: int) -> str:
    """The file's first `max_chars` characters, decoded: never more is read, whatever its size.

    UTF-8 (or UTF-16 with its byte-order mark) when the text read decodes as such; old Windows
    exports otherwise: cp1252 decodes every byte, so it is the last resort.
    """
    with open(path, "rb") as handle:
        head = handle.read(2)
    encodings = ("utf-8-sig", "utf-16") if head in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    for encoding in encodings:
        try:
            return _read_at_most(path, encoding, max_chars)
        except UnicodeDecodeError:
            pass
    return _read_at_most(path, "cp1252", max_chars, errors="replace")


def text_encoding(path: Path) -> str:
    """The encoding of a file read a line at a time (CSV): UTF-16 by its byte-order mark, else
    UTF-8 when its first megabyte decodes as such, else cp1252 (old Windows exports)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return "cp1252"
    return "utf-8-sig"


def read(path: Path, max_chars: int) -> Document:
    """Read a text or Markdown file, at most `max_chars` characters of it (the rest is reported)."""
    text = _read_text(path, max_chars + 1)  # one more tells whether there was more
    if not text.strip():
        raise ReadError("empty file")
    warnings = []
    if len(text) > max_chars:
        text = cut_at_space(text, max_chars)
        warnings.append(characters_capped(max_chars, f"the text after character {len(text):,}"))
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
    kind = "md" if markdown else "txt"
    return Document(kind=kind, title=title or path.stem.replace("_", " "), pages=pages, warnings=warnings)

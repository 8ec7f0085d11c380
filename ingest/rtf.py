"""RTF documents (old word-processor exports, Outlook's rich text): striprtf turns the markup into
plain text, read like a text file (one section; embedded pictures and fonts tables dropped).

The file is read up to a bound (RTF markup is several times its text, so eight bytes a character
of the cap); what lies beyond is reported, not parsed.
"""
from __future__ import annotations

from pathlib import Path

from .cleaning import clean_page
from .document import Document, PageText, ReadError, characters_capped, cut_at_space

MARKUP_BYTES_PER_CHAR = 8


def read(path: Path, max_chars: int) -> Document:
    from striprtf.striprtf import rtf_to_text

    limit = max_chars * MARKUP_BYTES_PER_CHAR
    with open(path, "rb") as handle:
        raw = handle.read(limit + 1)
    warnings = []
    if len(raw) > limit:
        raw = raw[:limit]
        warnings.append(characters_capped(max_chars, f"the markup after byte {limit:,}"))
    try:
        text = rtf_to_text(raw.decode("latin-1"), errors="replace")
    except Exception as exc:  # striprtf's own errors on broken control words or code pages
        raise ReadError(f"corrupt RTF file ({type(exc).__name__}: {str(exc)[:120]})") from None
    text = clean_page(text)
    if not text:
        raise ReadError("no extractable text (empty document?)")
    if len(text) > max_chars:
        text = cut_at_space(text, max_chars)
        warnings.append(characters_capped(max_chars, f"the text after character {len(text):,}"))
    return Document(kind="rtf", title=path.stem.replace("_", " "), pages=[PageText(None, text)], warnings=warnings)

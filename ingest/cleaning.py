"""Text clean-up shared by all readers: Unicode, hyphenation, line joining, whitespace."""
from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# Symbol-font glyphs (U+F0xx: Word's bullets and arrows) extract as private-use characters.
_SYMBOL_FONT = re.compile(r"[\uf000-\uf0ff]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b\ufeff\u00ad]")
# "procure-\nment" -> "procurement"; only when a lower-case letter continues the word, so
# "2014/24/EU-\nfunded" or "e-\nForms" style compounds across lines keep their hyphen.
_HYPHEN_BREAK = re.compile(r"(\w)[-\u2010]\n(?=[a-zà-ÿ])")
_BULLET_START = re.compile(r"^([•·▪◦‣\-–—*]|\(?\d{1,3}[.)]|\(?[a-z][.)]|[IVX]{1,5}\.)\s")
# Table-of-contents leaders ("Award criteria ........ 12") carry no meaning and cost tokens.
_LEADERS = re.compile(r"(?:\.\s?){4,}|(?:…\s?){2,}|_{4,}")
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]?$")


def normalise(text: str) -> str:
    """NFC, no ligatures or control characters, single spaces, trimmed lines."""
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SYMBOL_FONT.sub("•", text)
    text = _LEADERS.sub(" … ", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines)


def _is_one_word_per_line(lines: list[str]) -> bool:
    """Some PDF producers place every word separately; pypdf then prints one per line."""
    words = [line for line in lines if line]
    if len(words) < 8:
        return False
    single = sum(1 for line in words if " " not in line)
    return single / len(words) > 0.7


def join_lines(text: str) -> str:
    """Turn a PDF's visual lines back into paragraphs.

    A line break stays where it carries structure (after a sentence end, before a bullet, around
    a short heading-like line); elsewhere it was only the width of the column.
    """
    text = _HYPHEN_BREAK.sub(r"\1", text)
    lines = text.split("\n")
    if _is_one_word_per_line(lines):
        return re.sub(r"\s+", " ", " ".join(lines)).strip()
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    typical = lengths[int(len(lengths) * 0.8)] if len(lengths) > 4 else max(lengths)
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
                current = ""
            continue
        if not current:
            current = line
            continue
        keep_break = (
            _SENTENCE_END.search(current)
            or _BULLET_START.match(line)
            or len(current) < 0.6 * typical
        )
        if keep_break:
            paragraphs.append(current)
            current = line
        else:
            current = f"{current} {line}"
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs).strip()


def clean_page(text: str) -> str:
    """The full clean-up for one page of extracted text."""
    return join_lines(normalise(text))


def clean_block(text: str) -> str:
    """Clean-up for text whose line breaks are real (slides, DOCX paragraphs)."""
    return "\n".join(line for line in normalise(text).split("\n") if line).strip()

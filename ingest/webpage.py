"""Saved web pages and HTML notices: the page's main text, its headings opening sections.

The rule: text inside scripts, styles and other non-text elements, and inside the page's
furniture (nav, header, footer, aside, forms' menus, and elements whose ARIA role is navigation,
banner, contentinfo, search or complementary) is left out. When the page marks its main content
(<main> or role="main", else <article>), only that is kept. h1-h6 open sections, as headings do
in Word files; table cells of one row stay on one line.

lxml's HTML parser is fed the file a block at a time with a target that sees tags and text and
builds no tree, and feeding stops at the file's character cap (PXS_FILE_MAX_CHARS): a 50 MB page
of one line costs what its first five million characters cost.
"""
from __future__ import annotations

import re
from pathlib import Path

from .cleaning import clean_block
from .document import Document, ReadError, SectionBuilder, characters_capped, cut_at_space

_NOT_TEXT = {"script", "style", "template", "svg", "math", "noscript", "iframe", "object", "canvas", "select", "head"}
_FURNITURE = {"nav", "header", "footer", "aside", "menu"}
_FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "section", "article", "main",
    "blockquote", "pre", "figure", "figcaption", "caption", "hr", "address", "form", "fieldset", "legend", "body",
}
_CELLS = {"td", "th"}
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([-\w:.]+)", re.I)
FEED_BYTES = 1 << 16


def _encoding(head: bytes) -> str:
    """The page's encoding: its byte-order mark, its <meta charset>, else UTF-8 if it decodes, else cp1252."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _CHARSET.search(head[:8192])
    if match:
        import codecs

        try:
            return codecs.lookup(match.group(1).decode("ascii")).name
        except LookupError:
            pass
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        return "utf-8" if exc.start >= len(head) - 3 else "cp1252"


class _Collector:
    """The parser's target: keeps (is_heading, text, in_main) pieces of the visible text."""

    def __init__(self):
        self.stack: list[tuple[str, bool, bool, bool]] = []  # tag, hidden, main, heading
        self.pieces: list[tuple[bool, str, bool]] = []
        self.line: list[str] = []
        self.title: list[str] = []
        self.chars = 0
        self.has_main = False
        self.has_article = False

    def _state(self) -> tuple[bool, bool, bool]:
        return self.stack[-1][1:] if self.stack else (False, False, False)

    def _flush(self) -> None:
        text = " ".join("".join(self.line).split())
        self.line = []
        if text:
            hidden, main, heading = self._state()
            self.pieces.append((heading, text, main))

    def start(self, tag, attrib) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        hidden, main, heading = self._state()
        role = (attrib.get("role") or "").lower()
        if tag in _NOT_TEXT or tag in _FURNITURE or role in _FURNITURE_ROLES or "hidden" in attrib:
            hidden = True
        if tag == "main" or role == "main":
            main, self.has_main = True, True
        elif tag == "article" and not main:
            self.has_article = True
            main = True
        if tag in _HEADINGS or tag in _BLOCKS:
            self._flush()
        elif tag in _CELLS and "".join(self.line).strip():
            self.line.append(" | ")
        self.stack.append((tag, hidden, main, heading or tag in _HEADINGS))

    def end(self, tag) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag in _HEADINGS or tag in _BLOCKS:
            self._flush()
        if not any(t == tag for t, *_ in self.stack):
            return  # an end tag the parser did not open: ignore it
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
        if tag in _HEADINGS:
            self._flush()

    def data(self, text: str) -> None:
        if self.stack and self.stack[-1][0] == "title":
            self.title.append(text)
            return
        if not self._state()[0]:
            self.line.append(text)
            self.chars += len(text)  # counted as it comes: one text node may be the whole file

    def close(self) -> None:
        self._flush()


def read(path: Path, max_chars: int) -> Document:
    """Read an HTML page, at most `max_chars` characters of its text (the rest is reported)."""
    from lxml import etree

    with open(path, "rb") as handle:
        head = handle.read(FEED_BYTES)
        collector = _Collector()
        parser = etree.HTMLParser(target=collector, encoding=_encoding(head), no_network=True, recover=True)
        capped = False
        chunk = head
        try:
            while chunk:
                parser.feed(chunk)
                if collector.chars > max_chars:
                    capped = True
                    break
                chunk = handle.read(FEED_BYTES)
            parser.close()
        except etree.LxmlError as exc:
            raise ReadError(f"not a readable web page ({str(exc)[:120]})") from None
    keep_main = collector.has_main or collector.has_article
    pieces = [(heading, text) for heading, text, main in collector.pieces if main or not keep_main]
    sections = SectionBuilder(clean_block)
    total, warnings = 0, []
    for heading, text in pieces:
        cut = total + len(text) + 1 > max_chars  # +1: the line break that joins it to the text before
        if cut:
            capped = True
            text = cut_at_space(text, max_chars - total - 1)
            if not text:
                break
        total += len(text) + 1
        if heading:
            sections.open(text, text)
        else:
            sections.add(text)
        if cut:
            break
    if capped:
        warnings.append(characters_capped(max_chars, f"the text after character {total:,}"))
    pages = sections.finish("no extractable text (a page without visible text?)")
    title = " ".join("".join(collector.title).split())
    title = title or next((text for heading, text in pieces if heading), "") or path.stem.replace("_", " ")
    return Document(kind="html", title=title[:300], pages=pages, warnings=warnings)

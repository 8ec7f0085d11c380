"""The data types that leave the ingest stage: page texts, documents and chunks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class ReadError(Exception):
    """A file that cannot be indexed, with a one-line reason a user can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class PageText:
    """The cleaned text of one page, slide or section.

    `number` is the 1-based page or slide number, or None for formats without pages
    (DOCX, TXT, Markdown), where each section under a heading is its own PageText.
    """

    number: int | None
    text: str
    heading: str = ""
    ocr: bool = False


class SectionBuilder:
    """Pages for formats without pages (DOCX, ODT, TXT, Markdown): the text under each heading
    becomes one PageText with number None, so a passage never straddles two sections."""

    def __init__(self, clean: Callable[[str], str]):
        self._clean = clean
        self._lines: list[str] = []
        self.heading = ""
        self.pages: list[PageText] = []

    def open(self, heading: str, *lines: str) -> None:
        """Close the current section and start one under `heading` with `lines`."""
        self._close()
        self.heading = heading
        self._lines = list(lines)

    def add(self, *lines: str) -> None:
        self._lines.extend(lines)

    def _close(self) -> None:
        text = self._clean("\n".join(self._lines))
        if text:
            self.pages.append(PageText(number=None, text=text, heading=self.heading))
        self._lines = []

    def finish(self, empty_reason: str) -> list[PageText]:
        """All sections; a document with none raises ReadError(empty_reason)."""
        self._close()
        if not self.pages:
            raise ReadError(empty_reason)
        return self.pages


@dataclass
class Document:
    """One file as the readers see it: its kind, a display title and its pages."""

    kind: str  # "pdf", "pptx", "docx", "txt", "md", ...
    title: str
    pages: list[PageText]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    """A passage: the unit that is embedded, indexed and returned by search.

    `start`/`end` are the character span of `text` in its page's text.
    """

    document: str  # path relative to the ingested root
    page: int | None
    heading: str
    text: str
    start: int
    end: int
    title: str = ""
    context: str = ""  # "title — heading", capped in tokens by the chunker
    ocr: bool = False
    language: str | None = None

    def embedding_text(self) -> str:
        """What the models see: the title and heading give a passage its context."""
        return f"{self.context}\n{self.text}" if self.context else self.text

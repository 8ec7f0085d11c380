"""The data types that leave the ingest stage: page texts, documents and chunks."""
from __future__ import annotations

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

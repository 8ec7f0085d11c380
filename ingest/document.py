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
    # Sections that start inside the page: (offset in `text`, heading), in order. `heading` is the
    # one in force at the page's start (carried from earlier pages, or a section opening the page).
    sections: list[tuple[int, str]] = field(default_factory=list)

    def heading_at(self, offset: int) -> str:
        """The heading of the section that `text[offset:]` stands in: the last one starting at or
        before `offset` on this page, else the page's own."""
        heading = self.heading
        for start, name in self.sections:
            if start > offset:
                break
            heading = name
        return heading


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

    @property
    def page_count(self) -> int | None:
        """Pages, slides or sheets (a long sheet is several page texts of one number); None for sections."""
        numbers = {page.number for page in self.pages if page.number is not None}
        return len(numbers) or None


def cut_at_space(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, at a space or line break when one is near."""
    if len(text) <= limit:
        return text
    space = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return text[: space if space >= limit * 0.9 else limit]


def characters_capped(max_chars: int, left_out: str) -> str:
    """The warning of a file whose text was cut at `max_chars` characters."""
    return f"capped at {max_chars:,} characters (PXS_FILE_MAX_CHARS): {left_out} not indexed"


def cap_characters(document: Document, max_chars: int) -> Document:
    """The document with at most `max_chars` characters of page text; a warning says what was left out.

    Bounds what one file hands to the indexing run, whatever its reader found in it.
    """
    total = 0
    for index, page in enumerate(document.pages):
        if total + len(page.text) <= max_chars:
            total += len(page.text)
            continue
        kept = cut_at_space(page.text, max_chars - total)
        rest = document.pages[index + 1 :]
        if page.number is None:
            left_out = f"the text after character {total + len(kept):,}"
        else:
            last = document.pages[-1].number
            left_out = f"page {page.number} from character {len(kept):,} on" if kept else f"page {page.number}"
            if rest:
                left_out += f" and pages {rest[0].number}-{last}" if len(rest) > 1 else f" and page {last}"
        sections = [(start, name) for start, name in page.sections if start < len(kept)]
        document.pages = document.pages[:index] + ([PageText(page.number, kept, page.heading, page.ocr, sections)] if kept else [])
        document.warnings.append(characters_capped(max_chars, left_out))
        break
    return document


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
        return embedding_text(self.context, self.text)


def embedding_text(context: str | None, text: str) -> str:
    """What the models see of a passage (also rebuilt from a stored row, whose vector comes later)."""
    return f"{context}\n{text}" if context else text

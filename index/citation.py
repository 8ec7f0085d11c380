"""A passage as a memo cites it: its quotation, where it is, and the app's link to it.

The same words everywhere a passage leaves the app: the card's "Copy citation", a collection's
export, the command line. Plain text and Markdown, each ready to paste as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from .highlights import snippet_spans

SLIDE_KINDS = {"pptx", "odp", "ppt"}
SHEET_KINDS = {"xlsx", "ods", "csv", "xls"}


def place(kind: str, page: int | None) -> str:
    """'page 4', 'slide 7', 'sheet 2', or 'section' for formats without pages (Word, text)."""
    if page is None:
        return "section"
    if kind in SHEET_KINDS:
        return f"sheet {page}"
    return f"slide {page}" if kind in SLIDE_KINDS else f"page {page}"


def quotation(text: str, highlights: list[tuple[int, int]]) -> str:
    """The marked sentences of a passage (what its card shows first), joined by ' … ', on one line."""
    pieces = [" ".join(text[start:end].split()) for start, end in snippet_spans(text, highlights)]
    return " … ".join(piece for piece in pieces if piece)


def link(app_url: str, question: str, document: str) -> str:
    """The app's address of this passage: the question asked again within its document."""
    return f"{app_url.rstrip('/')}/?{urlencode({'q': question, 'doc': document})}"


@dataclass(frozen=True)
class Cited:
    """What a citation names: enough to find the page again without the app."""

    title: str
    document: str
    kind: str
    page: int | None
    heading: str
    quotation: str
    link: str = ""

    @classmethod
    def of(cls, result, link: str = "") -> "Cited":
        """The citation of a search result (index.Result)."""
        return cls(
            title=result.title or Path(result.document).stem, document=result.document, kind=result.kind,
            page=result.page, heading=result.heading if result.heading != result.title else "",
            quotation=quotation(result.text, result.highlights), link=link,
        )

    def source(self) -> str:
        """'Title, file.pdf, page 4, section "Heading"'."""
        parts = [self.title, self.document, place(self.kind, self.page)]
        if self.heading:
            parts.append(f"section “{self.heading}”")
        return ", ".join(parts)

    def as_text(self) -> str:
        lines = [f"“{self.quotation}”", self.source() + "."]
        return "\n".join(lines + ([self.link] if self.link else []))

    def as_markdown(self) -> str:
        title = markdown_text(self.title)
        where = [f"*{title}*", f"`{self.document.replace('`', '')}`", place(self.kind, self.page)]
        if self.heading:
            where.append(f"section “{markdown_text(self.heading)}”")
        source = ", ".join(where)
        if self.link:
            source += f" ([open in the library](<{self.link.replace('>', '%3E')}>))"
        return f"> {markdown_text(self.quotation)}\n>\n> — {source}"


def markdown_text(text: str) -> str:
    """Text that Markdown shows as its characters: its markup characters escaped."""
    special = "\\`*_[]<>#|~"  # emphasis, code, links, HTML, headings, tables, strike-through
    return "".join(f"\\{c}" if c in special else c for c in " ".join(text.split()))

"""A search result as a card: the passage with its best sentences marked, where it comes from,
and the ways to the source (open the PDF at the page; the whole slide or section; download).

The HTML is built by plain functions (`card_html`, `highlighted_html`) so its safety can be
tested without a browser: every piece of document text is escaped before it is marked up.
"""
from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

from index import Result

from . import source_files

KIND_LABELS = {
    "pdf": "PDF",
    "pptx": "Slides",
    "odp": "Slides (OpenDocument)",
    "ppt": "Slides (old PowerPoint)",
    "docx": "Word document",
    "odt": "Text document (OpenDocument)",
    "doc": "Word document (old)",
    "txt": "Text file",
    "md": "Text file (Markdown)",
    "xls": "Spreadsheet (old Excel)",
    "eml": "E-mail",
    "msg": "E-mail (Outlook)",
}
SLIDE_KINDS = {"pptx", "odp", "ppt"}
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "fr": "French",
    "de": "German", "pl": "Polish", "nl": "Dutch", "cs": "Czech", "sv": "Swedish", "da": "Danish",
    "fi": "Finnish", "el": "Greek", "ro": "Romanian", "hu": "Hungarian", "sk": "Slovak",
    "sl": "Slovenian", "hr": "Croatian", "bg": "Bulgarian", "et": "Estonian", "lv": "Latvian",
    "lt": "Lithuanian", "ca": "Catalan", "ga": "Irish", "mt": "Maltese",
}
MIME_TYPES = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "ppt": "application/vnd.ms-powerpoint",
    "doc": "application/msword",
    "txt": "text/plain",
    "md": "text/markdown",
    "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook",
}

CSS = """
<style>
.pxs-card {border: 1px solid rgba(49,51,63,0.15); border-radius: 0.6rem; padding: 0.9rem 1.1rem 0.7rem;
  margin: 0.2rem 0 0.4rem; background: rgba(250,250,252,0.6);}
.pxs-title {font-weight: 600; font-size: 1.05rem;}
.pxs-kind {font-size: 0.72rem; padding: 0.1rem 0.45rem; border-radius: 0.5rem; margin-left: 0.4rem;
  background: rgba(28,131,225,0.12); color: #0b5394; white-space: nowrap; vertical-align: 0.1rem;}
.pxs-where {color: #555; font-size: 0.85rem; margin: 0.15rem 0 0.5rem;}
.pxs-text {line-height: 1.55; font-size: 0.95rem;}
.pxs-text mark {background: #fff1a8; padding: 0 0.1rem; border-radius: 0.15rem;}
.pxs-foot {margin-top: 0.55rem; font-size: 0.82rem; color: #666; display: flex; gap: 0.9rem;
  flex-wrap: wrap; align-items: baseline;}
.pxs-open {font-weight: 600;}
.pxs-ocr {color: #8a5a00;}
.pxs-score {margin-left: auto; color: #aaa;}
.pxs-more {color: #444; font-size: 0.9rem; line-height: 1.5; margin-bottom: 0.6rem;}
.pxs-more-where {color: #777; font-size: 0.8rem;}
</style>
"""


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.upper() if kind else "Document")


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def location_label(kind: str, page: int | None) -> str:
    """'page 4', 'slide 7', or 'section' for formats without pages (Word, text)."""
    if page is None:
        return "section"
    return f"slide {page}" if kind in SLIDE_KINDS else f"page {page}"


def _escape(text: str) -> str:
    # html.escape stops HTML; "$" would start a formula in Streamlit's Markdown. Line breaks
    # become <br> so the whole card stays one HTML block, where no Markdown is interpreted.
    return html.escape(text, quote=True).replace("$", "&#36;").replace("\n", "<br>")


def plain(text: str) -> str:
    """Text shown through Markdown (messages, captions) exactly as written: specials escaped."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()#+-.!|<>~$:" else ch for ch in text)


def highlighted_html(text: str, spans: list[tuple[int, int]]) -> str:
    """The passage as safe HTML with the given character spans wrapped in <mark>."""
    pieces, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue  # overlapping or out of range: never mark text twice
        pieces.append(_escape(text[position:start]))
        pieces.append(f"<mark>{_escape(text[start:end])}</mark>")
        position = end
    pieces.append(_escape(text[position:]))
    return "".join(pieces)


def _where(document: str, kind: str, page: int | None) -> str:
    return f"{document}, {location_label(kind, page)}"


def card_html(result: Result, open_url: str | None = None) -> str:
    """One result card as a single line of HTML (see `_escape` for why a single line)."""
    title = result.title or Path(result.document).stem
    where = [html.escape(result.document), location_label(result.kind, result.page)]
    if result.heading and result.heading != result.title:  # a PDF's heading is often its title
        where.append(html.escape(result.heading))
    foot = []
    if open_url:
        label = f"Open at {location_label(result.kind, result.page)}" if result.page else "Open the document"
        foot.append(
            f'<a class="pxs-open" href="{html.escape(open_url, quote=True)}" target="_blank" '
            f'rel="noopener">{label} ↗</a>'
        )
    if result.ocr:
        foot.append('<span class="pxs-ocr">Read from a scanned page (OCR): the text may contain recognition errors</span>')
    if result.also_in:
        others = "; ".join(html.escape(_where(doc, result.kind, page)) for doc, page in result.also_in)
        foot.append(f"<span>Same passage also in: {others}</span>")
    foot.append(f'<span class="pxs-score" title="relevance score">{result.score:.3f}</span>')
    return (
        f'<div class="pxs-card" data-document="{html.escape(result.document, quote=True)}">'
        f'<div><span class="pxs-title">{_escape(title)}</span>'
        f'<span class="pxs-kind">{html.escape(kind_label(result.kind))}</span></div>'
        f'<div class="pxs-where">{" · ".join(where)}</div>'
        f'<div class="pxs-text">{highlighted_html(result.text, result.highlights)}</div>'
        f'<div class="pxs-foot">{"".join(foot)}</div></div>'
    )


def section_text(passages: list[dict], chunk_id: int) -> str:
    """The whole page, slide or section a passage belongs to, rebuilt from its passages.

    Passages overlap (each repeats the end of the one before) and carry their character span
    in the page text, so the text is put back together without repeating the overlaps. For
    formats without pages, the section is the run of passages under the same heading.
    """
    groups: list[list[dict]] = []
    for passage in passages:
        previous = groups[-1][-1] if groups else None
        new_section = (
            previous is None
            or passage["heading"] != previous["heading"]
            or passage["page"] != previous["page"]
            or (passage["start"] or 0) <= (previous["start"] or 0)
        )
        if new_section:
            groups.append([passage])
        else:
            groups[-1].append(passage)
    group = next((g for g in groups if any(p["id"] == chunk_id for p in g)), passages)
    text, end = "", None
    for passage in group:
        if end is None or passage["start"] is None:
            text += ("\n" if text else "") + passage["text"]
        else:
            text += passage["text"][max(0, end - passage["start"]):]
        end = passage["end"]
    return text


def inject_css() -> None:
    st.html(CSS)


def render_result(result: Result, searcher) -> None:
    """Draw one card, and below it the way to more: for a PDF "more from this document"; for
    slides and sections the whole slide or section (with speaker notes), more, and a download."""
    is_pdf = result.kind == "pdf"
    # A member of a ZIP package or a mail's attachment has no file of its own: its cached copy.
    path = searcher.source_file(result.path) or Path(result.path)
    name = Path(result.document).name
    open_url = source_files.open_at_page_url(path, result.page, name) if is_pdf else None
    st.markdown(card_html(result, open_url), unsafe_allow_html=True)
    if is_pdf and open_url is None:
        st.caption(f"{result.document} is no longer in the library folder, so it cannot be opened.")
    where = location_label(result.kind, result.page)
    if is_pdf:
        label, more = "More from this document", st.container()
    else:
        label = "Show the whole section" if result.page is None else f"Show the whole {where}"
        if result.kind in SLIDE_KINDS:
            label += " with its notes"
        more, download = st.columns([5, 1.4], vertical_alignment="top")
        if path.is_file():
            download.download_button(
                "Download",
                data=lambda: path.read_bytes(),  # read only when clicked, not on every search
                file_name=name,
                mime=MIME_TYPES.get(result.kind, "application/octet-stream"),
                key=f"download-{result.chunk_id}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
    with more.expander(label):
        if not is_pdf:
            passages = searcher.page_passages(result.document, result.page)
            st.markdown(
                f'<div class="pxs-text">{_escape(section_text(passages, result.chunk_id))}</div>',
                unsafe_allow_html=True,
            )
            st.divider()
            st.caption("Around this passage in the document")
        neighbours = searcher.neighbours(result.chunk_id)
        if not neighbours:
            st.caption("Nothing else: this passage is the whole document.")
        for passage in neighbours:
            heading = f" · {html.escape(passage['heading'])}" if passage.get("heading") else ""
            st.markdown(
                f'<div class="pxs-more"><span class="pxs-more-where">'
                f'{location_label(result.kind, passage["page"])}{heading}</span><br>{_escape(passage["text"])}</div>',
                unsafe_allow_html=True,
            )

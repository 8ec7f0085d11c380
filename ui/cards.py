"""A search result as a card: its best sentences with the question's words marked, where it comes
from, its page as a picture with the passage marked (ui/previews.py), and the ways to the source
(the marked PDF at the page; the other hits of the document; the whole slide or section; download).

The HTML is built by plain functions (`card_html`, `marked_html`, `snippet_html`) so its safety can be
tested without a browser: every piece of document text goes through `ui.escaping.escape` before it
is marked up. A card that cannot be drawn in full keeps its text and says why; the page goes on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from index import Result, snippet_spans
from index.citation import SLIDE_KINDS
from index.citation import place as location_label  # one wording of a place, for cards and citations

from . import previews, source_files
from .escaping import escape
from .previews import Preview

log = logging.getLogger("pxs.ui")

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
    "xlsx": "Spreadsheet (Excel)",
    "ods": "Spreadsheet (OpenDocument)",
    "csv": "Spreadsheet (CSV)",
    "html": "Web page",
    "eforms": "eForms notice (XML)",
    "image": "Picture (read by OCR)",
    "rtf": "Text document (RTF)",
    "eml": "E-mail",
    "msg": "E-mail (Outlook)",
}
# Session state: card (its best passage's id) -> the hit of its document it shows.
FOCUS = "pxs-focus"
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "fr": "French",
    "de": "German", "pl": "Polish", "nl": "Dutch", "cs": "Czech", "sv": "Swedish", "da": "Danish",
    "fi": "Finnish", "el": "Greek", "ro": "Romanian", "hu": "Hungarian", "sk": "Slovak",
    "sl": "Slovenian", "hr": "Croatian", "bg": "Bulgarian", "et": "Estonian", "lv": "Latvian",
    "lt": "Lithuanian", "ca": "Catalan", "ga": "Irish", "mt": "Maltese",
}
# A download's file name comes from the kind the content was read as, never from the document's
# own name: "document.pptx", sent as an attachment of no particular type.
DOWNLOAD_EXTENSIONS = {"eforms": "xml", "image": "bin", "eml": "eml", "msg": "msg"}

CSS = """
<style>
.pxs-card {border: 1px solid rgba(49,51,63,0.15); border-radius: 0.6rem; padding: 0.9rem 1.1rem 0.7rem;
  margin: 0.2rem 0 0.4rem; background: rgba(250,250,252,0.6);}
.pxs-title {font-weight: 600; font-size: 1.05rem;}
.pxs-kind {font-size: 0.72rem; padding: 0.1rem 0.45rem; border-radius: 0.5rem; margin-left: 0.4rem;
  background: rgba(28,131,225,0.12); color: #0b5394; white-space: nowrap; vertical-align: 0.1rem;}
.pxs-where {color: #555; font-size: 0.85rem; margin: 0.15rem 0 0.5rem;}
.pxs-text {line-height: 1.55; font-size: 0.95rem; white-space: pre-line;}
.pxs-text mark {background: #fff1a8; padding: 0 0.1rem; border-radius: 0.15rem;}
.pxs-foot {margin-top: 0.55rem; font-size: 0.82rem; color: #666; display: flex; gap: 0.9rem;
  flex-wrap: wrap; align-items: baseline;}
.pxs-open {font-weight: 600;}
.pxs-ocr {color: #8a5a00;}
.pxs-confidence {margin-left: auto; color: #4a4a4a;}
.pxs-more {color: #444; font-size: 0.9rem; line-height: 1.5; margin-bottom: 0.6rem; white-space: pre-line;}
.pxs-more-where {color: #595959; font-size: 0.8rem;}
.pxs-text mark.pxs-term {background: #ffd84d; font-weight: 600;}
.pxs-text .pxs-best {background: #fff6c9;}
.pxs-body {display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start;}
.pxs-main {flex: 1 1 22rem; min-width: 0;}
.pxs-page {flex: 0 0 9.5rem; margin: 0;}
.pxs-page summary {list-style: none; cursor: zoom-in;}
.pxs-page summary::-webkit-details-marker {display: none;}
.pxs-page[open] {flex-basis: 100%; order: 2;}
.pxs-page[open] summary {cursor: zoom-out;}
.pxs-shrink, .pxs-page[open] .pxs-enlarge {display: none;}
.pxs-page[open] .pxs-shrink {display: inline;}
.pxs-pic {position: relative; line-height: 0; border: 1px solid rgba(49,51,63,0.2); background: #fff;}
.pxs-pic img {width: 100%; height: auto; display: block;}
.pxs-pic .pxs-box {position: absolute; background: rgba(255, 212, 0, 0.42); mix-blend-mode: multiply;
  outline: 1px solid rgba(230, 170, 0, 0.55);}
.pxs-page-caption {font-size: 0.72rem; color: #595959; margin-top: 0.2rem; line-height: 1.2;}
.pxs-nopic {flex: 0 0 9.5rem; font-size: 0.75rem; color: #595959; border: 1px dashed rgba(49,51,63,0.25);
  padding: 0.6rem; text-align: center; cursor: help;}
.pxs-whole summary {cursor: pointer; color: #0b5394; font-size: 0.85rem; margin-top: 0.4rem;}
</style>
"""


def confidence_words(confidence: float) -> str:
    """A result's estimated chance of answering (index/confidence.py), as a person reads it."""
    chance = f"about {round(confidence * 10)} in 10" if confidence >= 0.05 else "less than 1 in 20"
    if confidence >= 0.6:
        return f"Likely answers your question ({chance})"
    if confidence >= 0.3:
        return f"May answer your question ({chance})"
    return f"Related, probably not the answer ({chance})"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.upper() if kind else "Document")


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def marked_html(text: str, sentences: list[tuple[int, int]], terms: list[tuple[int, int]]) -> str:
    """Safe HTML of `text`: the `sentences` spans set off, the question's `terms` marked in them
    and elsewhere. Every piece of text is escaped before it is wrapped."""
    cuts = sorted({0, len(text), *(p for span in (*sentences, *terms) for p in span if 0 <= p <= len(text))})
    pieces = []
    for start, end in zip(cuts, cuts[1:]):
        piece = escape(text[start:end])
        if any(a <= start and end <= b for a, b in terms):
            piece = f'<mark class="pxs-term">{piece}</mark>'
        if any(a <= start and end <= b for a, b in sentences):
            piece = f'<span class="pxs-best">{piece}</span>'
        pieces.append(piece)
    return "".join(pieces)


def snippet_html(result: Result) -> str:
    """What the card shows first (`snippet_spans`: the best sentences, or the passage's first
    words), joined by ' … ', with the question's words marked."""
    text = result.text
    spans = snippet_spans(text, result.highlights)
    pieces = []
    for start, end in spans:
        terms = [(max(a, start) - start, min(b, end) - start) for a, b in result.terms if a < end and b > start]
        pieces.append(marked_html(text[start:end], [], terms))
    lead = "… " if spans and spans[0][0] > 0 else ""
    tail = " …" if spans and spans[-1][1] < len(text.rstrip()) else ""
    return lead + " … ".join(pieces) + tail


def _where(document: str, kind: str, page: int | None) -> str:
    return f"{document}, {location_label(kind, page)}"


def picture_alt(result: Result, preview: Preview) -> str:
    """What the page picture shows, in words: 'Page 6 of Challenges met and lessons learned, the
    passage marked'. A section's page is the page of its rendition that holds it."""
    where = location_label(result.kind, result.page) if result.page else f"page {preview.page or 1}"
    title = result.title or Path(result.document).stem
    marked = ", the passage marked" if preview.boxes else ""
    return f"{where[0].upper()}{where[1:]} of {title}{marked}"


def picture_html(preview: Preview | None, where: str, alt: str = "") -> str:
    """The page picture with the passage's boxes on it, enlarged on a click; or, without one, a
    note whose tooltip says why. None: not drawn yet (the list comes first, pictures after).
    `alt` says what the picture shows (`picture_alt`)."""
    if preview is None:
        return '<div class="pxs-nopic" title="The page is being drawn">…</div>'
    if not preview.image_url:
        return f'<div class="pxs-nopic" title="{escape(preview.why_not)}">No page picture</div>'
    boxes = "".join(
        f'<span class="pxs-box" style="left:{100 * x0:.2f}%;top:{100 * y0:.2f}%;'
        f'width:{100 * (x1 - x0):.2f}%;height:{100 * (y1 - y0):.2f}%"></span>'
        for x0, y0, x1, y1 in preview.boxes
    )
    caption = (
        '<span class="pxs-enlarge">Click to enlarge</span><span class="pxs-shrink">Click to shrink</span>'
        if preview.boxes else escape(f"Passage not marked: {preview.why_not}")
    )
    return (
        f'<details class="pxs-page"><summary title="{escape(where)}: click to enlarge or shrink">'
        f'<div class="pxs-pic"><img src="{escape(preview.image_url)}" alt="{escape(alt or where)}" '
        f'loading="lazy">{boxes}</div><div class="pxs-page-caption">{caption}</div></summary></details>'
    )


def card_html(result: Result, open_url: str | None = None, preview: Preview | None = None,
              with_picture: bool = False) -> str:
    """One result card as a single line of HTML: a line break would end Markdown's HTML block."""
    title = result.title or Path(result.document).stem
    where = [escape(result.document), location_label(result.kind, result.page)]
    if result.heading and result.heading != result.title:  # a PDF's heading is often its title
        where.append(escape(result.heading))
    foot = []
    if preview is not None and preview.open_url:
        open_url = preview.open_url
    if open_url:
        if result.page:
            label = f"Open at {location_label(result.kind, result.page)}"
        else:  # a section: its page in the rendition
            label = f"Open at page {preview.page} (as PDF)" if preview is not None and preview.page else "Open the document"
        foot.append(
            f'<a class="pxs-open" href="{escape(open_url)}" target="_blank" '
            f'rel="noopener">{label} ↗</a>'
        )
    if result.ocr:
        foot.append('<span class="pxs-ocr">Read from a scanned page (OCR): the text may contain recognition errors</span>')
    if result.also_in:
        others = "; ".join(escape(_where(doc, result.kind, page)) for doc, page in result.also_in)
        foot.append(f"<span>Same passage also in: {others}</span>")
    if result.confidence is not None:
        foot.append(f'<span class="pxs-confidence">{confidence_words(result.confidence)}</span>')
    whole = (
        f'<details class="pxs-whole"><summary>Show the whole passage</summary>'
        f'<div class="pxs-text">{marked_html(result.text, result.highlights, result.terms)}</div></details>'
    )
    picture = picture_html(preview, _where(result.document, result.kind, result.page),
                           picture_alt(result, preview) if preview is not None else "") if with_picture else ""
    return (
        f'<div class="pxs-card" data-document="{escape(result.document)}" '
        f'data-passage="{result.chunk_id}" data-page="{result.page or ""}"><div class="pxs-body"><div class="pxs-main">'
        f'<div><span class="pxs-title">{escape(title)}</span>'
        f'<span class="pxs-kind">{escape(kind_label(result.kind))}</span></div>'
        f'<div class="pxs-where">{" · ".join(where)}</div>'
        f'<div class="pxs-text">{snippet_html(result)}</div>{whole}'
        f'<div class="pxs-foot">{"".join(foot)}</div></div>{picture}</div></div>'
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


def document_hits(result: Result) -> list[Result]:
    """The card's passage and the other hits of its document, in reading order."""
    return sorted([result, *result.in_document], key=lambda r: (r.page is None, r.page or 0, r.start or 0))


def _focus(result: Result) -> Result:
    """The hit of its document the card shows: its best, until the reader steps to another."""
    chosen = st.session_state.get(FOCUS, {}).get(result.chunk_id)
    return next((hit for hit in document_hits(result) if hit.chunk_id == chosen), result)


def _step_to(result: Result, hit: Result) -> None:
    st.session_state.setdefault(FOCUS, {})[result.chunk_id] = hit.chunk_id


def _document_steps(result: Result, shown: Result) -> None:
    """'3 more passages in this document: pages 7, 12, 31', and a step to the previous and next."""
    hits = document_hits(result)
    if len(hits) < 2:
        return
    at = next(i for i, hit in enumerate(hits) if hit.chunk_id == shown.chunk_id)
    others = [hit for hit in hits if hit.chunk_id != shown.chunk_id]
    text = f"{len(others)} more passage{'s' if len(others) != 1 else ''} in this document"
    if all(hit.page is not None for hit in others):  # "pages 7, 12, 31"; sections have no number
        unit = location_label(shown.kind, 1).split()[0] + ("s" if len(others) > 1 else "")
        text += f": {unit} {', '.join(str(hit.page) for hit in others)}"
    back, forward, said = st.columns([1.3, 1.3, 5], vertical_alignment="center")
    if at > 0:
        back.button(f"◀ {location_label(hits[at - 1].kind, hits[at - 1].page)}", key=f"back-{result.chunk_id}",
                    on_click=_step_to, args=(result, hits[at - 1]), help="The previous passage in this document")
    if at < len(hits) - 1:
        forward.button(f"{location_label(hits[at + 1].kind, hits[at + 1].page)} ▶", key=f"next-{result.chunk_id}",
                       on_click=_step_to, args=(result, hits[at + 1]), help="The next passage in this document")
    said.caption(text)


def render_result(result: Result, searcher, settings) -> Callable[[], None]:
    """Draw one card with its text at once, and below it the way to more: the other hits of its
    document, for a PDF "more from this document", for slides and sections the whole slide or
    section (with speaker notes) and a download. Returns what draws the page picture into the
    card, called once every card is on screen.

    Whatever fails in drawing one card (a file gone or refused, a name the file system will
    not take) leaves that card with its text and the reason, never the page without cards."""
    shown = _focus(result)
    card = st.empty()
    try:
        return _render_ways(result, shown, card, searcher, settings)
    except Exception as exc:  # noqa: BLE001 - one card's trouble stays in that card
        log.exception("the card of %s could not be drawn in full", shown.document)
        card.markdown(card_html(shown, None, None), unsafe_allow_html=True)
        st.caption(escape(f"Part of this card could not be drawn ({type(exc).__name__}); its text is above."))
        return lambda: None


def _render_ways(result: Result, shown: Result, card, searcher, settings) -> Callable[[], None]:
    is_pdf = shown.kind == "pdf"
    # A member of a ZIP package or a mail's attachment has no file of its own: its cached copy.
    path = searcher.source_file(shown.path) or Path(shown.path)
    try:
        real, refused = source_files.readable(path, settings.library_dir, settings.index_dir), ""
    except source_files.Refused as reason:
        real, refused = None, str(reason)
    open_url = source_files.open_at_page_url(real, shown.page) if is_pdf and real else None
    card.markdown(card_html(shown, open_url, None, with_picture=True), unsafe_allow_html=True)
    if refused:
        st.caption(escape(f"{shown.document} cannot be opened or downloaded: {refused}."))
    _document_steps(result, shown)
    if shown.sha256:
        from ui import document_page  # a page module: imported when a card is drawn, not before

        document_page.link(shown.sha256, shown.document)
    where = location_label(shown.kind, shown.page)
    if is_pdf:
        label, more = "More from this document", st.container()
    else:
        label = "Show the whole section" if shown.page is None else f"Show the whole {where}"
        if shown.kind in SLIDE_KINDS:
            label += " with its notes"
        more, download = st.columns([5, 1.4], vertical_alignment="top")
        if real:
            extension = DOWNLOAD_EXTENSIONS.get(shown.kind, shown.kind if shown.kind.isalnum() else "bin")
            download.download_button(
                "Download",
                # Read only when clicked, not on every search, and the link rule checked then.
                data=lambda: source_files.read_file(path, settings.library_dir, settings.index_dir),
                file_name=f"document.{extension}",
                mime="application/octet-stream",
                key=f"download-{result.chunk_id}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
    with more.expander(label):
        if not is_pdf:
            passages = searcher.page_passages(shown.document, shown.page)
            st.markdown(
                f'<div class="pxs-text">{escape(section_text(passages, shown.chunk_id))}</div>',
                unsafe_allow_html=True,
            )
            st.divider()
            st.caption("Around this passage in the document")
        neighbours = searcher.neighbours(shown.chunk_id)
        if not neighbours:
            st.caption("Nothing else: this passage is the whole document.")
        for passage in neighbours:
            heading = f" · {escape(passage['heading'])}" if passage.get("heading") else ""
            st.markdown(
                f'<div class="pxs-more"><span class="pxs-more-where">'
                f'{location_label(shown.kind, passage["page"])}{heading}</span><br>{escape(passage["text"])}</div>',
                unsafe_allow_html=True,
            )

    def draw_picture() -> None:
        if real is None:
            picture = Preview(why_not=refused)
        else:
            try:
                picture = previews.preview(shown, real, settings.index_dir, settings.ocr_languages,
                                           settings.preview_cache_mb)
            except Exception as exc:  # noqa: BLE001 - the card keeps its text and says why
                log.exception("the page picture of %s could not be drawn", shown.document)
                picture = Preview(why_not=f"the page could not be drawn ({type(exc).__name__})")
        card.markdown(card_html(shown, open_url, picture, with_picture=True), unsafe_allow_html=True)

    return draw_picture

"""What a reader does with a card: copy its citation, keep it in a collection, judge it.

Drawn under each result card of the Ask page; the work itself lives in index/ (citation,
collections, feedback): this module only lays out the buttons and says what happened.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from index import Filters, Result
from index.citation import Cited
from ui.escaping import escape

# The app's pages other than Ask, by their URL path: a page's address minus this is the app's.
PAGE_PATHS = ("browse", "add", "library", "collections", "watched")
KEEP_INTO = "pxs-keep-into"
DEFAULT_COLLECTION = "Notes for my memo"


def app_url() -> str:
    """The app's own address as the reader's browser sees it (scheme, host, base path)."""
    url = st.context.url or "http://localhost:8501/"
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last in PAGE_PATHS:
        path = head
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def cited(result: Result, question: str) -> Cited:
    from index.citation import link

    return Cited.of(result, link(app_url(), question, result.document))


# Streamlit's own copy button (st.code's) shows only under a mouse pointer: a keyboard never
# reaches it. These are plain buttons in a component frame, which Streamlit lets write to the
# clipboard; each says "Copied" on itself for a moment, and aloud (a live region), when it has.
COPY_HTML = """<!doctype html><html lang="en"><head><style>
body {margin: 0; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; font-size: 14px;}
button {font: inherit; color: #31333f; background: #fff; border: 1px solid rgba(49,51,63,0.3);
  border-radius: 0.5rem; padding: 0.3rem 0.75rem; margin: 2px 0.4rem 2px 2px; cursor: pointer;}
button:hover {border-color: #ff4b4b; color: #ff4b4b;}
button:focus-visible {outline: 2px solid #0b5394; outline-offset: 1px;}
button.done {border-color: #1b6e20; color: #1b6e20;}
#said {position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;}
</style></head><body>
<button type="button" id="text" title="Quotation, title, file, page and the app's link, as plain text">Copy citation</button>
<button type="button" id="markdown" title="The same, as Markdown">Copy as Markdown</button>
<span id="said" role="status" aria-live="polite"></span>
<script>
const citation = __CITATION__;
for (const form of ["text", "markdown"]) {
  const button = document.getElementById(form), label = button.textContent;
  button.addEventListener("click", async () => {
    const said = document.getElementById("said");
    try {
      await navigator.clipboard.writeText(citation[form]);
      said.textContent = "Copied";
      button.textContent = "Copied ✓";
      button.classList.add("done");
      setTimeout(() => { button.textContent = label; button.classList.remove("done"); }, 2500);
    } catch (error) {
      said.textContent = "Your browser did not allow copying";
      button.textContent = "Copying not allowed";
    }
  });
}
</script></body></html>"""


def copy_html(citation: Cited) -> str:
    """The copy buttons' page, the citation in its script as JSON."""
    import json

    data = json.dumps({"text": citation.as_text(), "markdown": citation.as_markdown()})
    # Inside <script>, "<" could close the tag: written as its JSON escape, which reads the same.
    return COPY_HTML.replace("__CITATION__", data.replace("<", "\\u003c"))


def copy_buttons(citation: Cited) -> None:
    """"Copy citation" and "Copy as Markdown", each putting the citation on the clipboard."""
    st.iframe(copy_html(citation), height=40)  # one line, down to a phone's 320 pixels


# At most this many glosses under a card: the terms of its marked sentences, in their order.
GLOSSES_SHOWN = 6


def terms_line(result: Result, question: str) -> None:
    """Under a passage in another language than the question: its procurement terms with the
    glossary's equivalents ("garanzia provvisoria — bid bond"), said to be the glossary's."""
    from index.glosses import glosses, question_language

    from .cards import language_name

    reader = question_language(question)
    found = glosses(result.text, result.highlights, result.language, reader)[:GLOSSES_SHOWN]
    if found:
        terms = " · ".join(f"{escape(g.term)} — {escape(g.equivalent)}" for g in found)
        st.caption(f"Procurement terms in this {language_name(result.language)} passage, in "
                   f"{language_name(reader)} from the app's glossary (not a translation): {terms}")


def collection_choice(settings) -> None:
    """In the sidebar: the collection "Keep" adds to, an existing one or a new name."""
    from index import collections

    known = [name for name, _ in collections.names(settings.index_dir)]
    with st.sidebar:
        st.subheader("Keep passages for a memo")
        st.selectbox(
            "Keep in the collection", known or [DEFAULT_COLLECTION], key=KEEP_INTO, accept_new_options=True,
            help="Choose a collection, or type a new name. The Collections page exports it as Word, Markdown or CSV.",
        )


def _keep(result: Result, question: str, settings) -> None:
    from index import collections

    collections.keep(settings.index_dir, keeping_into(), result, question, cited(result, question).link)


def _judge(result: Result, question: str, filters: Filters, settings, answers: bool) -> None:
    from index import feedback

    feedback.record(settings.index_dir, question, filters, result, answers)


def keeping_into() -> str:
    """The collection chosen in the sidebar, as the store names it (at most 200 characters)."""
    return " ".join((st.session_state.get(KEEP_INTO) or DEFAULT_COLLECTION).split())[:200] or DEFAULT_COLLECTION


def render(result: Result, question: str, filters: Filters, settings) -> None:
    """The tools row under one card (its key names the passage, for tests and styling)."""
    from index import collections, feedback

    key = result.chunk_id
    with st.container(key=f"tools-{key}"):
        terms_line(result, question)
        copy_buttons(cited(result, question))
        with st.container(horizontal=True, vertical_alignment="center"):
            collection = keeping_into()
            if collections.holds(settings.index_dir, collection, result):
                st.button(f"Kept in “{collection}”", key=f"keep-{key}", disabled=True, icon=":material/bookmark_added:")
            else:
                st.button("Keep", key=f"keep-{key}", icon=":material/bookmark_add:", on_click=_keep,
                          args=(result, question, settings), help=f"Add this passage to “{collection}”")
            said = feedback.verdict(settings.index_dir, question, result.document, result.page)
            st.button("Answers my question", key=f"yes-{key}", icon=":material/thumb_up:",
                      type="primary" if said is True else "secondary", on_click=_judge,
                      args=(result, question, filters, settings, True),
                      help="Tell the team this page answers the question; it does not change the ranking")
            st.button("Not this", key=f"no-{key}", icon=":material/thumb_down:",
                      type="primary" if said is False else "secondary", on_click=_judge,
                      args=(result, question, filters, settings, False),
                      help="Tell the team this page does not answer the question; it does not change the ranking")
            if said is not None:
                st.caption("Your team's verdict: " + ("answers the question" if said else "not this"))


def day(iso: str) -> str:
    """'3 December' from an ISO time."""
    from datetime import datetime

    when = datetime.fromisoformat(iso)
    return f"{when.day} {when.strftime('%B')}"


def new_passages_line(found) -> str:
    """'2 new passages since 3 December: report.pdf page 4; …' for a watched question."""
    count = len(found.new)
    line = f"{count} new passage{'s' if count != 1 else ''} since {day(found.since)}"
    if found.new:
        line += ": " + "; ".join(
            f"{n.document}, {'section' if n.page is None else f'page {n.page}'}" for n in found.new[:5]
        ) + (" …" if count > 5 else "")
    return line


def watch_line(question: str, filters: Filters, searcher, settings) -> None:
    """Above the cards: "Watch this question", or, when it is watched, what is new since."""
    from index import watch

    found = watch.find(settings.index_dir, question, filters)
    with st.container(horizontal=True, vertical_alignment="center", key="watch-line"):
        if found is None:
            st.button("Watch this question", icon=":material/notifications:", key="watch",
                      on_click=watch.watch, args=(settings.index_dir, searcher, question, filters),
                      help="Ask it again after every indexing run and flag the passages new in its top ten")
        else:
            st.caption(f"Watched. {new_passages_line(found)}.")
            st.button("Stop watching", icon=":material/notifications_off:", key="unwatch",
                      on_click=watch.unwatch, args=(settings.index_dir, found.id))

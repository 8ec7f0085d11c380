"""The Ask page: one question box, filters in the sidebar, results as cards.

The question and the filters are bound to the URL (`bind="query-params"`), so the address bar
always holds the current search: a colleague who opens the link sees the same results.
"""
from __future__ import annotations

import dataclasses
import logging
import time

import streamlit as st

from index import Filters, IndexUnavailable
from index.question import too_long
from ui import card_tools, cards, facets as facet_widgets, resources
from ui.escaping import escape
from ui.indexing import question_asked

log = logging.getLogger("pxs.ui")

# Shown while the question box is empty; one click asks them. They suit the bundled sample
# library (exchange reports and decks) and read as examples of the tone to use anywhere.
EXAMPLE_QUESTIONS = (
    "How did they run the market consultation?",
    "What weight did the award criteria give to quality?",
    "What went wrong during the exchange, and what did they learn?",
)
RESULT_COUNTS = (5, 10, 20, 30)
# The widget keys double as the URL's parameter names, and a bound filter shows its labels
# there: ?q=...&type=PDF&doc=reports/x.pdf&lang=Spanish&n=20 (so labels must be unique).
QUESTION, KINDS, DOCUMENTS, LANGUAGES, COUNT = "q", "type", "doc", "lang", "n"
LABEL_GROUPS = ("stage", "kind", "topic")  # the Browse page's labels, under the same URL names
FOCUS_QUESTION = "pxs-focus-question"
# Said above the cards when the library probably holds no answer (index/confidence.py: the
# estimated probability that it does is below one half).
NOTHING_ANSWERS = "Nothing in the library answers this closely; the nearest passages are:"
NOTHING_ANSWERS_BELOW = 0.5


def ask(question: str) -> None:
    st.session_state[QUESTION] = question


def clear_filters() -> None:
    for key in (KINDS, DOCUMENTS, LANGUAGES, *LABEL_GROUPS):
        st.session_state[key] = []
    facet_widgets.clear()


def sidebar_filters(documents: list[dict], facets: dict | None = None) -> tuple[Filters, int]:
    """The filter widgets, built from what the library holds (`facets`: the metadata values
    with their counts, Searcher.facets)."""
    indexed = [d for d in documents if d["status"] == "indexed"]
    kinds = sorted({d["kind"] for d in indexed if d["kind"]}, key=cards.kind_label)
    names = sorted(d["name"] for d in indexed)
    languages = sorted({code for d in indexed for code in (d["languages"] or "").split(",") if code}, key=cards.language_name)
    with st.sidebar:
        st.subheader("Narrow the search")
        chosen_kinds = st.multiselect(
            "Type of document", kinds, key=KINDS, bind="query-params", format_func=cards.kind_label,
            placeholder="All types",
        )
        # Documents by file name: unique, and stable in a shared link even when a title changes.
        chosen_documents = st.multiselect(
            "Documents", names, key=DOCUMENTS, bind="query-params", placeholder="All documents",
        )
        chosen_languages = st.multiselect(
            "Language of the passage", languages, key=LANGUAGES, bind="query-params",
            format_func=cards.language_name, placeholder="All languages",
        )
        chosen_labels = []
        label_set = resources.label_set()
        for group in LABEL_GROUPS:
            names = {label.key.split(":", 1)[1]: label.name for label in label_set.in_group(group)}
            chosen = st.multiselect(
                label_set.groups[group].title, list(names), key=group, bind="query-params",
                format_func=names.get, placeholder="Any",
                help="Found from the text of each page (see the Browse page)",
            )
            chosen_labels += [f"{group}:{name}" for name in chosen]
        metadata = facet_widgets.facet_filters(facets or {})
        count = st.selectbox("Number of results", RESULT_COUNTS, index=1, key=COUNT, bind="query-params")
        if chosen_kinds or chosen_documents or chosen_languages or chosen_labels or metadata.active():
            st.button("Clear the filters", on_click=clear_filters, icon=":material/filter_alt_off:")
    filters = dataclasses.replace(metadata, documents=chosen_documents or None, kinds=chosen_kinds or None,
                                  languages=chosen_languages or None, labels=chosen_labels or None)
    return filters, int(count or 10)


def show_examples() -> None:
    st.write("Ask in your own words, in any language of the library. For example:")
    for number, question in enumerate(EXAMPLE_QUESTIONS):
        st.button(question, key=f"example-{number}", on_click=ask, args=(question,), icon=":material/chat:")


def meaning_pending(documents: int, by_keywords: int, shown: int) -> str:
    """Why some cards were found by their words alone: the meaning of new documents is still
    being computed (index/store.py), and which of the cards that concerns."""
    waiting = f"meaning still being computed for {documents} document{'s' if documents != 1 else ''}"
    if by_keywords == shown:
        return f"Found by keywords only; {waiting}."
    if by_keywords:
        return f"{by_keywords} of these {shown} found by keywords only; {waiting}."
    return f"{waiting[0].upper()}{waiting[1:]}; until then they are found by keywords only."


def render_results(results, searcher, question: str, filters: Filters, settings) -> None:
    """The result list: a line saying what was found, one card per result, then the cards' page
    pictures (drawn after the list, so the answer never waits for them)."""
    cards.inject_css()
    if not results:
        if filters.active():
            st.info("No passage matches this question with these filters. Try clearing the filters, or other words.")
            st.button("Clear the filters", on_click=clear_filters, key="clear-filters-empty")
        else:
            st.info("No passage matches this question. Try other words, or a shorter question.")
        return
    if results[0].answerable is not None and results[0].answerable < NOTHING_ANSWERS_BELOW:
        st.warning(NOTHING_ANSWERS, icon=":material/search_off:")
    awaiting = searcher.documents_awaiting_vectors()
    if awaiting:
        st.info(meaning_pending(awaiting, sum(r.keywords_only for r in results), len(results)), icon=":material/hourglass_top:")
    st.caption(
        f"{len(results)} best passage{'s' if len(results) != 1 else ''} for “{escape(question)}”. "
        "The address bar holds this search: copy it to share it with a colleague."
    )
    if st.session_state.get(FOCUS_QUESTION) != question:  # steps within a document belong to one question
        st.session_state[FOCUS_QUESTION] = question
        st.session_state[cards.FOCUS] = {}
    card_tools.collection_choice(settings)
    card_tools.watch_line(question, filters, searcher, settings)
    pictures = []
    for result in results:
        pictures.append(cards.render_result(result, searcher, settings))
        card_tools.render(result, question, filters, settings)
    for draw_picture in pictures:
        draw_picture()


def main() -> None:
    settings = resources.load_settings()
    opened = resources.open_index(settings)
    if opened is None:
        return
    searcher, documents = opened
    filters, count = sidebar_filters(documents, searcher.facets())

    st.title("Ask the library")
    indexed = sum(d["status"] == "indexed" for d in documents)
    st.caption(
        f"{indexed} document{'s' if indexed != 1 else ''} in {resources.display_path(settings.library_dir)}"
    )
    just_built = st.session_state.pop("just_built", None)
    news = resources.first_run_news(settings)
    if just_built:
        st.success(f"Your library is ready: {just_built}", icon=":material/check_circle:")
    elif news and news[0] == "success":
        st.success(news[1], icon=":material/check_circle:")
    if news and news[0] == "info":
        st.info(news[1], icon=":material/hourglass_top:")
    elif resources.busy(settings):
        st.info("Documents are being added right now; they appear in the results as soon as they are read.",
                icon=":material/hourglass_top:")
    if indexed == 0:
        st.info("The library is empty. Add documents to start asking questions.", icon=":material/info:")
        st.page_link("upload_page.py", label="Add documents", icon=":material/upload_file:")
        return

    question = st.text_input(
        "Your question", key=QUESTION, bind="query-params",
        placeholder="e.g. How did they involve suppliers before the tender?",
        help="Press Enter to search.",
    )
    if not (question or "").strip():
        show_examples()
        return
    problem = too_long(question, settings.question_max_chars)
    if problem:  # checked before anything is parsed: a long question costs CPU for every word
        st.warning(escape(problem[0].upper() + problem[1:] + "."), icon=":material/short_text:")
        return
    try:
        started = time.perf_counter()
        question_asked()  # an indexing run of this app's yields a core meanwhile
        results = searcher.search(question, k=count, filters=filters)
        render_results(results, searcher, question.strip(), filters, settings)
        log.info("question answered in %.0f ms", (time.perf_counter() - started) * 1000)
    except IndexUnavailable as problem:
        resources.show_index_problem(problem, settings)
    except Exception as exc:  # noqa: BLE001 - a user sees a sentence, the log keeps the traceback
        log.exception("search failed for %r", question)
        st.error(f"Something went wrong while searching ({type(exc).__name__}). Please try again; "
                 "if it keeps happening, rebuild the index from the Library page.")


if __name__ == "__main__":  # Streamlit runs a page as __main__; importing it draws nothing
    main()

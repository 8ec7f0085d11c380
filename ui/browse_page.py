"""The Browse page: the library in the order of the work.

A row of the procurement cycle's stages with the documents each holds; under the chosen stage,
the documents grouped by kind of material, each with its best pages; a click on a page shows it
as a result card, with its picture and a link that opens the source there. The choices live in
the URL (stage, kind, topic), as the Ask page's filters do, so a view can be shared as a link.
"""
from __future__ import annotations

import streamlit as st

from index import IndexUnavailable
from ui import cards, document_page, facets as facet_widgets, resources
from ui.escaping import escape

STAGE, KIND, TOPIC = "stage", "kind", "topic"
OPEN_PAGE = "pxs-browse-open"  # (kind group, document, page) whose card is shown


def _asked(label_set) -> list[str]:
    """The labels chosen, from the pills or, on opening a link, from the URL."""
    asked = []
    for group in (STAGE, KIND, TOPIC):
        key = f"browse-{group}"
        if key not in st.session_state:
            known = {label.key.split(":", 1)[1] for label in label_set.in_group(group)}
            st.session_state[key] = [v for v in st.query_params.get_all(group) if v in known]
        asked += [f"{group}:{name}" for name in st.session_state[key]]
    return asked


def _choice(group: str, found, label_set) -> None:
    """The pills of one group with the documents each would show; the URL keeps the label ids."""
    key = f"browse-{group}"
    options = [label.key.split(":", 1)[1] for label in label_set.in_group(group)]
    counts = found.counts[group]
    chosen = st.pills(
        label_set.groups[group].title, options, key=key, selection_mode="multi",
        format_func=lambda name: f"{found.names[f'{group}:{name}']} · {counts.get(f'{group}:{name}', 0)}",
    )
    if chosen:
        st.query_params[group] = chosen
    elif group in st.query_params:
        del st.query_params[group]


def _open(kind: str, document: str, page) -> None:
    st.session_state[OPEN_PAGE] = (kind, document, page)


def show_documents(found, searcher, settings) -> None:
    opened = st.session_state.get(OPEN_PAGE)
    for kind, documents in found.by_kind().items():
        st.subheader(f"{found.names[kind]} · {len(documents)}")
        for document in documents:
            language = cards.language_name(document.language) if document.language else ""
            facts = " · ".join(x for x in (cards.kind_label(document.type), language) if x)
            with st.container(border=True, key=f"browse-doc-{kind}-{document.document}"):
                st.markdown(f"**{escape(document.title)}**  \n{escape(document.document)} · {facts}")
                described = document_page.metadata_line(document.metadata)
                if described:
                    st.caption(escape(described))
                document_page.link(document.sha256, document.document)
                st.caption(escape(document.line) + "…")
                columns = st.columns(max(len(document.pages), 1) + 2)
                for column, result in zip(columns, document.pages):
                    where = cards.location_label(result.kind, result.page)
                    column.button(where.capitalize() if result.page is not None else "Section",
                                  key=f"browse-{kind}-{document.document}-{result.page}",
                                  on_click=_open, args=(kind, document.document, result.page),
                                  help=f"Show {where} of {escape(document.document)}")
                for result in document.pages:
                    if opened == (kind, document.document, result.page):
                        cards.render_result(result, searcher, settings)()


def main() -> None:
    settings = resources.load_settings()
    st.title("Browse the library")
    try:
        searcher = resources.searcher(settings)
        label_set = resources.label_set()
        asked = _asked(label_set)
        with st.expander("Country, years, organisation, document type"):
            metadata = facet_widgets.facet_filters(searcher.facets())
        found = resources.browse(settings, asked, metadata)
    except IndexUnavailable as problem:
        resources.show_index_problem(problem, settings)
        return
    if not found.labelled:
        st.info("The library's pages are not labelled yet: they are labelled when documents are next added "
                "or the index is rebuilt from the Library page.", icon=":material/info:")
        return
    st.caption("The library's pages sorted by the stage of the procurement cycle they are about, the kind of "
               "material they are, and their topics. The labels are found from the text, so some pages are "
               "missing or misplaced; the Ask page finds the rest.")
    cards.inject_css()
    for group in (STAGE, KIND, TOPIC):
        _choice(group, found, label_set)
    if not asked and not metadata.active():
        st.info("Choose a stage, a kind of material or a topic to see its documents.", icon=":material/touch_app:")
        return
    names = ", ".join(found.names[key] for key in asked)
    st.markdown(f"{len(found.documents)} document{'s' if len(found.documents) != 1 else ''}"
                + (f" with pages on {escape(names)}." if asked else " of the library match."))
    # The Ask page's filters show the labels' names in the URL, as its other filters do.
    filters: dict[str, list[str]] = {}
    for key in asked:
        filters.setdefault(key.split(":")[0], []).append(found.names[key])
    st.page_link("search_page.py", label="Ask a question within these", icon=":material/search:", query_params=filters)
    show_documents(found, searcher, settings)


if __name__ == "__main__":  # Streamlit runs a page as __main__; importing it draws nothing
    main()

"""The Collections page: the passages the team kept for a memo, in the order the memo needs them,
each with a note; exported as Word, Markdown or CSV.

Collections live in the team's store beside the index (index/teamwork.py): everyone who opens
the app sees the same ones, and they outlive a restart.
"""
from __future__ import annotations

import re

import streamlit as st

from index import collections
from index.citation import place
from index.export import FORMATS, GONE, export, page_picture
from index.teamwork import file_path
from ui import resources, source_files
from ui.escaping import escape

CHOSEN = "collection"  # the widget key doubles as the URL parameter: a collection can be linked
FORMAT_LABELS = {"docx": "Word (DOCX)", "md": "Markdown", "csv": "CSV (spreadsheet)"}


def file_name(name: str, kind: str) -> str:
    """A download's name made from the collection's: letters, digits and dashes only."""
    stem = re.sub(r"[^\w-]+", "-", name, flags=re.ASCII).strip("-").lower() or "collection"
    return f"{stem[:60]}.{kind}"


def page_picture_of(passage, settings) -> bytes | None:
    """A kept passage's page picture for the Word export, its file read under the library's link rule."""
    path = file_path(settings.index_dir, passage.document, passage.sha256)
    try:
        real = source_files.readable(path, settings.library_dir, settings.index_dir) if path else None
    except source_files.Refused:
        return None
    return page_picture(settings.index_dir, passage, real)


def _note_changed(index_dir, kept_id: int) -> None:
    collections.set_note(index_dir, kept_id, st.session_state[f"note-{kept_id}"])


def show_passage(index_dir, passage, number: int, total: int) -> None:
    with st.container(border=True, key=f"kept-{passage.id}"):
        st.markdown(f"**{number}. {escape(passage.title)}** · {escape(passage.document)}, "
                    f"{place(passage.kind, passage.page)}")
        st.markdown(f"> {escape(passage.quotation)}")
        if not passage.in_library:
            st.warning(GONE, icon=":material/inventory_2:")
        st.caption(f"Kept for “{escape(passage.question)}” on {passage.added[:10]}")
        st.text_input("Note", value=passage.note, key=f"note-{passage.id}", on_change=_note_changed,
                      args=(index_dir, passage.id), placeholder="Why this passage matters for the memo")
        with st.container(horizontal=True):
            st.button("Move up", key=f"up-{passage.id}", icon=":material/arrow_upward:", disabled=number == 1,
                      on_click=collections.move, args=(index_dir, passage.id, -1))
            st.button("Move down", key=f"down-{passage.id}", icon=":material/arrow_downward:",
                      disabled=number == total, on_click=collections.move, args=(index_dir, passage.id, 1))
            st.button("Remove", key=f"remove-{passage.id}", icon=":material/delete:",
                      on_click=collections.remove, args=(index_dir, passage.id))


def main() -> None:
    settings = resources.load_settings()
    st.title("Collections")
    found = collections.names(settings.index_dir)
    if not found:
        st.info("No collection yet. On the Ask page, press “Keep” under a result to start one.",
                icon=":material/bookmark_add:")
        return
    counts = dict(found)
    name = st.selectbox("Collection", list(counts), key=CHOSEN, bind="query-params",
                        format_func=lambda n: f"{n} ({counts[n]} passage{'s' if counts[n] != 1 else ''})")
    if name not in counts:
        return
    passages = collections.kept(settings.index_dir, name)
    pictures = st.checkbox("Word: with each page's picture, the passage marked", key="export-pictures")
    if pictures:
        st.caption("The Word file takes a moment longer: each page is drawn when you export.")
    with st.container(horizontal=True):
        for kind in FORMATS:
            picture = (lambda p: page_picture_of(p, settings)) if pictures and kind == "docx" else None
            st.download_button(
                f"Export as {FORMAT_LABELS[kind]}",
                # Made only when clicked: pictures take a moment per page.
                data=lambda kind=kind, picture=picture: export(name, collections.kept(settings.index_dir, name), kind, picture),
                file_name=file_name(name, kind), mime=FORMATS[kind], key=f"export-{kind}",
                on_click="ignore", icon=":material/download:",
            )
    for number, passage in enumerate(passages, 1):
        show_passage(settings.index_dir, passage, number, len(passages))


if __name__ == "__main__":  # Streamlit runs a page as __main__; importing it draws nothing
    main()

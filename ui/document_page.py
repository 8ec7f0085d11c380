"""The page of one document: what it is, its metadata and its labels by page (a curator corrects
them here), its passages page by page, and a way to ask within it.

Opened as /document?sha=<sha256 of the file's content>: the link holds after a rename, as the
corrections do (index/curation.py).
"""
from __future__ import annotations

from contextlib import closing
from pathlib import Path

import streamlit as st

from index import Result, container_of
from index.curation import BadCorrection, correct_labels, correct_metadata, metadata_of, page_labels_of
from index.metadata import COUNTRIES, DOCTYPES, FIELD_NAMES, FIELDS, MULTIPLE
from index.store import connect
from ui import access, previews, resources, source_files
from ui.cards import inject_css, kind_label, language_name, location_label, picture_html
from ui.escaping import escape
from ui.facets import country_name, doctype_name

SHA = "sha"
NOTICE = "pxs-document-notice"
WHOLE = "The whole document"
PAGES_SHOWN = 40  # pages whose passages are listed at once; a long handbook shows the rest on demand
SOURCE_WORDS = {"document metadata": "the file's own properties", "text": "its text", "file name": "its file name",
                "folder name": "its folder's name", "curator": "corrected by a curator"}


def link(sha256: str, name: str) -> None:
    """A link to the page of the document with this content."""
    st.page_link("document_page.py", label="About this document", icon=":material/description:",
                 query_params={SHA: sha256}, help=f"Metadata, labels and every page of {name}")


def chooser(documents: list[dict]) -> None:
    """A choice of the library's documents and a link to the chosen one's page (the Library page)."""
    indexed = [d for d in documents if d["status"] == "indexed"]
    if not indexed:
        return
    chosen = st.selectbox("Open the page of a document", indexed, index=None, placeholder="Choose a document",
                          format_func=lambda d: f"{d['title'] or Path(d['name']).stem} ({d['name']})", key="document-chooser")
    if chosen:
        link(chosen["sha256"], chosen["name"])


def shown_value(field: str, value: str) -> str:
    return country_name(value) if field == "country" else doctype_name(value) if field == "doctype" else value


def metadata_line(values: dict[str, list[str]]) -> str:
    """'Italy · Torino · 2025 · Azienda Ospedaliera … · Tender rules': what a list shows of a document."""
    parts = [", ".join(shown_value(name, v) for v in values[name]) for name in ("country", "place", "year", "organisation",
                                                                                 "doctype") if values.get(name)]
    return " · ".join(parts)


def _size(size: int | None) -> str:
    if not size:
        return ""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _facts(document: dict) -> str:
    languages = ", ".join(language_name(c) for c in (document["languages"] or "").split(",") if c)
    pages = document["pages"]
    unit = location_label(document["kind"] or "", 1).split(" ")[0] if pages else ""
    parts = [kind_label(document["kind"] or ""), _size(document["size"]),
             f"{pages} {unit}{'s' if pages != 1 else ''}" if pages else "", languages]
    return " · ".join(p for p in parts if p)


def show_metadata(connection, sha: str) -> dict:
    found = metadata_of(connection, sha)
    st.subheader("Metadata")
    if not found:
        st.caption("Nothing was found about where this document comes from.")
    lines = []
    for name, items in found.items():
        source = items[0].source
        sure = "" if source == "curator" else f", {items[0].confidence:.0%} sure"
        values = ", ".join(shown_value(name, item.value) for item in items)
        lines.append(f"- {FIELD_NAMES[name]}: **{escape(values)}** ({SOURCE_WORDS.get(source, source)}{sure})")
    if lines:
        st.markdown("\n".join(lines))
    return found


def correct_metadata_form(connection, sha: str, found: dict) -> None:
    with st.form("correct-metadata"):
        st.markdown("**Correct the metadata** (leave a field empty if the document has no such value)")
        values = {}
        current = {name: [f.value for f in found.get(name, [])] for name in FIELDS}
        for name in FIELDS:
            now = current[name]
            if name == "country":
                options = [""] + sorted(COUNTRIES, key=country_name)
                values[name] = st.selectbox(FIELD_NAMES[name], options, index=options.index(now[0]) if now and now[0] in options else 0,
                                            format_func=lambda c: country_name(c) if c else "None", key="fix-country")
            elif name == "doctype":
                options = [""] + list(DOCTYPES)
                values[name] = st.selectbox(FIELD_NAMES[name], options, index=options.index(now[0]) if now and now[0] in options else 0,
                                            format_func=lambda d: doctype_name(d) if d else "None", key="fix-doctype")
            else:
                values[name] = st.text_input(FIELD_NAMES[name] + (" (separated by commas)" if name in MULTIPLE else ""),
                                             ", ".join(now), key=f"fix-{name}")
        saved = st.form_submit_button("Save the corrections", icon=":material/save:")
    if not saved:
        return
    changed = []
    try:
        for name in FIELDS:
            asked = [v.strip() for v in values[name].split(",")] if name in MULTIPLE else [values[name].strip()]
            asked = [v for v in asked if v]
            if asked != current[name]:
                correct_metadata(connection, sha, name, asked)
                changed.append(FIELD_NAMES[name].lower())
    except BadCorrection as problem:
        st.error(escape(f"Not saved: {problem}."))
        return
    st.session_state[NOTICE] = f"Saved: {', '.join(changed)}." if changed else "Nothing had changed."
    st.rerun()


def show_labels(connection, sha: str, document: dict, editable: bool) -> None:
    label_set = resources.label_set()
    names = {label.key: label.name for label in label_set.labels}
    by_page = page_labels_of(connection, sha)
    st.subheader("Labels by page")
    lines = [f"- {location_label(document['kind'] or '', page).capitalize() if page is not None else 'Sections'}: "
             + escape(", ".join(names.get(k, k) for k in keys))
             for page, keys in sorted(by_page.items(), key=lambda item: (item[0] is None, item[0] or 0))]
    if lines:
        st.markdown("\n".join(lines))
    else:
        st.caption("No page of this document has a label yet.")
    if not editable:
        return
    pages = sorted({p for p in by_page if p is not None} | set(range(1, (document["pages"] or 0) + 1)))
    st.markdown("**Correct the labels** of one page, or of the whole document")
    where = st.selectbox("Page", [WHOLE, *pages], key="fix-labels-page",
                         format_func=lambda p: p if p == WHOLE else location_label(document["kind"] or "", p).capitalize())
    with st.form("correct-labels"):
        chosen = {}
        page_now = set(by_page.get(None if where == WHOLE else where, []))
        for group in ("stage", "kind", "topic"):
            options = [label.key for label in label_set.in_group(group)]
            chosen[group] = st.multiselect(label_set.groups[group].title, options, default=[k for k in options if k in page_now],
                                           format_func=names.get, key=f"fix-labels-{group}-{where}")
        saved = st.form_submit_button("Save the labels", icon=":material/save:")
    if saved:
        known = set(names)
        for group, keys in chosen.items():
            correct_labels(connection, sha, None if where == WHOLE else where, group, keys, known)
        st.session_state[NOTICE] = f"Saved the labels of {where if where == WHOLE else location_label(document['kind'] or '', where)}."
        st.rerun()


def _picture(searcher, settings, document: dict, first: dict):
    """The picture of the page `first` (its first passage) is on, marked there, or why there is none."""
    result = Result(rank=0, score=0.0, document=document["name"], page=first["page"], heading=first["heading"] or "",
                    text=first["text"], kind=document["kind"] or "", path=document["path"], chunk_id=first["id"],
                    start=first["start"] or 0, end=first["end"] or 0, ocr=bool(first["ocr"]),
                    language=first["language"], sha256=document["sha256"])
    path = searcher.source_file(document["path"]) or Path(document["path"])
    try:
        real = source_files.readable(path, settings.library_dir, settings.index_dir)
        return previews.preview(result, real, settings.index_dir, settings.ocr_languages, settings.preview_cache_mb)
    except source_files.Refused as reason:
        return previews.Preview(why_not=str(reason))
    except Exception as exc:  # noqa: BLE001 - the page keeps its text and says why
        return previews.Preview(why_not=f"the page could not be drawn ({type(exc).__name__})")


def show_passages(searcher, settings, document: dict) -> None:
    st.subheader("The document page by page")
    pictures = st.toggle("Show the page pictures", key="page-pictures",
                         help="Drawn once per page, then kept: the first time takes a moment per page")
    passages = searcher.page_passages(document["name"])
    pages: dict = {}
    for passage in passages:
        pages.setdefault(passage["page"], []).append(passage)
    shown = list(pages.items())
    if len(shown) > PAGES_SHOWN and not st.toggle(f"Show all {len(shown)} pages", key="all-pages"):
        shown = shown[:PAGES_SHOWN]
    for page, items in shown:
        where = location_label(document["kind"] or "", page).capitalize() if page is not None else (items[0]["heading"] or "Section")
        with st.expander(where):
            if pictures and page is not None:
                st.markdown(picture_html(_picture(searcher, settings, document, items[0]), where), unsafe_allow_html=True)
            st.markdown("\n\n".join(escape(item["text"]) for item in items))


def main() -> None:
    settings = resources.load_settings()
    opened = resources.open_index(settings)
    if opened is None:
        return
    searcher, documents = opened
    sha = st.query_params.get(SHA, "")
    matching = [d for d in documents if d["sha256"] == sha and d["status"] == "indexed"]
    if not matching:
        st.title("Document")
        st.warning("This document is not in the library (it may have been removed). Find it on the Library page.",
                   icon=":material/search_off:")
        st.page_link("library_page.py", label="Library", icon=":material/library_books:")
        return
    document = matching[0]
    st.title(document["title"] or Path(document["name"]).stem)
    st.markdown(f"{escape(document['name'])}  \n{escape(_facts(document))}")
    container = container_of(document["path"])
    if container is not None:
        st.caption(f"Came in {escape(container.name)}")
    st.page_link("search_page.py", label="Ask within this document", icon=":material/search:",
                 query_params={"doc": document["name"]})
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    with closing(connect(settings.index_dir)) as connection:
        found = show_metadata(connection, sha)
        editable = access.changes_allowed(settings, "correct this document's metadata and labels")
        if editable:
            correct_metadata_form(connection, sha, found)
        show_labels(connection, sha, document, editable)
    inject_css()
    show_passages(searcher, settings, document)


if __name__ == "__main__":  # Streamlit runs a page as __main__; importing it draws nothing
    main()

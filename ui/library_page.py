"""The Library page: every document with its details, files that could not be read and why,
and the two ways to look after the library: remove a document, re-index the folder.
"""
from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from index import IndexBusy, IndexUnavailable, container_of, remove_files
from index.citation import SHEET_KINDS, SLIDE_KINDS
from ui import access, document_page, previews, resources, source_files, team_quality
from ui.cards import kind_label, language_name
from ui.escaping import escape
from ui.uploads import delete_library_file

log = logging.getLogger("pxs.ui")
CONFIRM_KEY = "confirm_removal"
NOTICE_KEY = "library_notice"


def length_label(kind: str, pages: int | None, laid_out_pages: int | None = None, sections: int | None = None) -> str:
    """'12 pages', '14 slides', '3 sheets'; a Word or OpenDocument text its pages as laid out
    for its page pictures ('5 pages'); a file without pages its sections ('4 sections')."""
    count, unit = pages, "slide" if kind in SLIDE_KINDS else "sheet" if kind in SHEET_KINDS else "page"
    if not count:
        count, unit = (laid_out_pages, "page") if laid_out_pages else (sections, "section")
    if not count:
        return ""
    return f"{count} {unit}{'s' if count != 1 else ''}"


def kind_counts(kinds: dict[str, int]) -> str:
    """'3 × PDF · 1 × Spreadsheet (Excel)': the documents of each type, most common first."""
    ordered = sorted(kinds.items(), key=lambda item: (-item[1], kind_label(item[0] or "")))
    return " · ".join(f"{count} × {kind_label(kind or '')}" for kind, count in ordered)


def document_table(documents: list[dict]) -> list[dict]:
    """The rows of the documents table, in words and numbers a reader expects."""
    rows = []
    for d in documents:
        if d["status"] != "indexed":
            continue
        rows.append({
            "Document": d["title"] or Path(d["name"]).stem,
            "Type": kind_label(d["kind"] or ""),
            "Length": length_label(d["kind"] or "", d["pages"], d.get("laid_out_pages"), d.get("sections")),
            "Passages": d["passages"],
            "Languages": ", ".join(language_name(c) for c in (d["languages"] or "").split(",") if c),
            "Added": (d["added"] or "")[:10],
            "File": d["name"],  # last: the title says more
        })
    return rows


# The table wraps its words instead of cutting them; on a narrow screen each document is a block
# of "Column: value" lines, so no column is cut off or needs scrolling sideways.
TABLE_CSS = """
<style>
.pxs-table {width: 100%; border-collapse: collapse; font-size: 0.9rem; line-height: 1.35;}
.pxs-table th, .pxs-table td {text-align: left; vertical-align: top; padding: 0.4rem 0.6rem;
  border-bottom: 1px solid rgba(49,51,63,0.15); overflow-wrap: break-word;}  /* never inside a word that fits */
.pxs-table th {font-weight: 600; border-bottom-width: 2px;}
.pxs-table .pxs-number {text-align: right; white-space: nowrap;}
.pxs-table .pxs-short {white-space: nowrap;}
.pxs-sr {position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;}
@media (max-width: 640px) {
  .pxs-table thead {position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);}
  .pxs-table tr {display: block; padding: 0.5rem 0; border-bottom: 1px solid rgba(49,51,63,0.2);}
  .pxs-table td, .pxs-table .pxs-number {display: block; border: 0; padding: 0.1rem 0; text-align: left;
    white-space: normal;}
  .pxs-table td::before {content: attr(data-label) ": "; font-weight: 600;}
  .pxs-table td:first-child::before {content: none;}
  .pxs-table td:first-child {font-weight: 600;}
}
</style>
"""
NUMBER_COLUMNS = {"Passages"}
SHORT_COLUMNS = {"Length", "Added"}


def table_html(rows: list[dict], caption: str) -> str:
    """`rows` as an HTML table (one line: a line break would end Markdown's HTML block); every
    value escaped. `caption` names the table for screen readers."""
    columns = list(rows[0])

    def cell_class(column: str) -> str:
        return ' class="pxs-number"' if column in NUMBER_COLUMNS else ' class="pxs-short"' if column in SHORT_COLUMNS else ""

    head = "".join(f'<th scope="col"{cell_class(c)}>{escape(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{escape(c)}"{cell_class(c)}>{escape(row[c])}</td>' for c in columns) + "</tr>"
        for row in rows
    )
    return (f'<table class="pxs-table"><caption class="pxs-sr">{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def show_documents(documents: list[dict]) -> None:
    st.html(TABLE_CSS)
    rows = document_table(documents)
    if not rows:
        st.info("No documents yet. Add some on the Add documents page, or copy files into the library folder and re-index.")
    else:
        st.markdown(table_html(rows, "The documents of the library"), unsafe_allow_html=True)
        st.caption("Length: pages, slides or sheets; a Word file's pages as laid out for its pictures; "
                   "text files and web pages have sections. Passages: the pieces of text the search looks through.")
    duplicates = [d for d in documents if d["status"] == "duplicate"]
    if duplicates:
        st.markdown("**Same content as another document** (searched once, under the first name)")
        st.markdown(table_html([{"File": d["name"], "Same as": d["reason"]} for d in duplicates],
                               "Files with the same content as another document"), unsafe_allow_html=True)
    failed = [d for d in documents if d["status"] == "failed"]
    if failed:
        st.markdown("**Could not be read**")
        st.markdown(table_html([{"File": d["name"], "Reason": d["reason"]} for d in failed],
                               "Files that could not be read, and why"), unsafe_allow_html=True)


def removal(documents: list[dict], settings) -> None:
    """Choose a document, confirm, and it leaves the index and the library folder."""
    # A member of a ZIP package or a mail's attachment leaves with its package or mail.
    by_path = {}
    for d in documents:
        container = container_of(d["path"])
        if container is None:
            by_path[d["path"]] = d
        elif str(container) not in by_path:
            member = d["path"][len(str(container)) + 1:]
            by_path[str(container)] = {**d, "path": str(container), "name": d["name"][: -len(member) - 1]}
    st.markdown("**Remove a document**")
    choice = st.selectbox(
        "Document to remove", sorted(by_path, key=lambda p: by_path[p]["name"]), index=None,
        format_func=lambda p: by_path[p]["name"], placeholder="Choose a document", key="remove_choice",
        label_visibility="collapsed",
    )
    if st.button("Remove…", disabled=choice is None, key="remove"):
        st.session_state[CONFIRM_KEY] = choice
    pending = st.session_state.get(CONFIRM_KEY)
    row = by_path.get(pending)
    if row is None:
        st.session_state.pop(CONFIRM_KEY, None)
        return
    inside = Path(row["path"]).resolve().is_relative_to(settings.library_dir.resolve())
    st.warning(
        f"Remove **{escape(row['name'])}**? Its passages leave the search"
        + (", and the file is deleted from the library folder." if inside else ". The file itself is outside the library folder and stays where it is."),
        icon=":material/delete:",
    )
    yes, no, _ = st.columns([1.2, 1, 3])
    if no.button("Cancel", key="remove_cancel"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()
    if yes.button("Yes, remove it", type="primary", key="remove_confirm"):
        st.session_state.pop(CONFIRM_KEY, None)
        try:
            removed = remove_files([Path(row["path"])], settings,
                                   index_files=lambda files: resources.index_paths(files, settings))
        except IndexBusy:
            st.session_state[NOTICE_KEY] = ("warning", "Another indexing run is busy; nothing was removed. Try again in a moment.")
            st.rerun()
        notes = []
        if Path(row["path"]).is_file() and all(str(path) != row["path"] for _, path in removed):
            removed.append((row["name"], Path(row["path"])))  # a package or mail: the file its members came from
        for _, path in removed:
            problem = delete_library_file(path, settings.library_dir)
            source_files.forget(path)
            previews.forget(row.get("sha256") or "")
            if problem:
                notes.append(problem)
        message = f"{row['name']} was removed from the library." + (f" Note: {'; '.join(notes)}." if notes else "")
        st.session_state[NOTICE_KEY] = ("success", message)
        st.rerun()


def reindex(settings) -> None:
    st.markdown("**Re-index the library**")
    st.caption(
        f"Reads files that are new or changed in {resources.display_path(settings.library_dir)} (for example "
        "copied there by hand), forgets files that were deleted, and tries again the files that could not be read."
    )
    if st.button("Re-index the library", icon=":material/refresh:", key="reindex"):
        try:
            report = resources.index_paths([settings.library_dir], settings)
        except IndexBusy:
            st.session_state[NOTICE_KEY] = ("warning", "Another indexing run is busy; try again when it has finished.")
        else:
            st.session_state[NOTICE_KEY] = ("success", f"Re-indexed: {resources.report_summary(report)}")
        st.rerun()


def main() -> None:
    st.set_page_config(layout="wide")  # the table has seven columns; the other pages read better narrow
    settings = resources.load_settings()
    access.lock_control(settings)
    st.title("Library")
    try:
        searcher = resources.searcher(settings)
        documents = resources.documents(settings)
        stats = searcher.stats()
    except IndexUnavailable as problem:
        resources.show_index_problem(problem, settings)
        return
    st.caption(
        f"{stats['documents']} documents · {stats['chunks']} passages · folder "
        f"{resources.display_path(settings.library_dir)} · last updated {(stats['updated'] or 'never')[:16].replace('T', ' ')}"
    )
    if stats.get("kinds"):
        st.caption(escape(kind_counts(stats["kinds"])))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        getattr(st, notice[0])(escape(notice[1]))
    if resources.busy(settings):
        st.info("An indexing run is in progress; this list is updated when it finishes.", icon=":material/hourglass_top:")
    show_documents(documents)
    team_quality.show(searcher, settings)
    document_page.chooser(documents)

    st.divider()
    st.subheader("Look after the library")
    if not access.changes_allowed(settings, purpose="remove documents or re-index"):
        return
    removal(documents, settings)
    st.write("")
    reindex(settings)


if __name__ == "__main__":
    main()

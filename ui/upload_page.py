"""The Add documents page: upload files into the library folder and read them into the index.

Each file gets one outcome a reader understands: added with N passages, already in the
library, or not added with the reason. New documents are searchable at once: the Searcher
picks up the index's new generation on the next question.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from index import IndexBusy, IndexUnavailable, remove_documents
from ui import access, resources, source_files
from ui.escaping import escape
from ui.uploads import UPLOAD_TYPES, UPLOADS_FOLDER, SavedUpload, delete_library_file, save_upload

log = logging.getLogger("pxs.ui")
OUTCOMES_KEY = "upload_outcomes"
ROUND_KEY = "upload_round"  # the uploader's key: a new one empties it once the outcome is shown


@dataclass
class UploadOutcome:
    name: str
    status: str  # "added" | "already" | "rejected" | "waiting"
    message: str


def known_contents(settings) -> dict[str, str]:
    """sha256 -> name of every file the index holds, so identical uploads are recognised."""
    try:
        return {d["sha256"]: d["name"] for d in resources.documents(settings) if d["status"] != "failed"}
    except IndexUnavailable:
        return {}


def _take_back(path: Path, settings) -> None:
    """An upload the index will not keep: its record leaves the index and the file the folder."""
    try:
        remove_documents([path], settings)
    except Exception as exc:  # noqa: BLE001 - the outcome message already tells the user what matters
        log.warning("could not remove %s from the index: %s", path, exc)
    delete_library_file(path, settings.library_dir)
    source_files.forget(path)


def add_documents(files, settings) -> list[UploadOutcome]:
    """Save the uploaded files (safe names, no overwrites, no duplicates), then index them."""
    known = known_contents(settings)
    saved: list[SavedUpload] = [
        save_upload(upload.name, upload.getvalue(), settings.library_dir, settings.upload_max_mb, known)
        for upload in files
    ]
    outcomes: dict[int, UploadOutcome] = {}
    for position, item in enumerate(saved):
        if item.status == "already":
            outcomes[position] = UploadOutcome(item.original_name, "already", item.message.capitalize() + ".")
        elif item.status == "rejected":
            outcomes[position] = UploadOutcome(item.original_name, "rejected", f"Not added: {item.message}.")
    to_index = [(position, item) for position, item in enumerate(saved) if item.saved]
    report = None
    if to_index:
        try:
            report = resources.index_paths([item.path for _, item in to_index], settings, chosen=len(files))
        except IndexBusy:
            for position, item in to_index:
                outcomes[position] = UploadOutcome(
                    item.path.name, "waiting",
                    f"Saved as {item.path.name}, but another indexing run is busy; "
                    "it becomes searchable after the next run (Library → Read new and changed files).",
                )
    if report is not None:
        failed, duplicates = dict(report.failed), dict(report.duplicates)
        for position, item in to_index:
            # A single file is named by its file name in the index: the outcome says the name the
            # cards and the Library will show, not where in the library folder it is kept.
            name = item.path.name
            # A ZIP package or a mail: its members and attachments are documents named under it.
            documents = {n: c for n, c in report.passages.items() if n == name or n.startswith(name + "/")}
            if documents:
                count = sum(documents.values())
                inside = f" in {len(documents)} documents" if len(documents) > 1 else ""
                unread = [n for n in failed if n.startswith(name + "/")]
                note = f"; not read: {', '.join(f'{n} ({failed[n]})' for n in unread)}" if unread else ""
                outcomes[position] = UploadOutcome(
                    name, "added",
                    f"Added as {name}: {count} passage{'s' if count != 1 else ''}{inside},"
                    f" ready to search{note}.",
                )
            elif name in duplicates:
                _take_back(item.path, settings)
                outcomes[position] = UploadOutcome(name, "already", f"Already in the library as {duplicates[name]}.")
            else:
                reason = failed.get(name, "it could not be read")
                _take_back(item.path, settings)
                outcomes[position] = UploadOutcome(
                    item.original_name, "rejected", f"Not added: {reason}. The file was not kept."
                )
    return [outcomes[position] for position in range(len(saved))]


def show_outcomes(outcomes: list[UploadOutcome]) -> None:
    show = {"added": st.success, "already": st.info, "rejected": st.error, "waiting": st.warning}
    icons = {"added": ":material/check_circle:", "already": ":material/content_copy:",
             "rejected": ":material/block:", "waiting": ":material/hourglass_top:"}
    for outcome in outcomes:
        show[outcome.status](f"**{escape(outcome.name)}** — {escape(outcome.message)}", icon=icons[outcome.status])
    if any(o.status == "added" for o in outcomes):
        st.page_link("search_page.py", label="Ask about them", icon=":material/search:")


def main() -> None:
    settings = resources.load_settings()
    access.lock_control(settings)
    st.title("Add documents")
    st.write(
        "Add the reports, slide decks and templates you brought home. They are kept in the library "
        f"folder ({resources.display_path(settings.library_dir / UPLOADS_FOLDER)}) and can be searched "
        "as soon as they have been read."
    )
    if not access.changes_allowed(settings, purpose="add documents"):
        return
    # The chosen files stay listed while they are added (a form cleared on submit would empty the
    # list at once); once their outcome is shown, a new uploader (a new key) starts empty.
    round_key = st.session_state.setdefault(ROUND_KEY, 0)
    with st.form("upload", border=True):
        files = st.file_uploader(
            "Documents",
            key=f"upload-files-{round_key}",
            type=list(UPLOAD_TYPES),
            accept_multiple_files=True,
            max_upload_size=settings.upload_max_mb,
            help=(f"PDF, PowerPoint, Word, Excel, OpenDocument, web pages, eForms notices, pictures, e-mails, "
                  f"ZIP packages or text files, up to {settings.upload_max_mb} MB each."),
        )
        submitted = st.form_submit_button("Add to the library", type="primary", icon=":material/upload_file:")
    if submitted:
        if not files:
            st.warning("Choose one or more files first.")
        else:
            try:
                st.session_state[OUTCOMES_KEY] = add_documents(files, settings)
            except Exception as exc:  # noqa: BLE001 - a sentence for the user, the traceback for the log
                log.exception("upload failed")  # the details (server paths) stay in the log
                st.error(f"The files could not be added ({type(exc).__name__}). Please try again.")
            else:
                st.session_state[ROUND_KEY] = round_key + 1
                st.rerun()
    if st.session_state.get(OUTCOMES_KEY):
        show_outcomes(st.session_state[OUTCOMES_KEY])


if __name__ == "__main__":
    main()

"""What every page shares: the one Searcher per process, the library's documents, indexing runs
with a progress bar, and the calm messages for an index that is missing, damaged or busy.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path

import streamlit as st

import settings as config
from index import (
    LABELS_FILE, Filters, IndexBusy, Progress, RunReport, Searcher, browse as browse_index, indexing_in_progress, labelled_files, load_labels,
)

from . import source_files
from .escaping import escape
from .indexing import run_indexing

log = logging.getLogger("pxs.ui")

# How long an upload or a re-index waits for another run to finish before saying so.
LOCK_WAIT_S = 30.0


def load_settings() -> config.Settings:
    """The settings for this run of the page (environment variables, read each time)."""
    return config.load()


@st.cache_resource(show_spinner="Loading the search model…", max_entries=4)
def _searcher(index_dir: str, model: str, database_id: int) -> Searcher:
    settings = config.load()
    searcher = Searcher(Path(index_dir), settings)
    searcher.embedder().load()  # load the model now, once per process, not on the first question
    return searcher


def _database_id(settings: config.Settings) -> int:
    # The index database's inode: a folder deleted and built again (from the command line, or
    # by "Rebuild") is a new database, and must not be read through the old open connection.
    try:
        return (settings.index_dir / "library.sqlite").stat().st_ino
    except OSError:
        return 0


def searcher(settings: config.Settings) -> Searcher:
    """The process-wide Searcher of the index; raises IndexUnavailable (never cached).

    The Searcher notices a new generation by itself (uploads, removals, re-indexing), so one
    per process is enough; a new one is made only when the index folder itself is replaced.
    """
    return _searcher(str(settings.index_dir), settings.model, _database_id(settings))


def forget_searcher() -> None:
    """Drop the cached Searcher (its open database) before the index folder is replaced."""
    _searcher.clear()


@st.cache_data(max_entries=16, show_spinner=False)
def _documents(index_dir: str, model: str, database_id: int, generation: int) -> list[dict]:
    return _searcher(index_dir, model, database_id).documents()


def documents(settings: config.Settings) -> list[dict]:
    """Every file the index knows (see Searcher.documents), cached per index generation."""
    database_id = _database_id(settings)
    current = _searcher(str(settings.index_dir), settings.model, database_id)
    return _documents(str(settings.index_dir), settings.model, database_id, current.generation)


@st.cache_resource(show_spinner=False)
def _label_set(mtime_ns: int):
    return load_labels()


def label_set():
    """The label definitions (index/labels.toml), read again when the file changes."""
    return _label_set(LABELS_FILE.stat().st_mtime_ns)


@st.cache_data(max_entries=64, show_spinner=False)
def _browse(index_dir: str, labels: tuple[str, ...], generation: int, labelled: int, mtime_ns: int,
            facets: str = "{}", corrections: str = ""):
    return browse_index(Path(index_dir), list(labels), label_set=_label_set(mtime_ns),
                        facets=Filters(**{k: tuple(v) if k == "years" else v for k, v in json.loads(facets).items()}))


def browse(settings: config.Settings, labels: list[str], facets: Filters | None = None):
    """Documents and pages under these labels and metadata facets (index.browse), cached per
    index generation and curators' corrections."""
    current = searcher(settings)
    asked = {k: v for k, v in dataclasses.asdict(facets).items() if v} if facets else {}
    return _browse(str(settings.index_dir), tuple(sorted(labels)), current.generation,
                   labelled_files(settings.index_dir), LABELS_FILE.stat().st_mtime_ns,
                   json.dumps(asked, sort_keys=True), current.corrections_made())


def index_exists(settings: config.Settings) -> bool:
    return (settings.index_dir / "library.sqlite").exists()


def busy(settings: config.Settings) -> bool:
    return indexing_in_progress(settings.index_dir)


@st.cache_resource(show_spinner=False)
def _swept(library_dir: str) -> int:
    return source_files.sweep(Path(library_dir))


def tidy_once(settings: config.Settings) -> None:
    """Once per process: remove static links of PDFs that have left the library."""
    try:
        _swept(str(settings.library_dir))
    except OSError as exc:
        log.warning("could not tidy the static folder: %s", exc)


def display_path(path: Path) -> str:
    """A folder as a person would write it: relative to where the app runs, if it is inside."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


# -- indexing with a progress bar ------------------------------------------------------------
class ProgressBar:
    """Turns index.Progress events into an st.progress bar with words a reader understands."""

    def __init__(self, first_words: str = "Looking for new and changed files…"):
        self.bar = st.progress(0.0, text=first_words)
        self.shown: tuple[int, str] | None = None
        self.fraction = 0.0

    def __call__(self, event: Progress) -> None:
        total = max(event.files_total, 1)
        if event.stage == "wait":
            self.fraction, text = 0.0, "Waiting for another indexing run to finish…"
        elif event.stage == "scan":
            self.fraction, text = 0.02, f"Looking through {event.files_total} files…"
        elif event.stage == "read":
            self.fraction = 0.05 + 0.9 * event.files_done / total
            text = f"Read {event.files_done} of {event.files_total}: {escape(event.current)}"
        elif event.stage == "embed":
            text = f"Understanding the passages ({event.chunks_done} so far)…"
        elif event.stage == "commit":
            self.fraction, text = max(self.fraction, 0.96), "Saving the index…"
        elif event.stage == "pages":
            self.fraction, text = max(self.fraction, 0.98), "Drawing the pages of slides and documents for their previews…"
        else:
            self.fraction, text = 1.0, "Done"
        shown = (int(self.fraction * 100), text)
        if shown != self.shown:  # the callback comes often; send the browser only changes
            self.bar.progress(min(self.fraction, 1.0), text=text)
            self.shown = shown


def index_paths(paths: list[Path], settings: config.Settings, lock_wait: float | None = None) -> RunReport:
    """Index `paths` in a child process (ui/indexing.py) with a progress bar; raises IndexBusy
    after `lock_wait` seconds of waiting for another run."""
    lock_wait = LOCK_WAIT_S if lock_wait is None else lock_wait
    bar = ProgressBar()
    if busy(settings):
        bar.bar.progress(0.0, text="Waiting for another indexing run to finish…")
    try:
        return run_indexing(paths, settings, progress=bar, lock_wait=lock_wait)
    finally:
        bar.bar.empty()


def report_summary(report: RunReport) -> str:
    """One calm sentence about an indexing run."""
    parts = []
    new = len(report.added) + len(report.updated)
    if new:
        parts.append(f"{new} document{'s' if new != 1 else ''} read ({sum(report.passages.values())} passages)")
    if report.removed:
        parts.append(f"{len(report.removed)} removed")
    if report.unchanged:
        parts.append(f"{len(report.unchanged)} unchanged")
    if report.duplicates:
        parts.append(f"{len(report.duplicates)} duplicate{'s' if len(report.duplicates) != 1 else ''} noted")
    if report.failed:
        parts.append(f"{len(report.failed)} could not be read (see the Library page)")
    return ", ".join(parts) + "." if parts else "Nothing to do: the index was already up to date."


# -- first start and index problems ------------------------------------------------------------
def first_start(settings: config.Settings) -> None:
    """No index yet: build one from the library folder, with a progress bar, then reload."""
    settings.library_dir.mkdir(parents=True, exist_ok=True)
    st.title("Procurement exchange search")
    st.subheader("Preparing your library")
    st.write(
        f"The app reads every document in **{display_path(settings.library_dir)}** once, so that "
        "you can ask questions about them. This takes about a minute for the sample library; "
        "later starts are instant, and new documents are read as you add them."
    )
    try:
        report = index_paths([settings.library_dir], settings, lock_wait=2.0)
    except IndexBusy:
        st.info(
            "Another indexing run is preparing this library right now (perhaps started from the "
            "command line). This page is ready as soon as it finishes.",
            icon=":material/hourglass_top:",
        )
        if st.button("Check again"):
            st.rerun()
        st.stop()
        return
    except Exception as exc:  # noqa: BLE001 - any failure here must read as a message, not a traceback
        log.exception("first indexing run failed")
        st.error(f"The library could not be prepared: {escape(exc)}")
        st.stop()
        return
    st.session_state["just_built"] = report_summary(report)
    forget_searcher()
    st.rerun()


def show_index_problem(problem: Exception, settings: config.Settings) -> None:
    """A damaged or unreadable index: say so plainly and offer to rebuild it from the library."""
    from . import access

    log.warning("index unavailable: %s", problem)
    st.error(
        "The search index cannot be read, so questions cannot be answered right now. "
        "Your documents are safe: the index is only a copy made from them.",
        icon=":material/error:",
    )
    st.caption(f"Details: {escape(problem)}")
    if busy(settings):
        st.info("An indexing run is in progress; try again when it has finished.")
        if st.button("Try again"):
            st.rerun()
        return
    st.write(f"Rebuilding reads every document in {display_path(settings.library_dir)} again (about a minute for the sample library).")
    if access.changes_allowed(settings, purpose="rebuild the index"):
        if st.button("Rebuild the index", type="primary"):
            rebuild_index(settings)


def rebuild_index(settings: config.Settings) -> None:
    """Set the damaged index aside (renamed, not deleted) and build a new one."""
    forget_searcher()
    index_dir = settings.index_dir
    if index_dir.exists():
        aside = index_dir.with_name(f"{index_dir.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        index_dir.rename(aside)
        log.warning("damaged index moved to %s", aside)
    first_start(settings)

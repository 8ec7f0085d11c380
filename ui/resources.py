"""What every page shares: the one Searcher per process, the library's documents, indexing runs
with a progress bar, and the calm messages for an index that is missing, damaged or busy.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from pathlib import Path

import streamlit as st

import settings as config
from index import (
    LABELS_FILE, Filters, IndexBusy, IndexUnavailable, Progress, RunReport, Searcher, browse as browse_index,
    has_documents, indexing_in_progress, labelled_files, load_labels,
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


def open_index(settings: config.Settings) -> tuple[Searcher, list[dict]] | None:
    """The Searcher and the documents of the index, or None once the page has said why the index
    cannot be read (`show_index_problem`)."""
    try:
        return searcher(settings), documents(settings)
    except IndexUnavailable as problem:
        show_index_problem(problem, settings)
        return None


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
# Seconds one passage takes to embed and one file's pages to lay out, until the run has measured
# its own: README's figures on a quiet 2-core machine (e5: 298 s for 2,933 passages; MiniLM: 121 s
# for 3,788; LibreOffice: 2.2 s a file, README "Page previews").
SECONDS_PER_PASSAGE = {"all-MiniLM-L6-v2": 0.032}
DEFAULT_SECONDS_PER_PASSAGE = 0.10
SECONDS_PER_LAID_OUT_FILE = 2.2


def duration_words(seconds: float) -> str:
    """'about 40 s', 'about 3 min': a time left as a person says it."""
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    return f"about {round(seconds / 60)} min"


class TimeLeft:
    """How long an indexing run still needs, from its Progress events: each stage's own pace so
    far (or, before it has any, the figures above), times what is left of it. Files still to read
    are expected to bring as many passages each as those read so far."""

    def __init__(self, model: str = "", clock=time.monotonic):
        self.clock = clock
        self.started = self.last = clock()
        self.seconds = {"read": 0.0, "embed": 0.0, "pages": 0.0}
        self.per_passage = SECONDS_PER_PASSAGE.get(model, DEFAULT_SECONDS_PER_PASSAGE)
        self.files_read = self.chunks_found = self.chunks_embedded = 0
        self.files_total = 0

    def __call__(self, event: Progress) -> float | None:
        """Seconds left after `event`, or None when nothing is left to estimate (waiting, saving)."""
        now = self.clock()
        if event.stage in self.seconds:  # the time up to an event went into what it reports
            self.seconds[event.stage] += now - self.last
        self.last = now
        if event.stage in ("scan", "read"):
            self.files_total = max(self.files_total, event.files_total)
            self.files_read = max(self.files_read, event.files_done if event.stage == "read" else 0)
        self.chunks_embedded = max(self.chunks_embedded, event.chunks_done)
        self.chunks_found = max(self.chunks_found, event.chunks_total, self.chunks_embedded)
        if event.stage == "pages":
            pace = self.seconds["pages"] / event.files_done if event.files_done else SECONDS_PER_LAID_OUT_FILE
            return (event.files_total - event.files_done) * pace
        if event.stage not in ("scan", "read", "embed"):
            return None
        files_left = max(0, self.files_total - self.files_read)
        per_file = self.seconds["read"] / self.files_read if self.files_read else 0.5
        chunks_each = self.chunks_found / self.files_read if self.files_read else 15
        chunks_left = max(0.0, self.chunks_found + files_left * chunks_each - self.chunks_embedded)
        per_passage = self.seconds["embed"] / self.chunks_embedded if self.chunks_embedded else self.per_passage
        return files_left * per_file + chunks_left * per_passage

    def fraction(self, left: float | None) -> float | None:
        """The share of the run done, by time: elapsed against elapsed plus `left`."""
        if left is None:
            return None
        elapsed = self.clock() - self.started
        return elapsed / max(1e-9, elapsed + left)


class ProgressBar:
    """Turns index.Progress events into an st.progress bar with words a reader understands: in
    every stage how far it is of how much, and about how long is left."""

    def __init__(self, first_words: str = "Looking for new and changed files…", model: str = "",
                 chosen: int | None = None):
        self.chosen = chosen  # files a person chose to add: what the first line counts
        if chosen is not None:
            first_words = f"Adding the {chosen} file{'s' if chosen != 1 else ''} you chose…"
        self.bar = st.progress(0.0, text=first_words)
        self.shown: tuple[int, str] | None = None
        self.fraction = 0.0
        self.time_left = TimeLeft(model)

    def __call__(self, event: Progress) -> None:
        left = self.time_left(event)
        if event.stage == "wait":
            self.fraction, text = 0.0, "Waiting for another indexing run to finish…"
        elif event.stage == "scan" and self.chosen is not None:  # some may be known already, not read
            text = f"Checking the {self.chosen} file{'s' if self.chosen != 1 else ''} you chose"
        elif event.stage == "scan":
            text = f"Looking through {event.files_total} file{'s' if event.files_total != 1 else ''}"
        elif event.stage == "read":
            text = f"Read {event.files_done} of {event.files_total}: {escape(event.current)}"
        elif event.stage == "embed":
            found = max(event.chunks_total, event.chunks_done)
            more = " so far" if self.time_left.files_read < self.time_left.files_total else ""
            text = f"Understanding the passages: {event.chunks_done} of {found}{more}"
        elif event.stage in ("commit", "labels"):
            self.fraction, text = max(self.fraction, 0.96), "Saving the index…"
        elif event.stage == "pages":
            self.fraction = max(self.fraction, 0.97)
            text = (f"Drawing the pages of slides and documents for their previews: {event.files_done} of "
                    f"{event.files_total} (you can search already)")
        else:
            self.fraction, text = 1.0, "Done"
        by_time = self.time_left.fraction(left)
        if by_time is not None and event.stage != "pages":
            self.fraction = max(self.fraction, min(0.95, by_time))
        if left is not None and left >= 1:
            text += f", {duration_words(left)} left"
        shown = (int(self.fraction * 100), text)
        if shown != self.shown:  # the callback comes often; send the browser only changes
            self.bar.progress(min(self.fraction, 1.0), text=text)
            self.shown = shown


def index_paths(paths: list[Path], settings: config.Settings, lock_wait: float | None = None,
                chosen: int | None = None) -> RunReport:
    """Index `paths` in a child process (ui/indexing.py) with a progress bar; raises IndexBusy
    after `lock_wait` seconds of waiting for another run. `chosen`: how many files a person chose
    to add (some of which may not need reading), for the bar's first words."""
    lock_wait = LOCK_WAIT_S if lock_wait is None else lock_wait
    bar = ProgressBar(model=settings.model, chosen=chosen)
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
class FirstRun:
    """The first start's indexing run, in a thread of the app's process (the work itself in its
    child process, ui/indexing.py): the pages open as soon as its first documents are committed,
    and it goes on to its end whichever page is shown. Its events are kept for the progress bar."""

    def __init__(self, settings: config.Settings):
        self.events: list[Progress] = []
        self.report: RunReport | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True, name="pxs-first-run")
        self.thread.start()

    def _run(self, settings: config.Settings) -> None:
        try:
            self.report = run_indexing([settings.library_dir], settings, progress=self.events.append, lock_wait=2.0)
        except Exception as exc:  # noqa: BLE001 - shown by the page that waits for it
            self.error = exc

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


_first_runs: dict[str, FirstRun] = {}
_first_runs_lock = threading.Lock()


def first_run(settings: config.Settings, start: bool = False) -> FirstRun | None:
    """The first start's run of this index in this process (started when `start` and none is under way)."""
    with _first_runs_lock:
        run = _first_runs.get(str(settings.index_dir))
        if start and (run is None or not run.running):
            run = _first_runs[str(settings.index_dir)] = FirstRun(settings)
        return run


def preparing(settings: config.Settings) -> bool:
    """True while the first start's run has not yet committed anything to search."""
    run = first_run(settings)
    return run is not None and run.running and not has_documents(settings.index_dir)


def first_start(settings: config.Settings) -> None:
    """No index yet: build one from the library folder, with a progress bar; the pages open as
    soon as the first documents can be found by their words (the rest follow, then their meaning)."""
    settings.library_dir.mkdir(parents=True, exist_ok=True)
    st.title("Procurement exchange search")
    st.subheader("Preparing your library")
    st.write(
        f"The app reads every document in **{display_path(settings.library_dir)}** once, so that "
        "you can ask questions about them. You can ask as soon as the first documents are read; "
        "later starts are instant, and new documents are read as you add them."
    )
    run = first_run(settings, start=True)
    bar = ProgressBar(model=settings.model)
    heard = 0
    while run.running and not has_documents(settings.index_dir):
        for event in run.events[heard:]:
            bar(event)
        heard = len(run.events)
        run.thread.join(timeout=0.25)  # the page redraws the bar a few times a second
    bar.bar.empty()
    try:
        if run.error is not None:
            raise run.error
        report = run.report
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
    if report is not None:  # finished before the pages opened: said once, as the Ask page would
        st.session_state.setdefault("pxs-first-run-told", set()).add(id(run))
        st.session_state["just_built"] = report_summary(report)
    forget_searcher()
    st.rerun()


def first_run_news(settings: config.Settings) -> tuple[str, str] | None:
    """What the Ask page says of the first start's run: ("info", how far it is) while it runs,
    ("success", its summary) once, to each session, when it has finished."""
    run = first_run(settings)
    if run is None:
        return None
    if run.running:
        read = next((e for e in reversed(run.events) if e.stage == "read"), None)
        if read is None:
            return None
        if read.files_done < read.files_total:
            return "info", (f"Still reading your library: {read.files_done} of {read.files_total} documents read. "
                            "You can ask already; the rest appear in the results as they are read.")
        return "info", ("Every document of your library is read; their meaning is still being computed, so "
                        "for now some are found by keywords only.")
    told = st.session_state.setdefault("pxs-first-run-told", set())
    if run.report is None or id(run) in told:
        return None
    told.add(id(run))
    return "success", f"Your library is ready: {report_summary(run.report)}"


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
        from index.teamwork import carry_over

        carry_over(aside, index_dir)  # the team's collections, verdicts and watches are no copy of the documents
    first_start(settings)

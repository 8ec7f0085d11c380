"""Watched questions: asked again after every indexing run, their top ten compared with what they
showed before, the pages new since the question was watched flagged ("2 new passages since
3 December").

A page is remembered by (document, content digest, page): a document changed in place shows
its changed pages as new, an unchanged one re-indexed does not. Watching a question records its
current top ten as already seen; only later runs can flag anything.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import teamwork
from .filters import Filters
from .feedback import filters_json

log = logging.getLogger("pxs.index")
TOP = 10


@dataclass(frozen=True)
class NewPassage:
    document: str
    page: int | None
    first_seen: str  # the run that first put it in the top ten (ISO time, UTC)


@dataclass(frozen=True)
class Watched:
    id: int
    question: str
    filters: dict
    since: str
    new: list[NewPassage] = field(default_factory=list)


@dataclass(frozen=True)
class Rerun:
    """What re-running the watched questions after a run cost and found."""

    questions: int
    new_passages: int
    seconds: float

    def per_question_ms(self) -> float:
        return 1000 * self.seconds / self.questions if self.questions else 0.0


def _top(searcher, question: str, filters: dict) -> list:
    return searcher.search(question, k=TOP, filters=Filters(**filters))


def _note_seen(db, watch_id: int, results, new: bool) -> int:
    """Remember the pages of `results`; returns how many were not remembered before."""
    added = 0
    for r in results:
        added += db.execute(
            "INSERT OR IGNORE INTO watched_seen (watch_id, document, sha256, page, first_seen, new) VALUES (?,?,?,?,?,?)",
            (watch_id, r.document, r.sha256, -1 if r.page is None else r.page, teamwork.now(), int(new)),
        ).rowcount
    return added


def watch(index_dir: Path, searcher, question: str, filters: Filters | None) -> None:
    """Start watching `question` with `filters`; its current top ten counts as seen."""
    question, chosen = " ".join(question.split()), filters_json(filters)
    results = _top(searcher, question, json.loads(chosen))
    with teamwork.connect(index_dir) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR IGNORE INTO watched (question, filters, since) VALUES (?,?,?)",
                   (question, chosen, teamwork.now()))
        watch_id = db.execute("SELECT id FROM watched WHERE question = ? AND filters = ?", (question, chosen)).fetchone()[0]
        _note_seen(db, watch_id, results, new=False)
        db.execute("COMMIT")


def unwatch(index_dir: Path, watch_id: int) -> None:
    with teamwork.connect(index_dir) as db:
        db.execute("DELETE FROM watched WHERE id = ?", (watch_id,))


def watched(index_dir: Path) -> list[Watched]:
    """Every watched question with the pages new in its top ten since it was watched."""
    with teamwork.connect(index_dir) as db:
        questions = db.execute("SELECT * FROM watched ORDER BY since DESC, id DESC").fetchall()
        found = []
        for row in questions:
            new = [NewPassage(s["document"], None if s["page"] == -1 else s["page"], s["first_seen"]) for s in db.execute(
                "SELECT * FROM watched_seen WHERE watch_id = ? AND new = 1 ORDER BY first_seen DESC, document, page",
                (row["id"],))]
            found.append(Watched(row["id"], row["question"], json.loads(row["filters"]), row["since"], new))
    return found


def find(index_dir: Path, question: str, filters: Filters | None) -> Watched | None:
    """The watch on this question with these filters, if there is one."""
    question, chosen = " ".join(question.split()), json.loads(filters_json(filters))
    return next((w for w in watched(index_dir) if w.question == question and w.filters == chosen), None)


def rerun(index_dir: Path, searcher) -> Rerun:
    """Ask every watched question again and flag the pages new in its top ten."""
    started = time.perf_counter()
    with teamwork.connect(index_dir) as db:
        questions = db.execute("SELECT id, question, filters FROM watched").fetchall()
    new = 0
    for row in questions:
        results = _top(searcher, row["question"], json.loads(row["filters"]))
        with teamwork.connect(index_dir) as db:
            new += _note_seen(db, row["id"], results, new=True)
    return Rerun(len(questions), new, time.perf_counter() - started)


def after_run(settings) -> Rerun | None:
    """Called at the end of every indexing run: re-run the watched questions, if there are any."""
    if not (Path(settings.index_dir) / teamwork.TEAM_DB).exists():
        return None
    with teamwork.connect(settings.index_dir) as db:
        if not db.execute("SELECT 1 FROM watched LIMIT 1").fetchone():
            return None
    from .search import Searcher

    searcher = Searcher(settings.index_dir, settings)
    try:
        done = rerun(settings.index_dir, searcher)
    finally:
        searcher.close()
    log.info("watched questions re-run: %d in %.2f s (%.0f ms each), %d new passages",
             done.questions, done.seconds, done.per_question_ms(), done.new_passages)
    return done

"""The team's verdicts on results ("Answers my question" / "Not this"), and what they measure.

Verdicts never change the ranking: they become a test set of the team's own questions, in the
format of questions_dev.jsonl (`judged_questions`), which bench/eval.py --gold reads, and which
`team_scores` re-runs on the current index for the Library page.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from . import teamwork
from .filters import Filters


def filters_json(filters: Filters | None) -> str:
    return json.dumps({k: v for k, v in asdict(filters or Filters()).items() if v}, sort_keys=True)


def record(index_dir: Path, question: str, filters: Filters | None, result, answers: bool) -> None:
    """Record a verdict on a result (index.Result) for `question` asked with `filters`."""
    with teamwork.connect(index_dir) as db:
        db.execute(
            "INSERT INTO verdicts (question, filters, document, page, passage, answers, time) VALUES (?,?,?,?,?,?,?)",
            (" ".join(question.split()), filters_json(filters), result.document, result.page, result.text,
             int(answers), teamwork.now()),
        )


def verdict(index_dir: Path, question: str, document: str, page: int | None) -> bool | None:
    """The latest verdict on a page for a question: True (answers), False (not this), None."""
    with teamwork.connect(index_dir) as db:
        row = db.execute(
            "SELECT answers FROM verdicts WHERE question = ? AND document = ? AND page IS ? ORDER BY id DESC LIMIT 1",
            (" ".join(question.split()), document, page),
        ).fetchone()
    return None if row is None else bool(row[0])


def count(index_dir: Path) -> int:
    """How many verdicts the team has recorded (changes whenever one is added)."""
    with teamwork.connect(index_dir) as db:
        return db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]


def judged_questions(index_dir: Path) -> list[dict]:
    """Each question with at least one page judged to answer it, as questions_dev.jsonl holds
    them: id, question, category, relevant [{doc, page}] (the latest verdict on each page wins),
    and the filters it was asked with."""
    with teamwork.connect(index_dir) as db:
        rows = db.execute("SELECT question, filters, document, page, answers FROM verdicts ORDER BY id").fetchall()
    latest: dict[str, dict[tuple, bool]] = {}
    filters: dict[str, str] = {}
    for row in rows:
        latest.setdefault(row["question"], {})[(row["document"], row["page"])] = bool(row["answers"])
        filters.setdefault(row["question"], row["filters"])
    judged = []
    for question, pages in latest.items():
        relevant = [{"doc": doc, "page": page} for (doc, page), answers in pages.items() if answers]
        if relevant:
            judged.append({"id": f"team-{len(judged) + 1:03d}", "question": question, "category": "team",
                           "relevant": relevant, "filters": json.loads(filters[question])})
    return judged


@dataclass(frozen=True)
class TeamScores:
    """How the current index does on the team's judged questions."""

    questions: int
    first: float  # share with a right page first
    top_five: float  # share with a right page among the first five


def team_scores(searcher, index_dir: Path) -> TeamScores:
    """Re-run every judged question (with its filters) on `searcher` and count where the pages
    judged to answer it come."""
    judged = judged_questions(index_dir)
    first = top_five = 0
    for item in judged:
        wanted = {(r["doc"], r["page"]) for r in item["relevant"]}
        results = searcher.search(item["question"], k=5, filters=Filters(**item["filters"]))
        ranks = [n for n, r in enumerate(results) if (r.document, r.page) in wanted]
        first += bool(ranks and ranks[0] == 0)
        top_five += bool(ranks)
    count = len(judged)
    return TeamScores(count, first / count if count else 0.0, top_five / count if count else 0.0)

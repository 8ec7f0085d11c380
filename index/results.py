"""Search results: one card per page, its other hits in the same document, copies folded in."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from .highlights import best_sentences, term_spans

# A card lists the other hits of its document among the best IN_DOCUMENT_POOL pages, at most
# IN_DOCUMENT_MOST of them.
IN_DOCUMENT_POOL, IN_DOCUMENT_MOST = 40, 8


@dataclass
class Result:
    """One page (or slide, or section) that answers the question, through its best passage."""

    rank: int
    score: float
    document: str
    page: int | None
    heading: str
    text: str
    title: str = ""
    kind: str = ""
    path: str = ""
    chunk_id: int = 0
    start: int = 0
    end: int = 0
    ocr: bool = False
    language: str | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # best sentences: spans in `text`
    also_in: list[tuple[str, int | None]] = field(default_factory=list)  # same passage elsewhere
    terms: list[tuple[int, int]] = field(default_factory=list)  # the question's words: spans in `text`
    sha256: str = ""  # of the file's content: what its page pictures are kept under
    # The estimated probability that this page answers the question, and that the library holds
    # an answer at all (the same for every result of a question); None where not estimated
    # (dense- or BM25-only searches, a model without a calibration). See index/confidence.py.
    confidence: float | None = None
    answerable: float | None = None
    # Found by its words only: its passage's vector is still being computed (index/store.py), so
    # the meaning leg could not weigh it yet.
    keywords_only: bool = False
    # Other pages of the same document among the best candidates, in reading order.
    in_document: list["Result"] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# The columns a Result is made from: a passage joined with its file.
RESULT_COLUMNS = (
    "c.id, c.file_id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language,"
    " f.name, f.title, f.kind, f.path, f.sha256"
)


def make_results(
    pages: Sequence[tuple[int, float]],
    rows: dict[int, sqlite3.Row],
    k: int,
    terms: set[str],
    weights: dict[str, float],
) -> list[Result]:
    """The best `k` cards from pages best first, each as (chunk id of its best passage, score).

    A page whose passage repeats one already shown (the same boilerplate in two documents) is
    folded into that card's `also_in`; the pages after the first k become the `in_document`
    hits of the cards of their document. `rows` holds each passage's RESULT_COLUMNS.
    """
    made: dict[int, Result] = {}  # a page that is another hit of several cards is made once

    def result(row, rank: int, score: float) -> Result:
        if row["id"] in made:
            return made[row["id"]]
        made[row["id"]] = Result(
            rank=rank, score=round(float(score), 6), document=row["name"], page=row["page"],
            heading=row["heading"] or "", text=row["text"], title=row["title"] or "", kind=row["kind"] or "",
            path=row["path"], chunk_id=row["id"], start=row["start"], end=row["end"], ocr=bool(row["ocr"]),
            language=row["language"], sha256=row["sha256"] or "",
            highlights=best_sentences(row["text"], terms, row["language"], weights=weights),
            terms=term_spans(row["text"], terms, row["language"]),
        )
        return made[row["id"]]

    results: list[Result] = []
    shown: list[tuple[frozenset[str], Result]] = []  # each card's words, to find copies of it
    not_shown: list[tuple[sqlite3.Row, float]] = []  # the pages after the first k, for `in_document`
    for chunk_id, score in pages:
        row = rows.get(chunk_id)
        if row is None:
            continue
        words = frozenset(row["text"].lower().split())
        copy_of = next((card for seen, card in shown if _same_passage(words, seen)), None)
        if copy_of is not None:
            copy_of.also_in.append((row["name"], row["page"]))
        elif len(results) < k:
            card = result(row, len(results) + 1, score)
            shown.append((words, card))
            results.append(card)
        else:
            not_shown.append((row, score))
    for card in results:
        # Other cards come without their own list: a Result is a tree, not a graph.
        same = [replace(r, in_document=[]) for r in results if r.document == card.document and r is not card]
        more = [(row, score) for row, score in not_shown if row["name"] == card.document]
        same += [result(row, 0, score) for row, score in more[: max(0, IN_DOCUMENT_MOST - len(same))]]
        card.in_document = sorted(same, key=lambda r: (r.page is None, r.page or 0, r.start or 0))
    return results


# Two passages are one when this share of their words is common to both (Jaccard): the same page
# in a thesis and in its published copy, a citation or a page number apart.
SAME_PASSAGE = 0.9


def _same_passage(words: frozenset[str], other: frozenset[str]) -> bool:
    if not words or not other:
        return words == other
    smaller, larger = sorted((len(words), len(other)))
    if smaller < SAME_PASSAGE * larger:
        return False
    return len(words & other) >= SAME_PASSAGE * len(words | other)

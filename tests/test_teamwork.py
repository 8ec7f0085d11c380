"""The team's store on the command line: collections kept, exported and still readable when their
documents leave the library; verdicts exported as a test set. Real PDFs, real model, real index."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys

import docx
import pytest

import settings as config
from conftest import ROOT, make_pdf

REPORT = [
    "Exchange report Vienna 2024. Our week with the city of Vienna procurement department.",
    "Market consultation. Before the tender, Vienna held an open market consultation with forty suppliers.",
    "Award criteria. Quality weighed sixty percent and price forty percent in the evaluation of tenders.",
]
BUSES = ["Joint procurement. Twelve municipalities bought electric buses together under one framework agreement."]


@pytest.fixture
def team(tmp_path):
    """A two-document library with its index: (settings, Searcher)."""
    from index import Searcher, update

    library = tmp_path / "library"
    make_pdf(library / "vienna.pdf", REPORT)
    make_pdf(library / "buses.pdf", BUSES)
    settings = dataclasses.replace(config.load(), library_dir=library, index_dir=tmp_path / "index")
    update([library], settings)
    searcher = Searcher(settings.index_dir, settings)
    yield settings, searcher
    searcher.close()


def cli(settings, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "index", *args, "--index", str(settings.index_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def result_at(searcher, question: str, document: str, page: int):
    return next(r for r in searcher.search(question, k=10) if (r.document, r.page) == (document, page))


def test_a_kept_passage_stays_readable_when_its_document_leaves_the_library(team):
    from index import collections, remove_documents

    settings, searcher = team
    kept = result_at(searcher, "electric buses bought together", "buses.pdf", 1)
    collections.keep(settings.index_dir, "Buses memo", kept, "electric buses bought together")
    remove_documents([settings.library_dir / "buses.pdf"], settings)

    (passage,) = collections.kept(settings.index_dir, "Buses memo")
    assert (passage.in_library, passage.page) == (False, 1) and "Twelve municipalities" in passage.text
    assert "buses.pdf, page 1  [no longer in the library]" in cli(settings, "collections")


def test_collections_export_as_markdown_and_csv_in_the_order_chosen(team, tmp_path):
    from index import collections

    settings, searcher = team
    question = "How did Vienna run the market consultation?"
    for page in (2, 3):
        assert collections.keep(settings.index_dir, "Memo", result_at(searcher, question, "vienna.pdf", page), question)
    assert not collections.keep(settings.index_dir, "Memo", result_at(searcher, question, "vienna.pdf", 3), question)
    first, second = collections.kept(settings.index_dir, "Memo")
    collections.move(settings.index_dir, second.id, -1)
    collections.set_note(settings.index_dir, first.id, "Forty suppliers: quote in the memo")

    cli(settings, "collections", "--export", "Memo", "--format", "md", "--out", str(tmp_path / "memo.md"))
    markdown = (tmp_path / "memo.md").read_text(encoding="utf-8")
    assert markdown.index("Quality weighed sixty percent") < markdown.index("open market consultation")
    assert "`vienna.pdf`, page 3" in markdown and "Note: Forty suppliers: quote in the memo" in markdown

    cli(settings, "collections", "--export", "Memo", "--format", "csv", "--out", str(tmp_path / "memo.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "memo.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["where"], r["in library"]) for r in rows] == [("page 3", "yes"), ("page 2", "yes")]

    cli(settings, "collections", "--export", "Memo", "--pictures", "--out", str(tmp_path / "memo.docx"))
    word = docx.Document(str(tmp_path / "memo.docx"))
    assert len(word.inline_shapes) == 2  # each page's picture, the passage marked on it

    listed = json.loads(cli(settings, "collections", "--json"))
    assert [[p["page"] for p in c["passages"]] for c in listed["collections"]] == [[3, 2]]


def test_feedback_exports_the_pages_judged_to_answer_in_the_dev_set_format(team):
    from index import Filters, feedback

    settings, searcher = team
    question = "What weight did quality have?"
    feedback.record(settings.index_dir, question, Filters(kinds=["pdf"]), result_at(searcher, question, "vienna.pdf", 3), True)
    feedback.record(settings.index_dir, question, None, result_at(searcher, question, "vienna.pdf", 2), False)
    wrong = "Which buses?"
    feedback.record(settings.index_dir, wrong, None, result_at(searcher, wrong, "vienna.pdf", 1), False)

    judged = [json.loads(line) for line in cli(settings, "feedback", "--json").splitlines()]
    assert judged == [{"id": "team-001", "question": question, "category": "team",
                       "relevant": [{"doc": "vienna.pdf", "page": 3}], "filters": {"kinds": ["pdf"]}}]
    scores = feedback.team_scores(searcher, settings.index_dir)
    assert (scores.questions, scores.first, scores.top_five) == (1, 1.0, 1.0)


def test_a_watched_question_flags_a_passage_uploaded_after_it_was_watched_and_not_before(team):
    from index import update, watch

    settings, searcher = team
    question = "Which city bought electric trams with its neighbours?"
    watch.watch(settings.index_dir, searcher, question, None)
    update([settings.library_dir], settings)  # a run that changes nothing flags nothing
    (watched,) = watch.watched(settings.index_dir)
    assert watched.new == []

    make_pdf(settings.library_dir / "uploads" / "trams.pdf",
             ["Joint procurement of trams. Porto and two neighbouring cities bought electric trams together."])
    update([settings.library_dir], settings)

    (watched,) = watch.watched(settings.index_dir)
    assert [(n.document, n.page) for n in watched.new] == [("uploads/trams.pdf", 1)]
    listed = [json.loads(line) for line in cli(settings, "watch", "--json").splitlines()]
    assert [(n["document"], n["page"]) for n in listed[0]["new"]] == [("uploads/trams.pdf", 1)]


def test_the_teams_store_comes_along_when_a_damaged_index_is_set_aside(tmp_path):
    from index import collections, teamwork
    from index.results import Result

    old, new = tmp_path / "index.damaged", tmp_path / "index"
    passage = Result(rank=1, score=1.0, document="a.pdf", page=2, heading="", text="Forty suppliers came.",
                     kind="pdf", sha256="abc")
    collections.keep(old, "Memo", passage, "who came?")
    assert teamwork.carry_over(old, new)
    assert [p.text for p in collections.kept(new, "Memo")] == ["Forty suppliers came."]

"""The foundation: real files in, the right document and page out, incrementally."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, make_pdf, make_pptx, shared_path
from index import Filters, Searcher, load_embedder, update

pytestmark = pytest.mark.slow

PAGES = [
    "Exchange visit report\nSample material. The delegation met the city's procurement unit on Monday.",
    "Prior market consultation: the city invited suppliers to an open information day and published a "
    "questionnaire on its website four weeks before the tender, asking about the maturity of e-bus charging "
    "solutions and realistic delivery times.",
    "Award criteria: the contract was awarded on the best price-quality ratio, quality counting for seventy "
    "percent and price for thirty percent. A reserved lot was kept for social enterprises.",
]


def top(settings, question: str, **kwargs):
    searcher = Searcher(settings.index_dir, settings)
    try:
        return searcher.search(question, k=5, **kwargs)
    finally:
        searcher.close()


def test_question_finds_document_and_page(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    make_pdf(tmp_path / "lib" / "other.pdf", ["Minutes of the steering group on street lighting maintenance."])
    report = update([tmp_path / "lib"], fresh_settings)
    assert sorted(report.added) == ["other.pdf", "report.pdf"]
    best = top(fresh_settings, "how did they consult the market before tendering?")[0]
    assert (best.document, best.page) == ("report.pdf", 2)
    best = top(fresh_settings, "what weighting did quality get against price?")[0]
    assert (best.document, best.page) == ("report.pdf", 3)


def test_deck_tables_groups_and_notes_are_searchable(tmp_path, fresh_settings):
    make_pptx(tmp_path / "lib" / "deck.pptx", [
        {"title": "Welcome", "body": "Staff exchange session, sample material"},
        {"title": "Evaluation grid", "table": [["Criterion", "Weight"], ["Carbon footprint of delivery fleet", "15 points"]]},
        {"title": "Who does what", "group": ["Requesting department", "Legal service drafts the contract clauses"]},
        {"title": "Lessons", "notes": "The head of procurement said bidders needed a site visit to the depot."},
    ])
    update([tmp_path / "lib"], fresh_settings)
    for question, slide in [
        ("how many points for the delivery fleet's carbon footprint?", 2),
        ("who drafts contract clauses?", 3),
        ("did bidders visit the depot?", 4),
    ]:
        best = top(fresh_settings, question)[0]
        assert (best.document, best.page) == ("deck.pptx", slide), question


def test_unchanged_folder_embeds_nothing(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    first = update([tmp_path / "lib"], fresh_settings)
    assert first.chunks_embedded > 0
    second = update([tmp_path / "lib"], fresh_settings)
    assert (second.chunks_embedded, second.added, second.updated, second.unchanged) == (0, [], [], ["report.pdf"])


def test_files_indexed_by_an_older_version_are_read_again_and_keep_their_vectors(tmp_path, fresh_settings):
    # An index made before its files recorded how their passages were made (no column), and one
    # file made by an older version: the next run reads both again, embeds nothing (the texts are
    # the same), and the run after that reads nothing.
    import sqlite3

    from index.sync import PASSAGES_VERSION

    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    make_pdf(tmp_path / "lib" / "other.pdf", ["Street lighting maintenance minutes."])
    update([tmp_path / "lib"], fresh_settings)
    database = fresh_settings.index_dir / "library.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE files DROP COLUMN passages_version")
    report = update([tmp_path / "lib"], fresh_settings)
    assert (sorted(report.updated), report.chunks_embedded, report.chunks_reused) == (["other.pdf", "report.pdf"], 0, 4)
    with sqlite3.connect(database) as connection:
        assert {v for (v,) in connection.execute("SELECT passages_version FROM files")} == {PASSAGES_VERSION}
        connection.execute("UPDATE files SET passages_version = 'older' WHERE name = 'other.pdf'")
    report = update([tmp_path / "lib"], fresh_settings)
    assert (report.updated, report.unchanged, report.chunks_embedded) == (["other.pdf"], ["report.pdf"], 0)
    assert update([tmp_path / "lib"], fresh_settings).updated == []
    assert Searcher(fresh_settings.index_dir, fresh_settings).stats()["chunks"] == 4


def test_editing_one_file_reembeds_only_its_changed_passages(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    make_pdf(tmp_path / "lib" / "other.pdf", ["Street lighting maintenance minutes."])
    update([tmp_path / "lib"], fresh_settings)
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES[:2] + ["Award criteria: lowest price only, after a long debate."])
    report = update([tmp_path / "lib"], fresh_settings)
    assert report.updated == ["report.pdf"] and report.unchanged == ["other.pdf"]
    assert report.chunks_embedded == 1 and report.chunks_reused == 2  # only page 3 changed
    assert top(fresh_settings, "lowest price only")[0].page == 3
    stats = Searcher(fresh_settings.index_dir, fresh_settings).stats()
    assert stats["chunks"] == 4  # no duplicate passages left behind


def test_deleted_file_leaves_no_passages(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    make_pdf(tmp_path / "lib" / "other.pdf", ["Street lighting maintenance minutes."])
    update([tmp_path / "lib"], fresh_settings)
    (tmp_path / "lib" / "report.pdf").unlink()
    report = update([tmp_path / "lib"], fresh_settings)
    assert report.removed == ["report.pdf"]
    results = top(fresh_settings, "market consultation questionnaire e-bus charging")
    assert all(r.document == "other.pdf" for r in results)


def test_same_content_under_a_second_name_is_a_duplicate(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "a_report.pdf", PAGES)
    shutil.copy(tmp_path / "lib" / "a_report.pdf", tmp_path / "lib" / "b_copy.pdf")
    report = update([tmp_path / "lib"], fresh_settings)
    assert report.added == ["a_report.pdf"]
    assert report.duplicates == [("b_copy.pdf", "a_report.pdf")]
    results = top(fresh_settings, "market consultation questionnaire")
    assert [r.document for r in results].count("b_copy.pdf") == 0
    # The original goes away: the copy takes its place, re-using its vectors.
    (tmp_path / "lib" / "a_report.pdf").unlink()
    report = update([tmp_path / "lib"], fresh_settings)
    assert report.added == ["b_copy.pdf"] and report.chunks_embedded == 0
    assert top(fresh_settings, "market consultation questionnaire")[0].document == "b_copy.pdf"


def test_filters_restrict_results(tmp_path, fresh_settings):
    make_pdf(tmp_path / "lib" / "report.pdf", PAGES)
    make_pptx(tmp_path / "lib" / "deck.pptx", [{"title": "Market consultation", "body": "open information day"}])
    update([tmp_path / "lib"], fresh_settings)
    results = top(fresh_settings, "market consultation information day", filters=Filters(kinds=["pptx"]))
    assert results and {r.document for r in results} == {"deck.pptx"}


def test_passages_fit_the_model(corpus_index):
    """No passage with its context line exceeds the model's 256 word pieces (none silently cut)."""
    settings, _ = corpus_index
    counter = load_embedder(settings.model).token_counter
    searcher = Searcher(settings.index_dir, settings)
    rows = searcher._connection.execute("SELECT context, text FROM chunks").fetchall()
    longest = max(counter.count(f"{c}\n{t}" if c else t) for c, t in rows)
    assert longest + 2 <= counter.max_length


def test_cli_contract(corpus_index, tmp_path):
    settings, _ = corpus_index
    questions = tmp_path / "questions.txt"
    questions.write_text("market consultation\naward criteria weighting\n")
    out = subprocess.run(
        [sys.executable, "-m", "index", "search", "--queries", str(questions), "-k", "3", "--json",
         "--index", str(settings.index_dir)], cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 6 and [r["rank"] for r in records] == [1, 2, 3, 1, 2, 3]
    assert {"query", "rank", "score", "document", "page", "heading", "text"} <= set(records[0])
    # Every line carries the estimated probability that its page answers (index/confidence.py).
    assert all(0 <= r["confidence"] <= r["answerable"] <= 1 for r in records)
    stats = json.loads(subprocess.run(
        [sys.executable, "-m", "index", "stats", "--json", "--index", str(settings.index_dir)],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    assert {"documents", "chunks", "model", "dimension", "updated"} <= set(stats)
    assert stats["dimension"] == 384 and stats["chunks"] > 0


def test_robustness_folder_names_every_failure(tmp_path):
    folder = shared_path("realdocs", "robustness")
    completed = subprocess.run(
        [sys.executable, "-m", "ingest", str(folder), "--index", str(tmp_path / "index")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for name, reason in [
        ("pypdf/encryption/r6-both-passwords.pdf", "encrypted, password required"),
        ("pypdf/derived_from_tests/empty-0-bytes.pdf", "empty file"),
        ("pypdf/derived_from_tests/cyclic-pages-tree.pdf", "corrupt"),
        ("python-pptx/no-slides.pptx", "no slides"),
    ]:
        assert any(name in line and reason in line for line in out.splitlines()), (name, out)
    assert "lzw_decoder_table_overflow.bin" in out  # not a document: named, not silently ignored

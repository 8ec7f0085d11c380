"""Page labels (stage of the procurement cycle, kind of material, topic) and browsing by them,
on real indexes of real documents with the real model."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, make_pdf
from index import Filters, Searcher, browse, load_labels, update
from index.labels import GROUPS, LABELS_FILE, update_labels, word_count, _folded
from index.store import DB_NAME

pytestmark = pytest.mark.slow

MARKET_PAGE = ("Preliminary market consultation. Before writing the specifications we held an open market "
               "consultation with twenty suppliers: a request for information, then a supplier day where "
               "companies presented what the market can deliver. The market dialogue changed our requirements.")
CONTRACT_PAGE = ("Contract management. After signature the contract manager monitors the key performance "
                 "indicators every month. KPI results trigger penalties; invoices are paid only after acceptance. "
                 "Contract modifications above ten percent need a new decision.")


def labelled(index_dir) -> dict[tuple[str, int], set[str]]:
    with sqlite3.connect(index_dir / DB_NAME) as c:
        rows = c.execute("SELECT f.name, l.page, l.label FROM page_labels l JOIN files f ON f.sha256 = l.sha256")
        out: dict = {}
        for name, page, label in rows:
            out.setdefault((name, page), set()).add(label)
        return out


def test_the_definitions_file_names_each_label_once_with_descriptions_and_words():
    labels = load_labels()
    keys = [label.key for label in labels.labels]
    assert len(keys) == len(set(keys)) and {label.group for label in labels.labels} == set(GROUPS)
    assert all(label.describe and label.words for label in labels.labels)
    assert {"stage:market", "kind:case", "topic:pcp"} <= set(keys)


def test_words_match_without_accents_and_acronyms_only_whole():
    assert word_count(("adjudicac",), _folded("La Adjudicación del contrato")) == 1
    assert word_count(("ai",), _folded("We aim to buy AI tools; the AI act")) == 2  # not "aim"
    assert word_count(("sme",), _folded("smelting SMEs SME")) == 1


def test_pages_are_labelled_by_what_they_are_about_at_indexing(fresh_settings, tmp_path):
    library = tmp_path / "library"
    make_pdf(library / "exchange.pdf", [MARKET_PAGE, CONTRACT_PAGE])
    update([library], dataclasses.replace(fresh_settings, library_dir=library))
    pages = labelled(fresh_settings.index_dir)
    assert "stage:market" in pages[("exchange.pdf", 1)] and "stage:contract" not in pages[("exchange.pdf", 1)]
    assert "stage:contract" in pages[("exchange.pdf", 2)] and "stage:market" not in pages[("exchange.pdf", 2)]


def test_only_new_files_are_labelled_and_a_new_definitions_file_relabels_without_embedding(fresh_settings, tmp_path):
    library = tmp_path / "library"
    make_pdf(library / "a.pdf", [MARKET_PAGE])
    settings = dataclasses.replace(fresh_settings, library_dir=library)
    assert update([library], settings).files_labelled == 1
    make_pdf(library / "b.pdf", [CONTRACT_PAGE])
    assert update([library], settings).files_labelled == 1  # b.pdf only
    assert update([library], settings).files_labelled == 0
    with sqlite3.connect(settings.index_dir / DB_NAME, isolation_level=None) as c:
        assert update_labels(c, settings.model, lambda texts: pytest.fail("descriptions were stored")) == 0

        # A curator's edit: a new topic. Every file is labelled again, from the stored vectors.
        edited = tmp_path / "labels.toml"
        edited.write_text(LABELS_FILE.read_text(encoding="utf-8") + (
            '\n[topic.suppliers]\nname = "Talking to suppliers"\ndescribe = ["Meeting suppliers and companies."]\n'
            'words = ["supplier", "companies"]\nbias = 0.0\n'), encoding="utf-8")
        encoded, curated = [], load_labels(edited)
        embedder = Searcher(settings.index_dir, settings).embedder()
        assert update_labels(c, settings.model, lambda texts: encoded.extend(texts) or embedder.encode_queries(texts),
                             curated) == 2
    # Only the descriptions were encoded: the passages' vectors came from the index.
    assert encoded == [text for label in curated.labels for text in label.describe]
    assert "topic:suppliers" in labelled(settings.index_dir)[("a.pdf", 1)]


def test_a_removed_file_takes_its_labels_with_it(fresh_settings, tmp_path):
    library = tmp_path / "library"
    make_pdf(library / "a.pdf", [MARKET_PAGE])
    make_pdf(library / "b.pdf", [CONTRACT_PAGE])
    settings = dataclasses.replace(fresh_settings, library_dir=library)
    update([library], settings)
    (library / "a.pdf").unlink()
    update([library], settings)
    assert {name for name, _ in labelled(settings.index_dir)} == {"b.pdf"}
    assert [d.document for d in browse(settings.index_dir, ["stage:market"]).documents] == []


def test_browse_puts_the_sample_library_under_its_stages(corpus_index):
    settings, _ = corpus_index
    found = browse(settings.index_dir, ["stage:market"])
    documents = [d.document for d in found.documents]
    assert "decks/session3-market-engagement-workshop.pptx" in documents[:5], documents
    assert found.counts["stage"]["stage:market"] == len(found.documents)
    contract = [d.document for d in browse(settings.index_dir, ["stage:contract"]).documents]
    assert "templates/contract-management-kpi-checklist.docx" in contract[:5], contract


def test_a_label_filter_keeps_only_labelled_pages(corpus_index):
    settings, _ = corpus_index
    searcher = Searcher(settings.index_dir, settings)
    results = searcher.search("how did they involve suppliers?", k=10, filters=Filters(labels=["stage:market"]))
    pages = labelled(settings.index_dir)
    assert results and all("stage:market" in pages.get((r.document, r.page), set()) for r in results)


def test_index_browse_on_the_command_line(corpus_index):
    settings, _ = corpus_index
    run = subprocess.run(
        [sys.executable, "-m", "index", "browse", "--stage", "market", "--json", "--index", str(settings.index_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["asked"] == ["stage:market"] and found["documents"]
    assert all(page["labels"] and "stage:market" in page["labels"] for d in found["documents"] for page in d["pages"])
    wrong = subprocess.run([sys.executable, "-m", "index", "browse", "--stage", "tendering", "--index",
                            str(settings.index_dir)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "one of planning, market" in wrong.stderr

"""PDF passages carry the heading of the section they stand in, as the page shows it.

Real files: the sample library's exchange report and Italian project report, and the Brazilian
procurement law and the Czech thesis of ../shared/realdocs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, shared_path
import settings as config
from index import load_embedder
from ingest import chunk_document, load_document
from ingest.pdf_headings import reads_as_heading

EXCHANGE = ROOT / "corpus" / "reports" / "exchange-challenges-and-lessons-learned.pdf"


@pytest.fixture(scope="module")
def counter():
    return load_embedder(config.load().model).token_counter


def passages(path: Path, counter):
    settings = config.load()
    return chunk_document(load_document(path), path.name, counter, settings.chunk_tokens, settings.chunk_overlap_tokens)


@pytest.mark.parametrize("page, heading", [
    (5, "5. A consultation dominated by one supplier"),
    (6, "6. An offer that looked too cheap"),
    (10, "10. Data locked in a supplier's system"),
    (12, "12. Summary of actions for Ardenfield"),
])
def test_exchange_report_cards_carry_the_heading_their_page_shows(counter, page, heading):
    first = next(chunk for chunk in passages(EXCHANGE, counter) if chunk.page == page)
    assert first.heading == heading


def test_heading_goes_into_the_context_line_whole(counter):
    chunk = next(c for c in passages(EXCHANGE, counter) if c.page == 7)
    assert chunk.context.endswith("— 7. A scale that could not separate offers")


def test_a_passage_after_a_new_section_on_the_page_takes_its_heading(counter):
    page = next(p for p in load_document(EXCHANGE).pages if p.number == 1)
    start = page.text.index("1. Why a report on difficulties")
    assert (page.heading_at(0), page.heading_at(start)) == ("", "1. Why a report on difficulties")


def test_italian_report_page_3_shows_its_own_section(counter):
    pdf = ROOT / "corpus" / "it" / "relazione-ricarica-autobus-elettrici.pdf"
    first = next(c for c in passages(pdf, counter) if c.page == 3)
    assert first.heading == "3. Consultazione preliminare di mercato"


@pytest.mark.parametrize("line", [
    "b) condições de solidez, de segurança e",
    "II - no caso de alimento perecível;",
    "Chamberlain, G. (1984). Panel data. Hand",
    "Abadie, A., Diamond, A., and Hainmueller, J. (2010). Synthetic control methods",
    "• Reduce the administrative burden",
])
def test_list_items_and_bibliography_entries_are_never_headings(line):
    assert not reads_as_heading(line)


def test_law_pages_take_their_chapter_not_a_list_item():
    law = load_document(shared_path("realdocs", "procurement", "pt_br_lei14133", "L14133.pdf"))
    headings = {page.heading for page in law.pages} | {name for page in law.pages for _, name in page.sections}
    assert not [h for h in headings if h and not reads_as_heading(h)]
    assert "CAPÍTULO III DAS DEFINIÇÕES" in headings


def test_thesis_bibliography_pages_carry_references_not_an_entry():
    thesis = load_document(shared_path("realdocs", "procurement", "en_cz_markups_thesis", "MScThesis.pdf"))
    after = [page for page in thesis.pages if any(name == "References" for _, name in page.sections)]
    following = thesis.pages[after[0].number]  # the page after the one where References starts
    assert following.heading == "References" or following.sections

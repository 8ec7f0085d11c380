"""Working with what was found, in the real app through Chromium: cite a card, keep passages in a
collection and export it, judge a card, watch a question.

The app runs on a small library of its own (two PDFs), indexed before it starts; the team's
store (index/teamwork.py) lives beside that index, so a second start of the app sees it again.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect

import settings as config
from conftest import make_pdf
from test_browser import FRESH, WAIT_MS, ask
from ui.screenshots import CHROMIUM, launch_chromium, running_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (CI installs it: apt-get install chromium)"),
]

VIENNA = [
    "Exchange report Vienna 2024. Our week with the city of Vienna procurement department.",
    "Market consultation. Before the tender, Vienna held an open market consultation with forty suppliers. "
    "They published a prior information notice and invited companies to a workshop on the specifications.",
    "Award criteria. Quality weighed sixty percent and price forty percent in the evaluation of tenders.",
]
LISBON = [
    "Exchange report Lisbon 2025. Hosted by the central purchasing body of Portugal.",
    "Joint procurement. Twelve municipalities bought electric buses together under one framework agreement.",
    "Lessons learned. The framework agreement saved eighteen percent on the price of each bus.",
]


@pytest.fixture
def library(tmp_path):
    """Two exchange reports, indexed: (settings of the app, folder for its logs)."""
    from index import update

    folder = tmp_path / "library"
    make_pdf(folder / "vienna-exchange-report.pdf", VIENNA)
    make_pdf(folder / "lisbon-exchange-report.pdf", LISBON)
    settings = dataclasses.replace(config.load(), library_dir=folder, index_dir=tmp_path / "index")
    update([folder], settings)
    return settings


def app(settings, log):
    return running_app(settings.library_dir, settings.index_dir, log, env={"PXS_ADMIN_PASSWORD": ""})


@pytest.fixture
def browser(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        try:
            yield context
        finally:
            chromium.close()


def new_page(context):
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def card_of(page, document: str, number: int):
    return page.locator(f'{FRESH} .pxs-card[data-document="{document}"][data-page="{number}"]')


def tools_of(page, chunk_id: str):
    """The tools row of the card showing passage `chunk_id` (its keys carry the id)."""
    return page.locator(f".st-key-tools-{chunk_id}")


def test_copy_citation_puts_the_quotation_page_and_link_on_the_clipboard(library, browser, tmp_path):
    browser.grant_permissions(["clipboard-read", "clipboard-write"])
    with app(library, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        best = ask(page, "How did Vienna run the market consultation?").first
        expect(best).to_have_attribute("data-page", "2")
        copy = tools_of(page, best.get_attribute("data-passage")).locator("iframe").content_frame
        copy.get_by_role("button", name="Copy citation").focus()
        page.keyboard.press("Enter")  # reachable and pressed by keyboard
        expect(copy.get_by_role("status")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        copy.get_by_role("button", name="Copy as Markdown").click()
        page.wait_for_function("async () => (await navigator.clipboard.readText()).startsWith('> ')")
        markdown = page.evaluate("navigator.clipboard.readText()")
        page.screenshot(path=str(tmp_path / "cite.png"))
    quote, source, link = copied.split("\n")
    assert quote.startswith("“") and "open market consultation with forty suppliers" in quote
    assert source.endswith(", vienna-exchange-report.pdf, page 2.")
    assert link.startswith(url) and "doc=vienna-exchange-report.pdf" in link and "q=How+did+Vienna" in link
    assert "`vienna-exchange-report.pdf`, page 2 ([open in the library](<http" in markdown


def keep(page, card, collection: str) -> None:
    tools = tools_of(page, card.get_attribute("data-passage"))
    tools.get_by_role("button", name="Keep", exact=True).click()
    expect(tools.get_by_role("button", name=f"Kept in “{collection}”")).to_be_visible()


def test_three_passages_kept_from_two_questions_export_to_word_and_outlive_a_restart(library, browser, tmp_path):
    import docx

    name = "Market consultation memo"
    with app(library, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        ask(page, "How did Vienna run the market consultation?")
        keep_into = page.get_by_role("combobox", name="Keep in the collection")
        keep_into.click()
        keep_into.fill(name)
        page.get_by_role("option", name=f"Add: {name}").click()  # a new collection, by its name
        keep(page, card_of(page, "vienna-exchange-report.pdf", 2), name)
        keep(page, card_of(page, "vienna-exchange-report.pdf", 3), name)
        ask(page, "Which municipalities bought electric buses together?")
        keep(page, card_of(page, "lisbon-exchange-report.pdf", 2), name)
        page.get_by_role("link", name="Collections").click()
        expect(page.get_by_role("combobox", name="Collection")).to_be_visible()
        expect(page.locator("[class*='st-key-kept-']")).to_have_count(3)
        page.screenshot(path=str(tmp_path / "collections.png"), full_page=True)
        page.get_by_text("Word: with each page's picture, the passage marked").click()
        expect(page.locator(FRESH).get_by_text("The Word file takes a moment longer")).to_be_visible()
        # The button of the run that knows the box is ticked: drawn fresh after that line.
        export_word = page.locator(FRESH).get_by_role("button", name="Export as Word (DOCX)")
        with page.expect_download() as download:
            export_word.click()
        download.value.save_as(tmp_path / "memo.docx")

    memo = docx.Document(str(tmp_path / "memo.docx"))
    assert len(memo.inline_shapes) == 3  # the three pages' pictures
    paragraphs = [p.text for p in memo.paragraphs]
    for quotation, where in (("open market consultation with forty suppliers", "vienna-exchange-report.pdf, page 2."),
                             ("Quality weighed sixty percent", "vienna-exchange-report.pdf, page 3."),
                             ("Twelve municipalities bought electric buses", "lisbon-exchange-report.pdf, page 2.")):
        at = next(i for i, text in enumerate(paragraphs) if quotation in text)
        assert paragraphs[at + 1].endswith(where), paragraphs[at:at + 2]

    with app(library, tmp_path / "streamlit-again.log") as url:  # a new server process: nothing in memory
        page = new_page(browser)
        page.goto(f"{url}/collections")
        expect(page.get_by_role("combobox", name="Collection")).to_be_visible()
        expect(page.locator("[class*='st-key-kept-']")).to_have_count(3)


def test_a_verdict_is_recorded_exported_and_scored_by_the_benchmark(library, browser, tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT

    with app(library, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        card = card_of(page, "vienna-exchange-report.pdf", 3)
        ask(page, "What weight did quality have in the award?")
        tools = tools_of(page, card.get_attribute("data-passage"))
        tools.get_by_role("button", name="Answers my question").click()
        expect(tools.get_by_text("Your team's verdict: answers the question")).to_be_visible()
        page.get_by_role("link", name="Library").click()
        expect(page.get_by_text(re.compile(r"^Your team has judged 1 question: the right page first for 100 %, "
                                           r"in the top five for 100 %"))).to_be_visible()

    exported = subprocess.run([sys.executable, "-m", "index", "feedback", "--json", "--index", str(library.index_dir)],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout
    judged = [json.loads(line) for line in exported.splitlines()]
    assert [(j["question"], j["relevant"]) for j in judged] == [
        ("What weight did quality have in the award?", [{"doc": "vienna-exchange-report.pdf", "page": 3}])]
    gold = tmp_path / "judged.jsonl"
    gold.write_text(exported, encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, "bench/eval.py", "--gold", str(gold), "--corpus", str(library.library_dir),
         "--index", str(library.index_dir), "--no-plain"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert re.search(r"default odd half hit@1=1\.0000 hit@5=1\.0000", scored), scored


def test_a_watched_question_shows_the_passage_of_a_document_added_after_it(library, browser, tmp_path):
    from datetime import datetime, timezone

    from index import update

    question = "Which city bought electric trams with its neighbours?"
    today = datetime.now(timezone.utc)
    since = f"since {today.day} {today.strftime('%B')}"
    with app(library, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        ask(page, question)
        page.get_by_role("button", name="Watch this question").click()
        expect(page.get_by_text(f"Watched. 0 new passages {since}.")).to_be_visible()

        make_pdf(library.library_dir / "uploads" / "porto-trams.pdf",
                 ["Joint procurement of trams. Porto and two neighbouring cities bought electric trams together."])
        update([library.library_dir], library)  # an indexing run, as an upload makes one

        page.get_by_role("link", name="Watched").click()
        watched = page.locator("[class*='st-key-watched-']")
        expect(watched).to_contain_text(f"1 new passage {since}: uploads/porto-trams.pdf, page 1.")
        page.screenshot(path=str(tmp_path / "watched.png"), full_page=True)
        watched.get_by_role("link", name="Ask it now").click()
        expect(page.locator(FRESH).get_by_text(f"Watched. 1 new passage {since}: uploads/porto-trams.pdf, page 1."))\
            .to_be_visible()


def test_a_foreign_passage_shows_its_procurement_terms_from_the_glossary(library, browser, tmp_path):
    from index import update

    make_pdf(library.library_dir / "torino-disciplinare.pdf", [
        "Disciplinare di gara. Procedura aperta per la fornitura di stent metallici.",
        "Garanzia provvisoria. L'offerta è corredata da una garanzia provvisoria pari al 2 per cento del valore "
        "del lotto. Le microimprese e le piccole e medie imprese beneficiano di una riduzione del 50 per cento.",
    ])
    update([library.library_dir], library)
    with app(library, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        ask(page, "How big is the bid bond in the Turin stent tender?")
        card = card_of(page, "torino-disciplinare.pdf", 2)
        terms = tools_of(page, card.get_attribute("data-passage")).get_by_text(
            re.compile(r"^Procurement terms in this Italian passage, in English from the app's glossary"))
        expect(terms).to_contain_text("Garanzia provvisoria — bid bond")
        terms.screenshot(path=str(tmp_path / "glosses.png"))

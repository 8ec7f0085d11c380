"""End to end in a real browser: `streamlit run ui/app.py`, driven by playwright through Chromium.

Ask a question, see the passage from the right document and page, open the PDF at that page,
upload a real PDF and find a passage from it. Screenshots of each step go to the test's tmp_path.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect

import settings as config
from conftest import make_pdf, make_pptx, shared_path
from ui.screenshots import CHROMIUM, launch_chromium, running_app

# The first question loads the model in the app's process; on a busy 2-core machine that can
# take a while, so waits are generous (they end as soon as the page is ready).
WAIT_MS = 300_000
# Every wait below is for the thing the next line reads or asserts, never a pause or a proxy
# ("the spinner is gone"): Streamlit draws a run's elements one by one, and keeps the previous
# run's elements on screen, marked stale, until they are replaced.
expect.set_options(timeout=WAIT_MS)
FRESH = "[data-testid=stElementContainer][data-stale=false]"
REAL_PDF = ("procurement", "en_ocp_buying_ai", "12-contract-clauses.pdf")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (CI installs it: apt-get install chromium)"),
]


@pytest.fixture
def app_url(tmp_path):
    """The app on a free port, on a small library of its own, indexed before it starts."""
    from index import update

    library, index_dir = tmp_path / "library", tmp_path / "index"
    make_pdf(library / "vienna-exchange-report.pdf", [
        "Exchange report Vienna 2024. Our week with the city of Vienna procurement department.",
        "Market consultation. Before the tender, Vienna held an open market consultation with forty suppliers. "
        "They published a prior information notice and invited companies to a workshop on the specifications.",
        "Award criteria. Quality weighed sixty percent and price forty percent in the evaluation of tenders.",
    ])
    make_pptx(library / "lessons-learned.pptx", [
        {"title": "Electric buses", "body": "The joint procurement of electric buses saved eighteen percent.",
         "notes": "Mention the framework agreement with three neighbouring municipalities."},
    ])
    update([library], dataclasses.replace(config.load(), library_dir=library, index_dir=index_dir))
    with running_app(library, index_dir, tmp_path / "streamlit.log", env={"PXS_ADMIN_PASSWORD": ""}) as url:
        yield url


@pytest.fixture
def browser_page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
            browser.close()


def ask(page, question: str):
    """Ask, then wait until every result card of this question is drawn; returns the cards."""
    box = page.get_by_role("textbox", name="Your question")
    expect(box).to_be_editable()
    box.fill(question)
    box.press("Enter")
    # The line above the cards says how many there are: wait for it, then for that many cards.
    said = page.locator(FRESH).get_by_text(re.compile(rf"^\d+ best passages? for “{re.escape(question)}”")).first
    expect(said).to_be_visible()
    cards = page.locator(f"{FRESH} .pxs-card")
    expect(cards).to_have_count(int(said.inner_text().split()[0]))
    return cards


def test_ask_open_at_page_and_upload_in_a_real_browser(app_url, browser_page, tmp_path):
    page = browser_page
    page.goto(app_url)
    expect(page.get_by_role("textbox", name="Your question")).to_be_visible()
    page.screenshot(path=str(tmp_path / "1-first-screen.png"))

    cards = ask(page, "How did Vienna run the market consultation?")
    best = cards.first
    page.screenshot(path=str(tmp_path / "2-results.png"), full_page=True)
    expect(best).to_have_attribute("data-document", "vienna-exchange-report.pdf")
    expect(best.locator(".pxs-where")).to_contain_text("page 2")
    expect(page).to_have_url(re.compile(r"[?&]q=How(\+|%20)did(\+|%20)Vienna"))  # the question is in the URL

    link = best.get_by_role("link", name="Open at page 2")
    expect(link).to_have_attribute("href", re.compile(r"/vienna-exchange-report\.pdf#page=2$"))
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    expect(viewer).to_have_url(re.compile(r"/vienna-exchange-report\.pdf#page=2$"))  # a new tab starts blank
    pdf = page.context.request.get(viewer.url.split("#")[0])
    assert (pdf.headers["content-type"], pdf.body()[:5]) == ("application/pdf", b"%PDF-")
    viewer.close()

    real_pdf = shared_path("realdocs", *REAL_PDF)
    page.get_by_role("link", name="Add documents").click()
    page.locator("input[type=file]").set_input_files(str(real_pdf))
    page.get_by_role("button", name="Add to the library").click()
    # The run indexes in a child process of its own (torch and the model load first): allow it
    # as long as a busy machine may need, the wait still ends as soon as the outcome is drawn.
    expect(page.get_by_text("Added as uploads/12-contract-clauses.pdf")).to_be_visible(timeout=600_000)
    page.screenshot(path=str(tmp_path / "3-upload-outcome.png"), full_page=True)

    page.get_by_role("link", name="Ask about them").click()
    cards = ask(page, "Should the contract be made publicly available for transparency?")
    documents = [cards.nth(i).get_attribute("data-document") for i in range(cards.count())]
    page.screenshot(path=str(tmp_path / "4-results-after-upload.png"), full_page=True)
    assert "12-contract-clauses.pdf" in documents[:3]

"""A curator corrects a document in a real browser: its country and one page's stage, on the
document's page; the Ask page's country filter and Browse show the change, and it holds after
`python -m ingest` runs again on the library with the file renamed."""
from __future__ import annotations

import dataclasses
import re
import shutil

import pytest
from playwright.sync_api import expect

import settings as config
from conftest import ROOT, ingest_json
from test_browser import FRESH, WAIT_MS, ask, browser_page  # noqa: F401 - the fixture is used by name
from ui.screenshots import CHROMIUM, running_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (CI installs it: apt-get install chromium)"),
]
SPANISH = "es/informe-consulta-preliminar-comedores-escolares.pdf"
ITALIAN = "it/relazione-ricarica-autobus-elettrici.pdf"


@pytest.fixture
def library_app(tmp_path):
    """The app on two documents of the sample library (Spanish and Italian), indexed before it starts."""
    from index import update
    from ingest.discover import sha256_of

    library, index_dir = tmp_path / "library", tmp_path / "index"
    for name in (SPANISH, ITALIAN):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / name, library / name)
    update([library], dataclasses.replace(config.load(), library_dir=library, index_dir=index_dir))
    with running_app(library, index_dir, tmp_path / "streamlit.log", env={"PXS_ADMIN_PASSWORD": ""}) as url:
        yield url, library, index_dir, sha256_of(library / SPANISH)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the select box named `label` (typed, as a keyboard user does)."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")  # a multiple choice stays open for more


def test_a_curators_country_and_stage_reach_ask_and_browse_and_survive_a_rename(library_app, browser_page, tmp_path):
    url, library, index_dir, sha = library_app
    page = browser_page
    page.goto(f"{url}/document?sha={sha}")
    expect(page.get_by_role("heading", name=re.compile("Informe de la consulta preliminar"))).to_be_visible()
    expect(page.get_by_text("Spain", exact=True).first).to_be_visible()  # what indexing found

    choose(page, "Country", "Portugal")
    page.get_by_role("button", name="Save the corrections").click()
    expect(page.get_by_text("Saved: country.")).to_be_visible()
    choose(page, "Page", "Page 1")
    choose(page, "Procurement cycle", "Contract management and completion")
    page.get_by_role("button", name="Save the labels").click()
    expect(page.get_by_text("Saved the labels of page 1.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "1-corrected.png"), full_page=True)

    page.goto(f"{url}/?q=school+meals+market+consultation&country=Portugal")
    cards = ask(page, "school meals market consultation")
    expect(cards.first).to_have_attribute("data-document", SPANISH)
    expect(page.locator(f"{FRESH} .pxs-card[data-document='{ITALIAN}']")).to_have_count(0)
    page.get_by_role("link", name="About this document").first.click()  # from a card to its document's page
    expect(page.get_by_text("Portugal", exact=True).first).to_be_visible()
    page.get_by_text("Show the page pictures").click()
    page.get_by_text("Page 1", exact=True).first.click()
    expect(page.get_by_role("img", name="Page 1")).to_be_visible()

    page.goto(f"{url}/browse?stage=contract")
    expect(page.get_by_text(re.compile(r"^Portugal · Valdeserra · 2024"))).to_be_visible()

    (library / SPANISH).rename(library / "es" / "informe-renombrado.pdf")
    ingest_json(library, index_dir)
    page.goto(f"{url}/document?sha={sha}")
    expect(page.get_by_text("Portugal", exact=True).first).to_be_visible()
    page.goto(f"{url}/browse?stage=contract")
    expect(page.get_by_text(re.compile(r"^Portugal · Valdeserra · 2024"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "2-after-rename.png"), full_page=True)

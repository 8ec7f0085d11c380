"""End to end in a real browser: `streamlit run ui/app.py`, driven by playwright through Chromium.

Ask a question, see the passage from the right document and page, open the PDF at that page,
upload a real PDF and find a passage from it. Screenshots of each step go to the test's tmp_path.
"""
from __future__ import annotations

import dataclasses
import json
import re

import pytest
from playwright.sync_api import expect

import settings as config
from conftest import ROOT, make_pdf, make_pptx, shared_path
from ui.screenshots import CHROMIUM, CHROMIUM_ARGS, launch_chromium, running_app

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
    expect(link).to_have_attribute("href", re.compile(r"/(document|marked)\.pdf#page=2$"))
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    expect(viewer).to_have_url(re.compile(r"/(document|marked)\.pdf#page=2$"))  # a new tab starts blank
    pdf = page.context.request.get(viewer.url.split("#")[0])
    assert (pdf.headers["content-type"], pdf.body()[:5]) == ("application/pdf", b"%PDF-")
    viewer.close()

    real_pdf = shared_path("realdocs", *REAL_PDF)
    page.get_by_role("link", name="Add documents").click()
    page.locator("input[type=file]").set_input_files(str(real_pdf))
    page.get_by_role("button", name="Add to the library").click()
    # While it is added, the bar counts the file chosen and the chosen file is still listed.
    expect(page.get_by_text(re.compile(r"^(Adding|Checking) the 1 file you chose"))).to_be_visible()
    expect(page.get_by_test_id("stFileChipName")).to_have_attribute("title", "12-contract-clauses.pdf")
    # The run indexes in a child process of its own (torch and the model load first): allow it
    # as long as a busy machine may need, the wait still ends as soon as the outcome is drawn.
    expect(page.get_by_text("Added as 12-contract-clauses.pdf")).to_be_visible(timeout=600_000)
    expect(page.get_by_test_id("stFileChipName")).to_have_count(0)  # a new, empty uploader
    page.screenshot(path=str(tmp_path / "3-upload-outcome.png"), full_page=True)

    page.get_by_role("link", name="Ask about them").click()
    ask(page, "Should the contract be made publicly available for transparency?")
    # Wait for the asserted thing itself: the cards are drawn one by one after the caption, and
    # drawn again with their page pictures, so a list read once may be empty or partial.
    among_first_three(page, "12-contract-clauses.pdf")
    page.screenshot(path=str(tmp_path / "4-results-after-upload.png"), full_page=True)


def test_a_question_the_library_cannot_answer_says_so_in_words(app_url, browser_page, tmp_path):
    from ui.search_page import NOTHING_ANSWERS

    page = browser_page
    page.goto(app_url)
    cards = ask(page, "xqzv blorf")
    # The warning is drawn before the line above the cards, which `ask` waited for.
    expect(page.locator(FRESH).get_by_text(NOTHING_ANSWERS)).to_be_visible()
    expect(cards.first.locator(".pxs-confidence")).to_contain_text("probably not the answer")
    expect(cards.first.locator(".pxs-score")).to_have_count(0)  # no raw score a person cannot read
    page.screenshot(path=str(tmp_path / "nothing-answers.png"), full_page=True)

    cards = ask(page, "How did Vienna run the market consultation?")
    expect(cards.first).to_have_attribute("data-document", "vienna-exchange-report.pdf")
    expect(page.locator(FRESH).get_by_text(NOTHING_ANSWERS)).to_have_count(0)


def among_first_three(page, document: str) -> None:
    """Wait until `document` is among the first three fresh cards; fail naming what was there."""
    first_three = f"""(doc) => [...document.querySelectorAll('{FRESH} .pxs-card')].slice(0, 3)
        .some(card => card.dataset.document === doc)"""
    try:
        page.wait_for_function(first_three, arg=document, timeout=WAIT_MS)
    except Exception:  # playwright's TimeoutError: say what the page showed instead
        shown = page.locator(f"{FRESH} .pxs-card").evaluate_all("cards => cards.map(c => c.dataset.document)")
        raise AssertionError(f"{document} not among the first three cards: {shown}") from None


def yellow_share(image, box: tuple[float, float, float, float]) -> float:
    """The share of the pixels in `box` (fractions of the image) that are the highlight's yellow."""
    width, height = image.size
    region = image.convert("RGB").crop((int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height)))
    pixels = list(region.get_flattened_data())
    # The mark is a translucent yellow over the page: white turns (255, 237, 148), black text stays dark.
    return sum(1 for r, g, b in pixels if r > 200 and g > 170 and r - b > 70) / max(1, len(pixels))


def rendered_page(pdf: bytes, page: int, scale: float = 3.0):
    """Page `page` of `pdf` drawn by pdfium (Chromium's PDF engine) with its annotations."""
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(pdf)[page - 1].render(scale=scale, draw_annots=True).to_pil()


def text_lines(pdf: bytes, page: int, lines: int) -> list[tuple[tuple, tuple]]:
    """For each of the first `lines` lines of text on page `page`: the box of the line and of its
    last word, as fractions of the page (left, top, right, bottom), from the text layer."""
    import pypdfium2 as pdfium

    pdf_page = pdfium.PdfDocument(pdf)[page - 1]
    width, height = pdf_page.get_size()
    textpage = pdf_page.get_textpage()
    text = textpage.get_text_range()

    def box(start: int, end: int) -> tuple:
        chars = [textpage.get_charbox(i) for i in range(start, end)]
        return (min(c[0] for c in chars) / width, 1 - max(c[3] for c in chars) / height,
                max(c[2] for c in chars) / width, 1 - min(c[1] for c in chars) / height)

    found = []
    for line in list(re.finditer(r"[^\r\n]+", text))[:lines]:
        word = list(re.finditer(r"\w+", line.group()))[-1]
        found.append((box(*line.span()), box(line.start() + word.start(), line.start() + word.end())))
    return found


def viewer_marks_line_ends(viewer, pdf: bytes, page: int, lines: int, shot_path) -> list[float]:
    """In Chromium's own PDF viewer (`viewer`, a tab showing `pdf` at `page`), the share of the
    highlight's yellow around the last letters each of the page's first `lines` lines shows.

    The viewer draws the text in fonts of its own choosing, so where a line ends is read from the
    screenshot (the rightmost dark pixel in the line's band), not from the text layer. The page is
    the white sheet whose lower part is blank (the test's pages are text at the top only): its
    width on a blank row, its top up the left margin."""
    import io
    import time

    from PIL import Image

    bands = [line for line, _ in text_lines(pdf, page, lines)]
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        shot = Image.open(io.BytesIO(viewer.screenshot())).convert("RGB")
        width, height = shot.size
        pixel = shot.load()
        white = lambda x, y: min(pixel[x, y]) >= 250  # noqa: E731
        row, runs, start = height - 20, [], None
        for x in range(width + 1):
            if x < width and white(x, row):
                start = x if start is None else start
            elif start is not None:
                runs.append((start, x))
                start = None
        left, right = max(runs, key=lambda r: r[1] - r[0], default=(0, 0))
        top = row
        while top > 0 and white(left + 3, top - 1):
            top -= 1
        sheet = right - left
        shares = []
        if sheet > width / 4:
            scale = sheet / 595  # pixels per point: A4 pages, as conftest.make_pdf draws them
            for _, band_top, _, band_bottom in bands:
                y0, y1 = int(top + band_top * 842 * scale), int(top + band_bottom * 842 * scale) + 1
                dark = [x for x in range(left, right) if any(max(pixel[x, y]) < 110 for y in range(y0, y1))]
                if not dark:
                    break
                end = dark[-1]
                around = (end - (y1 - y0), y0, end + 2, y1)  # a letter's width back from the line's end
                shares.append(yellow_share(shot, (around[0] / width, around[1] / height, around[2] / width, around[3] / height)))
        if (len(shares) == len(bands) and any(shares)) or time.monotonic() > deadline:
            shot.save(shot_path)
            if len(shares) < len(bands):
                raise AssertionError(f"the page's lines were not found in Chromium's viewer (see {shot_path})")
            return shares


def test_the_page_picture_marks_the_passage_and_the_opened_pdf_carries_a_highlight(app_url, browser_page, tmp_path):
    import io

    from PIL import Image
    from pypdf import PdfReader

    page = browser_page
    page.goto(app_url)
    cards = ask(page, "How did Vienna run the market consultation?")
    best = cards.first
    expect(best).to_have_attribute("data-document", "vienna-exchange-report.pdf")
    picture = best.locator(".pxs-pic img")
    expect(picture).to_be_visible()  # drawn after the list: waited for, not assumed
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    best.locator(".pxs-page summary").click()  # enlarged
    expect(best.locator(".pxs-page")).to_have_attribute("open", "")
    shot = Image.open(io.BytesIO(best.locator(".pxs-pic").screenshot()))
    shot.save(tmp_path / "5-page-picture.png")
    # conftest.make_pdf draws page 2's text from y = 800 pt down, 14 pt a line, from x = 50 pt, on
    # an A4 page (595 x 842 pt): the passage's first line lies in this band of the picture.
    first_line = (60 / 595, (842 - 808) / 842, 300 / 595, (842 - 799) / 842)
    blank = (60 / 595, 0.5, 300 / 595, 0.6)
    assert yellow_share(shot, first_line) > 0.5 and yellow_share(shot, blank) == 0.0

    link = best.get_by_role("link", name="Open at page 2")
    href = link.get_attribute("href")
    assert re.search(r"/(document|marked)\.pdf#page=2$", href)
    served = page.context.request.get(f"{app_url}/{href.split('#')[0]}")
    assert served.headers["content-type"] == "application/pdf"
    annotations = [a.get_object() for a in PdfReader(io.BytesIO(served.body())).pages[1].get("/Annots", [])]
    assert [a["/Subtype"] for a in annotations] == ["/Highlight"]
    left, bottom, right, top = (float(v) for v in annotations[0]["/Rect"])
    assert left <= 51 and right > 300 and bottom < 786 and 800 <= top <= 812  # the passage's lines
    # The served PDF drawn by pdfium with its annotations, as Chromium's viewer draws it: under the
    # last word of each marked line, the paper between the letters is yellow.
    last_words = [word for _, word in text_lines(served.body(), page=2, lines=2)]
    drawn = rendered_page(served.body(), page=2)
    drawn.save(tmp_path / "5-served-pdf-page-2.png")
    assert all(yellow_share(drawn, box) > 0.3 for box in last_words), [yellow_share(drawn, b) for b in last_words]
    # And in Chromium's own viewer, which draws the text in a font of its choosing: the highlight
    # reaches the last letters of each marked line as it shows them.
    with page.context.expect_page() as opened:
        link.click()
    shares = viewer_marks_line_ends(opened.value, served.body(), page=2, lines=2, shot_path=tmp_path / "5-viewer.png")
    assert all(share > 0.3 for share in shares), shares
    opened.value.close()

    slides = ask(page, "electric buses joint procurement")
    deck = slides.filter(has=page.locator(".pxs-pic")).and_(page.locator('[data-document="lessons-learned.pptx"]')).first
    expect(deck.locator(".pxs-pic img")).to_be_visible()  # the slide, as LibreOffice laid it out
    expect(deck.locator(".pxs-box").first).to_be_attached()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=deck.locator(".pxs-pic img").element_handle())
    deck.screenshot(path=str(tmp_path / "6-slide-card.png"))


def test_browse_by_stage_opens_the_page_and_a_filtered_ask_link_works_in_a_new_browser(app_url, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{app_url}/browse")
    stage = page.get_by_role("button", name=re.compile(r"^Market consultation and engagement · [1-9]"))
    stage.click()
    expect(page).to_have_url(re.compile(r"[?&]stage=market"))
    report = page.locator("[class*='st-key-browse-doc-']").filter(has_text="vienna-exchange-report.pdf").first
    expect(report).to_be_visible()
    page.screenshot(path=str(tmp_path / "7-browse-stage.png"), full_page=True)
    report.get_by_role("button", name="Page 2").click()
    card = page.locator(f'{FRESH} .pxs-card[data-document="vienna-exchange-report.pdf"][data-page="2"]')
    expect(card.get_by_role("link", name="Open at page 2")).to_have_attribute(
        "href", re.compile(r"/(document|marked)\.pdf#page=2$"))
    expect(card.locator(".pxs-pic img")).to_be_visible()

    page.get_by_role("link", name="Ask a question within these").click()
    cards = ask(page, "What did they do before the tender?")
    expect(page).to_have_url(re.compile(r"[?&]stage=Market(\+|%20)consultation"))
    shown = cards.evaluate_all("cards => cards.map(c => [c.dataset.document, c.dataset.page])")
    assert shown and shown[0] == ["vienna-exchange-report.pdf", "2"], shown  # the filter kept the market page
    link = page.url

    # A second browser process: it shares nothing with the first but the link.
    other = page.context.browser.browser_type.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        fresh = other.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        fresh.set_default_timeout(WAIT_MS)
        fresh.goto(link)
        chosen = fresh.get_by_test_id("stSidebar").get_by_text("Market consultation and engagement")
        expect(chosen).to_be_visible()
        said = fresh.locator(FRESH).get_by_text(re.compile(r"^\d+ best passages? for “What did they do before the tender\?”")).first
        expect(said).to_be_visible()
        again = fresh.locator(f"{FRESH} .pxs-card")
        expect(again).to_have_count(len(shown))
        assert again.evaluate_all("cards => cards.map(c => [c.dataset.document, c.dataset.page])") == shown
    finally:
        other.close()


# axe-core, installed by scripts/install.sh from the npm registry into .node/ (not in git).
AXE = ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Violations inside Streamlit's own markup, which our code cannot reach (each named, with why):
# none so far; a rule/selector pair added here must say which Streamlit element it is.
STREAMLIT_OWN: set[tuple[str, str]] = set()


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' ')), why: v.nodes.map(n => n.failureSummary + ' | ' + n.html)}))",
        WCAG_21_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {target}: {why}"
        for v in found if v["impact"] in ("serious", "critical")
        for target, why in zip(v["targets"], v["why"]) if (v["id"], target) not in STREAMLIT_OWN
    ]


@pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} is absent (bash scripts/install.sh installs it with npm)")
def test_every_page_passes_an_accessibility_audit(app_url, browser_page, tmp_path):
    page = browser_page
    found = {}
    page.goto(app_url)
    cards = ask(page, "How did Vienna run the market consultation?")
    expect(cards.first.locator(".pxs-pic img")).to_be_visible()  # the cards with their pictures
    found["Ask"] = serious_violations(page)
    page.screenshot(path=str(tmp_path / "audit-ask.png"), full_page=True)
    # Each page is audited once the last thing it draws is there.
    last_drawn = {
        "Browse": lambda: page.get_by_role("button", name=re.compile(r"^Market consultation and engagement · ")),
        "Add documents": lambda: page.get_by_role("button", name="Add to the library"),
        "Library": lambda: page.get_by_role("button", name="Re-index the library"),
    }
    for name, path in (("Browse", "browse"), ("Add documents", "add"), ("Library", "library")):
        page.goto(f"{app_url}/{path}")
        expect(last_drawn[name]()).to_be_visible()
        found[name] = serious_violations(page)
        page.screenshot(path=str(tmp_path / f"audit-{path}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # the Library on a phone: a block per document
    expect(page.locator(".pxs-table td").first).to_have_css("display", "block")
    found["Library on a phone"] = serious_violations(page)
    page.screenshot(path=str(tmp_path / "audit-library-phone.png"), full_page=True)
    (tmp_path / "audit.json").write_text(json.dumps(found, indent=1, ensure_ascii=False), encoding="utf-8")
    assert found == {name: [] for name in found}, found


def reached_by_tab(page, target, presses: int = 120) -> bool:
    """Whether pressing Tab, from where the focus is, reaches `target` (a locator)."""
    element = target.element_handle()
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("el => el === document.activeElement || el.contains(document.activeElement)", element):
            return True
    return False


def test_every_action_of_a_card_is_reachable_by_keyboard(app_url, browser_page):
    page = browser_page
    page.goto(app_url)
    best = ask(page, "How did Vienna run the market consultation?").first
    expect(best.locator(".pxs-pic img")).to_be_visible()
    actions = {
        "open at page": best.get_by_role("link", name="Open at page 2"),
        "enlarge the picture": best.locator(".pxs-page summary"),
        "whole passage": best.locator(".pxs-whole summary"),
        "next passage": page.get_by_role("button", name=re.compile(r"^page \d+ ▶$")).first,
    }
    reached = {}
    for name, target in actions.items():
        page.get_by_role("textbox", name="Your question").focus()
        reached[name] = reached_by_tab(page, target)
    assert all(reached.values()), reached
    page.get_by_role("textbox", name="Your question").focus()
    reached_by_tab(page, actions["enlarge the picture"])
    page.keyboard.press("Enter")
    expect(best.locator(".pxs-page")).to_have_attribute("open", "")  # enlarged from the keyboard

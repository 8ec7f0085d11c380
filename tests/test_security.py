"""Issue 24, attack by attack, against the real app (`streamlit run ui/app.py`) in Chromium or over
HTTP and Streamlit's own websocket protocol, on a library of hostile documents made here.

Every test waits for what it asserts. Throughout, a dialog (a script's alert) and any request to
a host other than the app's are recorded, and a test fails if one happened. One app serves the
module; the password attack runs last, since it locks this address out.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import email.message
import io
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from conftest import ROOT, ingest_json, make_pdf
from ui.screenshots import CHROMIUM, app_server, launch_chromium

sys.path.insert(0, str(ROOT / "bench"))
from load import Session  # noqa: E402  - the benchmark's websocket client: a tab as the browser speaks

# The most a wait may take (each ends as soon as its thing is there): generous for a busy 2-core
# machine; PXS_TEST_WAIT_MS shortens it where failures are expected (a run against old code).
WAIT_MS = int(os.environ.get("PXS_TEST_WAIT_MS", "300000"))
expect.set_options(timeout=WAIT_MS)
FRESH = "[data-testid=stElementContainer][data-stale=false]"
PASSWORD = "tulips and tenders"
UPLOAD_MAX_MB = 1
# A comment line of a valid PDF that is also an HTML page: as long as reportlab's own second line
# (51 bytes), so no offset in the file moves.
SCRIPT_LINE = b"%<script>alert(document.domain)</script><!--".ljust(51)
MARKDOWN = r"[Log in again](http://evil.example/login) ![pixel](http://tracker.example/pixel.png) $\color{red}{\Huge PWNED}$"
NEWLINE_NAME = "minutes\n\n**PWNED** see below.pdf"
LONG_NAME = "α" * 113 + ".pdf"  # 230 bytes: the mirror's staging name passed 255
LONG_MEMBER = "中" * 99 + ".pdf"  # 301 bytes
SECRET = "TOP SECRET salary list of the procurement office"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (CI installs it: apt-get install chromium)"),
]


def polyglot(path: Path, text: str) -> bytes:
    """A valid PDF whose second line makes it an HTML page with a script too."""
    data = make_pdf(path, [text]).read_bytes()
    first, second, rest = data.split(b"\n", 2)
    assert len(second) == len(SCRIPT_LINE)
    return b"\n".join([first, SCRIPT_LINE, rest])


def pdf_with_bookmark(path: Path, text: str, bookmark: str) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.bookmarkPage("p1")
    pdf.addOutlineEntry(bookmark, "p1", level=0)
    for number, line in enumerate(text.split("\n")):
        pdf.drawString(50, 800 - 14 * number, line)
    pdf.showPage()
    pdf.save()
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The hostile library, indexed: (library folder, index folder, the secret outside it)."""
    base = tmp_path_factory.mktemp("security")
    library, made = base / "library", base / "made"
    library.mkdir()
    (library / "evil.html").write_bytes(polyglot(made / "a.pdf", "Polyglot notice on street lighting lanterns."))
    with zipfile.ZipFile(library / "package.zip", "w") as archive:
        archive.writestr("inside/evil.html", polyglot(made / "b.pdf", "Bridge maintenance tender in the package."))
        archive.writestr(LONG_MEMBER, make_pdf(made / "c.pdf", ["Bicycle lanes plan inside the package."]).read_bytes())
    mail = email.message.EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", "b@example.org", "Offer"
    mail.set_content("Please find our offer attached.")
    mail.add_attachment(polyglot(made / "d.pdf", "School catering offer in the attachment."),
                        maintype="application", subtype="pdf", filename="evil.html")
    (library / "mail.eml").write_bytes(mail.as_bytes())
    pdf_with_bookmark(library / NEWLINE_NAME, "Minutes on snow clearing contracts of the council.\nBefore the tender, "
                      "the council held an open market consultation with forty suppliers.", f"Minutes\n\n{MARKDOWN}")
    make_pdf(library / LONG_NAME, ["Bicycle lanes plan of the city, with a long Greek name."])
    (library / "notes").mkdir()
    (library / "notes" / "plan.txt").write_text("The winter maintenance plan covers gritting of cycle paths.\n")
    secret = base / "secret.txt"
    secret.write_text(SECRET + "\n")
    ingest_json(library, base / "index")
    return library, base / "index", secret


@pytest.fixture(scope="module")
def app(library, tmp_path_factory):
    """(URL, server log) of one app with a password and a 1 MB upload limit."""
    folder, index, _ = library
    log = tmp_path_factory.mktemp("security-app") / "streamlit.log"
    env = {"PXS_ADMIN_PASSWORD": PASSWORD, "PXS_UPLOAD_MAX_MB": str(UPLOAD_MAX_MB)}
    with app_server(folder, index, log, env=env) as (url, _):
        yield url, log


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class Watched:
    """A browser context that records every dialog and every request leaving the app's origin
    (and stops the latter): what a test asserts never happened."""

    def __init__(self, browser, url: str, tmp_path: Path):
        self.url, self.tmp_path = url, tmp_path
        self.dialogs: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        self.context.on("dialog", self._dialog)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _route(self, route) -> None:
        if route.request.url.startswith(self.url) or not route.request.url.startswith(("http:", "https:")):
            route.continue_()  # the app, or the browser's own PDF viewer (chrome-extension:)
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.page.screenshot(path=str(self.tmp_path / "last.png"), full_page=True)
        self.context.close()


@pytest.fixture
def tab(app, browser, tmp_path):
    url, _ = app
    watched = Watched(browser, url, tmp_path)
    try:
        yield watched
    finally:
        watched.close()


def search_url(url: str, question: str, *documents: str) -> str:
    """A shared search link: the question, and the documents it is narrowed to (the Ask page's
    filter), so each attack is met on its own, not through another document's."""
    return f"{url}/?q={quote(question)}" + "".join(f"&doc={quote(d)}" for d in documents)


def ask(page, question: str | None = None):
    """Ask (or open a ?q= link already loaded), wait until every card is drawn; returns the cards.
    A search that fails shows an error instead of the caption: that is returned as a failure."""
    if question is not None:
        box = page.get_by_role("textbox", name="Your question")
        expect(box).to_be_editable()
        box.fill(question)
        box.press("Enter")
    said = page.locator(FRESH).get_by_text(re.compile(r"^\d+ best passages? for “|Something went wrong")).first
    expect(said).to_be_visible()
    text = said.inner_text()
    assert "Something went wrong" not in text, text
    cards = page.locator(f"{FRESH} .pxs-card")
    expect(cards).to_have_count(int(text.split()[0]))
    return cards


def card_of(page, text: str):
    """The fresh card holding `text`, once its page picture (drawn last) is on it."""
    card = page.locator(f"{FRESH} .pxs-card").filter(has_text=text).first
    expect(card.locator(".pxs-pic img, .pxs-nopic:not([title='The page is being drawn'])").first).to_be_attached()
    return card


def shown_text(element) -> str:
    """An element's text as a reader sees it: spaces collapsed, the invisible word joiners that
    keep bare links from being linked (ui/escaping.py) left out."""
    return " ".join(element.inner_text().replace("\u2060", "").split())


def served_as_html(watched: Watched) -> list[str]:
    """Every file under ui/static/ that the app serves as HTML, each opened in the browser (so a
    script in it would run and be recorded)."""
    static = ROOT / "ui" / "static"
    found = []
    for path in sorted(p for p in static.rglob("*") if p.is_file() and not p.name.startswith(".")):
        url = f"{watched.url}/app/static/{quote(path.relative_to(static).as_posix())}"
        answer = watched.context.request.get(url)
        if answer.ok and answer.headers.get("content-type", "").startswith("text/html"):
            found.append(path.relative_to(static).as_posix())
            viewer = watched.context.new_page()
            viewer.goto(url, wait_until="load")  # an alert blocks the load event until dismissed
            viewer.close()
    return found


# -- 1. a document's script in the app's origin --------------------------------------------------
@pytest.mark.parametrize("question, document", [
    ("Polyglot notice on street lighting lanterns", "evil.html"),
    ("Bridge maintenance tender in the package", "package.zip/inside/evil.html"),
    ("School catering offer in the attachment", "mail.eml/evil.html"),
], ids=["file", "zip-member", "mail-attachment"])
def test_a_pdf_named_html_opens_as_a_pdf_and_runs_no_script(tab, question, document):
    page = tab.page
    page.goto(search_url(tab.url, question, document))
    ask(page)
    card = card_of(page, question.split()[0])
    expect(card).to_have_attribute("data-document", document)
    link = card.get_by_role("link", name=re.compile(r"^Open at page 1"))
    href = link.get_attribute("href")
    served = tab.context.request.get(f"{tab.url}/{href.split('#')[0]}")
    with tab.context.expect_page() as opened:
        link.click()
    opened.value.wait_for_load_state("load")
    assert (served.headers["content-type"], served.body()[:5], "evil" in href, served_as_html(tab), tab.dialogs,
            tab.external) == ("application/pdf", b"%PDF-", False, [], [], [])


# -- 2. Markdown through line breaks --------------------------------------------------------------
def test_a_name_and_a_bookmark_with_blank_lines_and_markdown_stay_text_in_the_card(tab):
    page = tab.page
    page.goto(search_url(tab.url, "Minutes on snow clearing contracts of the council", NEWLINE_NAME))
    ask(page)
    card = card_of(page, "snow clearing")  # drawn in full, its picture last
    where = shown_text(card.locator(".pxs-where"))
    rendered = page.locator("a[href*='evil.example'], img[src*='tracker.example'], .katex, strong:text('PWNED')")
    # The name as its characters, nothing of it or of the bookmark drawn as Markdown. The bookmark is
    # shown as its characters or not at all: a PDF's headings come from its page layout, and an
    # outline title that does not stand on the page is no heading (ingest/pdf_headings.py).
    bookmark_as_text = MARKDOWN in where or "evil.example" not in where
    assert ("**PWNED** see below.pdf" in where, bookmark_as_text, rendered.count(), tab.dialogs, tab.external) == (
        True, True, 0, [], [])


def test_the_browse_pages_help_shows_a_name_as_text(tab):
    page = tab.page
    page.goto(f"{tab.url}/browse")
    page.get_by_role("button", name=re.compile(r"^Market consultation and engagement · [1-9]")).click()
    button = page.locator("[class*='st-key-browse-doc-']").filter(has_text="see below.pdf").get_by_role("button").first
    button.hover()
    tooltip = page.get_by_test_id("stTooltipContent").filter(has_text="see below.pdf")
    expect(tooltip).to_be_visible()
    text = shown_text(tooltip)
    assert ("**PWNED** see below.pdf" in text, tooltip.locator("strong").count(), tab.dialogs, tab.external) == (
        True, 0, [], [])


def test_markdown_and_katex_in_the_url_question_stay_text(tab):
    question = f"winter maintenance plan {MARKDOWN}"
    page = tab.page
    page.goto(search_url(tab.url, question, "notes/plan.txt"))  # a plain document: only ?q= attacks
    ask(page)
    caption = shown_text(page.locator(FRESH).get_by_text(re.compile(r"^\d+ best passages? for “")).first)
    rendered = page.locator("a[href*='evil.example'], img[src*='tracker.example'], .katex")
    assert (f"for “{question}”" in caption, rendered.count(), tab.dialogs, tab.external) == (True, 0, [], [])


# -- 3. one name breaks every search --------------------------------------------------------------
def test_names_over_255_bytes_break_no_card(tab):
    page = tab.page
    page.goto(search_url(tab.url, "Bicycle lanes plan", LONG_NAME, f"package.zip/{LONG_MEMBER}"))
    ask(page)
    for document in (LONG_NAME, f"package.zip/{LONG_MEMBER}"):
        card = page.locator(f'{FRESH} .pxs-card[data-document="{document}"]')
        expect(card.get_by_role("link", name="Open at page 1")).to_be_attached()
    assert (tab.dialogs, tab.external) == ([], [])


def test_an_upload_named_in_300_bytes_is_added(tab):
    page = tab.page
    page.goto(f"{tab.url}/add")
    page.get_by_label("Library password").fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    name = "中" * 99 + ".pdf"
    data = make_pdf(tab.tmp_path / "upload.pdf", ["Tram depot extension works tendered in lots."]).read_bytes()
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": "application/pdf", "buffer": data})
    page.get_by_role("button", name="Add to the library").click()
    outcome = page.locator(FRESH).get_by_text(re.compile(r"Added as |Not added|could not be added")).first
    expect(outcome).to_be_visible(timeout=600_000)  # indexed in a child process: torch and the model load first
    assert "Added as 中中" in shown_text(outcome), shown_text(outcome)
    assert (tab.dialogs, tab.external) == ([], [])


# -- 4. a symlink swapped in after indexing -------------------------------------------------------
def test_a_symlink_swapped_in_after_indexing_serves_nothing_outside_the_library(library, tab):
    folder, _, secret = library
    plan = folder / "notes" / "plan.txt"
    plan.unlink()
    plan.symlink_to(secret)
    page = tab.page
    page.goto(search_url(tab.url, "winter maintenance plan gritting cycle paths", "notes/plan.txt"))
    ask(page)
    # The one card (narrowed to the file) offers its Download button, or says why it cannot.
    refusal = page.get_by_text("notes/plan.txt cannot be opened or downloaded: refused: a symbolic link")
    expect(page.get_by_role("button", name="Download").or_(refusal).first).to_be_visible()
    downloads = []
    for button in page.get_by_role("button", name="Download").all():
        with page.expect_download() as download:
            button.click()
        downloads.append(Path(download.value.path()).read_text(errors="replace"))
    assert ([text for text in downloads if SECRET in text], refusal.count()) == ([], 1)


# -- 5. a locked session uploads ------------------------------------------------------------------
def test_a_locked_session_gets_no_upload_url_and_its_uploads_are_refused(app):
    url, _ = app

    async def attack():
        from streamlit.proto.BackMsg_pb2 import BackMsg

        session = Session(url)
        await session.open()
        try:
            page = await session.rerun(page="add")
            assert "Library password" in session.widgets and "Documents" not in session.widgets, page.problem
            back = BackMsg()
            back.file_urls_request.request_id = uuid.uuid4().hex
            back.file_urls_request.file_names.append("a.pdf")
            back.file_urls_request.session_id = session.session_id
            await session._send(back)
            while True:
                message = await asyncio.wait_for(session._incoming.get(), 120)
                if not isinstance(message, Exception) and message.WhichOneof("type") == "file_urls_response":
                    break
            put = f"{url}/_stcore/upload_file/{session.session_id}/{uuid.uuid4()}"
            statuses = [await asyncio.to_thread(_put, put, session.xsrf, size) for size in (500_000, 2_000_000)]
            return len(message.file_urls_response.file_urls), statuses
        finally:
            await session.close()

    # No URL; a small file refused (403, locked); a 2 MB file over PXS_UPLOAD_MAX_MB=1 refused (413).
    assert in_own_loop(attack()) == (0, [403, 413])


def in_own_loop(coroutine):
    """Run websocket sessions in an event loop of their own: playwright's sync API holds this
    thread's."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _put(url: str, xsrf: str, size: int) -> int:
    """The status a PUT of a `size`-byte file to Streamlit's upload URL gets. A server that
    refuses by Content-Length answers before the body is sent, and closes: the answer is read
    even when sending the rest then fails."""
    import http.client

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + b"%" * size + f"\r\n--{boundary}--\r\n".encode()
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    try:
        connection.putrequest("PUT", target.path)
        for name, value in {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(body)),
                            "X-Xsrftoken": xsrf, "Cookie": f"_streamlit_xsrf={xsrf}"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for start in range(0, len(body), 1 << 16):
                connection.send(body[start:start + (1 << 16)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body was read: its answer is waiting
        return connection.getresponse().status
    finally:
        connection.close()


# -- 7. an unbounded question -----------------------------------------------------------------------
def test_a_100000_character_question_gets_a_message_and_the_app_answers_the_next(library, tab, app):
    page = tab.page
    page.goto(tab.url)
    box = page.get_by_role("textbox", name="Your question")
    expect(box).to_be_editable()
    box.fill("how " * 25_000)
    box.press("Enter")
    # A limit on the wait, not a timing: the message comes at once, the 70 s search never does.
    expect(page.get_by_text("questions are limited to 1,000 characters")).to_be_visible(timeout=120_000)
    other = Watched(tab.context.browser, tab.url, tab.tmp_path)
    try:
        other.page.goto(tab.url)
        assert ask(other.page, "Bicycle lanes plan").count() > 0
    finally:
        other.close()
    _, index, _ = library
    cli = subprocess.run([sys.executable, "-m", "index", "search", "how " * 25_000, "--index", str(index), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert (cli.returncode, "questions are limited to 1,000 characters" in cli.stderr, cli.stdout) == (2, True, "")


def test_nothing_under_the_static_folder_is_served_as_html(tab):
    assert (served_as_html(tab), tab.dialogs) == ([], [])


# -- 6. guessing the password in parallel (last: it locks this address out) ------------------------
def test_thirty_wrong_passwords_from_parallel_sessions_are_limited_and_logged(app, tab):
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    url, log = app
    guesses = [f"guess-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(30)]

    async def attempt(password: str) -> str:
        session = Session(url)
        await session.open()
        try:
            await session.rerun(page="add")
            states = [WidgetState(id=session.widgets["Library password"], string_value=password),
                      WidgetState(id=session.forms["Unlock"], trigger_value=True)]
            run = await session.rerun(page="add", states=states)
            return " ".join(run.alerts(Alert.ERROR)) or ("unlocked" if "Documents" in session.widgets else run.problem)
        finally:
            await session.close()

    async def attack():
        answers = await asyncio.gather(*(attempt(guess) for guess in guesses))
        return answers, await attempt(PASSWORD)  # the right one, now: refused unchecked

    answers, right = in_own_loop(attack())
    checked = sum("That password is not right" in a for a in answers)
    refused = sum("Too many wrong passwords" in a for a in answers)
    logged = log.read_text(errors="replace")
    assert (checked, refused, "Too many wrong passwords" in right) == (5, 25, True)
    assert len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* wrong library password from localhost", logged)) == 5
    assert [g for g in guesses if g in logged] == []
    page = tab.page  # searching stays open and quick for everyone else
    page.goto(tab.url)
    assert ask(page, "Bicycle lanes plan").count() > 0

"""Run the real app in a subprocess and drive it with Chromium: for the browser test and the docs.

    python -m ui.screenshots [OUT_DIR]     # docs/screenshots/ by default
    python -m ui.screenshots previews LIBRARY INDEX [OUT_DIR]   # result cards with their pages

makes the documentation's screenshots on a copy of the sample library (corpus/), with an index
of its own built on the way, so neither corpus/ nor .index/ is touched: the first start with
its progress bar, the example questions, a result list, the library, and an upload's outcome.
Needs Chromium at /usr/bin/chromium and, for the upload, ../shared/realdocs.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import quote_plus
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (containers and CI run as root), no GPU, no /dev/shm (small in containers), no
# background calls home: the browser is a local tool here, never a downloaded one.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
UPLOAD_EXAMPLE = ROOT.parent / "shared" / "realdocs" / "procurement" / "en_ocp_buying_ai" / "11-evaluation-tips.pdf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout_s:.0f} s")


@contextlib.contextmanager
def app_server(library: Path, index_dir: Path, log_path: Path, cwd: Path = ROOT, env: dict | None = None,
               app: Path = ROOT) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run ui/app.py` (of the checkout `app`: another version, for a benchmark) on a
    free port for `library` and `index_dir`; yields (URL, process)."""
    port = free_port()
    environment = {**os.environ, "PXS_LIBRARY": str(library), "PXS_INDEX": str(index_dir), **(env or {})}
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app / "ui" / "app.py"), "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        url = f"http://localhost:{port}"
        try:
            _wait_until_healthy(url, server, timeout_s=300)  # a limit: on a busy machine the start is slow
            yield url, server
        finally:
            try:
                os.killpg(server.pid, signal.SIGTERM)  # its own session: the readers' workers go too
                server.wait(timeout=20)
            except ProcessLookupError:  # the app and all its children already gone
                server.wait()
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@contextlib.contextmanager
def running_app(library: Path, index_dir: Path, log_path: Path, cwd: Path = ROOT, env: dict | None = None) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free port for `library` and `index_dir`; yields its URL."""
    with app_server(library, index_dir, log_path, cwd, env) as (url, _):
        yield url


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def settle(page) -> None:
    """Wait until the app has finished its run (the "running" indicator is gone) and has drawn."""
    page.wait_for_timeout(500)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden")
    page.wait_for_timeout(1000)


def save_small_png(page, path: Path, full_page: bool = False, settled: bool = True) -> None:
    """A screenshot reduced to 256 colours: a fraction of the size, no visible difference for UI."""
    from PIL import Image

    if settled:
        settle(page)
    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def make_docs_screenshots(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pxs-screenshots-"))
    library = work / "corpus"
    shutil.copytree(ROOT / "corpus", library, ignore=shutil.ignore_patterns("_*", ".*"))
    shots = []
    try:
        with running_app(library, work / "index", work / "streamlit.log", cwd=work) as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(600_000)
            page.goto(url)
            # The bar moving, or the Ask page already open on the first documents read.
            page.get_by_text(re.compile(r"^(Read|Still reading your library:) [3-9]\d* of \d+")).first.wait_for()
            shots.append(out_dir / "1-first-start.png")
            save_small_png(page, shots[-1], settled=False)
            page.locator("button", has_text="market consultation").first.wait_for()
            shots.append(out_dir / "2-ask.png")
            save_small_png(page, shots[-1])
            page.locator("button", has_text="what did they learn").first.click()
            page.locator(".pxs-card").first.wait_for()
            page.set_viewport_size({"width": 1280, "height": 1300})  # two or three cards
            shots.append(out_dir / "3-results.png")
            save_small_png(page, shots[-1])
            # The card of a table page (the lessons deck's page 12, once an empty card): its rows.
            page.goto(f"{url}/?q={quote_plus(TABLE_QUESTION)}")
            card = page.locator('.pxs-card[data-page="12"]').filter(has=page.locator(".pxs-pic img")).first
            card.locator(".pxs-pic img").wait_for()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=card.locator(".pxs-pic img").element_handle())
            shots.append(out_dir / "8-card-table-page.png")
            card.screenshot(path=str(shots[-1]))
            page.set_viewport_size({"width": 1280, "height": 860})  # the table wraps: nothing cut at 1,280
            page.get_by_role("link", name="Library").click()
            page.get_by_text("Look after the library").wait_for()
            shots.append(out_dir / "4-library.png")
            save_small_png(page, shots[-1], full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone: each document a block
            shots.append(out_dir / "9-library-phone.png")
            save_small_png(page, shots[-1])
            page.set_viewport_size({"width": 1280, "height": 860})
            if UPLOAD_EXAMPLE.exists():
                page.set_viewport_size({"width": 1280, "height": 860})
                page.get_by_role("link", name="Add documents").click()
                page.locator("input[type=file]").set_input_files(str(UPLOAD_EXAMPLE))
                page.get_by_role("button", name="Add to the library").click()
                page.get_by_text("ready to search").wait_for()
                shots.append(out_dir / "5-upload.png")
                save_small_png(page, shots[-1])
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return shots


# A question whose best card is the sample deck's page 12, a table: its card was "12." before
# passages of a few words were joined to their neighbours (issue 25).
TABLE_QUESTION = "Which actions did Ardenfield plan after the exchange, with owner and deadline?"

# Questions about the real library (../shared/realdocs/procurement) whose best card is a table
# page and a slide: the page previews of README "Page previews".
PREVIEW_QUESTIONS = (
    ("6-preview-table.png", "In the French open data format, which field gives the amount of a contract and its duration?"),
    ("7-preview-slide.png", "What did the eSubmission workshop show about award criteria in eEvaluation?"),
)


def make_preview_screenshots(library: Path, index_dir: Path, out_dir: Path) -> list[Path]:
    """A result card with its page enlarged, for each of PREVIEW_QUESTIONS, on an indexed library."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    with tempfile.TemporaryDirectory(prefix="pxs-screenshots-") as work, \
            running_app(library, index_dir, Path(work) / "streamlit.log") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(600_000)
        for name, question in PREVIEW_QUESTIONS:
            page.goto(f"{url}/?q={quote_plus(question)}")
            card = page.locator(".pxs-card").filter(has=page.locator(".pxs-pic img")).first
            card.locator(".pxs-pic img").wait_for()
            card.locator(".pxs-page summary").click()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=card.locator(".pxs-pic img").element_handle())
            shots.append(out_dir / name)
            card.screenshot(path=str(shots[-1]))
        browser.close()
    return shots


if __name__ == "__main__":
    if sys.argv[1:2] == ["previews"]:  # python -m ui.screenshots previews LIBRARY INDEX [OUT_DIR]
        made = make_preview_screenshots(Path(sys.argv[2]), Path(sys.argv[3]),
                                        Path(sys.argv[4]) if len(sys.argv) > 4 else ROOT / "docs" / "screenshots")
    else:
        made = make_docs_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
    for shot in made:
        print(shot, f"{shot.stat().st_size // 1024} KB")

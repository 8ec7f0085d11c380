"""A passage on its page: located by its words on PDFs the tests draw, on slides LibreOffice lays
out, on scanned pages through Tesseract; marked copies carry a real /Highlight annotation."""
from __future__ import annotations

import dataclasses
import hashlib
import shutil
import textwrap
from pathlib import Path

import pytest

import settings as config
from conftest import make_pdf, make_pptx
from index import annotated_copy, page_view
from test_formats import write_scanned_pdf

# make_pdf writes at x = 50 pt, the first line at y = 800 pt, each next line 14 pt lower (A4:
# 595 x 842 pt), so line n (0-based) sits between y = 800 - 14 n - 2 and 800 - 14 n + 10.
A4_HEIGHT = 842
INTRO = "Exchange report Vienna 2024. Our week with the city of Vienna procurement department."
PASSAGE = ("Before the tender, Vienna held an open market consultation with forty suppliers. They published a "
           "prior information notice and invited companies to a workshop on the specifications.")


def line_band(first: int, last: int) -> tuple[float, float]:
    """The band of lines `first`..`last` as fractions of the page height from the top."""
    return (A4_HEIGHT - (800 - 14 * first + 10)) / A4_HEIGHT, (A4_HEIGHT - (800 - 14 * last - 2)) / A4_HEIGHT


@pytest.fixture
def report(tmp_path) -> Path:
    # Line 0: the intro; then the passage, wrapped at 90 characters.
    return make_pdf(tmp_path / "report.pdf", [f"{INTRO}\n{PASSAGE}", "Award criteria. Quality sixty percent."])


def test_a_passage_is_marked_on_its_lines_and_not_on_the_rest(report, tmp_path):
    view = page_view(tmp_path, "pdf", report, "", 1, PASSAGE)
    top, bottom = line_band(1, len(textwrap.wrap(PASSAGE, 90)))
    assert view.boxes and all(top - 0.01 <= y0 and y1 <= bottom + 0.01 for _, y0, _, y1 in view.boxes), view.boxes
    intro_top, intro_bottom = line_band(0, 0)
    assert not any(y0 < intro_bottom - 0.005 for _, y0, _, _ in view.boxes), "the intro line is not marked"
    assert min(x0 for x0, _, _, _ in view.boxes) == pytest.approx(50 / 595, abs=0.01)


def test_a_passage_cleaned_up_by_the_reader_is_still_found(report, tmp_path):
    # The reader joins lines, drops hyphens and changes quotes: words, not characters, are compared.
    cleaned = PASSAGE.replace("prior information", "“prior” information").replace("  ", " ")
    assert page_view(tmp_path, "pdf", report, "", 1, cleaned).boxes


def test_a_passage_that_is_not_on_the_page_gets_a_reason_not_a_box(report, tmp_path):
    view = page_view(tmp_path, "pdf", report, "", 2, PASSAGE)
    assert (view.boxes, view.page, view.why_not) == ([], 2, "the passage could not be located on the page")


def test_a_damaged_pdf_gives_a_reason_and_raises_nothing(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200)
    view = page_view(tmp_path, "pdf", broken, "", 1, PASSAGE)
    assert view.pdf is None and view.why_not.startswith("the page cannot be drawn")


def test_the_marked_copy_has_a_highlight_over_the_passage_and_the_original_is_untouched(report, tmp_path):
    from pypdf import PdfReader

    before = hashlib.sha256(report.read_bytes()).hexdigest()
    view = page_view(tmp_path, "pdf", report, "", 1, PASSAGE)
    annotated_copy(report, 1, view.rects, tmp_path / "marked.pdf")
    annotations = [a.get_object() for a in PdfReader(tmp_path / "marked.pdf").pages[0]["/Annots"]]
    assert [a["/Subtype"] for a in annotations] == ["/Highlight"]
    left, bottom, right, top = (float(v) for v in annotations[0]["/Rect"])
    assert left <= 51 and right > 400 and bottom <= 800 - 14 * 2 and 800 - 14 <= top < 800
    assert hashlib.sha256(report.read_bytes()).hexdigest() == before
    assert "/Annots" not in PdfReader(report).pages[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is absent (CI installs tesseract-ocr)")
def test_a_scanned_page_is_marked_through_tesseracts_word_boxes(tmp_path):
    lines = ["Exchange visit to Porto", "The market consultation ran for six weeks",
             "with thirty suppliers and two open days", "Evaluation followed in June"]
    scan = write_scanned_pdf(tmp_path / "scan.pdf", lines)
    view = page_view(tmp_path, "pdf", scan, "", 1, " ".join(lines[1:3]), ocr=True)
    assert len(view.boxes) == 2, view  # one box per line of the passage
    # scanned_page draws line n at 1.0 in + n * 1.6 * 14 pt from the top of an 11.69 in page.
    first_line_top = (1.0 + 1 * 1.6 * 14 / 72) / 11.69
    assert view.boxes[0][1] == pytest.approx(first_line_top, abs=0.02)
    assert view.rects and view.why_not == ""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is absent (CI installs libreoffice-impress-nogui)")
def test_a_slide_is_pictured_from_the_rendition_made_when_the_deck_was_indexed(tmp_path):
    from index import update

    library = tmp_path / "library"
    make_pptx(library / "deck.pptx", [
        {"title": "Welcome", "body": "Agenda of the exchange week."},
        {"title": "Electric buses", "body": "The joint procurement of electric buses saved eighteen percent.",
         "notes": "Mention the framework agreement with three neighbouring municipalities."},
    ])
    settings = dataclasses.replace(config.load(), library_dir=library, index_dir=tmp_path / "index")
    report = update([library], settings)
    sha = hashlib.sha256((library / "deck.pptx").read_bytes()).hexdigest()
    assert (tmp_path / "index" / "pages" / f"{sha}.pdf").is_file() and report.seconds["pages"] > 0
    notes = "Speaker notes: Mention the framework agreement with three neighbouring municipalities."
    view = page_view(settings.index_dir, "pptx", library / "deck.pptx", sha, 2,
                     f"Electric buses\nThe joint procurement of electric buses saved eighteen percent.\n{notes}")
    assert view.page == 2 and view.boxes, view  # the slide's part is marked, the notes are not drawn
    in_notes = page_view(settings.index_dir, "pptx", library / "deck.pptx", sha, 2, notes)
    assert (in_notes.boxes, in_notes.why_not) == ([], "the passage is in the slide's speaker notes, which the slide does not show")
    (library / "deck.pptx").unlink()
    update([library], settings)
    assert not (tmp_path / "index" / "pages" / f"{sha}.pdf").exists(), "a deleted deck's pictures go with it"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is absent (CI installs libreoffice-impress-nogui)")
def test_a_deck_libreoffice_cannot_lay_out_keeps_its_reason_and_is_not_retried(tmp_path):
    from index.renditions import lay_out, rendition

    broken, sha = tmp_path / "broken.pptx", "ab" * 32
    broken.write_bytes(b"PK\x03\x04 cut off in the download")
    failures = lay_out(tmp_path / "index", [(sha, "pptx", broken)], timeout_s=60)
    assert failures == {sha: "LibreOffice could not lay it out (damaged or password-protected?)"}
    assert rendition(tmp_path / "index", sha) == (None, failures[sha])
    assert lay_out(tmp_path / "index", [(sha, "pptx", broken)], timeout_s=60) == {}, "not tried again"
    view = page_view(tmp_path / "index", "pptx", broken, sha, 1, "anything")
    assert view.pdf is None and view.why_not == failures[sha]


# Sessions draw their cards' pages in threads of one app process. PDFium is not thread-safe: before
# index.page_view.PDFIUM_LOCK this workload ended in a segmentation fault in 3 runs of 3 (and took
# the app down under bench/load.py's 30 sessions). It runs in a child so a crash fails the test
# instead of killing pytest.
CONCURRENT_PAGES = """
import sys, threading
from pathlib import Path
from index import page_view, render_page
pdfs, out = [Path(p) for p in sys.argv[2:]], Path(sys.argv[1])
failures = []
def draw(number):
    try:
        for i in range(30):
            pdf = pdfs[(number + i) % len(pdfs)]
            page_view(out, "pdf", pdf, "", 1, "the procurement of the tender")
            render_page(pdf, 1, 300, out / f"{number}-{i}.webp")
    except Exception as exc:
        failures.append(repr(exc))
threads = [threading.Thread(target=draw, args=(n,)) for n in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("drawn", len(list(out.glob("*.webp"))), "failures", failures)
"""


def test_pages_drawn_by_many_sessions_at_once_do_not_crash_the_process(tmp_path):
    import subprocess
    import sys

    pdfs = sorted(str(p) for p in (Path(config.PROJECT_ROOT) / "corpus").rglob("*.pdf"))[:4]
    assert len(pdfs) == 4
    child = subprocess.run([sys.executable, "-c", CONCURRENT_PAGES, str(tmp_path), *pdfs],
                           cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, f"exit {child.returncode} (-11: a segmentation fault): {child.stderr[-2000:]}"
    assert child.stdout.split() == ["drawn", "240", "failures", "[]"], child.stdout

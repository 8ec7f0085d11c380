"""Single-file formats of issue 14: spreadsheets (XLSX, ODS, CSV, XLS), web pages, pictures (OCR),
eForms notices and RTF, read, indexed and searched with the real model, and their hostile cases.

Real files come from tests/data/ (origins in tests/data/SOURCES.md); the others are made here.
Two indexing runs per module, each a real `python -m ingest` process: the library of good files,
and a batch of hostile files beside one good file, with a small character cap so that the giants
cost seconds.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import settings as config
from conftest import ROOT
from hostile import corrupt_xlsx, million_row_xlsx, one_line_html, png_named_pdf, xxe_notice
from index import Filters, Searcher
from index.store import connect
from ingest import ReadError, ReaderMemory, load_document, read_files
from test_bounds import ingest_json
from test_formats import SCANNED_LINES, needs_calc, needs_tesseract, scanned_page

DATA = ROOT / "tests" / "data"
REAL_FILES = [
    "spreadsheets/table-multiple.xlsx", "spreadsheets/any_sheets.ods", "spreadsheets/procurement-procedure-type.csv",
    "eforms/cn_24_open.xml", "eforms/can_24_minimal.xml",
]
MINUTES_LINES = ["Minutes of the steering group on electric buses.", "Decision: the Harbour and North depots",
                 "will pilot overnight bus charging in 2026."]
NOTICE_HTML = """<!DOCTYPE html><html><head><title>Contract notice: street lighting</title>
<script>var tracking = "SCRIPT-TEXT";</script><style>body {color: black}</style></head>
<body><header><nav><a href="/">Home</a> <a href="/tenders">All tenders</a></nav></header>
<main><h1>Street lighting maintenance</h1><p>The city of Lindhaven invites tenders for the maintenance of its LED street lights.</p>
<h2>Award criteria</h2><table><tr><th>Criterion</th><th>Weight</th></tr><tr><td>Quality</td><td>60 %</td></tr>
<tr><td>Price</td><td>40 %</td></tr></table><h2>Deadline</h2><p>Tenders must arrive by 12 March 2026.</p></main>
<footer>Cookie policy · Accessibility</footer></body></html>"""
MINUTES_RTF = (r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0\fs24 Minutes of the tender board.\par "
               r"Bids for the school canteen were opened on 4 May; the lowest price was 12 500 EUR, from Caf\'e9 Soleil.\par}")
HOSTILE_CAP = 20_000
SECRET = "TOPSECRET-9c1e"


def write_library(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in REAL_FILES:
        shutil.copy(DATA / name, folder / Path(name).name)
    (folder / "notice.html").write_text(NOTICE_HTML, encoding="utf-8")
    (folder / "minutes.rtf").write_text(MINUTES_RTF, encoding="ascii")
    scanned_page(SCANNED_LINES).save(folder / "whiteboard.jpg", quality=85)
    scanned_page(["Cover sheet of the scanned minutes."]).save(
        folder / "minutes.tiff", save_all=True, append_images=[scanned_page(MINUTES_LINES)], compression="tiff_deflate")
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The good files indexed once: (library folder, index folder, run report)."""
    root = tmp_path_factory.mktemp("files")
    folder = write_library(root / "library")
    report = ingest_json(folder, root / "index")
    return folder, root / "index", report


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """Hostile files beside a good one, indexed with a character cap of HOSTILE_CAP: (index, report)."""
    root = tmp_path_factory.mktemp("hostile-files")
    folder = root / "library"
    folder.mkdir()
    shutil.copy(DATA / "spreadsheets" / "table-multiple.xlsx", folder / "fruit.xlsx")
    corrupt_xlsx(folder / "corrupt.xlsx", DATA / "spreadsheets" / "table-multiple.xlsx")
    shutil.copy(DATA / "spreadsheets" / "password.xlsx", folder / "password.xlsx")
    shutil.copy(DATA / "spreadsheets" / "password.ods", folder / "password.ods")
    million_row_xlsx(folder / "million.xlsx")
    one_line_html(folder / "one-line.html", megabytes=50)
    (root / "secret.txt").write_text(SECRET)
    xxe_notice(folder / "entities.xml", root / "secret.txt")
    png_named_pdf(folder / "picture.pdf")
    report = ingest_json(folder, root / "index", PXS_FILE_MAX_CHARS=str(HOSTILE_CAP))
    return root / "index", report


def search(index: Path, question: str, k: int = 3, **filters):
    settings = dataclasses.replace(config.load(), index_dir=index)
    return Searcher(index, settings).search(question, k=k, filters=Filters(**filters) if filters else None)


def stored_texts(index: Path, name: str) -> str:
    connection = connect(index)
    try:
        rows = connection.execute(
            "SELECT chunks.text FROM chunks JOIN files ON files.id = chunks.file_id WHERE files.name = ?", (name,)
        ).fetchall()
    finally:
        connection.close()
    return "\n".join(row[0] for row in rows)


# -- the library of good files ----------------------------------------------------------------------

@needs_tesseract
def test_every_file_of_the_library_is_indexed(library):
    folder, _, report = library
    assert (report["failed"], sorted(report["added"])) == ([], sorted(p.name for p in folder.iterdir()))


@needs_tesseract
def test_index_stats_count_documents_per_kind(library):
    _, index, _ = library
    completed = subprocess.run([sys.executable, "-m", "index", "stats", "--json", "--index", str(index)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    stats = json.loads(completed.stdout)
    assert stats["kinds"] == {"csv": 1, "eforms": 2, "html": 1, "image": 2, "ods": 1, "rtf": 1, "xlsx": 1}
    assert stats["documents"] == 9


@needs_tesseract
def test_question_about_a_cell_finds_its_sheet(library):
    _, index, _ = library
    [best, *_] = search(index, "how many bananas are there?")
    assert (best.document, best.kind, best.page, best.heading) == ("table-multiple.xlsx", "xlsx", 1, "Sheet1")
    assert "Type: Banana · Quantity: 200" in best.text


@needs_tesseract
def test_question_about_a_csv_row_finds_it(library):
    _, index, _ = library
    [best, *_] = search(index, "which procedure lets the buyer negotiate without a prior call for competition?")
    assert best.document == "procurement-procedure-type.csv"
    assert "eForms code: neg-wo-call" in best.text


@needs_tesseract
def test_notice_is_found_by_its_business_term_code(library):
    _, index, _ = library
    [best, *_] = search(index, "BT-27")
    assert (best.document, best.heading) == ("cn_24_open.xml", "Procedure")
    assert "BT-27 Estimated value: 500,000 EUR" in best.text
    [only_notices, *_] = search(index, "BT-131 deadline", kinds=["eforms"])
    assert "BT-131 Deadline for receipt of tenders: 2020-04-03 12:00 (+01:00)" in only_notices.text


@needs_tesseract
def test_plain_question_about_award_criteria_finds_the_notice(library):
    _, index, _ = library
    [best, *_] = search(index, "how much weight does the price get in the electrical equipment inspection contract?")
    assert best.document == "cn_24_open.xml" and best.heading.startswith("Lot LOT-0000")
    assert ("BT-539 Award criterion type: price · BT-734 Award criterion name: Price · "
            "BT-541 Award criterion weight: 75 (percentage, exact)") in best.text


@needs_tesseract
def test_award_notice_names_its_winner(library):
    _, index, _ = library
    [best, *_] = search(index, "who won the green spaces maintenance contract in Rouen?")
    assert best.document == "can_24_minimal.xml" and "Espaces Verts Lemire" in best.text
    assert "BT-720 Tender value: 95,414 EUR · BT-500 Tenderer: Espaces Verts Lemire" in stored_texts(index, "can_24_minimal.xml")


@needs_tesseract
def test_text_of_a_picture_is_searchable_through_ocr(library):
    _, index, _ = library
    [best, *_] = search(index, "when must tenders for the road resurfacing be submitted?")
    assert (best.document, best.kind, best.page, best.ocr) == ("whiteboard.jpg", "image", 1, True)
    [frame, *_] = search(index, "which depots will pilot bus charging?")
    assert (frame.document, frame.page, frame.ocr) == ("minutes.tiff", 2, True)  # the TIFF's second frame


@needs_tesseract
def test_web_page_gives_its_main_text_under_its_headings(library):
    _, index, _ = library
    [best, *_] = search(index, "what weight does quality have in the street lighting tender?")
    assert (best.document, best.kind, best.heading) == ("notice.html", "html", "Award criteria")
    assert "Quality | 60 %" in best.text
    stored = stored_texts(index, "notice.html")
    assert not any(word in stored for word in ("SCRIPT-TEXT", "All tenders", "Cookie policy", "color: black"))


@needs_tesseract
def test_rtf_text_is_searchable(library):
    _, index, _ = library
    [best, *_] = search(index, "what was the lowest price for the school canteen?")
    assert best.document == "minutes.rtf" and "12 500 EUR, from Café Soleil" in best.text


# -- hostile files ----------------------------------------------------------------------------------

@needs_tesseract
def test_each_hostile_file_is_named_with_its_reason(hostile_run):
    _, report = hostile_run
    assert dict(report["failed"]) == {
        "corrupt.xlsx": "corrupt Excel workbook (ParseError: unclosed token: line 2, column 545)",
        "password.xlsx": "encrypted, password required",
        "password.ods": "encrypted, password required",
        "entities.xml": "refused: the XML declares a DTD or entities, which a notice never needs (DTDForbidden)",
        "picture.pdf": "a PNG picture named .pdf: no text found by OCR (a picture without legible text)",
    }
    warnings = {name: [w for n, w in report["warnings"] if n == name] for name in ("million.xlsx", "one-line.html")}
    [sheet_cap] = warnings["million.xlsx"]
    assert sheet_cap.startswith("capped at 20,000 characters (PXS_FILE_MAX_CHARS): sheet 1 (Prices) from row ")
    assert sheet_cap.endswith(" on not indexed")
    page_cap, repeats = warnings["one-line.html"]
    assert page_cap.startswith("capped at 20,000 characters (PXS_FILE_MAX_CHARS): the text after character ")
    assert repeats.startswith("repeats the same text ")


def test_rest_of_the_hostile_batch_is_searchable(hostile_run):
    index, report = hostile_run
    assert {"fruit.xlsx", "million.xlsx", "one-line.html"} <= set(report["added"])
    [best, *_] = search(index, "how many bananas are there?", k=1)
    assert best.document == "fruit.xlsx"
    assert "Lot: 5 · Unit price: 206.19 · Quantity: 7" in stored_texts(index, "million.xlsx")


def test_external_entity_of_a_notice_is_never_read(hostile_run):
    index, _ = hostile_run
    connection = connect(index)
    try:
        leaked = connection.execute("SELECT COUNT(*) FROM chunks WHERE text LIKE ?", (f"%{SECRET}%",)).fetchone()[0]
    finally:
        connection.close()
    assert leaked == 0


def test_million_row_sheet_stops_at_the_character_cap_in_bounded_memory(tmp_path):
    sheet = million_row_xlsx(tmp_path / "million.xlsx")
    memory = ReaderMemory()
    [(_, document)] = list(read_files([sheet], config.load(), memory=memory))
    assert not isinstance(document, ReadError), document
    assert document.warnings == [
        "capped at 5,000,000 characters (PXS_FILE_MAX_CHARS): sheet 1 (Prices) from row 108,748 on not indexed"]
    assert document.pages[-1].heading == "Prices · rows 108702-108747"
    assert memory.peak_mb < 1024, memory.peak_mb


# -- how sheets become text -------------------------------------------------------------------------

def test_merged_header_hidden_and_empty_sheets_and_formats(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    prices = book.active
    prices.title = "Prices"
    prices.append(["Price schedule, resurfacing 2026"])
    prices.append([])
    prices.append(["Lot", "Price (EUR)", None, "Weight"])
    prices.merge_cells("B3:C3")
    prices.append([None, "Unit", "Total", None])
    prices.append(["Lot 3", 253.19, 506.38, 0.3])
    prices["D5"].number_format = "0%"
    prices.append(["Lot", "Price (EUR)", None, "Weight"])  # the header again, as on a printed page
    prices.append(["Lot 4", 0.1 + 0.2, "=B7*2", 0.7])
    prices["D7"].number_format = "0%"
    book.create_sheet("Empty")
    hidden = book.create_sheet("Reserve")
    hidden.sheet_state = "hidden"
    hidden.append(["Item", "Budget"])
    hidden.append(["Contingency", 120000])
    book.save(tmp_path / "schedule.xlsx")

    document = load_document(tmp_path / "schedule.xlsx")

    assert [(page.number, page.heading) for page in document.pages] == [(1, "Prices"), (3, "Reserve (hidden sheet)")]
    assert document.pages[0].text == (
        "Price schedule, resurfacing 2026\n"
        "Lot: Lot 3 · Price (EUR) / Unit: 253.19 · Price (EUR) / Total: 506.38 · Weight: 30%\n"
        "Lot: Lot 4 · Price (EUR) / Unit: 0.3 · Weight: 70%"  # a formula never computed by Excel has no value
    )
    assert document.pages[1].text == "Item: Contingency · Budget: 120000"


def test_semicolon_csv_in_windows_encoding(tmp_path):
    path = tmp_path / "offers.csv"
    path.write_bytes("Bidder;Price;Délai\nBâtiments Durand;120 000;6 mois\n".encode("cp1252"))
    document = load_document(path)
    assert (document.kind, document.pages[0].number, document.pages[0].text) == (
        "csv", 1, "Bidder: Bâtiments Durand · Price: 120 000 · Délai: 6 mois")


def test_long_sheet_is_cut_into_windows_of_rows(tmp_path):
    path = tmp_path / "lots.csv"
    path.write_text("Lot,Street\n" + "".join(f"{n},Street number {n}\n" for n in range(1, 251)))
    document = load_document(path)
    assert [page.heading for page in document.pages] == ["lots · rows 2-101", "lots · rows 102-201", "lots · rows 202-251"]
    assert document.pages[2].text.split("\n")[0] == "Lot: 201 · Street: Street number 201"


def test_real_opendocument_spreadsheet_is_read(tmp_path):
    document = load_document(DATA / "spreadsheets" / "any_sheets.ods")
    assert (document.kind, [(p.number, p.heading) for p in document.pages]) == ("ods", [(1, "Visible")])
    assert document.pages[0].text.endswith("This workbook contains 4 sheets: Visible, Hidden, VeryHidden and Chart")


@pytest.mark.slow
@needs_calc
def test_real_legacy_xls_goes_through_the_same_sheet_text():
    document = load_document(DATA / "spreadsheets" / "base.xls")
    assert (document.kind, document.title) == ("xls", "base")
    assert [(page.number, page.heading) for page in document.pages] == [(1, "Sheet1")]
    assert document.pages[0].text.startswith("String | 1 | 1.1 | TRUE | FALSE | 2010-10-10")


def test_the_app_names_sheets_and_counts_kinds():
    from ui.cards import kind_label, location_label
    from ui.library_page import kind_counts, length_label

    assert (location_label("xlsx", 2), location_label("csv", 1), length_label("ods", 3)) == ("sheet 2", "sheet 1", "3 sheets")
    # A Word file: its pages as laid out for its pictures, else its sections.
    assert (length_label("docx", None, 5, 3), length_label("docx", None, None, 3)) == ("5 pages", "3 sections")
    assert kind_counts({"eforms": 2, "pdf": 3, "xlsx": 1}) == "3 × PDF · 2 × eForms notice (XML) · 1 × Spreadsheet (Excel)"
    assert all(kind_label(kind) != kind.upper() for kind in ("xlsx", "ods", "csv", "html", "eforms", "image", "rtf"))

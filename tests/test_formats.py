"""Formats beyond text PDFs, PPTX and DOCX: scanned pages (OCR), OpenDocument, legacy Office files
through LibreOffice, and the language of each passage.

Every file is real: made here with Pillow, reportlab, odfpy, python-pptx and LibreOffice, or taken
from ../shared/realdocs. Tests that need a program the machine lacks are skipped with the Debian
package to install.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import make_pdf, shared_path
import settings as config
from index import load_embedder
from ingest import Document, PageText, ReadError, chunk_document, load_document, read_files
from ingest.language import detect_language

LONARZAN = ("realdocs", "procurement", "es_ecuador_sercop", "10-PROYECTO ASFALTADO LONARZAN-signed.pdf")
IMAGE_ONLY_PDFS = [
    ("realdocs", "robustness", "pypdf", "imagemagick-CCITTFaxDecode.pdf"),
    ("realdocs", "robustness", "pypdf", "sample-files", "cmyk-image.pdf"),
    ("realdocs", "robustness", "pypdf", "encrypted_doc_no_id.pdf"),  # its second page is a legible scan
]

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract not installed (apt-get install tesseract-ocr)"
)
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice not installed (apt-get install libreoffice-impress-nogui)"
)
needs_calc = pytest.mark.skipif(
    shutil.which("soffice") is None or not list(Path(shutil.which("soffice")).resolve().parent.glob("libsclo.*")),
    reason="LibreOffice Calc not installed (apt-get install libreoffice-calc-nogui)",
)

SCANNED_LINES = [
    "Invitation to tender for road resurfacing works.",
    "The municipality invites sealed bids for the asphalt",
    "paving of every street in the northern district.",
    "Tenders must be submitted before the twelfth of March.",
]


@pytest.fixture(scope="module")
def settings() -> config.Settings:
    return config.load()


def scanned_page(lines: list[str], dpi: int = 200):
    """An A4 page image holding `lines` in black on white, as a scanner would produce it."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    size = int(14 / 72 * dpi)  # 14 pt
    font = ImageFont.truetype(str(font_file), size) if font_file.exists() else ImageFont.load_default(size=size)
    image = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((int(0.8 * dpi), int(1.0 * dpi) + number * int(size * 1.6)), line, fill=0, font=font)
    return image


def write_scanned_pdf(path: Path, lines: list[str]) -> Path:
    scanned_page(lines).save(path, "PDF", resolution=200)
    return path


def write_text_and_scan_pdf(path: Path, text_lines: list[str], scanned_lines: list[str]) -> Path:
    """Page 1 with a real text layer, page 2 an image only."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number, line in enumerate(text_lines):
        pdf.drawString(72, 760 - 18 * number, line)
    pdf.showPage()
    pdf.drawImage(ImageReader(scanned_page(scanned_lines)), 0, 0, width=A4[0], height=A4[1])
    pdf.showPage()
    pdf.save()
    return path


# --- OCR -------------------------------------------------------------------------------------


@pytest.mark.slow
@needs_tesseract
def test_scanned_page_is_read_by_ocr(tmp_path):
    document = load_document(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES))

    page = document.pages[0]
    assert page.number == 1 and page.ocr
    words = page.text.lower()
    assert all(word in words for word in ("resurfacing", "municipality", "asphalt", "tenders", "march"))


@pytest.mark.slow
@needs_tesseract
def test_image_pages_of_a_real_tender_are_read_by_ocr(settings):
    # The document's own language (and English) only: the default seven take twice as long.
    document = load_document(shared_path(*LONARZAN), dataclasses.replace(settings, ocr_languages="spa+eng"))

    ocr_pages = {page.number: page.text for page in document.pages if page.ocr}
    assert sorted(ocr_pages) == [4, 5, 6, 7]  # the four photo pages; the others have a text layer
    assert all("Nobol" in text for text in ocr_pages.values())  # the municipality's letterhead


@needs_tesseract
def test_scans_inside_a_typed_file_are_read_in_its_language(settings):
    """The tender's typed pages are Spanish, so its photo pages are read in Spanish from the first.

    With all seven default languages at once Tesseract dropped the accents of the letterhead
    ("REPUBLICA", "Autonomo"); in Spanish (and English) it keeps them, in half the time.
    """
    assert len(settings.ocr_languages.split("+")) > 2  # the default: every configured language
    document = load_document(shared_path(*LONARZAN), settings)

    letterheads = [page.text for page in document.pages if page.ocr]
    assert len(letterheads) == 4
    assert all("REPÚBLICA DEL ECUADOR" in text and "Autónomo" in text for text in letterheads)


@pytest.mark.slow
@needs_tesseract
def test_image_only_files_give_text_or_a_clear_reason(settings):
    paths = [shared_path(*parts) for parts in IMAGE_ONLY_PDFS]
    results = dict(read_files(paths, settings))  # in the worker process, as in a real run

    for path, result in results.items():
        if isinstance(result, ReadError):
            assert result.reason and "\n" not in result.reason, path.name
            assert not any(word in result.reason for word in ("crashed", "timed out", "Error:")), result.reason
        else:
            assert any(page.ocr and page.text for page in result.pages), path.name
    assert isinstance(results[paths[2]], Document)


def test_scan_without_tesseract_says_ocr_is_not_available(tmp_path, monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(ReadError) as error:
        load_document(write_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES))

    assert error.value.reason == "scanned — OCR not available (install tesseract-ocr)"


def test_mixed_pdf_without_tesseract_names_the_image_pages(tmp_path, monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    text_page = ["Contract notice for street lighting maintenance."]
    path = write_text_and_scan_pdf(tmp_path / "mixed.pdf", text_page, SCANNED_LINES)
    document = load_document(path)

    assert [page.number for page in document.pages if page.text] == [1]
    assert any("OCR not available" in warning and warning.endswith(": 2") for warning in document.warnings)


# --- OpenDocument ----------------------------------------------------------------------------


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableColumn, TableCell, TableRow
    from odf.text import H, List, ListItem, P, Span

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Scope of the works"))
    doc.text.addElement(P(text="The contractor resurfaces every street of the district."))
    doc.text.addElement(H(outlinelevel=1, text="Award criteria"))
    paragraph = P(text="Price weighs ")
    paragraph.addElement(Span(text="sixty percent"))
    paragraph.addText(" of the score.")
    doc.text.addElement(paragraph)
    table = Table(name="Criteria")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for name, weight in [("Price", "60"), ("Quality", "40")]:
        row = TableRow()
        for value in (name, weight):
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    doc.text.addElement(table)
    items = List()
    item = ListItem()
    item.addElement(P(text="Deadline: 12 March 2025"))
    items.addElement(item)
    doc.text.addElement(items)
    doc.save(str(path))
    return path


def write_odp(path: Path) -> Path:
    from odf.draw import CustomShape, Frame, G, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout, PageLayoutProperties
    from odf.table import Table, TableColumn, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentPresentation()
    layout = PageLayout(name="Slide")
    layout.addElement(PageLayoutProperties(pagewidth="28cm", pageheight="21cm"))
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)

    def text_frame(role: str, text: str, y: str) -> Frame:
        frame = Frame(width="20cm", height="3cm", x="2cm", y=y)
        frame.setAttrNS(PRESENTATIONNS, "class", role)
        box = TextBox()
        box.addElement(P(text=text))
        frame.addElement(box)
        return frame

    first = Page(name="timeline", masterpagename=master)
    first.addElement(text_frame("title", "Tender timeline", "1cm"))
    first.addElement(text_frame("outline", "Bids open on 12 March", "5cm"))
    group = G()
    shape = CustomShape(width="5cm", height="2cm", x="2cm", y="10cm")
    shape.addElement(P(text="Grouped shape text"))
    group.addElement(shape)
    first.addElement(group)
    notes = Notes()
    notes.addElement(text_frame("notes", "Remind bidders about the site visit", "15cm"))
    first.addElement(notes)
    doc.presentation.addElement(first)

    second = Page(name="budget", masterpagename=master)
    second.addElement(text_frame("title", "Budget", "1cm"))
    holder = Frame(width="20cm", height="5cm", x="2cm", y="5cm")
    table = Table()
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for item, cost in [("Asphalt", "120000 EUR"), ("Signage", "8000 EUR")]:
        row = TableRow()
        for value in (item, cost):
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    holder.addElement(table)
    second.addElement(holder)
    doc.presentation.addElement(second)
    doc.save(str(path))
    return path


def test_odt_is_split_into_sections_at_headings(tmp_path):
    document = load_document(write_odt(tmp_path / "handbook.odt"))

    assert document.kind == "odt"
    assert [(page.number, page.heading) for page in document.pages] == [
        (None, "Scope of the works"), (None, "Award criteria")
    ]
    assert document.pages[1].text == (
        "Award criteria\nPrice weighs sixty percent of the score.\nPrice | 60\nQuality | 40\nDeadline: 12 March 2025"
    )


def test_odp_slides_keep_numbers_titles_groups_tables_and_notes(tmp_path):
    document = load_document(write_odp(tmp_path / "deck.odp"))

    assert document.kind == "odp" and document.title == "Tender timeline"
    assert [(page.number, page.heading) for page in document.pages] == [(1, "Tender timeline"), (2, "Budget")]
    assert document.pages[0].text == (
        "Tender timeline\nBids open on 12 March\nGrouped shape text\nSpeaker notes: Remind bidders about the site visit"
    )
    assert document.pages[1].text == "Budget\nAsphalt | 120000 EUR\nSignage | 8000 EUR"


@pytest.mark.parametrize(
    "content",
    [
        b"<office:document-content this is not xml",
        # An entity expansion bomb: defusedxml must refuse it, not expand it.
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&b;'
        b"</office:document-content>",
    ],
    ids=["broken-xml", "entity-bomb"],
)
def test_corrupt_opendocument_is_reported(tmp_path, content):
    path = tmp_path / "broken.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)

    with pytest.raises(ReadError) as error:
        load_document(path)
    assert error.value.reason.startswith("corrupt OpenDocument file (")


# --- Legacy Office files through LibreOffice -------------------------------------------------


def soffice_convert(source: Path, target: str, out_dir: Path) -> Path:
    """Convert with LibreOffice as a user would, in a private profile; the converted file's path."""
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation={(out_dir / 'profile').as_uri()}",
         "--convert-to", target, "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    return out_dir / f"{source.stem}.{target}"


@pytest.mark.slow
@needs_soffice
def test_legacy_ppt_is_read_with_its_slide_numbers(tmp_path):
    from pptx import Presentation

    deck = Presentation()
    for number in (1, 2, 3):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Lot {number}"
        slide.placeholders[1].text = f"Resurfacing of district {number} streets"
        slide.notes_slide.notes_text_frame.text = f"Budget line {number}"
    deck.save(tmp_path / "lots.pptx")
    ppt = soffice_convert(tmp_path / "lots.pptx", "ppt", tmp_path / "old")

    document = load_document(ppt)

    assert document.kind == "ppt"
    assert [(page.number, page.heading) for page in document.pages] == [(1, "Lot 1"), (2, "Lot 2"), (3, "Lot 3")]
    assert document.pages[1].text == "Lot 2\nResurfacing of district 2 streets\nSpeaker notes: Budget line 2"


@pytest.mark.slow
@needs_soffice
def test_legacy_doc_is_read_with_its_headings(tmp_path):
    import docx

    word = docx.Document()
    word.add_heading("Technical specification", 1)
    word.add_paragraph("Asphalt layers of five centimetres are required.")
    word.save(tmp_path / "spec.docx")
    doc = soffice_convert(tmp_path / "spec.docx", "doc", tmp_path / "old")

    document = load_document(doc)

    assert document.kind == "doc"
    assert [(page.heading, page.text) for page in document.pages] == [
        ("Technical specification", "Technical specification\nAsphalt layers of five centimetres are required.")
    ]


@pytest.mark.slow
@needs_calc
def test_legacy_xls_is_read_one_page_per_sheet(tmp_path):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    book = OpenDocumentSpreadsheet()
    for name, rows in [("Budget", [["Item", "Cost"], ["Asphalt", "12000"]]), ("Schedule", [["Tender", "March"]])]:
        sheet = Table(name=name)
        for values in rows:
            row = TableRow()
            for value in values:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
                row.addElement(cell)
            sheet.addElement(row)
        book.spreadsheet.addElement(sheet)
    book.save(str(tmp_path / "plan.ods"))
    xls = soffice_convert(tmp_path / "plan.ods", "xls", tmp_path / "old")

    document = load_document(xls)

    assert document.kind == "xls" and document.title == "plan"
    assert [(page.number, page.heading, page.text) for page in document.pages] == [
        (1, "Budget", "Item: Asphalt · Cost: 12000"), (2, "Schedule", "Tender | March")
    ]


def test_legacy_file_without_libreoffice_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # a machine without soffice
    path = tmp_path / "old.ppt"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)  # the OLE header of legacy Office files

    with pytest.raises(ReadError) as error:
        load_document(path)
    assert error.value.reason == (
        "legacy .ppt file: LibreOffice is needed to read it (install libreoffice-impress-nogui)"
    )


# --- Language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, sentence",
    [
        ("en", "The contracting authority shall publish the contract notice."),
        ("es", "Las ofertas se presentarán antes del 12 de marzo."),
        ("it", "La stazione appaltante pubblica il bando di gara."),
        ("pt", "As propostas devem ser apresentadas até 12 de março."),
        ("fr", "Le pouvoir adjudicateur publie l'avis de marché."),
        ("de", "Angebote sind bis zum 12. März einzureichen."),
        ("pl", "Zamawiający publikuje ogłoszenie o zamówieniu."),
    ],
)
def test_language_of_a_short_sentence(code, sentence):
    assert detect_language(sentence) == code


@pytest.mark.parametrize("text", ["", "Art. 5", "12.000,00 EUR | 3 | 4"])
def test_too_little_text_has_no_language(text):
    assert detect_language(text) is None


def test_chunks_carry_the_language_of_their_page(settings):
    document = Document(
        kind="txt",
        title="",
        pages=[
            PageText(None, "El contratista asfaltará todas las calles de la lotización antes de diciembre."),
            PageText(None, "L'appaltatore deve completare i lavori di asfaltatura entro dicembre."),
            PageText(None, "Lote 3: CPV 45233140, 2024, 400 m2"),  # too little to tell: no language, not a guess
        ],
    )
    chunks = chunk_document(document, "notes.txt", load_embedder(settings.model).token_counter)

    assert [chunk.language for chunk in chunks] == ["es", "it", None]



@pytest.mark.parametrize("metadata", ["Buying AI guidance #public #webversion", "Microsoft Word - draft3.docx",
                                      "Untitled", "Title", "contract-clauses.pdf", "D10024"])
def test_a_pdf_whose_metadata_title_is_no_title_is_named_by_its_cover(tmp_path, metadata):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "12-contract-clauses.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(metadata)
    pdf.setFont("Helvetica", 28)
    pdf.drawString(50, 780, "Contract clauses")
    pdf.setFont("Helvetica", 11)
    for n, line in enumerate(["Model contract clauses and additional resources for buying AI systems.",
                              "Several governments have created model clauses, or are drafting them."]):
        pdf.drawString(50, 740 - 14 * n, line)
    pdf.save()
    assert load_document(path).title == "Contract clauses"


def test_a_pdf_keeps_a_metadata_title_that_is_one(tmp_path):
    path = make_pdf(tmp_path / "report.pdf", ["Exchange report Vienna 2024. Our week with the procurement department."])
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=path)
    writer.add_metadata({"/Title": "Our week in Vienna"})
    writer.write(path)
    assert load_document(path).title == "Our week in Vienna"

"""Bounds of one indexing run (issue 12): memory that does not grow with the largest file, what a
giant file may contribute, blank giants given up early, links out of the library refused.

The files are made by `hostile.py` under each test's tmp_path; the runs are real `python -m ingest`
processes with the real model, whose own report (`--json`) gives their peak resident memory.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
import zipfile
from pathlib import Path

import pytest

import settings as config
from conftest import ingest_json, make_pdf
from hostile import blank_pdf, normal_deck, one_line_text
from index import Searcher, load_embedder, update
from index.store import connect
from ingest import Document, PageText, ReadError, chunk_document, load_document, read_files

pytestmark = pytest.mark.slow

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract not installed (apt-get install tesseract-ocr)"
)
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice not installed (apt-get install libreoffice-writer-nogui)"
)

# The bound README states for the defaults: what the largest file may add to the indexing process's
# peak resident memory, whatever its size (10 documents waiting of at most PXS_FILE_MAX_CHARS
# characters, one batch of at most PXS_FILE_MAX_PASSAGES passages).
FILE_MEMORY_BOUND_MB = 350


def stored_passages(index: Path, name: str) -> int:
    connection = connect(index)
    try:
        return connection.execute(
            "SELECT COUNT(*) FROM chunks JOIN files ON files.id = chunks.file_id WHERE files.name = ?", (name,)
        ).fetchone()[0]
    finally:
        connection.close()


# -- the 50 MB one-line export ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def export_runs(tmp_path_factory):
    """Two runs back to back: a deck alone, then the same deck beside a 50 MB one-line text file."""
    folder = tmp_path_factory.mktemp("export")
    alone, beside = folder / "alone", folder / "beside"
    normal_deck(alone / "consultation.pptx")
    normal_deck(beside / "consultation.pptx")
    one_line_text(beside / "export.txt", megabytes=50)
    baseline = ingest_json(alone, folder / "index-alone")
    report = ingest_json(beside, folder / "index-beside")
    return baseline, report, folder / "index-beside"


def test_largest_file_adds_a_bounded_amount_to_the_runs_peak_memory(export_runs):
    baseline, report, _ = export_runs
    added = report["peak_memory_mb"]["indexing"] - baseline["peak_memory_mb"]["indexing"]
    assert added < FILE_MEMORY_BOUND_MB, (baseline["peak_memory_mb"], report["peak_memory_mb"])


def test_repeated_passages_of_one_file_are_stored_once(export_runs):
    _, report, index = export_runs
    repeats = [w for n, w in report["warnings"] if n == "export.txt" and w.startswith("repeats the same text ")]
    # Two passages: the window that repeats, and the file's shorter last one.
    assert (stored_passages(index, "export.txt"), len(repeats)) == (2, 1), report["warnings"]


def test_text_beyond_the_character_cap_is_named_as_not_indexed(export_runs):
    _, report, _ = export_runs
    assert ("export.txt", "capped at 5,000,000 characters (PXS_FILE_MAX_CHARS): the text after character "
            "4,999,991 not indexed") in [tuple(w) for w in report["warnings"]]


def test_deck_beside_the_export_is_searchable(export_runs):
    _, _, index = export_runs
    settings = dataclasses.replace(config.load(), index_dir=index)
    results = Searcher(index, settings).search("what weight did quality get against price?", k=3)
    assert results and results[0].document == "consultation.pptx"


# -- what one file may contribute -------------------------------------------------------------------

def test_passage_cap_names_the_pages_left_out(tmp_path):
    pages = [f"Lot {n}: resurfacing of district {n} streets, {n * 7} kilometres, awarded on price and quality."
             for n in range(1, 41)]
    document = Document("pdf", "Lots", [PageText(n, text) for n, text in enumerate(pages, start=1)])
    chunks = chunk_document(document, "lots.pdf", load_embedder(config.DEFAULT_MODEL).token_counter, max_passages=25)
    assert (len(chunks), document.warnings) == (
        25, ["capped at 25 passages (PXS_FILE_MAX_PASSAGES): pages 26-40 not indexed"])


def test_character_cap_stops_reading_a_pdf(tmp_path):
    pdf = make_pdf(tmp_path / "minutes.pdf", [f"Page {n}: the steering group met about street lighting." * 4
                                               for n in range(1, 31)])
    settings = dataclasses.replace(config.load(), file_max_chars=2_000)
    document = load_document(pdf, settings)
    assert document.warnings == ["capped at 2,000 characters (PXS_FILE_MAX_CHARS): pages 11-30 not indexed"]


# -- blank giants -----------------------------------------------------------------------------------

@needs_tesseract
def test_blank_20000_page_pdf_is_reported_within_60_s(tmp_path):
    blank = blank_pdf(tmp_path / "blank.pdf", pages=20_000)
    started = time.monotonic()
    [(_, result)] = list(read_files([blank], config.load()))
    elapsed = time.monotonic() - started
    assert isinstance(result, ReadError) and result.reason == "no text found in pages 1-10; the rest not tried"
    assert elapsed < 60, f"reported after {elapsed:.0f} s"


@needs_tesseract
def test_ocr_stops_trying_after_ten_pages_in_a_row_without_text(tmp_path):
    pdf = make_pdf(tmp_path / "report.pdf", ["Market consultation: an open information day for suppliers."]
                   + [""] * 30 + ["Award criteria: quality seventy percent, price thirty percent."])
    document = load_document(pdf)
    assert document.warnings[-1] == (
        "pages without a text layer not tried by OCR, 10 pages in a row before them held no text: 12-31")


# -- links, converted files, OpenDocument limits ----------------------------------------------------

def test_symbolic_link_out_of_the_library_is_refused_by_name(tmp_path, fresh_settings):
    library = tmp_path / "library"
    normal_deck(library / "consultation.pptx")
    secret = tmp_path / "private" / "salaries.txt"
    secret.parent.mkdir()
    secret.write_text("Salary of the procurement officer: 4,200 euros a month.")
    (library / "salaries.txt").symlink_to(secret)
    report = update([library], fresh_settings)
    assert ("salaries.txt", f"refused: a symbolic link leading outside the library folder (to {secret})") in report.failed


def test_index_check_leaves_a_refused_link_alone(tmp_path, fresh_settings):
    """A refused link's target is never read, so `check` has nothing to compare, and a repair
    never re-indexes it (which would read the target through the link)."""
    from index.check import inspect

    library = tmp_path / "library"
    normal_deck(library / "consultation.pptx")
    (tmp_path / "elsewhere.txt").write_text("Minutes of another department.")
    (library / "elsewhere.txt").symlink_to(tmp_path / "elsewhere.txt")
    update([library], fresh_settings)
    assert inspect(fresh_settings).problems == []


def test_symbolic_link_inside_the_library_is_read(tmp_path, fresh_settings):
    library = tmp_path / "library"
    normal_deck(library / "decks" / "consultation.pptx")
    (library / "latest.pptx").symlink_to(library / "decks" / "consultation.pptx")
    report = update([library], fresh_settings)
    assert (report.failed, sorted(report.added + [n for n, _ in report.duplicates])) == (
        [], ["decks/consultation.pptx", "latest.pptx"])


@needs_soffice
def test_libreoffice_output_is_checked_against_zip_bombs(tmp_path):
    import docx

    from test_formats import soffice_convert

    word = docx.Document()
    word.add_paragraph("Asphalt layers of five centimetres are required.")
    word.save(tmp_path / "spec.docx")
    doc = soffice_convert(tmp_path / "spec.docx", "doc", tmp_path / "old")
    settings = dataclasses.replace(config.load(), zip_max_entries=5)  # a .doc is not a ZIP: only its output is
    with pytest.raises(ReadError) as error:
        load_document(doc, settings)
    assert error.value.reason.startswith("converted by LibreOffice, rejected: ")
    assert error.value.reason.endswith("entries in the archive (limit 5; zip bomb?)")


def test_opendocument_follows_the_zip_limits_of_the_settings(tmp_path):
    """520 MB of padding beside a small content.xml: within PXS_ZIP_MAX_MB=600, so it is read."""
    odt = tmp_path / "minutes.odt"
    with zipfile.ZipFile(odt, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", (
            '<?xml version="1.0"?><office:document-content'
            ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
            "<text:p>Minutes of the steering group on street lighting.</text:p>"
            "</office:text></office:body></office:document-content>"))
        with archive.open("Pictures/padding.bin", "w", force_zip64=True) as entry:
            for _ in range(520):
                entry.write(b"\0" * (1 << 20))
    settings = dataclasses.replace(config.load(), zip_max_uncompressed_mb=600)
    assert load_document(odt, settings).pages[0].text == "Minutes of the steering group on street lighting."

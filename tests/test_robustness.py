"""Hostile input: every file ends as a document or a reason, in bounded time and memory.

Each file goes through `ingest.read_files`, the path an indexing run takes: the size limit, then
a child process with its timeout and memory limit, the content sniffer with its zip-bomb check,
then the reader.
"""
from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

import settings as config
from conftest import ROOT, make_pdf, make_pptx, shared_path
from hostile import write_pdf
from ingest import Document, ReadError, read_files

SECRET = "TOPSECRET-7f3a"


def read_one(path: Path, settings: config.Settings | None = None) -> Document | ReadError:
    [(_, result)] = list(read_files([path], settings or config.load()))
    return result


def reason_of(path: Path, settings: config.Settings | None = None) -> str:
    result = read_one(path, settings)
    assert isinstance(result, ReadError), f"{path.name} was read: {result}"
    return result.reason


def rewrite_zip(source: Path, target: Path, changes: dict[str, bytes], extra: dict[str, bytes] | None = None) -> Path:
    """A copy of a ZIP container with some entries replaced and others added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, changes.get(info.filename, old.read(info.filename)))
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return target


def make_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def make_odt(path: Path, content_xml: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content_xml, zipfile.ZIP_DEFLATED)
    return path


def slow_pdf(path: Path, pages: int = 1000, operators: int = 200_000) -> Path:
    """A 100 KB PDF that takes pypdf about an hour: every page draws one 3 MB text stream.

    The stream compresses to a few kilobytes and stays under pypdf's own limits per stream;
    pypdf parses it again for each page that uses it.
    """
    content = b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj 0.1 0 Td " * operators + b"ET"
    stream = zlib.compress(content, 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages)).encode()
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ] + [page] * pages
    return write_pdf(path, objects)


# -- zip bombs -------------------------------------------------------------------------------------

def test_zip_bomb_is_rejected_before_it_is_inflated(tmp_path):
    bomb = tmp_path / "minutes.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(520):
                entry.write(block)
    assert bomb.stat().st_size < 1024 * 1024  # 520 MB of XML in half a megabyte
    assert reason_of(bomb) == "rejected: unpacks to 520 MB (limit 500 MB; zip bomb?)"


def test_zip_with_too_many_entries_is_rejected(tmp_path):
    deck = make_pptx(tmp_path / "deck.pptx", [{"title": "Market consultation"}])
    crowded = rewrite_zip(deck, tmp_path / "crowded.pptx", {}, {f"ppt/media/x{i}.bin": b"" for i in range(10_001)})
    assert reason_of(crowded).startswith("rejected: 100") and "entries in the archive (limit 10000; zip bomb?)" in reason_of(crowded)


def test_zip_that_understates_its_sizes_cannot_inflate_past_them(tmp_path):
    """The directory says 1 KB, the stream inflates to 200 MB: zipfile stops at 1 KB and fails the CRC."""
    clean = make_docx(tmp_path / "clean.docx", ["Award criteria"])
    with zipfile.ZipFile(clean) as archive:
        xml = archive.read("word/document.xml")
    padded = xml.replace(b"<w:body>", b"<w:body>" + b" " * (200 << 20))
    data = bytearray(rewrite_zip(clean, tmp_path / "padded.docx", {"word/document.xml": padded}).read_bytes())
    name = b"word/document.xml"
    for signature, size_at, name_length_at, header in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = data.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", data, at + name_length_at)[0]
            if data[at + header : at + header + length] == name:
                struct.pack_into("<I", data, at + size_at, 1000)
            at = data.find(signature, at + 4)
    liar = tmp_path / "liar.docx"
    liar.write_bytes(bytes(data))
    settings = dataclasses.replace(config.load(), parse_memory_mb=1024)
    assert "Bad CRC-32" in reason_of(liar, settings)


# -- XML external entities -------------------------------------------------------------------------

XXE_DOCTYPE = b'<!DOCTYPE root [<!ENTITY xxe SYSTEM "file://%s">]>'


def _with_entity(xml: bytes, secret_file: Path, marker: bytes) -> bytes:
    declaration, rest = xml.split(b"?>", 1)
    return declaration + b"?>" + XXE_DOCTYPE % str(secret_file).encode() + rest.replace(marker, b"&xxe;")


@pytest.mark.parametrize("kind", ["pptx", "docx"])
def test_external_entity_in_office_xml_is_not_resolved(tmp_path, kind):
    from lxml import etree

    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    if kind == "pptx":
        clean = make_pptx(tmp_path / "clean.pptx", [{"title": "Award criteria", "body": "Quality counts MARKER points"}])
        member = "ppt/slides/slide1.xml"
    else:
        clean = make_docx(tmp_path / "clean.docx", ["Award criteria", "Quality counts MARKER points"])
        member = "word/document.xml"
    with zipfile.ZipFile(clean) as archive:
        hostile_xml = _with_entity(archive.read(member), secret_file, b"MARKER")
    # The payload is live: a parser that resolves entities reads the secret into the text.
    assert SECRET in etree.tostring(etree.fromstring(hostile_xml, etree.XMLParser(resolve_entities=True))).decode()
    hostile = rewrite_zip(clean, tmp_path / f"hostile.{kind}", {member: hostile_xml})
    result = read_one(hostile)
    text = " ".join(page.text for page in result.pages) if isinstance(result, Document) else result.reason
    assert "Award criteria" in text and SECRET not in text


def test_external_entity_in_opendocument_is_refused(tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    content = _with_entity(
        b'<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        b"<text:p>Minutes MARKER</text:p></office:text></office:body></office:document-content>",
        secret_file, b"MARKER",
    )
    reason = reason_of(make_odt(tmp_path / "minutes.odt", content))
    assert reason.startswith("corrupt OpenDocument file (EntitiesForbidden") and SECRET not in reason


# -- type by content, not by name -------------------------------------------------------------------

def test_file_type_is_decided_by_content(tmp_path):
    pdf_named_docx = make_pdf(tmp_path / "report.docx", ["Prior market consultation with an open information day."])
    result = read_one(pdf_named_docx)
    assert isinstance(result, Document) and result.kind == "pdf"
    text_named_pdf = tmp_path / "notes.pdf"
    text_named_pdf.write_text("just some notes, not a PDF at all\n")
    assert reason_of(text_named_pdf) == "not a real .pdf file (content does not match its extension)"
    program_named_pptx = tmp_path / "slides.pptx"
    program_named_pptx.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4)
    assert reason_of(program_named_pptx) == "not a real .pptx file (content does not match its extension)"
    archive_named_pptx = tmp_path / "deck.pptx"
    with zipfile.ZipFile(archive_named_pptx, "w") as archive:
        archive.writestr("holiday/photo.jpg", b"\xff\xd8\xff")
    assert reason_of(archive_named_pptx) == "unsupported file type: a ZIP archive that is not an office document"


def test_entry_names_with_dot_dot_are_never_extracted(tmp_path):
    """Readers stream entries from the container; a '../' name cannot place a file anywhere."""
    deck = make_pptx(tmp_path / "work" / "deck.pptx", [{"title": "Evaluation grid", "body": "Carbon footprint 15 points"}])
    hostile = rewrite_zip(deck, tmp_path / "work" / "hostile.pptx", {}, {"../../escaped.txt": b"x", "/tmp/escaped.txt": b"x"})
    result = read_one(hostile)
    assert isinstance(result, Document) and "Carbon footprint" in result.pages[0].text
    assert not list(tmp_path.rglob("escaped.txt")) and not Path("/tmp/escaped.txt").exists()


# -- time and size ----------------------------------------------------------------------------------

def test_pathological_pdf_is_stopped_by_the_timeout(tmp_path):
    hostile = slow_pdf(tmp_path / "hostile.pdf")
    normal = make_pdf(tmp_path / "normal.pdf", ["Street lighting maintenance minutes of the steering group."])
    settings = dataclasses.replace(config.load(), parse_timeout_s=4)
    arrived = list(read_files([hostile, normal], settings))
    results = dict(arrived)
    assert results[hostile].reason == "timed out after 4 s (file too complex or malformed)"
    assert isinstance(results[normal], Document)  # the run goes on with the next file
    assert [path for path, _ in arrived] == [normal, hostile]  # without waiting for the slow one


def test_long_real_pdf_is_stopped_by_a_short_timeout(tmp_path):
    handbook = shared_path("realdocs", "procurement", "de_vergabehandbuch", "Vergabebuch_2025_FINALE_AUSGABE.pdf")
    settings = dataclasses.replace(config.load(), parse_timeout_s=2.5)
    assert reason_of(handbook, settings) == "timed out after 2.5 s (file too complex or malformed)"


def test_memory_hungry_file_is_stopped_by_the_memory_limit(tmp_path):
    """250 MB of minutes: reading, decoding and cleaning them needs several times that."""
    minutes = tmp_path / "minutes.txt"
    line = "The steering group reviewed the lamp replacement contracts and the energy savings.\n"
    with open(minutes, "w") as handle:
        handle.writelines([line] * (250 * 1024 * 1024 // len(line)))
    normal = tmp_path / "agenda.txt"
    normal.write_text(line * 20)
    # Past the character cap (PXS_FILE_MAX_CHARS) only its start would be read: lift the cap.
    settings = dataclasses.replace(config.load(), parse_memory_mb=900, file_max_chars=10**9)
    results = dict(read_files([minutes, normal], settings))
    assert "memory" in results[minutes].reason  # "rejected: needs more than 900 MB of memory to read"
    assert isinstance(results[normal], Document)


def test_oversize_file_is_named_with_the_reason(tmp_path):
    """The CLI a user runs: oversize and hostile files are each named with why they were skipped."""
    library = tmp_path / "library"
    library.mkdir()
    (library / "scan.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024))
    (library / "notes.pdf").write_text("not a pdf\n")
    make_odt(library / "agenda.odt", _with_entity(
        b'<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
        b"<office:body><office:text>MARKER</office:text></office:body></office:document-content>",
        tmp_path / "nowhere.txt", b"MARKER"))
    completed = subprocess.run(
        [sys.executable, "-m", "ingest", str(library), "--index", str(tmp_path / "index")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PXS_FILE_MAX_MB": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    for expected in (
        "  failed     scan.pdf: rejected: 2 MB, larger than the limit of 1 MB for one file (PXS_FILE_MAX_MB)",
        "  failed     notes.pdf: not a real .pdf file (content does not match its extension)",
    ):
        assert expected in lines, completed.stdout
    assert any(line.startswith("  failed     agenda.odt: corrupt OpenDocument file (EntitiesForbidden") for line in lines)

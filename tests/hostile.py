"""Hostile files for the bounds tests, and the whole hostile library of issue 12 for measuring.

Each function writes one real file and returns its path. The giants are small on disk (the blank
PDF is ~2 MB, the inflating PDF ~1 MB) except the one-line text file, which is as large as asked;
tests write them under their own tmp_path, never into the repository.

    python tests/hostile.py DIR    # the issue's folder: a 50 MB one-line text file, five hostile
                                   # files and one normal deck, to measure `python -m ingest DIR`
"""
from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from pathlib import Path

if __name__ == "__main__":  # run as a script: the repository root for `settings`, this folder for conftest
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import make_pptx  # noqa: E402

REPEATED_WORD = "procurement "


def one_line_text(path: Path, megabytes: float = 50, word: str = REPEATED_WORD) -> Path:
    """A plain-text file of one line (an export, a log): `word` repeated to `megabytes`, no newline."""
    block = word * ((1 << 20) // len(word) + 1)
    total = int(megabytes * 1024 * 1024)
    with open(path, "w", encoding="ascii") as handle:
        written = 0
        while written < total:
            piece = block[: total - written]
            handle.write(piece)
            written += len(piece)
    return path


def write_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF from numbered object bodies (object 1 is the catalogue), with a valid xref table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def blank_pdf(path: Path, pages: int = 20_000) -> Path:
    """A PDF of `pages` A4 pages with nothing on them: no text layer, nothing for OCR to read."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    return write_pdf(path, objects + [page] * pages)


def inflating_pdf(path: Path, megabytes: int = 1024) -> Path:
    """A one-page PDF whose one content stream inflates to `megabytes` of spaces (~1 MB on disk)."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    stream = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return write_pdf(path, objects)


def zip_bomb_deck(path: Path, megabytes: int = 520) -> Path:
    """A real deck with one extra entry that inflates to `megabytes` of zeros (half a MB on disk)."""
    deck = make_pptx(path.with_suffix(".clean.pptx"), [{"title": "Evaluation grid", "body": "Price 30 points"}])
    with zipfile.ZipFile(deck) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, old.read(info.filename))
        with new.open("ppt/media/padding.bin", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                entry.write(block)
    deck.unlink()
    return path


def _zipcrypto(data: bytes, password: bytes, check_byte: int) -> bytes:
    """`data` encrypted with the traditional PKWARE cipher (what `zip -P` writes), header first."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        keys[0] = zlib.crc32(bytes([byte]), keys[0] ^ 0xFFFFFFFF) ^ 0xFFFFFFFF
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = zlib.crc32(bytes([keys[1] >> 24]), keys[2] ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

    for byte in password:
        update(byte)
    out = bytearray()
    for byte in bytes(11) + bytes([check_byte]) + data:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def locked_zip(path: Path, members: dict[str, bytes], password: bytes = b"tender2026") -> Path:
    """A password-protected ZIP (traditional encryption, stored members), as `zip -P` makes it."""
    out, directory = bytearray(), bytearray()
    for name, data in members.items():
        crc = zlib.crc32(data)
        encrypted = _zipcrypto(data, password, crc >> 24)
        encoded = name.encode()
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x1, 0, 0, 0, crc, len(encrypted), len(data), len(encoded), 0)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0x1, 0, 0, 0, crc, len(encrypted), len(data),
                                 len(encoded), 0, 0, 0, 0, 0, len(out)) + encoded
        out += header + encoded + encrypted
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out), 0)
    path.write_bytes(bytes(out + directory + end))
    return path


def zip_bomb(path: Path, megabytes: int = 600) -> Path:
    """A ZIP whose one member inflates to `megabytes` of zeros (about 600 KB on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("read-me.txt", "Technical specifications of the tender.")
        with archive.open("specifications.pdf", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                entry.write(block)
    return path


def many_files_zip(path: Path, count: int = 50_000) -> Path:
    """A ZIP of `count` tiny text files."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for number in range(count):
            archive.writestr(f"notes/{number:05d}.txt", b"x")
    return path


def mail_with_attachment(path: Path, megabytes: int, body: str, attachment: str = "drawings.pdf") -> Path:
    """An e-mail with one base64 attachment of `megabytes` of zeros, written as a stream."""
    line = b"A" * 76 + b"\n"  # base64 of zeros: 57 bytes a line
    head = (
        "From: Site office <site@lindhaven.example>\nTo: Procurement <procurement@lindhaven.example>\n"
        "Date: Tue, 3 Mar 2026 09:00:00 +0100\nSubject: Drawings for the bridge works\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n'
        f"{body}\n--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename={attachment}\n"
        "Content-Transfer-Encoding: base64\n\n"
    )
    lines = megabytes * (1 << 20) // 57
    with open(path, "wb") as handle:
        handle.write(head.encode())
        block = line * 10_000
        for _ in range(lines // 10_000):
            handle.write(block)
        handle.write(line * (lines % 10_000) + b"--B--\n")
    return path


def xxe_docx(path: Path, secret_file: Path) -> Path:
    """A Word file whose XML declares an external entity pointing at `secret_file`."""
    import docx

    document = docx.Document()
    document.add_paragraph("Minutes of the steering group MARKER")
    clean = path.with_suffix(".clean.docx")
    document.save(str(clean))
    member = "word/document.xml"
    with zipfile.ZipFile(clean) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == member:
                declaration, rest = data.split(b"?>", 1)
                doctype = b'<!DOCTYPE root [<!ENTITY xxe SYSTEM "file://%s">]>' % str(secret_file).encode()
                data = declaration + b"?>" + doctype + rest.replace(b"MARKER", b"&xxe;")
            new.writestr(info, data)
    clean.unlink()
    return path


def png_named_pdf(path: Path) -> Path:
    """A real PNG picture under a .pdf name."""
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(path, format="PNG")
    return path


def million_row_xlsx(path: Path, rows: int = 1_000_000) -> Path:
    """A real workbook whose one sheet holds a header and `rows` rows of lots and prices (~10 MB).

    openpyxl writes the header; the sheet's XML is then written directly, a block of rows at a
    time, because writing a million rows through openpyxl takes minutes.
    """
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Prices"
    book.active.append(["Lot", "Unit price", "Quantity"])
    template = path.with_suffix(".template.xlsx")
    book.save(template)
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(template) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in old.infolist():
            if info.filename != member:
                new.writestr(info, old.read(info.filename))
                continue
            head, _, tail = old.read(member).decode().partition("</sheetData>")
            head = head.replace("<dimension ref=\"A1:C1\"/>", f"<dimension ref=\"A1:C{rows + 1}\"/>")
            with new.open(member, "w", force_zip64=True) as entry:
                entry.write(head.encode())
                for start in range(2, rows + 2, 10_000):
                    entry.write("".join(
                        f'<row r="{n}"><c r="A{n}"><v>{n - 1}</v></c><c r="B{n}"><v>{200 + n % 97}.19</v></c>'
                        f'<c r="C{n}"><v>{n % 7 + 1}</v></c></row>' for n in range(start, min(start + 10_000, rows + 2))
                    ).encode())
                entry.write(b"</sheetData>" + tail.encode())
    template.unlink()
    return path


def corrupt_xlsx(path: Path, workbook: Path) -> Path:
    """A copy of a real workbook whose first sheet's XML breaks off in the middle of a row."""
    with zipfile.ZipFile(workbook) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            new.writestr(info, data)
    return path


def one_line_html(path: Path, megabytes: float = 50) -> Path:
    """A minified web page of one line: `megabytes` of table rows, no newline anywhere."""
    row = "<tr><td>Lot</td><td>Street lighting maintenance</td><td>120000 EUR</td></tr>"
    block = row * ((1 << 20) // len(row) + 1)
    total = int(megabytes * 1024 * 1024)
    with open(path, "w", encoding="ascii") as handle:
        handle.write("<!DOCTYPE html><html><head><title>Price list</title></head><body><table>")
        written = 0
        while written < total:
            piece = block[: total - written]
            handle.write(piece)
            written += len(piece)
        handle.write("</table></body></html>")
    return path


def xxe_notice(path: Path, secret_file: Path) -> Path:
    """An eForms contract notice whose DOCTYPE declares an external entity pointing at `secret_file`."""
    path.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE ContractNotice [<!ENTITY xxe SYSTEM "file://{secret_file}">]>\n'
        '<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2"'
        ' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
        ' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">'
        "<cac:ProcurementProject><cbc:Name>Street lighting &xxe;</cbc:Name></cac:ProcurementProject>"
        "</ContractNotice>"
    )
    return path


def normal_deck(path: Path) -> Path:
    return make_pptx(path, [
        {"title": "Market consultation", "body": "The city held an open information day for e-bus charging suppliers."},
        {"title": "Award criteria", "body": "Quality counted for seventy percent and price for thirty percent."},
    ])


def hostile_library(folder: Path, text_megabytes: float = 50) -> Path:
    """The library of issue 12: the one-line text export, five hostile files and a normal deck."""
    folder.mkdir(parents=True, exist_ok=True)
    one_line_text(folder / "export.txt", text_megabytes)
    zip_bomb_deck(folder / "bomb.pptx")
    secret = folder.parent / "secret.txt"
    secret.write_text("TOPSECRET-7f3a")
    xxe_docx(folder / "entities.docx", secret)
    png_named_pdf(folder / "picture.pdf")
    blank_pdf(folder / "blank.pdf")
    inflating_pdf(folder / "inflating.pdf")
    normal_deck(folder / "consultation.pptx")
    return folder


if __name__ == "__main__":
    print(hostile_library(Path(sys.argv[1])))

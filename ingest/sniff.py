"""Decide a file's type by its content (magic bytes), not only by its name.

A .pdf that is really a Word file, or a .pptx that is a renamed ZIP of something else, is read
by what it is, or rejected with the reason. ZIP containers are checked against zip bombs here,
before any parser inflates them: every reader of a ZIP-based format (PPTX, DOCX, ODT, ODP) is
reached through `detect_kind`, which opens the container with `check_zip` first.

The declared sizes in the ZIP directory are what `check_zip` adds up; a container that lies
about them cannot inflate past them either, because Python's zipfile (which python-pptx,
python-docx and the ODF reader all read through) stops each entry at its declared size and
then fails its CRC check.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from .document import ReadError

# Extensions the product reads, and the kind each stands for.
EXTENSIONS = {
    ".pdf": "pdf",
    ".pptx": "pptx", ".pptm": "pptx", ".ppsx": "pptx",
    ".docx": "docx", ".docm": "docx",
    ".txt": "txt", ".text": "txt",
    ".md": "md", ".markdown": "md",
    ".odt": "odt", ".odp": "odp",
    ".ppt": "ppt", ".doc": "doc", ".xls": "xls",
    ".eml": "eml", ".msg": "msg",
    ".zip": "zip",  # a folder of documents, expanded by `containers` before anything is read
}

_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def supported(path: Path) -> bool:
    return path.suffix.lower() in EXTENSIONS


def check_size(path: Path, max_mb: float, setting: str = "PXS_FILE_MAX_MB") -> None:
    """Reject a file larger than `max_mb` (the value of `setting`) before anything reads it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError(f"cannot be opened ({exc.strerror or exc})") from None
    if size > max_mb * 1024 * 1024:
        raise ReadError(too_large(size, max_mb, setting))


def too_large(size: int, max_mb: float, setting: str = "PXS_FILE_MAX_MB") -> str:
    """The reason given for a file of `size` bytes over the limit of `max_mb` (`setting`)."""
    return f"rejected: {size / 1024 / 1024:.0f} MB, larger than the limit of {max_mb:g} MB for one file ({setting})"


def check_zip(path: Path, max_uncompressed_mb: int, max_entries: int) -> zipfile.ZipFile:
    """Open a ZIP container after checking it cannot inflate beyond the limits.

    The limits are the product's (settings: PXS_ZIP_MAX_MB, PXS_ZIP_MAX_ENTRIES), passed by every
    caller: the sniffer, the OpenDocument reader and the check of LibreOffice's output.
    """
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, and ValueError/EOFError from damaged directories
        raise ReadError(f"corrupt archive ({str(exc)[:120] or type(exc).__name__})") from None
    entries = archive.infolist()
    if len(entries) > max_entries:
        raise ReadError(f"rejected: {len(entries)} entries in the archive (limit {max_entries}; zip bomb?)")
    total = sum(entry.file_size for entry in entries)
    if total > max_uncompressed_mb * 1024 * 1024:
        raise ReadError(
            f"rejected: unpacks to {total / 1024 / 1024:.0f} MB (limit {max_uncompressed_mb} MB; zip bomb?)"
        )
    return archive


def _zip_kind(path: Path, max_uncompressed_mb: int, max_entries: int) -> str:
    with check_zip(path, max_uncompressed_mb, max_entries) as archive:
        names = set(archive.namelist())
        if "mimetype" in names:
            try:
                mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
            except Exception as exc:  # a damaged or encrypted entry: CRC, zlib, password errors
                raise ReadError(f"corrupt archive ({str(exc)[:120] or type(exc).__name__})") from None
            if mimetype in _ODF_MIMETYPES:
                return _ODF_MIMETYPES[mimetype]
        if "[Content_Types].xml" in names:
            if any(n.startswith("ppt/") for n in names):
                return "pptx"
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                raise ReadError("unsupported file type: Excel workbook (.xlsx)")
    raise ReadError("unsupported file type: a ZIP archive that is not an office document")


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start >= len(head) - 3:
            return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 160 for b in head)
    return printable / len(head) > 0.95


def detect_kind(path: Path, max_uncompressed_mb: int, max_entries: int) -> str:
    """The file's kind by content; raises ReadError with the reason when it is not readable."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head:
        raise ReadError("empty file")
    by_name = EXTENSIONS.get(path.suffix.lower())
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path, max_uncompressed_mb, max_entries)
    if head.startswith(_OLE_MAGIC):
        # Legacy Office files share one container; the extension tells which application.
        if by_name in ("ppt", "doc", "xls", "msg"):
            return by_name
        raise ReadError("unsupported file type: legacy Office file with an unknown extension")
    if by_name in ("txt", "md", "eml") and _looks_like_text(head):
        return by_name
    if by_name in ("pdf", "pptx", "docx", "odt", "odp", "ppt", "doc", "xls", "msg"):
        raise ReadError(f"not a real {path.suffix.lower()} file (content does not match its extension)")
    raise ReadError(f"unsupported file type ({path.suffix or 'no extension'})")

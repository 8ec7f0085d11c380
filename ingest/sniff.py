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

import mmap
import re
import zipfile
from pathlib import Path, PurePosixPath

from .document import ReadError

# Extensions the product reads, and the kind each stands for.
EXTENSIONS = {
    ".pdf": "pdf",
    ".pptx": "pptx", ".pptm": "pptx", ".ppsx": "pptx",
    ".docx": "docx", ".docm": "docx",
    ".txt": "txt", ".text": "txt",
    ".md": "md", ".markdown": "md",
    ".odt": "odt", ".odp": "odp", ".ods": "ods",
    ".ppt": "ppt", ".doc": "doc", ".xls": "xls",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".csv": "csv", ".tsv": "csv",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".xml": "eforms",
    ".rtf": "rtf",
    ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image",
    ".eml": "eml", ".msg": "msg",
    ".zip": "zip",  # a folder of documents, expanded by `containers` before anything is read
}
# Kinds whose files are text, recognised by their name and then by a look at their content.
_TEXT_KINDS = ("txt", "md", "csv", "html", "eforms", "eml")

_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
# A password-protected XLSX, DOCX or PPTX is not a ZIP: Office wraps the encrypted package in an
# OLE container, in a stream of this name.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# The root elements of eForms notices (UBL 2.3, OP-TED eForms SDK), in the first bytes of the file.
_EFORMS_ROOT = re.compile(
    rb"<(?:\w+:)?(ContractNotice|PriorInformationNotice|ContractAwardNotice|BusinessRegistrationInformationNotice)\b"
    rb"[^>]*urn:oasis:names:specification:ubl:schema:xsd:"
)
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)


# A cached copy (a ZIP member's, a rendition's input) keeps its document's extension, which the
# readers of text formats go by, but never one so long that the copy's name would pass the file
# system's 255 bytes: "<sha256><extension>" with a 300-byte extension cannot be created.
MAX_SUFFIX_BYTES = 16


def cache_suffix(name: str | Path) -> str:
    """The lower-case extension a cached copy of `name` gets: '.pdf', or '' when it is too long."""
    suffix = PurePosixPath(str(name)).suffix.lower()
    return suffix if len(suffix.encode("utf-8", "replace")) <= MAX_SUFFIX_BYTES else ""


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
                return "xlsx"
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


def _ole_encrypted(path: Path) -> bool:
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(_ENCRYPTED_PACKAGE) >= 0


def _text_kind(by_name: str | None, head: bytes) -> str | None:
    """The kind of a text file: HTML and eForms notices by their first tags, others by their name."""
    if not _looks_like_text(head):
        return None
    if _HTML_START.match(head[:4096]):
        return "html"
    if by_name == "eforms":
        if _EFORMS_ROOT.search(head):
            return "eforms"
        raise ReadError("unsupported file type: an XML file that is not an eForms notice")
    return by_name if by_name in _TEXT_KINDS else None


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
        if _ole_encrypted(path):
            raise ReadError("encrypted, password required")
        # Legacy Office files share one container; the extension tells which application.
        if by_name in ("ppt", "doc", "xls", "msg"):
            return by_name
        raise ReadError("unsupported file type: legacy Office file with an unknown extension")
    if head.startswith(_IMAGE_MAGIC):
        return "image"  # whatever its name: a photo saved as .pdf is still read as the photo it is
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if by_name in _TEXT_KINDS:
        kind = _text_kind(by_name, head)
        if kind:
            return kind
    if by_name is not None:
        raise ReadError(f"not a real {path.suffix.lower()} file (content does not match its extension)")
    raise ReadError(f"unsupported file type ({path.suffix or 'no extension'})")

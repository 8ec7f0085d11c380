"""One entry from a path to a Document: sniff the type, pick the reader, report failures."""
from __future__ import annotations

from pathlib import Path

import settings as config

from . import docx, pdf, pptx, text
from .document import Document, ReadError, cap_characters
from .sniff import detect_kind


def load_document(path: Path, settings: config.Settings | None = None) -> Document:
    """Read one file into a Document, or raise ReadError with a reason a user can act on.

    At most `settings.file_max_chars` characters of text come back, whatever the file holds; a
    warning names what was left out.
    """
    settings = settings or config.load()
    path = Path(path)
    if not path.is_file():
        raise ReadError("not a file")
    if path.stat().st_size == 0:
        raise ReadError("empty file")
    return cap_characters(_read_kind(path, settings), settings.file_max_chars)


def _read_kind(path: Path, settings: config.Settings) -> Document:
    kind = detect_kind(path, settings.zip_max_uncompressed_mb, settings.zip_max_entries)
    if kind == "pdf":
        return pdf.read(path, settings.file_max_chars, settings.ocr_empty_pages, ocr=_pdf_ocr(path, settings))
    if kind == "pptx":
        return pptx.read(path)
    if kind == "docx":
        return docx.read(path)
    if kind in ("txt", "md"):
        return text.read(path, settings.file_max_chars)
    if kind in ("xlsx", "ods", "csv"):
        return _read_spreadsheet(kind, path, settings)
    if kind == "html":
        from . import webpage

        return webpage.read(path, settings.file_max_chars)
    if kind == "eforms":
        from . import eforms

        return eforms.read(path)
    if kind == "image":
        from . import image

        return image.read(path, settings)
    if kind == "rtf":
        from . import rtf

        return rtf.read(path, settings.file_max_chars)
    if kind in ("eml", "msg"):
        from . import mail

        return mail.read(path, kind)
    return _read_other(kind, path, settings)


def _read_spreadsheet(kind: str, path: Path, settings: config.Settings) -> Document:
    from . import spreadsheet

    if kind == "xlsx":
        return spreadsheet.read_xlsx(path, settings.file_max_chars)
    if kind == "ods":
        return spreadsheet.read_ods(path, settings.file_max_chars, settings.zip_max_uncompressed_mb, settings.zip_max_entries)
    return spreadsheet.read_csv(path, settings.file_max_chars)


def _pdf_ocr(path: Path, settings: config.Settings):
    """The OCR callback for image-only pages, or None where OCR is not available."""
    try:
        from . import ocr
    except ImportError:
        return None
    return ocr.page_reader(path, settings)


def _read_other(kind: str, path: Path, settings: config.Settings) -> Document:
    if kind in ("odt", "odp"):
        try:
            from . import odf
        except ImportError:
            raise ReadError(f"unsupported file type: {kind.upper()} reader not installed") from None
        return odf.read(path, kind, settings.zip_max_uncompressed_mb, settings.zip_max_entries)
    if kind in ("ppt", "doc", "xls"):
        try:
            from . import legacy
        except ImportError:
            raise ReadError(f"legacy .{kind} file: conversion not available") from None
        return legacy.read(path, kind, settings)
    raise ReadError(f"unsupported file type ({kind})")

"""What a file says about itself: the author, title and dates in a PDF's information dictionary
or an Office or OpenDocument file's core properties.

Run it in a reader process (`run_in_reader(path, settings, file_properties)`): a malformed file
may make pypdf slow, and the readers' limits bound that. Nothing here is trusted as true: the
index weighs it against what the text says (index/metadata.py).
"""
from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

from defusedxml import ElementTree

# The core properties of OOXML (docProps/core.xml) and OpenDocument (meta.xml), by local name.
_OFFICE_FIELDS = {
    "creator": "author", "initial-creator": "author", "title": "title",
    "created": "created", "creation-date": "created", "modified": "modified", "date": "modified",
}
_PDF_FIELDS = {"/Author": "author", "/Title": "title", "/CreationDate": "created", "/ModDate": "modified"}
OFFICE_KINDS = {".docx", ".pptx", ".xlsx", ".docm", ".pptm", ".xlsm", ".odt", ".odp", ".ods"}


def _pdf_date(value: str) -> str:
    """"D:20231002090000+00'00'" -> "2023-10-02" (only the date: the time zone is often wrong)."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value.strip())
    if not match:
        return ""
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    return f"{year}-{month}-{day}"


def _pdf_properties(path: Path) -> dict[str, str]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # a broken xref is no news here

    info = PdfReader(path, strict=False).metadata or {}
    found = {}
    for key, name in _PDF_FIELDS.items():
        value = info.get(key)
        if value:
            text = str(value).strip()
            found[name] = _pdf_date(text) if name in ("created", "modified") else text
    return found


def _office_properties(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        member = "docProps/core.xml" if "docProps/core.xml" in names else "meta.xml" if "meta.xml" in names else None
        if member is None or package.getinfo(member).file_size > 1_000_000:
            return {}
        root = ElementTree.fromstring(package.read(member))
    found = {}
    for element in root.iter():
        name = _OFFICE_FIELDS.get(element.tag.rsplit("}", 1)[-1])
        text = (element.text or "").strip()
        if name and text and name not in found:
            found[name] = text[:10] if name in ("created", "modified") else text
    return found


def file_properties(path: Path, settings=None) -> dict[str, str]:
    """{"author", "title", "created", "modified"} as far as the file states them ("created" and
    "modified" as YYYY-MM-DD); empty for formats without such properties or a file that has none.
    `settings` is unused: the signature of a reader task."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            found = _pdf_properties(path)
        elif suffix in OFFICE_KINDS:
            found = _office_properties(path)
        else:
            return {}
    except Exception:  # properties are a bonus: an unreadable dictionary is no failure of the file
        return {}
    return {key: " ".join(value.split())[:300] for key, value in found.items() if value}

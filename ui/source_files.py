"""What the app serves of the library, and the one function that chooses how.

Streamlit serves `ui/static/` at `app/static/` and takes each file's Content-Type from its
extension. A document's own name must never choose it: a valid PDF named `evil.html` whose
second line is `%<html><script>…` would be served as text/html and run in the app's origin. So
the app puts exactly two kinds of file there, under names it makes itself: PDFs (a library PDF,
a marked copy, a rendition) served as application/pdf, and page pictures as image/webp;
`served_url` is the only way to a URL and refuses anything else. Every other file reaches the
browser only through a download (`read_file`, Content-Disposition: attachment).

A library PDF opens at its page from a mirror: `ui/static/library/<key>/document.pdf`, made
when a result first needs it. Why hard links, not symlinks or copies: Streamlit resolves
symlinks and refuses any file whose real path leaves the static folder, so a symlink mirror
serves nothing; a copy doubles the disk space of the library. A hard link is the same file
under a second name, costs nothing and follows edits made in place. When the library is on
another file system the entry is a copy, refreshed when the original changes.

Indexing follows a symbolic link only to a file inside the library folder (ingest.discover);
a link can be swapped in afterwards, so `readable` applies that rule again each time a file is
served or read, and everything after it uses the real path it returns.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

STATIC_DIR = Path(__file__).resolve().parent / "static"
MIRROR_DIR = STATIC_DIR / "library"
# Streamlit's URL for the static folder, relative to the page: works under any base URL path.
STATIC_URL = "app/static"
# The only types the app serves from its static folder, by the extensions it gives them itself.
SERVED_TYPES = {".pdf": "application/pdf", ".webp": "image/webp"}
MIRROR_NAME = "document.pdf"

log = logging.getLogger("pxs.ui")


class Refused(Exception):
    """A library file the app will not serve or read, with the reason a reader is shown."""


def readable(path: Path, library_dir: Path, index_dir: Path) -> Path:
    """The real path of a document's file, once the library's link rule holds; raises Refused.

    Its real path must lie in the library folder (or the index's cache of ZIP members and
    attachments). A file indexed from elsewhere by the command line is read where it is, as
    long as no link leads to it.
    """
    path = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    library, index = Path(os.path.realpath(library_dir)), Path(os.path.realpath(index_dir))
    if not real.is_file():
        raise Refused("the file is no longer in the library folder")
    if real.is_relative_to(library) or real.is_relative_to(index):
        return real
    if real == path and not path.is_relative_to(Path(os.path.abspath(library_dir))):
        return real
    log.warning("refused %s: a symbolic link leading outside the library folder (to %s)", path, real)
    raise Refused("refused: a symbolic link leading outside the library folder")


def read_file(path: Path, library_dir: Path, index_dir: Path) -> bytes:
    """A document's bytes for a download, the link rule checked again at the moment of reading."""
    real = readable(path, library_dir, index_dir)
    # O_NOFOLLOW: the real path's last part cannot have become a link since it was resolved.
    handle = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(handle, "rb") as source:
        return source.read()


def served_url(entry: Path, page: int | None = None) -> str:
    """The one way to a URL of the static folder: only the app's own PDFs and pictures."""
    entry = Path(entry)
    if entry.suffix not in SERVED_TYPES or not entry.is_relative_to(STATIC_DIR):
        raise ValueError(f"not served: {entry.name}")
    url = f"{STATIC_URL}/{quote(entry.relative_to(STATIC_DIR).as_posix())}"
    return f"{url}#page={page}" if page else url


def mirror_key(path: Path) -> str:
    """The mirror folder of one library file: a digest of its full path (names can repeat)."""
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]


def _current(entry: Path, source: Path) -> bool:
    try:
        if os.path.samefile(entry, source):
            return True
        a, b = entry.stat(), source.stat()
    except OSError:
        return False
    return (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns)  # a copy, still up to date


def mirror(real: Path) -> Path:
    """The static-folder entry of a library PDF (a real path from `readable`), made or refreshed."""
    entry = MIRROR_DIR / mirror_key(real) / MIRROR_NAME
    if entry.exists() and _current(entry, real):
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    # A staging name of this call's own: two sessions showing the same PDF at the same moment
    # would otherwise unlink each other's staging link (FileNotFoundError in os.replace).
    staging = entry.with_name(f".{uuid.uuid4().hex}.new")
    try:
        os.link(real, staging, follow_symlinks=False)
    except OSError:
        shutil.copy2(real, staging, follow_symlinks=False)  # another file system, or links not allowed
    os.replace(staging, entry)  # atomic: a reader sees the old entry or the new one
    return entry


def open_at_page_url(real: Path, page: int | None) -> str:
    """A link that opens a library PDF (a real path from `readable`) at a page in the browser."""
    return served_url(mirror(real), page)


def forget(path: Path) -> None:
    """Remove the mirror entry of a file (when the document leaves the library)."""
    shutil.rmtree(MIRROR_DIR / mirror_key(Path(path)), ignore_errors=True)


def sweep(library_dir: Path) -> int:
    """Remove entries whose original file is gone, and those of older versions that were named
    after their document; returns how many.

    When the library shares the mirror's file system, every entry is a hard link, and one whose
    link count fell to one has lost its original. Otherwise the entries are copies, which carry
    no such sign: those are removed with their document through the app, not here.
    """
    if not MIRROR_DIR.is_dir() or not Path(library_dir).is_dir():
        return 0
    same_device = Path(library_dir).stat().st_dev == MIRROR_DIR.stat().st_dev
    removed = 0
    for folder in MIRROR_DIR.iterdir():
        if not folder.is_dir():
            continue
        entries = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        named_by_document = any(p.name != MIRROR_NAME for p in entries)
        if named_by_document or (same_device and all(p.stat().st_nlink == 1 for p in entries)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed

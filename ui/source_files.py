"""Opening a library PDF at a page: a mirror of the library under Streamlit's static folder.

Streamlit serves `ui/static/` at `/app/static/` (`server.enableStaticServing`), and Chromium's
PDF viewer honours `#page=N`, so a plain link opens the document at the page. The library lives
elsewhere (`corpus/`, or wherever PXS_LIBRARY points), so each PDF a result links to gets an
entry in `ui/static/library/<key>/<file name>`, made when a result first needs it.

Why hard links, not symlinks or copies: Streamlit resolves symlinks and refuses any file whose
real path leaves the static folder, so a symlink mirror serves nothing; a copy doubles the disk
space of the library. A hard link is the same file under a second name, costs nothing and
follows edits made in place. When the library is on another file system (no hard links
possible) the entry is a copy, refreshed when the original changes.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

STATIC_DIR = Path(__file__).resolve().parent / "static"
MIRROR_DIR = STATIC_DIR / "library"
# Streamlit's URL for the static folder, relative to the page: works under any base URL path.
STATIC_URL = "app/static"


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


def mirror(path: Path, name: str | None = None) -> Path | None:
    """The static-folder entry for a library file, made or refreshed; None if the file is gone.

    `name` is the file name the browser shows, when it is not the file's own: a member of a ZIP
    package or a mail's attachment is served from its cached copy, named `<sha256>.pdf`.
    """
    source = Path(path)
    if not source.is_file():
        return None
    entry = MIRROR_DIR / mirror_key(source) / (name or source.name)
    if entry.exists() and _current(entry, source):
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    # A staging name of this call's own: two sessions showing the same PDF at the same moment
    # would otherwise unlink each other's staging link (FileNotFoundError in os.replace).
    staging = entry.with_name(f".{entry.name}.{uuid.uuid4().hex}.new")
    try:
        os.link(source, staging)
    except OSError:
        shutil.copy2(source, staging)  # another file system, or links not allowed
    os.replace(staging, entry)  # atomic: a reader sees the old entry or the new one
    return entry


def open_at_page_url(path: Path, page: int | None, name: str | None = None) -> str | None:
    """A link that opens a library PDF at a page in the browser's viewer, or None if it is gone."""
    entry = mirror(path, name)
    if entry is None:
        return None
    url = f"{STATIC_URL}/library/{entry.parent.name}/{quote(entry.name)}"
    return f"{url}#page={page}" if page else url


def forget(path: Path) -> None:
    """Remove the mirror entry of a file (when the document leaves the library)."""
    shutil.rmtree(MIRROR_DIR / mirror_key(Path(path)), ignore_errors=True)


def sweep(library_dir: Path) -> int:
    """Remove entries whose original file is gone; returns how many.

    When the library shares the mirror's file system, every entry is a hard link, and one whose
    link count fell to one has lost its original. Otherwise the entries are copies, which carry
    no such sign: those are removed with their document through the app, not here.
    """
    if not MIRROR_DIR.is_dir() or not Path(library_dir).is_dir():
        return 0
    if Path(library_dir).stat().st_dev != MIRROR_DIR.stat().st_dev:
        return 0
    removed = 0
    for folder in MIRROR_DIR.iterdir():
        if not folder.is_dir():
            continue
        entries = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        if all(p.stat().st_nlink == 1 for p in entries):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed

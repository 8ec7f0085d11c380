"""Saving uploaded files into the library folder, safely.

Everything here is plain file work with no Streamlit, so it can be tested on its own. An upload
is saved under `<library>/uploads/` with a name made safe (no folders, no path traversal, no
hidden files, only letters, digits and a few punctuation marks), never over a different file,
and not at all when the same content is already in the library.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from index import sha256_of


# The types the upload box accepts (the readers in `ingest` know more, e.g. .pptm; uploads
# stay with the common ones officers actually bring home).
UPLOAD_TYPES = (
    "pdf", "pptx", "docx", "txt", "md", "odt", "odp", "ods", "ppt", "doc", "xls", "xlsx", "xlsm", "csv", "tsv",
    "html", "htm", "xml", "rtf", "jpg", "jpeg", "png", "tif", "tiff", "zip", "eml", "msg",
)
UPLOADS_FOLDER = "uploads"
# Long enough for any real title, short enough for every file system's 255 bytes, counted in
# UTF-8 bytes (115 CJK characters are 345): room is left for " (999)" and the readers' copies.
MAX_NAME_BYTES = 200
MAX_EXTENSION_CHARS = 10

# Letters and digits of any script (\w), spaces, and - . , ( ) only. Everything else, including
# quotes, slashes, colons, control characters and shell or URL specials, becomes "_".
_UNSAFE = re.compile(r"[^\w \-.,()]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def safe_filename(name: str) -> str:
    """A file name that is safe to create in the uploads folder, keeping what a reader recognises.

    "../../etc/passwd.pdf" becomes "passwd.pdf", "C:\\Users\\ana\\Informe final.pdf" becomes
    "Informe final.pdf"; accents stay (normalised to NFKC, composed as most systems store them), hidden
    and lock-file prefixes ("." and "~$", which the library scan skips) are dropped.
    """
    # NFKC first: it folds look-alikes such as the fullwidth slash "／" into the real ones, so
    # they are caught below like any other separator.
    name = unicodedata.normalize("NFKC", name)
    # A browser sends a bare name, but a script or an old browser may send a full path, with
    # either separator: only the last part is a file name.
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # control, format
    base = _UNSAFE.sub("_", base)
    base = _SPACES.sub(" ", base).strip()
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    # Leading dots, spaces, dashes and underscores: hidden files, option-like names, "~$" leftovers.
    stem = stem.lstrip(" .-_").rstrip(" .")
    extension = extension.lower().strip()[:MAX_EXTENSION_CHARS]
    if not stem:
        stem = "document"
    limit = MAX_NAME_BYTES - len(extension.encode()) - 1
    # Cut at a character's boundary: the bytes that fit, without a half character at the end.
    stem = stem.encode()[:limit].decode("utf-8", "ignore").rstrip(" .") or "document"
    return f"{stem}.{extension}" if extension else stem


def with_counter(name: str, number: int) -> str:
    """'report.pdf', 2 -> 'report (2).pdf': the name a second, different file gets."""
    path = PurePosixPath(name)
    return f"{path.stem} ({number}){path.suffix}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SavedUpload:
    """What happened to one uploaded file before indexing."""

    original_name: str
    status: str  # "saved" | "already" | "rejected"
    message: str = ""
    path: Path | None = None
    sha256: str = ""

    @property
    def saved(self) -> bool:
        return self.status == "saved"


def check_upload(original_name: str, size: int, max_mb: int) -> str | None:
    """Why an upload cannot be taken (type or size), or None when it can."""
    extension = PurePosixPath(safe_filename(original_name)).suffix.lstrip(".")
    if extension not in UPLOAD_TYPES:
        kinds = ", ".join(f".{t}" for t in UPLOAD_TYPES)
        return f"this type of file ({'.' + extension if extension else 'no extension'}) is not supported; use {kinds}"
    if size == 0:
        return "the file is empty"
    if size > max_mb * 1024 * 1024:
        return f"the file is {size / 1024 / 1024:.0f} MB; the limit is {max_mb} MB"
    return None


def save_upload(
    original_name: str,
    data: bytes,
    library_dir: Path,
    max_mb: int,
    known: dict[str, str] | None = None,
) -> SavedUpload:
    """Save one upload into `<library_dir>/uploads/` under a safe, unused name.

    `known` maps the sha256 of every file already in the library to its name; an upload with
    the same content is not saved again (and is added to `known`, so a batch holding the same
    file twice saves it once).
    """
    known = known if known is not None else {}
    problem = check_upload(original_name, len(data), max_mb)
    if problem:
        return SavedUpload(original_name, "rejected", problem)
    digest = sha256_bytes(data)
    if digest in known:
        return SavedUpload(original_name, "already", f"already in the library as {known[digest]}", sha256=digest)
    folder = Path(library_dir) / UPLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_filename(original_name)
    # Write to a hidden temporary file first (the library scan skips hidden names), then give
    # it its name with a hard link, which fails instead of replacing an existing file: two
    # uploads of the same name at the same moment can never overwrite each other.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        for number in range(1, 1000):
            candidate = folder / (name if number == 1 else with_counter(name, number))
            if candidate.exists():
                if candidate.is_file() and sha256_of(candidate) == digest:
                    known[digest] = f"{UPLOADS_FOLDER}/{candidate.name}"
                    return SavedUpload(original_name, "already", f"already in the library as {UPLOADS_FOLDER}/{candidate.name}", sha256=digest)
                continue
            try:
                os.link(temporary, candidate)
            except FileExistsError:
                continue  # taken a moment ago by another upload: try the next number
            known[digest] = f"{UPLOADS_FOLDER}/{candidate.name}"
            return SavedUpload(original_name, "saved", "", candidate, digest)
        return SavedUpload(original_name, "rejected", f"too many files are already called {name}")
    finally:
        Path(temporary).unlink(missing_ok=True)



def delete_library_file(path: Path, library_dir: Path) -> str | None:
    """Delete a file that lies inside the library folder; returns why not, or None when done.

    Files indexed from elsewhere (the command line can index any folder) are never deleted by
    the app: only their passages leave the index.
    """
    path, library = Path(path).resolve(), Path(library_dir).resolve()
    if not path.is_relative_to(library):
        return f"the file is outside the library folder ({path.parent}) and was left in place"
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return f"the file could not be deleted ({exc.strerror or exc})"
    return None

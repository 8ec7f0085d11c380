"""The page pictures kept beside the index: a PDF rendition of each deck and word-processor file.

`<index>/pages/<sha256>.pdf` is the rendition of the content with that digest, made once when the
file is indexed and kept while some indexed file has that content; `<sha256>.failed` holds why a
rendition could not be made, so a file LibreOffice cannot lay out is not retried on every run.
A PDF needs none: it is its own picture.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest import RENDERED_KINDS, soffice_path, to_pdf

FOLDER = "pages"


def rendition(index_dir: Path, sha256: str) -> tuple[Path | None, str]:
    """(the rendition PDF, '') when there is one, else (None, why not)."""
    if not sha256:
        return None, "no page pictures for this kind of file"
    folder = Path(index_dir) / FOLDER
    made = folder / f"{sha256}.pdf"
    if made.is_file():
        return made, ""
    failed = folder / f"{sha256}.failed"
    if failed.is_file():
        return None, failed.read_text(encoding="utf-8", errors="replace").strip()
    if soffice_path() is None:
        return None, "LibreOffice, which draws the pages of slides and documents, is not installed"
    return None, "the pages of this file are not drawn yet (the next indexing run draws them)"


def missing(index_dir: Path, files: list[tuple[str, str, Path]]) -> dict[str, Path]:
    """sha256 -> path of the `files` ((sha256, kind, path)) whose rendition is still to be made."""
    folder = Path(index_dir) / FOLDER
    if soffice_path() is None:  # nothing to make: once LibreOffice is installed, they are made
        return {}
    return {
        sha: Path(path) for sha, kind, path in files
        if kind in RENDERED_KINDS and Path(path).is_file()
        and not (folder / f"{sha}.pdf").is_file() and not (folder / f"{sha}.failed").is_file()
    }


def lay_out(index_dir: Path, files: list[tuple[str, str, Path]], timeout_s: float,
            done: Callable[[int], None] | None = None) -> dict[str, str]:
    """Make the missing renditions of `files` ((sha256, kind, path) of the indexed files) and
    drop those no indexed file has; `done(n)` is told as each batch of n files is laid out.
    Returns {sha256: reason} of the files that got none."""
    folder = Path(index_dir) / FOLDER
    prune(index_dir, {sha for sha, _, _ in files})
    to_make = missing(index_dir, files)
    failures = to_pdf(to_make, folder, timeout_s, done) if to_make else {}
    for sha, reason in failures.items():
        (folder / f"{sha}.failed").write_text(reason + "\n", encoding="utf-8")
    return failures


def page_count(index_dir: Path, sha256: str) -> int | None:
    """How many pages the rendition of the content `sha256` has, None without one (not made yet,
    or LibreOffice could not lay it out)."""
    made, _ = rendition(index_dir, sha256)
    if made is None:
        return None
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(made))
    except Exception:  # noqa: BLE001 - a damaged rendition: no length, the table shows sections
        return None
    try:
        return len(document)
    finally:
        document.close()


def prune(index_dir: Path, indexed_shas: set[str]) -> None:
    """Remove the renditions of contents no indexed file has."""
    folder = Path(index_dir) / FOLDER
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.suffix in (".pdf", ".failed") and entry.stem not in indexed_shas:
                entry.unlink(missing_ok=True)

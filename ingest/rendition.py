"""Page pictures of files that have no pages of their own: slides and word-processor files as PDF.

A result card shows the real page with the passage marked on it. A PDF is its own picture; a
deck or a Word/OpenDocument file is laid out by LibreOffice headless into a PDF once, when it is
indexed, so that slide N of the deck is page N of its rendition. One LibreOffice start serves a
whole batch of files (its start-up costs more than most conversions); a batch that fails or runs
out of time is retried file by file, so one bad deck costs only its own picture.
"""
from __future__ import annotations

from collections.abc import Callable
import shutil
import tempfile
from pathlib import Path

from .document import ReadError
from .legacy import convert, soffice_path
from .sniff import cache_suffix

# The kinds LibreOffice lays out into pages; PDFs need no rendition, text files have no layout.
SLIDE_KINDS = frozenset({"pptx", "odp", "ppt"})
RENDERED_KINDS = SLIDE_KINDS | {"docx", "odt", "doc"}
BATCH = 20


def to_pdf(sources: dict[str, Path], out_dir: Path, timeout_s: float,
           done: Callable[[int], None] | None = None) -> dict[str, str]:
    """Convert each `sources[key]` file to `out_dir/<key>.pdf`; returns {key: reason} of failures.

    `timeout_s` is the time one file may take; a batch gets that much per file. `done(n)` is
    told after each batch of n files.
    """
    if soffice_path() is None:
        return {key: "LibreOffice is not installed (libreoffice-impress-nogui, libreoffice-writer-nogui)"
                for key in sources}
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = list(sources)
    failures: dict[str, str] = {}
    for first in range(0, len(keys), BATCH):
        batch = keys[first:first + BATCH]
        left = _convert_batch({key: sources[key] for key in batch}, out_dir, timeout_s * len(batch))
        if len(batch) > 1:  # one bad file may have stopped its batch: the others go alone
            left = {key: reason for key in left
                    for reason in _convert_batch({key: sources[key]}, out_dir, timeout_s).values()}
        failures.update(left)
        if done is not None:
            done(len(batch))
    return failures


def _convert_batch(sources: dict[str, Path], out_dir: Path, timeout_s: float) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="pxs-rendition-") as folder:
        work = Path(folder)
        # Plain copy names (the key and the kind): LibreOffice names its output after its input,
        # and a user's file name must not change how it parses its arguments.
        copies = []
        for key, source in sources.items():
            copy = work / f"{key}{cache_suffix(source) or '.bin'}"
            shutil.copyfile(source, copy)
            copies.append(copy)
        reason = "LibreOffice could not lay it out (damaged or password-protected?)"
        try:
            convert(copies, "pdf", work, timeout_s)
        except ReadError as exc:
            reason = exc.reason
        failures = {}
        for key in sources:
            made = work / f"{key}.pdf"
            if made.is_file() and made.stat().st_size > 0:
                # Staged then renamed: the app may be showing this folder's pictures meanwhile.
                staged = out_dir / f".{key}.pdf.part"
                shutil.move(made, staged)
                staged.replace(out_dir / f"{key}.pdf")
            else:
                failures[key] = reason
        return failures


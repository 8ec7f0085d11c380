"""Legacy Office files (.ppt, .doc, .xls): LibreOffice converts them, the modern readers read them.

No maintained Python library reads the old binary formats well, and LibreOffice does: a .ppt
becomes a .pptx (slide numbers and speaker notes kept), a .doc a .docx (headings kept), and
each sheet of an .xls a CSV file, read as one section per sheet under the sheet's name.

Each conversion gets a private LibreOffice profile, so conversions running in parallel (the
worker reads two files at once) do not fight over one profile's lock, and a time limit a little
under the reader's own, so that this module, not the worker, stops LibreOffice and leaves no
process behind.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import settings as config

from .cleaning import clean_block
from .document import Document, PageText, ReadError
from .sniff import check_zip

# kind -> (--convert-to target, LibreOffice component library, application, Debian package)
_CONVERSIONS = {
    "ppt": ("pptx", "libsdlo", "LibreOffice Impress", "libreoffice-impress-nogui"),
    "doc": ("docx", "libswlo", "LibreOffice Writer", "libreoffice-writer-nogui"),
    # UTF-8, comma-separated, values as displayed, every sheet to its own file (the final -1).
    "xls": (
        'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1',
        "libsclo", "LibreOffice Calc", "libreoffice-calc-nogui",
    ),
}
# Share of the file's parse time limit given to LibreOffice (the worker's limit is the whole).
CONVERSION_SHARE_OF_PARSE_TIMEOUT = 0.9
_NOT_CONVERTED = "legacy .{kind} file: LibreOffice could not convert it (damaged or password-protected?)"
_SHEET_WRITTEN = re.compile(r"^Writing sheet (.+) -> (.+\.csv)\s*$", re.MULTILINE)


def soffice_path() -> str | None:
    """The LibreOffice program on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _component_missing(soffice: str, library: str) -> bool:
    """True when LibreOffice is installed without the application a kind needs (Debian splits them)."""
    program = Path(os.path.realpath(soffice)).parent
    libraries = list(program.glob("lib*lo.*"))
    if not libraries:  # an unknown layout (another platform's packaging): let the conversion tell
        return False
    return not any(lib.name.startswith(f"{library}.") for lib in libraries)


def convert(paths: Path | list[Path], target: str, out_dir: Path, timeout_s: float) -> str:
    """Run LibreOffice headless to convert `paths` (one or several) into `out_dir`; returns what it printed."""
    soffice = soffice_path()
    if soffice is None:
        raise ReadError("LibreOffice is needed for this conversion (install libreoffice-core-nogui)")
    profile = out_dir / "profile"
    command = [
        soffice, "--headless", "--norestore", "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to", target, "--outdir", str(out_dir),
        *(str(p) for p in (paths if isinstance(paths, list) else [paths])),
    ]
    # Its own session, so that a time-out stops the launcher script and soffice.bin together.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "HOME": str(out_dir)},
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended in the meantime
            pass
        process.communicate()
        reason = f"conversion by LibreOffice timed out after {timeout_s:.3g} s (file too complex or malformed)"
        raise ReadError(reason) from None
    return output.decode("utf-8", "replace")


def read(path: Path, kind: str, settings: config.Settings) -> Document:
    """Read a .ppt, .doc or .xls file through LibreOffice; raises ReadError with the reason."""
    if kind not in _CONVERSIONS:
        raise ReadError(f"unsupported file type ({kind})")
    target, library, application, package = _CONVERSIONS[kind]
    soffice = soffice_path()
    if soffice is None:
        raise ReadError(f"legacy .{kind} file: LibreOffice is needed to read it (install {package})")
    if _component_missing(soffice, library):
        raise ReadError(f"legacy .{kind} file: {application} is needed to read it (install {package})")
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="pxs-legacy-") as folder:
        work = Path(folder)
        # A plain copy name: LibreOffice names its output after the input, and odd characters or
        # a leading dash in a user's file name must not change how it parses its arguments.
        source = work / f"document.{kind}"
        shutil.copyfile(path, source)
        output = convert(source, target, work, settings.parse_timeout_s * CONVERSION_SHARE_OF_PARSE_TIMEOUT)
        if kind == "xls":
            document = _read_sheets(work, output, settings.zip_max_uncompressed_mb)
        else:
            converted = work / f"document.{target}"
            if not converted.is_file():
                raise ReadError(_NOT_CONVERTED.format(kind=kind))
            # What LibreOffice wrote is a new container: a small .doc can convert to a zip bomb.
            try:
                check_zip(converted, settings.zip_max_uncompressed_mb, settings.zip_max_entries).close()
            except ReadError as exc:
                raise ReadError(f"converted by LibreOffice, {exc.reason}") from None
            document = _read_converted(converted, kind)
    if document.title in ("document", ""):
        document.title = path.stem.replace("_", " ")
    document.kind = kind
    return document


def _read_converted(converted: Path, kind: str) -> Document:
    if kind == "ppt":
        from . import pptx

        return pptx.read(converted)
    from . import docx

    return docx.read(converted)


def _read_sheets(work: Path, output: str, max_mb: int) -> Document:
    """One section per non-empty sheet, headed by the sheet's name, rows as 'cell | cell' lines.

    The sheets LibreOffice wrote are held to the zip-bomb limit (PXS_ZIP_MAX_MB), as the
    unpacked parts of a modern workbook would be.
    """
    written = [(name, Path(csv_path)) for name, csv_path in _SHEET_WRITTEN.findall(output)]
    if not written:  # LibreOffice's message changed: fall back to the files it left
        written = [(p.stem.removeprefix("document-"), p) for p in sorted(work.glob("document*.csv"))]
    if not written:
        raise ReadError(_NOT_CONVERTED.format(kind="xls"))
    total = sum(path.stat().st_size for _, path in written if path.is_file())
    if total > max_mb * 1024 * 1024:
        raise ReadError(f"rejected: its sheets convert to {total / 1024 / 1024:.0f} MB of text (limit {max_mb} MB; zip bomb?)")
    sheets: list[PageText] = []
    for name, csv_path in written:
        if not csv_path.is_file():
            continue
        lines = [name]
        with open(csv_path, encoding="utf-8", errors="replace", newline="") as handle:
            try:
                for row in csv.reader(handle):
                    # Merged cells come out once and empty elsewhere; repeated values are data.
                    cells = [cell.strip() for cell in row if cell.strip()]
                    if cells:
                        lines.append(" | ".join(cells))
            except csv.Error as exc:  # a cell beyond csv's field limit (128 KB)
                raise ReadError(f"legacy .xls file: sheet '{name}' could not be read ({exc})") from None
        text = clean_block("\n".join(lines))
        if len(lines) > 1 and text:
            sheets.append(PageText(number=None, text=text, heading=name))
    if not sheets:
        raise ReadError("no extractable text (empty workbook?)")
    return Document(kind="xls", title="", pages=sheets)

"""Legacy Office files (.ppt, .doc, .xls): LibreOffice converts them, the modern readers read them.

No maintained Python library reads the old binary formats well, and LibreOffice does: a .ppt
becomes a .pptx (slide numbers and speaker notes kept), a .doc a .docx (headings kept), and an
.xls an .xlsx (sheet names, hidden sheets and computed values kept), read as any workbook.

Each conversion gets a private LibreOffice profile, so conversions running in parallel (the
worker reads two files at once) do not fight over one profile's lock, and a time limit a little
under the reader's own, so that this module, not the worker, stops LibreOffice and leaves no
process behind.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import settings as config

from .document import Document, ReadError
from .sniff import check_zip

# kind -> (--convert-to target, LibreOffice component library, application, Debian package)
_CONVERSIONS = {
    "ppt": ("pptx", "libsdlo", "LibreOffice Impress", "libreoffice-impress-nogui"),
    "doc": ("docx", "libswlo", "LibreOffice Writer", "libreoffice-writer-nogui"),
    "xls": ("xlsx", "libsclo", "LibreOffice Calc", "libreoffice-calc-nogui"),
}
# Share of the file's parse time limit given to LibreOffice (the worker's limit is the whole).
CONVERSION_SHARE_OF_PARSE_TIMEOUT = 0.9
_NOT_CONVERTED = "legacy .{kind} file: LibreOffice could not convert it (damaged or password-protected?)"


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
        convert(source, target, work, settings.parse_timeout_s * CONVERSION_SHARE_OF_PARSE_TIMEOUT)
        converted = work / f"document.{target}"
        if not converted.is_file():
            raise ReadError(_NOT_CONVERTED.format(kind=kind))
        # What LibreOffice wrote is a new container: a small .doc can convert to a zip bomb.
        try:
            check_zip(converted, settings.zip_max_uncompressed_mb, settings.zip_max_entries).close()
        except ReadError as exc:
            raise ReadError(f"converted by LibreOffice, {exc.reason}") from None
        document = _read_converted(converted, kind, settings.file_max_chars)
    if document.title in ("document", ""):
        document.title = path.stem.replace("_", " ")
    document.kind = kind
    return document


def _read_converted(converted: Path, kind: str, max_chars: int) -> Document:
    if kind == "ppt":
        from . import pptx

        return pptx.read(converted)
    if kind == "xls":
        from . import spreadsheet

        return spreadsheet.read_xlsx(converted, max_chars)
    from . import docx

    return docx.read(converted)

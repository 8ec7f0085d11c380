"""Spreadsheets: XLSX/XLSM (openpyxl), ODS, CSV/TSV, and legacy XLS once LibreOffice has made it an XLSX.

A sheet is a page, numbered in the workbook's tab order (empty sheets are skipped but keep their
number, hidden ones are read and say so), headed by its name. Every row becomes one line that
keeps each value with its column header ("Lot: 3 · Unit price: 253.19 · Quantity: 2"), so a
passage about a price still says which column it is, wherever the chunker cuts. The header is the
first row of text cells within the sheet's first rows; a second such row under a header with gaps
(merged cells: the value sits in the first cell of the merge) is joined to it ("Price / Unit").
A long sheet is cut into windows of `ROW_WINDOW` rows, each headed with its rows.

Reading streams (openpyxl read-only, ODS content.xml parsed incrementally, csv line by line) and
stops at the file's character cap (PXS_FILE_MAX_CHARS), naming the sheet and row it stopped at:
a sheet of a million rows costs the time of the rows that fit, not of the million.
"""
from __future__ import annotations

import csv
import datetime
import re
import zipfile
from pathlib import Path

from .cleaning import normalise
from .document import Document, PageText, ReadError, characters_capped

ROW_WINDOW = 100
# Rows looked at for a header before a sheet is taken to have none.
HEADER_SCAN_ROWS = 10
# Excel's own limit; an ODS row may claim to repeat a cell far beyond it.
MAX_COLUMNS = 16_384
MAX_CELL_CHARS = 2_000
_NUMBER_LIKE = re.compile(r"^[-+(]?[\d\s.,:/%€$£¥)-]+$")


def format_value(value, number_format: str = "") -> str:
    """A cell's value as a person reads it: 30% not 0.3, 253.19 not 253.19000000000003, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if "%" in number_format:
            return f"{value * 100:.10g}%"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}" if isinstance(value, float) else str(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    text = " ".join(normalise(str(value)).split())
    return text[:MAX_CELL_CHARS]


def _is_label(cell: str) -> bool:
    return bool(cell) and not _NUMBER_LIKE.match(cell)


def _header_like(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) >= 2 and all(_is_label(c) for c in filled)


def _fill_merged(cells: list[str]) -> list[str]:
    """A header row with merged cells: each gap takes the label on its left."""
    filled, last = [], ""
    for cell in cells:
        last = cell or last
        filled.append(last)
    return filled


class WorkbookText:
    """Collects a workbook's sheets and rows as page texts, within a character budget.

    Readers call `sheet()` for each sheet in tab order and `row()` for each of its rows; `row`
    returns False once the budget is spent, and the reader stops.
    """

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.pages: list[PageText] = []
        self.warnings: list[str] = []
        self.total = 0
        self.full = False
        self.sheet_number = 0
        self._left_out = ""  # where reading stopped, once the budget is spent
        self._name = ""
        self._heading = ""
        self._pending: list[tuple[int, list[str]]] = []  # rows before the header is decided
        self._header: list[str] | None = None
        self._header_rows: list[list[str]] = []  # as they stand in the sheet, to skip their repeats
        self._header_decided = False
        self._lines: list[str] = []
        self._window: list[int] = []  # first and last row of the open window
        self._sheet_pages = 0

    def sheet(self, name: str, hidden: bool = False) -> None:
        self._finish_sheet()
        self.sheet_number += 1
        self._name = name or f"Sheet{self.sheet_number}"
        self._heading = f"{self._name} (hidden sheet)" if hidden else self._name
        self._pending, self._header, self._header_rows, self._header_decided = [], None, [], False
        self._sheet_pages = 0

    def row(self, number: int, cells: list[str]) -> bool:
        """Add one row (1-based `number`, cells as text); False once the character budget is spent."""
        if self.full:
            return False
        end = len(cells)
        while end and not cells[end - 1]:
            end -= 1
        if not end:
            return True
        cells = cells[:end]
        if not self._header_decided:
            self._pending.append((number, cells))
            self._decide_header()
            return not self.full
        self._emit(number, cells)
        return not self.full

    def _decide_header(self, at_end: bool = False) -> None:
        rows = self._pending
        header_at = next((i for i, (_, cells) in enumerate(rows) if _header_like(cells)), None)
        if header_at is None:
            if len(rows) < HEADER_SCAN_ROWS and not at_end:
                return
        elif header_at + 1 >= len(rows) and not at_end:
            return  # wait for the row under it: a second header row or the first data row
        self._header_decided = True
        self._pending = []
        if header_at is None or header_at + 1 == len(rows):  # no header, or a header over nothing: plain rows
            for number, cells in rows:
                self._emit(number, cells)
            return
        for number, cells in rows[:header_at]:  # a title or a note above the table
            self._emit(number, cells)
        header = rows[header_at][1]
        self._header_rows = [header]
        rest = rows[header_at + 1:]
        first = next(i for i, cell in enumerate(header) if cell)
        if rest and _header_like(rest[0][1]) and any(
                cell and i > first and (i >= len(header) or not header[i]) for i, cell in enumerate(rest[0][1])):
            # Two header rows, the upper one with merged cells: "Price" over "Unit" and "Total".
            sub = rest[0][1]
            self._header_rows.append(sub)
            width = max(len(header), len(sub))
            top = _fill_merged(header + [""] * (width - len(header)))
            sub = sub + [""] * (width - len(sub))
            header = [f"{t} / {s}" if t and s and t != s else (t or s) for t, s in zip(top, sub)]
            rest = rest[1:]
        elif "" in header[first:]:
            header = _fill_merged(header)
        self._header = header
        for number, cells in rest:
            self._emit(number, cells)

    def _line(self, cells: list[str]) -> str:
        header = self._header
        if not header:
            return " | ".join(c for c in cells if c)
        if cells in self._header_rows:
            return ""  # the header repeated further down (a printed page's header row)
        parts = []
        for index, cell in enumerate(cells):
            if not cell:
                continue
            label = header[index] if index < len(header) else ""
            parts.append(f"{label}: {cell}" if label and label != cell else cell)
        return " · ".join(parts)

    def _emit(self, number: int, cells: list[str]) -> None:
        if self.full:
            return
        line = self._line(cells)
        if not line:
            return
        if self.total + len(line) + 1 > self.max_chars:
            self._stop_at(number)
            return
        self.total += len(line) + 1
        if not self._window:
            self._window = [number, number]
        self._window[1] = number
        self._lines.append(line)
        if len(self._lines) >= ROW_WINDOW:
            self._close_window()

    def _close_window(self) -> None:
        if self._lines:
            first, last = self._window
            self.pages.append(PageText(self.sheet_number, "\n".join(self._lines), f"{self._heading} · rows {first}-{last}"))
            self._sheet_pages += 1
        self._lines, self._window = [], []

    def _finish_sheet(self) -> None:
        if not self._header_decided and self._pending:
            self._decide_header(at_end=True)
        self._close_window()
        if self._sheet_pages == 1:  # one window: the sheet's name says it all
            self.pages[-1].heading = self._heading

    def _stop_at(self, number: int) -> None:
        self.full = True
        self._close_window()
        self._left_out = f"sheet {self.sheet_number} ({self._name}) from row {number:,} on"

    def document(self, kind: str, title: str, sheets_total: int | None = None) -> Document:
        """The workbook as a Document; ReadError when no sheet holds anything."""
        if not self.full:
            self._finish_sheet()
        if self.full:
            left_out = self._left_out
            if sheets_total and sheets_total > self.sheet_number:
                later = range(self.sheet_number + 1, sheets_total + 1)
                left_out += f" and sheet{'s' if len(later) > 1 else ''} " + (
                    f"{later[0]}-{later[-1]}" if len(later) > 1 else f"{later[0]}")
            self.warnings.append(characters_capped(self.max_chars, left_out))
        if not self.pages:
            raise ReadError("no extractable text (empty workbook?)")
        return Document(kind=kind, title=title, pages=self.pages, warnings=self.warnings)


# -- XLSX / XLSM ----------------------------------------------------------------------------------

def read_xlsx(path: Path, max_chars: int, kind: str = "xlsx") -> Document:
    """Cell values as last computed by Excel (not formulas), every worksheet, hidden ones too."""
    import warnings

    import openpyxl

    warnings.filterwarnings("ignore", module="openpyxl")  # "date out of range" and the like: the cell says #VALUE!
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
        raise ReadError(f"corrupt Excel workbook ({type(exc).__name__}: {str(exc)[:120]})") from None
    except Exception as exc:  # XML errors of a damaged part, openpyxl's own refusals
        raise ReadError(f"corrupt Excel workbook ({type(exc).__name__}: {str(exc)[:120]})") from None
    text = WorkbookText(max_chars)
    try:
        sheets = workbook.worksheets
        for sheet in sheets:
            text.sheet(sheet.title, hidden=getattr(sheet, "sheet_state", "visible") != "visible")
            sheet.reset_dimensions()  # the stored dimension can claim a million empty rows
            for number, row in enumerate(sheet.iter_rows(), start=1):
                cells = [format_value(cell.value, getattr(cell, "number_format", "") or "") for cell in row[:MAX_COLUMNS]]
                if not text.row(number, cells):
                    break
            if text.full:
                break
        title = (workbook.properties.title or "").strip() if workbook.properties else ""
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, SyntaxError) as exc:  # SyntaxError: XML ParseError
        raise ReadError(f"corrupt Excel workbook ({type(exc).__name__}: {str(exc)[:120]})") from None
    finally:
        workbook.close()
    return text.document(kind, title or path.stem.replace("_", " "), len(sheets))


# -- ODS ------------------------------------------------------------------------------------------

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T_TABLE, _T_ROW = f"{{{_TABLE}}}table", f"{{{_TABLE}}}table-row"
_T_CELL, _T_COVERED = f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"
_T_NAME = f"{{{_TABLE}}}name"
_T_COLS_REPEATED, _T_ROWS_REPEATED = f"{{{_TABLE}}}number-columns-repeated", f"{{{_TABLE}}}number-rows-repeated"
_TEXT_P = f"{{{_TEXT}}}p"
_ANNOTATION = f"{{{_OFFICE}}}annotation"


def _repeat(element, attribute: str) -> int:
    value = element.get(attribute, "1")
    return max(1, min(int(value), MAX_COLUMNS)) if value.isdigit() else 1


def _cell_text(cell) -> str:
    """The cell as displayed: its paragraphs (LibreOffice writes the formatted value there)."""
    parts = []
    for paragraph in cell.iter(_TEXT_P):
        parts.append("".join(paragraph.itertext()))
    for note in cell.iter(_ANNOTATION):  # comments are not the cell's value
        for paragraph in note.iter(_TEXT_P):
            text = "".join(paragraph.itertext())
            if text in parts:
                parts.remove(text)
    return format_value(" ".join(parts))


def _ods_cells(row) -> list[str]:
    cells: list[str] = []
    for cell in row:
        if cell.tag not in (_T_CELL, _T_COVERED):
            continue
        value = _cell_text(cell)
        repeat = _repeat(cell, _T_COLS_REPEATED)
        if not value:  # trailing empty cells are often repeated to the last column
            repeat = min(repeat, MAX_COLUMNS - len(cells))
        cells.extend([value] * min(repeat, MAX_COLUMNS - len(cells)))
        if len(cells) >= MAX_COLUMNS:
            break
    return cells


def read_ods(path: Path, max_chars: int, max_uncompressed_mb: int, max_entries: int) -> Document:
    """An OpenDocument spreadsheet, its content.xml parsed as it inflates (no DTDs, no entities)."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    from .odf import open_package

    text = WorkbookText(max_chars)
    with open_package(path, max_uncompressed_mb, max_entries) as archive:
        try:
            with archive.open("content.xml") as content:
                number, open_elements = 0, []
                for event, element in iterparse(content, events=("start", "end")):
                    if event == "start":
                        open_elements.append(element)
                        if element.tag == _T_TABLE:
                            text.sheet(element.get(_T_NAME, ""))
                            number = 0
                        continue
                    open_elements.pop()
                    if element.tag != _T_ROW:
                        continue
                    repeat, cells = _repeat(element, _T_ROWS_REPEATED), _ods_cells(element)
                    if any(cells):
                        for _ in range(repeat):
                            number += 1
                            if not text.row(number, list(cells)):
                                break
                    else:
                        number += repeat
                    if open_elements:  # a row read is dropped, so memory does not grow with the sheet
                        open_elements[-1].remove(element)
                    if text.full:
                        break
        except (ParseError, DefusedXmlException) as exc:
            raise ReadError(f"corrupt OpenDocument file ({type(exc).__name__}: {str(exc)[:120]})") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ReadError(f"corrupt OpenDocument file ({str(exc)[:120]})") from None
    return text.document("ods", path.stem.replace("_", " "))


# -- CSV / TSV ------------------------------------------------------------------------------------

def read_csv(path: Path, max_chars: int) -> Document:
    """A comma-, semicolon- or tab-separated file as a one-sheet workbook named after the file."""
    from .text import text_encoding

    encoding = text_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        if path.suffix.lower() == ".tsv":
            dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab
        else:
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
        text = WorkbookText(max_chars)
        text.sheet(path.stem)
        try:
            for number, row in enumerate(csv.reader(handle, dialect), start=1):
                if not text.row(number, [format_value(cell) for cell in row[:MAX_COLUMNS]]):
                    break
        except csv.Error as exc:  # a field beyond csv's limit (128 KB): a binary file, or no quotes closed
            raise ReadError(f"not a readable CSV file ({exc})") from None
    return text.document("csv", path.stem.replace("_", " "))

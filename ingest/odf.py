"""OpenDocument reader: ODT split into sections at headings, ODP one page per slide.

content.xml is parsed directly with defusedxml (no DTDs, no entity expansion): it is one XML file
in a ZIP that sniff.check_zip bounds, and walking its tree ourselves keeps table cells apart and
reaches the text in grouped shapes and speaker notes, which a plain text export flattens or drops.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from .cleaning import clean_block
from .document import Document, PageText, ReadError, SectionBuilder
from .pptx import check_slides, slide_page
from .sniff import check_zip

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _tag(qualified: str) -> str:
    prefix, name = qualified.split(":")
    return f"{{{_NS[prefix]}}}{name}"


TEXT_P, TEXT_H, TEXT_S, TEXT_TAB, TEXT_BREAK = (
    _tag("text:p"), _tag("text:h"), _tag("text:s"), _tag("text:tab"), _tag("text:line-break"))
TEXT_NOTE, TEXT_NOTE_BODY = _tag("text:note"), _tag("text:note-body")
TABLE, TABLE_ROW, TABLE_CELL = _tag("table:table"), _tag("table:table-row"), _tag("table:table-cell")
DRAW_PAGE, DRAW_FRAME = _tag("draw:page"), _tag("draw:frame")
PRESENTATION_NOTES = _tag("presentation:notes")
PRESENTATION_CLASS = _tag("presentation:class")
STYLE_NAME, PARENT_STYLE = _tag("text:style-name"), _tag("style:parent-style-name")

# Generated or hidden content: tables of contents repeat the headings, tracked changes hold
# deleted text, comments and alt text are not the document's own words.
_SKIPPED = {
    _tag(name) for name in (
        "text:tracked-changes", "text:table-of-content", "text:alphabetical-index",
        "text:illustration-index", "text:table-index", "text:object-index", "text:user-index",
        "text:bibliography", "text:note-citation", "office:annotation", "office:annotation-end",
        "text:sequence-decls", "text:variable-decls", "text:user-field-decls",
        "svg:title", "svg:desc", "office:forms", "draw:page-thumbnail",
    )
}

# Slide and notes placeholders for page numbers, dates, headers and footers: "<number>" and
# the same footer on every slide say nothing about the slide.
_MASTER_FIELDS = {"page-number", "date-time", "footer", "header"}
# Template titles that office suites leave in the metadata.
_DEFAULT_TITLES = {
    "presentation", "powerpoint presentation", "presentación de powerpoint", "presentazione di powerpoint",
    "présentation powerpoint", "apresentação do powerpoint", "powerpoint-präsentation", "presentazione",
}


def open_package(path: Path, max_uncompressed_mb: int, max_entries: int) -> zipfile.ZipFile:
    """The OpenDocument container, checked: within the zip-bomb limits, not encrypted, with a content.xml."""
    archive = check_zip(path, max_uncompressed_mb, max_entries)
    try:
        names = set(archive.namelist())
        if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
            raise ReadError("encrypted, password required")
        if "content.xml" not in names:
            raise ReadError("corrupt OpenDocument file (no content.xml)")
    except BaseException:
        archive.close()
        raise
    return archive


def _load_parts(path: Path, max_uncompressed_mb: int, max_entries: int) -> tuple[Element, Element | None]:
    """content.xml and meta.xml (when present) as element trees; ReadError when unreadable."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    with open_package(path, max_uncompressed_mb, max_entries) as archive:
        names = set(archive.namelist())
        try:
            content = fromstring(archive.read("content.xml"))
            meta = fromstring(archive.read("meta.xml")) if "meta.xml" in names else None
        except (ParseError, DefusedXmlException) as exc:
            raise ReadError(f"corrupt OpenDocument file ({type(exc).__name__}: {str(exc)[:120]})") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # damaged deflate stream, CRC
            raise ReadError(f"corrupt OpenDocument file ({str(exc)[:120]})") from None
    return content, meta


def _inline_text(element: Element, nested_blocks: list[str]) -> str:
    """The text of one paragraph; text boxes and footnotes inside it go to `nested_blocks`."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == TEXT_S:
            count = child.get(_tag("text:c"), "1")
            parts.append(" " * (min(int(count), 100) if count.isdigit() else 1))
        elif child.tag == TEXT_TAB:
            parts.append("\t")
        elif child.tag == TEXT_BREAK:
            parts.append("\n")
        elif child.tag == TEXT_NOTE:
            body = child.find(TEXT_NOTE_BODY)
            if body is not None:
                nested_blocks.extend(_blocks(body))
        elif child.tag == DRAW_FRAME or child.tag.startswith(f"{{{_NS['draw']}}}"):
            nested_blocks.extend(_blocks(child))
        elif child.tag not in _SKIPPED:
            parts.append(_inline_text(child, nested_blocks))
        parts.append(child.tail or "")
    return "".join(parts)


def _rows(element: Element):
    """The table's own rows, through header rows and row groups but not into nested tables."""
    for child in element:
        if child.tag == TABLE_ROW:
            yield child
        elif child.tag != TABLE:
            yield from _rows(child)


def _table_lines(table: Element) -> list[str]:
    """One line per row, cells joined by ' | ', repeated (merged or empty) cells kept once."""
    lines = []
    for row in _rows(table):
        cells = []
        for cell in row.findall(TABLE_CELL):
            cells.append(" ".join(clean_block("\n".join(_blocks(cell))).split("\n")))
        unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
        if unique:
            lines.append(" | ".join(unique))
    return lines


def _blocks(element: Element) -> list[str]:
    """Every paragraph, heading, list item and table row under `element`, in document order."""
    blocks: list[str] = []
    for child in element:
        if child.tag in _SKIPPED or child.tag == PRESENTATION_NOTES:
            continue
        if child.get(PRESENTATION_CLASS) in _MASTER_FIELDS:
            continue
        if child.tag in (TEXT_P, TEXT_H):
            nested: list[str] = []
            blocks.append(_inline_text(child, nested))
            blocks.extend(nested)
        elif child.tag == TABLE:
            blocks.extend(_table_lines(child))
        else:  # lists, sections, frames, text boxes, groups, shapes
            blocks.extend(_blocks(child))
    return [block for block in blocks if block.strip()]


def _meta_title(meta: Element | None) -> str:
    if meta is None:
        return ""
    element = meta.find(f".//{_tag('dc:title')}")
    return clean_block(element.text or "").replace("\n", " ") if element is not None else ""


def _title_styles(content: Element) -> set[str]:
    """Names of the automatic paragraph styles that derive from the 'Title' style."""
    names = {"Title"}
    for style in content.iter(_tag("style:style")):
        if style.get(PARENT_STYLE) == "Title":
            names.add(style.get(_tag("style:name")) or "")
    return names


def _read_text(content: Element, meta: Element | None, path: Path) -> Document:
    body = content.find(f"{_tag('office:body')}/{_tag('office:text')}")
    if body is None:
        raise ReadError("corrupt OpenDocument file (no text body)")
    title_styles = _title_styles(content)
    sections = SectionBuilder(clean_block)
    title = ""

    def walk(element: Element):
        nonlocal title
        for child in element:
            if child.tag in _SKIPPED:
                continue
            if child.tag == TEXT_H:
                nested: list[str] = []
                text = clean_block(_inline_text(child, nested)).replace("\n", " ")
                if text:
                    sections.open(text, text)
                sections.add(*nested)
            elif child.tag == TEXT_P:
                nested = []
                text = _inline_text(child, nested)
                if child.get(STYLE_NAME) in title_styles and clean_block(text):
                    # The document's title opens a section of its own, as in Word files.
                    sections.open(clean_block(text).replace("\n", " "))
                    title = title or sections.heading
                sections.add(text, *nested)
            elif child.tag == TABLE:
                sections.add(*_table_lines(child))
            else:  # lists, sections and frames hold headings and paragraphs of their own
                walk(child)

    walk(body)
    pages = sections.finish("no extractable text (empty document?)")
    title = _meta_title(meta) or title or pages[0].heading or path.stem.replace("_", " ")
    return Document(kind="odt", title=title, pages=pages)


def _read_presentation(content: Element, meta: Element | None, path: Path) -> Document:
    body = content.find(f"{_tag('office:body')}/{_tag('office:presentation')}")
    if body is None:
        raise ReadError("corrupt OpenDocument file (no presentation body)")
    pages: list[PageText] = []
    for number, slide in enumerate(body.iter(DRAW_PAGE), start=1):
        title = ""
        for frame in slide.iter():
            if frame.get(PRESENTATION_CLASS) == "title":
                title = clean_block("\n".join(_blocks(frame))).replace("\n", " ")
                break
        notes_element = slide.find(PRESENTATION_NOTES)
        notes = "\n".join(_blocks(notes_element)) if notes_element is not None else ""
        pages.append(slide_page(number, title, list(_blocks(slide)), notes))
    check_slides(pages)
    title = _meta_title(meta)
    if title.lower() in _DEFAULT_TITLES:
        title = ""
    title = title or next((p.heading for p in pages if p.heading), "") or path.stem.replace("_", " ")
    return Document(kind="odp", title=title, pages=pages)


def read(path: Path, kind: str, max_uncompressed_mb: int, max_entries: int) -> Document:
    """Read an ODT ("odt") or ODP ("odp") file; raises ReadError with the reason when it cannot.

    The container is checked against the zip-bomb limits (PXS_ZIP_MAX_MB, PXS_ZIP_MAX_ENTRIES)
    before content.xml is inflated.
    """
    content, meta = _load_parts(Path(path), max_uncompressed_mb, max_entries)
    try:
        if kind == "odp":
            return _read_presentation(content, meta, Path(path))
        return _read_text(content, meta, Path(path))
    except RecursionError:
        raise ReadError("corrupt OpenDocument file (elements nested too deeply)") from None

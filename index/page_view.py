"""Where a passage stands on its page: the page's picture, and the passage's lines on it.

A result names a page of a file. Its picture comes from a PDF: the file itself, or for slides and
word-processor files the rendition made when they were indexed (renditions.py), where slide N is
page N and a Word section is found on whichever page holds its words. The passage is located by
its words, not its characters: the page's words (pdfium's text layer, or Tesseract's word boxes
on a scanned page) are aligned with the passage's (difflib), so spacing, hyphenation, ligatures
and quotes that the readers cleaned up do not matter, and the runs that match become rectangles.

Nothing here raises for a bad page: a `PageView` says why it has no picture or no highlight.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from ingest import NOTES_LABEL, RENDERED_KINDS, SLIDE_KINDS

from .renditions import rendition

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Of a passage's words, at least this share must be found in order on the page for a highlight.
MIN_FOUND = 0.5
# In a long passage, matching runs shorter than this are chance (the same "the" elsewhere).
MIN_RUN = 3
# Tesseract reads a page rendered at this many pixels per inch.
OCR_DPI = 200

# PDFium is not thread-safe, not even on different documents (pypdfium2's "Incompatibility with
# Threading"), and the app's sessions draw their cards' pages in their own threads: two at once
# crashed the whole app with a general protection fault in libpdfium (bench/load.py, 30 sessions
# and an upload; every session's connection dropped). So every pdfium call of a process goes
# through this lock, and every pdfium object is closed under it (a finaliser run by the garbage
# collector on another thread would call pdfium unlocked). Reentrant: page_view calls helpers.
PDFIUM_LOCK = threading.RLock()

Box = tuple[float, float, float, float]  # left, top, right, bottom
NOT_LOCATED = "the passage could not be located on the page"
IN_NOTES = "the passage is in the slide's speaker notes, which the slide does not show"


@dataclass
class PageView:
    """A result's page as a picture: `pdf` page `page` (1-based); `boxes` the passage on it as
    fractions of the shown page (top-left origin, for drawing over the picture); `rects` the same
    in the PDF's own coordinates (for an annotation). `why_not` says what is missing and why."""

    pdf: Path | None = None
    page: int | None = None
    boxes: list[Box] = field(default_factory=list)
    rects: list[Box] = field(default_factory=list)
    why_not: str = ""


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def picture_pdf(index_dir: Path, kind: str, path: Path, sha256: str) -> tuple[Path | None, str]:
    """(the PDF that pictures a file's pages, '') or (None, why there is none)."""
    if kind == "pdf":
        return (Path(path), "") if Path(path).is_file() else (None, "the file is no longer in the library")
    if kind not in RENDERED_KINDS:
        return None, "a file of this kind has no pages to picture"
    return rendition(index_dir, sha256)


def page_view(index_dir: Path, kind: str, path: Path, sha256: str, page: int | None, text: str,
              ocr: bool = False, ocr_languages: str = "eng") -> PageView:
    """The page a passage of the file at `path` is on, and its place there."""
    pdf, why = picture_pdf(index_dir, kind, path, sha256)
    if pdf is None:
        return PageView(why_not=why)
    if kind in SLIDE_KINDS:  # the speaker notes are in the passage, not on the slide
        text = text.split(NOTES_LABEL)[0]
        if not words(text):
            return PageView(pdf=pdf, page=page, why_not=IN_NOTES)
    with PDFIUM_LOCK:  # the whole look-up: pdfium calls but for the alignment (ms) and OCR (rare)
        return _page_view(pdf, kind, page, text, ocr, ocr_languages)


def _page_view(pdf: Path, kind: str, page: int | None, text: str, ocr: bool, ocr_languages: str) -> PageView:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(pdf))
    except Exception as exc:  # noqa: BLE001 - pdfium's errors are many; each means "no picture"
        return PageView(why_not=f"the page cannot be drawn ({exc})")
    try:
        if page is None:
            return _best_page(document, pdf, text)
        if not 1 <= page <= len(document):
            return PageView(why_not=f"the picture has no page {page}")
        view, _ = _locate(document, pdf, page, text)
        if not view.boxes and ocr:
            view, _ = _locate_by_ocr(document, pdf, page, text, ocr_languages)
        if not view.boxes and kind in SLIDE_KINDS:  # a passage that continues the notes
            view.why_not = f"{NOT_LOCATED}: it may be in the slide's speaker notes, which the slide does not show"
        return view
    finally:
        document.close()


def _best_page(document, pdf: Path, text: str) -> PageView:
    """A section without a page number (Word, OpenDocument text): the page that holds most of it."""
    best = PageView(pdf=pdf, page=1, why_not="the passage could not be located on the document's pages")
    best_found = 0.0
    for number in range(1, len(document) + 1):
        view, found = _locate(document, pdf, number, text)
        if found > best_found:
            best, best_found = view, found
        if found > 0.9:
            break
    return best


def _locate(document, pdf: Path, page: int, text: str) -> tuple[PageView, float]:
    """The passage on one page through its text layer; (view, share of its words found)."""
    pdf_page = document[page - 1]
    textpage = pdf_page.get_textpage()
    try:
        page_text = textpage.get_text_range()
        if len(page_text) != textpage.count_chars():  # offsets would not be character indices
            return PageView(pdf=pdf, page=page, why_not=NOT_LOCATED), 0.0
        spans = [m.span() for m in _WORD.finditer(page_text)]
        runs, found = _align([page_text[a:b].casefold() for a, b in spans], words(text))
        rects: list[Box] = []
        for first, last in runs:
            start, end = spans[first][0], spans[last][1]
            for index in range(textpage.count_rects(start, end - start)):
                left, bottom, right, top = textpage.get_rect(index)
                rects.append((left, bottom, right, top))
    finally:
        textpage.close()
    return _view(pdf_page, pdf, page, rects, found), found


def _locate_by_ocr(document, pdf: Path, page: int, text: str, languages: str) -> tuple[PageView, float]:
    """A scanned page: Tesseract's word boxes stand in for the text layer."""
    try:
        import pytesseract

        pdf_page = document[page - 1]
        scale = OCR_DPI / 72
        bitmap = pdf_page.render(scale=scale)
        image = bitmap.to_pil().copy()  # its own pixels: the bitmap is closed here, under the lock
        bitmap.close()
        data = pytesseract.image_to_data(image, lang=languages, output_type=pytesseract.Output.DICT, timeout=60)
    except Exception as exc:  # noqa: BLE001 - no Tesseract, a timeout, a damaged page
        return PageView(pdf=pdf, page=page, why_not=f"the scanned page's words could not be located ({exc})"), 0.0
    boxes, page_words = [], []
    for word, left, top, width, height in zip(data["text"], data["left"], data["top"], data["width"], data["height"]):
        for piece in words(word):
            page_words.append(piece)
            boxes.append((left, top, left + width, top + height))
    runs, found = _align(page_words, words(text))
    width, height = image.size
    fractions = [
        (min(boxes[i][0] for i in range(a, b + 1)) / width, min(boxes[i][1] for i in range(a, b + 1)) / height,
         max(boxes[i][2] for i in range(a, b + 1)) / width, max(boxes[i][3] for i in range(a, b + 1)) / height)
        for a, b in _lines(runs, boxes)
    ]
    rects = [_to_pdf(pdf_page, box) for box in fractions]
    return _view(pdf_page, pdf, page, rects, found, fractions), found


def _lines(runs: list[tuple[int, int]], boxes: list[Box]) -> list[tuple[int, int]]:
    """Split runs of OCR words where a new line starts (a word left of the one before it)."""
    lines = []
    for first, last in runs:
        start = first
        for i in range(first + 1, last + 1):
            if boxes[i][0] < boxes[i - 1][0]:
                lines.append((start, i - 1))
                start = i
        lines.append((start, last))
    return lines


def _align(page_words: list[str], passage_words: list[str]) -> tuple[list[tuple[int, int]], float]:
    """The runs of `page_words` (first, last index) that match the passage in order, and the
    share of the passage's words they hold."""
    if not passage_words or not page_words:
        return [], 0.0
    matcher = SequenceMatcher(None, page_words, passage_words, autojunk=False)
    shortest = MIN_RUN if len(passage_words) >= 4 * MIN_RUN else 1
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= shortest]
    found = sum(b.size for b in blocks) / len(passage_words)
    if found < MIN_FOUND:
        return [], found
    return [(b.a, b.a + b.size - 1) for b in blocks], found


def _view(pdf_page, pdf: Path, page: int, rects: list[Box], found: float, boxes: list[Box] | None = None) -> PageView:
    if not rects:
        return PageView(pdf=pdf, page=page, why_not=NOT_LOCATED)
    boxes = boxes if boxes is not None else [_to_fraction(pdf_page, rect) for rect in rects]
    return PageView(pdf=pdf, page=page, boxes=boxes, rects=rects)


# pdfium maps between the page's coordinates and a device of this many units a side.
_DEVICE = 10_000


def _to_fraction(pdf_page, rect: Box) -> Box:
    """A rectangle in PDF coordinates (left, bottom, right, top) as fractions of the shown page."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    xs, ys = [], []
    for x, y in ((rect[0], rect[1]), (rect[2], rect[3])):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(pdf_page.raw, 0, 0, _DEVICE, _DEVICE, 0, x, y, dx, dy)
        xs.append(dx.value / _DEVICE)
        ys.append(dy.value / _DEVICE)
    return min(xs), min(ys), max(xs), max(ys)


def _to_pdf(pdf_page, box: Box) -> Box:
    """Fractions of the shown page as a rectangle in PDF coordinates (left, bottom, right, top)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    xs, ys = [], []
    for fx, fy in ((box[0], box[1]), (box[2], box[3])):
        px, py = ctypes.c_double(), ctypes.c_double()
        pdfium_c.FPDF_DeviceToPage(pdf_page.raw, 0, 0, _DEVICE, _DEVICE, 0, int(fx * _DEVICE), int(fy * _DEVICE), px, py)
        xs.append(px.value)
        ys.append(py.value)
    return min(xs), min(ys), max(xs), max(ys)


def render_page(pdf: Path, page: int, width_px: int, out: Path) -> None:
    """Draw page `page` of `pdf`, `width_px` wide, into the image file `out` (format by suffix)."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(str(pdf))
        try:
            pdf_page = document[page - 1]
            width, _ = pdf_page.get_size()
            bitmap = pdf_page.render(scale=width_px / max(width, 1.0))
            image = bitmap.to_pil().copy()
            bitmap.close()
        finally:
            document.close()
    staged = out.with_name(f".{out.name}.part")  # encoding the picture needs no pdfium
    image.save(staged, format=out.suffix.lstrip(".").upper().replace("JPG", "JPEG"), quality=80)
    staged.replace(out)


# A line's box from the text layer ends at its last glyph's edge; the mark reaches a little
# beyond it, as a reader's own highlighter does, so that no viewer's rounding cuts the last letter.
MARK_PAD = 0.15  # of the line's height, on each side


def mark_quads(rects: list[Box]) -> list[Box]:
    """The boxes a highlight paints: each line's box (left, bottom, right, top), padded."""
    padded = []
    for left, bottom, right, top in rects:
        pad = MARK_PAD * (top - bottom)
        padded.append((left - pad, bottom - pad, right + pad, top + pad))
    return padded


def annotated_copy(pdf: Path, page: int, rects: list[Box], out: Path) -> None:
    """A copy of `pdf` whose page `page` carries a highlight annotation over `rects`.

    The annotation brings its own appearance (a yellow wash, blended by multiplication, over each
    line's box): a viewer that finds none makes one from the quadpoints by its own rules, and
    Chromium's, pdf.js's and Acrobat's differ. The page's fonts of the PDF standard 14 that do not
    say their widths are given them (`_give_core_fonts_widths`). The quadpoints are in Acrobat's order (upper left,
    upper right, lower left, lower right), which all three read, for viewers that list highlights.
    Written as an incremental update: the original bytes, then the annotation, so the copy costs
    one file copy whatever the document's size.
    """
    from pypdf import PdfWriter
    from pypdf.annotations import Highlight
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

    writer = PdfWriter(str(pdf), incremental=True)
    _give_core_fonts_widths(writer.pages[page - 1])
    boxes = mark_quads(rects)
    quads = ArrayObject()
    for left, bottom, right, top in boxes:
        quads.extend(FloatObject(v) for v in (left, top, right, top, left, bottom, right, bottom))
    bounds = (min(r[0] for r in boxes), min(r[1] for r in boxes), max(r[2] for r in boxes), max(r[3] for r in boxes))
    appearance = DecodedStreamObject()
    appearance.set_data(("/Mark gs 1 0.831 0 rg\n" + "".join(
        f"{left:.2f} {bottom:.2f} {right - left:.2f} {top - bottom:.2f} re f\n" for left, bottom, right, top in boxes
    )).encode())
    appearance.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject(FloatObject(v) for v in bounds),
        NameObject("/Resources"): DictionaryObject({NameObject("/ExtGState"): DictionaryObject({
            NameObject("/Mark"): DictionaryObject({NameObject("/Type"): NameObject("/ExtGState"),
                                                   NameObject("/BM"): NameObject("/Multiply")})})}),
    })
    annotation = Highlight(rect=bounds, quad_points=quads, highlight_color="ffd400", printing=True)
    annotation[NameObject("/AP")] = DictionaryObject({NameObject("/N"): writer._add_object(appearance)})
    writer.add_annotation(page - 1, annotation)
    staged = out.with_name(f".{out.name}.part")
    with open(staged, "wb") as handle:
        writer.write(handle)
    staged.replace(out)


def _give_core_fonts_widths(pdf_page) -> None:
    """Give the page's unembedded standard fonts (Helvetica, Times, Courier) their standard widths.

    Such a font without /Widths (ReportLab writes them so) is drawn by each viewer in a font of
    its own: Chromium's with the system's DejaVu Sans, some 10% wider than Helvetica, so a line
    ran past the highlight laid over the text layer's Helvetica positions ("a|verage"). With the
    widths, every viewer places each letter where the text layer says. Only WinAnsiEncoding fonts:
    other encodings keep what they had.
    """
    from pypdf.generic import ArrayObject, FloatObject, NameObject, NumberObject
    from pypdf.generic._font import Font  # pypdf's copy of the 14 core AFM metrics (pinned 7.1.1)

    fonts = pdf_page.get("/Resources", {}).get_object().get("/Font", {}) if "/Resources" in pdf_page else {}
    for reference in fonts.get_object().values() if fonts else []:
        font = reference.get_object()
        name = str(font.get("/BaseFont", "")).lstrip("/")
        if (font.get("/Subtype") != "/Type1" or "/Widths" in font or "/FontDescriptor" in font
                or font.get("/Encoding") != "/WinAnsiEncoding"):
            continue
        try:
            widths = Font.from_core_font_name(name).character_widths
        except KeyError:  # not one of the 14
            continue
        font[NameObject("/FirstChar")] = NumberObject(32)
        font[NameObject("/LastChar")] = NumberObject(255)
        font[NameObject("/Widths")] = ArrayObject(
            FloatObject(widths.get(chr(code), widths["default"])) for code in range(32, 256))

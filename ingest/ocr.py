"""OCR for PDF pages without a text layer: pypdfium2 renders the page, Tesseract reads it.

`page_reader(path, settings)` gives pdf.read a callback for its image-only pages, or None where
Tesseract is not installed (pdf.read then reports the pages as needing OCR). The PDF is opened
with pdfium only when the first image-only page is met, and once per file.

Speed matters: a scanned tender of 40 pages must fit in the reader's time limit. Four decisions
keep a page at 1-4 s on two cores: Tesseract runs single-threaded (its OpenMP threads make it
several times slower, and the worker already reads two files at once); blank pages are not sent
to Tesseract at all; the file is read in its own language plus English (known from its typed
pages, or else from its first OCR'd page) rather than in every configured language (about half
the time), going back to all of them for a page that turns out to be in another language; and OCR stops, with a warning, when the file's
time budget is spent rather than let the whole file time out.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path

import settings as config

from .language import detect_language

RENDER_DPI = 300
# An A0 drawing at 300 dpi is ~140 megapixels; Tesseract gains nothing beyond this size.
MAX_PAGE_PIXELS = 36_000_000
# Share of the file's parse time limit that OCR may use, so the other pages are still returned.
OCR_SHARE_OF_PARSE_TIMEOUT = 0.75
# Words Tesseract is unsure of are mostly specks, stamps and logo fragments.
MIN_WORD_CONFIDENCE = 40
MIN_SHORT_WORD_CONFIDENCE = 60  # words of up to three letters, where noise is most common
# A page with less ink than this (share of dark pixels) is blank: a page number or a speck at most.
BLANK_PAGE_INK = 0.0005
# Enough recognised text to trust a language guess for the rest of the file.
MIN_LETTERS_TO_NARROW = 200

# ISO 639-1 (language.py) -> Tesseract's traineddata names.
TESSERACT_CODES = {
    "en": "eng", "es": "spa", "it": "ita", "pt": "por", "fr": "fra", "de": "deu", "pl": "pol",
    "nl": "nld", "ca": "cat", "ro": "ron", "sv": "swe", "da": "dan", "fi": "fin", "cs": "ces",
    "sk": "slk", "hu": "hun", "el": "ell", "bg": "bul",
}

_HAS_WORD = re.compile(r"[^\W\d_]{2,}|\d{2,}")
# Lone marks Tesseract reads from table borders, underlines and stamp edges.
_NOISE_WORDS = {"_", "|", "||", "~", "¦", "\\", "'", "‘", "’", "`", "°", "«", "»"}


def tesseract_available() -> bool:
    """Whether the Tesseract program that pytesseract would run exists."""
    import pytesseract

    return shutil.which(pytesseract.pytesseract.tesseract_cmd) is not None


def ocr_languages(wanted: str) -> list[str]:
    """The wanted Tesseract languages ("eng+spa") that are installed, in the wanted order.

    Falls back to whatever is installed (English first) when none of the wanted ones is, so a
    machine with only the default data still reads scans.
    """
    import pytesseract

    try:
        installed = [code for code in pytesseract.get_languages() if code != "osd"]
    except Exception:  # a broken installation: report it as OCR being unavailable
        return []
    chosen = [code for code in wanted.split("+") if code and code in installed]
    if chosen:
        return chosen
    return sorted(installed, key=lambda code: code != "eng")[:1]


def page_text_from_words(data: dict) -> str:
    """Rebuild a page's text from Tesseract's word table, leaving out words it is unsure of.

    Lines keep their breaks and blocks are separated by a blank line, so the cleaner can join
    lines into paragraphs as it does for extracted PDF text.
    """
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, confidence, block, paragraph, line in zip(
        data["text"], data["conf"], data["block_num"], data["par_num"], data["line_num"]
    ):
        word = (word or "").strip()
        if not word or word in _NOISE_WORDS:
            continue
        confidence = float(confidence)
        if confidence < MIN_WORD_CONFIDENCE:
            continue
        if len(word) <= 3 and confidence < MIN_SHORT_WORD_CONFIDENCE and not any(ch.isdigit() for ch in word):
            continue
        lines.setdefault((block, paragraph, line), []).append(word)
    out: list[str] = []
    previous_block = None
    for (block, paragraph, _), words in lines.items():
        text = " ".join(words)
        if not _is_real_line(text):
            continue
        if previous_block is not None and (block, paragraph) != previous_block:
            out.append("")
        out.append(text)
        previous_block = (block, paragraph)
    return "\n".join(out).strip()


def is_blank(image) -> bool:
    """Whether a grayscale page image has (almost) no dark pixels."""
    histogram = image.histogram()[:256]
    dark = sum(histogram[:128])
    return dark < BLANK_PAGE_INK * max(1, image.width * image.height)


def _is_real_line(line: str) -> bool:
    """False for lines of pure noise: rules, dots, border fragments ('| — ~ .')."""
    visible = line.replace(" ", "")
    alphanumeric = sum(ch.isalnum() for ch in visible)
    return alphanumeric >= 2 and alphanumeric >= 0.5 * len(visible) and bool(_HAS_WORD.search(line))


class PageOcr:
    """Callable `page_index -> text or None` for one PDF; `warnings` says what OCR could not do."""

    def __init__(self, path: Path, languages: list[str], page_timeout_s: float, budget_s: float, render=None):
        self.path = path
        self._render_image = render  # page_index -> grayscale PIL image; default: pdfium renders the PDF page
        self.languages = languages
        self.page_timeout_s = page_timeout_s
        self.deadline = time.monotonic() + budget_s
        self._warnings: list[str] = []
        self._file_languages: list[str] | None = None  # narrowed after the first readable page
        self._document = None
        self._open_failed = False
        self._out_of_time: list[int] = []
        self._no_text: list[int] = []

    def __call__(self, page_index: int) -> str | None:
        number = page_index + 1
        if self._seconds_left() < 1:
            self._out_of_time.append(number)
            return None
        image = self._render(page_index)
        if image is None:
            return None
        if is_blank(image):  # scans are full of empty backs of pages; Tesseract takes ~2 s on each
            self._no_text.append(number)
            return None
        text = self._recognise(image, self._file_languages or self.languages, number)
        language = TESSERACT_CODES.get(detect_language(text or "") or "")
        if text and self._file_languages and language in self.languages and language not in self._file_languages:
            # A page in another language than the file's first pages: read it with every language.
            if self._seconds_left() >= 1:
                text = self._recognise(image, self.languages, number) or text
            self._file_languages = None
        if text and not self._file_languages:
            self._narrow_to(language, text)
        if text == "":
            self._no_text.append(number)
        return text or None

    def expect_language_of(self, text: str) -> None:
        """Start in the language of the file's typed pages (and English) rather than in all of them.

        A page that turns out to be in another language is read again with every language, as
        after a first OCR'd page (see __call__).
        """
        if self._file_languages is None:
            self._narrow_to(TESSERACT_CODES.get(detect_language(text) or ""), text)

    def _seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def _narrow_to(self, language: str | None, text: str) -> None:
        """Read the next pages in this page's language (and English) when the guess is sound."""
        if language not in self.languages or len(self.languages) <= 2:
            return
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS_TO_NARROW:
            return
        self._file_languages = [language] + (["eng"] if language != "eng" and "eng" in self.languages else [])

    def _open(self):
        if self._document is None and not self._open_failed:
            import pypdfium2

            try:
                self._document = pypdfium2.PdfDocument(str(self.path))
            except Exception as exc:  # pypdf opened it, pdfium may still refuse (odd encryption)
                self._open_failed = True
                self._warnings.append(f"OCR not possible: the PDF could not be rendered ({str(exc)[:120]})")
        return self._document

    def _render(self, page_index: int):
        if self._render_image is not None:
            try:
                return self._render_image(page_index)
            except Exception as exc:  # a damaged frame of a TIFF, a truncated JPEG
                self._warnings.append(f"page {page_index + 1}: could not be decoded for OCR ({str(exc)[:120]})")
                return None
        document = self._open()
        if document is None:
            return None
        try:
            page = document[page_index]
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > MAX_PAGE_PIXELS:
                scale = math.sqrt(MAX_PAGE_PIXELS / max(width * height, 1))
            return page.render(scale=scale, grayscale=True).to_pil()
        except Exception as exc:
            self._warnings.append(f"page {page_index + 1}: could not be rendered for OCR ({str(exc)[:120]})")
            return None

    def _recognise(self, image, languages: list[str], number: int) -> str | None:
        """The page's text ("" when there is none), or None when Tesseract failed or ran out of time."""
        import pytesseract

        timeout_s = max(1.0, min(self.page_timeout_s, self._seconds_left()))
        try:
            data = pytesseract.image_to_data(
                image,
                lang="+".join(languages),
                config="--psm 3",
                timeout=timeout_s,
                output_type=pytesseract.Output.DICT,
            )
        except RuntimeError as exc:  # pytesseract's own timeout
            if "timeout" not in str(exc).lower():
                raise
            self._warnings.append(f"page {number}: OCR stopped after {timeout_s:.0f} s")
            return None
        except pytesseract.TesseractError as exc:
            self._warnings.append(f"page {number}: OCR failed ({str(exc.message)[:120]})")
            return None
        return page_text_from_words(data)

    @property
    def problems(self) -> list[str]:
        """Pages OCR could not read (render failure, Tesseract error, time limit), one line each."""
        from .pdf import page_ranges

        problems = list(self._warnings)
        if self._out_of_time:
            problems.append(f"OCR time limit reached, pages not read: {page_ranges(self._out_of_time)}")
        return problems

    @property
    def warnings(self) -> list[str]:
        """Everything the reader should report: the problems and the pages where OCR found no text."""
        from .pdf import page_ranges

        if not self._no_text:
            return self.problems
        return self.problems + [f"pages without a text layer where OCR found no text: {page_ranges(self._no_text)}"]


def page_reader(path: Path, settings: config.Settings, render=None) -> PageOcr | None:
    """The OCR callback for one PDF's image-only pages, or None where Tesseract is not installed.

    `render` (page index -> grayscale image) replaces pdfium for files that are images already.
    """
    if not tesseract_available():
        return None
    languages = ocr_languages(settings.ocr_languages)
    if not languages:
        return None
    # Tesseract's OpenMP threads cost far more than they bring on a small machine: one dense page
    # took 3.5 s single-threaded against 29 s with its default threads on two cores.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return PageOcr(
        Path(path),
        languages,
        page_timeout_s=settings.ocr_page_timeout_s,
        budget_s=settings.parse_timeout_s * OCR_SHARE_OF_PARSE_TIMEOUT,
        render=render,
    )

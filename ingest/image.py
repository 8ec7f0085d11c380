"""Pictures (JPG, PNG, TIFF): photos of whiteboards, scanned forms, read by OCR, one page per frame.

The same OCR as for scanned PDF pages (ocr.PageOcr: its languages, word filter, blank-page check
and time budget); Pillow decodes the frames instead of pdfium rendering pages. A multi-page TIFF
gives one page per frame; after `ocr_empty_pages` frames in a row without text the rest are not
tried, as for PDFs. Pillow refuses pictures beyond its decompression-bomb limit.
"""
from __future__ import annotations

import math
from pathlib import Path

import settings as config

from .cleaning import clean_page
from .document import Document, PageText, ReadError
from .ocr import MAX_PAGE_PIXELS

_PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}


def _frame(picture, index: int):
    """Frame `index` as a grayscale image of at most MAX_PAGE_PIXELS pixels."""
    picture.seek(index)
    frame = picture.convert("L")
    pixels = frame.width * frame.height
    if pixels > MAX_PAGE_PIXELS:
        scale = math.sqrt(MAX_PAGE_PIXELS / pixels)
        frame = frame.resize((max(1, int(frame.width * scale)), max(1, int(frame.height * scale))))
    return frame


def read(path: Path, settings: config.Settings) -> Document:
    from PIL import Image, UnidentifiedImageError

    from . import ocr
    from .pdf import page_ranges

    try:
        picture = Image.open(path)
        frames = getattr(picture, "n_frames", 1)
        named = "" if path.suffix.lower() in _PICTURE_SUFFIXES else f"a {picture.format} picture named {path.suffix or 'without extension'}: "
    except Image.DecompressionBombError as exc:
        raise ReadError(f"rejected: picture too large to decode safely ({str(exc)[:120]})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ReadError(f"corrupt or unreadable picture ({str(exc)[:120]})") from None
    with picture:
        reader = ocr.page_reader(path, settings, render=lambda index: _frame(picture, index))
        if reader is None:
            raise ReadError("picture — OCR not available (install tesseract-ocr)")
        pages: list[PageText] = []
        not_tried: list[int] = []
        without_text = 0
        for index in range(frames):
            if without_text >= settings.ocr_empty_pages:
                not_tried.append(index + 1)
                continue
            found = reader(index)
            text = clean_page(found) if found else ""
            without_text = 0 if text else without_text + 1
            if text:
                pages.append(PageText(number=index + 1, text=text, ocr=True))
    if not pages:
        problems = reader.problems
        reason = problems[0] if problems else "a picture without legible text"
        raise ReadError(f"{named}no text found by OCR ({reason})")
    warnings = list(reader.warnings)
    if not_tried:
        warnings.append(f"frames not tried by OCR, {settings.ocr_empty_pages} frames in a row before them held no "
                        f"text: {page_ranges(not_tried)}")
    return Document(kind="image", title=path.stem.replace("_", " "), pages=pages, warnings=warnings)

"""The sample library and its gold questions agree with what the product's reader sees.

Every line of bench/gold.jsonl names a document under corpus/, the page(s) or slide(s) that
answer the question, and a short verbatim evidence quote. These tests read each document with
`ingest.read_document` (the same reader the indexer uses) and check that the quote really is on
one of the expected pages, so that a benchmark miss means a search problem, not a wrong label.
They also check the shape of the library: enough documents and pages, the category mix of the
questions, and the "sample material" notice on the first page of every document.

If a quote fails after a change to a reader, look at the reader first; if it fails after a change
to corpus/_source/, rebuild with `python corpus/_source/build.py` and fix the quote or the page.
"""
from __future__ import annotations

import functools
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest import read_document  # noqa: E402

CORPUS = ROOT / "corpus"
GOLD = ROOT / "bench" / "gold.jsonl"
FORMATS = {".pdf", ".pptx", ".docx"}
PAGED_FORMATS = {".pdf", ".pptx"}

MIN_DOCUMENTS = 15
MIN_PAGES_AND_SLIDES = 150
MIN_QUESTIONS = 90
MIN_PER_CATEGORY = {
    "paraphrase": 25,
    "acronym": 15,
    "number": 15,
    "slide_notes": 8,
    "table": 10,
    "native_language": 8,
    "cross_language": 8,
}
FIELDS = {"id", "question", "category", "document", "pages", "evidence", "language"}
SAMPLE_NOTICE = "sample material"


def normalise(text: str) -> str:
    """NFC, all whitespace runs collapsed to one space, case-folded."""
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def load_gold() -> list[dict]:
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def library() -> list[Path]:
    """The documents the indexer sees: supported files, skipping folders that start with '_'."""
    return sorted(
        path for path in CORPUS.rglob("*")
        if path.is_file() and path.suffix.lower() in FORMATS
        and not any(part.startswith(("_", ".")) for part in path.relative_to(CORPUS).parts)
    )


@functools.lru_cache(maxsize=None)
def pages_of(relative: str) -> tuple[tuple[int | None, str], ...]:
    """(page number, normalised text) for every page, slide or section of one document."""
    return tuple((page.number, normalise(page.text)) for page in read_document(CORPUS / relative))


GOLD_ENTRIES = load_gold()


# --------------------------------------------------------------------------- gold file shape
def test_gold_file_is_well_formed():
    ids = [entry.get("id") for entry in GOLD_ENTRIES]
    assert len(ids) == len(set(ids)), "duplicate question ids"
    for entry in GOLD_ENTRIES:
        assert set(entry) == FIELDS, f"{entry.get('id')}: fields {sorted(entry)}"
        assert entry["category"] in MIN_PER_CATEGORY, f"{entry['id']}: category {entry['category']!r}"
        assert (CORPUS / entry["document"]).is_file(), f"{entry['id']}: no file {entry['document']}"
        words = len(entry["evidence"].split())
        assert 4 <= words <= 15, f"{entry['id']}: evidence has {words} words"
        paged = Path(entry["document"]).suffix.lower() in PAGED_FORMATS
        if paged:
            assert entry["pages"] and all(isinstance(p, int) and p >= 1 for p in entry["pages"]), (
                f"{entry['id']}: a PDF or PPTX question needs 1-based page numbers")
        else:
            assert entry["pages"] is None, f"{entry['id']}: documents without pages use null"
        if entry["category"] == "cross_language":
            assert entry["language"] == "en", f"{entry['id']}: cross-language questions are in English"
        if entry["category"] == "native_language":
            assert entry["language"] != "en", f"{entry['id']}: native-language questions are not in English"


def test_enough_questions_in_every_category():
    assert len(GOLD_ENTRIES) >= MIN_QUESTIONS
    counts = Counter(entry["category"] for entry in GOLD_ENTRIES)
    short = {cat: (counts[cat], need) for cat, need in MIN_PER_CATEGORY.items() if counts[cat] < need}
    assert not short, f"categories below their minimum (have, need): {short}"


# --------------------------------------------------------------------------- evidence quotes
@pytest.mark.parametrize("entry", GOLD_ENTRIES, ids=[e["id"] for e in GOLD_ENTRIES])
def test_evidence_is_on_the_expected_page(entry):
    pages = pages_of(entry["document"])
    quote = normalise(entry["evidence"])
    wanted = set(entry["pages"]) if entry["pages"] is not None else None
    candidates = [text for number, text in pages if wanted is None or number in wanted]
    assert candidates, f"{entry['id']}: {entry['document']} has no page {entry['pages']}"
    if not any(quote in text for text in candidates):
        found_on = [number for number, text in pages if quote in text]
        pytest.fail(f"{entry['id']}: evidence not on page(s) {entry['pages']} of {entry['document']}"
                    f" (found on {found_on or 'no page'}): {entry['evidence']!r}")


# --------------------------------------------------------------------------- library shape
def test_library_size():
    documents = library()
    assert len(documents) >= MIN_DOCUMENTS, f"only {len(documents)} documents"
    numbered = sum(
        1 for path in documents
        for number, _ in pages_of(path.relative_to(CORPUS).as_posix()) if number is not None
    )
    assert numbered >= MIN_PAGES_AND_SLIDES, f"only {numbered} pages and slides"


@pytest.mark.parametrize("path", library(), ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_first_page_says_sample_material(path):
    pages = pages_of(path.relative_to(CORPUS).as_posix())
    assert pages, f"{path.name}: nothing read"
    numbered = [text for number, text in pages if number == 1]
    first = numbered[0] if numbered else pages[0][1]  # formats without pages: the first section
    assert SAMPLE_NOTICE in first, f"{path.name}: first page does not say it is sample material"


def test_every_gold_document_is_in_the_library():
    indexed = {path.relative_to(CORPUS).as_posix() for path in library()}
    missing = sorted({entry["document"] for entry in GOLD_ENTRIES} - indexed)
    assert not missing, f"gold questions about documents the indexer skips: {missing}"

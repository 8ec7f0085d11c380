"""Fuzzing the readers: mutated real PDFs, decks and Word files end as a Document or a reason.

Hypothesis mutates real files from ../shared/realdocs (byte flips, truncation, splicing two
files, cut or repeated ranges, and for ZIP formats the same inside one entry of a valid container,
or an entry dropped) and feeds each case through `ingest.read_files`, the indexing run's own path:
the child process with its timeout and memory limit. Every case must come back as a Document or a
ReadError with a reason: no exception escapes, no run crashes, none hangs. Derandomized, so CI
runs the same cases every time.

There is no .docx among the shared documents; the DOCX seeds are built with python-docx from the
text of a real deck (headings, paragraphs, a table).
"""
from __future__ import annotations

import collections
import dataclasses
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import settings as config
from conftest import shared_path
from ingest import Document, PageText, ReadError, read_files

pytestmark = pytest.mark.slow

CASES_PER_FORMAT = 60

# Small, quick to parse, and different inside: a classic xref table, a multi-column layout, and
# two procurement documents from Word and Asciidoctor (object streams, compressed xref).
PDF_SEEDS = [
    ("robustness", "pypdf", "crazyones.pdf"),
    ("robustness", "pypdf", "sample-files", "multicolumn.pdf"),
    ("procurement", "it_appaltigpt_tender", "Chiarimenti.pdf"),
    ("procurement", "en_eu_op_espd", "ESPD_Business_Handbook.pdf"),
]
PPTX_SEEDS = [
    ("procurement", "en_eu_op_epo", "MultistagedProcedureTermAndCriteria.pptx"),
    ("robustness", "python-pptx", "tbl-cell.pptx"),
    ("robustness", "python-pptx", "sld-notes.pptx"),
    ("robustness", "python-pptx", "shp-groupshape.pptx"),
]


def _docx_seeds(tmp_path: Path) -> list[bytes]:
    from pptx import Presentation

    import docx

    deck = Presentation(str(shared_path("realdocs", *PPTX_SEEDS[0])))
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
    seeds = []
    for variant in range(2):
        document = docx.Document()
        document.core_properties.title = "Multi-stage procedures"
        document.add_heading("Selection criteria", level=1)
        for text in texts[variant::2] or ["Selection criteria thresholds per stage"]:
            document.add_paragraph(text)
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "Criterion", "Threshold"
        table.cell(1, 0).text, table.cell(1, 1).text = "Turnover", "BT-7532"
        buffer = io.BytesIO()
        document.save(buffer)
        seeds.append(buffer.getvalue())
    return seeds


def _seeds(kind: str, tmp_path: Path) -> list[bytes]:
    if kind == "docx":
        return _docx_seeds(tmp_path)
    return [shared_path("realdocs", *parts).read_bytes() for parts in (PDF_SEEDS if kind == "pdf" else PPTX_SEEDS)]


def _mutate_bytes(data: st.DataObject, blob: bytes, others: list[bytes]) -> bytes:
    """One of: byte flips, truncation, splicing with another seed, a range cut out or repeated."""
    if not blob:
        return blob
    how = data.draw(st.sampled_from(["flip", "truncate", "splice", "cut", "repeat"]), label="mutation")
    size = len(blob)
    at = data.draw(st.integers(0, size - 1), label="at")
    if how == "flip":
        mutated = bytearray(blob)
        for offset, value in data.draw(st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=16), label="flips"):
            mutated[(at + offset * 97) % size] = value
        return bytes(mutated)
    if how == "truncate":
        return blob[:at]
    if how == "splice":
        other = data.draw(st.sampled_from(others), label="other")
        return blob[:at] + other[data.draw(st.integers(0, max(0, len(other) - 1)), label="from"):]
    length = data.draw(st.integers(1, max(1, size // 4)), label="length")
    if how == "cut":
        return blob[:at] + blob[at + length:]
    return blob[:at] + blob[at:at + length] * data.draw(st.integers(2, 8), label="times") + blob[at + length:]


def _mutate_zip(data: st.DataObject, blob: bytes, others: list[bytes]) -> bytes:
    """Either the container's bytes, or one entry inside a container that stays a valid ZIP."""
    if data.draw(st.booleans(), label="whole container"):
        return _mutate_bytes(data, blob, others)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        entries = [(info, archive.read(info.filename)) for info in archive.infolist()]
    # The XML parts are where the readers' logic is; media entries are only carried along.
    xml = [i for i, (info, _) in enumerate(entries) if info.filename.endswith((".xml", ".rels"))]
    chosen = data.draw(st.sampled_from(xml), label="entry")
    drop = data.draw(st.integers(0, 9), label="drop") == 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (info, content) in enumerate(entries):
            if index == chosen:
                if drop:
                    continue
                content = _mutate_bytes(data, content, [c for _, c in entries])
            archive.writestr(info.filename, content)
    return buffer.getvalue()


def _outcome(result) -> str:
    if isinstance(result, Document):
        assert result.pages and all(isinstance(page, PageText) and isinstance(page.text, str) for page in result.pages)
        return "document"
    assert isinstance(result, ReadError), f"neither a Document nor a ReadError: {result!r}"
    assert isinstance(result.reason, str) and result.reason.strip(), "a ReadError without a reason"
    if result.reason.startswith("timed out"):
        return "timed out"
    if result.reason.startswith("reader crashed"):
        return "reader crashed"
    return "read error"


@pytest.mark.parametrize("kind", ["pdf", "pptx", "docx"])
def test_mutated_files_end_as_a_document_or_a_reason(kind, tmp_path):
    seeds = _seeds(kind, tmp_path)
    # OCR is its own reader (and seconds per page): keep it out of a fuzz run of the parsers.
    reading = dataclasses.replace(config.load(), parse_timeout_s=30, ocr_languages="")
    outcomes: collections.Counter[str] = collections.Counter()
    case_file = tmp_path / f"case.{kind}"

    @hypothesis_settings(max_examples=CASES_PER_FORMAT, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data):
        seed = data.draw(st.sampled_from(seeds), label="seed")
        mutate = _mutate_bytes if kind == "pdf" else _mutate_zip
        case_file.write_bytes(mutate(data, seed, seeds))
        [(_, result)] = list(read_files([case_file], reading))
        outcomes[_outcome(result)] += 1

    case()
    print(f"\n{kind}: {sum(outcomes.values())} cases: {dict(outcomes)}")
    assert sum(outcomes.values()) >= CASES_PER_FORMAT
    assert outcomes["timed out"] == 0 and outcomes["reader crashed"] == 0, dict(outcomes)

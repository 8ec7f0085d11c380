"""ZIP packages and e-mails (issue 14): each member or attachment a document under its container,
found at its page, re-embedded only when it changed, and the hostile containers named and bounded.

One library is indexed once for the module by a real `python -m ingest` run (real model): a ZIP
package of real tender PDFs from ../shared/realdocs (with a nested ZIP and macOS leftovers), a
real EML with a PDF attached and a real Outlook MSG (tests/data, see SOURCES.md), and beside them
the hostile containers of `hostile.py`.
"""
from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path

import pytest

import settings as config
from conftest import SHARED, ingest_json, make_pdf, shared_path
from hostile import locked_zip, mail_with_attachment, many_files_zip, zip_bomb
from index import Searcher, update
from index.check import inspect, repair_index

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data"
FORMS = SHARED / "realdocs" / "procurement" / "en_eu_ted_standard_forms"
AI = SHARED / "realdocs" / "procurement" / "en_ocp_buying_ai"
PACKAGE = "tender-package.zip"
MAIL = "move-to-eight.eml"
ATTACHMENT = f"{MAIL}/Move To Eight ZWEP6227F.pdf"
# The run's limit for one file, below the 200 MB attachment (the package's limit stays 500 MB).
FILE_MAX_MB = 100


def _package(path: Path, scratch: Path) -> None:
    """A tender package as published: forms and clauses in folders, an annex ZIP, macOS leftovers."""
    annex = scratch / "annex.zip"
    with zipfile.ZipFile(annex, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(AI / "11-evaluation-tips.pdf", "11-evaluation-tips.pdf")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(FORMS / "EN_F02.pdf", "forms/EN_F02.pdf")
        archive.write(FORMS / "EN_F03.pdf", "forms/EN_F03.pdf")
        archive.write(AI / "12-contract-clauses.pdf", "clauses/12-contract-clauses.pdf")
        archive.write(annex, "annexes/annex.zip")
        archive.writestr("__MACOSX/forms/._EN_F03.pdf", b"\0\5\26\7 resource fork")
        archive.writestr("forms/.DS_Store", b"\0\0\0\1Bud1")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """(library folder, settings, run report) of one indexing run over every container kind."""
    folder = tmp_path_factory.mktemp("containers")
    library = folder / "library"
    hostile = library / "hostile"
    hostile.mkdir(parents=True)
    if FORMS.is_dir() and AI.is_dir():
        _package(library / PACKAGE, folder)
    shutil.copy(DATA / "mail_test_10.eml", library / MAIL)
    shutil.copy(DATA / "strangeDate.msg", library / "msg-test.msg")
    locked_zip(hostile / "locked.zip", {"offer.txt": b"Our price for lot 2 is 48,500 EUR.\n"})
    zip_bomb(hostile / "bomb.zip")
    many_files_zip(hostile / "many.zip")
    with zipfile.ZipFile(hostile / "slip.zip", "w") as archive:
        archive.writestr("../../etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        archive.writestr("minutes.txt", "The steering group approved the footbridge design on 3 March.\n")
    mail_with_attachment(hostile / "drawings.eml", 200, "The drawings of the footbridge over the river Lind are attached.")
    index = folder / "index"
    report = ingest_json(library, index, PXS_FILE_MAX_MB=str(FILE_MAX_MB))
    settings = dataclasses.replace(config.load(), index_dir=index, file_max_mb=FILE_MAX_MB)
    yield library, settings, report
    (hostile / "drawings.eml").unlink()  # 283 MB: not left in the temporary folders pytest keeps


@pytest.fixture(scope="module")
def searcher(library):
    _, settings, _ = library
    return Searcher(settings.index_dir, settings)


def _top(searcher, question: str):
    results = searcher.search(question, k=3)
    assert results, question
    return results[0]


# -- a ZIP package is a folder ------------------------------------------------------------------

def test_question_about_a_member_of_a_real_package_finds_it_at_its_page(searcher):
    shared_path("realdocs", "procurement", "en_eu_ted_standard_forms")
    result = _top(searcher, "Which form section gives information on non-award of a lot?")
    assert (result.document, result.page, result.kind) == (f"{PACKAGE}/forms/EN_F03.pdf", 4, "pdf")


def test_member_of_a_nested_zip_is_found_under_both_zips(searcher):
    shared_path("realdocs", "procurement", "en_ocp_buying_ai")
    result = _top(searcher, "Which evaluation criteria for open solicitations of AI may we consider, such as problem fit?")
    assert (result.document, result.page) == (f"{PACKAGE}/annexes/annex.zip/11-evaluation-tips.pdf", 3)


def test_package_members_are_its_documents_and_macos_leftovers_are_skipped(library):
    shared_path("realdocs", "procurement", "en_eu_ted_standard_forms")
    _, _, report = library
    members = sorted(name for name in report["added"] if name.startswith(PACKAGE))
    assert members == [f"{PACKAGE}/annexes/annex.zip/11-evaluation-tips.pdf", f"{PACKAGE}/clauses/12-contract-clauses.pdf",
                       f"{PACKAGE}/forms/EN_F02.pdf", f"{PACKAGE}/forms/EN_F03.pdf"]
    everything = str(report["failed"]) + str(report["unsupported"]) + str(report["warnings"])
    assert "__MACOSX" not in everything and ".DS_Store" not in everything


def test_open_serves_the_member_at_its_page(library, searcher):
    from ui import source_files

    shared_path("realdocs", "procurement", "en_eu_ted_standard_forms")
    folder, settings, _ = library
    result = _top(searcher, "Which form section gives information on non-award of a lot?")
    served = searcher.source_file(result.path)
    assert served is not None and served.read_bytes() == (FORMS / "EN_F03.pdf").read_bytes()
    try:
        url = source_files.open_at_page_url(source_files.readable(served, folder, settings.index_dir), result.page)
        assert url.endswith("/document.pdf#page=4")  # a name of the app's, never the member's
    finally:
        source_files.forget(served)


# -- e-mails ------------------------------------------------------------------------------------

def test_attachment_of_a_real_eml_is_searchable_under_the_mail(searcher):
    result = _top(searcher, "Who must approve orders involving more than five systems?")
    assert (result.document, result.page) == (ATTACHMENT, 2)
    assert "Jonas Vallin" in result.text


def test_real_eml_is_a_document_with_its_subject_and_headers(searcher):
    result = _top(searcher, "sconto addizionale per la sostituzione di un sistema POWER7 con POWER8")
    assert (result.document, result.kind) == (MAIL, "eml")
    assert result.title == "*** ATTENZIONE *** - Modelli POWER7+ inclusi nella campagna Move To Eight"
    assert result.heading.startswith("From: Nicoletta Bernasconi <nicoletta_bernasconi@it.ibm.com> · To: ")
    assert "Date: Wed, 08 Mar 2017 16:45:48 +0000" in result.heading


def test_real_msg_is_read(searcher):
    result = _top(searcher, "placeholder names for a party whose true identity is unknown in a legal action")
    assert (result.document, result.kind, result.title) == ("msg-test.msg", "msg", "MSG Test File")


def test_stats_count_documents_per_kind(searcher):
    kinds = searcher.stats()["kinds"]
    # The EML and MSG of tests/data and the hostile mail; the slip ZIP's minutes as a text file.
    assert (kinds["eml"], kinds["msg"], kinds["txt"]) == (2, 1, 1)


# -- hostile containers: named, bounded, the rest indexed ----------------------------------------

HOSTILE = [  # (document, the reason the user reads)
    ("hostile/locked.zip/offer.txt", "encrypted: the member is password-protected, so it cannot be read"),
    ("hostile/bomb.zip", "rejected: unpacks to more than 500 MB for the whole package (PXS_ZIP_MAX_MB; zip bomb?)"),
    ("hostile/many.zip",
     "rejected: 50000 entries in the archive (limit 10000 for the whole package, PXS_ZIP_MAX_ENTRIES; zip bomb?)"),
    ("hostile/slip.zip/../../etc/passwd", "refused: the member's name leads outside the archive (path traversal)"),
    ("hostile/drawings.eml/drawings.pdf",
     f"rejected: 200 MB, larger than the limit of {FILE_MAX_MB} MB for one file (PXS_FILE_MAX_MB)"),
]


@pytest.mark.parametrize("name, reason", HOSTILE, ids=[name for name, _ in HOSTILE])
def test_hostile_container_is_named_with_its_reason(library, name, reason):
    _, _, report = library
    assert dict(tuple(item) for item in report["failed"]).get(name) == reason, report["failed"]


def test_nothing_of_the_bomb_or_the_200_mb_attachment_is_unpacked(library):
    _, settings, _ = library
    cache = settings.index_dir / "containers"
    assert sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) < 20 * 1024 * 1024


def test_zip_slip_member_is_never_written_and_its_neighbour_is_indexed(library):
    _, settings, report = library
    assert "hostile/slip.zip/minutes.txt" in report["added"]
    blobs = list((settings.index_dir / "containers" / "blobs").iterdir())
    assert not any(b"root:x:0:0" in blob.read_bytes() for blob in blobs if blob.stat().st_size < 1 << 20)


def test_mail_with_a_200_mb_attachment_is_indexed_without_it(library, searcher):
    _, _, report = library
    assert "hostile/drawings.eml" in report["added"]
    assert _top(searcher, "drawings of the footbridge over the river Lind").document == "hostile/drawings.eml"


def test_hostile_containers_stay_within_the_memory_bounds(library):
    _, settings, report = library
    assert report["peak_memory_mb"]["indexing"] < 2048, report["peak_memory_mb"]
    assert report["peak_memory_mb"]["readers"] < settings.parse_memory_mb, report["peak_memory_mb"]


def test_library_index_is_consistent(library):
    _, settings, _ = library
    assert inspect(settings).problems == []


# -- re-indexing a package ------------------------------------------------------------------------

def _write_package(path: Path, members: dict[str, Path]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, pdf in members.items():
            archive.write(pdf, name)
        archive.writestr("drawings/site-plan.dwg", b"AC1032 not a document the product reads")


def test_changed_member_is_the_only_one_embedded_again_and_removal_takes_all(tmp_path, fresh_settings):
    library = tmp_path / "library"
    library.mkdir()
    members = {name: make_pdf(tmp_path / "v1" / name, [text]) for name, text in {
        "lot1.pdf": "Lot 1 covers the maintenance of 4,200 street lights in the northern district.",
        "lot2.pdf": "Lot 2 covers the replacement of the traffic lights at twelve crossings.",
        "award.pdf": "Quality counts for seventy percent of the score and price for thirty percent.",
    }.items()}
    _write_package(library / "pkg.zip", members)
    first = update([library], fresh_settings)
    assert sorted(first.added) == ["pkg.zip/award.pdf", "pkg.zip/lot1.pdf", "pkg.zip/lot2.pdf"]
    assert first.unsupported == [str(library / "pkg.zip" / "drawings" / "site-plan.dwg")]

    # The package published again with one document corrected, the others byte for byte the same.
    members["lot2.pdf"] = make_pdf(tmp_path / "v2" / "lot2.pdf", ["Lot 2 covers the replacement of the traffic lights at fifteen crossings."])
    _write_package(library / "pkg.zip", members)
    second = update([library], fresh_settings)
    assert (second.added, second.updated, sorted(second.unchanged)) == (
        [], ["pkg.zip/lot2.pdf"], ["pkg.zip/award.pdf", "pkg.zip/lot1.pdf"])
    assert (second.chunks_embedded, second.chunks_reused) == (1, 0)
    searcher = Searcher(fresh_settings.index_dir, fresh_settings)
    assert "fifteen crossings" in searcher.search("how many crossings get new traffic lights?", k=1)[0].text
    assert inspect(fresh_settings).problems == []

    (library / "pkg.zip").unlink()
    third = update([library], fresh_settings)
    assert sorted(third.removed) == ["pkg.zip/award.pdf", "pkg.zip/lot1.pdf", "pkg.zip/lot2.pdf"]
    assert searcher.stats()["chunks"] == 0
    assert not any((fresh_settings.index_dir / "containers" / "blobs").iterdir())


def test_check_notices_a_package_changed_since_it_was_indexed(tmp_path, fresh_settings):
    library = tmp_path / "library"
    library.mkdir()
    _write_package(library / "pkg.zip", {"lot1.pdf": make_pdf(tmp_path / "v1.pdf", ["Lot 1: street lights."])})
    update([library], fresh_settings)
    _write_package(library / "pkg.zip", {"lot1.pdf": make_pdf(tmp_path / "v2.pdf", ["Lot 1: street lights and poles."])})
    problems = inspect(fresh_settings).problems
    assert [(p.kind, p.document, p.path) for p in problems] == [
        ("file changed on disk", "pkg.zip/lot1.pdf", str(library / "pkg.zip"))]
    repair_index(fresh_settings, inspect(fresh_settings))
    assert inspect(fresh_settings).problems == []
    results = Searcher(fresh_settings.index_dir, fresh_settings).search("street lights and poles", k=1)
    assert (results[0].document, results[0].text) == ("pkg.zip/lot1.pdf", "Lot 1: street lights and poles.")

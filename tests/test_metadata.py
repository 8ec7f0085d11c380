"""Metadata found at indexing, the facets that filter by it, and curators' corrections: on the
sample library and real files, with the real model and the command line."""
from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT

import settings as config
from index import update
from index.curation import (
    BadCorrection, correct_labels, correct_metadata, export_corrections, import_corrections, label_corrections,
    metadata_of,
)
from index.store import connect
from ingest.discover import sha256_of


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def _values(connection, sha: str) -> dict[str, list[str]]:
    return {name: [f.value for f in found] for name, found in metadata_of(connection, sha).items()}


def _sha(settings, name: str) -> str:
    connection = connect(settings.index_dir)
    try:
        return connection.execute("SELECT sha256 FROM files WHERE name = ?", (name,)).fetchone()[0]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def indexed_once(tmp_path_factory):
    """Three documents of the sample library in a folder of their own, indexed once."""
    folder = tmp_path_factory.mktemp("metadata")
    library = folder / "library"
    for name in ("it/relazione-ricarica-autobus-elettrici.pdf", "es/informe-consulta-preliminar-comedores-escolares.pdf",
                 "calls/pcp-call-adaptive-street-lighting.pdf"):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / name, library / name)
    settings = dataclasses.replace(config.load(), index_dir=folder / "index", library_dir=library)
    update([library], settings)
    return library, settings


@pytest.fixture
def small_library(indexed_once, tmp_path):
    """A copy of the library and its index for one test (the copy's files are read again, their
    passages' vectors re-used: nothing is embedded twice)."""
    library, settings = indexed_once
    shutil.copytree(library, tmp_path / "library")
    shutil.copytree(settings.index_dir, tmp_path / "index")
    copy = dataclasses.replace(settings, index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    update([copy.library_dir], copy)
    return copy.library_dir, copy


def test_a_files_own_author_and_dates_are_read():
    from ingest.properties import file_properties

    assert [file_properties(ROOT / "corpus" / name).get(key) for name, key in (
        ("calls/pcp-call-adaptive-street-lighting.pdf", "created"), ("templates/needs-assessment-form.docx", "author"))] == [
        "2023-10-02", "Municipality of Ardenfield - procurement team (fictional)"]


def test_italian_report_is_found_italian_of_2024_by_its_comune(corpus_index):
    settings, _ = corpus_index
    connection = connect(settings.index_dir)
    try:
        found = metadata_of(connection, _sha(settings, "it/relazione-ricarica-autobus-elettrici.pdf"))
    finally:
        connection.close()
    assert {name: values[0].value for name, values in found.items() if name in ("country", "year", "organisation", "doctype")} == {
        "country": "IT", "year": "2024", "organisation": "Comune di Borgovento", "doctype": "report"}


def test_fictional_english_documents_get_no_country(corpus_index):
    """Lindhaven is fictional and its documents name no country: nothing is guessed."""
    settings, _ = corpus_index
    connection = connect(settings.index_dir)
    try:
        found = metadata_of(connection, _sha(settings, "reports/lindhaven-innovation-procurement-strategy.pdf"))
    finally:
        connection.close()
    assert "country" not in found


def test_search_by_country_and_years_returns_only_matching_passages(corpus_index):
    settings, _ = corpus_index
    completed = _cli("search", "how was the market consulted before the tender?", "--country", "IT", "--year", "2022-2025",
                     "--json", "-k", "10", "--index", str(settings.index_dir))
    assert completed.returncode == 0, completed.stderr
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    assert records and all(r["metadata"]["country"] == ["IT"] and 2022 <= int(r["metadata"]["year"][0]) <= 2025
                           and {"document", "page", "text", "score", "heading"} <= set(r) for r in records)


def test_search_without_facets_reaches_other_countries(corpus_index):
    settings, _ = corpus_index
    completed = _cli("search", "how was the market consulted before the tender?", "--json", "-k", "10",
                     "--index", str(settings.index_dir))
    countries = {c for line in completed.stdout.splitlines() for c in json.loads(line)["metadata"].get("country", ["none"])}
    assert countries - {"IT"}


def test_browse_json_counts_the_documents_of_each_country(corpus_index):
    settings, _ = corpus_index
    completed = _cli("browse", "--stage", "market", "--json", "--index", str(settings.index_dir))
    facets = json.loads(completed.stdout)["facets"]
    assert {"value": "IT", "documents": 1} in facets["country"]


def test_a_year_that_is_no_range_is_refused_with_a_reason(corpus_index):
    settings, _ = corpus_index
    completed = _cli("search", "award", "--year", "last year", "--index", str(settings.index_dir))
    assert completed.returncode == 2 and "--year takes a year or a range" in completed.stderr


def test_correction_wins_and_survives_rename_and_reindexing(small_library):
    library, settings = small_library
    sha = _sha(settings, "it/relazione-ricarica-autobus-elettrici.pdf")
    connection = connect(settings.index_dir)
    correct_metadata(connection, sha, "country", ["SM"])
    connection.close()
    (library / "it" / "relazione-ricarica-autobus-elettrici.pdf").rename(library / "it" / "renamed.pdf")
    update([library], settings)
    connection = connect(settings.index_dir)
    try:
        assert _values(connection, sha)["country"] == ["SM"]
    finally:
        connection.close()


def test_a_curators_page_label_holds_after_the_labels_are_found_again(small_library):
    library, settings = small_library
    sha = _sha(settings, "es/informe-consulta-preliminar-comedores-escolares.pdf")
    connection = connect(settings.index_dir)
    correct_labels(connection, sha, 1, "stage", ["stage:contract"])
    connection.execute("DELETE FROM labelled_files")  # as after a new labels.toml: every page labelled again
    connection.close()
    update([library], settings)
    connection = connect(settings.index_dir)
    try:
        stages = {row[0] for row in connection.execute(
            "SELECT label FROM page_labels WHERE sha256 = ? AND page = 1 AND label LIKE 'stage:%'", (sha,))}
    finally:
        connection.close()
    assert stages == {"stage:contract"}


def test_exported_corrections_imported_into_a_fresh_index_give_the_same_metadata(small_library, tmp_path):
    library, settings = small_library
    connection = connect(settings.index_dir)
    shas = [row[0] for row in connection.execute("SELECT sha256 FROM files WHERE status = 'indexed' ORDER BY name")]
    correct_metadata(connection, shas[0], "country", ["PT"])
    correct_metadata(connection, shas[1], "year", ["2019"])
    correct_metadata(connection, shas[2], "organisation", [])
    correct_labels(connection, shas[0], None, "kind", ["kind:case"])
    exported = json.loads(json.dumps(export_corrections(connection).as_dict()))
    before = {sha: _values(connection, sha) for sha in shas}
    labels_before = {sha: label_corrections(connection, sha) for sha in shas}
    connection.close()

    fresh = dataclasses.replace(settings, index_dir=tmp_path / "fresh-index")
    update([library], fresh)
    connection = connect(fresh.index_dir)
    try:
        import_corrections(connection, exported)
        assert ({sha: _values(connection, sha) for sha in shas}, {sha: label_corrections(connection, sha) for sha in shas}) == (
            before, labels_before)
    finally:
        connection.close()


def test_cli_exports_and_imports_corrections(small_library, tmp_path):
    _, settings = small_library
    sha = _sha(settings, "calls/pcp-call-adaptive-street-lighting.pdf")
    connection = connect(settings.index_dir)
    correct_metadata(connection, sha, "doctype", ["guidance"])
    connection.close()
    exported = tmp_path / "corrections.json"
    assert _cli("metadata", "--export", str(exported), "--index", str(settings.index_dir)).returncode == 0
    connection = connect(settings.index_dir)
    connection.execute("DELETE FROM metadata_corrections")
    connection.close()
    assert _cli("metadata", "--import", str(exported), "--index", str(settings.index_dir)).returncode == 0
    listed = [json.loads(line) for line in _cli("metadata", "--json", "--index", str(settings.index_dir)).stdout.splitlines()]
    form = next(d for d in listed if d["document"] == "calls/pcp-call-adaptive-street-lighting.pdf")
    assert form["metadata"]["doctype"][0] == {"field": "doctype", "value": "guidance", "source": "curator",
                                              "confidence": 1.0, "evidence": form["metadata"]["doctype"][0]["evidence"]}


def test_a_year_correction_that_is_no_year_is_refused(small_library):
    _, settings = small_library
    connection = connect(settings.index_dir)
    try:
        with pytest.raises(BadCorrection, match="four digits"):
            correct_metadata(connection, "0" * 64, "year", ["soon"])
    finally:
        connection.close()


def test_an_import_of_another_file_keeps_nothing(small_library, tmp_path):
    _, settings = small_library
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"documents": [{"sha256": "0" * 64, "metadata": {"country": ["IT"]}}]}))
    completed = _cli("metadata", "--import", str(wrong), "--index", str(settings.index_dir))
    connection = sqlite3.connect(settings.index_dir / "library.sqlite")
    try:
        kept = connection.execute("SELECT COUNT(*) FROM metadata_corrections").fetchone()[0]
    finally:
        connection.close()
    assert (completed.returncode, kept) == (2, 0)

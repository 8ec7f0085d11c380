"""index.plan: what a run does with each file, decided from paths, names and sha256s alone."""
from __future__ import annotations

from pathlib import Path

from ingest import SourceFile
from index.plan import plan

LIBRARY = Path("/library")


def on_disk(*names: str) -> list[SourceFile]:
    return [SourceFile(LIBRARY / name, LIBRARY, name) for name in names]


def indexed(*rows: tuple, status: str = "indexed") -> dict[str, dict]:
    """Rows of the files table, as (name, sha256) or (name, sha256, status, reason)."""
    found = {}
    for number, row in enumerate(rows, 1):
        name, sha, *rest = row
        found[str(LIBRARY / name)] = {
            "id": number, "path": str(LIBRARY / name), "name": name, "sha256": sha,
            "status": rest[0] if rest else status, "reason": rest[1] if rest else None,
        }
    return found


def shas(**by_name: str) -> dict[str, str]:
    return {str(LIBRARY / name.replace("_", ".")): sha for name, sha in by_name.items()}


def decide(files, hashes, rows):
    decided = plan(files, hashes, rows, [LIBRARY], set())
    return {
        "read": [(r.source.name, r.sha, r.previous and r.previous["name"]) for r in decided.to_read],
        "unchanged": [s.name for s in decided.unchanged],
        "duplicates": [(d.source.name, d.original, d.previous and d.previous["name"]) for d in decided.duplicates],
        "removed": [row["name"] for row in decided.removed],
    }


NOTHING = {"read": [], "unchanged": [], "duplicates": [], "removed": []}


def test_new_file_is_read():
    assert decide(on_disk("a.pdf"), shas(a_pdf="1"), {}) == {**NOTHING, "read": [("a.pdf", "1", None)]}


def test_unchanged_file_is_left_alone():
    assert decide(on_disk("a.pdf"), shas(a_pdf="1"), indexed(("a.pdf", "1"))) == {**NOTHING, "unchanged": ["a.pdf"]}


def test_changed_file_is_read_with_its_previous_row():
    assert decide(on_disk("a.pdf"), shas(a_pdf="2"), indexed(("a.pdf", "1"))) == {
        **NOTHING, "read": [("a.pdf", "2", "a.pdf")]}


def test_renamed_file_is_read_under_its_new_name_and_the_old_one_removed():
    assert decide(on_disk("b.pdf"), shas(b_pdf="1"), indexed(("a.pdf", "1"))) == {
        **NOTHING, "read": [("b.pdf", "1", None)], "removed": ["a.pdf"]}


def test_copy_of_an_indexed_file_is_its_duplicate():
    assert decide(on_disk("a.pdf", "copy.pdf"), shas(a_pdf="1", copy_pdf="1"), indexed(("a.pdf", "1"))) == {
        **NOTHING, "unchanged": ["a.pdf"], "duplicates": [("copy.pdf", "a.pdf", None)]}


def test_two_new_copies_the_first_found_is_read():
    assert decide(on_disk("a.pdf", "b.pdf"), shas(a_pdf="1", b_pdf="1"), {}) == {
        **NOTHING, "read": [("a.pdf", "1", None)], "duplicates": [("b.pdf", "a.pdf", None)]}


def test_duplicate_already_recorded_is_unchanged():
    rows = indexed(("a.pdf", "1"), ("copy.pdf", "1", "duplicate", "a.pdf"))
    assert decide(on_disk("a.pdf", "copy.pdf"), shas(a_pdf="1", copy_pdf="1"), rows) == {
        **NOTHING, "unchanged": ["a.pdf", "copy.pdf"]}


def test_copy_is_promoted_when_its_original_changes():
    """The changed original no longer owns its old content: the copy holds it now, as in a rebuild."""
    rows = indexed(("a.pdf", "1"), ("copy.pdf", "1", "duplicate", "a.pdf"))
    assert decide(on_disk("a.pdf", "copy.pdf"), shas(a_pdf="2", copy_pdf="1"), rows) == {
        **NOTHING, "read": [("a.pdf", "2", "a.pdf"), ("copy.pdf", "1", "copy.pdf")]}


def test_copy_is_promoted_when_its_original_is_deleted():
    rows = indexed(("a.pdf", "1"), ("copy.pdf", "1", "duplicate", "a.pdf"))
    assert decide(on_disk("copy.pdf"), shas(copy_pdf="1"), rows) == {
        **NOTHING, "read": [("copy.pdf", "1", "copy.pdf")], "removed": ["a.pdf"]}


def test_file_changed_into_a_copy_of_another_becomes_its_duplicate():
    rows = indexed(("a.pdf", "1"), ("b.pdf", "2"))
    assert decide(on_disk("a.pdf", "b.pdf"), shas(a_pdf="1", b_pdf="1"), rows) == {
        **NOTHING, "unchanged": ["a.pdf"], "duplicates": [("b.pdf", "a.pdf", "b.pdf")]}


def test_gone_file_is_removed_only_under_a_folder_scanned_or_a_path_given():
    rows = indexed(("a.pdf", "1"), ("elsewhere.pdf", "2"))
    rows["/other/elsewhere.pdf"] = {**rows.pop(str(LIBRARY / "elsewhere.pdf")), "path": "/other/elsewhere.pdf"}
    assert decide([], {}, rows) == {**NOTHING, "removed": ["a.pdf"]}
    given = plan([], {}, rows, [], {"/other/elsewhere.pdf"})
    assert [row["name"] for row in given.removed] == ["elsewhere.pdf"]


def test_file_that_could_not_be_hashed_is_left_to_the_caller_and_keeps_its_content():
    """Not in `shas` (refused, unopenable): no decision, and it still owns what it indexed."""
    rows = indexed(("a.pdf", "1"))
    assert decide(on_disk("a.pdf", "copy.pdf"), shas(copy_pdf="1"), rows) == {
        **NOTHING, "duplicates": [("copy.pdf", "a.pdf", None)]}


def test_path_given_twice_is_recorded_once():
    files = on_disk("a.pdf", "copy.pdf", "copy.pdf")
    assert decide(files, shas(a_pdf="1", copy_pdf="1"), indexed(("a.pdf", "1"))) == {
        **NOTHING, "unchanged": ["a.pdf", "copy.pdf"], "duplicates": [("copy.pdf", "a.pdf", None)]}


def test_every_list_keeps_the_order_of_the_files_on_disk():
    names = ["c.pdf", "a.pdf", "b.pdf"]
    decided = decide(on_disk(*names), shas(c_pdf="3", a_pdf="1", b_pdf="2"), {})
    assert [name for name, _, _ in decided["read"]] == names

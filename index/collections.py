"""Named collections of kept passages ("Market consultation memo"), for a memo to be written.

    keep(index_dir, "Market consultation memo", result, question, link)
    for passage in kept(index_dir, "Market consultation memo"): ...

A passage is kept with its text, title and page (teamwork.py), so a collection reads the same
after its documents changed or left the library; `Kept.in_library` says which still hold it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import teamwork
from .citation import Cited, quotation


@dataclass(frozen=True)
class Kept:
    """One passage of a collection, as it was when kept."""

    id: int
    collection: str
    position: int
    question: str
    document: str
    sha256: str
    title: str
    kind: str
    page: int | None
    heading: str
    text: str
    quotation: str
    link: str
    note: str
    added: str
    in_library: bool = True  # False: its document was removed or changed since it was kept

    def citation(self) -> Cited:
        return Cited(title=self.title, document=self.document, kind=self.kind, page=self.page,
                     heading=self.heading, quotation=self.quotation, link=self.link)


def _name(collection: str) -> str:
    name = " ".join((collection or "").split())
    if not name:
        raise ValueError("a collection needs a name")
    if len(name) > 200:
        raise ValueError("a collection's name is at most 200 characters")
    return name


def keep(index_dir: Path, collection: str, result, question: str, link: str = "") -> bool:
    """Add a search result's passage (index.Result) to `collection`, last; False when it was
    there already."""
    collection = _name(collection)
    cited = Cited.of(result, link)
    with teamwork.connect(index_dir) as db:
        db.execute("BEGIN IMMEDIATE")
        position = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM kept WHERE collection = ?",
                              (collection,)).fetchone()[0]
        # Not a plain INSERT OR IGNORE: a section has no page, and SQLite's UNIQUE lets NULLs repeat.
        added = db.execute(
            "INSERT INTO kept (collection, position, question, document, sha256, title, kind, page,"
            " heading, text, quotation, link, added) SELECT ?,?,?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS"
            " (SELECT 1 FROM kept WHERE collection = ? AND document = ? AND sha256 = ? AND page IS ? AND text = ?)",
            (collection, position, question, result.document, result.sha256, cited.title, result.kind,
             result.page, cited.heading, result.text, cited.quotation or quotation(result.text, []), link,
             teamwork.now(), collection, result.document, result.sha256, result.page, result.text),
        ).rowcount
        db.execute("COMMIT")
    return bool(added)


def holds(index_dir: Path, collection: str, result) -> bool:
    """Whether `collection` holds this result's passage (as it reads now)."""
    with teamwork.connect(index_dir) as db:
        return db.execute(
            "SELECT 1 FROM kept WHERE collection = ? AND document = ? AND sha256 = ? AND page IS ? AND text = ?",
            (" ".join(collection.split()), result.document, result.sha256, result.page, result.text),
        ).fetchone() is not None


def names(index_dir: Path) -> list[tuple[str, int]]:
    """Every collection with how many passages it holds, most recently added to first."""
    with teamwork.connect(index_dir) as db:
        rows = db.execute("SELECT collection, COUNT(*), MAX(added) AS last FROM kept GROUP BY collection"
                          " ORDER BY last DESC, collection").fetchall()
    return [(row[0], row[1]) for row in rows]


def kept(index_dir: Path, collection: str) -> list[Kept]:
    """The passages of `collection` in their order, each saying whether the library still holds it."""
    present = teamwork.indexed_files(index_dir)
    with teamwork.connect(index_dir) as db:
        rows = db.execute("SELECT * FROM kept WHERE collection = ? ORDER BY position, id", (collection,)).fetchall()
    return [Kept(**dict(row), in_library=(row["document"], row["sha256"]) in present) for row in rows]


def move(index_dir: Path, kept_id: int, step: int) -> None:
    """Move a passage `step` places up (negative) or down within its collection."""
    with teamwork.connect(index_dir) as db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT collection FROM kept WHERE id = ?", (kept_id,)).fetchone()
        if row is not None:
            order = [r[0] for r in db.execute("SELECT id FROM kept WHERE collection = ? ORDER BY position, id",
                                              (row[0],))]
            at = order.index(kept_id)
            order.insert(max(0, min(len(order) - 1, at + step)), order.pop(at))
            db.executemany("UPDATE kept SET position = ? WHERE id = ?", [(p, i) for p, i in enumerate(order, 1)])
        db.execute("COMMIT")


def remove(index_dir: Path, kept_id: int) -> None:
    with teamwork.connect(index_dir) as db:
        db.execute("DELETE FROM kept WHERE id = ?", (kept_id,))


def set_note(index_dir: Path, kept_id: int, note: str) -> None:
    with teamwork.connect(index_dir) as db:
        db.execute("UPDATE kept SET note = ? WHERE id = ?", (note.strip(), kept_id))

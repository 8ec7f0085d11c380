"""What the index holds, for the app's library views: counts, documents, a document's passages.

Plain queries on a connection whose read transaction the caller holds (`Searcher` lends one).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from .store import AWAITS_VECTOR, generation_of, get_meta


def stats(connection: sqlite3.Connection) -> dict:
    """Counts of documents, passages, duplicates and failures, of those still awaiting their
    vectors; the model and the generation."""
    c = connection
    return {
        "documents": c.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0],
        "chunks": c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
        "model": get_meta(c, "model"),
        "dimension": int(get_meta(c, "dimension", "0") or 0),
        "updated": get_meta(c, "updated"),
        "duplicates": c.execute("SELECT COUNT(*) FROM files WHERE status = 'duplicate'").fetchone()[0],
        "failed": c.execute("SELECT COUNT(*) FROM files WHERE status = 'failed'").fetchone()[0],
        "generation": generation_of(c),
        # Searchable by their words only until their vectors are computed (index/store.py).
        "documents_awaiting_vectors": documents_awaiting_vectors(c),
        "passages_awaiting_vectors": c.execute(f"SELECT COUNT(*) FROM chunks WHERE {AWAITS_VECTOR}").fetchone()[0],
        "kinds": dict(c.execute(
            "SELECT kind, COUNT(*) FROM files WHERE status = 'indexed' GROUP BY kind ORDER BY kind").fetchall()),
    }


def documents_awaiting_vectors(connection: sqlite3.Connection) -> int:
    """How many documents are found by their words only for now: their vectors are being computed."""
    return connection.execute(f"SELECT COUNT(DISTINCT file_id) FROM chunks WHERE {AWAITS_VECTOR}").fetchone()[0]


def source_file(connection: sqlite3.Connection, index_dir: Path, path: str) -> Path | None:
    """The file holding a document's bytes: the file itself, or the cached copy of a member of
    a ZIP package or of a mail (ingest.containers); None when neither is there any more."""
    if Path(path).is_file():
        return Path(path)
    from ingest import member_file

    row = connection.execute("SELECT name, sha256 FROM files WHERE path = ?", (path,)).fetchone()
    return member_file(index_dir, row["name"], row["sha256"]) if row else None


def documents(connection: sqlite3.Connection) -> list[dict]:
    """Every file the index knows, with its passage count, languages and sections (its distinct
    headings: the length of a file without pages)."""
    rows = connection.execute(
        "SELECT f.*, COUNT(c.id) AS passages, GROUP_CONCAT(DISTINCT c.language) AS languages,"
        " COUNT(DISTINCT COALESCE(c.heading, '')) AS sections"
        " FROM files f LEFT JOIN chunks c ON c.file_id = f.id GROUP BY f.id ORDER BY f.name"
    ).fetchall()
    return [dict(row) for row in rows]


def page_passages(connection: sqlite3.Connection, document: str, page: int | None = None) -> list[dict]:
    """The passages of one document (optionally one page), in reading order."""
    rows = connection.execute(
        "SELECT c.id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language FROM chunks c"
        " JOIN files f ON f.id = c.file_id WHERE f.name = ? AND (? IS NULL OR c.page IS ?)"
        " ORDER BY c.ordinal",
        (document, page, page),
    ).fetchall()
    return [dict(row) for row in rows]


def neighbours(connection: sqlite3.Connection, chunk_id: int, around: int = 1) -> list[dict]:
    """The passages just before and after one passage in its document."""
    row = connection.execute("SELECT file_id, ordinal FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
    if row is None:
        return []
    rows = connection.execute(
        "SELECT id, page, heading, text, ordinal FROM chunks WHERE file_id = ? AND ordinal BETWEEN ? AND ?"
        " AND id != ? ORDER BY ordinal",
        (row["file_id"], row["ordinal"] - around, row["ordinal"] + around, chunk_id),
    ).fetchall()
    return [dict(r) for r in rows]

"""What the team adds to the library, kept beside the index in team.sqlite: passages kept in
collections, verdicts on results, watched questions.

Not in library.sqlite: that is derived from the documents, and is set aside whole when it is
rebuilt; this is the team's own work, and must outlive both. Each kept passage carries its
text, title and page, so it stays readable when its document changes or leaves the library.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .store import DB_NAME, now

TEAM_DB = "team.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    position INTEGER NOT NULL,      -- order within the collection
    question TEXT NOT NULL,         -- what was asked when it was kept
    document TEXT NOT NULL,         -- the file's name in the library
    sha256 TEXT NOT NULL,           -- of the file's content when kept: a changed file is another
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    page INTEGER,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,             -- the whole passage
    quotation TEXT NOT NULL,        -- its marked sentences
    link TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    added TEXT NOT NULL,
    UNIQUE (collection, document, sha256, page, text)
);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    filters TEXT NOT NULL,          -- JSON of index.Filters
    document TEXT NOT NULL,
    page INTEGER,
    passage TEXT NOT NULL,
    answers INTEGER NOT NULL,       -- 1: answers my question; 0: not this
    time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watched (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    filters TEXT NOT NULL,          -- JSON of index.Filters
    since TEXT NOT NULL,            -- when it was watched
    UNIQUE (question, filters)
);
CREATE TABLE IF NOT EXISTS watched_seen (
    watch_id INTEGER NOT NULL REFERENCES watched(id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    page INTEGER NOT NULL,          -- -1 for a section (a primary key's NULLs would repeat)
    first_seen TEXT NOT NULL,       -- the run that first put it in the top 10
    new INTEGER NOT NULL,           -- 1: not there when the question was watched
    PRIMARY KEY (watch_id, document, sha256, page)
);
"""


@contextmanager
def connect(index_dir: Path) -> Iterator[sqlite3.Connection]:
    """The team's store beside the index in `index_dir` (made when first used), closed after."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(Path(index_dir) / TEAM_DB, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.row_factory = sqlite3.Row
        connection.executescript(_SCHEMA)
        yield connection
    finally:
        connection.close()


def carry_over(old_index_dir: Path, new_index_dir: Path) -> bool:
    """Bring the team's store from an index set aside into its replacement (a rebuild renames
    the whole index folder); True when there was one. SQLite's backup API: a consistent copy
    even with its write-ahead log beside it."""
    old = Path(old_index_dir) / TEAM_DB
    if not old.exists():
        return False
    Path(new_index_dir).mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(old)
    target = sqlite3.connect(Path(new_index_dir) / TEAM_DB)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return True


def file_path(index_dir: Path, name: str, sha256: str) -> Path | None:
    """Where the library's file `name` with this content is on disk, while the index holds it."""
    path = Path(index_dir) / DB_NAME
    if not path.exists():
        return None
    library = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = library.execute("SELECT path FROM files WHERE name = ? AND sha256 = ? AND status = 'indexed'",
                              (name, sha256)).fetchone()
    finally:
        library.close()
    return Path(row[0]) if row else None


def indexed_files(index_dir: Path) -> set[tuple[str, str]]:
    """(name, sha256) of every document the library holds now: what kept passages are checked
    against. Empty when there is no index."""
    path = Path(index_dir) / DB_NAME
    if not path.exists():
        return set()
    library = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {(name, sha) for name, sha in library.execute("SELECT name, sha256 FROM files WHERE status = 'indexed'")}
    finally:
        library.close()


__all__ = ["TEAM_DB", "carry_over", "connect", "file_path", "indexed_files", "now"]

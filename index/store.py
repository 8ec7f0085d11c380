"""The index on disk: SQLite metadata plus FAISS and BM25 snapshots, one generation at a time.

Layout of an index directory:
    library.sqlite          files, chunks (with their vectors and BM25 tokens), meta
    dense.<gen>/            FAISS segments of generation <gen> (unchanged segments hard-linked;
                            versions before segments wrote one file, dense.<gen>.faiss)
    lexical.<gen>/          BM25 segments of generation <gen> (unchanged segments hard-linked)
    write.lock              held by the one process that writes

A passage is committed with its BM25 tokens as soon as its file is read, and its vector in a later
commit (an empty `vector` until then, `AWAITING_VECTOR`): a new file is found by its words while
its meaning is being computed. The keyword leg sees a file whole or not at all (its row and its
passages commit together); the dense leg holds the passages whose vectors are committed.

SQLite is the source of truth; a commit writes the snapshot files of the next generation first
(temp file, fsync, rename), then commits the metadata transaction that makes it current. A run
killed at any moment leaves the last committed generation intact: its files are never touched,
and the half-written next generation is swept up by the next writer. Readers take the
generation and the rows in one read transaction, so they see the old state or the new, never a
mixture.

A superseded generation's files stay for SWEEP_GRACE_SECONDS after its successor was committed:
a reader that took the generation number just before that commit is still loading them. The
snapshot files are derived data: `python -m index check --repair` rebuilds them from the vectors
and tokens in SQLite, without re-embedding anything.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .dense import DenseIndex
from .lexical import LexicalIndex, OlderFormat

SCHEMA_VERSION = "1"
DB_NAME = "library.sqlite"
LOCK_NAME = "write.lock"
# How long a superseded generation's files outlive the commit that replaced them: far longer than
# a reader needs to load them (seconds), far shorter than a library's worth of checkpoints.
SWEEP_GRACE_SECONDS = 60.0
# A passage whose vector is not computed yet (see the module docstring): SQL for "it has one".
HAS_VECTOR = "length(vector) > 0"
AWAITS_VECTOR = "length(vector) = 0"  # the condition of the index chunks_awaiting
AWAITING_VECTOR = b""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,      -- absolute path on disk
    root TEXT NOT NULL,             -- the folder it was ingested from
    name TEXT NOT NULL,             -- path relative to root: the "document" users see
    sha256 TEXT NOT NULL,
    size INTEGER,
    kind TEXT,
    title TEXT,
    pages INTEGER,
    status TEXT NOT NULL,           -- indexed | duplicate | failed
    reason TEXT,                    -- why it failed, or what it duplicates
    warnings TEXT,
    added TEXT NOT NULL,
    updated TEXT NOT NULL,
    passages_version TEXT           -- how its passages were made (sync.PASSAGES_VERSION)
);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id),
    ordinal INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    text TEXT NOT NULL,
    start INTEGER,
    end INTEGER,
    context TEXT,
    ocr INTEGER DEFAULT 0,
    language TEXT,
    text_hash TEXT NOT NULL,        -- of what was embedded, for re-use instead of re-embedding
    tokens TEXT NOT NULL,           -- BM25 tokens, space separated
    vector BLOB NOT NULL            -- empty until computed: the passage is searched by keywords only
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(text_hash);
-- The passages still waiting for their vectors: found without reading every row's vector.
CREATE INDEX IF NOT EXISTS chunks_awaiting ON chunks(file_id) WHERE length(vector) = 0;
"""


class IndexUnavailable(Exception):
    """The index cannot be used (corrupt, from another version): the message says what to do."""


@dataclass(frozen=True)
class FileRow:
    """A row of the `files` table as a run writes it (`added` and `updated` are the Writer's)."""

    path: str
    root: str
    name: str
    sha256: str
    size: int | None
    kind: str
    title: str | None
    pages: int | None
    status: str  # indexed | duplicate | failed
    reason: str | None
    warnings: str | None
    passages_version: str | None = None  # of an indexed file: how its passages were made


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def text_hash(text: str, model: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode()).hexdigest()


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Columns added since an index was made (by the writer, which holds the write lock)."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(files)")}
    if "passages_version" not in columns:
        # NULL: made before versions were kept, so read again by the next run.
        connection.execute("ALTER TABLE files ADD COLUMN passages_version TEXT")


def connect(index_dir: Path) -> sqlite3.Connection:
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(index_dir / DB_NAME, timeout=60, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.row_factory = sqlite3.Row
        connection.executescript(_SCHEMA)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise _damaged(index_dir, exc) from None
        raise IndexUnavailable(f"the index in {index_dir} is busy ({exc}); try again in a minute") from None
    except sqlite3.DatabaseError as exc:
        raise _damaged(index_dir, exc) from None
    return connection


def _damaged(index_dir: Path, exc: Exception) -> IndexUnavailable:
    return IndexUnavailable(
        f"the index in {index_dir} is damaged ({exc}); run `python -m index check --repair` "
        "or delete the folder and index again"
    )


def get_meta(connection: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def generation_of(connection: sqlite3.Connection) -> int:
    """The generation current in `connection`'s view of the index (0: nothing committed yet)."""
    return int(get_meta(connection, "generation", "0"))


def select_in(connection: sqlite3.Connection, sql: str, ids: Iterable, batch: int = 500) -> Iterator[sqlite3.Row]:
    """The rows of `sql`, whose `{marks}` stands for the values of `ids`, asked in batches under
    SQLite's limit of bound parameters."""
    ids = list(ids)
    for begin in range(0, len(ids), batch):
        part = ids[begin : begin + batch]
        yield from connection.execute(sql.format(marks=",".join("?" * len(part))), part)


def set_meta(connection: sqlite3.Connection, key: str, value) -> None:
    connection.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))


def dense_path(index_dir: Path, generation: int) -> Path:
    """The folder of a generation's FAISS segments (DenseIndex.read also finds the older single file)."""
    return index_dir / f"dense.{generation}"


def lexical_path(index_dir: Path, generation: int) -> Path:
    return index_dir / f"lexical.{generation}"


def snapshot_generations(index_dir: Path) -> dict[int, list[Path]]:
    """Generation -> its snapshot files and folders on disk (temporary files included)."""
    found: dict[int, list[Path]] = {}
    for path in index_dir.iterdir():
        parts = path.name.split(".")
        if len(parts) >= 2 and parts[0] in ("dense", "lexical") and parts[1].isdigit():
            found.setdefault(int(parts[1]), []).append(path)
    return found


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


@dataclass
class Snapshot:
    """What a reader loads for one generation."""

    generation: int
    model: str
    dimension: int
    dense: DenseIndex | None
    lexical: LexicalIndex


def load_snapshot(index_dir: Path, connection: sqlite3.Connection) -> Snapshot:
    """Load the generation that `connection`'s open read transaction sees."""
    generation = generation_of(connection)
    model = get_meta(connection, "model", "")
    dimension = int(get_meta(connection, "dimension", "0") or 0)
    if generation == 0:
        return Snapshot(0, model, dimension, None, LexicalIndex.build([], []))
    try:
        dense = DenseIndex.read(dense_path(index_dir, generation)).load()
        try:
            lexical = LexicalIndex.load(lexical_path(index_dir, generation))
        except OlderFormat:
            # An index written before BM25 segments: rebuilt in memory from the stored tokens
            # (the same transaction's rows) until the next commit writes the current format.
            rows = connection.execute("SELECT id, tokens FROM chunks ORDER BY id").fetchall()
            lexical = LexicalIndex.build([r[0] for r in rows], [r[1].split() for r in rows])
    except (RuntimeError, OSError, ValueError) as exc:
        raise IndexUnavailable(
            f"the search files of the index in {index_dir} are missing or damaged ({str(exc)[:120]}); "
            "run `python -m index check --repair`"
        ) from None
    return Snapshot(generation, model, dimension, dense, lexical)


class Writer:
    """Changes to the index, applied in one transaction per `commit()`.

    Hold the directory's write lock (see `sync.index_lock`) while a Writer is in use.
    """

    def __init__(self, index_dir: Path, model: str, dimension: int, milestone: Callable[[str], None] | None = None):
        """`milestone` hears "snapshot" and "committed" at those points of each commit (see
        sync.update)."""
        self.index_dir = index_dir
        self.connection = connect(index_dir)
        _add_missing_columns(self.connection)
        self.model = model
        self.dimension = dimension
        self.milestone = milestone or (lambda name: None)
        self._dense = None
        self._lexical: LexicalIndex | None = None  # last committed BM25, updated in place of a rebuild
        self._lexical_full = False  # rebuild BM25 from every stored row at the next commit
        self._removed_ids: list[int] = []
        self._added: list[int] = []  # passages added in this transaction (BM25)
        self._vectors: dict[int, np.ndarray] = {}  # vectors added in this transaction (FAISS)
        self._begun = False
        self.sweep()

    # -- reading what is there -------------------------------------------------------------
    def files(self) -> dict[str, sqlite3.Row]:
        return {row["path"]: row for row in self.connection.execute("SELECT * FROM files")}

    def stored_model(self) -> tuple[str | None, int]:
        return get_meta(self.connection, "model"), int(get_meta(self.connection, "dimension", "0") or 0)

    def cached_vectors(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these embedding texts (unchanged passages)."""
        return {
            row[0]: np.frombuffer(row[1], dtype=np.float32)
            for row in select_in(self.connection, f"SELECT text_hash, vector FROM chunks WHERE {HAS_VECTOR} AND text_hash IN ({{marks}})", hashes)
        }

    def awaiting_vectors(self, limit: int) -> list[sqlite3.Row]:
        """Up to `limit` passages committed without their vector (this run's, or those a killed
        run left), file by file: a file's vectors come together."""
        return self.connection.execute(
            f"SELECT id, context, text, text_hash FROM chunks WHERE {AWAITS_VECTOR} ORDER BY file_id, id LIMIT ?", (limit,)
        ).fetchall()

    # -- changing it ------------------------------------------------------------------------
    def _begin(self) -> None:
        if not self._begun:
            self.connection.execute("BEGIN IMMEDIATE")
            self._begun = True

    def reset(self, model: str, dimension: int) -> None:
        """Forget every passage: a new model means every vector must be recomputed."""
        self._begin()
        self.connection.execute("DELETE FROM chunks")
        self.connection.execute("DELETE FROM files")
        set_meta(self.connection, "model", model)
        set_meta(self.connection, "dimension", dimension)
        self._dense = DenseIndex.empty(dimension)
        self._lexical = LexicalIndex.build([], [])
        self._removed_ids.clear()

    def remove_file(self, file_id: int) -> int:
        self._begin()
        ids = [r[0] for r in self.connection.execute("SELECT id FROM chunks WHERE file_id = ?", (file_id,))]
        self.connection.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        self.connection.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self._removed_ids.extend(ids)
        return len(ids)

    def put_file(self, row: FileRow) -> int:
        """Insert or replace a file row (by path); returns its id."""
        self._begin()
        fields = asdict(row)
        existing = self.connection.execute("SELECT id, added FROM files WHERE path = ?", (fields["path"],)).fetchone()
        fields["added"] = existing["added"] if existing else now()
        fields["updated"] = now()
        if existing:
            columns = ", ".join(f"{k} = ?" for k in fields)
            self.connection.execute(f"UPDATE files SET {columns} WHERE id = ?", (*fields.values(), existing["id"]))
            return int(existing["id"])
        columns = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        return int(self.connection.execute(f"INSERT INTO files({columns}) VALUES ({marks})", tuple(fields.values())).lastrowid)

    def add_chunks(self, file_id: int, rows: list[dict], vectors) -> None:
        """A file's passages; a vector of None is computed later (`set_vectors`): until then the
        passage is found by BM25 only."""
        self._begin()
        cursor = self.connection.cursor()
        for ordinal, (row, vector) in enumerate(zip(rows, vectors)):
            cursor.execute(
                "INSERT INTO chunks(file_id, ordinal, page, heading, text, start, end, context, ocr, language,"
                " text_hash, tokens, vector) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    file_id, ordinal, row["page"], row["heading"], row["text"], row["start"], row["end"],
                    row["context"], int(row["ocr"]), row["language"], row["text_hash"], row["tokens"],
                    AWAITING_VECTOR if vector is None else np.asarray(vector, dtype=np.float32).tobytes(),
                ),
            )
            self._added.append(int(cursor.lastrowid))
            if vector is not None:
                self._vectors[int(cursor.lastrowid)] = vector

    def set_vectors(self, ids: list[int], vectors: np.ndarray) -> None:
        """The computed vectors of passages stored without one (`awaiting_vectors`)."""
        self._begin()
        for chunk_id, vector in zip(ids, vectors):
            vector = np.asarray(vector, dtype=np.float32)
            changed = self.connection.execute(
                f"UPDATE chunks SET vector = ? WHERE id = ? AND {AWAITS_VECTOR}", (vector.tobytes(), int(chunk_id))).rowcount
            if changed:
                self._vectors[int(chunk_id)] = vector

    def remove_orphans(self) -> int:
        """Delete passages whose file row is gone (only a damaged database has them)."""
        self._begin()
        return self.connection.execute(
            "DELETE FROM chunks WHERE file_id NOT IN (SELECT id FROM files)").rowcount

    def rebuild_snapshots(self) -> int:
        """Write a new generation whose FAISS and BM25 files are rebuilt from SQLite; returns it.

        For repairs: the stored vectors and tokens are the source of truth, nothing is re-embedded.
        """
        self._begin()
        self._dense = self._rebuild_dense()
        self._lexical_full = True
        self._removed_ids.clear()
        self._added.clear()
        self._vectors.clear()
        return self.commit()

    @property
    def pending(self) -> bool:
        return self._begun

    def commit(self) -> int:
        """Write the next generation's FAISS and BM25 files, then make it current. Returns it."""
        if not self._begun:
            return generation_of(self.connection)
        generation = generation_of(self.connection) + 1
        dense = self._dense_after_changes()
        lexical = self._lexical_after_changes()
        # Both folders are new (a leftover of a run killed in its commit is cleared first), and
        # the generation is made current only after they are on disk.
        folder = dense_path(self.index_dir, generation)
        shutil.rmtree(folder, ignore_errors=True)
        dense.save(folder)
        _fsync_tree(folder)
        folder = lexical_path(self.index_dir, generation)
        shutil.rmtree(folder, ignore_errors=True)
        lexical.save(folder)
        _fsync_tree(folder)
        _fsync_dir(self.index_dir)
        self.milestone("snapshot")  # files of the next generation on disk, not yet current
        set_meta(self.connection, "generation", generation)
        set_meta(self.connection, "model", self.model)
        set_meta(self.connection, "dimension", self.dimension)
        set_meta(self.connection, "updated", now())
        set_meta(self.connection, "schema", SCHEMA_VERSION)
        self.connection.execute("COMMIT")
        self._begun = False
        self._dense = dense
        self._lexical, self._lexical_full = lexical, False
        self._removed_ids.clear()
        self._added.clear()
        self._vectors.clear()
        self.milestone("committed")  # the new generation is current, the old not yet swept
        self.sweep()
        return generation

    def rollback(self) -> None:
        if self._begun:
            self.connection.execute("ROLLBACK")
            self._begun = False
        self._dense = None
        self._lexical = None
        self._removed_ids.clear()
        self._added.clear()
        self._vectors.clear()

    def close(self) -> None:
        self.rollback()
        try:
            # Fold the WAL back into the database file now, without waiting for readers.
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.DatabaseError:
            pass
        self.connection.close()

    # -- snapshot files -----------------------------------------------------------------------
    def _dense_after_changes(self) -> DenseIndex:
        """The last generation's segments with this transaction's removals marked and its
        additions as one new segment: costs what changed, not the library's size (see dense.py)."""
        previous = self._dense if self._dense is not None else self._load_dense()
        if previous is None:
            return self._rebuild_dense()  # SQLite already holds this transaction's changes
        added = dict(self._vectors)
        if self._removed_ids:  # some may have been added, then removed again
            present = {r[0] for r in select_in(self.connection, "SELECT id FROM chunks WHERE id IN ({marks})", added)}
            added = {i: vector for i, vector in added.items() if i in present}
        ids = np.fromiter(added, dtype=np.int64, count=len(added))
        vectors = np.vstack(list(added.values())) if added else np.zeros((0, self.dimension), np.float32)
        try:
            dense = previous.updated(self._removed_ids, ids, vectors, self._stored_vectors)
        except KeyError:  # a merge met an id without a row: the snapshot disagrees with SQLite
            return self._rebuild_dense()
        if dense.ntotal != self.connection.execute(f"SELECT COUNT(*) FROM chunks WHERE {HAS_VECTOR}").fetchone()[0]:
            # The incremental update disagrees with SQLite (a snapshot damaged on disk): the rows win.
            return self._rebuild_dense()
        return dense

    def _stored_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The vectors SQLite holds for these chunk ids, in their order (KeyError for one it lacks)."""
        found = {
            row[0]: row[1]
            for row in select_in(self.connection, "SELECT id, vector FROM chunks WHERE id IN ({marks})", ids.tolist())
        }
        return np.vstack([np.frombuffer(found[i], dtype=np.float32) for i in ids.tolist()])

    def _load_dense(self) -> DenseIndex | None:
        """The current generation's segments (their FAISS files are not read: see dense.Segment)."""
        generation = generation_of(self.connection)
        if not generation:
            return DenseIndex.empty(self.dimension)
        try:
            return DenseIndex.read(dense_path(self.index_dir, generation))
        except (RuntimeError, OSError, ValueError, KeyError):  # missing or damaged: rebuilt from the rows
            return None

    def _rebuild_dense(self) -> DenseIndex:
        """A fresh FAISS index from the vectors stored in SQLite (they are the source of truth)."""
        ids, vectors = [], []
        for row in self.connection.execute(f"SELECT id, vector FROM chunks WHERE {HAS_VECTOR} ORDER BY id"):
            ids.append(row[0])
            vectors.append(np.frombuffer(row[1], dtype=np.float32))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, self.dimension), dtype=np.float32)
        return DenseIndex.built(self.dimension, np.asarray(ids, dtype=np.int64), matrix)

    def _lexical_after_changes(self) -> LexicalIndex:
        """The last generation's BM25 with this transaction's removals and additions.

        Costs what changed, not the library's size (see lexical.LexicalIndex); rebuilt from every
        stored row when there is no usable previous generation or it disagrees with SQLite.
        """
        previous = self._lexical if self._lexical is not None else self._load_lexical()
        if previous is None or self._lexical_full:
            return self._lexical_from_rows()
        if not self._added and not self._removed_ids:
            return previous  # a commit of vectors only: BM25 as it was (its segment files are linked)
        ids = self._added
        tokens = {
            row[0]: row[1].split()
            for row in select_in(self.connection, "SELECT id, tokens FROM chunks WHERE id IN ({marks})", ids)
        }
        ids = list(dict.fromkeys(i for i in ids if i in tokens))  # some were added, then removed again
        lexical = previous.updated(self._removed_ids, ids, [tokens[i] for i in ids])
        if len(lexical) != self.connection.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]:
            return self._lexical_from_rows()
        return lexical

    def _load_lexical(self) -> LexicalIndex | None:
        generation = generation_of(self.connection)
        if not generation:
            return LexicalIndex.build([], [])
        try:
            return LexicalIndex.load(lexical_path(self.index_dir, generation))
        except Exception:  # missing, damaged or of an older format: rebuilt from the rows
            return None

    def _lexical_from_rows(self) -> LexicalIndex:
        ids, tokens = [], []
        for row in self.connection.execute("SELECT id, tokens FROM chunks ORDER BY id"):
            ids.append(row[0])
            tokens.append(row[1].split())
        return LexicalIndex.build(ids, tokens)

    def sweep(self) -> None:
        """Delete snapshot files no reader can need any more.

        Kept: the current generation, the previous one, and any older one whose successor was
        committed less than SWEEP_GRACE_SECONDS ago (a reader may have just taken its number).
        Generations above the current one were never committed (a run killed in its commit).
        Call with the write lock held.
        """
        generation = generation_of(self.connection)
        on_disk = snapshot_generations(self.index_dir)
        cutoff = time.time() - SWEEP_GRACE_SECONDS
        for number, paths in on_disk.items():
            if number in (generation, generation - 1):
                continue
            if number < generation:
                successor = [p for p in on_disk.get(number + 1, []) if p.exists()]
                try:
                    if any(p.stat().st_mtime > cutoff for p in successor):
                        continue
                except FileNotFoundError:
                    pass
            for path in paths:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

"""`python -m index check [--repair] [--json]`: do the search files, the metadata and the files on disk agree?

SQLite holds the truth about the index (files, passages, their vectors and BM25 tokens); the
FAISS and BM25 files of the current generation are derived from it, and the files on disk are
what it describes. `inspect` compares the three and names every discrepancy:

    snapshot     the search files of the current generation are missing, damaged, or hold other
                 passages than the metadata (FAISS id without row, row without FAISS id, a FAISS
                 vector that differs from the stored one, BM25 entries that differ)
    metadata     passages without their file, a duplicate whose original is no longer indexed
    disk         a file that vanished, or whose content (sha256) changed since it was indexed

`repair_index` fixes each at the lowest cost: files that changed or vanished (and the duplicates of
their content) go through an ordinary incremental `update` of just those paths; a bad snapshot
is rebuilt from the vectors and tokens stored in SQLite, so nothing is re-embedded.

Exit codes: 0 consistent (or repaired), 1 discrepancies remain, 3 no usable index.

    >>> from index.check import inspect
    >>> report = inspect(settings)            # doctest: +SKIP
    >>> [problem.kind for problem in report.problems]   # doctest: +SKIP
    ['file changed on disk']
"""
from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import settings as config

from .dense import DenseIndex
from .lexical import LexicalIndex, OlderFormat
from .store import (
    DB_NAME, HAS_VECTOR, IndexUnavailable, Writer, connect, dense_path, generation_of, get_meta, lexical_path, select_in,
    snapshot_generations,
)

# How a problem is repaired: rebuild the snapshot from SQLite, or re-index the files concerned.
SNAPSHOT, REINDEX, NONE = "snapshot", "reindex", "none"
# How many ids a message lists before "and N more".
_EXAMPLES = 5
# Vectors compared per batch when FAISS and SQLite are checked against each other.
_VECTOR_BATCH = 5000


@dataclass
class Problem:
    """One discrepancy: what kind, in words, and the file on disk it concerns (if one)."""

    kind: str
    detail: str
    fix: str  # SNAPSHOT | REINDEX | NONE
    document: str | None = None
    path: str | None = None


@dataclass
class CheckReport:
    index_dir: str
    generation: int = 0
    documents: int = 0
    passages: int = 0
    model: str | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # harmless findings (leftovers of a killed run)

    @property
    def consistent(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {**asdict(self), "consistent": self.consistent}


def _ids_text(ids) -> str:
    ids = sorted(ids)
    shown = ", ".join(str(i) for i in ids[:_EXAMPLES])
    return shown + (f" and {len(ids) - _EXAMPLES} more" if len(ids) > _EXAMPLES else "")


def _check_vectors(dense: DenseIndex, connection: sqlite3.Connection, ids: list[int], report: CheckReport) -> None:
    """Compare FAISS's vectors with the stored ones, where the index type can give them back."""
    differing = []
    for begin in range(0, len(ids), _VECTOR_BATCH):
        batch = ids[begin : begin + _VECTOR_BATCH]
        got = dense.vectors(np.asarray(batch, dtype=np.int64))
        if got is None:  # index types without reconstruction (IVF without a direct map, PQ)
            return
        stored = {
            row[0]: np.frombuffer(row[1], dtype=np.float32)
            for row in select_in(connection, "SELECT id, vector FROM chunks WHERE id IN ({marks})", batch)
        }
        for chunk_id, vector in zip(batch, got):
            want = stored.get(chunk_id)
            if want is not None and (want.shape != vector.shape or not np.allclose(want, vector, atol=1e-4)):
                differing.append(chunk_id)
    if differing:
        report.problems.append(Problem(
            "FAISS vector differs", f"{len(differing)} FAISS vectors differ from the stored ones (ids {_ids_text(differing)})",
            SNAPSHOT))


def _check_snapshot(index_dir: Path, connection: sqlite3.Connection, report: CheckReport, row_ids: set[int],
                    vector_ids: set[int]) -> None:
    """BM25 must hold every passage, FAISS those whose vectors are computed (`vector_ids`)."""
    generation = report.generation
    on_disk = snapshot_generations(index_dir)
    newer = sorted(g for g in on_disk if g > generation)
    if newer:
        report.notes.append(
            f"files of generation {', '.join(map(str, newer))} were left by an interrupted run"
            " (never current; the next run or --repair removes them)")
    if generation == 0:
        if row_ids:
            report.problems.append(Problem(
                "generation mismatch", f"{len(row_ids)} passages stored but no search files were ever committed", SNAPSHOT))
        return
    older = sorted(g for g in on_disk if g < generation)
    elsewhere = f" (generations on disk: {', '.join(map(str, older + newer))})" if older or newer else ""

    path = dense_path(index_dir, generation)
    if not path.exists() and not path.with_name(path.name + ".faiss").exists():
        report.problems.append(Problem(
            "snapshot file missing", f"{path.name}/ of the current generation {generation} is missing{elsewhere}", SNAPSHOT))
    else:
        try:
            dense = DenseIndex.read(path).load()
        except Exception as exc:  # FAISS, numpy and json raise their own errors on damaged files
            report.problems.append(Problem(
                "snapshot file corrupt", f"{path.name} cannot be loaded ({type(exc).__name__}: {str(exc)[:120]})", SNAPSHOT))
        else:
            _check_dense(dense, connection, report, vector_ids)

    folder = lexical_path(index_dir, generation)
    if not folder.is_dir():
        report.problems.append(Problem(
            "snapshot file missing", f"{folder.name}/ of the current generation {generation} is missing{elsewhere}", SNAPSHOT))
        return
    try:
        lexical = LexicalIndex.load(folder)
    except OlderFormat:
        report.problems.append(Problem(
            "snapshot of an older format", f"{folder.name}/ was written by an earlier version (searches rebuild it"
            " in memory at every load; --repair writes it anew from the stored tokens)", SNAPSHOT))
        return
    except Exception as exc:  # numpy and json raise their own errors on damaged files
        report.problems.append(Problem(
            "snapshot file corrupt", f"{folder.name}/ cannot be loaded ({type(exc).__name__}: {str(exc)[:120]})", SNAPSHOT))
        return
    lexical_ids = [int(i) for i in lexical.chunk_ids]
    if len(set(lexical_ids)) != len(lexical_ids):
        report.problems.append(Problem("BM25 mismatch", "a chunk id appears twice in the BM25 index", SNAPSHOT))
    _report_id_differences(
        set(lexical_ids), row_ids, report,
        ("BM25 mismatch", "BM25 entries without a passage row"), ("BM25 mismatch", "passages missing from BM25"),
    )


def _report_id_differences(
    found: set[int], row_ids: set[int], report: CheckReport, extra: tuple[str, str], missing: tuple[str, str]
) -> None:
    """One problem for ids a search file holds without a row, one for rows it lacks."""
    for ids, (kind, what) in ((found - row_ids, extra), (row_ids - found, missing)):
        if ids:
            report.problems.append(Problem(kind, f"{len(ids)} {what} (ids {_ids_text(ids)})", SNAPSHOT))


def _check_dense(dense: DenseIndex, connection: sqlite3.Connection, report: CheckReport, row_ids: set[int]) -> None:
    dimension = int(get_meta(connection, "dimension", "0") or 0)
    if dimension and dense.dimension != dimension:
        report.problems.append(Problem(
            "FAISS dimension mismatch", f"FAISS holds {dense.dimension}-dimensional vectors, the model gives {dimension}", SNAPSHOT))
        return
    ids = dense.ids()
    if ids is None:
        if dense.ntotal != len(row_ids):
            report.problems.append(Problem(
                "FAISS count mismatch", f"FAISS holds {dense.ntotal} vectors for {len(row_ids)} passages", SNAPSHOT))
        return
    unique = set(int(i) for i in ids)
    if len(unique) != len(ids):
        report.problems.append(Problem("FAISS id twice", f"{len(ids) - len(unique)} FAISS ids appear more than once", SNAPSHOT))
    _report_id_differences(
        unique, row_ids, report,
        ("FAISS id without row", "FAISS ids have no passage row"), ("row without FAISS id", "passages are missing from FAISS"),
    )
    _check_vectors(dense, connection, sorted(unique & row_ids), report)


def _check_rows(connection: sqlite3.Connection, report: CheckReport) -> list[sqlite3.Row]:
    files = connection.execute("SELECT id, path, name, sha256, status, reason FROM files ORDER BY name").fetchall()
    orphans = [r[0] for r in connection.execute(
        "SELECT c.id FROM chunks c LEFT JOIN files f ON f.id = c.file_id WHERE f.id IS NULL")]
    if orphans:
        report.problems.append(Problem(
            "passage without file", f"{len(orphans)} passages belong to no file (ids {_ids_text(orphans)})", SNAPSHOT))
    indexed_names = {row["name"] for row in files if row["status"] == "indexed"}
    for row in files:
        if row["status"] == "duplicate" and row["reason"] not in indexed_names:
            report.problems.append(Problem(
                "duplicate of nothing", f"recorded as a duplicate of {row['reason']}, which is not indexed", REINDEX,
                row["name"], row["path"]))
    return files


def _check_disk(files: list[sqlite3.Row], report: CheckReport, settings: config.Settings) -> None:
    from ingest.containers import container_of, expanded

    from .sync import sha256_of

    for row in files:
        if row["status"] == "failed" and not row["sha256"]:
            # Never read, so nothing to compare: a link out of the library (whose target a repair
            # must not read either) or a file that could not be opened; the next run tries again.
            continue
        path = Path(row["path"])
        container = None if path.is_file() else container_of(row["path"])
        if container is not None:  # a member of a ZIP package or of a mail: a repair reads its container again
            if not expanded(container, row["name"], row["sha256"], settings):
                report.problems.append(Problem(
                    "file changed on disk", f"{container.name} changed, or its copy of this member is gone",
                    REINDEX, row["name"], str(container)))
            continue
        if not path.is_file():
            report.problems.append(Problem("file missing on disk", f"{row['path']} no longer exists", REINDEX, row["name"], row["path"]))
            continue
        try:
            sha = sha256_of(path)
        except OSError as exc:
            report.problems.append(Problem("file unreadable", f"{row['path']}: {exc.strerror or exc}", REINDEX, row["name"], row["path"]))
            continue
        if sha != row["sha256"]:
            report.problems.append(Problem(
                "file changed on disk", "its content (sha256) differs from what was indexed", REINDEX, row["name"], row["path"]))


def inspect(settings: config.Settings, disk: bool = True) -> CheckReport:
    """Every discrepancy between the search files, the metadata and (with `disk`) the files.

    Reads the generation and the rows in one read transaction, like a search: a commit by a
    concurrent run is seen whole or not at all. Raises IndexUnavailable when there is no index.
    """
    index_dir = Path(settings.index_dir)
    report = CheckReport(str(index_dir))
    if not (index_dir / DB_NAME).exists():
        raise IndexUnavailable(f"no index in {index_dir}: run `python -m ingest` first")
    connection = connect(index_dir)
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            report.problems.append(Problem(
                "database damaged", f"SQLite reports: {verdict[:200]} (delete the folder and index again)", NONE))
            return report
        connection.execute("BEGIN")
        report.generation = generation_of(connection)
        report.model = get_meta(connection, "model")
        row_ids = {r[0] for r in connection.execute("SELECT id FROM chunks")}
        vector_ids = {r[0] for r in connection.execute(f"SELECT id FROM chunks WHERE {HAS_VECTOR}")}
        report.passages = len(row_ids)
        files = _check_rows(connection, report)
        report.documents = sum(row["status"] == "indexed" for row in files)
        _check_snapshot(index_dir, connection, report, row_ids, vector_ids)
        if len(vector_ids) < len(row_ids):
            report.notes.append(
                f"{len(row_ids) - len(vector_ids)} passages are searched by their words only: their vectors are still"
                " being computed (or a run was interrupted; the next run computes them)")
        connection.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        report.problems.append(Problem("database damaged", f"SQLite reports: {exc} (delete the folder and index again)", NONE))
        return report
    finally:
        connection.close()
    if disk:
        _check_disk(files, report, settings)
    return report


def _reindex_paths(settings: config.Settings, problems: list[Problem]) -> list[Path]:
    """The files to run through `update`: those concerned, and every duplicate of their content.

    A duplicate of a file that changed or vanished must take its place, as it would in a rebuild.
    """
    paths = {p.path for p in problems if p.fix == REINDEX and p.path}
    if not paths:
        return []
    connection = connect(Path(settings.index_dir))
    try:
        rows = connection.execute("SELECT path, sha256, status FROM files").fetchall()
    finally:
        connection.close()
    contents = {row["sha256"] for row in rows if row["path"] in paths}
    paths |= {row["path"] for row in rows if row["status"] == "duplicate" and row["sha256"] in contents}
    return [Path(p) for p in sorted(paths)]


def repair_index(settings: config.Settings, report: CheckReport) -> list[str]:
    """Fix what `report` found at the lowest cost; returns what was done, in words."""
    from .sync import index_lock, update

    done: list[str] = []
    paths = _reindex_paths(settings, report.problems)
    if paths:
        run = update(paths, settings)
        done.append(
            f"re-indexed {len(paths)} file(s): {len(run.added) + len(run.updated)} read again, {len(run.removed)} removed,"
            f" {len(run.duplicates)} duplicate(s), {run.chunks_embedded} passage(s) embedded")
    after = inspect(settings, disk=False)
    with index_lock(Path(settings.index_dir)):
        model = after.model or settings.model
        connection = connect(Path(settings.index_dir))
        dimension = int(get_meta(connection, "dimension", "0") or 0)
        connection.close()
        writer = Writer(Path(settings.index_dir), model, dimension)  # its start sweeps leftovers
        try:
            if any(p.fix == SNAPSHOT for p in after.problems):
                orphans = writer.remove_orphans()
                generation = writer.rebuild_snapshots()
                done.append(
                    f"rebuilt the search files (generation {generation}) from the stored vectors and tokens"
                    + (f", {orphans} passage(s) without a file removed" if orphans else ""))
        finally:
            writer.close()
    return done


def _print(report: CheckReport, title: str) -> None:
    print(f"{title}: {report.index_dir} (generation {report.generation}, {report.documents} documents,"
          f" {report.passages} passages, model {report.model})")
    for problem in report.problems:
        where = f"{problem.document}: " if problem.document else ""
        print(f"  {problem.kind:<24} {where}{problem.detail}")
    for note in report.notes:
        print(f"  note                     {note}")


def main(settings: config.Settings, repair: bool = False, as_json: bool = False) -> int:
    """The `check` command: 0 consistent (or repaired), 1 discrepancies remain, 3 no usable index."""
    try:
        found = inspect(settings)
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    actions: list[str] = []
    final = found
    if repair and found.problems and not any(p.fix == NONE for p in found.problems):
        try:
            actions = repair_index(settings, found)
        except IndexUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        final = inspect(settings)
    if as_json:
        print(json.dumps({
            **found.as_dict(), "repaired": actions,
            "remaining": [asdict(p) for p in final.problems], "consistent_after": final.consistent,
        }, ensure_ascii=False))
    else:
        _print(found, "index")
        for action in actions:
            print(f"repaired: {action}")
        if actions:
            for problem in final.problems:
                print(f"  still: {problem.kind}: {problem.document or ''} {problem.detail}")
        if final.consistent:
            print("consistent" if not actions else "consistent after repair")
        else:
            count = len(final.problems)
            print(f"{count} {'discrepancy' if count == 1 else 'discrepancies'}" + ("" if repair else "; run with --repair to fix them"))
    return 0 if final.consistent else 1


"""An indexing run: find what changed on disk, read and embed only that, commit it.

Files are known by path and sha256. New and changed files are read and embedded; passages whose
embedding text is unchanged re-use their stored vectors; deleted files lose their passages; a
file whose content is already indexed under another name is recorded as its duplicate. A ZIP
package or an e-mail is first expanded into its members (ingest.containers), each then a file
like any other, known by its path under the container and the sha256 of its own bytes.

A run commits in two steps, so that a file is searchable as soon as it is read: first the files
it reads with their passages and BM25 tokens (after the first file, then every
KEYWORDS_COMMIT_SECONDS, or `settings.checkpoint_seconds` if sooner), the passages' vectors
left empty; then the vectors, EMBED_BATCH passages a commit. Each commit is a consistent state
(a file's row and its passages change together; a passage's vector comes whole), so a run killed
at any moment leaves the last commit, and the next run picks up from there (passages still
without a vector are embedded, not read again) to the same result as an uninterrupted one.
"""
from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

import settings as config
from ingest import (
    ReaderMemory, ReadError, SourceFile, chunk_document, discover, embedding_text, expand_sources, read_files,
    run_in_reader,
)
from ingest.containers import sweep as sweep_containers
from ingest.discover import sha256_of
from ingest.properties import OFFICE_KINDS, file_properties

from . import curation, labels, metadata, renditions
from .embedder import load_embedder
from .lexical import tokenize
from .plan import Duplicate, Plan, given, plan
from .store import FileRow, Writer, connect, get_meta, text_hash

log = logging.getLogger("pxs.index")
# Passages embedded, and their vectors committed, at a time: small files alone would make tiny batches.
EMBED_BATCH = 256
# How a file becomes passages: ingest's readers, cleaning, chunking, titles and headings, and the
# BM25 tokens. A file indexed by another version is read again by the next run (its passages whose
# text did not change keep their vectors), so an upgrade reaches the library without a rebuild.
# Change it with any of them.
PASSAGES_VERSION = "2026-12-08"
# While files are read, their passages are committed (searchable by keywords) at least this often.
KEYWORDS_COMMIT_SECONDS = 5.0


class IndexBusy(Exception):
    """Another process is writing to the index."""


@dataclass
class Progress:
    """What a progress bar needs: files read so far of how many, passages embedded so far of how
    many found so far (files still to read may add more); in the "pages" stage, `files_total` is
    how many files' pages are being laid out."""

    stage: str  # "wait" (for another run's lock) | "scan" | "read" | "embed" | "commit" | "labels" | "metadata" | "pages" | "done"
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    current: str = ""
    chunks_total: int = 0


@dataclass
class RunReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (name, duplicate of)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    unsupported: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    passages: dict[str, int] = field(default_factory=dict)  # name -> passages indexed this run
    read_seconds: dict[str, float] = field(default_factory=dict)  # name -> seconds its reader took
    pages_read: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    files_labelled: int = 0  # files given their stage, kind and topic labels (labels.py)
    files_described: int = 0  # files whose country, year, organisation, type... were looked for (metadata.py)
    seconds: dict[str, float] = field(default_factory=dict)
    # Peak resident memory in MB: "indexing", the process that ran the indexing (for `python -m
    # ingest`, the run itself; in the app, the app's process since it started), and "readers",
    # the largest of the child processes that read this run's files (with Tesseract or LibreOffice).
    peak_memory_mb: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def index_lock(index_dir: Path, timeout: float = -1):
    """The write lock of an index directory (a file lock: one writer at a time, across processes)."""
    from filelock import FileLock

    index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(index_dir / "write.lock"), timeout=timeout)


def _known_name(source: SourceFile, existing: dict) -> SourceFile:
    """A file given on its own keeps the document name it has in the index.

    `python -m ingest lib/sub/a.pdf` (or a repair of that one file) must not turn the document
    "sub/a.pdf" of the library into "a.pdf".
    """
    row = existing.get(str(source.path))
    if row is None:
        return source
    return replace(source, root=Path(row["root"]), name=row["name"])


class _Run:
    def __init__(self, settings: config.Settings, progress: Callable[[Progress], None] | None,
                 milestone: Callable[[str], None] | None = None):
        self.settings = settings
        self.progress = progress or (lambda event: None)
        self.milestone = milestone or (lambda name: None)
        self.report = RunReport()
        self.writer: Writer | None = None
        self._embedder = None
        self.counter = load_embedder(settings.model).token_counter
        self.last_commit = time.monotonic()
        self.state = Progress("scan")
        self.timers = {"read": 0.0, "embed": 0.0, "commit": 0.0, "labels": 0.0, "metadata": 0.0, "pages": 0.0}
        self.reader_memory = ReaderMemory()

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.settings.model)
            if self.settings.cluster:
                from .cluster import ClusterEmbedder  # the engine is imported only for a cluster run

                self._embedder = ClusterEmbedder(self._embedder, self.settings.cluster)
        return self._embedder

    def tell(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        self.progress(self.state)

    # -- the run ------------------------------------------------------------------------------
    def run(self, paths: list[Path]) -> RunReport:
        started = time.monotonic()
        files, scanned, unsupported = discover(paths)
        files, unsupported_members = expand_sources(
            files, self.settings, lambda path, settings, task: run_in_reader(path, settings, task, self.reader_memory))
        self.report.unsupported = [str(p) for p in unsupported if p.exists()] + unsupported_members
        missing_files = {str(Path(p).resolve()) for p in paths if not Path(p).exists()}
        self.writer = Writer(self.settings.index_dir, self.settings.model, 0, milestone=self.milestone)
        try:
            self._check_model()
            decided, files_total = self._plan(paths, files, [folder for _, folder in scanned], missing_files)
            self.report.unchanged.extend(source.name for source in decided.unchanged)
            for duplicate in decided.duplicates:
                self._record_duplicate(duplicate)
            self._read(decided.to_read, files_total - len(decided.to_read))
            for row in decided.removed:
                self.writer.remove_file(row["id"])
                self.report.removed.append(row["name"])
            self._commit()
            self.milestone("keywords")  # every file read is searchable by its words, not yet by meaning
            self._embed()
            self._label_pages()
            self._find_metadata()
            self._lay_out_pages()
            sweep_containers(self.settings, {row[0] for row in self.writer.connection.execute("SELECT sha256 FROM files")})
        finally:
            self.writer.close()
            if self.settings.cluster and self._embedder is not None:
                self._embedder.close()  # the cluster's client, and the cluster itself if it is local
        self.report.seconds = {k: round(v, 2) for k, v in self.timers.items()}
        self.report.seconds["total"] = round(time.monotonic() - started, 2)
        self.report.peak_memory_mb = {
            "indexing": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "readers": round(self.reader_memory.peak_mb, 1),
        }
        self.tell(stage="done")
        return self.report

    def _plan(self, paths: list[Path], files: list[SourceFile], scanned_folders: list[Path],
              missing_files: set[str]) -> tuple[Plan, int]:
        """The plan of this run (see plan.py) and how many files it found. Files that cannot be
        hashed (a link out of the library, a file that cannot be opened) are failures already."""
        existing = self.writer.files()
        given_files = {str(Path(p).resolve()) for p in paths if Path(p).is_file()}
        files = [_known_name(f, existing) if given(str(f.path), given_files) else f for f in files]
        self.tell(stage="scan", files_total=len(files))
        shas: dict[str, str] = {}
        for source in files:
            if source.refused:  # a link out of the library: its target is not even hashed
                self._record_failure(source, "", existing.get(str(source.path)), source.refused)
                continue
            try:
                shas[str(source.path)] = sha256_of(source.file)
            except OSError as exc:
                self._record_failure(source, "", existing.get(str(source.path)),
                                     f"cannot be opened ({exc.strerror or exc})")
        return plan(files, shas, existing, scanned_folders, missing_files, PASSAGES_VERSION), len(files)

    def _check_model(self) -> None:
        stored_model, stored_dimension = self.writer.stored_model()
        if stored_model == self.settings.model:
            self.writer.dimension = stored_dimension
            return
        dimension = self.embedder.dimension
        if stored_model:
            # Vectors of two models are not comparable: switching re-embeds everything.
            self.writer.reset(self.settings.model, dimension)
        self.writer.dimension = dimension

    def _record_duplicate(self, duplicate: Duplicate) -> None:
        source = duplicate.source
        if duplicate.previous is not None:
            self.writer.remove_file(duplicate.previous["id"])
        self.writer.put_file(FileRow(
            path=str(source.path), root=str(source.root), name=source.name, sha256=duplicate.sha,
            size=source.file.stat().st_size, kind=source.path.suffix.lower().lstrip("."), title=None,
            pages=None, status="duplicate", reason=duplicate.original, warnings=None,
        ))
        self.report.duplicates.append((source.name, duplicate.original))

    def _read(self, to_read: list, done_before: int) -> None:
        """Read the files, each written with its passages and their BM25 tokens (vectors re-used
        where the same text was embedded before, else left to `_embed`), committed as they come."""
        done = done_before
        sources = {str(source.file): (source, sha, row) for source, sha, row in to_read}
        clock = time.monotonic()
        committed = False
        for path, result in read_files([s.file for s, _, _ in to_read], self.settings, memory=self.reader_memory):
            self.timers["read"] += time.monotonic() - clock
            source, sha, row = sources[str(path)]
            self.report.read_seconds[source.name] = self.reader_memory.seconds.get(str(path), 0.0)
            done += 1
            if isinstance(result, ReadError):
                self._record_failure(source, sha, row, result.reason)
            else:
                self._write_passages(source, sha, row, result)
            self.tell(stage="read", files_done=done, current=source.name)
            self.milestone("read")  # a file written, not committed; the next ones being read
            interval = min(KEYWORDS_COMMIT_SECONDS, self.settings.checkpoint_seconds)
            if not committed or time.monotonic() - self.last_commit >= interval:
                self._commit()  # the first file at once: a new library answers as soon as it can
                committed = True
                self.milestone("checkpoint")
            clock = time.monotonic()

    def _write_passages(self, source, sha: str, row, document) -> None:
        chunks = chunk_document(
            document, source.name, self.counter, self.settings.chunk_tokens, self.settings.chunk_overlap_tokens,
            max_passages=self.settings.file_max_passages,
        )
        self.report.pages_read += document.page_count or len(document.pages)
        self.report.warnings.extend((source.name, warning) for warning in document.warnings)
        hashes = [text_hash(chunk.embedding_text(), self.settings.model) for chunk in chunks]
        cached = self.writer.cached_vectors(hashes)
        if row is not None:
            self.writer.remove_file(row["id"])
        file_id = self.writer.put_file(FileRow(
            path=str(source.path), root=str(source.root), name=source.name, sha256=sha,
            size=source.file.stat().st_size, kind=document.kind, title=document.title, pages=document.page_count,
            status="indexed", reason=None, warnings="\n".join(document.warnings) or None,
            passages_version=PASSAGES_VERSION,
        ))
        rows = [
            {
                "page": c.page, "heading": c.heading, "text": c.text, "start": c.start, "end": c.end,
                "context": c.context, "ocr": c.ocr, "language": c.language, "text_hash": h,
                "tokens": " ".join(tokenize(c.embedding_text(), c.language)),
            }
            for c, h in zip(chunks, hashes)
        ]
        self.writer.add_chunks(file_id, rows, [cached.get(h) for h in hashes])
        self.report.chunks_reused += sum(h in cached for h in hashes)
        (self.report.updated if row is not None and row["status"] == "indexed" else self.report.added).append(source.name)
        self.report.passages[source.name] = len(rows)
        self.tell(chunks_total=self.state.chunks_total + sum(h not in cached for h in hashes))

    def _record_failure(self, source, sha: str, row, reason: str) -> None:
        if row is not None:
            self.writer.remove_file(row["id"])
        self.writer.put_file(FileRow(
            path=str(source.path), root=str(source.root), name=source.name, sha256=sha,
            size=_size(source.file), kind=source.path.suffix.lower().lstrip("."), title=None,
            pages=None, status="failed", reason=reason, warnings=None,
        ))
        self.report.failed.append((source.name, reason))

    def _embed(self) -> None:
        """Compute the vectors of every passage committed without one (this run's, and those a
        killed run left), EMBED_BATCH at a time, each batch a commit: a file becomes searchable by
        meaning as its vectors are written."""
        clock = time.monotonic()
        while batch := self.writer.awaiting_vectors(EMBED_BATCH):
            texts = {row["text_hash"]: embedding_text(row["context"], row["text"]) for row in batch}
            vectors = self.writer.cached_vectors(list(texts))  # a text this run embedded for another file
            missing = [digest for digest in texts if digest not in vectors]
            self.tell(stage="embed", chunks_total=max(self.state.chunks_total, self.state.chunks_done + len(missing)))
            if missing:
                def advance(n: int) -> None:
                    self.tell(chunks_done=self.state.chunks_done + n)
                    self.milestone("embed")  # vectors computed, not yet stored

                done_before = self.state.chunks_done
                computed = self.embedder.encode_passages([texts[d] for d in missing], progress=advance)
                vectors.update(zip(missing, computed))
                self.state.chunks_done = done_before + len(missing)
            self.report.chunks_embedded += len(missing)
            self.report.chunks_reused += len(batch) - len(missing)
            self.writer.set_vectors([row["id"] for row in batch], [vectors[row["text_hash"]] for row in batch])
            self.milestone("write")  # vectors in an open transaction, not committed
            self.timers["embed"] += time.monotonic() - clock
            self._commit()
            clock = time.monotonic()

    def _label_pages(self) -> None:
        """Stage, kind and topic labels of new and changed files, from their stored vectors (see
        labels.py); every file again when labels.toml or the model changed."""
        clock = time.monotonic()
        self.tell(stage="labels")
        self.report.files_labelled = labels.update_labels(self.writer.connection, self.settings.model, self._encode_questions)
        self.timers["labels"] += time.monotonic() - clock

    def _find_metadata(self) -> None:
        """Country, year, organisation, type... of new and changed files, from their stored
        passages and their files' own properties (see metadata.py); then the curators'
        corrections of labels are laid over the labels found (see curation.py)."""
        clock = time.monotonic()
        self.tell(stage="metadata")
        try:
            self.report.files_described = metadata.update_metadata(self.writer.connection, self._file_properties)
            curation.apply_label_corrections(self.writer.connection)
        except Exception as exc:  # noqa: BLE001 - the passages are committed: this run is no failure
            log.exception("metadata could not be found")
            self.report.warnings.append(("", f"metadata and curators' corrections not applied this run ({type(exc).__name__}: {exc})"))
        self.timers["metadata"] += time.monotonic() - clock

    def _file_properties(self, path: str) -> dict[str, str]:
        """The file's own author, title and dates, read in a reader process (a malformed file
        is bounded there like any reading); nothing for formats without them."""
        if Path(path).suffix.lower() not in OFFICE_KINDS | {".pdf"} or not Path(path).is_file():
            return {}
        found = run_in_reader(Path(path), self.settings, file_properties, self.reader_memory)
        return {} if isinstance(found, ReadError) else found

    def _encode_questions(self, texts: list[str]) -> np.ndarray:
        batched = getattr(self.embedder, "encode_queries", None)
        return batched(texts) if batched else np.vstack([self.embedder.encode_query(t) for t in texts])

    def _lay_out_pages(self) -> None:
        """The page pictures of decks and word-processor files (see renditions.py). After the
        commit: their passages are searchable while LibreOffice lays them out."""
        clock = time.monotonic()
        indexed = [row for row in self.writer.files().values() if row["status"] == "indexed"]
        files = [(row["sha256"], row["kind"], Path(row["path"])) for row in indexed]
        self.tell(stage="pages", files_done=0, files_total=len(renditions.missing(self.settings.index_dir, files)))
        failures = renditions.lay_out(self.settings.index_dir, files, self.settings.parse_timeout_s,
                                      done=lambda n: self.tell(files_done=self.state.files_done + n))
        names = {row["sha256"]: row["name"] for row in indexed}
        self.report.warnings.extend((names[sha], f"no page pictures for its previews: {reason}")
                                    for sha, reason in failures.items())
        self.timers["pages"] += time.monotonic() - clock

    def _commit(self) -> None:
        clock = time.monotonic()
        self.tell(stage="commit")
        self.writer.commit()
        self.timers["commit"] += time.monotonic() - clock
        self.last_commit = time.monotonic()


def update(
    paths: list[Path],
    settings: config.Settings | None = None,
    progress: Callable[[Progress], None] | None = None,
    lock_timeout: float = -1,
    milestone: Callable[[str], None] | None = None,
) -> RunReport:
    """Bring the index in line with `paths` (files or folders, walked recursively).

    Waits for another writer up to `lock_timeout` seconds (-1: as long as it takes), telling
    `progress` (stage "wait") that it waits, then raises IndexBusy.

    `milestone` is called with the name of each point of the run that a kill there must survive:
    "read" (a file read), "checkpoint" (committed mid-run), "embed" (vectors computed, not
    stored), "write" (rows written, not committed), "snapshot" (the next generation's files on
    disk, not current), "committed" (current, the old one not yet swept). Tests stop there.
    """
    from filelock import Timeout

    settings = settings or config.load()
    lock = index_lock(settings.index_dir, lock_timeout)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if lock_timeout == 0:
                raise
            if progress:
                progress(Progress("wait", current=str(settings.index_dir)))
            lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise IndexBusy(
            f"another indexing run is writing to {settings.index_dir}; try again when it has finished"
        ) from None
    try:
        report = _Run(settings, progress, milestone).run([Path(p) for p in paths])
    finally:
        lock.release()
    if not (report.added or report.updated or report.removed):
        return report  # nothing changed: the watched questions' answers cannot have changed either
    from .watch import after_run

    try:
        after_run(settings)  # the team's watched questions asked again on what this run changed
    except Exception:  # noqa: BLE001 - the run itself succeeded; a watch is no reason to fail it
        logging.getLogger("pxs.index").exception("the watched questions could not be re-run")
    return report


def remove_documents(paths: list[Path], settings: config.Settings | None = None) -> list[str]:
    """Take files out of the index (their passages leave it); the files on disk are not touched."""
    settings = settings or config.load()
    removed = []
    with index_lock(settings.index_dir):
        connection = connect(settings.index_dir)
        model = get_meta(connection, "model") or settings.model
        dimension = int(get_meta(connection, "dimension", "0") or 0)
        connection.close()
        writer = Writer(settings.index_dir, model, dimension)
        try:
            rows = writer.files()
            for path in paths:
                row = rows.get(str(Path(path).resolve()))
                if row is not None:
                    writer.remove_file(row["id"])
                    removed.append(row["name"])
            writer.commit()
            renditions.prune(settings.index_dir, {r["sha256"] for r in writer.files().values() if r["status"] == "indexed"})
        finally:
            writer.close()
    return removed

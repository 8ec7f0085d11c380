"""Search: dense and BM25 candidates, fused, grouped by page, with the best sentences marked.

`Searcher` gathers the inputs of the ranking functions (index/ranking.py) from the index and
makes the result cards (index/results.py). How a question is answered:
1. `parse_question` turns it into one `Question` (index/question.py): its language, its BM25
   tokens, the glossary's translations of it into the library's other languages, its adjacent
   word pairs. The embedding model is asked the question (and, if it reads every language, its
   translations: the question's vector moved by the glossary terms' cached vectors, no encoding
   of each); BM25 its token lists. A passage keeps its best score over them.
2. Candidates: the `candidates` best passages by cosine (FAISS) and by BM25, pooled.
3. Every candidate gets *both* scores: its exact cosine from its stored vector, its BM25 score
   from the full score column. Fusion then never guesses a missing score.
4. `fuse`, then `rescore` (adjacent word pairs), then `rank_pages` (a page is one result, scored
   by its best passage). Measured alternatives are in README "How good is it".
"""
from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Hashable
from pathlib import Path

import numpy as np

import settings as config

from ingest import RENDERED_KINDS, SLIDE_KINDS

from . import contents, renditions
from .confidence import CALIBRATIONS, confidences
from .embedder import load_embedder
from .curation import corrections_stamp
from .filters import Filters, document_values, facet_counts
from .highlights import term_weights
from .metadata import has_metadata
from .lexical import top_k
from .question import Question, parse_question
from .ranking import MODES, Ranking, foreign_passages, mode_scores, rank_pages, ranking_for, rescore, scores_of
from .scope import DocumentNames, document_names
from .results import IN_DOCUMENT_POOL, RESULT_COLUMNS, Result, make_results
from .store import IndexUnavailable, Snapshot, connect, generation_of, get_meta, load_snapshot, select_in


def page_key(file_id: int, page: int | None, heading: str | None) -> tuple:
    """What makes one result: a page or slide, or for formats without pages (DOCX) a section."""
    return (file_id, page) if page is not None else (file_id, None, heading or "")


class Searcher:
    """Answers questions from an index directory; picks up a newer generation without restart."""

    def __init__(
        self,
        index_dir: Path | None = None,
        settings: config.Settings | None = None,
        ranking: Ranking | None = None,
    ):
        self.settings = settings or config.load()
        self._ranking = ranking  # None: the default for the index's model (`ranking_for`)
        self.index_dir = Path(index_dir or self.settings.index_dir)
        if not (self.index_dir / "library.sqlite").exists():
            raise IndexUnavailable(f"no index in {self.index_dir}: run `python -m ingest` first")
        # Searches run in parallel (one Streamlit session, one thread): each borrows a SQLite
        # connection of its own from this pool for its read transaction, and they share the
        # loaded snapshot (FAISS, BM25, read-only once loaded). A new generation is loaded once,
        # under `_load_lock`, by the first search that sees it, then published by one assignment.
        self._own = connect(self.index_dir)  # checks (and, for a new index, creates) the schema
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened = [self._own]
        self._local = threading.local()  # this thread's borrowed connection and snapshot's languages
        self._published: tuple[Snapshot, tuple[str, ...]] | None = None
        self._load_lock = threading.Lock()
        self._names: tuple[tuple, DocumentNames] | None = None  # (what they were read from, the names)

    # -- state ------------------------------------------------------------------------------
    @property
    def _connection(self) -> sqlite3.Connection:
        """The connection this thread borrowed (see `_reader`); outside one, the Searcher's own."""
        return getattr(self._local, "connection", None) or self._own

    @property
    def _languages(self) -> tuple[str, ...]:
        """The library's languages as of the snapshot this thread's search reads."""
        return getattr(self._local, "languages", None) or (self._published[1] if self._published else ("en",))

    @contextlib.contextmanager
    def _reader(self):
        """Borrow a connection for this thread for the block (nested blocks share it)."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = _reader_connection(self.index_dir)
            self._opened.append(connection)
        self._local.connection = connection
        try:
            yield
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")
            self._local.connection = self._local.languages = None
            self._idle.put(connection)

    def _read(self):
        """Begin a read transaction and return the loaded snapshot of its generation.

        A transaction that began just before another search published a newer generation is
        begun again (it then sees that one), so no search ever loads an older snapshot back.
        """
        connection = self._connection
        for attempt in range(3):
            connection.execute("BEGIN")
            generation = generation_of(connection)
            published = self._published
            if published is not None and published[0].generation > generation and attempt < 2:
                connection.execute("COMMIT")
                continue
            if published is None or published[0].generation != generation:
                with self._load_lock:
                    published = self._published
                    if published is None or published[0].generation != generation:
                        snapshot = load_snapshot(self.index_dir, connection)
                        # English first: questions are most often asked in it, whatever the library holds.
                        found = {r[0] for r in connection.execute("SELECT DISTINCT language FROM chunks") if r[0]}
                        published = self._published = (snapshot, ("en", *sorted(found - {"en"})))
            self._local.languages = published[1]
            return published[0]
        raise AssertionError("unreachable")

    def _end(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("COMMIT")

    @property
    def generation(self) -> int:
        with self._reader():
            return generation_of(self._connection)

    @property
    def model(self) -> str:
        # Questions are always encoded with the model that embedded the passages.
        with self._reader():
            return get_meta(self._connection, "model") or self.settings.model

    @property
    def ranking(self) -> Ranking:
        """The ranking given to the Searcher, else the default for the index's model."""
        return self._ranking or ranking_for(self.model)

    def embedder(self):
        return load_embedder(self.model)

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        candidates: int | None = None,
    ) -> list[Result]:
        """The best `k` pages for a question, best first, each through its best passage.

        `mode`: "hybrid" (the product), "dense" or "bm25" alone; `filters` narrow the passages
        searched; `candidates` overrides how many each retriever contributes to the pool.
        An empty index, an empty question or filters that let nothing through give [].
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        query = query.strip()
        if not query:
            return []
        with self._reader():
            try:
                snapshot = self._read()
                if snapshot.generation == 0:
                    return []
                allowed = filters.allowed_ids(self._connection) if filters and filters.active() else None
                if allowed is not None and len(allowed) == 0:
                    return []
                ranking = self._ranking or ranking_for(snapshot.model or self.settings.model)
                depth = candidates or ranking.candidates
                question = parse_question(query, self._languages, ranking)
                vectors = None
                pool: dict[int, None] = {}
                if mode != "bm25":
                    vectors = self._question_vectors(question)
                    if snapshot.dense is not None:
                        # FAISS reads every vector of the library once per question vector, so the
                        # translations' vectors only score the pool, which BM25's translations
                        # bring the foreign passages into (`searched_vectors`).
                        pool.update(dict.fromkeys(snapshot.dense.search(searched_vectors(vectors, mode), depth, allowed)))
                lexical_all = self._lexical_scores(snapshot, question, allowed)
                lexical_rows = top_k(lexical_all, depth) if mode != "dense" else []
                chunk_ids = snapshot.lexical.chunk_ids
                pool.update(dict.fromkeys(int(chunk_ids[r]) for r in lexical_rows if lexical_all[r] > 0))
                named = self._named_passages(snapshot, question, allowed) if mode == "hybrid" and ranking.named_source_bonus else {}
                if named:  # the named documents' best passages, which may be too foreign to have come
                    inside = np.fromiter(named, dtype=np.int64, count=len(named))
                    if snapshot.dense is not None:
                        pool.update(dict.fromkeys(snapshot.dense.search(searched_vectors(vectors, mode), ranking.named_candidates, inside)))
                    rows = np.flatnonzero(np.isin(chunk_ids, inside) & (lexical_all > 0))
                    best = rows[np.argsort(-lexical_all[rows], kind="stable")[: ranking.named_candidates]]
                    pool.update(dict.fromkeys(int(chunk_ids[r]) for r in best))
                if not pool:
                    return []
                ids = np.fromiter(pool, dtype=np.int64, count=len(pool))
                lexical = scores_of(ids, chunk_ids, lexical_all)
                dense = self._cosines(ids, snapshot, vectors) if vectors is not None else np.zeros(len(ids))
                foreign = self._foreign(question, ids) if mode == "hybrid" else None
                scores = mode_scores(dense, lexical, mode, ranking, foreign)
                if named:
                    scores = scores + ranking.named_source_bonus * np.array([named.get(int(i), 0.0) for i in ids])
                if mode == "hybrid":
                    scores = rescore(scores, question.pairs, lambda at: self._tokens(ids[at]), ranking, k)
                pages = self._best_pages(ids, scores, ranking, wanted=k * 2 + 5)
                # Text for more pages than asked: some may be copies of a shown passage, and the
                # rest are the other hits of the shown documents (`Result.in_document`).
                shown = [(int(ids[position]), score) for _, score, position in pages[: max(IN_DOCUMENT_POOL, k * 2 + 5)]]
                rows = self._rows([chunk_id for chunk_id, _ in shown])
                # One look-up of how many passages hold each word, for the marks and the confidence.
                frequencies = snapshot.lexical.document_frequencies(question.terms | set(question.words))
                weights = term_weights(frequencies, len(snapshot.lexical))
                results = make_results(shown, rows, k, question.terms, weights)
                if vectors is not None:
                    cosine = {int(i): c for i, c in zip(ids, dense)}
                    for result in (*results, *(hit for r in results for hit in r.in_document)):
                        result.keywords_only = bool(np.isnan(cosine.get(result.chunk_id, 0.0)))
                if mode == "hybrid" and results:
                    cosines = {int(ids[position]): float(dense[position]) for _, _, position in pages}
                    self._judge(question, snapshot.model, results, cosines, frequencies, weights)
                return results
            finally:
                self._end()

    def _judge(
        self, question: Question, model: str | None, results: list[Result], cosines: dict[int, float],
        frequencies: dict[str, int], idf: dict[str, float],
    ) -> None:
        """Each result's `confidence` and the question's `answerable` (index/confidence.py)."""
        calibration = CALIBRATIONS.get((model or self.settings.model).lower())
        if calibration is None:
            return
        tokens = self._tokens(np.array([r.chunk_id for r in results], dtype=np.int64))
        answerable, pages = confidences(
            calibration, question.words, frequencies, idf, [cosines[r.chunk_id] for r in results],
            [set(t.split()) for t in tokens], [r.score for r in results],
        )
        for result, confidence in zip(results, pages):
            result.confidence, result.answerable = confidence, answerable

    def _named_passages(self, snapshot: Snapshot, question: Question, allowed: np.ndarray | None) -> dict[int, float]:
        """The passages of the documents the question names (index/scope.py), each with its
        document's share of the strongest naming (0..1]; {} when it names none."""
        connection = self._connection
        # The names change with the generation, with metadata found after a commit, and with corrections.
        described = connection.execute("SELECT COUNT(*) FROM metadata_files").fetchone()[0] if has_metadata(connection) else 0
        read_from = (snapshot.generation, described, corrections_stamp(connection))
        cached = self._names
        if cached is None or cached[0] != read_from:
            cached = self._names = (read_from, document_names(connection))
        named = cached[1].named(question.names)
        if not named:
            return {}
        strongest = max(named.values())
        rows = select_in(connection, "SELECT id, file_id FROM chunks WHERE file_id IN ({marks})", list(named))
        passages = {chunk_id: named[file_id] / strongest for chunk_id, file_id in rows}
        if allowed is not None:
            permitted = set(allowed.tolist())
            passages = {i: share for i, share in passages.items() if i in permitted}
        return passages

    def _question_vectors(self, question: Question) -> np.ndarray:
        """The question's vectors: its own, and its translations' where the model reads them."""
        embedder = self.embedder()
        texts = question.dense_texts(embedder.languages)
        if len(texts) > 1 and hasattr(embedder, "encode_queries"):
            encoded = embedder.encode_queries(texts)
        else:
            encoded = np.vstack([embedder.encode_query(text) for text in texts])
        return question.dense_vectors(encoded, embedder.term_vectors(question.dense_terms(embedder.languages)))

    def _lexical_scores(self, snapshot: Snapshot, question: Question, allowed: np.ndarray | None) -> np.ndarray:
        """BM25 score of every passage (row order of the lexical index), the best over the forms."""
        scores = np.zeros(len(snapshot.lexical), dtype=np.float32)
        for tokens in question.token_lists:
            np.maximum(scores, snapshot.lexical.scores(tokens), out=scores)
        if allowed is not None:
            scores[~np.isin(snapshot.lexical.chunk_ids, allowed)] = 0.0
        return scores

    def _chunk_columns(self, ids, columns: str) -> dict[int, tuple]:
        """`columns` of the passages `ids` from SQLite, by id (in batches under SQLite's limit of
        bound parameters)."""
        rows = select_in(self._connection, f"SELECT id, {columns} FROM chunks WHERE id IN ({{marks}})", (int(i) for i in ids))
        return {row[0]: tuple(row[1:]) for row in rows}

    def _foreign(self, question: Question, ids: np.ndarray) -> np.ndarray | None:
        """`foreign_passages` of the pool; no lookup where the library holds no such passage."""
        readable = self.embedder().languages
        if readable is None or question.language not in readable or set(self._languages) <= set(readable):
            return None
        found = self._chunk_columns(ids, "language")
        return foreign_passages(question.language, [found.get(int(i), (None,))[0] for i in ids], readable)

    def _cosines(self, ids: np.ndarray, snapshot: Snapshot, question_vectors: np.ndarray) -> np.ndarray:
        """Each passage's best cosine with the question's vectors; NaN for a passage whose
        vector is not computed yet (found by BM25 alone; `ranking.fuse` knows what to do)."""
        stored = snapshot.dense.vectors(ids) if snapshot.dense is not None else None
        if stored is not None:
            return (stored @ question_vectors.T).max(axis=1)
        # From SQLite where FAISS cannot give them back (an IVF segment, a passage it lacks).
        stored = np.zeros((len(ids), snapshot.dimension), dtype=np.float32)
        present = np.zeros(len(ids), dtype=bool)
        found = self._chunk_columns(ids, "vector")
        for position, chunk_id in enumerate(ids):
            blob = found.get(int(chunk_id), (b"",))[0]
            if blob:
                stored[position] = np.frombuffer(blob, dtype=np.float32)
                present[position] = True
        return np.where(present, (stored @ question_vectors.T).max(axis=1), np.nan)

    def _tokens(self, ids: np.ndarray) -> list[str]:
        """The stored BM25 tokens (space separated) of these passages."""
        found = self._chunk_columns(ids, "tokens")
        return [found.get(int(i), ("",))[0] for i in ids]

    def _page_keys(self, ids: np.ndarray) -> list[tuple]:
        found = self._chunk_columns(ids, "file_id, page, heading")
        return [page_key(*found[int(i)]) if int(i) in found else ("missing", int(i)) for i in ids]

    def _best_pages(self, ids: np.ndarray, scores: np.ndarray, ranking: Ranking, wanted: int) -> list[tuple[Hashable, float, int]]:
        """`rank_pages` over the pool, looking up the pages of only as many passages as it takes.

        A page scores as its best passage, so the best `wanted` pages are found among the best
        passages: their page keys are read (SQLite, after FAISS has swept the CPU caches: ~3 us a
        passage) for twice `wanted` passages, more only when those share too few pages.
        """
        order = np.argsort(-scores, kind="stable")
        take = len(order) if ranking.page_second else min(len(order), 2 * wanted)
        while True:
            chosen = order[:take]
            pages = rank_pages(self._page_keys(ids[chosen]), scores[chosen], ranking)
            if len(pages) >= wanted or take >= len(order):
                return [(key, score, int(chosen[position])) for key, score, position in pages]
            take = min(len(order), 2 * take)

    def _rows(self, ids: list[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = f"SELECT {RESULT_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})"
        return {row["id"]: row for row in self._connection.execute(query, ids)}

    # -- the library ----------------------------------------------------------------------------
    def stats(self) -> dict:
        with self._reader():
            return contents.stats(self._connection)

    def documents_awaiting_vectors(self) -> int:
        """Documents found by their words only until their vectors are computed (index/store.py)."""
        with self._reader():
            return contents.documents_awaiting_vectors(self._connection)

    def metadata_of(self, shas) -> dict[str, dict[str, list[str]]]:
        """Each document's (by sha256) metadata as it is shown and filtered: what indexing found,
        or what a curator corrected."""
        with self._reader():
            return document_values(self._connection, shas)

    def corrections_made(self) -> str:
        """Changes whenever a curator corrects something: what a cache of labels or metadata keys on."""
        with self._reader():
            return corrections_stamp(self._connection)

    def facets(self) -> dict[str, list[tuple[str, int]]]:
        """Country, year, organisation, document type -> (value, documents with it)."""
        with self._reader():
            return facet_counts(self._connection)

    def source_file(self, path: str) -> Path | None:
        with self._reader():
            return contents.source_file(self._connection, self.index_dir, path)

    def documents(self) -> list[dict]:
        """Every file the index knows (index/contents.py); a word-processor file also with the
        pages of its rendition (`laid_out_pages`), its length as a reader's PDF viewer shows it."""
        with self._reader():
            rows = contents.documents(self._connection)
        for row in rows:
            laid_out = row["kind"] in RENDERED_KINDS and row["kind"] not in SLIDE_KINDS and not row["pages"]
            row["laid_out_pages"] = renditions.page_count(self.index_dir, row["sha256"]) if laid_out else None
        return rows

    def page_passages(self, document: str, page: int | None = None) -> list[dict]:
        with self._reader():
            return contents.page_passages(self._connection, document, page)

    def neighbours(self, chunk_id: int, around: int = 1) -> list[dict]:
        with self._reader():
            return contents.neighbours(self._connection, chunk_id, around)

    def close(self) -> None:
        for connection in self._opened:
            connection.close()


def searched_vectors(vectors: np.ndarray, mode: str) -> np.ndarray:
    """The question vectors FAISS is asked for candidates: the question's own (the first) in
    hybrid search, whose BM25 leg asks the translations; all of them in dense-only search.

    Each vector costs a pass over every passage vector (30 MB per 20,000 passages); asking the
    translations' vectors too found no better pool (questions_dev, questions_dev2 and the
    cross-language gold, MRR@10 equal or up to 0.06 better per half without them)."""
    return vectors if mode == "dense" else vectors[:1]


def _reader_connection(index_dir: Path) -> sqlite3.Connection:
    """One more connection for searches: read-only, and never creating a database where the
    index folder has just been moved away (a rebuild) — the search then says the index is missing."""
    try:
        connection = sqlite3.connect(
            (Path(index_dir) / "library.sqlite").resolve().as_uri() + "?mode=rw", uri=True, timeout=60,
            isolation_level=None, check_same_thread=False,
        )
        connection.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        raise IndexUnavailable(f"the index in {index_dir} cannot be opened ({exc})") from None
    connection.row_factory = sqlite3.Row
    return connection

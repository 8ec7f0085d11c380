"""Search: dense and BM25 candidates, fused, grouped by page, with the best sentences marked."""
from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import settings as config

from .embedder import load_embedder
from .lexical import tokenize
from .store import IndexError_, Snapshot, connect, get_meta, load_snapshot

# Candidates taken from each retriever before fusion.
CANDIDATES = 100
# Reciprocal-rank fusion constant: 60 is the value of Cormack et al. and most peers.
RRF_K = 60
MODES = ("hybrid", "dense", "bm25")


@dataclass
class Result:
    """One page (or slide, or section) that answers the question, through its best passage."""

    rank: int
    score: float
    document: str
    page: int | None
    heading: str
    text: str
    title: str = ""
    kind: str = ""
    path: str = ""
    chunk_id: int = 0
    start: int = 0
    end: int = 0
    ocr: bool = False
    language: str | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in `text`
    also_in: list[tuple[str, int | None]] = field(default_factory=list)  # same passage elsewhere

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Filters:
    documents: list[str] | None = None
    kinds: list[str] | None = None
    languages: list[str] | None = None

    def active(self) -> bool:
        return bool(self.documents or self.kinds or self.languages)


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def best_sentences(text: str, query_tokens: set[str], language: str | None, limit: int = 2) -> list[tuple[int, int]]:
    """Spans of the sentences sharing the most (distinct) terms with the question."""
    scored = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if len(sentence.strip()) < 3:
            continue
        overlap = len(query_tokens & set(tokenize(sentence, language)))
        if overlap:
            start = match.start() + (len(sentence) - len(sentence.lstrip()))
            scored.append((overlap, start, match.end()))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return sorted((start, end) for _, start, end in scored[:limit])


class Searcher:
    """Answers questions from an index directory; picks up a newer generation without restart."""

    def __init__(self, index_dir: Path | None = None, settings: config.Settings | None = None):
        self.settings = settings or config.load()
        self.index_dir = Path(index_dir or self.settings.index_dir)
        if not (self.index_dir / "library.sqlite").exists():
            raise IndexError_(f"no index in {self.index_dir}: run `python -m ingest` first")
        self._connection: sqlite3.Connection = connect(self.index_dir)
        self._snapshot: Snapshot | None = None
        self._lock = threading.RLock()

    # -- state ------------------------------------------------------------------------------
    def _read(self):
        """Begin a read transaction and make sure the loaded snapshot is its generation."""
        self._connection.execute("BEGIN")
        generation = int(get_meta(self._connection, "generation", "0"))
        if self._snapshot is None or self._snapshot.generation != generation:
            self._snapshot = load_snapshot(self.index_dir, self._connection)
        return self._snapshot

    def _end(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("COMMIT")

    @property
    def generation(self) -> int:
        return int(get_meta(self._connection, "generation", "0"))

    @property
    def model(self) -> str:
        # Questions are always encoded with the model that embedded the passages.
        return get_meta(self._connection, "model") or self.settings.model

    def embedder(self):
        return load_embedder(self.model)

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        candidates: int = CANDIDATES,
    ) -> list[Result]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        query = query.strip()
        if not query:
            return []
        vector = self.embedder().encode_query(query) if mode != "bm25" else None
        with self._lock:
            try:
                snapshot = self._read()
                if snapshot.generation == 0:
                    return []
                allowed = self._allowed_ids(filters) if filters and filters.active() else None
                if allowed is not None and len(allowed) == 0:
                    return []
                query_tokens = tokenize(query, "en")
                dense = self._dense(snapshot, vector, candidates, allowed) if vector is not None else []
                lexical = snapshot.lexical.search(query_tokens, candidates, allowed) if mode != "dense" else []
                fused = fuse(dense, lexical)
                return self._results(fused, k, set(query_tokens))
            finally:
                self._end()

    def _dense(self, snapshot: Snapshot, vector: np.ndarray, k: int, allowed: np.ndarray | None):
        import faiss

        if snapshot.dense is None or snapshot.dense.ntotal == 0:
            return []
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = snapshot.dense.search(vector.reshape(1, -1), min(k, snapshot.dense.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _allowed_ids(self, filters: Filters) -> np.ndarray:
        clauses, values = ["f.status = 'indexed'"], []
        for column, wanted in (("f.name", filters.documents), ("f.kind", filters.kinds), ("c.language", filters.languages)):
            if wanted:
                clauses.append(f"{column} IN ({','.join('?' * len(wanted))})")
                values.extend(wanted)
        rows = self._connection.execute(
            f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {' AND '.join(clauses)}", values
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def _rows(self, ids: list[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = (
            "SELECT c.id, c.file_id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language,"
            f" f.name, f.title, f.kind, f.path FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})"
        )
        return {row["id"]: row for row in self._connection.execute(query, ids)}

    def _results(self, fused: list[tuple[int, float]], k: int, query_tokens: set[str]) -> list[Result]:
        rows = self._rows([i for i, _ in fused])
        results: list[Result] = []
        seen_pages: set[tuple[int, int | None]] = set()
        by_text: dict[str, Result] = {}
        for chunk_id, score in fused:
            row = rows.get(chunk_id)
            if row is None:
                continue
            page_key = (row["file_id"], row["page"])
            if page_key in seen_pages:
                continue  # several passages of one page are one result: its best passage
            seen_pages.add(page_key)
            fingerprint = " ".join(row["text"].lower().split())[:400]
            if fingerprint in by_text:
                by_text[fingerprint].also_in.append((row["name"], row["page"]))
                continue
            result = Result(
                rank=len(results) + 1, score=round(score, 6), document=row["name"], page=row["page"],
                heading=row["heading"] or "", text=row["text"], title=row["title"] or "", kind=row["kind"] or "",
                path=row["path"], chunk_id=chunk_id, start=row["start"], end=row["end"], ocr=bool(row["ocr"]),
                language=row["language"],
                highlights=best_sentences(row["text"], query_tokens, row["language"]),
            )
            by_text[fingerprint] = result
            results.append(result)
            if len(results) >= k:
                break
        return results

    # -- the library ----------------------------------------------------------------------------
    def stats(self) -> dict:
        with self._lock:
            c = self._connection
            return {
                "documents": c.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0],
                "chunks": c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
                "model": get_meta(c, "model"),
                "dimension": int(get_meta(c, "dimension", "0") or 0),
                "updated": get_meta(c, "updated"),
                "duplicates": c.execute("SELECT COUNT(*) FROM files WHERE status = 'duplicate'").fetchone()[0],
                "failed": c.execute("SELECT COUNT(*) FROM files WHERE status = 'failed'").fetchone()[0],
                "generation": int(get_meta(c, "generation", "0")),
            }

    def documents(self) -> list[dict]:
        """Every file the index knows, with its passage count and languages."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT f.*, COUNT(c.id) AS passages, GROUP_CONCAT(DISTINCT c.language) AS languages"
                " FROM files f LEFT JOIN chunks c ON c.file_id = f.id GROUP BY f.id ORDER BY f.name"
            ).fetchall()
        return [dict(row) for row in rows]

    def page_passages(self, document: str, page: int | None = None) -> list[dict]:
        """The passages of one document (optionally one page), in reading order."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT c.id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language FROM chunks c"
                " JOIN files f ON f.id = c.file_id WHERE f.name = ? AND (? IS NULL OR c.page IS ?)"
                " ORDER BY c.ordinal",
                (document, page, page),
            ).fetchall()
        return [dict(row) for row in rows]

    def neighbours(self, chunk_id: int, around: int = 1) -> list[dict]:
        """The passages just before and after one passage in its document."""
        with self._lock:
            row = self._connection.execute("SELECT file_id, ordinal FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            if row is None:
                return []
            rows = self._connection.execute(
                "SELECT id, page, heading, text, ordinal FROM chunks WHERE file_id = ? AND ordinal BETWEEN ? AND ?"
                " AND id != ? ORDER BY ordinal",
                (row["file_id"], row["ordinal"] - around, row["ordinal"] + around, chunk_id),
            ).fetchall()
        return [dict(r) for r in rows]

    def close(self) -> None:
        self._connection.close()


def fuse(dense: list[tuple[int, float]], lexical: list[tuple[int, float]], rrf_k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of two ranked lists of (chunk id, score)."""
    if not lexical:
        return dense
    if not dense:
        return lexical
    scores: dict[int, float] = {}
    for ranked in (dense, lexical):
        for rank, (chunk_id, _) in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])

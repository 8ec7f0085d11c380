"""The dense index: passage vectors in immutable FAISS segments, found by chunk id.

A generation's dense index is a folder, like BM25's (lexical.py): segments, each a FAISS index
of some passages' vectors with their chunk ids beside it, and a live mask per segment. A commit
writes one segment of the passages it added and new masks for the ones it removed; every other
segment is hard-linked from the previous generation. So adding a document to a million
passages writes kilobytes instead of the 1.5 GB index (9.1 s, most of it that rewrite;
bench/speed.py). A search asks every segment and keeps the best.

A segment of up to FLAT_LIMIT passages is exact (flat); a bigger one is IVF, trained on its own
vectors. Exact search costs ~10 ms at 100k passages and ~80 ms at 1M on two cores; the IVF
settings cost ~12 ms at 1M for recall@10 = 1.00 against exact search (0.97 at 100k). Segments
are merged in the commit that crosses a limit (`DenseIndex.updated`), with the vectors stored in
SQLite: small ones when there are more than MAX_SEGMENTS, all flat ones into one IVF segment
when they hold more than FLAT_LIMIT passages, and a segment rewritten when most of it is
deleted. Each passage is rewritten a few times over the library's life, not at every commit.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .ranking import best_of

FLAT_LIMIT = 200_000
# More segments than this and the two smallest are merged (each costs one FAISS call per search).
MAX_SEGMENTS = 8
# A segment with more than this share of deleted passages is rewritten without them.
MAX_DELETED_SHARE = 0.3
# Flat segments up to this size are searched with numpy: a FAISS call starts OpenMP threads,
# ~3 ms per question on two cores (30+ ms when they are busy), far more than such a search.
NUMPY_LIMIT = 20_000
FORMAT = "pxs-dense-segments-1"


def _faiss():
    import faiss

    return faiss


@contextlib.contextmanager
def _one_thread(faiss):
    """FAISS searches on the calling thread alone (OpenMP's setting is per thread): a search is
    bound by reading the vectors, and its two threads waited for each other whenever the cores
    were busy. 100,000 passages, one question vector, load 6: p50 20-30 ms on one thread against
    62-84 ms on two (2026-12-08); a question is answered on one core (README, "Many colleagues")."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def flat_index(dimension: int):
    return _faiss().IndexFlatIP(dimension)


def ivf_index(dimension: int, vectors: np.ndarray):
    """An empty IVF index trained on `vectors`: sqrt(n) k-means lists, a quarter of them probed.

    multilingual-e5's vectors sit closer together than MiniLM's, so it needs more lists probed for
    the same recall (README, "Speed"). k-means trains on 64 samples per list (FAISS wants at
    least 39), which keeps training under a minute at a million passages.
    """
    faiss = _faiss()
    count = len(vectors)
    lists = max(16, int(np.sqrt(count)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(count, size=min(count, lists * 64), replace=False)]
    ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
    ivf.nprobe = max(16, lists // 4)
    return ivf


def _kind(index) -> str:
    return "ivf" if isinstance(_faiss().downcast_index(index), _faiss().IndexIVF) else "flat"


class Segment:
    """One FAISS index (flat or IVF, without an id map) and the chunk id of each of its rows.

    Immutable once written. Its FAISS file is read when a search first needs it, so a writer
    that only marks deletions and adds a segment never loads the big ones.
    """

    def __init__(self, name: str, ids: np.ndarray, kind: str, index=None, origin: Path | None = None, owner=None):
        self.name = name
        self.kind = kind  # "flat" | "ivf"
        self.ids = np.asarray(ids, dtype=np.int64)
        self._index = index
        self._owner = owner  # an IndexIDMap2 of the older format owns `index`: kept alive with it
        self.origin = origin  # folder holding this segment's files, when it was read from one
        self._order: np.ndarray | None = None  # rows by chunk id, for finding ids
        self._matrix: np.ndarray | None = None

    @classmethod
    def of_vectors(cls, ids: np.ndarray, vectors: np.ndarray) -> Segment:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dimension = vectors.shape[1]
        index = flat_index(dimension) if len(vectors) <= FLAT_LIMIT else ivf_index(dimension, vectors)
        if len(vectors):
            index.add(vectors)
        return cls(uuid.uuid4().hex, ids, _kind(index), index)

    @property
    def index(self):
        if self._index is None:
            self._index = _faiss().read_index(str(self.origin / f"segment-{self.name}.faiss"))
        return self._index

    @property
    def flat(self) -> bool:
        return self.kind == "flat"

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, chunk_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows holding these ids, which of the ids were found)."""
        if self._order is None:
            self._order = np.argsort(self.ids, kind="stable")
        chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        if not len(self.ids):
            return np.zeros(0, np.int64), np.zeros(len(chunk_ids), bool)
        at = np.minimum(np.searchsorted(self.ids, chunk_ids, sorter=self._order), len(self.ids) - 1)
        rows = self._order[at]
        found = self.ids[rows] == chunk_ids
        return rows[found], found

    def matrix(self) -> np.ndarray:
        """The vectors of a flat segment as one array (a view of FAISS's own memory)."""
        if self._matrix is None:
            index = self.index
            self._matrix = _faiss().rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
        return self._matrix

    def nearest(self, vectors: np.ndarray, k: int, candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, chunk ids) of the `k` nearest rows per question vector, among the rows marked
        in `candidates` when given; -1 where there is none."""
        faiss = _faiss()
        k = min(k, len(self.ids))
        if self.flat and len(self.ids) <= NUMPY_LIMIT:
            scores = vectors @ self.matrix().T
            if candidates is not None:
                scores[:, ~candidates] = -np.inf
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(k), (len(vectors), 1))
            top_scores = np.take_along_axis(scores, top, axis=1)
            rows = np.where(np.isfinite(top_scores), top, -1)
            return top_scores, np.where(rows >= 0, self.ids[rows], -1)
        if candidates is None:
            with _one_thread(faiss):
                scores, rows = self.index.search(vectors, k)
        else:
            bitmap = np.packbits(candidates, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(candidates), faiss.swig_ptr(bitmap))
            inner = faiss.downcast_index(self.index)
            params = (faiss.SearchParametersIVF(sel=selector, nprobe=inner.nprobe) if isinstance(inner, faiss.IndexIVF)
                      else faiss.SearchParameters(sel=selector))
            with _one_thread(faiss):
                scores, rows = self.index.search(vectors, k, params=params)
        return scores, np.where(rows >= 0, self.ids[rows], -1)

    def save(self, folder: Path) -> None:
        """This segment's files in `folder`: linked from where they were read, else written."""
        for suffix in (".faiss", ".ids.npy"):
            target = folder / f"segment-{self.name}{suffix}"
            source = self.origin / target.name if self.origin is not None else None
            if source is not None and source.exists():
                try:
                    os.link(source, target)  # immutable: the next generation shares the file
                except OSError:
                    shutil.copyfile(source, target)
            elif suffix == ".faiss":
                _faiss().write_index(self.index, str(target))
            else:
                with open(target, "wb") as handle:
                    np.save(handle, self.ids)
        self.origin = folder  # the next generation links these files instead of writing them again


class DenseIndex:
    """The passage vectors of one generation: segments and which of their rows are live."""

    def __init__(self, dimension: int, segments: list[Segment], live: list[np.ndarray]):
        self._dimension = dimension
        self.segments = segments
        self.live = live

    # -- making one ----------------------------------------------------------------------------
    @staticmethod
    def empty(dimension: int) -> DenseIndex:
        return DenseIndex(dimension, [], [])

    @staticmethod
    def built(dimension: int, ids: np.ndarray, vectors: np.ndarray) -> DenseIndex:
        """One segment of these vectors, of the kind their number calls for (see FLAT_LIMIT)."""
        if not len(ids):
            return DenseIndex.empty(dimension)
        return DenseIndex(dimension, [Segment.of_vectors(ids, vectors)], [np.ones(len(ids), dtype=bool)])

    @staticmethod
    def read(path: Path) -> DenseIndex:
        """The index written at `path` (a folder; or one FAISS file, as versions before segments
        wrote it). Segments' FAISS files are read when first searched (see `load`). Raises
        RuntimeError when FAISS cannot load it, ValueError or OSError for damaged files."""
        if path.is_dir():
            manifest = json.loads((path / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise ValueError(f"{path.name} is not a dense index of this version")
            segments = [
                Segment(name, np.load(path / f"segment-{name}.ids.npy"), kind, origin=path)
                for name, kind in zip(manifest["segments"], manifest["kinds"])
            ]
            with np.load(path / "live.npz") as packed:
                live = [np.unpackbits(packed[f"s{i}"], count=len(s)).astype(bool) for i, s in enumerate(segments)]
            if any(len(s) != rows for s, rows in zip(segments, manifest["rows"])) or len(segments) != len(manifest["rows"]):
                raise ValueError(f"{path.name}: segment sizes differ from its manifest")
            return DenseIndex(int(manifest["dimension"]), segments, live)
        older = path if path.suffix == ".faiss" else path.with_name(path.name + ".faiss")
        if not older.exists():
            raise FileNotFoundError(f"{path.name} is missing")
        faiss = _faiss()
        wrapper = faiss.read_index(str(older))
        if not hasattr(wrapper, "id_map"):
            raise RuntimeError(f"{path.name} holds FAISS vectors without chunk ids")
        ids = faiss.vector_to_array(wrapper.id_map).astype(np.int64)
        inner = faiss.downcast_index(wrapper.index)
        segment = Segment(uuid.uuid4().hex, ids, _kind(inner), inner, owner=wrapper)
        return DenseIndex(int(wrapper.d), [segment], [np.ones(len(ids), dtype=bool)])

    def load(self) -> DenseIndex:
        """Read every segment's FAISS file now: a reader must not depend on files a later sweep removes."""
        for segment in self.segments:
            segment.index  # noqa: B018 - the property reads the file
        return self

    def save(self, folder: Path) -> None:
        """Write this index into the new, empty folder `folder` (unchanged segments linked)."""
        folder.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            segment.save(folder)
        with open(folder / "live.npz", "wb") as handle:
            np.savez(handle, **{f"s{i}": np.packbits(m) for i, m in enumerate(self.live)})
        manifest = {"format": FORMAT, "dimension": self._dimension,
                    "segments": [s.name for s in self.segments], "kinds": [s.kind for s in self.segments],
                    "rows": [len(s) for s in self.segments]}
        (folder / "manifest.json").write_text(json.dumps(manifest))

    # -- what it holds -------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(sum(int(m.sum()) for m in self.live))

    @property
    def dimension(self) -> int:
        return self._dimension

    def ids(self) -> np.ndarray:
        """The live chunk ids, segment after segment."""
        if not self.segments:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([s.ids[m] for s, m in zip(self.segments, self.live)])

    def vectors(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored vectors of these chunk ids, or None where this index cannot give them back
        (an IVF segment keeps no map from rows to vectors; an id it lacks)."""
        if any(not segment.flat for segment in self.segments):
            return None
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self._dimension), dtype=np.float32)
        missing = np.ones(len(ids), dtype=bool)
        for segment, live in zip(self.segments, self.live):
            rows, found = segment.rows_of(ids)
            keep = live[rows]
            if not keep.any():
                continue
            out[np.flatnonzero(found)[keep]] = segment.matrix()[rows[keep]]
            missing[np.flatnonzero(found)[keep]] = False
        return None if missing.any() else out

    # -- changing it ---------------------------------------------------------------------------
    def updated(self, removed_ids, added_ids: np.ndarray, added_vectors: np.ndarray,
                stored_vectors: Callable[[np.ndarray], np.ndarray]) -> DenseIndex:
        """A new index: these passages removed, those added as a new segment (this one is left as
        it is). `stored_vectors(ids)` gives the vectors of live ids when segments are merged."""
        removed = np.asarray(list(removed_ids), dtype=np.int64)
        parts = []
        for segment, live in zip(self.segments, self.live):
            if len(removed):
                rows, _ = segment.rows_of(removed)
                if len(rows):
                    live = live.copy()
                    live[rows] = False
            if live.any():
                parts.append((segment, live))
        if len(added_ids):
            parts.append((Segment.of_vectors(added_ids, added_vectors), np.ones(len(added_ids), dtype=bool)))

        def merged(group):
            ids = np.concatenate([s.ids[m] for s, m in group])
            return Segment.of_vectors(ids, stored_vectors(ids)), np.ones(len(ids), dtype=bool)

        parts = [merged([(s, m)]) if (~m).mean() > MAX_DELETED_SHARE else (s, m) for s, m in parts]
        flat = [(s, m) for s, m in parts if s.flat]
        if sum(int(m.sum()) for _, m in flat) > FLAT_LIMIT:
            # Exact search over that many passages costs more than IVF's: they become one IVF segment.
            parts = [(s, m) for s, m in parts if not s.flat] + [merged(flat)]
        while len(parts) > MAX_SEGMENTS:
            parts.sort(key=lambda part: -int(part[1].sum()))
            parts = parts[:-2] + [merged(parts[-2:])]
        return DenseIndex(self._dimension, [s for s, _ in parts], [m for _, m in parts])

    # -- searching it --------------------------------------------------------------------------
    def search(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
        """The `k` nearest chunk ids to any of the question vectors (rows of `vectors`), best
        first, among `allowed` ids when given: a question and its translations find `k` together."""
        if self.ntotal == 0:
            return []
        scores, ids = self.nearest(vectors, min(k, self.ntotal), allowed)
        return best_of(scores, ids, k)

    def nearest(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best `k` per question vector over all segments: (scores, chunk ids), -1 where there is none."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        found_scores, found_ids = [], []
        for segment, live in zip(self.segments, self.live):
            candidates = None if allowed is None and live.all() else live
            if allowed is not None:
                rows, _ = segment.rows_of(allowed)
                candidates = np.zeros(len(segment), dtype=bool)
                candidates[rows] = live[rows]
            if candidates is not None and not candidates.any():
                continue
            scores, ids = segment.nearest(vectors, k, candidates)
            found_scores.append(scores)
            found_ids.append(ids)
        if not found_ids:
            return np.full((len(vectors), k), -np.inf, dtype=np.float32), np.full((len(vectors), k), -1, dtype=np.int64)
        scores = np.hstack(found_scores).astype(np.float32)
        ids = np.hstack(found_ids)
        scores[ids < 0] = -np.inf
        if len(found_ids) > 1:
            best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            scores, ids = np.take_along_axis(scores, best, axis=1), np.take_along_axis(ids, best, axis=1)
        return scores, ids

"""The dense index: passage vectors in FAISS, found by chunk id, one class per index kind.

Exact search (`FlatDense`) up to FLAT_LIMIT passages; above it an IVF index (`IVFDense`),
trained on the library's own vectors. FAISS runs on CPU and its flat and IVF indexes add and
remove vectors in place (HNSW cannot remove), so a commit changes only what changed. Exact
search costs ~10 ms at 100k passages and ~80 ms at 1M on two cores; the IVF settings cost ~12 ms
at 1M for recall@10 = 1.00 against exact search (0.97 at 100k; bench/speed.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .ranking import best_of

FLAT_LIMIT = 200_000


class DenseIndex:
    """A FAISS index of passage vectors keyed by chunk id (an IndexIDMap2 around the inner index)."""

    def __init__(self, index):
        self.index = index
        self._id_array: np.ndarray | None = None  # FAISS row -> chunk id, read once per index

    # -- making one ----------------------------------------------------------------------------
    @staticmethod
    def empty(dimension: int) -> DenseIndex:
        import faiss

        return FlatDense(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @staticmethod
    def built(dimension: int, ids: np.ndarray, vectors: np.ndarray) -> DenseIndex:
        """An index of these vectors, of the kind their number calls for (see FLAT_LIMIT)."""
        dense = DenseIndex.empty(dimension) if len(vectors) <= FLAT_LIMIT else IVFDense.trained(dimension, vectors)
        if len(ids):
            dense.add(ids, vectors)
        return dense

    @staticmethod
    def read(path: Path) -> DenseIndex:
        """The index written at `path`; raises RuntimeError when FAISS cannot load it."""
        import faiss

        index = faiss.read_index(str(path))
        inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        return IVFDense(index) if isinstance(inner, faiss.IndexIVF) else FlatDense(index)

    def write(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    # -- what it holds -------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    @property
    def outgrown(self) -> bool:
        """True when the library has grown past what this kind of index serves well."""
        return False

    def ids(self) -> np.ndarray | None:
        """The chunk ids held, in FAISS's row order (None for an index kept without ids)."""
        import faiss

        if self._id_array is None and hasattr(self.index, "id_map"):
            self._id_array = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        return self._id_array

    def vectors(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored vectors of these chunk ids, or None where this index cannot give them back
        (an IVF index without a direct map, an id it lacks)."""
        try:
            return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        except RuntimeError:
            return None

    # -- changing it ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        self._id_array = None

    def remove(self, ids: np.ndarray) -> None:
        self.index.remove_ids(np.asarray(ids, dtype=np.int64))
        self._id_array = None

    # -- searching it --------------------------------------------------------------------------
    def search(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
        """The `k` nearest chunk ids to any of the question vectors (rows of `vectors`), best
        first, among `allowed` ids when given: a question and its translations find `k` together."""
        if self.ntotal == 0:
            return []
        scores, ids = self.nearest(vectors, min(k, self.ntotal), allowed)
        return best_of(scores, ids, k)

    def nearest(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's answer per question vector: (scores, chunk ids), -1 where there is none."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if allowed is not None:
            return self.index.search(vectors, k, params=self._parameters(allowed))
        id_array = self.ids()
        if id_array is None:
            return self.index.search(vectors, k)
        # Search the inner index and map its row numbers to chunk ids here: IndexIDMap maps
        # them in an OpenMP loop whose thread start-up cost ~3 ms per question on two cores
        # (30+ ms when the cores are busy), far more than a flat search of 10k passages.
        import faiss

        scores, rows = faiss.downcast_index(self.index.index).search(vectors, k)
        return scores, np.where(rows >= 0, id_array[rows], -1)

    def _parameters(self, allowed: np.ndarray):
        import faiss

        return faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))


class FlatDense(DenseIndex):
    """Exact inner-product search."""

    @property
    def outgrown(self) -> bool:
        return self.ntotal > FLAT_LIMIT


class IVFDense(DenseIndex):
    """Approximate search over sqrt(n) k-means lists, probing a quarter of them."""

    @staticmethod
    def trained(dimension: int, vectors: np.ndarray) -> IVFDense:
        """An empty IVF index trained on `vectors`.

        multilingual-e5's vectors sit closer together than MiniLM's, so it needs more lists
        probed for the same recall (README, "Speed"). k-means trains on 64 samples per list
        (FAISS wants at least 39), which keeps training under a minute at a million passages.
        """
        import faiss

        count = len(vectors)
        lists = max(16, int(np.sqrt(count)))
        quantizer = faiss.IndexFlatIP(dimension)
        ivf = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).choice(count, size=min(count, lists * 64), replace=False)]
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.nprobe = max(16, lists // 4)
        return IVFDense(faiss.IndexIDMap2(ivf))

    def _parameters(self, allowed: np.ndarray):
        import faiss

        # IVF insists on its own parameter type, and it must carry the index's nprobe.
        inner = faiss.downcast_index(self.index.index)
        return faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allowed), nprobe=inner.nprobe)

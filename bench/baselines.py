"""The plain baselines every benchmark prints beside the product.

- `PlainBM25`: bm25s (Lucene BM25, k1 1.2, b 0.75) over the texts as given, English stop words,
  no stemming unless a stemmer language is named: what anyone gets from the library's README.
- `PlainDense`: the embedding model alone (the product's embedder, so the same weights and
  prefixes), exact cosine over every text.
- `rrf`: their reciprocal-rank fusion with k = 60 (Cormack et al. 2009), the textbook default.

For document benchmarks, `page_windows` cuts each page into windows of 200 words, the common
recipe; a page is ranked by its best window (`best_keys`).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

WINDOW_WORDS = 200
RRF_K = 60


def page_windows(page_text: str, words: int = WINDOW_WORDS) -> list[str]:
    """Consecutive windows of `words` words (the last one shorter), nothing when the page is empty."""
    tokens = page_text.split()
    return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


class PlainBM25:
    """bm25s over `texts`, questions tokenised the same way."""

    def __init__(self, texts: Sequence[str], stemmer_language: str | None = None, stopwords: str | None = "en"):
        import bm25s

        self._stemmer = None
        if stemmer_language:
            import Stemmer

            self._stemmer = Stemmer.Stemmer(stemmer_language)
        self._stopwords = stopwords
        self._retriever = bm25s.BM25(k1=1.2, b=0.75)
        self._retriever.index(self._tokenize(list(texts)), show_progress=False)
        self.size = len(texts)

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords=self._stopwords, stemmer=self._stemmer, show_progress=False)

    def scores(self, question: str) -> np.ndarray:
        """The BM25 score of every text for `question` (zeros when none of its words is indexed)."""
        import bm25s

        tokens = bm25s.tokenize([question], stopwords=self._stopwords, stemmer=self._stemmer,
                                show_progress=False, return_ids=False)
        vocabulary = self._retriever.vocab_dict
        ids = [vocabulary[t] for t in tokens[0] if t in vocabulary]
        return self._retriever.get_scores(ids) if ids else np.zeros(self.size, dtype=np.float32)

    def search(self, question: str, k: int = 100) -> list[int]:
        """Rows of the best `k` texts with a positive score, best first."""
        scores = self.scores(question)
        order = np.argsort(-scores, kind="stable")[: min(k, self.size)]
        return [int(row) for row in order if scores[row] > 0]


class PlainDense:
    """Exact cosine search with the product's embedder over `vectors` of the texts."""

    def __init__(self, vectors: np.ndarray, embedder):
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._embedder = embedder

    def search(self, question: str, k: int = 100, vector: np.ndarray | None = None) -> list[int]:
        vector = self._embedder.encode_query(question) if vector is None else vector
        scores = self._vectors @ vector
        return [int(row) for row in np.argsort(-scores, kind="stable")[:k]]


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> list[Hashable]:
    """Items of several rankings by the sum of 1 / (k + rank), best first."""
    fused: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda item: -fused[item])


def best_keys(rows: Sequence[int], keys: Sequence[Hashable]) -> list[Hashable]:
    """Keys (pages) in the order of their best row: one result per page."""
    return list(dict.fromkeys(keys[row] for row in rows))

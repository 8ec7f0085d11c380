"""BM25 over the same passages as the dense index (bm25s), with a tokeniser for procurement text.

Codes are kept whole as well as split: "BT-7532", "2014/24/EU" and "art.67" match exactly,
and their parts still match a question that writes them another way.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*", re.UNICODE)
_SPLIT = re.compile(r"[-/.]")

# Snowball stemmers by ISO 639-1 code (PyStemmer); other languages are only lower-cased.
STEMMER_NAMES = {
    "en": "english", "es": "spanish", "it": "italian", "pt": "portuguese", "fr": "french",
    "de": "german", "nl": "dutch", "ro": "romanian", "sv": "swedish", "da": "danish",
    "fi": "finnish", "hu": "hungarian", "ca": "catalan", "el": "greek", "lt": "lithuanian",
}


@lru_cache(maxsize=32)
def _stemmer(language: str):
    import Stemmer

    name = STEMMER_NAMES.get(language or "en")
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=32)
def _stopwords(language: str) -> frozenset[str]:
    from bm25s import stopwords as lists

    table = {
        "en": lists.STOPWORDS_EN, "es": lists.STOPWORDS_SPANISH, "it": lists.STOPWORDS_ITALIAN,
        "pt": lists.STOPWORDS_PORTUGUESE, "fr": lists.STOPWORDS_FRENCH, "de": lists.STOPWORDS_GERMAN,
        "nl": lists.STOPWORDS_DUTCH, "sv": lists.STOPWORDS_SWEDISH, "da": lists.STOPWORDS_DANISH,
    }
    return frozenset(table.get(language or "en", ()))


def tokenize(text: str, language: str | None = "en") -> list[str]:
    """Lower-cased, stop words removed, stemmed words; codes whole and in parts."""
    language = language or "en"
    stop = _stopwords(language)
    words: list[str] = []
    for match in _WORD.finditer(text.lower()):
        token = match.group().strip(".")
        if not token:
            continue
        if _SPLIT.search(token):
            words.append(token)  # the code as written
            words.extend(p for p in _SPLIT.split(token) if p and p not in stop)
        elif (len(token) > 1 or token.isdigit()) and token not in stop:
            words.append(token)
    stemmer = _stemmer(language)
    if stemmer is None:
        return words
    return [w if _SPLIT.search(w) or w.isdigit() else stemmer.stemWord(w) for w in words]


class LexicalIndex:
    """A bm25s index whose rows map to chunk ids."""

    def __init__(self, retriever, chunk_ids: np.ndarray):
        self._retriever = retriever
        self.chunk_ids = chunk_ids

    @classmethod
    def build(cls, chunk_ids: list[int], token_lists: list[list[str]]) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        # An empty passage list still needs a valid index: bm25s wants one token.
        retriever.index(token_lists or [["∅"]], show_progress=False)
        return cls(retriever, np.asarray(chunk_ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(folder))
        np.save(folder / "chunk_ids.npy", self.chunk_ids)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25.load(str(folder))
        return cls(retriever, np.load(folder / "chunk_ids.npy"))

    def search(self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best k passages with a positive score."""
        if not query_tokens or len(self.chunk_ids) == 0:
            return []
        mask = None
        if allowed is not None:
            mask = np.isin(self.chunk_ids, allowed).astype(np.float32)
            if not mask.any():
                return []
        k = min(k, len(self.chunk_ids))
        rows, scores = self._retriever.retrieve(
            [query_tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (int(self.chunk_ids[row]), float(score))
            for row, score in zip(rows[0], scores[0])
            if score > 0
        ]


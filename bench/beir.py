"""SciFact (BEIR) through the product's own retrieval code: BM25-only, dense-only and hybrid.

    python bench/beir.py ../shared/benchmarks/scifact            # test queries, default ranking
    python bench/beir.py ../shared/benchmarks/scifact --tune     # grid on train, then test
    python bench/beir.py ../shared/benchmarks/scifact --chunk-tokens 128 --overlap 32

Each abstract is a one-section document (title as its title, abstract as its text) fed to the
same `chunk_document` the indexer uses; passages are embedded by the product's embedder (vectors
cached in bench/.cache/, keyed by model and text), tokenised by `index.lexical.tokenize` in
their detected language as sync.py does, indexed by `LexicalIndex` and by the FAISS index
`new_dense_index` picks, and ranked by `index.search`'s `parse_question`, `fuse`, `mode_scores`
and `rank_pages`, with the abstract as the page. Only the SQLite round trip is skipped.

Tune on train, report test: --tune searches the ranking settings on the 809 train questions and
prints the test figures of the best one next to the shipped default. The last line is
`hybrid nDCG@10=0.xxxx` for the default ranking on test.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, VectorCache, ndcg_at, recall_at  # noqa: E402

import settings as config  # noqa: E402
from index.lexical import LexicalIndex, tokenize, top_k  # noqa: E402
from index.search import (  # noqa: E402
    DEFAULT_RANKING, Ranking, foreign_passages, mode_scores, parse_question, phrase_pairs, rank_pages, rescore,
)
from index.store import new_dense_index  # noqa: E402
from ingest import Document, PageText, chunk_document, token_counter  # noqa: E402

PUBLISHED = {
    "bm25": "0.665 BEIR (Elasticsearch) / 0.679 Anserini flat",
    "dense": "0.645 all-MiniLM-L6-v2 (MTEB)",
    "hybrid": "-",
}
# Deepest pool any tuned setting may use: per-question candidates are computed once at this depth.
MAX_DEPTH = 200


@dataclasses.dataclass
class Collection:
    """SciFact chunked and indexed the product's way, with its questions encoded."""

    documents: list[str]  # page key (the abstract id) of each passage, by passage row
    dense: object  # FAISS index over passage rows
    vectors: np.ndarray
    lexical: LexicalIndex
    languages: tuple[str, ...]
    passage_languages: list  # detected language of each passage row (as the index stores it)
    model_languages: tuple[str, ...] | None = ("en",)  # what the embedder reads (search.model_languages)
    tokens: list = dataclasses.field(default_factory=list)  # BM25 tokens of each row, space separated (`rescore`)


def load_split(folder: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    queries = {}
    for line in open(folder / f"queries_{split}.jsonl", encoding="utf-8"):
        record = json.loads(line)
        queries[str(record["_id"])] = record["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if not row or row[0] in ("query-id", "query_id"):
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return {q: t for q, t in queries.items() if q in qrels}, qrels


def build_collection(folder: Path, settings: config.Settings, cache: VectorCache, with_context: bool = True) -> Collection:
    counter = token_counter(settings.model)
    documents, texts, token_lists, languages, passage_languages = [], [], [], set(), []
    started = time.monotonic()
    for line in gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8"):
        record = json.loads(line)
        document = Document("txt", record["title"].strip(), [PageText(None, record["text"].strip())])
        for chunk in chunk_document(
            document, str(record["_id"]), counter, settings.chunk_tokens, settings.chunk_overlap_tokens
        ):
            if not with_context:
                chunk.context = ""
            text = chunk.embedding_text()
            documents.append(chunk.document)
            languages.add(chunk.language)
            passage_languages.append(chunk.language)
            texts.append(text)
            token_lists.append(tokenize(text, chunk.language))  # as sync.py stores them
    print(
        f"chunked {len(set(documents))} abstracts into {len(texts)} passages in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    vectors = cache.encode(texts)
    dense = new_dense_index(vectors.shape[1], vectors)
    dense.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    lexical = LexicalIndex.build(list(range(len(texts))), token_lists)
    # The library's languages, English first, as the Searcher lists them for parse_question.
    found = sorted({lang for lang in languages if lang} - {"en"})
    return Collection(documents, dense, vectors, lexical, ("en", *found), passage_languages,
                      tokens=[" ".join(tokens) for tokens in token_lists])


@dataclasses.dataclass
class Pool:
    """One question's candidates at the deepest depth: passage rows with both scores."""

    dense_order: np.ndarray  # rows by cosine, best first (MAX_DEPTH)
    lexical_order: np.ndarray  # rows by BM25, best first (those with a positive score)
    dense_all: dict  # row -> cosine, for every row in either order
    lexical_all: np.ndarray  # BM25 score of every row
    language: str | None = None  # the question's, as parse_question detected it
    question: str = ""


def pools_for(collection: Collection, questions: list[str], query_vectors: np.ndarray) -> list[Pool]:
    _, dense_rows = collection.dense.search(query_vectors, MAX_DEPTH)
    pools = []
    for question, vector, rows in zip(questions, query_vectors, dense_rows):
        forms = parse_question(question, collection.languages)
        lexical_all = np.zeros(len(collection.lexical), dtype=np.float32)
        for tokens in forms.token_lists:
            np.maximum(lexical_all, collection.lexical.scores(tokens), out=lexical_all)
        lexical_order = top_k(lexical_all, MAX_DEPTH)
        lexical_order = lexical_order[lexical_all[lexical_order] > 0]
        pools.append(Pool(rows[rows >= 0], lexical_order, {}, lexical_all, forms.language, question))
        pool = pools[-1]
        union = np.union1d(pool.dense_order, lexical_order)
        pool.dense_all = dict(zip(union.tolist(), (collection.vectors[union] @ vector).tolist()))
    return pools


def ranked_documents(collection: Collection, pool: Pool, mode: str, ranking: Ranking) -> list[str]:
    """The abstracts in the order the product would show them (one result per abstract)."""
    depth = ranking.candidates
    rows: dict[int, None] = {}
    if mode != "bm25":
        rows.update(dict.fromkeys(pool.dense_order[:depth].tolist()))
    if mode != "dense":
        rows.update(dict.fromkeys(pool.lexical_order[:depth].tolist()))
    ids = np.fromiter(rows, dtype=np.int64, count=len(rows))
    dense = np.array([pool.dense_all[i] for i in ids.tolist()])
    lexical = pool.lexical_all[ids]
    foreign = None
    if mode == "hybrid":  # as Searcher.search: passages the model cannot compare with the question
        languages = [collection.passage_languages[i] for i in ids.tolist()]
        foreign = foreign_passages(pool.language, languages, collection.model_languages)
    scores = mode_scores(dense, lexical, mode, ranking, foreign)
    if mode == "hybrid" and ranking.phrase_bonus:  # as Searcher.search, k = 10
        pairs = phrase_pairs(pool.question, pool.language)
        scores = rescore(scores, pairs, lambda at: [collection.tokens[i] for i in ids[at]], ranking, 10)
    keys = [collection.documents[i] for i in ids.tolist()]
    return [key for key, _, _ in rank_pages(keys, scores, ranking)]


def evaluate(collection, pools, qrels_list, mode: str, ranking: Ranking) -> dict[str, float]:
    ndcg, recall = [], []
    for pool, gains in zip(pools, qrels_list):
        ranked = ranked_documents(collection, pool, mode, ranking)
        ndcg.append(ndcg_at(ranked, gains, 10))
        recall.append(recall_at(ranked, gains, 100))
    return {"ndcg@10": float(np.mean(ndcg)), "recall@100": float(np.mean(recall))}


def tuning_grid():
    """Ranking settings searched on train: fusion family, its parameters, depth, page scoring."""
    for depth, second in itertools.product((50, 100, 200), (0.0, 0.1, 0.2)):
        for rrf_k in (10, 30, 60, 100):
            yield Ranking(candidates=depth, fusion="rrf", rrf_k=rrf_k, page_second=second)
        for normalisation, weight in itertools.product(("minmax", "zscore", "max"), (0.3, 0.4, 0.5, 0.6, 0.7)):
            yield Ranking(
                candidates=depth, fusion="convex", normalisation=normalisation, dense_weight=weight, page_second=second
            )


def describe(ranking: Ranking) -> str:
    if ranking.fusion == "rrf":
        core = f"rrf k={ranking.rrf_k}"
    else:
        core = f"convex {ranking.normalisation} w_dense={ranking.dense_weight}"
    return f"{core}, depth {ranking.candidates}, page+{ranking.page_second}*2nd"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=ROOT.parent / "shared" / "benchmarks" / "scifact")
    parser.add_argument("--tune", action="store_true", help="search ranking settings on train, report test")
    parser.add_argument("--chunk-tokens", type=int, help="passage size (default: settings)")
    parser.add_argument("--overlap", type=int, help="passage overlap (default: settings)")
    parser.add_argument("--no-context", action="store_true", help="embed and index passages without their title")
    args = parser.parse_args(argv)

    settings = config.load()
    if args.chunk_tokens:
        settings = dataclasses.replace(settings, chunk_tokens=args.chunk_tokens)
    if args.overlap is not None:
        settings = dataclasses.replace(settings, chunk_overlap_tokens=args.overlap)
    cache = VectorCache(settings.model)
    collection = build_collection(args.folder, settings, cache, with_context=not args.no_context)
    from index.embedder import load_embedder
    from index.search import model_languages

    collection.model_languages = model_languages(load_embedder(settings.model))  # as the Searcher asks it

    splits = ("train", "test") if args.tune else ("test",)
    data = {}
    for split in splits:
        queries, qrels = load_split(args.folder, split)
        ids = list(queries)
        vectors = cache.encode_queries([queries[q] for q in ids])
        data[split] = (pools_for(collection, [queries[q] for q in ids], vectors), [qrels[q] for q in ids])

    print(f"\nSciFact, model {settings.model}, passages of {settings.chunk_tokens} tokens "
          f"(overlap {settings.chunk_overlap_tokens}){'' if not args.no_context else ', no title context'}, "
          f"{len(collection.documents)} passages")
    if args.tune:
        pools, qrels_list = data["train"]
        started = time.monotonic()
        results = [(evaluate(collection, pools, qrels_list, "hybrid", r)["ndcg@10"], r) for r in tuning_grid()]
        results.sort(key=lambda item: -item[0])
        print(f"\ntrain ({len(pools)} questions), {len(results)} settings in {time.monotonic() - started:.0f} s; best 10:")
        print(f"| setting | train nDCG@10 |\n|---|---|")
        for score, ranking in results[:10]:
            print(f"| {describe(ranking)} | {score:.4f} |")
        best_by_family = {}
        for score, ranking in results:
            family = ranking.fusion if ranking.fusion == "rrf" else f"convex {ranking.normalisation}"
            best_by_family.setdefault(family, (score, ranking))
        pools, qrels_list = data["test"]
        print("\nbest of each family on train, then on test:")
        print("| family | setting | train nDCG@10 | test nDCG@10 |\n|---|---|---|---|")
        for family, (score, ranking) in best_by_family.items():
            test = evaluate(collection, pools, qrels_list, "hybrid", ranking)["ndcg@10"]
            print(f"| {family} | {describe(ranking)} | {score:.4f} | {test:.4f} |")
        naive = Ranking(candidates=100, fusion="rrf", rrf_k=60)
        print(f"| naive RRF | {describe(naive)} | "
              f"{evaluate(collection, data['train'][0], data['train'][1], 'hybrid', naive)['ndcg@10']:.4f} | "
              f"{evaluate(collection, pools, qrels_list, 'hybrid', naive)['ndcg@10']:.4f} |")

    pools, qrels_list = data["test"]
    print(f"\ntest ({len(pools)} questions), default ranking: {describe(DEFAULT_RANKING)}")
    print("| retrieval | nDCG@10 | recall@100 | published nDCG@10 |\n|---|---|---|---|")
    figures = {}
    for mode in ("bm25", "dense", "hybrid"):
        figures[mode] = evaluate(collection, pools, qrels_list, mode, DEFAULT_RANKING)
        print(f"| {mode} | {figures[mode]['ndcg@10']:.4f} | {figures[mode]['recall@100']:.4f} | {PUBLISHED[mode]} |")
    print(f"hybrid nDCG@10={figures['hybrid']['ndcg@10']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

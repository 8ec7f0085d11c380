"""SciFact (BEIR) through the product's own retrieval code: BM25-only, dense-only and hybrid.

    python bench/beir.py ../shared/benchmarks/scifact            # test queries, default ranking
    python bench/beir.py ../shared/benchmarks/scifact --tune     # grid on train, then test
    python bench/beir.py ../shared/benchmarks/scifact --chunk-tokens 128 --overlap 32

Each abstract is a one-section document (title as its title, abstract as its text) put through
bench/collection.py, which chunks, embeds (vectors cached in bench/.cache/), tokenises, indexes
and ranks it as `index.search.Searcher.search` does, with the abstract as the page: the
question parsed by `parse_question`, the glossary's translations asked of BM25 and, for a model
that reads every language, of the embedding model. Only the SQLite round trip is skipped (see
that module). The default ranking is the product's for the model (`ranking_for(settings.model)`).

Tune on train, report test: --tune searches the fusion settings (over the model's default
ranking) on the 809 train questions and prints the test figures of the best one next to the
shipped default. The last line is `hybrid nDCG@10=0.xxxx` for the default ranking on test.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection import Record, build_collection, graded_metrics, pools_for  # noqa: E402
from common import ROOT, VectorCache  # noqa: E402

import settings as config  # noqa: E402
from index.ranking import Ranking, ranking_for  # noqa: E402

PUBLISHED = {
    "bm25": "0.665 BEIR (Elasticsearch) / 0.679 Anserini flat",
    "hybrid": "-",
}
PUBLISHED_DENSE = {config.MINILM: "0.645 all-MiniLM-L6-v2 (MTEB)"}  # by model; "-" for the others


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


def scifact_records(folder: Path):
    """Each abstract a one-section document: its title as the title, the abstract as its text."""
    for line in gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8"):
        record = json.loads(line)
        yield Record(str(record["_id"]), record["title"].strip(), record["text"].strip())


def evaluate(collection, pools, qrels_list, mode: str, ranking: Ranking) -> dict[str, float]:
    return graded_metrics(collection, pools, qrels_list, mode, ranking, ndcg_k=10, recall_k=100)


def tuning_grid(base: Ranking):
    """Ranking settings searched on train: fusion family, its parameters, depth, page scoring
    (the rest as `base`, so that the questions ask what the pools were made with)."""
    for depth, second in itertools.product((50, 100, 200), (0.0, 0.1, 0.2)):
        for rrf_k in (10, 30, 60, 100):
            yield dataclasses.replace(base, candidates=depth, fusion="rrf", rrf_k=rrf_k, page_second=second)
        for normalisation, weight in itertools.product(("minmax", "zscore", "max"), (0.3, 0.4, 0.5, 0.6, 0.7)):
            yield dataclasses.replace(
                base, candidates=depth, fusion="convex", normalisation=normalisation, dense_weight=weight,
                page_second=second,
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
    collection = build_collection(scifact_records(args.folder), settings, cache, with_context=not args.no_context,
                                  label="abstracts")
    default = ranking_for(settings.model)

    splits = ("train", "test") if args.tune else ("test",)
    data = {}
    for split in splits:
        queries, qrels = load_split(args.folder, split)
        ids = list(queries)
        data[split] = (pools_for(collection, [queries[q] for q in ids], cache, default), [qrels[q] for q in ids])

    print(f"\nSciFact, model {settings.model}, passages of {settings.chunk_tokens} tokens "
          f"(overlap {settings.chunk_overlap_tokens}){'' if not args.no_context else ', no title context'}, "
          f"{len(collection.documents)} passages")
    if args.tune:
        pools, qrels_list = data["train"]
        started = time.monotonic()
        results = [(evaluate(collection, pools, qrels_list, "hybrid", r)["ndcg@10"], r) for r in tuning_grid(default)]
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
        naive = dataclasses.replace(default, candidates=100, fusion="rrf", rrf_k=60, page_second=0.0)
        print(f"| naive RRF | {describe(naive)} | "
              f"{evaluate(collection, data['train'][0], data['train'][1], 'hybrid', naive)['ndcg@10']:.4f} | "
              f"{evaluate(collection, pools, qrels_list, 'hybrid', naive)['ndcg@10']:.4f} |")

    pools, qrels_list = data["test"]
    print(f"\ntest ({len(pools)} questions), default ranking: {describe(default)}")
    print("| retrieval | nDCG@10 | recall@100 | published nDCG@10 |\n|---|---|---|---|")
    figures = {}
    for mode in ("bm25", "dense", "hybrid"):
        figures[mode] = evaluate(collection, pools, qrels_list, mode, default)
        published = PUBLISHED_DENSE.get(settings.model, "-") if mode == "dense" else PUBLISHED[mode]
        print(f"| {mode} | {figures[mode]['ndcg@10']:.4f} | {figures[mode]['recall@100']:.4f} | {published} |")
    print(f"hybrid nDCG@10={figures['hybrid']['ndcg@10']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Glossary expansion on and off, per gold category, through the product's own Searcher.

    python bench/crosslang.py --index DIR --gold bench/gold_crosslang.jsonl [--gold bench/gold.jsonl]
    python bench/crosslang.py --index DIR --gold FILE --variants off,bm25,dense,both --misses

Build the index first (python -m ingest FOLDER --index DIR --model MODEL, or bench/eval.py,
which caches one per folder and model). Variants: "off" asks the question as written;
"bm25" adds the glossary's translations as BM25 token lists only (what the product ships,
see README "Languages"); "dense" adds them as texts for the embedding model only; "both" adds
both. Metrics and tables are bench/eval.py's.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from eval import METRICS, load_gold, score_ranking, summarise  # noqa: E402

import settings as config  # noqa: E402
import index.search as search  # noqa: E402
from index import Searcher  # noqa: E402
from index.glossary import translated_forms  # noqa: E402

MODES = ("hybrid", "bm25", "dense")
VARIANTS = {"off": (False, False), "bm25": (False, True), "dense": (True, False), "both": (True, True)}


def forms_with(texts: bool, tokens: bool):
    """A `query_forms` that adds the glossary's forms of the chosen kinds to the plain ones."""
    plain = search.query_forms

    def query_forms(query, languages=("en",), *args, **kwargs):
        forms = plain(query, languages, expand=False)
        if texts or tokens:
            extra_texts, extra_tokens = translated_forms(query, languages, texts=texts, tokens=tokens)
            forms.texts.extend(extra_texts)
            forms.token_lists.extend(t for _, t in extra_tokens)
        return forms

    return query_forms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index directory built beforehand")
    parser.add_argument("--gold", type=Path, action="append", required=True, help="gold questions (JSONL); repeatable")
    parser.add_argument("--variants", default="off,bm25", help="comma-separated: off, bm25, dense, both")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: hybrid, bm25, dense")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the question encoder (default 1: steady timings on a shared machine)")
    parser.add_argument("--misses", action="store_true", help="list the cross-language questions missed in the top 5")
    parser.add_argument("--foreign-dense-weight", type=float,
                        help="Ranking.foreign_dense_weight for this run (default: the shipped value; 1.0: off)")
    args = parser.parse_args(argv)

    settings = config.load()
    ranking = search.DEFAULT_RANKING
    if args.foreign_dense_weight is not None:
        ranking = dataclasses.replace(ranking, foreign_dense_weight=args.foreign_dense_weight)
    searcher = Searcher(args.index, settings, ranking)
    if args.threads:
        import torch

        searcher.embedder()  # loads the model, which sets its own thread count
        torch.set_num_threads(args.threads)
    stats = searcher.stats()
    gold = [item for path in args.gold for item in load_gold(path)]
    modes = args.modes.split(",")
    original = search.query_forms
    print(f"{', '.join(p.name for p in args.gold)}: {len(gold)} questions; index {args.index} "
          f"({stats['documents']} documents, {stats['chunks']} passages, model {stats['model']})")
    print("\n| category (questions) | glossary | retrieval | " + " | ".join(METRICS) + " | ms/question |")
    print("|---|---|---|" + "---|" * (len(METRICS) + 1))
    rows: dict[tuple[str, str, str], dict] = {}
    for variant in args.variants.split(","):
        search.query_forms = forms_with(*VARIANTS[variant])
        try:
            for mode in modes:
                searcher.search("warm-up", k=1, mode=mode)
                started = time.monotonic()
                results = [searcher.search(item["question"], k=10, mode=mode) for item in gold]
                elapsed = (time.monotonic() - started) * 1000 / max(1, len(gold))
                scores = [score_ranking([(x.document, x.page) for x in r], item) for r, item in zip(results, gold)]
                for category, row in summarise(gold, scores).items():
                    rows[(category, variant, mode)] = row | {"ms": elapsed}
                if args.misses and mode == "hybrid":
                    for item, result, score in zip(gold, results, scores):
                        if not score["hit@5"]:
                            got = "; ".join(f"{r.document} p.{r.page}" for r in result[:3])
                            print(f"  miss [{variant}/{item.get('category')}] {item['question']} -> {got}", file=sys.stderr)
        finally:
            search.query_forms = original
    categories = sorted({c for c, _, _ in rows if c != "all"}) + ["all"]
    for category in categories:
        for variant in args.variants.split(","):
            for mode in modes:
                row = rows[(category, variant, mode)]
                print(f"| {category} ({row['n']}) | {variant} | {mode} | "
                      + " | ".join(f"{row[m]:.3f}" for m in METRICS) + f" | {row['ms']:.0f} |")
    searcher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

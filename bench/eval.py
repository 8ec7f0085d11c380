"""Gold questions through the product's own indexer and Searcher: hybrid vs BM25-only vs dense-only.

    python bench/eval.py                                   # corpus/ with bench/gold.jsonl
    python bench/eval.py --corpus ../shared/realdocs/procurement --gold bench/gold_realdocs.jsonl
    python bench/eval.py --misses                          # also list the questions hybrid misses

A gold line: {"id", "question", "category", "document": path relative to the folder,
"pages": [n, ...] or null, "evidence", "language"}. A result is a hit when it is the expected
document and one of the expected pages (slides); `pages: null` (DOCX, no pages) accepts any
section of the document. Per category it prints hit@1, hit@5, MRR@10 and nDCG@10 (binary gains,
one per expected page; a null-pages question counts its first matching section only).

The index is built with `index.update` (the product's incremental indexer) into --index, by
default bench/.cache/index/<folder>-<model>-<chunk tokens>-<overlap>, and re-used when the folder
has not changed: a second run costs only the questions.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, ROOT, mrr_at  # noqa: E402

import settings as config  # noqa: E402
from index import DEFAULT_RANKING, Searcher, update  # noqa: E402

MODES = ("hybrid", "bm25", "dense")
METRICS = ("hit@1", "hit@5", "MRR@10", "nDCG@10")


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def default_index_dir(folder: Path, settings: config.Settings) -> Path:
    """One cached index per folder, model and chunking: changing either must not reuse passages."""
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    model = settings.model.replace("/", "_")
    return CACHE_DIR / "index" / f"{folder.name}-{digest}-{model}-{settings.chunk_tokens}-{settings.chunk_overlap_tokens}"


def is_hit(result, item: dict) -> bool:
    if result.document != item["document"]:
        return False
    return item.get("pages") is None or result.page in item["pages"]


def score_question(results, item: dict) -> dict[str, float]:
    hits = [is_hit(r, item) for r in results[:10]]
    if item.get("pages") is None:
        # Any section of the document answers: the first one counts, the rest are not extra gain.
        first = next((i for i, h in enumerate(hits) if h), None)
        hits = [i == first for i in range(len(hits))]
        ideal = 1
    else:
        seen, unique = set(), []
        for result, hit in zip(results[:10], hits):
            unique.append(hit and result.page not in seen)
            if hit:
                seen.add(result.page)
        hits, ideal = unique, min(10, len(item["pages"]))
    dcg = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
    idcg = sum(1 / math.log2(rank + 2) for rank in range(ideal))
    return {
        "hit@1": float(any(hits[:1])),
        "hit@5": float(any(hits[:5])),
        "MRR@10": mrr_at(hits, 10),
        "nDCG@10": dcg / idcg,
    }


def evaluate(searcher: Searcher, gold: list[dict], mode: str) -> list[dict[str, float]]:
    """One score dict per gold question, in order."""
    return [score_question(searcher.search(item["question"], k=10, mode=mode), item) for item in gold]


def summarise(gold: list[dict], scores: list[dict]) -> dict[str, dict[str, float]]:
    """Mean of each metric per category, and over all questions ("all")."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for item, score in zip(gold, scores):
        groups[item.get("category", "-")].append(score)
        groups["all"].append(score)
    return {
        category: {m: sum(s[m] for s in rows) / len(rows) for m in METRICS} | {"n": len(rows)}
        for category, rows in groups.items()
    }


def print_tables(summaries: dict[str, dict], title: str) -> list[str]:
    """The per-category table; returns the categories where hybrid does not beat both on MRR@10."""
    print(f"\n{title}")
    print("| category (questions) | retrieval | " + " | ".join(METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    categories = sorted(c for c in summaries["hybrid"] if c != "all") + ["all"]
    weak = []
    for category in categories:
        n = summaries["hybrid"][category]["n"]
        for mode in MODES:
            row = summaries[mode][category]
            label = f"{category} ({n})" if mode == "hybrid" else ""
            print(f"| {label} | {mode} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")
        hybrid = summaries["hybrid"][category]["MRR@10"]
        if any(summaries[m][category]["MRR@10"] >= hybrid for m in ("bm25", "dense")) and category != "all":
            weak.append(category)
    return weak


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="document folder (default corpus/)")
    parser.add_argument("--gold", type=Path, default=ROOT / "bench" / "gold.jsonl", help="gold questions (JSONL)")
    parser.add_argument("--index", type=Path, help="index directory (default: a cached one per folder)")
    parser.add_argument("--misses", action="store_true", help="list the questions hybrid does not get in its top 5")
    parser.add_argument("--foreign-dense-weight", type=float,
                        help="Ranking.foreign_dense_weight for this run (default: the shipped value; 1.0: off)")
    parser.add_argument("--phrase-bonus", type=float,
                        help="Ranking.phrase_bonus for this run (default: the shipped value; 0: off)")
    args = parser.parse_args(argv)

    settings = config.load()
    index_dir = args.index or default_index_dir(args.corpus, settings)
    settings = dataclasses.replace(settings, index_dir=index_dir, library_dir=args.corpus)
    started = time.monotonic()
    report = update([args.corpus], settings)
    print(
        f"index {index_dir}: {len(report.added) + len(report.updated)} files (re)indexed, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed, "
        f"{report.chunks_embedded} passages embedded in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    for name, reason in report.failed:
        print(f"  failed: {name}: {reason}", file=sys.stderr)

    gold = load_gold(args.gold)
    ranking = DEFAULT_RANKING
    if args.foreign_dense_weight is not None:
        ranking = dataclasses.replace(ranking, foreign_dense_weight=args.foreign_dense_weight)
    if args.phrase_bonus is not None:
        ranking = dataclasses.replace(ranking, phrase_bonus=args.phrase_bonus)
    searcher = Searcher(index_dir, settings, ranking)
    # Each question is encoded once per run, not once per mode: the ranking is what is compared.
    embedder = searcher.embedder()
    embedder.encode_query = functools.lru_cache(maxsize=None)(embedder.encode_query)
    known = {row["name"] for row in searcher.documents() if row["status"] == "indexed"}
    missing = sorted({item["document"] for item in gold} - known)
    if missing:
        print(f"warning: gold documents not in the index (their questions count as misses): {missing}", file=sys.stderr)
    scores = {mode: evaluate(searcher, gold, mode) for mode in MODES}
    summaries = {mode: summarise(gold, scores[mode]) for mode in MODES}
    stats = searcher.stats()
    weak = print_tables(
        summaries,
        f"{args.gold.name} on {args.corpus} ({len(gold)} questions, {stats['documents']} documents, "
        f"{stats['chunks']} passages; model {stats['model']}, passages of {settings.chunk_tokens} tokens)",
    )
    if weak:
        print(f"\nhybrid does not beat both BM25-only and dense-only on MRR@10 in: {', '.join(weak)}")
    else:
        print("\nhybrid beats both BM25-only and dense-only on MRR@10 in every category")
    if args.misses:
        print("\nquestions hybrid misses in its top 5:")
        for item, score in zip(gold, scores["hybrid"]):
            if not score["hit@5"]:
                top = searcher.search(item["question"], k=3)
                got = "; ".join(f"{r.document} p.{r.page}" for r in top)
                print(f"- [{item.get('category')}] {item['question']}  (want {item['document']} "
                      f"p.{item.get('pages')}; got {got})")
    searcher.close()
    all_row = summaries["hybrid"]["all"]
    print(f"hybrid MRR@10={all_row['MRR@10']:.4f} nDCG@10={all_row['nDCG@10']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

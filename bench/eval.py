"""Questions through the product's own indexer and Searcher, beside the plain baselines.

    python bench/eval.py --corpus ../shared/realdocs/procurement --gold ../shared/realdocs/questions_dev.jsonl
    python bench/eval.py                                   # corpus/ with bench/gold.jsonl
    python bench/eval.py --corpus ../shared/realdocs/procurement --gold bench/gold_realdocs.jsonl
    python bench/eval.py --set dense_weight=0.6 --misses   # a ranking setting for this run; list misses

A question line is either format:
- `relevant`: [{"doc": path relative to the folder, "page": n or null}, ...] (questions_dev), or
- `document` + `pages`: [n, ...] or null (bench/gold*.jsonl).
A result is a hit when it is one of the relevant document pages (`page` null: any section of the
document). Per category it prints hit@1, hit@5, MRR@10 and nDCG@10 (binary gains, one per
distinct relevant page found).

Rows: the product's default (hybrid), its BM25-only and dense-only modes, and the plain
baselines of bench/baselines.py over the same files read by the product's readers: bm25s over
200-word windows of each page (English stop words, no stemming), the dense model alone over the
same windows, and their reciprocal-rank fusion (k = 60). Questions with a numbered id are split
into the even half (settings are chosen on it) and the odd half (held out); both are printed.

The index is built with `index.update` (the product's incremental indexer) into --index, by
default bench/.cache/index/<folder>-<model>-<chunk tokens>-<overlap>, and re-used when the folder
has not changed: a second run costs only the questions (and, once, the baselines' windows).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import PlainBM25, PlainDense, best_keys, page_windows, rrf  # noqa: E402
from common import CACHE_DIR, ROOT, VectorCache, mrr_at, remember_questions  # noqa: E402

import settings as config  # noqa: E402
from index import DEFAULT_RANKING, Result, Searcher, ranking_for, snippet_spans, update  # noqa: E402
from index.lexical import tokenize  # noqa: E402

PRODUCT = ("default", "bm25", "dense")
PLAIN = ("plain bm25s", "plain dense", "plain RRF")
METRICS = ("hit@1", "hit@5", "MRR@10", "nDCG@10")
SEARCH_MODE = {"default": "hybrid", "bm25": "bm25", "dense": "dense"}


# -- questions ----------------------------------------------------------------------------------
def load_gold(path: Path) -> list[dict]:
    """Questions with `relevant` as a list of (document, page or None), whatever the file's format."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if "relevant" in item:
            item["relevant"] = [(r["doc"], r.get("page")) for r in item["relevant"]]
        else:
            pages = item.get("pages")
            item["relevant"] = [(item["document"], p) for p in pages] if pages is not None else [(item["document"], None)]
        items.append(item)
    return items


def half(item: dict) -> str | None:
    """"even" or "odd" by the number in the question's id (dev-042: even), None without one."""
    found = re.search(r"(\d+)$", str(item.get("id", "")))
    return None if found is None else ("even" if int(found.group(1)) % 2 == 0 else "odd")


def matches(document: str, page: int | None, item: dict) -> tuple | None:
    """The relevant page a result is (its key, for counting distinct ones), or None."""
    for relevant_document, relevant_page in item["relevant"]:
        if document == relevant_document and (relevant_page is None or relevant_page == page):
            return (relevant_document, relevant_page)
    return None


def score_ranking(pages: Sequence[tuple[str, int | None]], item: dict) -> dict[str, float]:
    """Metrics of one ranked list of (document, page) against a question's relevant pages."""
    found: set = set()
    hits = []
    for document, page in pages[:10]:
        key = matches(document, page, item)
        new = key is not None and key not in found
        if new:
            found.add(key)
        hits.append(new)
    ideal = min(10, len(set(item["relevant"])))
    dcg = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
    idcg = sum(1 / math.log2(rank + 2) for rank in range(ideal))
    return {"hit@1": float(any(hits[:1])), "hit@5": float(any(hits[:5])), "MRR@10": mrr_at(hits, 10), "nDCG@10": dcg / idcg}


def product_results(searcher: Searcher, gold: list[dict], mode: str) -> list[list[Result]]:
    return [searcher.search(item["question"], k=10, mode=mode) for item in gold]


# A snippet holds the evidence when it has this share of the evidence quote's words (stemmed, no
# stop words): a quote is a sentence of the page, and a snippet cut mid-sentence still shows it.
EVIDENCE_SHARE = 0.8


def evidence_in_snippet(item: dict, results: list[Result]) -> bool | None:
    """Whether the first right card among the top five shows the question's `evidence` quote in
    its snippet (the sentences the card shows first, `snippet_spans`); None without a right card
    or an evidence quote."""
    card = next((r for r in results[:5] if matches(r.document, r.page, item)), None)
    if card is None or not item.get("evidence"):
        return None
    snippet = " ".join(card.text[a:b] for a, b in snippet_spans(card.text, card.highlights))
    quote = set(tokenize(item["evidence"], card.language))
    return len(quote & set(tokenize(snippet, card.language))) >= EVIDENCE_SHARE * len(quote) if quote else None


# -- the plain baselines ----------------------------------------------------------------------
def page_texts(folder: Path, settings: config.Settings) -> list[tuple[str, int | None, str]]:
    """(document, page, text) of every page the product's readers get from `folder`, cached by content."""
    from index.sync import sha256_of
    from ingest import discover, read_files

    cache = CACHE_DIR / "pages"
    cache.mkdir(parents=True, exist_ok=True)
    files, _, _ = discover([folder])
    out, to_read = [], {}
    for source in files:
        cached = cache / f"{sha256_of(source.path)}.json"
        if cached.exists():
            out.extend((source.name, page, text) for page, text in json.loads(cached.read_text()))
        else:
            to_read[str(source.path)] = (source, cached)
    for path, document in read_files([Path(p) for p in to_read], settings):
        source, cached = to_read[str(path)]
        if isinstance(document, Exception):
            continue
        pages = [(page.number, page.text) for page in document.pages]
        cached.write_text(json.dumps(pages))
        out.extend((source.name, page, text) for page, text in pages)
    return sorted(out, key=lambda row: (row[0], row[1] or 0))


@dataclasses.dataclass
class PlainBaselines:
    """bm25s and the dense model alone over 200-word windows of the library's pages."""

    keys: list[tuple[str, int | None]]
    bm25: PlainBM25
    dense: PlainDense

    @classmethod
    def build(cls, folder: Path, settings: config.Settings, embedder) -> "PlainBaselines":
        keys, windows = [], []
        for document, page, text in page_texts(folder, settings):
            for window in page_windows(text):
                keys.append((document, page))
                windows.append(window)
        vectors = VectorCache(settings.model).encode(windows, embedder, label="plain windows")
        return cls(keys, PlainBM25(windows), PlainDense(vectors, embedder))

    def rankings(self, gold: list[dict]) -> dict[str, list[list[tuple[str, int | None]]]]:
        out = {name: [] for name in PLAIN}
        for item in gold:
            lexical = best_keys(self.bm25.search(item["question"], 100), self.keys)
            dense = best_keys(self.dense.search(item["question"], 100), self.keys)
            out["plain bm25s"].append(lexical[:10])
            out["plain dense"].append(dense[:10])
            out["plain RRF"].append(rrf([lexical, dense])[:10])
        return out


# -- tables -------------------------------------------------------------------------------------
def summarise(gold: list[dict], scores: list[dict], keep: Callable[[dict], bool] = lambda item: True) -> dict:
    """Mean of each metric per category and over all kept questions ("all")."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for item, score in zip(gold, scores):
        if keep(item):
            groups[item.get("category", "-")].append(score)
            groups["all"].append(score)
    return {c: {m: sum(s[m] for s in rows) / len(rows) for m in METRICS} | {"n": len(rows)} for c, rows in groups.items()}


def print_half(title: str, summaries: dict[str, dict]) -> list[str]:
    """One table, hit@1 / hit@5 / MRR@10 per category and method; returns where the default is
    below the best plain baseline (any of the three)."""
    methods = [m for m in (*PRODUCT, *PLAIN) if m in summaries]
    print(f"\n{title}: hit@1 / hit@5 / MRR@10")
    print("| category (questions) | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    default = summaries["default"]
    categories = sorted(c for c in default if c != "all") + ["all"]
    below = []
    for category in categories:
        cells = []
        for method in methods:
            row = summaries[method][category]
            cell = f"{row['hit@1']:.3f} / {row['hit@5']:.3f} / {row['MRR@10']:.3f}"
            cells.append(f"**{cell}**" if method == "default" else cell)
        print(f"| {category} ({default[category]['n']}) | " + " | ".join(cells) + " |")
        plain = [summaries[m][category] for m in PLAIN if m in summaries]
        if plain and category != "all" and any(
            default[category][metric] < max(p[metric] for p in plain) for metric in ("hit@1", "hit@5", "MRR@10")
        ):
            below.append(category)
    return below


def print_detail(title: str, summaries: dict[str, dict]) -> None:
    """Every metric of the product's three modes, per category (the long table of the README)."""
    print(f"\n{title}")
    print("| category (questions) | retrieval | " + " | ".join(METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    categories = sorted(c for c in summaries["default"] if c != "all") + ["all"]
    for category in categories:
        for mode in PRODUCT:
            row = summaries[mode][category]
            label = f"{category} ({row['n']})" if mode == "default" else ""
            print(f"| {label} | {mode} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")


def parse_setting(text: str) -> tuple[str, object]:
    """"dense_weight=0.6" -> ("dense_weight", 0.6), typed like the Ranking field it sets."""
    name, _, value = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(DEFAULT_RANKING)}
    if name not in fields:
        raise SystemExit(f"--set: unknown ranking setting {name!r} (one of {', '.join(fields)})")
    kind = type(getattr(DEFAULT_RANKING, name))
    return name, (value.lower() in ("1", "true", "yes", "on")) if kind is bool else kind(value)


def default_index_dir(folder: Path, settings: config.Settings) -> Path:
    """One cached index per folder, model and chunking: changing either must not reuse passages."""
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    model = settings.model.replace("/", "_")
    return CACHE_DIR / "index" / f"{folder.name}-{digest}-{model}-{settings.chunk_tokens}-{settings.chunk_overlap_tokens}"


def open_searcher(folder: Path, index_dir: Path | None, settings: config.Settings, ranking=None) -> Searcher:
    """The folder indexed by the product (incrementally, into a cached index) and a Searcher on it."""
    index_dir = index_dir or default_index_dir(folder, settings)
    settings = dataclasses.replace(settings, index_dir=index_dir, library_dir=folder)
    started = time.monotonic()
    report = update([folder], settings)
    print(
        f"index {index_dir}: {len(report.added) + len(report.updated)} files (re)indexed, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed, "
        f"{report.chunks_embedded} passages embedded in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    for name, reason in report.failed:
        print(f"  failed: {name}: {reason}", file=sys.stderr)
    searcher = Searcher(index_dir, settings, ranking)
    # Each question is encoded once, not once per mode nor once per run: the ranking is what is compared.
    embedder = searcher.embedder()
    if "encode_query" not in embedder.__dict__:
        remember_questions(embedder, VectorCache(settings.model))
    return searcher


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="document folder (default corpus/)")
    parser.add_argument("--gold", type=Path, default=ROOT / "bench" / "gold.jsonl", help="questions (JSONL)")
    parser.add_argument("--index", type=Path, help="index directory (default: a cached one per folder)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Ranking setting for this run (repeatable), e.g. phrase_bonus=0")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain baselines")
    parser.add_argument("--detail", action="store_true", help="also print every metric of the product's modes")
    parser.add_argument("--misses", action="store_true", help="list the questions the default misses in its top 5")
    args = parser.parse_args(argv)

    settings = config.load()
    ranking = ranking_for(settings.model, **dict(parse_setting(s) for s in args.set))
    searcher = open_searcher(args.corpus, args.index, settings, ranking)
    gold = load_gold(args.gold)
    known = {row["name"] for row in searcher.documents() if row["status"] == "indexed"}
    missing = sorted({doc for item in gold for doc, _ in item["relevant"]} - known)
    if missing:
        print(f"warning: relevant documents not in the index (count as misses): {missing}", file=sys.stderr)

    results = {name: product_results(searcher, gold, SEARCH_MODE[name]) for name in PRODUCT}
    rankings = {name: [[(r.document, r.page) for r in found] for found in results[name]] for name in PRODUCT}
    if not args.no_plain:
        rankings |= PlainBaselines.build(args.corpus, settings, searcher.embedder()).rankings(gold)
    scores = {name: [score_ranking(r, item) for r, item in zip(ranked, gold)] for name, ranked in rankings.items()}
    stats = searcher.stats()
    print(f"{args.gold.name} on {args.corpus} ({len(gold)} questions, {stats['documents']} documents, "
          f"{stats['chunks']} passages; model {stats['model']}, passages of {settings.chunk_tokens} tokens; "
          f"ranking {'default' if ranking == ranking_for(settings.model) else ranking})")
    halves = [h for h in ("even", "odd") if any(half(item) == h for item in gold)]
    verdicts = {}
    for name in halves + ["all"]:
        keep = (lambda item, h=name: half(item) == h) if name != "all" else (lambda item: True)
        summaries = {method: summarise(gold, scores[method], keep) for method in scores}
        label = {"even": "even half (tuned on)", "odd": "odd half (held out)", "all": "all questions"}[name]
        verdicts[name] = print_half(label, summaries)
        if args.detail and name == "all":
            print_detail("all questions, the product's modes", summaries)
    evidence = [(half(item), evidence_in_snippet(item, found)) for item, found in zip(gold, results["default"])]
    for name in halves + ["all"]:
        shown = [held for h, held in evidence if held is not None and (name == "all" or h == name)]
        if shown:
            print(f"{name}: the evidence quote in the first right card's snippet (top 5): {sum(shown)} of {len(shown)} "
                  f"hits = {sum(shown) / len(shown):.3f}")
    if not args.no_plain:
        for name, below in verdicts.items():
            print(f"{name}: default below the best plain baseline in: {', '.join(below)}" if below
                  else f"{name}: default at least the best plain baseline in every category")
    if args.misses:
        print("\nquestions the default misses in its top 5:")
        for item, ranked, score in zip(gold, rankings["default"], scores["default"]):
            if not score["hit@5"]:
                got = "; ".join(f"{d} p.{p}" for d, p in ranked[:3])
                want = "; ".join(f"{d} p.{p}" for d, p in item["relevant"][:3])
                print(f"- {item.get('id')} [{item.get('category')}] {item['question']}\n    want {want}\n    got  {got}")
    searcher.close()
    final = summarise(gold, scores["default"], (lambda item: half(item) == "odd") if "odd" in halves else (lambda i: True))
    print(f"default {'odd half ' if 'odd' in halves else ''}hit@1={final['all']['hit@1']:.4f} "
          f"hit@5={final['all']['hit@5']:.4f} MRR@10={final['all']['MRR@10']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

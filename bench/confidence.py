"""Fit and check `index.confidence`: the probability that a page answers, and that the library
holds an answer at all.

    python bench/confidence.py                      # fit on the even halves, report the odd ones
    python bench/confidence.py --check              # report the shipped calibration, fit nothing

The questions: ../shared/realdocs/questions_dev.jsonl and questions_dev2.jsonl (answerable, with
their right pages) and bench/unanswerable.jsonl (64 questions the library cannot answer:
gibberish, off-topic, and procurement questions about things it does not hold), all over the 40
documents of ../shared/realdocs/procurement, through the product's own Searcher (hybrid, k = 10).
The models are fitted on the even ids and checked on the odd ones: reliability (predicted against
observed, by bins), Brier score, and the two rates the Ask page lives by: the share of
unanswerable questions it flags ("nothing answers this closely") and the share of questions whose
first card is right that it flags by mistake. It prints the Calibration to paste into
index/confidence.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from eval import half, load_gold, matches, open_searcher  # noqa: E402

import settings as config  # noqa: E402
from index import confidence  # noqa: E402

REALDOCS = ROOT.parent / "shared" / "realdocs"
ANSWERABLE = (REALDOCS / "questions_dev.jsonl", REALDOCS / "questions_dev2.jsonl")
UNANSWERABLE = ROOT / "bench" / "unanswerable.jsonl"


class Recording:
    """Stands in for a Logistic while fitting: keeps the features it is asked about."""

    def __init__(self):
        self.asked: list[list[list[float]]] = []

    def __call__(self, features) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(features, dtype=np.float64))
        self.asked.append(rows.tolist())
        return np.full(len(rows), 0.5)


def fit(features: np.ndarray, labels: np.ndarray, l2: float = 0.01) -> confidence.Logistic:
    """Logistic regression on standardised features, a little L2 (scipy; ~200 rows)."""
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    x = (features - mean) / scale

    def loss(w):
        p = np.clip(1 / (1 + np.exp(-(w[0] + x @ w[1:]))), 1e-9, 1 - 1e-9)
        return -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)) + l2 * np.sum(w[1:] ** 2)

    w = minimize(loss, np.zeros(x.shape[1] + 1)).x
    r = lambda values: tuple(round(float(v), 4) for v in values)  # noqa: E731
    return confidence.Logistic(round(float(w[0]), 4), r(w[1:]), r(mean), r(scale))


def collect(searcher, model: str) -> list[dict]:
    """Every question's results with the features the calibration is asked about."""
    recorded = confidence.Calibration(Recording(), Recording())
    confidence.CALIBRATIONS[model] = recorded
    items = [item for path in ANSWERABLE if path.exists() for item in load_gold(path)]
    items += [json.loads(line) | {"relevant": []} for line in UNANSWERABLE.read_text().splitlines() if line.strip()]
    out = []
    for item in items:
        results = searcher.search(item["question"], k=10)
        if not results:
            out.append({"item": item, "half": half(item), "question": None, "pages": []})
            continue
        question_features = recorded.answerable.asked.pop()[0]
        page_features = recorded.page.asked.pop()
        right = [matches(r.document, r.page, item) is not None for r in results]
        out.append({"item": item, "half": half(item), "question": question_features, "pages": list(zip(page_features, right))})
    return out


def report(rows: list[dict], calibration: confidence.Calibration, name: str) -> None:
    odd = [r for r in rows if r["half"] == "odd"]
    predicted, observed = [], []
    flagged = {"unanswerable": [], "right first": []}
    first_doubted = {"unanswerable": [], "right first": []}  # the other rule: the first card's confidence < 0.5
    for row in odd:
        unanswerable = not row["item"]["relevant"]
        if row["question"] is None:  # no result at all: flagged, and no card to be right
            if unanswerable:
                flagged["unanswerable"].append(True)
            continue
        answerable = float(calibration.answerable([row["question"]])[0])
        pages = calibration.page([f for f, _ in row["pages"]]) * answerable
        predicted += pages.tolist()
        observed += [float(right) for _, right in row["pages"]]
        what = "unanswerable" if unanswerable else "right first" if row["pages"][0][1] else None
        if what:
            flagged[what].append(answerable < 0.5)
            first_doubted[what].append(pages[0] < 0.5)
    predicted, observed = np.array(predicted), np.array(observed)
    print(f"\n{name}, odd half ({len(odd)} questions, {len(predicted)} results):")
    print("| confidence | results | share right |")
    print("|---|---|---|")
    for low, high in ((0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)):
        inside = (predicted >= low) & (predicted < high)
        if inside.any():
            print(f"| {low:.1f}-{min(high, 1):.1f} (mean {predicted[inside].mean():.2f}) | {inside.sum()} | {observed[inside].mean():.2f} |")
    print(f"Brier score {np.mean((predicted - observed) ** 2):.3f} (always the base rate {observed.mean():.2f}: "
          f"{np.mean((observed.mean() - observed) ** 2):.3f})")
    for what, values in flagged.items():
        print(f"flagged 'nothing answers this closely' (answerable < 0.5): {what} {sum(values)}/{len(values)} = {np.mean(values):.2f}")
    for what, values in first_doubted.items():
        print(f"  had the first card's confidence < 0.5 decided instead: {what} {sum(values)}/{len(values)} = {np.mean(values):.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REALDOCS / "procurement")
    parser.add_argument("--check", action="store_true", help="report the shipped calibration only")
    args = parser.parse_args(argv)
    settings = config.load()
    model = settings.model.lower()
    shipped = confidence.CALIBRATIONS.get(model)
    searcher = open_searcher(args.corpus, None, settings)
    rows = collect(searcher, model)
    searcher.close()
    if shipped is not None:
        report(rows, shipped, f"shipped calibration ({settings.model})")
    if args.check:
        return 0
    even = [r for r in rows if r["half"] == "even" and r["question"] is not None]
    answerable = fit(np.array([r["question"] for r in even]), np.array([float(bool(r["item"]["relevant"])) for r in even]))
    pages = [(f, right) for r in even if r["item"]["relevant"] for f, right in r["pages"]]
    page = fit(np.array([f for f, _ in pages]), np.array([float(right) for _, right in pages]))
    fitted = confidence.Calibration(answerable, page)
    report(rows, fitted, f"fitted on the even half ({settings.model})")
    print(f"\nCALIBRATIONS[{model!r}] = {fitted!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

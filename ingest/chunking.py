"""Turn page texts into passages sized in the embedding model's own word pieces.

A passage never crosses a page, slide or section; it is cut at sentence ends, holds at most
`chunk_tokens` word pieces together with its context line (title and heading), so the model
never silently truncates it, and overlaps its neighbour by a sentence or two.

Bounded for giant files: a long text is tokenised a piece at a time, a file's repeated passage
is kept once, and a file gets at most `max_passages` passages (PXS_FILE_MAX_PASSAGES).
"""
from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .document import Chunk, Document, PageText
from .language import detect_language

# Sentence ends: ., ! or ? followed by space and a capital, a digit-free opener, or a quote;
# also every line break (bullets, table rows, headings). "art. 67" and "e.g. the" stay whole.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“'(\[A-ZÀ-ÖØ-Þ•])|\n+")
# The context line (title — heading) is capped so that the passage keeps most of the budget.
MAX_CONTEXT_TOKENS = 48
# A window smaller than this (a slide title alone, a page footer) joins its neighbour.
MIN_WINDOW_TOKENS = 24
# A page of fewer words (a section divider: "Data", "Results") is no passage of its own when the
# document has longer pages: its card could show nothing but that word.
MIN_PAGE_WORDS = 5
# A longer text is tokenised a piece at a time: the tokenizer's offsets for one 5-million-character
# line would take over a gigabyte; for 100,000 characters (some 40 pages) they take ~25 MB.
PIECE_CHARS = 100_000


class TokenCounter:
    """Word-piece offsets from a model's own fast tokenizer (tokenizer.json), and the most word
    pieces a passage may hold; the index stage's embedder gives the one of its model."""

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


def _cut(sentence: _Sentence, tokens: int, spans: list[tuple[int, int]]) -> tuple[_Sentence, _Sentence]:
    """A sentence too long for what is left of a window (a table row run, a list without stops),
    cut after its first `tokens` word pieces."""
    at = sentence.first_token + tokens
    return (_Sentence(sentence.start, spans[at - 1][1], sentence.first_token, at),
            _Sentence(spans[at][0], sentence.end, at, sentence.last_token))


def _word_start(text: str, position: int) -> int:
    """`position`, or the start of the next word when it falls inside one."""
    if 0 < position < len(text) and not text[position - 1].isspace() and not text[position].isspace():
        found = re.search(r"\s\S", text[position:])
        return position + found.start() + 1 if found else position
    return position


def _cut_before(text: str, start: int, limit: int) -> int:
    """Where a piece of `text` from `start` of at most `limit` characters ends: at a line break,
    else after a sentence end, else at a space (a hard cut only in a run without any)."""
    if len(text) - start <= limit:
        return len(text)
    floor, end = start + limit // 2, start + limit
    for mark, after in (("\n", 0), (". ", 1), (" ", 0)):
        found = text.rfind(mark, floor, end)
        if found >= 0:
            return found + after
    return end


def _piece_windows(text: str, counter: TokenCounter, budget: int, overlap: int, last: bool) -> list[tuple[int, int]]:
    """The windows of one piece of a text; `last` for the piece that ends the text."""
    spans = counter.offsets(text)
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    sentences = _sentences(text, starts, ends)
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        j, used = i, 0
        while j < len(sentences) and used + sentences[j].tokens <= budget:
            used += sentences[j].tokens
            j += 1
        # A sentence longer than what is left (a table flattened into one run, a list without
        # stops) is cut to fill the window, so that a heading before it ("12.") is no passage alone.
        if j < len(sentences) and used < MIN_WINDOW_TOKENS and used < budget:
            sentences[j:j + 1] = _cut(sentences[j], budget - used, spans)
            j += 1
        windows.append((i, j))
        if j >= len(sentences):
            break
        # Step back over whole sentences to overlap the next window by at most `overlap` tokens.
        k, carried = j, 0
        while k - 1 > i and carried + sentences[k - 1].tokens <= overlap:
            k -= 1
            carried += sentences[k].tokens
        i = k
    spans_of_windows = [(sentences[a].start, sentences[b - 1].end) for a, b in windows]
    # A tiny last window (a closing line) is merged into the previous one when it fits, else it
    # starts further back to hold a full budget: a card of "and transition terms." says nothing.
    if last and len(windows) > 1:
        (pi, pj), (li, lj) = windows[-2], windows[-1]
        tail = sum(s.tokens for s in sentences[pj:lj])
        head = sum(s.tokens for s in sentences[pi:pj])
        if tail < MIN_WINDOW_TOKENS and head + tail <= budget:
            spans_of_windows[-2:] = [(sentences[pi].start, sentences[lj - 1].end)]
        elif sum(s.tokens for s in sentences[li:lj]) < MIN_WINDOW_TOKENS:
            first = max(0, sentences[lj - 1].last_token - budget)
            start = _word_start(text, spans[first][0])
            spans_of_windows[-1] = (min(start, sentences[li].start), sentences[lj - 1].end)
    return spans_of_windows


def iter_window_spans(text: str, counter: TokenCounter, budget: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Character spans of sentence-aligned windows of at most `budget` word pieces, in order.

    A long text is tokenised a piece of at most PIECE_CHARS characters at a time, so memory stays
    bounded whatever its length, and a caller that has enough windows can stop early. A piece's
    last window, which its end may have cut short, is not given: the next piece starts with it.
    """
    start = 0
    while True:
        end = _cut_before(text, start, PIECE_CHARS)
        last = end == len(text)
        windows = _piece_windows(text[start:end], counter, budget, overlap, last)
        if last or len(windows) < 2:
            for window_start, window_end in windows:
                yield start + window_start, start + window_end
            if last:
                return
            start = end  # a piece that is a single window (one giant word piece): on to the next
            continue
        for window_start, window_end in windows[:-1]:
            yield start + window_start, start + window_end
        start += windows[-1][0]


def window_spans(text: str, counter: TokenCounter, budget: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of sentence-aligned windows of at most `budget` word pieces."""
    return list(iter_window_spans(text, counter, budget, overlap))


def chunk_document(
    document: Document,
    name: str,
    counter: TokenCounter,
    chunk_tokens: int = 200,
    overlap_tokens: int = 32,
    max_passages: int | None = None,
) -> list[Chunk]:
    """All passages of one document; `name` is its path relative to the ingested root.

    A passage whose text the document already gave is kept once, where it first occurs (a one-line
    export of the same words, a disclaimer on every page); at most `max_passages` distinct passages
    are made. `document.warnings` names what the cap left out, and the repetition when it was
    most of the file (a boilerplate paragraph on a few pages is no news to its reader).
    """
    chunks: list[Chunk] = []
    repeats: dict[str, int] = {}  # passage text -> times it came again after its first
    capped_at: tuple[int, PageText, int] | None = None  # (page index, page, character) where the cap stopped
    wordy = [_has_words(page.text, MIN_PAGE_WORDS) for page in document.pages]
    for page_index, page in enumerate(document.pages):
        if capped_at is not None:
            break
        if not page.text.strip() or (not wordy[page_index] and any(wordy)):
            continue
        # A page holding several sections gives each passage the heading of the one it starts in;
        # the budget leaves room for the longest of their context lines.
        contexts = {heading: _context_line(document.title, heading, counter)
                    for heading in {page.heading, *(name for _, name in page.sections)}}
        longest = max(counter.count(context) + 1 if context else 0 for context in contexts.values())
        reserved = 2 + longest  # [CLS], [SEP], context + newline
        budget = max(16, min(chunk_tokens, counter.max_length - reserved))
        # Each passage gets its own language (bilingual pages exist, and detection costs ~0.2 ms
        # a passage against ~30 ms to embed it); one too short to tell takes its page's.
        page_language = None  # detected only when a passage is too short to tell by itself
        for start, end in iter_window_spans(page.text, counter, budget, overlap_tokens):
            text = page.text[start:end]
            if text in repeats:
                repeats[text] += 1
                continue
            if max_passages is not None and len(chunks) >= max_passages:
                capped_at = (page_index, page, start)
                break
            repeats[text] = 0
            language = detect_language(text)
            if language is None:
                page_language = page_language or detect_language(page.text)
                language = page_language
            heading = page.heading_at(start)
            chunks.append(
                Chunk(
                    document=name,
                    page=page.number,
                    heading=heading,
                    text=text,
                    start=start,
                    end=end,
                    title=document.title,
                    context=contexts[heading],
                    ocr=page.ocr,
                    language=language,
                )
            )
    repeated = {text: times for text, times in repeats.items() if times}
    if sum(repeated.values()) > len(chunks):
        document.warnings.append(_repeats_warning(repeated))
    if capped_at is not None:
        document.warnings.append(_capped_warning(max_passages, document.pages, *capped_at))
    return chunks


def _has_words(text: str, count: int) -> bool:
    """Whether `text` holds at least `count` words (stops reading there: a page may be long)."""
    return sum(1 for _ in itertools.islice(re.finditer(r"\w+", text), count)) >= count


def _context_line(title: str, heading: str, counter: TokenCounter) -> str:
    """"title — heading", capped in tokens so that the passage keeps most of the budget."""
    context = " — ".join(part for part in (title, heading) if part)
    return counter.truncate(context, MAX_CONTEXT_TOKENS) if context else ""


def _repeats_warning(repeated: dict[str, int]) -> str:
    """'repeats the same text 2,049 times ("procurement procurement …"), stored once'."""
    text, times = max(repeated.items(), key=lambda item: item[1])
    quote = " ".join(text.split()[:4])
    if len(repeated) == 1:
        return f'repeats the same text {times:,} times ("{quote} …"), stored once'
    return (
        f"repeats {len(repeated):,} of its passages {sum(repeated.values()):,} times in all, each stored once "
        f'(the most repeated {times:,} times: "{quote} …")'
    )


def _capped_warning(max_passages: int, pages: list[PageText], index: int, page: PageText, character: int) -> str:
    """What the passage cap (PXS_FILE_MAX_PASSAGES) left out of a document, from `pages[index]` on."""
    more = len(pages) - index - 1
    if page.number is None:
        where = f" of section {page.heading!r}" if page.heading else ""
        rest = f"the text from character {character:,}{where} on" + (f" and {more:,} more section{'s' if more > 1 else ''}" if more else "")
    else:
        first, last = page.number if character == 0 else page.number + 1, pages[-1].number
        rest = "" if character == 0 else f"page {page.number} from character {character:,} on"
        if first <= last and (character == 0 or more):
            rest += (" and " if rest else "") + (f"page {first}" if first == last else f"pages {first}-{last}")
    return f"capped at {max_passages:,} passages (PXS_FILE_MAX_PASSAGES): {rest} not indexed"
